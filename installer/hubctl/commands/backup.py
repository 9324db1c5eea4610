"""`hubctl backup` and `hubctl restore`: a term's hub in one archive, and back."""

from pathlib import Path

import click

from hubctl.ansible.progress import Progress
from hubctl.ansible.runner import run_install, run_playbook
from hubctl.commands.install import report
from hubctl.commands.options import config_option, resolve_target, target_options
from hubctl.config import load_config
from hubctl.errors import HubctlError
from hubctl.hub.restore import RestoreError, read_manifest


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=".",
    show_default=True,
    help="Archive to write, or a folder to write it into under its own name.",
)
@target_options
def backup(output: Path, host_spec, ssh_key, ask_become_pass) -> None:
    """Archive everything a term cannot lose: hub.yaml, secrets, the hub database (its
    passwords), every gradebook, the exchange and users' homes. Taken while students work;
    a copy stays on the VM in /var/backups/hubctl."""
    dest = destination(output)
    target = resolve_target(host_spec, ssh_key, "a backup")
    run = run_playbook(
        "backup.yml",
        {"hubctl_backup_dest": dest},
        target,
        verb="backup",
        ask_become_pass=ask_become_pass,
        progress=Progress(),
    )
    result = run.stats["custom"]["hubctl_backup"]
    saved = Path(dest, Path(result["archive"]).name) if dest.endswith("/") else Path(dest)
    saved.chmod(0o600)  # it holds the hub's secrets and every password hash
    courses = ", ".join(result["courses"]) or "none"
    click.echo(
        f"Backup: {saved} ({result['bytes'] / 2**20:.1f} MiB, {result['users']} users,"
        f" courses: {courses}; databases pass integrity_check) in {result['seconds']:.0f}s"
    )
    click.echo(f"A copy stays on {target.label}: {result['archive']}")


def destination(output: Path) -> str:
    """Ansible fetch's dest: a folder ends with "/" (the archive keeps its own name)."""
    if output.is_dir():
        return f"{output.resolve()}/"
    if output.exists():
        raise HubctlError(f"{output} already exists: choose another --output, nothing is replaced")
    if not output.parent.is_dir():
        raise HubctlError(f"{output.parent} is not a folder: create it or choose another --output")
    if not output.name.endswith(".tar.gz"):
        raise HubctlError(f"{output}: a backup is a .tar.gz, e.g. --output hub-backup.tar.gz")
    return str(output.resolve())


@click.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
@target_options
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(archive: Path, config_path: Path, host_spec, ssh_key, ask_become_pass, yes) -> None:
    """Install the hub of hub.yaml and put ARCHIVE (from `hubctl backup`) back into it: on
    the same VM or a fresh one (--host). Users keep their passwords, files and grades."""
    try:
        manifest = read_manifest(archive)
    except RestoreError as error:
        raise HubctlError(str(error)) from None
    config = load_config(config_path)
    target = resolve_target(host_spec, ssh_key, "restoring")
    summary = (
        f"{archive} is the hub of {manifest['host']} on {manifest['created']}:"
        f" {len(manifest['users'])} users, courses: {', '.join(manifest['courses']) or 'none'}."
    )
    click.echo(summary, err=True)
    if not yes:
        click.confirm(
            f"Replace the hub database, secrets, gradebooks, exchange and homes on {target.label}"
            " with it?",
            abort=True,
        )
    result = run_install(config, target, ask_become_pass=ask_become_pass, restore_archive=archive)
    report(config, target, result, False, config_path.parent)
    restored = result.restored
    click.echo(f"Restored {restored['users']} users and courses {restored['courses']}")
    for problem in restored["skipped"]:
        click.echo(f"Not restored: {problem}", err=True)
