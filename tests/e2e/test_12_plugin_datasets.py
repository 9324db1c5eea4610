"""The `datasets` built-in plugin, on the guest with every built-in plugin (conftest's
PLUGIN_SETTINGS: `datasets: {}`, a dataset for each course). Instructors write their course's
dataset from their own servers (ta, root, on math2; teacher, sandboxed, on cs101); math2's
student cara finds the file in her file browser under ~/datasets/math2 and reads it from a
kernel, but cannot change or delete it; a cs101 student cannot read math2's; the file is on
disk once."""

import json
import re
import time
import urllib.error
import urllib.request

import pytest
from browser import launch_browser, log_in, new_person, open_lab, run_cell
from conftest import TA_PASSWORD, hubctl, ssh_options_env
from playwright.sync_api import sync_playwright

DATASETS = "/srv/hubctl/datasets"
STUDENT = "cara"  # math2's student: the install makes her account
OTHER_STUDENT = "dora"  # a cs101 student, added with the CLI
MATH2_FILE, MATH2_TEXT = "math2-grades-week1.csv", "name,grade\ncara,1.3\n"
CS101_FILE, CS101_TEXT = "syllabus.txt", "week 1: variables\n"
SERVER_WAIT_SECONDS = 240


@pytest.fixture(scope="module")
def machine(plugin_guest):
    return plugin_guest


@pytest.fixture(scope="module")
def base_url(machine, plugin_install) -> str:
    return f"http://{machine.spec.address}"


def guest_run(machine, command: str):
    return machine.run(["sh", "-c", command], check=False)


def guest_output(machine, command: str) -> str:
    return machine.run(["sh", "-c", command]).stdout.strip()


def call(url: str, method: str = "GET", body: dict | None = None, token: str | None = None):
    """(status, parsed JSON answer or text) of one HTTP call from this machine."""
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {token}"} if token else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            status, text = reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, text


class Person:
    """A hub user with an API token (from her password) and a running server."""

    def __init__(self, base_url: str, name: str, password: str) -> None:
        self.base_url, self.name = base_url, name
        body = {"auth": {"username": name, "password": password}}
        status, answer = call(f"{base_url}/hub/api/users/{name}/tokens", "POST", body)
        assert status in (200, 201), (status, answer)
        self.token = answer["token"]

    def start_server(self) -> float:
        """Start her server (if it is not running) and wait until it answers: seconds."""
        started = time.monotonic()
        call(f"{self.base_url}/hub/api/users/{self.name}/server", "POST", {}, self.token)
        while time.monotonic() < started + SERVER_WAIT_SECONDS:
            status, _ = self.contents("GET", "")
            if status == 200:
                return time.monotonic() - started
            time.sleep(1)
        pytest.fail(f"{self.name}'s server did not answer in {SERVER_WAIT_SECONDS} s")

    def contents(self, method: str, path: str, body: dict | None = None):
        url = f"{self.base_url}/user/{self.name}/api/contents/{path}"
        return call(url, method, body, self.token)

    def put_text(self, path: str, text: str):
        return self.contents("PUT", path, {"type": "file", "format": "text", "content": text})


@pytest.fixture(scope="module")
def ta(base_url) -> Person:
    person = Person(base_url, "ta", TA_PASSWORD)
    print(f"FIGURE datasets: ta's server answered {person.start_server():.1f} s after the start")
    return person


@pytest.fixture(scope="module")
def teacher(base_url, plugin_install) -> Person:
    person = Person(base_url, "teacher", plugin_install.passwords["teacher"])
    person.start_server()
    return person


@pytest.fixture(scope="module")
def cara(base_url, plugin_install) -> Person:
    person = Person(base_url, STUDENT, plugin_install.passwords[STUDENT])
    person.start_server()
    return person


