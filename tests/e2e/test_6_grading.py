"""nbgrader's whole loop in one hub with two courses, as its people do it: the instructor
releases an assignment from the formgrader inside JupyterLab, two students fetch, answer and
submit it in their JupyterLab, a grader collects, autogrades and releases feedback, a student
reads their score, and `hubctl grades export` has it. Then, as each student's Linux user on
the VM, every way into the other's work fails.

Tests run in file order and build on each other through the `course` fixture.
"""

import csv
import io
import json
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser import launch_browser, log_in, new_person, open_lab, screenshot
from conftest import hubctl, ssh_options_env
from nbgrader_ui import (
    answer_first_cell,
    assignment_row,
    create_source_assignment,
    fetch_assignment,
    formgrader_action,
    formgrader_in_lab,
    nbgrader_menu_items,
    read_feedback,
    released_names,
    submit_assignment,
)
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

COURSE, OTHER_COURSE, ASSIGNMENT = "cs101", "math2", "ps1"
INSTRUCTOR, GRADER, RIGHT, WRONG, OUTSIDER = "teacher", "marker", "amy", "bob", "cara"
ROSTER = "\ufeffLast name, Username ,Email\r\nAdams,  Amy ,amy@example.edu\r\nBrown,BOB,b@x\r\n\r\nAdams,amy,amy@example.edu\r\n"
EXCHANGE = f"/srv/nbgrader/exchange/{COURSE}"
GRADEBOOK = f"/srv/nbgrader/courses/{COURSE}/gradebook.db"


@dataclass
class Course:
    base_url: str
    browser: Browser
    shots: Path
    folder: Path
    host_args: list[str]
    env: dict
    passwords: dict[str, str]
    pages: dict[str, Page] = field(default_factory=dict)
    contexts: dict[str, BrowserContext] = field(default_factory=dict)

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/services/{COURSE}"

    def page(self, person: str) -> Page:
        """`person`'s page, logged in, in a browser context of their own."""
        if person not in self.pages:
            self.contexts[person], self.pages[person] = new_person(self.browser)
            log_in(self.pages[person], self.base_url, person, self.passwords[person])
        return self.pages[person]

    def shot(self, person: str, label: str) -> Path:
        return screenshot(self.page(person), self.shots / f"{label}.png")

    def hubctl(self, *args: str, check: bool = True):
        return hubctl(*args, *self.host_args, check=check, env=self.env)


@pytest.fixture(scope="module")
def course(guest, installed, hub_url, tmp_path_factory):
    shots = tmp_path_factory.mktemp("grading-screenshots")
    print(f"screenshots in {shots}")
    host_args = ["--host", f"root@{guest.spec.address}", "--ssh-key", str(guest.spec.ssh_key)]
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        yield Course(
            hub_url.rstrip("/"), browser, shots, tmp_path_factory.mktemp("grading"),
            host_args, ssh_options_env(guest), dict(installed.passwords),
        )  # fmt: skip
        browser.close()


@pytest.fixture(autouse=True)
def screenshots_on_failure(request, course):
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        for person in list(course.pages):
            course.shot(person, f"FAILED-{request.node.name}-{person}")


def as_user(host, user: str, command: str):
    return host.run(f"runuser -u {user} -- sh -c {command!r}")


def submission_of(host, student: str) -> str:
    return host.check_output(f"ls -d {EXCHANGE}/inbound/{student}+{ASSIGNMENT}+*").strip()


def feedback_of(host, student: str) -> str:
    """The exchange's feedback file of `student` (the one their ACL lets them read)."""
    listing = host.check_output(f"getfacl -p {EXCHANGE}/feedback/*.html")
    for block in listing.split("\n\n"):
        if f"user:{student}:r--" in block:
            return re.search(r"# file: (\S+)", block)[1]
    raise AssertionError(f"no feedback for {student} in:\n{listing}")


# The roster


def test_roster_import_makes_enrolled_accounts_and_a_password_file(course, host):
    roster = course.folder / "roster.csv"
    roster.write_bytes(ROSTER.encode("utf-8"))
    result = course.hubctl("users", "import", str(roster), "--course", COURSE)
    assert "2 new accounts, 2 newly enrolled in cs101, 0 accounts already there." in result.stdout
    passwords = course.folder / "roster-passwords.csv"
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    rows = list(csv.DictReader(passwords.open()))
    assert [row["username"] for row in rows] == [RIGHT, WRONG]
    course.passwords.update({row["username"]: row["password"] for row in rows})
    assert host.user(RIGHT).exists and f"hubctl-{COURSE}" in host.user(RIGHT).groups


