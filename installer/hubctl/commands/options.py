"""Options shared by several commands."""

from pathlib import Path

import click

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
