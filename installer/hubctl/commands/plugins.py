"""`hubctl plugins`: the course plugins installed where hubctl runs."""

import json
from dataclasses import asdict

import click

from hubctl.plugins import PluginInfo, describe_installed


@click.group()
def plugins() -> None:
    """Course plugins: enable one under hub.yaml `plugins:`."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the plugins as JSON.")
def list_plugins(as_json: bool) -> None:
    """Every installed plugin: name, version, source and the hooks it implements."""
    infos = describe_installed()
    if as_json:
        click.echo(json.dumps([asdict(info) for info in infos], indent=2))
    else:
        click.echo(render(infos))


def render(infos: list[PluginInfo]) -> str:
    if not infos:
        return "No plugins installed."
    rows = [("NAME", "VERSION", "SOURCE", "HOOKS")]
    rows += [(i.name, i.version, i.source, ", ".join(i.hooks)) for i in infos]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    )
