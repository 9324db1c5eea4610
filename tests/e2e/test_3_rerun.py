"""A second `hubctl install` with the same hub.yaml changes nothing, restarts nothing and logs
nobody out (runs after the classroom tests, so students' servers and files exist)."""

import re

import pytest
from conftest import hubctl, install_args, run_install, ssh_options_env, write_config
from hubhttp import HubSession

UNITS = "jupyterhub configurable-http-proxy"
SNAPSHOT = (
    f"systemctl show -p Id -p MainPID {UNITS} 'jupyter-*-singleuser.service';"
    " find /home /etc/hubctl /opt/hubctl/lib -type f -print0 | sort -z | xargs -0 sha256sum;"
    " sqlite3 /var/lib/hubctl/jupyterhub.sqlite"
    " 'select username, hex(password), is_authorized from users_info order by username;"
    "  select name, admin from users order by name'"
)


@pytest.fixture(scope="module")
def rerun(guest, installed, host):
    session = HubSession(f"http://{guest.spec.address}")
    assert session.log_in("teacher", installed.passwords["teacher"]) == 302
    before = host.check_output(SNAPSHOT)
    result = run_install(guest, installed.config_path)
    after = host.check_output(SNAPSHOT)
    return result, before, after, session


def test_second_install_reports_nothing_changed(rerun):
    result, *_ = rerun
    assert re.search(r"^Done in \d+s: 0 changed\.", result.stdout, re.M), result.stdout


def test_second_install_prints_no_new_password(rerun):
    result, *_ = rerun
    assert "New instructor account" not in result.stdout


def test_no_unit_restarted_and_files_accounts_untouched(rerun):
    _, before, after, _ = rerun
    assert "jupyter-student1-singleuser" in before  # the classroom left a server running
    assert after == before


def test_nobody_is_logged_out(rerun):
    *_, session = rerun
    assert session.is_logged_in()


@pytest.fixture(scope="module")
def check_run(guest, installed, host, rerun, tmp_path_factory):
    """`--check --diff` with a changed memory limit, after the re-run."""
    config = write_config(guest, tmp_path_factory.mktemp("check") / "hub.yaml",
                          limits={"memory": "768M"})  # fmt: skip
    before = host.file("/etc/hubctl/hub.yaml").content_string
    result = run_install(guest, config, "--check", "--diff")
    return result, before, host.file("/etc/hubctl/hub.yaml").content_string


def test_check_diff_shows_the_change(check_run):
    result, *_ = check_run
    assert "-  memory: 512M\n+  memory: 768M" in result.stderr
    assert re.search(r"^Done in \d+s: [1-9]\d* would change\.", result.stdout, re.M)


def test_check_changes_nothing(check_run):
    _, before, after = check_run
    assert after == before


ADMIN_SETUP = (
    "id admin || useradd --create-home --shell /bin/bash admin;"
    " install -d -o admin -g admin -m 0700 /home/admin/.ssh;"
    " install -o admin -g admin -m 0600 /root/.ssh/authorized_keys /home/admin/.ssh/;"
    " echo 'admin ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/admin; chmod 0440 /etc/sudoers.d/admin"
)


def test_install_as_a_sudo_user_over_ssh_changes_nothing(guest, installed, check_run):
    """The usual cloud VM: log in as an admin user, become root with sudo."""
    guest.run(["bash", "-c", ADMIN_SETUP])
    args = install_args(guest, installed.config_path, user="admin")
    result = hubctl(*args, env=ssh_options_env(guest))
    assert re.search(r"^Done in \d+s: 0 changed\.", result.stdout, re.M), result.stdout
