"""Exams under way on the VM: one JSON file per course in /var/lib/hubctl/exams, and the
uids of their students in the nftables table (nft.py). Runs as root (the hub, its spawner's
hook, `python -m hubctl_plugins.exam.vm`)."""

import contextlib
import grp
import json
import pwd
from datetime import UTC, datetime
from pathlib import Path

from hubctl import layout
from hubctl_plugins.exam import nft

STATE_DIR = Path(layout.STATE_DIR) / "exams"
STUDENTS_GROUP = "nbgrader-{}"  # the hub group of a course's students


def now() -> datetime:
    return datetime.now(UTC)


def state_file(course: str) -> Path:
    return STATE_DIR / f"{course}.json"


def read_all() -> dict[str, dict]:
    """Every exam recorded, running or past its end, by course."""
    if not STATE_DIR.is_dir():
        return {}
    return {path.stem: json.loads(path.read_text()) for path in sorted(STATE_DIR.glob("*.json"))}


def is_over(exam: dict, at: datetime) -> bool:
    return exam.get("until") is not None and datetime.fromisoformat(exam["until"]) <= at


def running(at: datetime | None = None) -> dict[str, dict]:
    at = at or now()
    return {course: exam for course, exam in read_all().items() if not is_over(exam, at)}


def write(course: str, exam: dict) -> None:
    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state_file(course)
    path.with_suffix(".tmp").write_text(json.dumps(exam, indent=1) + "\n")
    path.with_suffix(".tmp").replace(path)


def forget(course: str) -> None:
    state_file(course).unlink(missing_ok=True)


def students(course: str, exam: dict) -> set[str]:
    """The course's students: its Linux group (hubctl-ID) and those the exam recorded."""
    try:
        members = set(grp.getgrnam(layout.course_group(course)).gr_mem)
    except KeyError:
        members = set()
    return members | set(exam.get("students", []))


def uids(exams: dict[str, dict]) -> set[int]:
    found = set()
    for course, exam in exams.items():
        for name in students(course, exam):
            # no Linux user yet: the spawner's hook adds them at their first start
            with contextlib.suppress(KeyError):
                found.add(pwd.getpwnam(name).pw_uid)
    return found


def apply(exams: dict[str, dict] | None = None) -> set[int]:
    """Load the table for `exams` (default: those running); returns the uids shut out."""
    shut_out = uids(running() if exams is None else exams)
    nft.load(shut_out)
    return shut_out


def exam_courses_of(groups: list[str]) -> list[str]:
    """The courses under exam in which `groups` (a user's hub groups) make them a student."""
    return [course for course in running() if STUDENTS_GROUP.format(course) in groups]


def enter(user: str, courses: list[str]) -> None:
    """A student of `courses` starts a server during their exam: make sure the table has
    them (a student may have had no Linux user when the exam started)."""
    exams = running()
    for course in courses:
        exam = exams[course]
        if user not in students(course, exam):
            exam["students"] = sorted({*exam.get("students", []), user})
            write(course, exam)
    apply(exams)
