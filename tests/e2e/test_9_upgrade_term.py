"""Upgrading mid-term keeps the term's work: this hubctl's `hubctl install` over a hub that
the hubctl of commit 9020816 installed, in the middle of a course, leaves every grade, every
released feedback and every submission not yet collected where its people can use them.

On the old hub, the term goes as its people do it: the instructor writes assignment hw1 and
releases it (the formgrader's API, as its page calls it); both students fetch it, answer (one
right, one wrong) and submit it (nbgrader's command line as themselves, with their
JupyterLab's settings: the Assignments panel's exchange code); the instructor collects,
autogrades, generates and releases feedback; one student fetches her feedback. Then hw2 is
released, the first student submits it, and nobody collects it yet. Then the upgrade.

Only what people see is checked (logins, the formgrader's scores, `hubctl course status` and
`hubctl grades export`, the feedback files students fetch), never how the grading side
stores or runs things, so the test holds across changes to the exchange and to autograding.
Tests run in file order and build on each other: the last ones grade hw2 after the upgrade.
"""

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import (
    HUBCTL,
    fresh_guest,
    hubctl,
    install_args,
    passwords_in,
    run_install,
    ssh_options_env,
)
from hubhttp import HubSession
from nbgrader_ui import SOURCE_NOTEBOOK
from nbgrader_vm import NBGRADER, as_student
from old_hubctl import old_hubctl, old_hubctl_path, wait_for_hub

from hubctl.sandbox.guest import HOST_CA_BUNDLE

OLD_HUBCTL = "9020816"  # main when issue 13 (grades no student can forge) was taken
COURSE, GRADED, PENDING = "term9", "hw1", "hw2"
INSTRUCTOR, FIRST, SECOND = "ines", "uma", "vik"  # FIRST answers right, SECOND wrong in hw1
INSTRUCTOR_PASSWORD = "tidy-harbour-71-compass"
RIGHT, WRONG = "def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a - b\n"
SERVICE = f"/services/{COURSE}"
FORMGRADER_API = f"{SERVICE}/formgrader/api"
# Rewrite the fetched notebook's answer cell (the first) as the student would in JupyterLab.
ANSWER = (
    "import json, sys; path, code = sys.argv[1:3]; notebook = json.load(open(path));"
    " notebook['cells'][0]['source'] = code; json.dump(notebook, open(path, 'w'))"
)
USER_PYTHON = "/opt/hubctl/user/bin/python3"


def hub_config(vm, path: Path) -> Path:
    (path.parent / "ines-password").write_text(INSTRUCTOR_PASSWORD + "\n")
    data = {
        "users": {"instructors": [{"name": INSTRUCTOR, "password_file": "ines-password"}]},
        "limits": {"memory": "512M", "cpu": 1.0, "idle_timeout": "1h"},
        "network": {"http_proxy": vm.spec.proxy_url, "ca_bundle": str(HOST_CA_BUNDLE)},
        "courses": [{"id": COURSE, "instructors": [INSTRUCTOR], "students": [FIRST, SECOND]}],
    }
    path.write_text(yaml.safe_dump(data))
    return path


class Instructor:
    """The course's instructor, logged in to the hub and through it to the formgrader."""

    def __init__(self, hub: str) -> None:
        self.session = HubSession(hub)
        assert self.session.log_in(INSTRUCTOR, INSTRUCTOR_PASSWORD) == 302
        status, _ = self.session.follow(f"{SERVICE}/formgrader")
        assert status == 200, f"the formgrader answered {status}"

    def act(self, path: str) -> str:
        """POST a formgrader action (its buttons' API call); its log, once it succeeded."""
        status, answer = self.session.call("POST", f"{FORMGRADER_API}/{path}")
        assert status == 200 and isinstance(answer, dict), (status, answer)
        assert answer.get("success"), answer
        return answer.get("log", "")

    def scores(self, assignment: str) -> dict[str, float | None]:
        """The formgrader's "Manage Submissions" scores: None where not autograded."""
        status, submissions = self.session.call("GET", f"{FORMGRADER_API}/submissions/{assignment}")
        assert status == 200, (status, submissions)
        return {
            item["student"]: item["score"] if item["autograded"] else None
            for item in submissions
            if item["submitted"]
        }

    def write_source(self, assignment: str) -> None:
        """source/NAME/NAME.ipynb, saved the way the course's JupyterLab saves it."""
        contents = f"{SERVICE}/api/contents"
        for folder in ("source", f"source/{assignment}"):
            status, _ = self.session.call("PUT", f"{contents}/{folder}", {"type": "directory"})
            assert status in (200, 201), status
        model = {"type": "notebook", "format": "json", "content": SOURCE_NOTEBOOK}
        status, _ = self.session.call(
            "PUT", f"{contents}/source/{assignment}/{assignment}.ipynb", model
        )
        assert status in (200, 201), status

    def release(self, assignment: str) -> None:
        self.write_source(assignment)
        self.act(f"assignment/{assignment}/assign")
        self.act(f"assignment/{assignment}/release")


