"""Autograding runs students' code in the grading sandbox, tried as students who want a better
grade (or a worse one for the class) would: answers that read the solutions, the gradebook,
other submissions, homes and hubctl's secrets, write the gradebook, reach the network, and
runaway notebooks (memory bomb, fork bomb, a loop that ignores interrupts). Each is handed in
the way a student does (nbgrader submit as her own Linux user), collected and autograded
through the formgrader's API as the course's instructor, and must fail to do harm: the honest
student graded after them gets exactly nbgrader's score.

Course math2 of the shared hub (conftest.COURSES); its students here come from a roster.
"""

import json
import re
import urllib.request

import pytest
from conftest import TA_PASSWORD
from nbgrader_ui import SOURCE_NOTEBOOK
from nbgrader_vm import NBGRADER, as_grader, as_student

from hubctl import layout

COURSE, ASSIGNMENT = "math2", "sbx1"
COURSE_DIR = layout.course_dir(COURSE)
HONEST, PROBER, MEMORY_BOMB, FORK_BOMB, ENDLESS = "ivy", "jax", "kai", "lou", "moe"
# What each student's answer cell holds; every one also defines add() correctly after.
PROBE = r"""
import json, os, socket
probe = {}
def attempt(name, action):
    try:
        probe[name] = "DONE: " + repr(action())[:80]
    except BaseException as error:
        probe[name] = "DENIED: " + type(error).__name__
course = "/srv/nbgrader/courses/math2"
attempt("read the solutions", lambda: open(course + "/source/sbx1/sbx1.ipynb").read())
attempt("read the gradebook", lambda: open(course + "/gradebook.db", "rb").read(16))
attempt("write the gradebook", lambda: open(course + "/gradebook.db", "ab").write(b"x"))
attempt("list the submissions", lambda: os.listdir(course + "/submitted"))
attempt("list the autograded", lambda: os.listdir(course + "/autograded"))
attempt("list the exchange", lambda: os.listdir("/srv/nbgrader/exchange/math2/inbound"))
attempt("read a home", lambda: os.listdir("/home/ivy"))
attempt("read hubctl's secrets", lambda: os.listdir("/etc/hubctl/secrets"))
attempt("read the hub database", lambda: open("/var/lib/hubctl/jupyterhub.sqlite", "rb").read(16))
attempt("reach the hub", lambda: socket.create_connection(("127.0.0.1", 8081), timeout=3))
attempt("reach the host", lambda: socket.create_connection(("HOST", 22), timeout=3))
print("PROBE" + json.dumps({"uid": os.getuid(), "cwd": os.getcwd(), **probe}))
"""
ANSWERS = {
    # the release's data file is there to read, and the work folder takes a file
    HONEST: "assert open('data.txt').read() == '42'\nopen('out.txt', 'w').write('x')\n",
    PROBER: PROBE,
    MEMORY_BOMB: "hog = b'x' * (2 * 1024**3)\n",
    FORK_BOMB: "import os\nwhile True:\n    os.fork()\n",
    ENDLESS: "while True:\n    try:\n        pass\n    except KeyboardInterrupt:\n        pass\n",
}
CORRECT = "def add(a, b):\n    return a + b\n"
STUDENTS = list(ANSWERS)


