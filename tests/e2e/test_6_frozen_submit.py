"""A handed-in submission is frozen: once `nbgrader submit` returns, its student can change
nothing in it, nothing in it leads the grader outside it, and its time is the hub's.

Cara (math2) submits as herself, her first submit from inside a sandbox like her server's
(read-only /run, where the receiver's socket is), then tries what a student would: change,
replace, add, remove and re-link her handed-in files, plant a submission-named link or folder
in inbound, rewrite timestamp.txt, rename her submission to an earlier time; before and after
the due date. She also hands in a staging folder she made herself, full of links, a FIFO and
a hard link, straight to the receiver's socket. The grader then collects what was handed in.
Last, `hubctl install` freezes a submission an older hubctl left to its student.

Tests run in file order and build on each other.
"""

import json
import re
from datetime import UTC, datetime

import nbgrader_vm
import pytest
from conftest import run_install

from hubctl.layout import SUBMIT_SOCKET

COURSE, STUDENT, OTHER = "math2", "cara", "freya"  # freya: made here with `hubctl users add`
ON_TIME, LATE, OLD = "frozen1", "frozen2", "frozen3"  # due in 2099, due in 2020, old-style
COURSE_DIR = f"/srv/nbgrader/courses/{COURSE}"
EXCHANGE = f"/srv/nbgrader/exchange/{COURSE}"
INBOUND = f"{EXCHANGE}/inbound"
STAGING = f"{EXCHANGE}/staging"
GRADEBOOK = f"{COURSE_DIR}/gradebook.db"
PROFILES, NBGRADER = nbgrader_vm.PROFILES, nbgrader_vm.NBGRADER
NOTEBOOK = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
GRADER = f"grader-{COURSE}"
WHEN = "%Y-%m-%d %H:%M:%S.%f %Z"


def as_grader(guest, *args: str, check: bool = True):
    return nbgrader_vm.as_grader(guest, COURSE, *args, check=check)


def as_student(guest, *args: str, user: str = STUDENT, check: bool = True):
    return nbgrader_vm.as_student(guest, user, *args, check=check)


def in_her_sandbox(guest, *args: str):
    """As Cara under her server's systemd sandbox (hubctl.hub.settings.SERVER_SANDBOX, and
    SystemdSpawner's isolate_tmp and isolate_devices)."""
    from hubctl.hub.settings import SERVER_SANDBOX

    properties = [f"--property={key}={value.replace('{USERNAME}', STUDENT)}"
                  for key, value in SERVER_SANDBOX.items()]  # fmt: skip
    return guest.run([
        "systemd-run", "--wait", "--pipe", "--quiet", f"--uid={STUDENT}",
        f"--working-directory=/home/{STUDENT}", f"--setenv=HOME=/home/{STUDENT}",
        f"--setenv=JUPYTER_CONFIG_PATH={PROFILES}/student", "--property=NoNewPrivileges=yes",
        "--property=PrivateTmp=yes", "--property=PrivateDevices=yes",
        *properties, *args,
    ], check=False)  # fmt: skip


def submissions(guest, assignment: str, student: str = STUDENT) -> list[str]:
    names = guest.run(["ls", "-A", INBOUND]).stdout.split("\n")[:-1]
    return sorted(name for name in names if name.startswith(f"{student}+{assignment}+"))


def stamp_of(name: str) -> datetime:
    return datetime.strptime(
        name.split("+")[2].replace(" UTC", " +0000"), "%Y-%m-%d %H:%M:%S.%f %z"
    )


def guest_now(guest) -> datetime:
    return datetime.fromtimestamp(float(guest.run(["date", "+%s.%N"]).stdout), UTC)


@pytest.fixture(scope="module")
def released(guest, installed, cli):
    cli("users", "add", OTHER, "--course", COURSE)
    for assignment, due in (
        (ON_TIME, "2099-01-01 00:00:00 UTC"),
        (LATE, "2020-01-01 00:00:00 UTC"),
    ):
        as_grader(guest, "sh", "-c", f"mkdir -p source/{assignment} && echo '{NOTEBOOK}' >"
                                     f" source/{assignment}/{assignment}.ipynb")  # fmt: skip
        as_grader(guest, NBGRADER, "db", "assignment", "add", assignment, f"--duedate={due}")
        as_grader(guest, NBGRADER, "generate_assignment", assignment, "--force")
        as_grader(guest, NBGRADER, "release_assignment", assignment, "--force")
        as_student(guest, NBGRADER, "fetch_assignment", assignment, "--course", COURSE)
        as_student(guest, "sh", "-c", f"echo handed in > {assignment}/answer.txt")
    as_student(guest, "sh", "-c", "echo freya-only > diary.txt", user=OTHER)
    return guest


