"""`hubctl backup` while a student works, `hubctl status` showing its age, and `hubctl restore`
onto a fresh VM and onto the same VM: every user logs in with the same password and finds
their files (same owners, modes and ACLs), every gradebook has the same grades."""

import re
import stat
import tarfile

import pytest
from conftest import TA_PASSWORD, fresh_guest, hubctl, passwords_in, ssh_options_env, write_config
from hubhttp import HubSession

STUDENT = "cara"  # math2's student, whose account the install made (conftest COURSES)
MATH2_GRADEBOOK = "/srv/nbgrader/courses/math2/gradebook.db"  # cs101's exists once test_6 ran
HUB_DB = "/var/lib/hubctl/jupyterhub.sqlite"
ESSAY = f"/home/{STUDENT}/essay.txt"
WRITER = "hubctl-test-busy-student"
RUNTIME = "*/.local/share/jupyter/runtime"

START_SERVER = f"""
import time
from hubctl.hub.hubapi import HubApi
api = HubApi()
if not api.call("GET", "/users/{STUDENT}").get("server"):
    api.call("POST", "/users/{STUDENT}/server")
for _ in range(120):
    if api.call("GET", "/users/{STUDENT}").get("server"):
        break
    time.sleep(1)
else:
    raise SystemExit("the server did not start")
"""

GRADE = f"""
from nbgrader.api import Gradebook
with Gradebook("sqlite:///{MATH2_GRADEBOOK}", course_id="math2") as gb:
    gb.update_or_create_assignment("backup1")
    gb.update_or_create_notebook("essay", "backup1")
    gb.update_or_create_grade_cell("q1", "essay", "backup1", max_score=2, cell_type="code")
    gb.add_submission("backup1", "{STUDENT}")
    gb.find_grade("q1", "essay", "backup1", "{STUDENT}").manual_score = 1.5
    gb.db.commit()
"""


def shell(guest, command: str) -> str:
    return guest.run(["sh", "-c", command]).stdout


def state(guest) -> dict:
    """What a restore must give back, by name (uids may differ on another VM)."""
    # a Jupyter server's runtime files are not data: backups leave them out
    skip = f"\\( -path '*/busy.log' -o -path '{RUNTIME}' \\)"
    listing = f"find /home/{STUDENT} /srv/nbgrader {skip} -prune -o -printf '%p %u %g %m\\n'"
    acl_blocks = shell(guest, "getfacl -R -p /srv/nbgrader/exchange").strip().split("\n\n")
    return {
        "files": sorted(shell(guest, listing).splitlines()),
        "acls": sorted(acl_blocks),
        "gradebooks": [shell(guest, f"sqlite3 {path} .dump") for path in gradebooks(guest)],
        "accounts": shell(
            guest,
            f"sqlite3 {HUB_DB} 'SELECT username, password, is_authorized"
            " FROM users_info ORDER BY username'",
        ),  # fmt: skip
        "admins": shell(guest, f"sqlite3 {HUB_DB} 'SELECT name, admin FROM users ORDER BY name'"),
        "essay": shell(guest, f"cat {ESSAY}"),
    }


def gradebooks(guest) -> list[str]:
    return shell(guest, "ls /srv/nbgrader/courses/*/gradebook.db").split()


def integrity(guest) -> set[str]:
    return {shell(guest, f"sqlite3 {path} 'PRAGMA integrity_check'").strip()
            for path in (HUB_DB, *gradebooks(guest))}  # fmt: skip


def cli(guest, *args: str, check: bool = True):
    host_args = ["--host", f"root@{guest.spec.address}", "--ssh-key", str(guest.spec.ssh_key)]
    return hubctl(*args, *host_args, check=check, env=ssh_options_env(guest))


def logs_in(guest, name: str, password: str) -> bool:
    return HubSession(f"http://{guest.spec.address}").log_in(name, password) == 302


def busy_lines(guest) -> int:
    return int(shell(guest, f"wc -l < /home/{STUDENT}/busy.log"))


@pytest.fixture(scope="module")
def backed_up(guest, installed, tmp_path_factory):
    """A backup taken over SSH while the student's server runs and she writes a file."""
    guest.run(["/opt/hubctl/hub/bin/python3", "-c", START_SERVER])
    shell(guest, f"runuser -u {STUDENT} -- sh -c 'echo my essay > {ESSAY}'")
    guest.run(["runuser", "-u", "grader-math2", "--", "/opt/hubctl/user/bin/python3", "-c", GRADE])
    loop = f"while :; do date >> /home/{STUDENT}/busy.log; sleep 0.01; done"
    guest.run(["systemd-run", f"--unit={WRITER}", f"--uid={STUDENT}", "sh", "-c", loop])
    shell(guest, f"timeout 30 sh -c 'until [ -s /home/{STUDENT}/busy.log ]; do sleep 0.1; done'")
    lines_before = busy_lines(guest)
    folder = tmp_path_factory.mktemp("backup")
    try:
        result = cli(guest, "backup", "-o", str(folder))
    finally:
        guest.run(["systemctl", "stop", WRITER])
    archive = next(folder.iterdir())
    print("FIGURE", result.stdout.splitlines()[-2])  # "Backup: PATH (SIZE, ...) in Ns"
    return {
        "archive": archive,
        "output": result.stdout,
        "state": state(guest),
        "lines": (lines_before, busy_lines(guest)),
    }