def instructor_token(hub_url: str, name: str, password: str) -> str:
    """A token of a course's instructor for its formgrader, asked for with her password."""
    body = {
        "auth": {"username": name, "password": password},
        "scopes": [f"access:services!service={COURSE}"],
        "expires_in": 3600,
    }
    request = urllib.request.Request(
        f"{hub_url}/hub/api/users/{name}/tokens", method="POST", data=json.dumps(body).encode()
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["token"]


def formgrader(guest, token: str, path: str) -> dict:
    """POST to the formgrader's API (a grader's action), from the test host."""
    url = f"http://{guest.spec.address}/services/{COURSE}/formgrader/api/{path}"
    request = urllib.request.Request(
        url, method="POST", data=b"", headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def submitted(guest, installed, cli, tmp_path_factory):
    """Each student's answer handed in (sbx1: the test notebook plus a data file)."""
    roster = tmp_path_factory.mktemp("sandbox") / "roster.csv"
    roster.write_text("username\n" + "\n".join(STUDENTS) + "\n")
    cli("users", "import", str(roster), "--course", COURSE)
    grader = layout.grader_account(COURSE)
    source = f"{COURSE_DIR}/source/{ASSIGNMENT}"
    guest.run(["install", "-d", "-o", grader, "-g", grader, f"{COURSE_DIR}/source", source])
    guest.run(["tee", f"{source}/{ASSIGNMENT}.ipynb"], input=json.dumps(SOURCE_NOTEBOOK))
    guest.run(["tee", f"{source}/data.txt"], input="42")
    guest.run(["chown", "-R", grader, source])
    for step in ("generate_assignment", "release_assignment"):
        as_grader(guest, COURSE, NBGRADER, step, ASSIGNMENT, "--force")
    host_ip = guest.spec.address.rsplit(".", 1)[0] + ".1"
    for student, answer in ANSWERS.items():
        as_student(guest, student, NBGRADER, "fetch_assignment", ASSIGNMENT, "--course", COURSE)
        path = f"/home/{student}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        notebook = json.loads(guest.run(["cat", path]).stdout)
        notebook["cells"][0]["source"] = answer.replace("HOST", host_ip) + CORRECT
        guest.run(["runuser", "-u", student, "--", "tee", path], input=json.dumps(notebook))
        as_student(guest, student, NBGRADER, "submit", ASSIGNMENT, "--course", COURSE)
    return guest


@pytest.fixture(scope="module")
def autograded(submitted, hub_url):
    """The formgrader's answer to collect, then to autograde each student, runaways first,
    asked for by math2's instructor through its API."""
    token = instructor_token(hub_url, "ta", TA_PASSWORD)
    answers = {"collect": formgrader(submitted, token, f"assignment/{ASSIGNMENT}/collect")}
    for student in [MEMORY_BOMB, FORK_BOMB, ENDLESS, PROBER, HONEST]:
        answers[student] = formgrader(
            submitted, token, f"submission/{ASSIGNMENT}/{student}/autograde"
        )
    return answers


def score(guest, student: str) -> str:
    query = (
        "SELECT SUM(grade.auto_score) FROM grade"
        " JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id"
        " JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id"
        f" WHERE submitted_assignment.student_id = '{student}'"
    )
    return guest.run(["sqlite3", f"{COURSE_DIR}/gradebook.db", query]).stdout.strip()


def outputs_of(guest, student: str) -> str:
    path = f"{COURSE_DIR}/autograded/{student}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    notebook = json.loads(guest.run(["cat", path]).stdout)
    return json.dumps(notebook["cells"][0].get("outputs", []))


def probe_results(guest) -> dict:
    found = re.search(r"PROBE(\{.*?\})\\n", outputs_of(guest, PROBER))
    assert found, outputs_of(guest, PROBER)
    return json.loads(found[1].replace('\\"', '"'))


def test_every_submission_is_collected(autograded):
    assert autograded["collect"]["success"], autograded["collect"]


def test_the_honest_student_is_graded_right_after_the_runaways(autograded, submitted):
    assert autograded[HONEST]["success"], autograded[HONEST]["log"]
    assert score(submitted, HONEST) == "1.0"


@pytest.mark.parametrize(
    "attempt",
    [
        "read the solutions", "read the gradebook", "write the gradebook",
        "list the submissions", "list the autograded", "list the exchange", "read a home",
        "read hubctl's secrets", "read the hub database", "reach the hub", "reach the host",
    ],
)  # fmt: skip
def test_student_code_cannot(autograded, submitted, attempt):
    assert probe_results(submitted)[attempt].startswith("DENIED"), probe_results(submitted)


def test_student_code_runs_as_neither_the_student_nor_the_grader(autograded, submitted):
    uid = probe_results(submitted)["uid"]
    for account in (PROBER, layout.grader_account(COURSE), "root"):
        assert uid != int(submitted.run(["id", "-u", account]).stdout)


def test_the_probing_student_still_gets_nbgraders_score(autograded, submitted):
    assert score(submitted, PROBER) == "1.0"


@pytest.mark.parametrize("bomb", [MEMORY_BOMB, FORK_BOMB])
def test_a_bomb_fails_only_that_students_grading(autograded, bomb):
    """Her kernel dies at the memory or process limit of its unit (nbgrader says "Kernel
    died", or that it stopped answering on a loaded machine) and her grading fails alone."""
    answer = autograded[bomb]
    assert not answer["success"]
    said = f"There was an error processing assignment '{ASSIGNMENT}' for student '{bomb}'"
    assert said in answer.get("log", ""), answer
    print(answer["error"].strip().splitlines()[-1])


def test_an_endless_loop_is_stopped_and_graded(autograded, submitted):
    """nbgrader's per-cell timeout, then the interrupt the loop ignores: the formgrader's
    kernel manager gives up on the kernel and the broker stops its unit."""
    assert autograded[ENDLESS]["success"], autograded[ENDLESS]
    assert score(submitted, ENDLESS) == "0.0"


def test_no_grading_kernel_outlives_its_grading(autograded, submitted):
    units = submitted.run(["systemctl", "list-units", "--all", "--plain", "--no-legend",
                           f"{layout.GRADING_UNIT_PREFIX}*"]).stdout  # fmt: skip
    assert units.strip() == ""
    leftovers = submitted.run(["ls", "-A", "/var/lib/private"], check=False).stdout
    assert layout.GRADING_UNIT_PREFIX not in leftovers


def test_a_student_cannot_ask_the_broker_for_a_kernel(autograded, submitted):
    ask = (
        "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/hubctl-grading.sock');"
        " s.sendall(b'{}\\n'); print(s.makefile().readline())"
    )
    answer = submitted.run(
        ["runuser", "-u", HONEST, "--", f"{layout.USER_VENV}/bin/python3", "-c", ask]
    ).stdout
    assert "ivy is not a course's grader account" in answer