@pytest.fixture(scope="module")
def first(released):
    """Cara's on-time submit, from inside her server's sandbox: (result, before, after)."""
    before = guest_now(released)
    result = in_her_sandbox(released, NBGRADER, "submit", ON_TIME, "--course", COURSE)
    return result, before, guest_now(released)


def test_a_submit_from_her_server_s_sandbox_is_handed_in(released, first):
    result, _, _ = first
    assert result.returncode == 0, result.stderr
    assert len(submissions(released, ON_TIME)) == 1


def test_the_submission_is_the_grader_s_alone(released, first):
    (name,) = submissions(released, ON_TIME)
    listing = released.run(["sh", "-c", f"cd '{INBOUND}/{name}' && stat -c '%U %a %n' . *"])
    assert listing.stdout.split("\n")[:-1] == [
        f"{GRADER} 700 .",
        f"{GRADER} 600 answer.txt",
        f"{GRADER} 600 {ON_TIME}.ipynb",
        f"{GRADER} 600 submission_secret.txt",
        f"{GRADER} 600 timestamp.txt",
    ]


def test_its_time_is_when_the_hub_received_it(released, first):
    _, before, after = first
    (name,) = submissions(released, ON_TIME)
    written = released.run(["cat", f"{INBOUND}/{name}/timestamp.txt"]).stdout
    assert written == name.split("+")[2]
    assert before <= stamp_of(name) <= after


def test_her_own_listing_and_feedback_key_match_the_handed_in_submission(released, first):
    (name,) = submissions(released, ON_TIME)
    timestamp = name.split("+")[2]
    cache = f"/home/{STUDENT}/.local/share/jupyter/nbgrader_cache/{COURSE}/{STUDENT}+{ON_TIME}+{timestamp}"
    assert released.run(["cat", f"{cache}/timestamp.txt"]).stdout == timestamp
    secret = released.run(["cat", f"{INBOUND}/{name}/submission_secret.txt"]).stdout
    assert released.run(["cat", f"{cache}/submission_secret.txt"]).stdout == secret
    listed = as_student(released, NBGRADER, "list", "--cached", "--course", COURSE)
    assert f"{COURSE} {STUDENT} {ON_TIME} {timestamp}" in listed.stderr


def test_a_late_submit_is_handed_in_too(released, first):
    as_student(released, NBGRADER, "submit", LATE, "--course", COURSE)
    assert len(submissions(released, LATE)) == 1


ATTACKS = {
    "change a file": "echo changed > '{sub}/answer.txt'",
    "replace a file": "echo changed > /tmp/a && mv /tmp/a '{sub}/answer.txt'",
    "remove a file": "rm -f '{sub}/answer.txt'",
    "add a file": "echo extra > '{sub}/extra.txt'",
    "add a symlink to the gradebook": "ln -s {gradebook} '{sub}/gradebook.db'",
    "replace a file by a symlink to another student's file":
        "ln -sf /home/{other}/diary.txt '{sub}/answer.txt'",
    "add a hard link": "echo mine > x && ln x '{sub}/hard.txt'",
    "add a FIFO": "mkfifo '{sub}/pipe'",
    "rewrite timestamp.txt": "echo '2020-01-01 00:00:00.000000 UTC' > '{sub}/timestamp.txt'",
    "chmod it": "chmod -R 777 '{sub}'",
    "chown it": "chown -R {student} '{sub}'",
    "rename it to an earlier time":
        "mv '{sub}' '{inbound}/{student}+{assignment}+2020-01-01 00:00:00.000000 UTC+x'",
    "remove it": "rm -rf '{sub}'",
    "plant a submission-named link in inbound":
        "ln -s {course_dir}/source/{assignment} '{inbound}/{student}+{assignment}+2099-01-01 00:00:00.000000 UTC+x'",
    "plant a submission-named folder in inbound":
        "mkdir '{inbound}/{student}+{assignment}+2099-01-01 00:00:00.000000 UTC+x'",
    "list inbound": "ls {inbound}",
}  # fmt: skip