def test_importing_the_same_roster_again_changes_nothing(course):
    before = (course.folder / "roster-passwords.csv").read_text()
    result = course.hubctl("users", "import", str(course.folder / "roster.csv"), "--course", COURSE)
    assert "0 new accounts, 0 newly enrolled in cs101, 2 accounts already there." in result.stdout
    assert (course.folder / "roster-passwords.csv").read_text() == before


def test_a_bad_roster_row_stops_the_import_before_any_change(course):
    bad = course.folder / "bad.csv"
    bad.write_text("username\nzed\nroot\n")
    result = course.hubctl("users", "import", str(bad), "--course", COURSE, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        f"{bad}:3: 'root' is a system account name: choose another name"
    )
    users = json.loads(course.hubctl("users", "list", "--json").stdout)
    assert "zed" not in [user["name"] for user in users]


def test_users_list_shows_roles_by_group(course):
    users = {
        user["name"]: user for user in json.loads(course.hubctl("users", "list", "--json").stdout)
    }
    assert users[RIGHT]["groups"] == [f"nbgrader-{COURSE}"] and users[RIGHT]["approved"]
    assert users[GRADER]["groups"] == [f"formgrade-{COURSE}"] and not users[GRADER]["admin"]
    assert users[OUTSIDER]["groups"] == [f"nbgrader-{OTHER_COURSE}"]


# The instructor releases an assignment


def test_instructor_releases_an_assignment_from_the_formgrader_in_jupyterlab(course):
    page = course.page(INSTRUCTOR)
    formgrader_in_lab(page, course.service_url)
    create_source_assignment(page, course.service_url, ASSIGNMENT)
    frame = formgrader_in_lab(page, course.service_url)
    assert "Successfully created the student version" in formgrader_action(
        frame, assignment_row(frame, ASSIGNMENT), "education"
    )
    assert "Successfully released 'ps1'" in formgrader_action(
        frame, assignment_row(frame, ASSIGNMENT), "cloud-upload"
    )
    row = assignment_row(frame, ASSIGNMENT)
    row.get_by_text("released", exact=True).wait_for()
    course.shot(INSTRUCTOR, "formgrader-released")


def test_the_formgrader_frame_is_rendered_not_blank(course):
    """nbgrader issue 1870: under `frame-ancestors 'none'` the frame stays empty. A blank
    frame's screenshot is one flat colour and compresses to a few kB."""
    page = course.page(INSTRUCTOR)
    png = page.locator("iframe[src*='formgrader']").screenshot(
        path=str(course.shots / "formgrader-frame.png")
    )
    assert len(png) > 20_000
    frame = page.frame_locator("iframe[src*='formgrader']")
    assert frame.locator("tr", has_text=ASSIGNMENT).first.is_visible()


def test_the_formgrader_uses_the_course_s_time_zone_for_due_dates(course):
    offset = datetime.now(ZoneInfo("Europe/Berlin")).strftime("%z")  # cs101's timezone
    frame = course.page(INSTRUCTOR).frame_locator("iframe[src*='formgrader']")
    assert f'var default_timezone = "{offset}";' in frame.locator("head").inner_html()


def test_instructor_sees_the_formgrader_and_create_assignment(course):
    page = course.page(INSTRUCTOR)
    assert "Formgrader" in nbgrader_menu_items(page)
    assert page.get_by_text("Create Assignment").count() >= 1


# Students fetch, answer and submit


@pytest.mark.parametrize(("student", "answer"), [(RIGHT, "a + b"), (WRONG, "a - b")])
def test_student_fetches_answers_and_submits(course, student, answer):
    page = course.page(student)
    open_lab(page, course.base_url, student)
    fetch_assignment(page, COURSE, ASSIGNMENT)
    answer_first_cell(
        page, course.base_url, student, f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        f"def add(a, b):\n    return {answer}\n",
    )  # fmt: skip
    row = submit_assignment(page, ASSIGNMENT)
    course.shot(student, f"{student}-submitted")
    assert COURSE in row


def test_students_see_the_assignment_list_and_nothing_for_authoring(course):
    page = course.page(RIGHT)
    assert nbgrader_menu_items(page) == ["Assignment List"]
    assert page.get_by_text("Create Assignment").count() == 0


def test_a_student_of_another_course_does_not_see_it(course):
    page = course.page(OUTSIDER)
    open_lab(page, course.base_url, OUTSIDER)
    assert ASSIGNMENT not in released_names(page)
    course.shot(OUTSIDER, "other-course-assignments")


def test_students_cannot_open_the_formgrader(course):
    response = course.page(RIGHT).goto(f"{course.service_url}/formgrader")
    assert response.status == 403


