"""Options shared by several commands."""

import os
from pathlib import Path

import click

from hubctl.ansible.target import Target
from hubctl.errors import HubctlError

config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default="hub.yaml",
    show_default=True,
    envvar="HUBCTL_CONFIG",
    help="The hub's configuration file.",
)


def target_options(command):
    """--host, --ssh-key and -K: where the hub is (this machine without --host)."""
    command = click.option(
        "-K", "--ask-become-pass", is_flag=True, help="Ask for the sudo password on --host."
    )(command)
    command = click.option(
        "--ssh-key",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Private key for --host.",
    )(command)
    return click.option(
        "--host",
        "host_spec",
        metavar="[USER@]HOST[:PORT]",
        envvar="HUBCTL_HOST",
        help="The hub's VM over SSH (with sudo); without it, this machine (as root).",
    )(command)


def resolve_target(host_spec: str | None, ssh_key: Path | None, doing: str) -> Target:
    """The SSH target, or this machine, which needs root for `doing`."""
    if host_spec:
        return Target.parse(host_spec, ssh_key=ssh_key)
    if os.geteuid() != 0:
        raise HubctlError(
            f"{doing} on this machine needs root: use sudo, or --host for a hub over SSH"
        )
    return Target()