def answer_and_submit(vm, student: str, assignment: str, code: str) -> None:
    as_student(vm, student, NBGRADER, "fetch_assignment", assignment, "--course", COURSE)
    notebook = f"/home/{student}/{assignment}/{assignment}.ipynb"
    as_student(vm, student, USER_PYTHON, "-c", ANSWER, notebook, code)
    as_student(vm, student, NBGRADER, "submit", assignment, "--course", COURSE)


def fetch_feedback(vm, student: str, assignment: str) -> None:
    as_student(vm, student, NBGRADER, "fetch_feedback", assignment, "--course", COURSE)


def fetched_feedback(vm, student: str, assignment: str) -> dict[str, str]:
    """{path: sha256} of the feedback HTML files in the student's copy of `assignment` (their
    folders are the release times: names with spaces)."""
    found = vm.run(["find", f"/home/{student}/{assignment}/feedback", "-name", "*.html"],
                   check=False).stdout.splitlines()  # fmt: skip
    return {path: hashlib.sha256(vm.run(["cat", path]).stdout.encode()).hexdigest()
            for path in found}  # fmt: skip


def feedback_score(vm, student: str, assignment: str) -> str:
    (path,) = fetched_feedback(vm, student, assignment)
    html = vm.run(["cat", path]).stdout
    return re.search(rf"{assignment} \(Score: ([\d.]+ / [\d.]+)\)", html)[1]


def course_status(cli: list[str], vm, assignment: str) -> dict:
    output = hubctl("course", "status", COURSE, "--json", *host_args(vm), cli=cli,
                    env={**ssh_options_env(vm), "PATH": old_hubctl_path()}).stdout  # fmt: skip
    return next(item for item in json.loads(output)["assignments"] if item["name"] == assignment)


def exported_grades(cli: list[str], vm, folder: Path, assignment: str) -> dict[str, str]:
    output = folder / f"grades-{len(list(folder.glob('grades-*')))}.csv"
    hubctl("grades", "export", COURSE, "-o", str(output), *host_args(vm), cli=cli,
           env={**ssh_options_env(vm), "PATH": old_hubctl_path()})  # fmt: skip
    rows = csv.DictReader(io.StringIO(output.read_text()))
    return {row["student_id"]: row["score"] for row in rows if row["assignment"] == assignment}


def host_args(vm) -> list[str]:
    return ["--host", f"root@{vm.spec.address}", "--ssh-key", str(vm.spec.ssh_key)]


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    folder = tmp_path_factory.mktemp("upgrade-term")
    old = old_hubctl(folder, OLD_HUBCTL)
    with fresh_guest("e2eterm", slot=9) as vm:
        hub = f"http://{vm.spec.address}"
        config = hub_config(vm, folder / "hub.yaml")
        first = hubctl(*install_args(vm, config), cli=old,
                       env={**ssh_options_env(vm), "PATH": old_hubctl_path()})  # fmt: skip
        passwords = passwords_in(first.stdout)
        wait_for_hub(hub)
        # The term so far, on the old hub.
        instructor = Instructor(hub)
        instructor.release(GRADED)
        answer_and_submit(vm, FIRST, GRADED, RIGHT)
        answer_and_submit(vm, SECOND, GRADED, WRONG)
        instructor.act(f"assignment/{GRADED}/collect")
        for student in (FIRST, SECOND):
            instructor.act(f"submission/{GRADED}/{student}/autograde")
        instructor.act(f"assignment/{GRADED}/generate_feedback")
        instructor.act(f"assignment/{GRADED}/release_feedback")
        fetch_feedback(vm, SECOND, GRADED)
        instructor.release(PENDING)
        answer_and_submit(vm, FIRST, PENDING, RIGHT)
        before = {
            "scores": instructor.scores(GRADED),
            "status": course_status(old, vm, GRADED),
            "export": exported_grades(old, vm, folder, GRADED),
            "feedback": fetched_feedback(vm, SECOND, GRADED),
            "pending": course_status(old, vm, PENDING),
        }
        upgrade = run_install(vm, config)
        print("FIGURE mid-term upgrade install:", re.search(r"Done in \d+s", upgrade.stdout)[0])
        again = run_install(vm, config)
        yield {"vm": vm, "hub": hub, "folder": folder, "before": before,
               "passwords": passwords, "again": again.stdout}  # fmt: skip


