"""The `datasets` plugin: one data folder per course, on disk once, that the course's
instructors write and its students only read, linked into each member's home as
~/datasets/ID.

    plugins:
      datasets: {}                  # every course of hub.yaml
      datasets: {courses: [math2]}  # these courses only

The folder /srv/hubctl/datasets/ID belongs to root and the course's students group
(hubctl-ID, made by the courses role); its ACL gives that group r-x, the group hubctl-ID+
rwx, the course's grader account (grader-ID, which runs the formgrader: autograding opens
the files a notebook reads by their /srv/hubctl/datasets path) r-x and everyone else
nothing, and its default ACL passes the same on to everything created in it (whatever the
creator's umask). hubctl_pre_spawn keeps hubctl-ID+ equal to the course's instructors
(hub.yaml courses[].instructors) as each of them starts a server, links the folder into the
homes of the course's students and instructors, and opens it for writing in the
instructors' sandboxed servers (ReadWritePaths).
"""

import contextlib
import grp
import os
import pwd
import subprocess
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from hubctl import layout
from hubctl.config.schema import CourseId, HubConfig
from hubctl.hookspecs import AnsibleRole, ServerOptions, hookimpl

ROLE = Path(__file__).parent / "roles" / "datasets"
LINKS_DIR = "datasets"  # in each member's home: ~/datasets/ID -> DATASETS_DIR/ID
STUDENTS_GROUP_PREFIX = "nbgrader-"  # a course's students' hub group (hubctl.hub.settings)


def _check_known(course_id: str, info: ValidationInfo) -> str:
    config = (info.context or {}).get("config")  # None on the VM: checked before the install
    known = [course.id for course in config.courses] if config is not None else [course_id]
    if course_id not in known:
        raise PydanticCustomError(
            "unknown_course",
            "'{id}' is not a course of this hub: use one of courses[].id ({known})",
            {"id": course_id, "known": ", ".join(known) or "none"},
        )
    return course_id


def _check_once(courses: list[str] | None) -> list[str] | None:
    for course_id in courses or []:
        if courses.count(course_id) > 1:
            raise PydanticCustomError(
                "duplicate_course",
                "'{id}' is listed twice: list each course once",
                {"id": course_id},
            )
    return courses


class DatasetsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    courses: Annotated[
        list[Annotated[CourseId, AfterValidator(_check_known)]] | None,
        AfterValidator(_check_once),
    ] = Field(
        default=None,
        description="Ids of the courses that get a dataset folder; every course when absent.",
    )


def dataset_courses(settings: DatasetsSettings, config: HubConfig) -> list[str]:
    """The ids of the courses with a dataset folder, in hub.yaml's order."""
    ids = [course.id for course in config.courses]
    return ids if settings.courses is None else [i for i in ids if i in settings.courses]


def dataset_dir(course_id: str) -> str:
    return f"{layout.DATASETS_DIR}/{course_id}"


def access_of(
    user: str, groups: list[str], courses: list[str], config: HubConfig
) -> tuple[list[str], list[str]]:
    """(the courses whose dataset `user` sees, the ones they may write): a course's students
    see it, its instructors write it. The people who grade get neither: they are in neither
    Linux group, and a link to a folder they cannot read would break their ~/datasets
    listing (the formgrader runs as the course's grader account, which the ACL lets read)."""
    instructors = {course.id: course.instructors for course in config.courses}
    writes = [course_id for course_id in courses if user in instructors.get(course_id, [])]
    students = {
        g.removeprefix(STUDENTS_GROUP_PREFIX) for g in groups if g.startswith(STUDENTS_GROUP_PREFIX)
    }
    sees = [course_id for course_id in courses if course_id in students or course_id in writes]
    return sees, writes


def acl_lines(course_id: str) -> list[str]:
    """The dataset folder's ACL as `getfacl --omit-header` prints it; the same default ACL
    makes what anyone adds readable by the students and the autograder and writable by
    the instructors."""
    entries = [
        "user::rwx",
        f"user:{layout.grader_account(course_id)}:r-x",
        "group::r-x",  # the owning group: the course's students
        f"group:{layout.dataset_writers_group(course_id)}:rwx",
        "mask::rwx",
        "other::---",
    ]
    return [*entries, *(f"default:{entry}" for entry in entries)]


