"""`hubctl course status` and `hubctl grades export`: a course's progress and its grades."""

import json
from pathlib import Path

import click

from hubctl.ansible.remote import call
from hubctl.commands.options import resolve_target, target_options


@click.group()
def course() -> None:
    """See how a course is going."""


@course.command()
@click.argument("course_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@target_options
def status(course_id, as_json, host_spec, ssh_key, ask_become_pass):
    """Assignments, who submitted each, who is missing, and the graded scores."""
    target = resolve_target(host_spec, ssh_key, "reading a course")
    answer = call(target, "course-status", {"course": course_id}, ask_become_pass)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    click.echo(f"Course {course_id}: {len(answer['students'])} students")
    if not answer["assignments"]:
        click.echo("No assignments yet: create one in the course's formgrader")
    for assignment in answer["assignments"]:
        released = "released" if assignment["released"] else "not released"
        submitted, missing = assignment["submitted"], assignment["missing"]
        click.echo(f"{assignment['name']} ({released}): {len(submitted)} submitted")
        if missing:
            click.echo(f"  missing: {', '.join(missing)}")
        scores = assignment["scores"]
        if scores:
            click.echo(
                "  graded: " + ", ".join(f"{name} {scores[name]:g}" for name in sorted(scores))
            )


@click.group()
def grades() -> None:
    """Get a course's grades out of its gradebook."""


@grades.command()
@click.argument("course_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the CSV here [default: COURSE_ID-grades.csv].",
)
@target_options
def export(course_id, output, host_spec, ssh_key, ask_become_pass):
    """Every student's score on every assignment, as nbgrader's CSV export."""
    target = resolve_target(host_spec, ssh_key, "exporting grades")
    text = call(target, "export-grades", {"course": course_id}, ask_become_pass)["csv"]
    output = output or Path(f"{course_id}-grades.csv")
    output.write_text(text, encoding="utf-8")
    rows = max(len(text.strip().splitlines()) - 1, 0)
    click.echo(f"Wrote {rows} grades of {course_id} to {output}")
