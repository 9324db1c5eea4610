"""The disk full during a student's submit: she gets a clear error, nothing half-submitted is
left for collect, the hub keeps serving, and once space is freed her submit works.

The course's inbound folder is a small tmpfs (mounted in the guest over the real one, with
its owner and modes) that a filler file has almost filled. The student runs `nbgrader
submit` as herself with her JupyterLab's settings: the same exchange code as the Assignments
panel."""

import urllib.request

import nbgrader_vm
import pytest
from nbgrader_vm import NBGRADER

STUDENT, COURSE, ASSIGNMENT = "cara", "math2", "hw1"  # conftest COURSES: cara is in math2
COURSE_DIR = f"/srv/nbgrader/courses/{COURSE}"
INBOUND = f"/srv/nbgrader/exchange/{COURSE}/inbound"
NOTEBOOK = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def as_grader(guest, *args: str):
    return nbgrader_vm.as_grader(guest, COURSE, *args)


def as_student(guest, *args: str, check: bool = True):
    return nbgrader_vm.as_student(guest, STUDENT, *args, check=check)


def inbound(guest) -> list[str]:
    return guest.run(["ls", "-A", INBOUND]).stdout.split("\n")[:-1]


@pytest.fixture(scope="module")
def full_inbound(guest, installed):
    as_grader(guest, "sh", "-c", f"mkdir -p source/{ASSIGNMENT} && echo '{NOTEBOOK}' >"
                                 f" source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")  # fmt: skip
    as_grader(guest, NBGRADER, "generate_assignment", ASSIGNMENT, "--force")
    as_grader(guest, NBGRADER, "release_assignment", ASSIGNMENT, "--force")
    as_student(guest, NBGRADER, "fetch_assignment", ASSIGNMENT, "--course", COURSE)
    # 300 kB of work: more than the space left, so the copy fails half way
    as_student(guest, "sh", "-c", f"head -c 300000 /dev/urandom > {ASSIGNMENT}/data.bin")
    owner = guest.run(["stat", "-c", "uid=%u,gid=%g", INBOUND]).stdout.strip()
    guest.run(["mount", "-t", "tmpfs", "-o", f"size=1M,mode=3733,{owner}", "tmpfs", INBOUND])
    try:
        guest.run(["dd", "if=/dev/zero", f"of={INBOUND}/.filler", "bs=1k", "count=800"])
        yield guest
    finally:
        guest.run(["umount", INBOUND])


@pytest.fixture(scope="module")
def failed_submit(full_inbound):
    return as_student(full_inbound, NBGRADER, "submit", ASSIGNMENT, "--course", COURSE,
                      check=False)  # fmt: skip


def test_the_student_gets_a_clear_error(failed_submit):
    assert failed_submit.returncode == 1
    assert (
        "Not submitted: the course's disk is full. Nothing was handed in; tell your instructor,"
        " then submit again." in failed_submit.stderr
    )


def test_nothing_half_submitted_is_left(full_inbound, failed_submit):
    assert inbound(full_inbound) == [".filler"]


def test_the_hub_keeps_serving(hub_url, failed_submit):
    with urllib.request.urlopen(f"{hub_url}/hub/api/", timeout=10) as response:
        assert response.status == 200


def test_once_space_is_freed_the_submit_works_and_collect_takes_it(full_inbound, failed_submit):
    full_inbound.run(["rm", f"{INBOUND}/.filler"])
    as_student(full_inbound, NBGRADER, "submit", ASSIGNMENT, "--course", COURSE)
    (submission,) = inbound(full_inbound)
    assert submission.startswith(f"{STUDENT}+{ASSIGNMENT}+")
    collected = as_grader(full_inbound, NBGRADER, "collect", ASSIGNMENT)
    assert f"Collecting submission: {STUDENT} {ASSIGNMENT}" in collected.stderr
    size = full_inbound.run(
        ["stat", "-c", "%s", f"{COURSE_DIR}/submitted/{STUDENT}/{ASSIGNMENT}/data.bin"]
    )
    assert size.stdout.strip() == "300000"