def sync_writers(user: str, writes: list[str], courses: list[str]) -> None:
    """Put `user` into the writers group of the courses they write, out of the others'."""
    for course_id in courses:
        group = layout.dataset_writers_group(course_id)
        try:
            members = grp.getgrnam(group).gr_mem
        except KeyError:  # no install has made the course's folder yet
            continue
        wanted = course_id in writes
        if wanted != (user in members):
            flag = "--add" if wanted else "--delete"
            subprocess.run(["gpasswd", flag, user, group], check=True, capture_output=True)


def link_datasets(home: str, uid: int, gid: int, targets: dict[str, str]) -> None:
    """Make HOME/datasets/NAME a link to each target (owned by the user), and drop links to
    datasets the user is no longer in. Never follows a link the user made (this runs as
    root in their home) and never touches a file or folder of theirs."""
    home_fd = os.open(home, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        if targets:
            with contextlib.suppress(FileExistsError):
                os.mkdir(LINKS_DIR, 0o755, dir_fd=home_fd)
                os.chown(LINKS_DIR, uid, gid, dir_fd=home_fd, follow_symlinks=False)
        try:
            links_fd = os.open(
                LINKS_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=home_fd
            )
        except OSError:  # none, or a file or link of the user's own
            return
        try:
            _update_links(links_fd, uid, gid, targets)
        finally:
            os.close(links_fd)
    finally:
        os.close(home_fd)


def _update_links(links_fd: int, uid: int, gid: int, targets: dict[str, str]) -> None:
    for name in os.listdir(links_fd):
        if name not in targets and _our_link(links_fd, name):
            os.unlink(name, dir_fd=links_fd)
    for name, target in targets.items():
        try:
            current = os.readlink(name, dir_fd=links_fd)
        except FileNotFoundError:
            current = None
        except OSError:  # not a link: the user's own file or folder
            continue
        if current == target:
            continue
        if current is not None:
            if not _our_link(links_fd, name):
                continue
            os.unlink(name, dir_fd=links_fd)
        os.symlink(target, name, dir_fd=links_fd)
        os.chown(name, uid, gid, dir_fd=links_fd, follow_symlinks=False)


def _our_link(links_fd: int, name: str) -> bool:
    try:
        return os.readlink(name, dir_fd=links_fd).startswith(layout.DATASETS_DIR + "/")
    except OSError:
        return False


def _hub_config() -> HubConfig:
    from hubctl.config import parse_config

    return parse_config(Path(layout.CONFIG_FILE).read_text(encoding="utf-8"), layout.CONFIG_FILE)


@hookimpl
def hubctl_plugin_schema() -> type[BaseModel]:
    return DatasetsSettings


@hookimpl
def hubctl_ansible_roles(settings: DatasetsSettings, config: HubConfig) -> list[AnsibleRole]:
    instructors = {course.id: list(course.instructors) for course in config.courses}
    courses = [
        {
            "id": course_id,
            "path": dataset_dir(course_id),
            "students_group": layout.course_group(course_id),
            "writers_group": layout.dataset_writers_group(course_id),
            "instructors": instructors[course_id],
            "acl": acl_lines(course_id),
        }
        for course_id in dataset_courses(settings, config)
    ]
    return [
        {
            "path": str(ROLE),
            "vars": {
                "datasets_folders": [layout.PLUGIN_DATA_DIR, layout.DATASETS_DIR],
                "datasets_courses": courses,
            },
        }
    ]


@hookimpl
def hubctl_pre_spawn(
    settings: DatasetsSettings, user: str, groups: list[str], home: str
) -> ServerOptions:
    config = _hub_config()
    courses = [c for c in dataset_courses(settings, config) if Path(dataset_dir(c)).is_dir()]
    sees, writes = access_of(user, groups, courses, config)
    sync_writers(user, writes, courses)
    account = pwd.getpwnam(user)
    link_datasets(home, account.pw_uid, account.pw_gid, {c: dataset_dir(c) for c in sees})
    if not writes:
        return {}
    return {"properties": {"ReadWritePaths": " ".join(dataset_dir(c) for c in writes)}}
