"""`hubctl exam ...`: the exam plugin's commands (instructor's machine)."""

import click

from hubctl.ansible import remote
from hubctl.commands.options import resolve_target, target_options
from hubctl.errors import HubctlError
from hubctl_plugins.exam.timing import FORMS, BadTime, check_form

MODULE = "hubctl_plugins.exam.vm"


def call(target, action: str, request: dict, ask_become_pass: bool) -> dict:
    try:
        return remote.call(target, action, request, ask_become_pass, module=MODULE)
    except HubctlError as error:
        if str(error).startswith("no hubctl hub on"):  # the VM has no plugin code at all
            raise HubctlError(
                f"no exam plugin on {target.label}: add `exam: {{}}` under plugins: in"
                " hub.yaml and run `hubctl install`"
            ) from None
        raise


def until_form(ctx, param, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_form(value.strip())
    except BadTime as error:
        raise click.BadParameter(str(error).removeprefix("--until ")) from None


@click.group()
def exam() -> None:
    """Exam mode: a course's students lose the network, terminals and nbgitpuller."""


@exam.command()
@click.argument("course")
@click.option("--until", callback=until_form, metavar="TIME", help=f"End by itself then: {FORMS}.")
@target_options
def start(course, until, host_spec, ssh_key, ask_become_pass):
    """Start COURSE's exam: its students' running servers restart without terminals or
    nbgitpuller, and nothing they run reaches beyond the VM until `hubctl exam stop`
    (or --until). Instructors, graders and other courses are not affected."""
    target = resolve_target(host_spec, ssh_key, "starting an exam")
    answer = call(target, "start", {"course": course, "until": until}, ask_become_pass)
    if answer["again"]:
        click.echo(f"The exam in {course} was already running.")
    else:
        click.echo(
            f"Exam started in {course}: {answer['students']} students off the network,"
            f" {len(answer['restarted'])} running servers restarted into exam mode."
        )
    ends = f"ends by itself at {answer['until']}" if answer["until"] else "runs until"
    click.echo(f"It {ends}" + ("." if answer["until"] else f" `hubctl exam stop {course}`."))


@exam.command()
@click.argument("course")
@target_options
def stop(course, host_spec, ssh_key, ask_become_pass):
    """End COURSE's exam: its students get the network back and their running servers
    restart as before."""
    target = resolve_target(host_spec, ssh_key, "stopping an exam")
    answer = call(target, "stop", {"course": course}, ask_become_pass)
    click.echo(
        f"Exam ended in {course}: {len(answer['restarted'])} running servers restarted as before."
    )


@exam.command()
@target_options
def status(host_spec, ssh_key, ask_become_pass):
    """The exams running now, with their start and end."""
    target = resolve_target(host_spec, ssh_key, "reading the exams")
    answer = call(target, "status", {}, ask_become_pass)
    if not answer["exams"]:
        click.echo("No exam is running.")
    for item in answer["exams"]:
        ends = item["until"] or "at `hubctl exam stop`"
        click.echo(f"{item['course']}: since {item['started']}, ends {ends}")
