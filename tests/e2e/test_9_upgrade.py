"""Upgrading: this hubctl's `hubctl install` over a hub that an older hubctl installed takes a
backup first and keeps users, passwords, approvals, servers and files.

The older hubctl is the commit that landed [install] (issue 2): hubctl has no release tag
yet. It had no courses, so grades are not part of this test (test_9_backup restores them)."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import TA_PASSWORD, fresh_guest, install_args, run_install, ssh_options_env
from hubhttp import XSRF_RE, HubSession
from old_hubctl import old_hubctl, old_hubctl_path, wait_for_hub

from hubctl.sandbox.guest import HOST_CA_BUNDLE

OLD_HUBCTL = "1f15653"  # "Review: the guest spec alone checks sandbox names..." (issue 2)
STUDENT, WAITING = "sam", "pat"
PASSWORD = "quiet-meadow-42-lantern"
HUB_DB = "/var/lib/hubctl/jupyterhub.sqlite"


def config_both_understand(vm, path: Path) -> Path:
    (path.parent / "ta-password").write_text(TA_PASSWORD + "\n")
    data = {
        "users": {"instructors": ["teacher", {"name": "ta", "password_file": "ta-password"}]},
        "limits": {"memory": "512M", "cpu": 1.0, "idle_timeout": "1h"},
        "network": {"http_proxy": vm.spec.proxy_url, "ca_bundle": str(HOST_CA_BUNDLE)},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def shell(vm, command: str) -> str:
    return vm.run(["sh", "-c", command]).stdout


def accounts(vm) -> str:
    query = "SELECT username, password, is_authorized FROM users_info ORDER BY username"
    return shell(vm, f"sqlite3 {HUB_DB} '{query}'")


def sign_up(hub: str, name: str) -> None:
    session = HubSession(hub)
    xsrf = XSRF_RE.search(session.request("/hub/signup")[2])[1]
    form = {"username": name, "signup_password": PASSWORD,
            "signup_password_confirmation": PASSWORD, "_xsrf": xsrf}  # fmt: skip
    session.request("/hub/signup", form)


def logs_in(hub: str, name: str, password: str) -> bool:
    return HubSession(hub).log_in(name, password) == 302


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("upgrade")
    old = old_hubctl(folder, OLD_HUBCTL)
    with fresh_guest("e2eupgrade", slot=4) as vm:
        hub = f"http://{vm.spec.address}"
        config = config_both_understand(vm, folder / "hub.yaml")
        env = {**ssh_options_env(vm), "PATH": old_hubctl_path()}
        first = subprocess.run([*old, *install_args(vm, config)], capture_output=True,
                               text=True, env=env, check=False)  # fmt: skip
        assert first.returncode == 0, first.stderr
        teacher_password = first.stdout.split("New instructor account: teacher  password: ")[1]
        teacher_password = teacher_password.split()[0]
        wait_for_hub(hub)
        # A term on the old hub: an approved student with a running server and a file,
        # and a sign-up still waiting for approval.
        sign_up(hub, STUDENT)
        sign_up(hub, WAITING)
        teacher = HubSession(hub)
        assert teacher.log_in("teacher", teacher_password) == 302
        teacher.request(f"/hub/authorize/{STUDENT}")
        student = HubSession(hub)
        assert student.log_in(STUDENT, PASSWORD) == 302
        student.request("/hub/spawn")
        shell(vm, f"timeout 120 sh -c 'until systemctl is-active -q jupyter-{STUDENT}-singleuser;"
                  " do sleep 1; done'")  # fmt: skip
        shell(vm, f"runuser -u {STUDENT} -- sh -c 'echo my notes > ~/notes.txt'")
        before = {
            "accounts": accounts(vm),
            "server_pid": shell(vm, f"systemctl show -p MainPID jupyter-{STUDENT}-singleuser"),
        }
        result = run_install(vm, config)
        print("FIGURE upgrade install:", re.search(r"Done in \d+s", result.stdout)[0])
        again = run_install(vm, config)
        yield {"vm": vm, "hub": hub, "before": before, "output": result.stdout,
               "again": again.stdout, "teacher": teacher_password, "student": student}  # fmt: skip


def test_the_upgrade_takes_a_backup_first(upgraded):
    line = next(
        line for line in upgraded["output"].splitlines() if line.startswith("Backed up before")
    )
    archive = line.split(": ", 1)[1].removesuffix(" on the VM")
    assert archive.startswith("/var/backups/hubctl/hubctl-backup-")
    assert archive.endswith("-pre-upgrade.tar.gz")
    listing = shell(upgraded["vm"], f"tar -tzf {archive}").splitlines()
    assert f"home/{STUDENT}/notes.txt" in listing
    assert "hubctl-backup/sqlite/var/lib/hubctl/jupyterhub.sqlite" in listing


def test_the_same_hubctl_again_takes_no_backup(upgraded):
    assert "Backed up before" not in upgraded["again"]
    assert " 0 changed" in upgraded["again"]


def test_accounts_passwords_and_approvals_are_kept(upgraded):
    hub = upgraded["hub"]
    assert accounts(upgraded["vm"]) == upgraded["before"]["accounts"]
    assert logs_in(hub, "teacher", upgraded["teacher"])
    assert logs_in(hub, "ta", TA_PASSWORD)
    assert logs_in(hub, STUDENT, PASSWORD)
    assert not logs_in(hub, WAITING, PASSWORD)  # still waiting for approval


def test_the_students_server_and_files_are_kept(upgraded):
    vm = upgraded["vm"]
    pid = shell(vm, f"systemctl show -p MainPID jupyter-{STUDENT}-singleuser")
    assert pid == upgraded["before"]["server_pid"]
    assert shell(vm, f"cat /home/{STUDENT}/notes.txt") == "my notes\n"
    assert upgraded["student"].is_logged_in()  # nobody logs in again


def test_the_database_is_at_this_jupyterhubs_schema(upgraded):
    state = (
        upgraded["vm"]
        .run(["/opt/hubctl/hub/bin/python3", "-m", "hubctl.hub.database", f"sqlite:///{HUB_DB}"])
        .stdout
    )
    assert state.strip() == "current"
    assert shell(upgraded["vm"], f"sqlite3 {HUB_DB} 'PRAGMA integrity_check'") == "ok\n"
