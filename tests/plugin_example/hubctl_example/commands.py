"""`hubctl example greeting`: what the VM says, read there by this plugin's VM module."""

import click

from hubctl.ansible.remote import call
from hubctl.commands.options import resolve_target, target_options


@click.group()
def example() -> None:
    """The example plugin's commands."""


@example.command()
@target_options
def greeting(host_spec, ssh_key, ask_become_pass):
    """Print the greeting the install left on the VM."""
    target = resolve_target(host_spec, ssh_key, "reading the greeting")
    answer = call(target, "greeting", {}, ask_become_pass, module="hubctl_example.vm")
    click.echo(f"{answer['greeting']} (from {answer['file']})")
