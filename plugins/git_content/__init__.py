"""The `git_content` plugin: each course's materials from a git repository, delivered to
every student by nbgitpuller; `hubctl git-content link COURSE` prints the link to share.

    plugins:
      git_content:
        courses:
          math2: {repo: https://git.example.edu/math2/notes.git, branch: main}

A student who opens the link logs in if needed, gets the repository cloned (the first time)
or merged (later: their own edits are kept) into ~/FOLDER, and lands in JupyterLab there.
"""

import re
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from hubctl.config.schema import HubConfig
from hubctl.hookspecs import UserPackages, hookimpl

# 1.3.0 is the newest release; GHSA-mq5p-2mcr-m52j (code injection through a crafted link)
# is fixed since 0.10.2. Its requirements (jupyter_server, tornado) are in the students'
# pinned set already.
NBGITPULLER = "nbgitpuller==1.3.0"
SCHEMES = ("http", "https", "git", "ssh", "file")
# A git branch as a link carries it: no option-like or relative names, no spaces.
BRANCH_RE = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+(?<![./])$")
FOLDER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


def _check_repo(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.path.strip("/") or url.startswith("-"):
        raise PydanticCustomError(
            "git_url",
            "'{url}' is not a git repository URL: write https://HOST/PATH.git"
            " (or git://, ssh://, file:///PATH)",
            {"url": url},
        )
    if parts.password is not None or (parts.username and parts.scheme in ("http", "https")):
        raise PydanticCustomError(
            "git_url_secret",
            "'{url}' holds credentials, which every student would see in the link: use a"
            " repository they may read without them",
            {"url": url},
        )
    return url


def _check_branch(name: str) -> str:
    if not BRANCH_RE.match(name):
        raise PydanticCustomError(
            "git_branch", "'{name}' is not a branch name: e.g. main", {"name": name}
        )
    return name


def _check_folder(name: str) -> str:
    if not FOLDER_RE.match(name):
        raise PydanticCustomError(
            "folder_name",
            "'{name}' is not a folder name: one name of letters, digits, '.', '_' or '-',"
            " e.g. math2-notes",
            {"name": name},
        )
    return name


class CourseContent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repo: Annotated[str, AfterValidator(_check_repo)] = Field(
        description="The course's git repository (http(s)://, git://, ssh:// or file:///);"
        " the VM must be able to read it without a password.",
    )
    branch: Annotated[str, AfterValidator(_check_branch)] = Field(
        "main", description="The branch students get."
    )
    folder: Annotated[str, AfterValidator(_check_folder)] | None = Field(
        None,
        description="The folder in each student's home it goes to. Default: the repository's"
        " name without .git.",
    )

    @model_validator(mode="after")
    def _default_folder(self) -> "CourseContent":
        if self.folder is None:
            name = urlsplit(self.repo).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
            object.__setattr__(self, "folder", _check_folder(name))
        return self


class GitContentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    courses: dict[str, CourseContent] = Field(
        default_factory=dict, description="Each course's content, by course id."
    )


def check_courses(settings: GitContentSettings, config: HubConfig) -> None:
    """Every course named under git_content is one of hub.yaml's courses."""
    from hubctl.plugins import PluginError  # instructor's machine only

    known = [course.id for course in config.courses]
    for course_id in settings.courses:
        if course_id not in known:
            raise PluginError(
                f"hub.yaml: plugins.git_content.courses.{course_id}: no such course"
                f" (courses: {', '.join(known) or 'none'}): add it under courses: or fix the id"
            )


def link(hub_url: str, content: CourseContent, open_path: str = "") -> str:
    """nbgitpuller's link: log in, pull `content` into ~/FOLDER, open FOLDER/open_path."""
    query = urlencode(
        {
            "repo": content.repo,
            "branch": content.branch,
            "targetpath": content.folder,
            "urlpath": f"lab/tree/{content.folder}/{open_path.lstrip('/')}",
        },
        safe="/",
        quote_via=quote,
    )
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


@hookimpl
def hubctl_plugin_schema() -> type[BaseModel]:
    return GitContentSettings


@hookimpl
def hubctl_user_packages(settings: GitContentSettings, config: HubConfig) -> UserPackages:
    check_courses(settings, config)
    return {"pip": [NBGITPULLER], "apt": ["git"]}


@hookimpl
def hubctl_cli_commands() -> list:
    from hubctl_plugins.git_content.cli import git_content

    return [git_content]