@pytest.fixture(scope="module")
def dora(machine, base_url) -> Person:
    host_args = ["--host", f"root@{machine.spec.address}", "--ssh-key", str(machine.spec.ssh_key)]
    output = hubctl(
        "users", "add", OTHER_STUDENT, "--course", "cs101", *host_args, env=ssh_options_env(machine)
    ).stdout
    person = Person(base_url, OTHER_STUDENT, output.split("password: ")[1].split()[0])
    person.start_server()
    return person


@pytest.fixture(scope="module")
def math2_written(ta) -> tuple[int, object]:
    return ta.put_text(f"datasets/math2/{MATH2_FILE}", MATH2_TEXT)


@pytest.fixture(scope="module")
def cs101_written(teacher) -> tuple[int, object]:
    return teacher.put_text(f"datasets/cs101/{CS101_FILE}", CS101_TEXT)


# The folders the role made


@pytest.mark.parametrize("course", ["math2", "cs101"])
def test_each_course_has_its_dataset_folder(machine, plugin_install, course):
    stat = guest_output(machine, f"stat -c '%U %G %a' {DATASETS}/{course}")
    assert stat == f"root hubctl-{course} 2770"


def test_the_folder_acl_lets_students_read_and_writers_write(machine, plugin_install):
    acl = guest_output(machine, f"getfacl --omit-header --absolute-names {DATASETS}/math2")
    entries = [
        "user::rwx",
        "user:grader-math2:r-x",  # the formgrader's account: autograding reads the data
        "group::r-x",
        "group:hubctl-math2+:rwx",
        "mask::rwx",
        "other::---",
    ]
    assert acl.splitlines() == [*entries, *(f"default:{entry}" for entry in entries)]


# The instructors write


def test_the_instructor_finds_the_dataset_in_her_home(ta):
    status, model = ta.contents("GET", "datasets")
    assert status == 200
    assert [(item["name"], item["type"]) for item in model["content"]] == [("math2", "directory")]


def test_the_instructor_writes_the_dataset_from_her_server(math2_written):
    status, model = math2_written
    assert status in (200, 201), model
    assert model["path"] == f"datasets/math2/{MATH2_FILE}"


def test_the_instructor_is_a_writer_of_her_course_only(machine, math2_written):
    assert "ta" in guest_output(machine, "getent group hubctl-math2+").split(":")[3].split(",")
    assert "ta" not in guest_output(machine, "getent group hubctl-cs101+").split(":")[3].split(",")


def test_a_sandboxed_instructor_writes_through_her_servers_read_write_path(machine, cs101_written):
    status, model = cs101_written
    assert status in (200, 201), model
    paths = guest_output(
        machine, "systemctl show -p ReadWritePaths --value jupyter-teacher-singleuser"
    )
    assert f"{DATASETS}/cs101" in paths.split()
    protect = guest_output(
        machine, "systemctl show -p ProtectSystem --value jupyter-teacher-singleuser"
    )
    assert protect == "strict"


def effective_rights(getfacl_output: str) -> dict[str, str]:
    """{entry: rights} from `getfacl --omit-header`, after the mask ("#effective:...")."""
    rights = {}
    for line in getfacl_output.splitlines():
        entry, _, effective = line.partition("#effective:")
        tag, _, perms = entry.strip().rpartition(":")
        rights[tag] = effective.strip() or perms
    return rights


def test_what_the_instructor_wrote_is_readable_by_the_course_only(machine, math2_written):
    acl = guest_output(machine, f"getfacl --omit-header {DATASETS}/math2/{MATH2_FILE}")
    assert effective_rights(acl) == {
        "user:": "rw-",
        "user:grader-math2": "r--",
        "group:": "r--",  # the students (the folder's group, set-group-ID)
        "group:hubctl-math2+": "rw-",
        "mask:": "rw-",
        "other:": "---",
    }
    assert guest_output(machine, f"stat -c %G {DATASETS}/math2/{MATH2_FILE}") == "hubctl-math2"


# The students read


