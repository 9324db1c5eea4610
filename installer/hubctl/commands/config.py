"""`hubctl config`: write and check hub.yaml."""

from pathlib import Path

import click

from hubctl.commands.options import config_option
from hubctl.config import load_config
from hubctl.config.schema import check_user_name
from hubctl.config.template import render_template
from hubctl.errors import HubctlError


@click.group()
def config() -> None:
    """Write and check hub.yaml."""


@config.command()
@config_option
@click.option(
    "--instructor",
    default="instructor",
    show_default=True,
    help="User name of the first instructor.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(config_path: Path, instructor: str, force: bool) -> None:
    """Write a commented hub.yaml with every default."""
    try:
        check_user_name(instructor)
    except ValueError as error:
        raise HubctlError(f"--instructor: {error}") from None
    if config_path.exists() and not force:
        raise HubctlError(f"{config_path} already exists: edit it, or add --force to replace it")
    config_path.write_text(render_template(instructor))
    click.echo(f"Wrote {config_path}: edit it, then run `hubctl config validate`.")


@config.command()
@config_option
def validate(config_path: Path) -> None:
    """Check hub.yaml without touching any host."""
    load_config(config_path)
    click.echo(f"{config_path} is valid.")
