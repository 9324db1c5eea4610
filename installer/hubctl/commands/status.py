"""`hubctl status`: is the hub well, and if not, what to do. Problems come first."""

import json
from datetime import UTC, datetime

import click

from hubctl.ansible.remote import call
from hubctl.commands.options import resolve_target, target_options
from hubctl.hub import tls

GIB = 1024**3


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the facts and problems as JSON.")
@target_options
@click.pass_context
def status(ctx, as_json, host_spec, ssh_key, ask_become_pass):
    """The hub's units, services, versions, users, memory and disk; anything wrong first,
    with its fix. Exits 1 when something is wrong."""
    target = resolve_target(host_spec, ssh_key, "reading the hub's status")
    answer = call(target, "status", {}, ask_become_pass)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
    else:
        click.echo(render(answer["facts"], answer["problems"]), color=None)
    ctx.exit(1 if answer["problems"] else 0)


def render(facts: dict, problems: list[dict]) -> str:
    lines = []
    for problem in problems:
        lines.append(click.style(f"✗ {problem['problem']}", fg="red", bold=True))
        lines.append(f"  fix: {problem['fix']}")
    if not problems:
        lines.append(click.style("✓ nothing wrong", fg="green"))
    units = ", ".join(f"{unit} {state['active']}" for unit, state in facts["units"].items())
    lines.append(f"Units     {units}")
    lines.append(f"HTTPS     {tls.describe(facts.get('tls'), datetime.now(UTC))}")
    if facts["services"]:
        services = ", ".join(
            f"{name} {'running' if running else 'stopped'}"
            for name, running in facts["services"].items()
        )
        lines.append(f"Services  {services}")
    lines.append("Versions  " + ", ".join(f"{k} {v}" for k, v in facts["versions"].items()))
    users = facts["users"]
    waiting = users["waiting"]
    line = f"Users     {users['approved']} approved, {len(waiting)} waiting for approval"
    if waiting:
        line += f" ({', '.join(waiting)}: `hubctl users approve NAME`)"
    if facts["servers_running"] is not None:
        line += f"; {facts['servers_running']} servers running"
    lines.append(line)
    memory = facts["memory"]
    lines.append(
        f"Memory    {memory['used'] / GIB:.1f} GiB used of {memory['total'] / GIB:.1f} GiB"
        f" ({memory['percent']}%)"
    )
    backup = facts["backup"]
    last = f"{backup['age_hours']:.1f} h ago ({backup['last']})" if backup["last"] else "none yet"
    lines.append(f"Backup    last {last}; nightly {'on' if backup['nightly'] else 'off'}")
    for disk in facts["disks"]:
        lines.append(
            f"Disk      {disk['path']}: {disk['used'] / GIB:.1f} GiB used of"
            f" {disk['total'] / GIB:.1f} GiB ({disk['percent']}%)"
        )
    return "\n".join(lines)
