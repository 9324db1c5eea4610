"""`hubctl users ...`: accounts and enrolment on a running hub."""

import json
from pathlib import Path

import click
from pydantic_core import PydanticCustomError

from hubctl.ansible.remote import call
from hubctl.commands.options import resolve_target, target_options
from hubctl.config.roster import read_roster
from hubctl.config.schema import check_user_name
from hubctl.passwords import write_passwords

ROLES = click.Choice(["student", "grader", "instructor"])


def user_name(ctx, param, value: str) -> str:
    try:
        return check_user_name(value.strip().lower())
    except PydanticCustomError as error:
        raise click.BadParameter(error.message()) from None


@click.group()
def users() -> None:
    """Create, enrol, approve and remove the hub's users."""


@users.command(name="import")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--course", required=True, help="The course id (from hub.yaml) to enrol them in.")
@click.option(
    "--role", type=ROLES, default="student", show_default=True, help="Their role in the course."
)
@click.option(
    "--passwords",
    "passwords_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV for the new accounts' passwords [default: ROSTER-passwords.csv beside the roster].",
)
@target_options
def import_roster(roster, course, role, passwords_path, host_spec, ssh_key, ask_become_pass):
    """Create approved accounts for everyone in ROSTER (a CSV with a 'username' column) and
    enrol them in a course. New passwords go to a CSV (0600) to hand out. Importing the same
    roster again changes nothing; a bad row stops the import before anything changes."""
    names = read_roster(roster)
    target = resolve_target(host_spec, ssh_key, "importing users")
    click.echo(f"Importing {len(names)} users from {roster} into {course} as {role}s", err=True)
    answer = call(
        target, "enrol", {"course": course, "role": role, "names": names}, ask_become_pass
    )
    passwords_path = passwords_path or roster.with_name(f"{roster.stem}-passwords.csv")
    report_enrolment(answer, len(names), course, passwords_path)


def report_enrolment(answer: dict, count: int, course: str | None, passwords_path: Path) -> None:
    created, enrolled = answer["created"], answer["enrolled"]
    click.echo(
        f"{len(created)} new accounts, {len(enrolled)} newly enrolled"
        + (f" in {course}" if course else "")
        + f", {count - len(created)} accounts already there."
    )
    if created:
        write_passwords(passwords_path, created)
        click.echo(f"Passwords of the new accounts: {passwords_path} (hand them out once)")


@users.command()
@click.argument("name", callback=user_name)
@click.option("--course", help="Also enrol them in this course.")
@click.option(
    "--role", type=ROLES, default="student", show_default=True, help="Their role in the course."
)
@target_options
def add(name, course, role, host_spec, ssh_key, ask_become_pass):
    """Create one approved account (and enrol it with --course); prints its password."""
    target = resolve_target(host_spec, ssh_key, "adding a user")
    request = {"course": course, "role": role, "names": [name]}
    answer = call(target, "enrol", request, ask_become_pass)
    for account in answer["created"]:
        click.echo(f"Created {account['name']}  password: {account['password']}")
    if not answer["created"]:
        click.echo(f"{name} already has an account")
    if answer["enrolled"]:
        click.echo(f"Enrolled {name} in {course} as {role}")


@users.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@target_options
def list_users(as_json, host_spec, ssh_key, ask_become_pass):
    """Every user: approved or waiting, admin, groups, server running."""
    target = resolve_target(host_spec, ssh_key, "listing users")
    rows = call(target, "list", {}, ask_become_pass)["users"]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'NAME':<20} {'STATUS':<9} {'ADMIN':<6} {'SERVER':<7} GROUPS")
    for row in rows:
        status = "approved" if row["approved"] else "waiting"
        admin, server = "yes" if row["admin"] else "", "running" if row["server"] else ""
        click.echo(
            f"{row['name']:<20} {status:<9} {admin:<6} {server:<7} {' '.join(row['groups'])}"
        )


@users.command()
@click.argument("name", callback=user_name)
@click.option("--delete-files", is_flag=True, help="Also delete the user's home folder.")
@click.confirmation_option(prompt="Remove this user from the hub?")
@target_options
def remove(name, delete_files, host_spec, ssh_key, ask_become_pass):
    """Remove a user: their account, server and course places. Their files stay (and the
    name stays blocked, so nobody else gets them) unless --delete-files."""
    target = resolve_target(host_spec, ssh_key, "removing a user")
    answer = call(target, "remove", {"name": name, "delete_files": delete_files}, ask_become_pass)
    if answer["files"]:
        click.echo(f"Removed {name}; their files stay in {answer['files']}")
    else:
        click.echo(f"Removed {name}" + (" and their files" if delete_files else ""))


@users.command()
@click.argument("name", callback=user_name)
@target_options
def approve(name, host_spec, ssh_key, ask_become_pass):
    """Approve a user who signed up."""
    target = resolve_target(host_spec, ssh_key, "approving a user")
    changed = call(target, "approve", {"name": name}, ask_become_pass)["changed"]
    click.echo(f"Approved {name}" if changed else f"{name} was already approved")


@users.command(name="reset-password")
@click.argument("name", callback=user_name)
@target_options
def reset_password(name, host_spec, ssh_key, ask_become_pass):
    """Give a user a new generated password (printed once)."""
    target = resolve_target(host_spec, ssh_key, "resetting a password")
    password = call(target, "reset-password", {"name": name}, ask_become_pass)["password"]
    click.echo(f"New password for {name}: {password}")