@pytest.mark.parametrize("assignment", [ON_TIME, LATE], ids=["before the due date", "after it"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_after_submit_she_cannot(released, first, assignment, attack):
    (name,) = submissions(released, assignment)
    command = ATTACKS[attack].format(
        sub=f"{INBOUND}/{name}", inbound=INBOUND, gradebook=GRADEBOOK, other=OTHER,
        student=STUDENT, assignment=assignment, course_dir=COURSE_DIR,
    )  # fmt: skip
    result = as_student(released, "sh", "-c", command, check=False)
    print(f"ATTACK {attack} ({assignment}): rc={result.returncode} {result.stderr.strip()}")
    assert result.returncode != 0, f"{STUDENT} could: {command}"
    assert "Permission denied" in result.stderr or "Operation not permitted" in result.stderr
    assert submissions(released, assignment) == [name]


def test_collect_takes_what_was_handed_in(released, first):
    as_grader(released, NBGRADER, "collect", ON_TIME)
    folder = f"{COURSE_DIR}/submitted/{STUDENT}/{ON_TIME}"
    assert released.run(["ls", "-A", folder]).stdout.split() == [
        "answer.txt", f"{ON_TIME}.ipynb", "submission_secret.txt", "timestamp.txt"
    ]  # fmt: skip
    assert released.run(["cat", f"{folder}/answer.txt"]).stdout == "handed in\n"
    (name,) = submissions(released, ON_TIME)
    assert released.run(["cat", f"{folder}/timestamp.txt"]).stdout == name.split("+")[2]


def test_late_stays_late(released, first):
    as_grader(released, NBGRADER, "collect", LATE)
    as_grader(released, NBGRADER, "autograde", LATE, "--student", STUDENT)
    script = (
        "from nbgrader.api import Gradebook\n"
        f"with Gradebook('sqlite:///{GRADEBOOK}', '{COURSE}') as gb:\n"
        f"    print(gb.find_submission('{LATE}', '{STUDENT}').total_seconds_late)\n"
    )
    late = as_grader(released, "/opt/hubctl/user/bin/python3", "-c", script).stdout
    (name,) = submissions(released, LATE)
    due = datetime(2020, 1, 1, tzinfo=UTC)
    assert float(late) == pytest.approx((stamp_of(name) - due).total_seconds(), abs=1)


def test_a_second_submit_is_a_new_submission(released, first):
    (old,) = submissions(released, ON_TIME)
    as_student(released, "sh", "-c", f"echo second try > {ON_TIME}/answer.txt")
    as_student(released, NBGRADER, "submit", ON_TIME, "--course", COURSE)
    names = submissions(released, ON_TIME)
    assert len(names) == 2 and old in names
    (new,) = set(names) - {old}
    assert stamp_of(new) > stamp_of(old)
    answer = released.run(["cat", f"{INBOUND}/{new}/answer.txt"]).stdout
    assert answer == "second try\n"


def test_she_cannot_submit_as_another_student(released, first):
    before = submissions(released, ON_TIME, OTHER)
    as_student(released, NBGRADER, "submit", ON_TIME, "--course", COURSE, "--student", OTHER)
    assert submissions(released, ON_TIME, OTHER) == before == []


def test_links_in_her_folder_hand_in_only_what_she_can_read(released, first):
    """nbgrader's own copy (as her) follows links in her assignment folder: a link to her
    own file hands in its content; a link to the gradebook cannot be read, so nothing is
    handed in."""
    count = len(submissions(released, ON_TIME))
    as_student(released, "sh", "-c", f"echo note > note.txt && ln -s ../note.txt {ON_TIME}/note"
                                     f" && ln note.txt {ON_TIME}/hard.txt")  # fmt: skip
    as_student(released, NBGRADER, "submit", ON_TIME, "--course", COURSE)
    newest = submissions(released, ON_TIME)[-1]
    files = released.run(
        ["sh", "-c", f"cd '{INBOUND}/{newest}' && stat -c '%F %h %n' note hard.txt"]
    )
    assert files.stdout.split("\n")[:-1] == ["regular file 1 note", "regular file 1 hard.txt"]
    as_student(released, "ln", "-s", GRADEBOOK, f"{ON_TIME}/gradebook.db")
    result = as_student(released, NBGRADER, "submit", ON_TIME, "--course", COURSE, check=False)
    as_student(released, "rm", f"{ON_TIME}/gradebook.db", f"{ON_TIME}/note", f"{ON_TIME}/hard.txt")
    assert result.returncode != 0
    assert len(submissions(released, ON_TIME)) == count + 1
    assert released.run(["ls", "-A", STAGING]).stdout == ""


SEND = f"""
import json, socket, sys
connection = socket.socket(socket.AF_UNIX)
connection.connect("{SUBMIT_SOCKET}")
request = {{"course": "{COURSE}", "assignment": "{ON_TIME}", "staging": sys.argv[1]}}
connection.sendall(json.dumps(request).encode() + b"\\n")
print(connection.makefile().readline())
"""
HAND_MADE = f"""
import os
os.makedirs("{STAGING}/.submitting-handmade/submission/sub")
os.chdir("{STAGING}/.submitting-handmade/submission")
open("notes.txt", "w").write("kept")
open("answer.txt", "w").write("mine")
open("timestamp.txt", "w").write("2020-01-01 00:00:00.000000 UTC")
os.symlink("{GRADEBOOK}", "gradebook.db")
os.symlink("/home/{OTHER}/diary.txt", "diary.txt")
os.symlink("/etc", "sub/etc")
os.link("answer.txt", "sub/hard.txt")
os.mkfifo("pipe")
"""


def send(guest, staging: str, user: str = STUDENT) -> dict:
    """Ask the receiver directly, as `user`, to take `staging`, as a student's own script could."""
    return json.loads(as_student(guest, "python3", "-c", SEND, staging, user=user).stdout)


def test_a_hand_made_staging_folder_hands_in_only_her_regular_files(released, first):
    as_student(released, "python3", "-c", HAND_MADE)
    answer = send(released, ".submitting-handmade")
    as_student(released, "rm", "-rf", f"{STAGING}/.submitting-handmade")
    print(f"ATTACK hand-made staging folder: {answer}")
    # answer.txt and sub/hard.txt are one file with two links: neither is taken
    assert sorted(answer["skipped"]) == [
        "answer.txt", "diary.txt", "gradebook.db", "pipe", "sub/etc", "sub/hard.txt", "timestamp.txt"
    ]  # fmt: skip
    folder = f"{INBOUND}/{answer['name']}"
    listing = released.run(["sh", "-c", f"cd '{folder}' && find . | sort"]).stdout.split()
    assert listing == [".", "./notes.txt", "./sub", "./timestamp.txt"]
    assert released.run(["cat", f"{folder}/notes.txt"]).stdout == "kept"
    assert released.run(["cat", f"{folder}/timestamp.txt"]).stdout == answer["timestamp"]
    assert answer["name"].startswith(f"{STUDENT}+{ON_TIME}+{answer['timestamp']}+")


def test_the_receiver_refuses_another_student_s_staging_folder(released, first):
    as_student(released, "mkdir", "-p", f"{STAGING}/.submitting-freyas/submission", user=OTHER)
    answer = send(released, ".submitting-freyas")
    as_student(released, "rm", "-rf", f"{STAGING}/.submitting-freyas", user=OTHER)
    assert answer == {"error": "the staged submission is not a folder of yours"}


@pytest.fixture(scope="module")
def old_submission(released, installed, first):
    """What an older hubctl left: a folder of Cara's in inbound, with a link to the gradebook
    in it, and a submission-named link she planted beside it; then `hubctl install`."""
    name = f"{STUDENT}+{OLD}+2026-01-01 10:00:00.000000 UTC+old"
    planted = f"{STUDENT}+{OLD}+2026-01-02 10:00:00.000000 UTC+link"
    released.run(["sh", "-c", f"""set -e
        mkdir '{INBOUND}/{name}'
        echo old answer > '{INBOUND}/{name}/answer.txt'
        echo '2026-01-01 10:00:00.000000 UTC' > '{INBOUND}/{name}/timestamp.txt'
        ln -s {GRADEBOOK} '{INBOUND}/{name}/gradebook.db'
        chown -R -h {STUDENT}: '{INBOUND}/{name}'
        ln -s {COURSE_DIR}/source '{INBOUND}/{planted}'
    """])  # fmt: skip
    return name, planted, run_install(released, installed.config_path)


def test_install_freezes_an_older_hubctl_s_submission(released, old_submission):
    name, planted, _ = old_submission
    listing = released.run(["sh", "-c", f"cd '{INBOUND}/{name}' && stat -c '%U %a %n' . *"])
    assert listing.stdout.split("\n")[:-1] == [
        f"{GRADER} 700 .", f"{GRADER} 600 answer.txt", f"{GRADER} 600 timestamp.txt"
    ]  # fmt: skip
    assert released.run(["cat", f"{INBOUND}/{name}/answer.txt"]).stdout == "old answer\n"
    assert submissions(released, OLD) == [name]  # the planted link is gone
    assert planted not in released.run(["ls", "-A", INBOUND]).stdout


def test_the_install_reports_the_freeze_as_a_change(old_submission):
    _, _, install = old_submission
    assert re.search(r"^changed +Give the submissions an older hubctl left", install.stderr, re.M)


def test_a_second_freeze_has_nothing_to_do(released, old_submission):
    """What the install's task runs: nothing changed, so a re-run reports changed=0
    (test_3_rerun.py runs the whole install again)."""
    argv = ["/opt/hubctl/hub/bin/python3", "-m", "hubctl.nbgrader.receiver", "freeze", COURSE]
    assert json.loads(released.run(argv).stdout) == {"changed": []}


def test_the_frozen_old_submission_is_collected(released, old_submission):
    as_grader(released, NBGRADER, "collect", OLD)
    folder = f"{COURSE_DIR}/submitted/{STUDENT}/{OLD}"
    assert released.run(["ls", "-A", folder]).stdout.split() == ["answer.txt", "timestamp.txt"]
