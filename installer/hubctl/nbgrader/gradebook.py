"""One course's gradebook, for hubctl's commands on the VM.

Run as the course's grader account from the user venv:
`python -m hubctl.nbgrader.gradebook ACTION COURSE_DIR COURSE_ID` with JSON on stdin, JSON
(or CSV for `export`) on stdout. Actions: add-students, status, export.
"""

import glob
import json
import os
import sys
import tempfile

from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from hubctl import layout


def add_students(gradebook: Gradebook, names: list[str]) -> list[str]:
    """Add the students the gradebook lacks; returns the names added."""
    known = {student.id for student in gradebook.students}
    added = [name for name in names if name not in known]
    for name in added:
        gradebook.add_student(name)
    return added


def status(gradebook: Gradebook, course_id: str) -> dict:
    """Per assignment: released or not, who submitted (in the exchange or collected), who is
    missing, and the graded submissions' scores."""
    students = sorted(student.id for student in gradebook.students)
    inbound = _submitted_in_exchange(course_id)
    released = {os.path.basename(path) for path in glob.glob(f"{_exchange(course_id)}/outbound/*")}
    in_gradebook = {assignment.name for assignment in gradebook.assignments}
    assignments = []
    for name in sorted(in_gradebook | released):
        submissions = gradebook.assignment_submissions(name) if name in in_gradebook else []
        collected = {submission.student.id: submission.score for submission in submissions}
        submitted = sorted(set(inbound.get(name, ())) | set(collected))
        assignments.append(
            {
                "name": name,
                "released": name in released,
                "submitted": submitted,
                "missing": [student for student in students if student not in submitted],
                "scores": collected,
            }
        )
    return {"course": course_id, "students": students, "assignments": assignments}


def _exchange(course_id: str) -> str:
    return f"{layout.EXCHANGE_DIR}/{course_id}"


def _submitted_in_exchange(course_id: str) -> dict[str, set[str]]:
    """{assignment: {student}} from the inbound folder's `student+assignment+time+random`."""
    found: dict[str, set[str]] = {}
    for path in glob.glob(f"{_exchange(course_id)}/inbound/*+*+*"):
        student, assignment = os.path.basename(path).split("+")[:2]
        found.setdefault(assignment, set()).add(student)
    return found


def export_csv(gradebook: Gradebook) -> str:
    """nbgrader's own CSV export (one row per student and assignment)."""
    with tempfile.TemporaryDirectory() as folder:
        plugin = CsvExportPlugin(to=os.path.join(folder, "grades.csv"))
        plugin.export(gradebook)
        with open(plugin.to, encoding="utf-8") as handle:
            return handle.read()


def main() -> None:
    action, course_dir, course_id = sys.argv[1:4]
    request = json.load(sys.stdin) if action == "add-students" else {}
    with Gradebook(f"sqlite:///{course_dir}/gradebook.db", course_id=course_id) as gradebook:
        if action == "add-students":
            json.dump({"added": add_students(gradebook, request["students"])}, sys.stdout)
        elif action == "status":
            json.dump(status(gradebook, course_id), sys.stdout)
        elif action == "export":
            sys.stdout.write(export_csv(gradebook))
        else:
            sys.exit(f"unknown action {action!r}")


if __name__ == "__main__":
    main()