# The grader collects, autogrades and gives feedback


def test_grader_collects_and_autogrades(course):
    page = course.page(GRADER)
    page.goto(f"{course.service_url}/formgrader")
    collected = formgrader_action(page, assignment_row(page, ASSIGNMENT), "cloud-download")
    assert "Successfully collected submissions of 'ps1'" in collected
    page.goto(f"{course.service_url}/formgrader/manage_submissions/{ASSIGNMENT}")
    for student in (RIGHT, WRONG):
        row = page.locator("tr").filter(has_text=student)
        assert "Successfully autograded" in formgrader_action(page, row, "flash")
    page.goto(f"{course.service_url}/formgrader/manage_submissions/{ASSIGNMENT}")
    scores = {
        student: page.locator("tr")
        .filter(has_text=student)
        .get_by_text(re.compile(r"\d / \d"))
        .inner_text()
        for student in (RIGHT, WRONG)
    }
    course.shot(GRADER, "grader-autograded")
    assert scores == {RIGHT: "1 / 1", WRONG: "0 / 1"}


def test_the_gradebook_holds_the_scores(course):
    status = json.loads(course.hubctl("course", "status", COURSE, "--json").stdout)
    (assignment,) = status["assignments"]
    assert assignment["scores"] == {RIGHT: 1.0, WRONG: 0.0}
    assert assignment["submitted"] == [RIGHT, WRONG]


def test_grader_generates_and_releases_feedback(course):
    page = course.page(GRADER)
    page.goto(f"{course.service_url}/formgrader")
    assert "Successfully generated feedback" in formgrader_action(
        page, assignment_row(page, ASSIGNMENT), "comment"
    )
    assert "Successfully released feedback" in formgrader_action(
        page, assignment_row(page, ASSIGNMENT), "envelope"
    )


def test_a_student_fetches_feedback_and_sees_the_score(course):
    page = course.page(RIGHT)
    open_lab(page, course.base_url, RIGHT)
    text = read_feedback(page, ASSIGNMENT)
    course.shot(RIGHT, "feedback")
    assert re.search(r"Score: 1\.0 / 1\.0", text), text[:500]


def test_grades_export_has_the_scores(course):
    output = course.folder / "grades.csv"
    result = course.hubctl("grades", "export", COURSE, "-o", str(output))
    assert f"to {output}" in result.stdout
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(output.read_text()))}
    assert (rows[RIGHT]["assignment"], rows[RIGHT]["score"]) == (ASSIGNMENT, "1.0")
    assert (rows[WRONG]["assignment"], rows[WRONG]["score"]) == (ASSIGNMENT, "0.0")


# The exchange and the gradebook, as each student's Linux user


def test_each_student_can_read_their_own_feedback(host):
    for student in (RIGHT, WRONG):
        assert as_user(host, student, f"cat {feedback_of(host, student)}").rc == 0


@pytest.mark.parametrize(("intruder", "victim"), [(WRONG, RIGHT), (RIGHT, WRONG)])
@pytest.mark.parametrize(
    "attempt",
    [
        "ls {exchange}/inbound",
        "cat '{submission}/ps1.ipynb'",
        "ls '{submission}'",
        "touch '{submission}/extra.txt'",
        "echo x > '{submission}/ps1.ipynb'",
        "mv '{submission}' '{exchange}/inbound/{intruder}+ps1+stolen'",
        "rm -rf '{submission}'",
        "ls {exchange}/feedback",
        "cat {feedback}",
        "cp /dev/null {feedback}",
        "echo x > {exchange}/outbound/ps1/ps1.ipynb",
        "cat {gradebook}",
        "ls /srv/nbgrader/courses/cs101",
    ],
)
def test_a_student_cannot_get_at_another_s_work(host, intruder, victim, attempt):
    command = attempt.format(
        exchange=EXCHANGE, intruder=intruder, gradebook=GRADEBOOK,
        submission=submission_of(host, victim), feedback=feedback_of(host, victim),
    )  # fmt: skip
    result = as_user(host, intruder, command)
    assert result.rc != 0, f"{intruder} could: {command}"
    assert "Permission denied" in result.stderr or "Operation not permitted" in result.stderr


def test_a_student_of_another_course_cannot_enter_its_exchange(host):
    result = as_user(host, OUTSIDER, f"ls {EXCHANGE}")
    assert result.rc != 0 and "Permission denied" in result.stderr


def test_the_submissions_are_untouched(host):
    for student in (RIGHT, WRONG):
        names = host.check_output(f"ls '{submission_of(host, student)}'").split()
        assert sorted(names) == ["ps1.ipynb", "submission_secret.txt", "timestamp.txt"]