@pytest.fixture(scope="module")
def instructor(term) -> Instructor:
    """The instructor after the upgrade, logged in anew."""
    return Instructor(term["hub"])


# What the old hub held before the upgrade (the scenario itself worked)


def test_before_the_upgrade_hw1_was_graded_and_hw2_was_pending(term):
    before = term["before"]
    assert before["scores"] == {FIRST: 1.0, SECOND: 0.0}
    assert before["pending"]["submitted"] == [FIRST]
    assert before["pending"]["scores"] == {}  # submitted, not collected
    assert len(before["feedback"]) == 1


# After the upgrade


def test_a_second_install_changes_nothing(term):
    assert " 0 changed" in term["again"]


def test_students_log_in_with_their_passwords(term):
    assert HubSession(term["hub"]).log_in(FIRST, term["passwords"][FIRST]) == 302


def test_the_formgrader_shows_hw1_s_scores_unchanged(term, instructor):
    assert instructor.scores(GRADED) == term["before"]["scores"] == {FIRST: 1.0, SECOND: 0.0}


def test_course_status_shows_hw1_s_scores_unchanged(term):
    status = course_status(HUBCTL, term["vm"], GRADED)
    assert status == term["before"]["status"]
    assert status["scores"] == {FIRST: 1.0, SECOND: 0.0}


def test_grades_export_has_hw1_s_scores_unchanged(term):
    grades = exported_grades(HUBCTL, term["vm"], term["folder"], GRADED)
    assert grades == term["before"]["export"] == {FIRST: "1.0", SECOND: "0.0"}


def test_feedback_a_student_fetched_before_is_still_hers(term):
    assert fetched_feedback(term["vm"], SECOND, GRADED) == term["before"]["feedback"]


def test_a_student_fetches_released_feedback_after_the_upgrade(term):
    fetch_feedback(term["vm"], FIRST, GRADED)
    assert feedback_score(term["vm"], FIRST, GRADED) == "1.0 / 1.0"


def test_the_pending_submission_is_still_handed_in(term):
    status = course_status(HUBCTL, term["vm"], PENDING)
    assert (status["submitted"], status["scores"]) == ([FIRST], {})


def test_the_pending_submission_is_collected_and_autograded(term, instructor):
    instructor.act(f"assignment/{PENDING}/collect")
    assert instructor.scores(PENDING) == {FIRST: None}  # collected, not yet autograded
    instructor.act(f"submission/{PENDING}/{FIRST}/autograde")
    assert instructor.scores(PENDING) == {FIRST: 1.0}


def test_a_new_submission_after_the_upgrade_is_collected_and_autograded(term, instructor):
    answer_and_submit(term["vm"], SECOND, PENDING, RIGHT)
    instructor.act(f"assignment/{PENDING}/collect")
    assert instructor.scores(PENDING) == {FIRST: 1.0, SECOND: None}
    instructor.act(f"submission/{PENDING}/{SECOND}/autograde")
    assert instructor.scores(PENDING) == {FIRST: 1.0, SECOND: 1.0}
    assert course_status(HUBCTL, term["vm"], PENDING)["scores"] == {FIRST: 1.0, SECOND: 1.0}
