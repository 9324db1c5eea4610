"""A class in real browsers: the instructor logs in, students sign up and wait for approval,
the instructor approves them, each gets their own JupyterLab running as their own Linux
user, and one student cannot read another's files.

The tests run in file order and build on each other through the `classroom` fixture (one
Chromium, one browser context per person). Screenshots of key pages, and of every open page
when a test fails, go to a temporary folder; their paths are printed.
"""

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser import (
    approve,
    launch_browser,
    log_in,
    login_error,
    new_person,
    news_prompt,
    news_prompt_disabled,
    open_lab,
    run_cell,
    screenshot,
    sign_up,
)
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

INSTRUCTOR = "teacher"
STUDENT1 = "student1"
STUDENT2 = "student2"
STUDENT_PASSWORD = "amber-walrus-71-tide"  # 12+ characters, not a common password
VISITOR = "visitor"  # signs up under names that must be refused; never logs in
SENT_TO_ADMIN = "Your information has been sent to the admin."
SIGNUP_FAILED = "Something went wrong!"  # NativeAuthenticator's one message for a refused name


def unit(name: str) -> str:
    return f"jupyter-{name}-singleuser"


@dataclass
class Classroom:
    base_url: str
    browser: Browser
    shots: Path
    passwords: dict[str, str]
    contexts: dict[str, BrowserContext] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)
    shot_count: int = 0

    def page(self, person: str) -> Page:
        """`person`'s page, in a browser context (cookies) of their own."""
        if person not in self.pages:
            self.contexts[person], self.pages[person] = new_person(self.browser)
        return self.pages[person]

    def shot(self, person: str, label: str) -> Path:
        self.shot_count += 1
        return screenshot(self.page(person), self.shots / f"{self.shot_count:02d}-{label}.png")


@pytest.fixture(scope="module")
def classroom(hub_url, installed, tmp_path_factory):
    shots = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots in {shots}")
    passwords = {INSTRUCTOR: installed.passwords[INSTRUCTOR]}
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        yield Classroom(hub_url.rstrip("/"), browser, shots, passwords)
        browser.close()


@pytest.fixture(autouse=True)
def screenshots_on_failure(request, classroom):
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        for person in list(classroom.pages):
            classroom.shot(person, f"FAILED-{request.node.name}-{person}")


def unit_property(host, name: str, prop: str) -> str:
    return host.check_output(f"systemctl show -p {prop} --value {unit(name)}")


def authorize_row_count(classroom: Classroom, name: str) -> int:
    """How many rows NativeAuthenticator's /hub/authorize has for exactly `name`."""
    page = classroom.page(INSTRUCTOR)
    page.goto(f"{classroom.base_url}/hub/authorize")
    page.get_by_role("heading", name="Authorization area").wait_for()
    return page.get_by_role("cell", name=name, exact=True).count()


# The instructor


def test_instructor_reaches_jupyterlab(classroom):
    page = classroom.page(INSTRUCTOR)
    log_in(page, classroom.base_url, INSTRUCTOR, classroom.passwords[INSTRUCTOR])
    open_lab(page, classroom.base_url, INSTRUCTOR)
    classroom.shot(INSTRUCTOR, "instructor-lab")
    assert f"/user/{INSTRUCTOR}/lab" in page.url


def test_instructor_is_hub_admin(classroom):
    response = classroom.page(INSTRUCTOR).goto(f"{classroom.base_url}/hub/admin")
    assert response.status == 200


# The first student, before and after approval


def test_student_signs_up(classroom):
    page = classroom.page(STUDENT1)
    message = sign_up(page, classroom.base_url, STUDENT1, STUDENT_PASSWORD)
    classroom.shot(STUDENT1, "student1-signed-up")
    assert message == SENT_TO_ADMIN


def test_unapproved_student_cannot_log_in(classroom):
    page = classroom.page(STUDENT1)
    log_in(page, classroom.base_url, STUDENT1, STUDENT_PASSWORD)
    classroom.shot(STUDENT1, "student1-not-yet-approved")
    assert login_error(page) == f"User {STUDENT1} has not been authorized by an administrator yet."


def test_unapproved_student_gets_no_linux_user(host):
    assert not host.user(STUDENT1).exists


def test_unapproved_student_gets_no_server(host):
    assert unit_property(host, STUDENT1, "LoadState") == "not-found"


def test_instructor_approves_the_student(classroom):
    authorized = approve(classroom.page(INSTRUCTOR), classroom.base_url, STUDENT1)
    classroom.shot(INSTRUCTOR, "student1-approved")
    assert authorized == "Yes"