def test_the_archive_is_private_and_holds_the_term(backed_up):
    archive = backed_up["archive"]
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert f"Backup: {archive} (" in backed_up["output"]
    assert "courses: cs101, math2; databases pass integrity_check" in backed_up["output"]
    with tarfile.open(archive) as packed:
        names = set(packed.getnames())
    for member in ("etc/hubctl/hub.yaml", "etc/hubctl/secrets/jupyterhub_cookie_secret",
                   "hubctl-backup/sqlite/var/lib/hubctl/jupyterhub.sqlite",
                   "hubctl-backup/sqlite/srv/nbgrader/courses/math2/gradebook.db",
                   "home/cara/essay.txt", "srv/nbgrader/exchange/math2"):  # fmt: skip
        assert member in names
    assert "var/lib/hubctl/jupyterhub.sqlite" not in names  # only its checked copy


def test_it_was_taken_while_the_student_worked(guest, backed_up):
    with tarfile.open(backed_up["archive"]) as packed:
        archived = packed.extractfile(f"home/{STUDENT}/busy.log").read().decode().count("\n")
    before, after = backed_up["lines"]
    assert before <= archived < after  # her writes went on during the backup
    assert shell(guest, f"systemctl is-active jupyter-{STUDENT}-singleuser").strip() == "active"


def test_a_copy_stays_on_the_vm_readable_by_root_only(guest, backed_up):
    copy = re.search(r"A copy stays on \S+: (\S+)", backed_up["output"])[1]
    assert shell(guest, f"stat -c '%a %U' {copy} /var/backups/hubctl").split() == [
        "600", "root", "700", "root"
    ]  # fmt: skip


def test_status_shows_the_last_backup(guest, backed_up):
    lines = cli(guest, "status").stdout.splitlines()
    name = re.search(r"(hubctl-backup-\S+-manual\.tar\.gz)", backed_up["output"])[1]
    assert any(re.fullmatch(rf"Backup    last 0\.\d h ago \({name}\); nightly off", line)
               for line in lines), lines  # fmt: skip


@pytest.fixture(scope="module")
def fresh_vm(backed_up, tmp_path_factory):
    """A new VM the archive was restored onto, with nightly backups (keep 2) on."""
    with fresh_guest("e2erestore", slot=3) as vm:
        config = write_config(vm, tmp_path_factory.mktemp("restore") / "hub.yaml",
                              backups={"nightly": True, "keep": 2})  # fmt: skip
        result = cli(vm, "restore", str(backed_up["archive"]), "--config", str(config), "--yes")
        print("FIGURE restore onto a fresh VM:", re.search(r"Done in \d+s", result.stdout)[0])
        yield vm, result


def test_restore_onto_a_fresh_vm_gives_back_files_owners_acls_grades_and_accounts(
    fresh_vm, backed_up
):
    vm, result = fresh_vm
    assert "Restored " in result.stdout and "courses ['cs101', 'math2']" in result.stdout
    assert passwords_in(result.stdout) == {}  # nobody got a new password
    restored, before = state(vm), backed_up["state"]
    assert set(restored["files"]) ^ set(before["files"]) == set()
    assert restored == before
    assert integrity(vm) == {"ok"}


def test_everyone_logs_in_on_the_new_vm_with_the_same_password(fresh_vm, installed):
    vm, _ = fresh_vm
    passwords = {**installed.passwords, "ta": TA_PASSWORD}  # ta's is from a password_file
    for name in (STUDENT, "teacher", "ta"):
        assert logs_in(vm, name, passwords[name]), name
    assert not logs_in(vm, STUDENT, "not-her-password")


def test_the_new_vm_exports_the_same_grades(fresh_vm, tmp_path):
    vm, _ = fresh_vm
    cli(vm, "grades", "export", "math2", "-o", str(tmp_path / "grades.csv"))
    exported = (tmp_path / "grades.csv").read_text()
    assert re.search(rf"^backup1,.*,{STUDENT},.*,1\.5,", exported, re.MULTILINE), exported


def test_the_new_vm_runs_the_student_server_and_nightly_backups_keep_two(fresh_vm):
    vm, _ = fresh_vm
    vm.run(["/opt/hubctl/hub/bin/python3", "-c", START_SERVER])
    assert shell(vm, "systemctl is-enabled hubctl-backup.timer").strip() == "enabled"
    for _ in range(3):
        vm.run(["systemctl", "start", "hubctl-backup.service"])  # oneshot: waits for it
    nightly = shell(vm, "ls /var/backups/hubctl/ | grep -c -- '-nightly.tar.gz$'")
    assert nightly.strip() == "2"


def test_restore_onto_the_same_vm_undoes_a_lost_file_and_a_changed_password(
    guest, installed, backed_up
):
    shell(guest, f"rm {ESSAY}")
    cli(guest, "users", "reset-password", STUDENT)
    assert not logs_in(guest, STUDENT, installed.passwords[STUDENT])
    cli(guest, "restore", str(backed_up["archive"]), "--config", str(installed.config_path),
        "--yes")  # fmt: skip
    assert shell(guest, f"cat {ESSAY}") == "my essay\n"
    assert logs_in(guest, STUDENT, installed.passwords[STUDENT])
    now = state(guest)
    for key in ("gradebooks", "accounts", "admins", "acls"):
        assert now[key] == backed_up["state"][key], key
