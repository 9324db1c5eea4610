"""The Linux side of a course's people: students' accounts, the course group that opens the
course's exchange to them, and their rows in the gradebook. Runs as root on the VM.

`python -m hubctl.hub.enrolment` with {"courses": [{"id", "students"}]} on stdin (the install)
prints {"changed": [...]}.
"""

import grp
import json
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from hubctl import layout
from hubctl.hub.unix_users import ensure_unix_user_now, run
from hubctl.layout import course_dir, course_group, grader_account


def enrol_students(course_id: str, names: list[str]) -> list[str]:
    """Make each student's Linux user, put it in the course group and the gradebook.
    Returns what changed, as "created USER", "joined USER", "gradebook USER"."""
    changed = []
    members = set(grp.getgrnam(course_group(course_id)).gr_mem)
    for name in names:
        if ensure_unix_user_now(name):
            changed.append(f"created {name}")
        if name not in members:
            run(["gpasswd", "--add", name, course_group(course_id)])
            changed.append(f"joined {name}")
    enrolled = gradebook_students(course_id)
    missing = [name for name in names if name not in enrolled]
    if missing:
        answer = as_grader(course_id, "add-students", {"students": missing})
        changed += [f"gradebook {name}" for name in json.loads(answer)["added"]]
    return changed


def gradebook_students(course_id: str) -> set[str]:
    """Student ids in the course's gradebook, read directly: starting nbgrader costs seconds."""
    path = Path(course_dir(course_id)) / "gradebook.db"
    if not path.exists():
        return set()
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return {row[0] for row in db.execute("SELECT id FROM student")}


def leave_course(course_id: str, name: str) -> bool:
    """Take a student out of the course group (the gradebook keeps their grades)."""
    if name not in grp.getgrnam(course_group(course_id)).gr_mem:
        return False
    run(["gpasswd", "--delete", name, course_group(course_id)])
    return True


def as_grader(course_id: str, action: str, request: dict | None = None) -> str:
    """hubctl.nbgrader.gradebook ACTION, run as the course's grader in the user venv."""
    argv = ["runuser", "-u", grader_account(course_id), "--"]
    # nbgrader runs `alembic` from PATH when it creates a gradebook
    argv += ["env", f"PATH={layout.USER_VENV}/bin:/usr/bin:/bin"]
    argv += [f"{layout.USER_VENV}/bin/python3", "-m", "hubctl.nbgrader.gradebook"]
    argv += [action, course_dir(course_id), course_id]
    return run(argv, stdin=json.dumps(request or {}), cwd=course_dir(course_id))


def main() -> None:
    request = json.load(sys.stdin)
    changed = []
    for course in request["courses"]:
        changed += [
            f"{course['id']}: {item}" for item in enrol_students(course["id"], course["students"])
        ]
    json.dump({"changed": changed}, sys.stdout)


if __name__ == "__main__":
    main()
