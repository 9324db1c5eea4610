"""`hubctl logs` from this machine over SSH: the hub's, the proxy's, a user's server's and a
course formgrader's journal lines by name, --since in journalctl's syntax, and --follow
streaming a line that is logged after it started."""

import os
import queue
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest
from conftest import HUBCTL, hubctl, ssh_options_env
from hubhttp import HubSession

STUDENT = "cara"  # the install made her account (a student of math2)
SERVER_READY = "is running at"  # Jupyter Server's line once it listens


@pytest.fixture(scope="module")
def host_args(guest, installed) -> list[str]:
    return ["--host", f"root@{guest.spec.address}", "--ssh-key", str(guest.spec.ssh_key)]


@pytest.fixture(scope="module")
def logs(guest, host_args):
    def run(*args: str, check: bool = True):
        return hubctl("logs", *args, *host_args, check=check, env=ssh_options_env(guest))

    return run


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(2)
    pytest.fail(f"no {what} within {seconds:.0f} s")


def test_the_hub_logs_show_its_start(logs, host):
    started = host.check_output("systemctl show -p ExecMainStartTimestamp --value jupyterhub")
    lines = logs("hub", "--since", started).stdout.splitlines()
    assert any("JupyterHub is now running" in line for line in lines)
    assert all(" configurable-http-proxy[" not in line for line in lines)


def test_the_proxy_logs_are_the_proxys_only(logs):
    lines = logs("proxy", "-n", "20").stdout.splitlines()
    assert 0 < len(lines) <= 20
    assert any(" configurable-http-proxy[" in line for line in lines)
    assert all(" jupyterhub[" not in line for line in lines)


def test_without_a_name_the_hub_and_the_proxy_come_together(logs, hub_url):
    urllib.request.urlopen(f"{hub_url}/hub/api/", timeout=30).read()  # a line from each
    output = logs("-n", "200").stdout
    assert " jupyterhub[" in output
    assert " configurable-http-proxy[" in output


def test_a_course_shows_its_formgrader_only(logs):
    lines = logs("cs101", "-n", "30").stdout.splitlines()
    assert lines
    assert all(" formgrader-cs101[" in line for line in lines), lines


def test_a_users_server_logs_after_they_started_it(logs, hub_url, installed, host):
    session = HubSession(hub_url)
    assert session.log_in(STUDENT, installed.passwords[STUDENT]) == 302
    session.request(f"/hub/spawn/{STUDENT}")
    output = wait_for(
        lambda: SERVER_READY in (out := logs(STUDENT).stdout) and out,
        180,
        f"'{SERVER_READY}' in {STUDENT}'s server logs",
    )
    assert host.service(f"jupyter-{STUDENT}-singleuser").is_running
    assert " jupyterhub[" not in output


def test_since_in_the_future_shows_nothing(logs):
    assert logs("hub", "--since", "tomorrow").stdout == "-- No entries --\n"


def test_a_bad_since_is_one_clear_error(logs):
    result = logs("--since", "half past nine", check=False)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: --since 'half past nine': not a time journalctl understands: use e.g."
        " '1h ago', 'today', 'yesterday' or '2026-11-22 10:00'\n"
    )


def test_an_unknown_name_lists_what_there_is(logs):
    result = logs("nobody", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "Error: no user or course 'nobody' on this hub: try hub, proxy, a course (cs101, math2)"
        " or a user with an account on the VM ("
    )
    assert STUDENT in result.stderr


def test_follow_streams_a_line_logged_after_it_started(guest, host_args, hub_url, host):
    command = [*HUBCTL, "logs", "hub", "--follow", "-n", "0", *host_args]
    env = {**os.environ, **ssh_options_env(guest), "PYTHONUNBUFFERED": "1"}
    follower = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [*map(lines.put, follower.stdout)], daemon=True).start()
    try:
        marker = uuid.uuid4().hex
        time.sleep(3)  # journalctl on the VM is following by now
        urllib.request.urlopen(f"{hub_url}/hub/api/?marker={marker}", timeout=30).read()
        deadline = time.monotonic() + 30
        seen = []
        while marker not in "".join(seen) and time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
        assert any(marker in line for line in seen), seen
    finally:
        follower.terminate()
        code = follower.wait(timeout=30)
    assert code == 0
    # the VM's journalctl went away with its reader
    wait_for(
        lambda: "journalctl" not in host.run("pgrep -a journalctl || true").stdout,
        20,
        "end of the VM's journalctl",
    )