def test_the_student_sees_the_file_under_the_link_in_her_home(cara, math2_written):
    status, model = cara.contents("GET", f"datasets/math2/{MATH2_FILE}")
    assert status == 200
    assert model["content"] == MATH2_TEXT


def test_the_students_link_is_hers_and_points_at_the_one_folder(machine, cara):
    link = guest_output(machine, f"stat -c '%F %U' /home/{STUDENT}/datasets/math2")
    assert link == f"symbolic link {STUDENT}"
    assert guest_output(machine, f"readlink /home/{STUDENT}/datasets/math2") == f"{DATASETS}/math2"


def test_the_file_is_on_disk_once(machine, cara, math2_written):
    inode_via_link = guest_output(
        machine, f"stat -L -c %i /home/{STUDENT}/datasets/math2/{MATH2_FILE}"
    )
    assert inode_via_link == guest_output(machine, f"stat -c %i {DATASETS}/math2/{MATH2_FILE}")
    copies = guest_output(machine, f"find / -xdev -type f -name {MATH2_FILE} 2>/dev/null")
    assert copies.splitlines() == [f"{DATASETS}/math2/{MATH2_FILE}"]


def test_the_students_server_cannot_change_or_delete_the_file(machine, cara, math2_written):
    status, _ = cara.put_text(f"datasets/math2/{MATH2_FILE}", "name,grade\ncara,1.0\n")
    assert status >= 400
    status, _ = cara.put_text("datasets/math2/mine.txt", "x")
    assert status >= 400
    status, _ = cara.contents("DELETE", f"datasets/math2/{MATH2_FILE}")
    assert status >= 400
    assert guest_output(machine, f"cat {DATASETS}/math2/{MATH2_FILE}") == MATH2_TEXT.strip()
    assert guest_run(machine, f"test -e {DATASETS}/math2/mine.txt").returncode != 0


@pytest.mark.parametrize(
    "command", [f"sh -c 'echo x > {DATASETS}/math2/{MATH2_FILE}'", f"rm -f {DATASETS}/math2/{MATH2_FILE}",
                f"touch {DATASETS}/math2/new"],
)  # fmt: skip
def test_the_student_cannot_write_even_outside_her_servers_sandbox(machine, math2_written, command):
    result = guest_run(machine, f"runuser -u {STUDENT} -- {command}")
    assert result.returncode != 0
    assert "Permission denied" in result.stderr


def test_the_student_reads_it_from_a_kernel_and_sees_it_in_her_file_browser(
    base_url, plugin_install, math2_written, tmp_path
):
    code = (
        "import os\n"
        f"path = 'datasets/math2/{MATH2_FILE}'\n"
        "print(repr(open(path).read()))\n"
        "for attempt in (lambda: open(path, 'a').write('x'), lambda: os.remove(path)):\n"
        "    try:\n"
        "        attempt()\n"
        "        print('allowed')\n"
        "    except OSError as error:\n"
        "        print(type(error).__name__)\n"
    )
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            _, page = new_person(browser)
            log_in(page, base_url, STUDENT, plugin_install.passwords[STUDENT])
            try:
                open_lab(page, base_url, STUDENT)
                output = run_cell(page, code)
                page.goto(f"{base_url}/user/{STUDENT}/lab/tree/datasets/math2")
                listing = page.locator(".jp-DirListing-content")
                listing.get_by_text(MATH2_FILE, exact=True).wait_for(timeout=60_000)
                breadcrumbs = page.locator(".jp-BreadCrumbs").inner_text()
            except Exception:  # the guest goes with the module: keep what the student saw
                shot = tmp_path / "student.png"
                page.screenshot(path=str(shot))
                print(f"student's page at {page.url}, screenshot {shot}")
                raise
        finally:
            browser.close()
    lines = output.splitlines()
    assert lines[0] == repr(MATH2_TEXT)
    assert all(line in ("PermissionError", "OSError") for line in lines[1:]), lines
    assert len(lines) == 3
    assert re.search(r"datasets\s*/\s*math2", breadcrumbs), breadcrumbs


