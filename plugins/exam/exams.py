"""Exams under way on the VM: one JSON file per course in /var/lib/hubctl/exams, and the
uids of their students in the nftables table (nft.py). Runs as root (the hub, its spawner's
hook, `python -m hubctl_plugins.exam.vm`)."""

import contextlib
import grp
import json
import pwd
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from hubctl import layout
from hubctl_plugins.exam import nft

STATE_DIR = Path(layout.STATE_DIR) / "exams"
STUDENTS_GROUP = "nbgrader-{}"  # the hub group of a course's students
APPLIED_FILE = "applied-uids"  # beside the exams' files: the uids the loaded table has
# Its role's unit: `python -m hubctl_plugins.exam.vm reconcile` as root, at boot and when
# the hub (which has no CAP_NET_ADMIN) needs the table reloaded.
RELOAD_UNIT = "hubctl-exam.service"


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
    path = STATE_DIR / APPLIED_FILE
    if shut_out:
        STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_text(" ".join(str(uid) for uid in sorted(shut_out)))
    else:  # no exam: nothing of it is left behind
        path.unlink(missing_ok=True)
    return shut_out


def applied() -> set[int]:
    path = STATE_DIR / APPLIED_FILE
    return {int(uid) for uid in path.read_text().split()} if path.exists() else set()


def reload_as_root() -> None:
    """Have the boot unit load the table again (it runs as root; the hub has no CAP_NET_ADMIN).
    A reload, not a restart: stopping the unit would drop the table for a moment."""
    subprocess.run(["systemctl", "reload-or-restart", RELOAD_UNIT], check=True, capture_output=True)


def exam_courses_of(groups: list[str]) -> list[str]:
    """The courses under exam in which `groups` (a user's hub groups) make them a student."""
    return [course for course in running() if STUDENTS_GROUP.format(course) in groups]


def enter(user: str, courses: list[str]) -> None:
    """A student of `courses` starts a server during their exam (in the hub's process): make
    sure the table has them. One who had no Linux user when the exam started, or joined the
    course since, is recorded and the table reloaded before the server starts."""
    exams = running()
    for course in courses:
        exam = exams[course]
        if user not in exam.get("students", []):
            exam["students"] = sorted({*exam.get("students", []), user})
            write(course, exam)
    if pwd.getpwnam(user).pw_uid not in applied():
        reload_as_root()
