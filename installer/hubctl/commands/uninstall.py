"""`hubctl uninstall`: take the hub off the VM, keeping its data and people unless asked."""

import click

from hubctl import layout
from hubctl.ansible.progress import Progress
from hubctl.ansible.runner import run_playbook
from hubctl.commands.options import resolve_target, target_options

DATA = {
    layout.STATE_DIR: "the hub database",
    layout.NBGRADER_DIR: "courses, gradebooks and the exchange",
    layout.PLUGIN_DATA_DIR: "the courses' datasets",
    layout.BACKUP_DIR: "backups",
}


@click.command()
@click.option(
    "--keep-data/--delete-data",
    default=True,
    show_default=True,
    help="Keep or delete the hub database, courses, exchange and backups.",
)
@click.option(
    "--remove-users", is_flag=True, help="Also delete the users' Linux accounts and homes."
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@target_options
def uninstall(keep_data, remove_users, yes, host_spec, ssh_key, ask_become_pass):
    """Remove the hub from the VM: its units, programs, settings, secrets, the packages the
    install added and its apt proxy and CA settings. Data and users' accounts stay unless
    asked for; running it again is harmless."""
    target = resolve_target(host_spec, ssh_key, "uninstalling")
    if not yes:
        click.confirm(confirmation(target.label, keep_data, remove_users), abort=True)
    variables = {"hubctl_delete_data": not keep_data, "hubctl_remove_users": remove_users}
    run = run_playbook(
        "uninstall.yml",
        variables,
        target,
        verb="uninstall",
        ask_become_pass=ask_become_pass,
        progress=Progress(),
        rerun="uninstall",
    )
    changed = sum(host["changed"] for host in run.stats["hosts"].values())
    report = run.stats["custom"].get("hubctl_uninstall", {})
    click.echo(summary(target.label, changed, run.seconds, report))
    click.echo(f"Log: {run.log_path}")


def confirmation(where: str, keep_data: bool, remove_users: bool) -> str:
    gone = ["the hub"]
    if not keep_data:
        gone.append("its data (database, courses, exchange, datasets, backups)")
    if remove_users:
        gone.append("the users' Linux accounts and homes")
    return f"Remove {' and '.join(gone)} from {where}?"


def summary(where: str, changed: int, seconds: float, report: dict) -> str:
    lines = [
        f"Removed the hub from {where} in {seconds:.0f}s."
        if changed
        else f"Nothing to remove: no hubctl hub on {where}."
    ]
    kept = report.get("kept_data", [])
    if kept:
        places = "; ".join(f"{path} ({DATA.get(path, 'data')})" for path in kept)
        lines.append(f"Kept the data: {places}. `--delete-data` deletes it.")
    graders = report.get("kept_graders", [])
    if graders:
        lines.append(
            f"Kept with it the accounts and groups that own it: {', '.join(graders)},"
            f" {', '.join(course_groups(graders))}."
        )
    users = report.get("kept_users", [])
    if users:
        lines.append(
            f"Kept {len(users)} users' Linux accounts and homes ({', '.join(users)}) and their"
            f" group {layout.USERS_GROUP}. `--remove-users` deletes them."
        )
    if report.get("kept_packages"):
        lines.append(
            f"Kept the packages the install added ({', '.join(report['kept_packages'])}):"
            f" other packages of this VM need them ({', '.join(report['needed_by'])})."
        )
    return "\n".join(lines)


def course_groups(graders: list[str]) -> list[str]:
    return [layout.course_group(name.removeprefix(layout.GRADER_PREFIX)) for name in graders]