# The course's formgrader


def test_the_courses_formgrader_reads_the_file_in_its_sandbox(machine, math2_written):
    # nbgrader reads the course's files in the formgrader's unit, as the grader account.
    pid = guest_output(machine, "systemctl show -p MainPID --value hubctl-formgrader@math2")
    ids = guest_output(machine, "id -u grader-math2; id -g grader-math2").split()
    read = f"nsenter -t {pid} -m -S {ids[0]} -G {ids[1]} -- cat {DATASETS}/math2/{MATH2_FILE}"
    assert guest_output(machine, read) + "\n" == MATH2_TEXT


# What math2's formgrader runs to execute a notebook (nbgrader's Execute, in the grading
# sandbox): one kernel of the grading kernel spec, as the grader account with its settings.
GRADING_KERNEL_SCRIPT = """
import sys
from jupyter_client.manager import KernelManager
km = KernelManager(kernel_name="hubctl-grading", transport="ipc",
                   ip="/run/hubctl-grading/math2/kernel")
import os
work = "/srv/nbgrader/courses/math2/source/dataset-check"
os.makedirs(work, exist_ok=True)
km.start_kernel(cwd=work)
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=120)
out = []
kc.execute_interactive(sys.stdin.read(), timeout=60,
                       output_hook=lambda m: out.append(m["content"].get("text", "")))
km.shutdown_kernel()
sys.stdout.write("".join(out))
"""


def run_in_grading_kernel(machine, code: str) -> str:
    env = (
        "HOME=/srv/nbgrader/courses/math2 JUPYTER_CONFIG_PATH=/opt/hubctl/lib/jupyter-profiles/"
        "formgrader JUPYTER_PATH=/opt/hubctl/lib/jupyter-profiles/formgrader"
        " JUPYTER_RUNTIME_DIR=/run/hubctl-grading/math2"
    )
    argv = ["sh", "-c", f"cd /srv/nbgrader/courses/math2 && runuser -u grader-math2 -- env {env}"
            f" /opt/hubctl/user/bin/python3 -c '{GRADING_KERNEL_SCRIPT}'"]  # fmt: skip
    return machine.run(argv, input=code, timeout=300).stdout


def test_a_notebook_autograded_in_the_grading_sandbox_reads_its_courses_dataset_only(
    machine, math2_written, cs101_written
):
    code = (
        "import os\n"
        f"print(open('{DATASETS}/math2/{MATH2_FILE}').read(), end='')\n"
        f"print(os.path.exists('{DATASETS}/cs101/{CS101_FILE}'))\n"
    )
    assert run_in_grading_kernel(machine, code) == MATH2_TEXT + "False\n"


def test_another_courses_formgrader_cannot_read_it(machine, math2_written):
    result = guest_run(machine, f"runuser -u grader-cs101 -- cat {DATASETS}/math2/{MATH2_FILE}")
    assert "Permission denied" in result.stderr


# Another course's student


def test_a_student_of_another_course_sees_only_her_courses_dataset(dora, cs101_written):
    status, model = dora.contents("GET", "datasets")
    assert status == 200
    assert [item["name"] for item in model["content"]] == ["cs101"]
    status, model = dora.contents("GET", f"datasets/cs101/{CS101_FILE}")
    assert (status, model["content"]) == (200, CS101_TEXT)


@pytest.mark.parametrize("command", [f"cat {DATASETS}/math2/{MATH2_FILE}", f"ls {DATASETS}/math2"])
def test_a_student_of_another_course_cannot_read_math2s(machine, dora, math2_written, command):
    result = guest_run(machine, f"runuser -u {OTHER_STUDENT} -- {command}")
    assert result.returncode != 0
    assert "Permission denied" in result.stderr
