"""Collect and autograde N submissions of a small assignment, on a hub hubctl installed.

    sudo .venv/bin/python tests/bench/bench_grading.py [--students 60]

One fresh Debian 12 guest (systemd-nspawn); `hubctl install` with one course of N students
listed in hub.yaml. As the course's grader account: generate and release ps1 (one answer
cell, one autograded test). As each student's own Linux user: fetch, answer (half right,
half wrong), submit, two at a time. Then timed, as the grader: `nbgrader collect`, a
baseline: `nbgrader autograde` of every submission with a plain kernel (the grader account's
own, as nbgrader runs it unless hubctl says otherwise), then all of them again (--force) in
the grading sandbox, as the formgrader runs them. Prints each figure and the ratio, and checks
every score in the gradebook after each."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from hubctl import layout
from hubctl.sandbox.guest import HOST_CA_BUNDLE, Guest, GuestSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from nbgrader_ui import SOURCE_NOTEBOOK  # noqa: E402

COURSE = "cs101"
WORK = Path("/var/tmp/hubctl-bench")
COURSE_DIR = layout.course_dir(COURSE)
PROFILES = layout.JUPYTER_PROFILES_DIR
PLAIN, SANDBOXED = "autograde all, plain kernel (baseline)", "autograde all, grading sandbox"


def nbgrader_as(user: str, profile: str, workdir: str, command: str) -> str:
    """A shell line running nbgrader as `user` the way their Jupyter server would."""
    env = f"PATH={layout.USER_VENV}/bin:/usr/bin:/bin JUPYTER_CONFIG_PATH={PROFILES}/{profile}"
    if profile == "formgrader":  # the grading kernel, as the course's formgrader finds it
        env += f" JUPYTER_PATH={PROFILES}/{profile}"
        env += f" JUPYTER_RUNTIME_DIR={layout.grading_runtime_dir(COURSE)}"
    return f"cd {workdir} && runuser -u {user} -- env HOME={workdir} {env} {command}"


# As student $1, the way their server would: fetch ps1, answer `return $2`, submit.
SUBMIT_SCRIPT = f"""set -e
cd /home/$1
runuser -u $1 -- env HOME=/home/$1 PATH={layout.USER_VENV}/bin:/usr/bin:/bin \\
  JUPYTER_CONFIG_PATH={PROFILES}/student bash -c "set -e
    nbgrader fetch_assignment ps1 --course {COURSE} --log-level=ERROR
    sed -i 's/raise NotImplementedError()/return $2/' ps1/ps1.ipynb
    nbgrader submit ps1 --course {COURSE} --log-level=ERROR"
"""


def timed(guest: Guest, script: str) -> float:
    started = time.monotonic()
    guest.run(["bash", "-c", script], timeout=3600)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    count = parser.parse_args().students
    students = [f"s{number:03d}" for number in range(1, count + 1)]
    index = int(os.environ.get("HUBCTL_BENCH_INDEX", "243"))  # its guest's 10.77.INDEX.0/24
    spec = GuestSpec(name="benchgrade", state_dir=WORK / "benchgrade", index=index, ca_bundle=None)
    guest = Guest(spec)
    guest.destroy()
    guest.create()
    guest.boot()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "hub.yaml"
            config.write_text(yaml.safe_dump({
                "users": {"instructors": ["teacher"]},
                "network": {"http_proxy": spec.proxy_url, "ca_bundle": str(HOST_CA_BUNDLE)},
                "courses": [{"id": COURSE, "instructors": ["teacher"], "students": students}],
            }))  # fmt: skip
            argv = [sys.executable, "-m", "hubctl.cli", "install", "--config", str(config),
                    "--host", f"root@{spec.address}", "--ssh-key", str(spec.ssh_key)]  # fmt: skip
            env = {**os.environ, "ANSIBLE_SSH_COMMON_ARGS": " ".join(guest.ssh_options)}
            started = time.monotonic()
            subprocess.run(argv, check=True, env=env, capture_output=True)
            print(f"install with {count} students: {time.monotonic() - started:.1f}s")
        grader = layout.grader_account(COURSE)
        source = f"{COURSE_DIR}/source/ps1"
        guest.run(["install", "-d", "-o", grader, "-g", grader, f"{COURSE_DIR}/source", source])
        guest.run(["tee", f"{source}/ps1.ipynb"], input=json.dumps(SOURCE_NOTEBOOK))
        guest.run(["chown", grader, f"{source}/ps1.ipynb"])
        guest.run(["bash", "-c", nbgrader_as(grader, "formgrader", COURSE_DIR,
                   "sh -c 'nbgrader generate_assignment ps1 && nbgrader release_assignment ps1'")])  # fmt: skip
        guest.run(["tee", "/root/submit.sh"], input=SUBMIT_SCRIPT)
        pairs = "".join(
            f"{student} {'a+b' if index % 2 == 0 else 'a-b'}\n"
            for index, student in enumerate(students)
        )
        guest.run(["tee", "/root/students.txt"], input=pairs)
        seconds = timed(guest, "xargs -P 2 -L 1 bash /root/submit.sh < /root/students.txt")
        print(f"{count} students fetch and submit (2 at a time): {seconds:.1f}s")
        figures = {}
        for label, command in [
            ("collect", "nbgrader collect ps1"),
            (PLAIN, "nbgrader autograde ps1 --Execute.kernel_name=python3"),
            (SANDBOXED, "nbgrader autograde ps1 --force"),
        ]:
            figures[label] = timed(guest, nbgrader_as(grader, "formgrader", COURSE_DIR, command))
            print(f"{label}: {figures[label]:.1f}s ({figures[label] / count:.2f}s a submission)")
            if label != "collect":
                check_scores(guest, students)
        print(f"sandbox / plain: {figures[SANDBOXED] / figures[PLAIN]:.2f}x")
    finally:
        guest.destroy()


def check_scores(guest: Guest, students: list[str]) -> None:
    query = "SELECT student.id, SUM(grade.auto_score) FROM grade JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id JOIN student ON submitted_assignment.student_id = student.id GROUP BY student.id"
    rows = guest.run(["sqlite3", f"{COURSE_DIR}/gradebook.db", query]).stdout.split()
    scores = dict(row.split("|") for row in rows)
    expected = {
        student: "1.0" if index % 2 == 0 else "0.0" for index, student in enumerate(students)
    }
    print(f"gradebook: {len(scores)} graded, all as expected: {scores == expected}")


if __name__ == "__main__":
    main()
