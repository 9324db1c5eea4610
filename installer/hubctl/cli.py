"""The root `hubctl` command: global options and the error boundary."""

import logging

import click

from hubctl import __version__
from hubctl.commands.backup import backup, restore
from hubctl.commands.config import config
from hubctl.commands.course import course, grades
from hubctl.commands.install import install
from hubctl.commands.logs import logs
from hubctl.commands.plugins import plugins
from hubctl.commands.sandbox import sandbox
from hubctl.commands.status import status
from hubctl.commands.uninstall import uninstall
from hubctl.commands.users import users
from hubctl.errors import HubctlError
from hubctl.plugins import cli_commands


class Hubctl(click.Group):
    """Turns HubctlError into `Error: ...` on stderr and a non-zero exit, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HubctlError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=Hubctl, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hubctl")
@click.option("-v", "--verbose", is_flag=True, help="Show debug messages.")
def hubctl(verbose: bool) -> None:
    """Install and run a JupyterHub teaching hub on one Linux VM."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


hubctl.add_command(config)
hubctl.add_command(install)
hubctl.add_command(sandbox)
hubctl.add_command(users)
hubctl.add_command(course)
hubctl.add_command(grades)
hubctl.add_command(status)
hubctl.add_command(logs)
hubctl.add_command(uninstall)
hubctl.add_command(backup)
hubctl.add_command(restore)
hubctl.add_command(plugins)


def add_plugin_commands(group: click.Group) -> None:
    """The installed plugins' commands; one whose name is taken is left out with a warning."""
    try:
        commands, warnings = cli_commands()
    except HubctlError as error:  # two plugins under one name: `hubctl plugins list` says so
        commands, warnings = [], [str(error)]
    for plugin, command in commands:
        if command.name in group.commands:
            warnings.append(f"plugin '{plugin}': command '{command.name}' is taken: left out")
        else:
            group.add_command(command)
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)


def main() -> None:
    add_plugin_commands(hubctl)
    hubctl()


if __name__ == "__main__":
    main()