def test_approved_student_reaches_jupyterlab(classroom):
    page = classroom.page(STUDENT1)
    started = time.monotonic()
    log_in(page, classroom.base_url, STUDENT1, STUDENT_PASSWORD)
    open_lab(page, classroom.base_url, STUDENT1)
    print(f"{STUDENT1}: login to JupyterLab's launcher in {time.monotonic() - started:.1f} s")
    classroom.shot(STUDENT1, "student1-lab")
    assert f"/user/{STUDENT1}/lab" in page.url


def test_a_cell_runs(classroom):
    assert run_cell(classroom.page(STUDENT1), "print(6 * 7)") == "42"


def test_the_kernel_runs_as_the_student_in_their_home(classroom):
    code = "import getpass, os\nprint(os.getuid(), getpass.getuser(), os.getcwd())"
    output = run_cell(classroom.page(STUDENT1), code)
    classroom.shot(STUDENT1, "student1-whoami")
    uid, user, cwd = output.split()
    assert (int(uid) >= 1000, user, cwd) == (True, STUDENT1, f"/home/{STUDENT1}")


def test_lab_page_config_disables_the_news_prompt(classroom):
    assert news_prompt_disabled(classroom.page(STUDENT1))


def test_no_jupyter_news_prompt(classroom):
    # The prompt would show right after the lab is restored: by now two cells have run.
    assert news_prompt(classroom.page(STUDENT1)).count() == 0


# What the spawn left on the VM


def test_student_linux_user_exists(host):
    assert host.user(STUDENT1).exists


def test_student_is_in_the_hub_users_group(host):
    assert "hubctl-users" in host.user(STUDENT1).groups


def test_student_home(host):
    home = host.file(f"/home/{STUDENT1}")
    assert (home.is_directory, home.user, home.mode) == (True, STUDENT1, 0o700)


def test_student_server_unit_is_active(host):
    assert host.service(unit(STUDENT1)).is_running


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("MemoryMax", "536870912"),  # limits.memory: 512M in the e2e config
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("NoNewPrivileges", "yes"),
    ],
)
def test_student_server_unit_sandbox(host, prop, value):
    assert unit_property(host, STUDENT1, prop) == value


def test_student_server_unit_runs_as_the_student(host):
    # SystemdSpawner writes the uid (User=1001), not the name
    assert unit_property(host, STUDENT1, "User") in (STUDENT1, str(host.user(STUDENT1).uid))


# Names that must not become hub users


@pytest.mark.parametrize("name", ["root", "sshd"])
def test_system_account_sign_up_is_refused_on_the_page(classroom, name):
    page = classroom.page(VISITOR)
    message = sign_up(page, classroom.base_url, name, STUDENT_PASSWORD)
    classroom.shot(VISITOR, f"sign-up-as-{name}")
    assert "alert-danger" in page.get_by_role("alert").get_attribute("class")
    assert message.startswith(SIGNUP_FAILED)


@pytest.mark.parametrize("name", ["root", "sshd"])
def test_system_account_gets_no_hub_account(classroom, name):
    assert authorize_row_count(classroom, name) == 0


@pytest.mark.parametrize("name", ["root", "sshd"])
def test_system_account_is_not_made_a_hub_user(host, name):
    assert "hubctl-users" not in host.user(name).groups


@pytest.mark.parametrize("name", ["root", "sshd"])
def test_system_account_gets_no_server_unit(host, name):
    assert unit_property(host, name, "LoadState") == "not-found"


def test_mixed_case_sign_up_is_accepted(classroom):
    message = sign_up(classroom.page(VISITOR), classroom.base_url, "Teacher2", STUDENT_PASSWORD)
    classroom.shot(VISITOR, "sign-up-as-Teacher2")
    assert message == SENT_TO_ADMIN


def test_mixed_case_name_is_lowercased(classroom):
    rows = (authorize_row_count(classroom, "teacher2"), authorize_row_count(classroom, "Teacher2"))
    classroom.shot(INSTRUCTOR, "authorize-teacher2")
    assert rows == (1, 0)


# A second student


def test_second_student_reaches_jupyterlab(classroom):
    page = classroom.page(STUDENT2)
    assert sign_up(page, classroom.base_url, STUDENT2, STUDENT_PASSWORD) == SENT_TO_ADMIN
    assert approve(classroom.page(INSTRUCTOR), classroom.base_url, STUDENT2) == "Yes"
    log_in(page, classroom.base_url, STUDENT2, STUDENT_PASSWORD)
    open_lab(page, classroom.base_url, STUDENT2)
    assert f"/user/{STUDENT2}/lab" in page.url


def test_second_student_cannot_read_the_first_students_home(classroom):
    output = run_cell(classroom.page(STUDENT2), f"import os\nos.listdir('/home/{STUDENT1}')")
    classroom.shot(STUDENT2, "student2-permission-error")
    # Her server has an empty /home with only her own home in it (ProtectHome=tmpfs).
    assert re.search(rf"FileNotFoundError: .*'/home/{STUDENT1}'", output), output
