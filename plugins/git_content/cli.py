"""`hubctl git-content link COURSE`: the link an instructor shares with a course's students."""

from pathlib import Path

import click

from hubctl.commands.options import config_option
from hubctl.errors import HubctlError
from hubctl_plugins.git_content import GitContentSettings, check_courses, link


@click.group("git-content")
def git_content() -> None:
    """Course materials from git, pulled into each student's home (plugin git_content)."""


@git_content.command("link")
@click.argument("course_id")
@config_option
@click.option(
    "--hub-url",
    metavar="URL",
    help="The address students open the hub at [default: https://DOMAIN from https.domain].",
)
@click.option(
    "--open",
    "open_path",
    metavar="PATH",
    default="",
    help="A file inside the repository to open, e.g. week1/intro.ipynb [default: its folder].",
)
def link_command(course_id: str, config_path: Path, hub_url: str | None, open_path: str):
    """Print the link that gives COURSE_ID's students its materials.

    Opening it logs the student in, clones the repository into ~/FOLDER the first time and
    merges the newest commits later (their own changes are kept), then opens JupyterLab
    there. Share it again after each push: the same link always pulls the newest content.
    """
    from hubctl.config.loader import load_config

    config = load_config(config_path, check_files=False)
    source = str(config_path)
    raw = config.plugins.get("git_content", False)
    if raw is False:
        raise HubctlError(
            f"{source}: plugins.git_content: the plugin is not enabled: add"
            f" `git_content: {{courses: {{{course_id}: {{repo: URL}}}}}}` under plugins:"
        )
    settings = GitContentSettings.model_validate(raw or {})
    check_courses(settings, config)
    content = settings.courses.get(course_id)
    if content is None:
        known = ", ".join(settings.courses) or "none"
        raise HubctlError(
            f"{source}: plugins.git_content.courses: no repository for course '{course_id}'"
            f" (has: {known}): add `{course_id}: {{repo: URL}}` there"
        )
    if hub_url is None:
        if not config.https.domain:
            raise HubctlError(
                f"{source}: https.domain is not set, so the hub's address is unknown:"
                " pass --hub-url http://ADDRESS (what students type to reach the hub)"
            )
        hub_url = f"https://{config.https.domain}"
    elif not hub_url.startswith(("http://", "https://")):
        raise HubctlError(f"--hub-url {hub_url}: not a web address: write http(s)://HOST")
    click.echo(link(hub_url, content, open_path))
    click.echo(
        f"Share it with {course_id}'s students: it puts {content.repo} ({content.branch})"
        f" into ~/{content.folder} and keeps their own edits on later pulls.",
        err=True,
    )
