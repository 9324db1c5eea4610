"""`hubctl install`: put the hub described by hub.yaml onto this machine or a host over SSH."""

from datetime import datetime
from pathlib import Path

import click

from hubctl.ansible.runner import RunResult, run_install
from hubctl.ansible.target import Target
from hubctl.commands.options import config_option, resolve_target, target_options
from hubctl.config import HubConfig, load_config
from hubctl.passwords import write_passwords


@click.command()
@config_option
@target_options
@click.option("--check", is_flag=True, help="Show what would change; change nothing.")
@click.option("--diff", is_flag=True, help="Show the changes to files.")
def install(
    config_path: Path,
    host_spec: str | None,
    ssh_key: Path | None,
    ask_become_pass: bool,
    check: bool,
    diff: bool,
) -> None:
    """Install or update the hub described by hub.yaml.

    Without --host it installs onto this machine and needs root. Running it again with
    the same hub.yaml changes nothing and restarts nothing.
    """
    config = load_config(config_path)
    target = resolve_target(host_spec, ssh_key, "installing")
    click.echo(f"Installing onto {target.label} with {config_path}", err=True)
    result = run_install(config, target, check=check, diff=diff, ask_become_pass=ask_become_pass)
    report(config, target, result, check, config_path.parent)


def hub_url(config: HubConfig, address: str) -> str:
    if config.https.enabled:
        return f"https://{config.https.domain or address}/"
    port = "" if config.hub.port == 80 else f":{config.hub.port}"
    return f"http://{address}{port}/"


def report(config: HubConfig, target: Target, result: RunResult, check: bool, folder: Path) -> None:
    verb = "would change" if check else "changed"
    click.echo(f"Done in {result.seconds:.0f}s: {result.changed} {verb}. Log: {result.log_path}")
    if result.pre_upgrade_backup:
        click.echo(f"Backed up before upgrading: {result.pre_upgrade_backup['archive']} on the VM")
    if not check:
        click.echo(f"Hub: {hub_url(config, target.host or result.address)}")
        if not config.https.enabled:
            click.echo(
                "Warning: the hub is plain HTTP (passwords cross the network readable): set"
                " https.domain in hub.yaml for Let's Encrypt, or https.mode: self-signed"
            )
    instructors = {person.name for person in config.users.instructors}
    for account in result.new_accounts:
        if account["name"] in instructors:
            password = account["password"] or "(the password from its password_file)"
            click.echo(f"New instructor account: {account['name']}  password: {password}")
    if any(account["password"] for account in result.new_accounts):
        click.echo("Write these passwords down now: hubctl shows them only once.")
    members = [account for account in result.new_accounts if account["name"] not in instructors]
    if members:
        path = write_passwords(folder / f"new-accounts-{datetime.now():%Y%m%d-%H%M%S}.csv", members)
        click.echo(f"New course accounts: {len(members)}, passwords in {path} (hand them out)")
