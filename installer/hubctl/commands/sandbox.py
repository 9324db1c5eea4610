"""`hubctl sandbox`: a local trial hub in a Debian 12 guest booted with systemd-nspawn."""

import json
import os
import urllib.request
from pathlib import Path

import click
import yaml

from hubctl.ansible.runner import run_install
from hubctl.ansible.target import Target
from hubctl.commands.install import hub_url
from hubctl.config import HubConfig, load_config
from hubctl.config.template import render_template
from hubctl.errors import HubctlError
from hubctl.sandbox.guest import (
    HOST_CA_BUNDLE,
    Guest,
    GuestSpec,
    prerequisites_fix,
    prerequisites_missing,
)

SANDBOX_ROOT = Path("/var/lib/hubctl/sandbox")
name_option = click.option(
    "--name",
    default="hubsandbox",
    show_default=True,
    help="Name of the guest (1-11 of a-z, 0-9, '-', starting with a letter).",
)


def sandbox_config(base: HubConfig | None, guest: Guest, config_path: Path) -> HubConfig:
    """The user's hub.yaml (or the defaults) reaching the registries through the host's proxy."""
    data = base.model_dump(mode="json") if base else yaml.safe_load(render_template())
    data["network"].update(http_proxy=guest.spec.proxy_url, https_proxy=None)
    if HOST_CA_BUNDLE.is_file():
        data["network"]["ca_bundle"] = str(HOST_CA_BUNDLE)
    config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_config(config_path)


def spec_for(name: str) -> GuestSpec:
    """The sandbox's guest; GuestSpec itself rejects a bad name with the fix."""
    # The guest does not trust the host's CA by itself: hub.yaml's network.ca_bundle does it,
    # as on a university network.
    index = 1 + sum(map(ord, name)) % 200
    return GuestSpec(name=name, state_dir=SANDBOX_ROOT / name, index=index, ca_bundle=None)


def loaded_guest(name: str) -> Guest:
    spec = spec_for(name)
    if not (spec.state_dir / "state.json").exists():
        raise HubctlError(f"no sandbox named {name}: start one with `hubctl sandbox up`")
    return Guest.load(spec.state_dir)


@click.group()
def sandbox() -> None:
    """A local trial hub in a Debian 12 guest (systemd-nspawn; needs root)."""


@sandbox.command()
@name_option
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Start from this hub.yaml instead of the defaults.",
)
def up(name: str, config_path: Path | None) -> None:
    """Boot a guest and install the hub into it over SSH.

    Run it again to boot a stopped sandbox or to apply a changed --config; its data stays.
    """
    if os.geteuid() != 0:
        raise HubctlError("the sandbox needs root: run `sudo hubctl sandbox up`")
    missing = prerequisites_missing()
    if missing:
        raise HubctlError(f"missing {', '.join(missing)}: {prerequisites_fix(missing)}")
    base = load_config(config_path) if config_path else None
    spec = spec_for(name)
    exists = (spec.state_dir / "state.json").exists()
    guest = Guest.load(spec.state_dir) if exists else Guest(spec)
    if not exists:
        click.echo("Preparing a Debian 12 guest (the first time takes a minute)", err=True)
        guest.create()
    if not guest.is_running():
        guest.boot()
    config = sandbox_config(base, guest, spec.state_dir / "hub.yaml")
    target = Target(
        host=spec.address, user="root", ssh_key=spec.ssh_key, ssh_options=tuple(guest.ssh_options)
    )
    result = run_install(config, target)
    credentials = spec.state_dir / "credentials.json"
    if result.new_accounts:
        # A local trial may keep its first passwords (root-only), so `status` can show them.
        credentials.touch(mode=0o600)
        credentials.write_text(json.dumps(result.new_accounts))
    click.echo(f"Sandbox {name} is up: {hub_url(config, spec.address)}")
    show_logins(credentials)


def show_logins(credentials: Path) -> None:
    if credentials.exists():
        for account in json.loads(credentials.read_text()):
            click.echo(f"Login: {account['name']}  password: {account['password']}")


@sandbox.command()
@name_option
def status(name: str) -> None:
    """Say whether the guest runs and the hub answers."""
    guest = loaded_guest(name)
    spec = guest.spec
    if not guest.is_running():
        raise HubctlError(f"sandbox {name} is not running: `hubctl sandbox down` then `up`")
    url = f"http://{spec.address}/hub/api/"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own guest
            version = json.load(response)["version"]
        hub = f"JupyterHub {version} answering at http://{spec.address}/"
    except OSError as error:
        hub = f"the hub does not answer at {url} ({error})"
    click.echo(f"Sandbox {name}: running at {spec.address}; {hub}")
    show_logins(spec.state_dir / "credentials.json")
    click.echo(
        f"Re-install: hubctl install --config {spec.state_dir / 'hub.yaml'} "
        f"--host root@{spec.address} --ssh-key {spec.ssh_key}"
    )


@sandbox.command()
@name_option
def shell(name: str) -> None:
    """Open a root shell in the guest."""
    guest = loaded_guest(name)
    argv = guest.ssh_command([])
    os.execvp(argv[0], argv)  # noqa: S606 - replace hubctl with the shell


@sandbox.command()
@name_option
def down(name: str) -> None:
    """Stop the guest and delete it (its hub and all its data)."""
    guest = loaded_guest(name)
    guest.destroy()
    click.echo(f"Sandbox {name} stopped and deleted.")
