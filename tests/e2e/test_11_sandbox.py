"""The systemd sandbox of the hub, the proxy and a student's server is in effect (each
directive as `systemctl show` reports it), does what it says inside a running server, and a
student's fork bomb stops at limits.processes while the hub and everyone else carry on.

Prints each unit's `systemd-analyze security` exposure as a FIGURE line (docs/security.md)."""

import re
import time

import pytest
from browser import launch_browser, log_in, new_person, open_lab, run_cell
from hubhttp import HubSession
from playwright.sync_api import sync_playwright

STUDENT = "cara"  # course math2's student: the install made her account
SERVER_UNIT = f"jupyter-{STUDENT}-singleuser.service"
HUB_UNIT = "jupyterhub.service"
PROXY_UNIT = "configurable-http-proxy.service"
PROCESSES = "1024"  # limits.processes, the default
HUB_CAPABILITIES = (
    "cap_chown cap_dac_override cap_dac_read_search cap_fowner cap_fsetid cap_kill cap_setgid"
    " cap_setuid cap_audit_write"
)

COMMON = [
    ("PrivateDevices", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("ProtectHostname", "yes"),
    ("ProtectProc", "invisible"),
    ("RestrictRealtime", "yes"),
    ("LockPersonality", "yes"),
    ("NoNewPrivileges", "yes"),
    ("SystemCallArchitectures", "native"),
    ("SystemCallErrorNumber", "1"),  # EPERM
    ("UMask", "0077"),
    ("PrivateTmp", "yes"),
]
EXPECTED = {
    HUB_UNIT: [
        *COMMON,
        ("ProtectSystem", "strict"),
        ("RestrictNamespaces", "yes"),
        ("ReadWritePaths", "/etc /home /run /var/lib/hubctl /srv/nbgrader"),
        ("CapabilityBoundingSet", HUB_CAPABILITIES),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_NETLINK AF_UNIX"),
    ],
    PROXY_UNIT: [
        *COMMON,
        ("DynamicUser", "yes"),
        ("RestrictNamespaces", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("ProcSubset", "pid"),
        ("CapabilityBoundingSet", "cap_net_bind_service"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
    ],
    SERVER_UNIT: [
        *COMMON,
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/srv/nbgrader/exchange"),
        ("ProtectHome", "tmpfs"),
        ("BindPaths", f"/home/{STUDENT}:/home/{STUDENT}:rbind"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_NETLINK AF_UNIX"),
        ("RemoveIPC", "yes"),
        ("TasksMax", PROCESSES),
        ("LimitNPROC", PROCESSES),
    ],
}
FACTS = [(unit, prop, value) for unit, facts in EXPECTED.items() for prop, value in facts]


@pytest.fixture(scope="module")
def lab(hub_url, installed):
    """The student's JupyterLab, started the way she starts it: log in, open the lab."""
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        _, page = new_person(browser)
        log_in(page, hub_url.rstrip("/"), STUDENT, installed.passwords[STUDENT])
        open_lab(page, hub_url.rstrip("/"), STUDENT)
        yield page
        browser.close()


@pytest.fixture(scope="module")
def server_pid(host, lab) -> int:
    return int(host.check_output(f"systemctl show -p MainPID --value {SERVER_UNIT}"))


def as_student_in_server(host, server_pid: int, command: str):
    """`command` as the student, in her server's mount namespace (its view of the files)."""
    uid = host.user(STUDENT).uid
    return host.run(f"nsenter -t {server_pid} -m -S {uid} -G {uid} -- sh -c '{command}'")


@pytest.mark.parametrize(("unit", "prop", "value"), FACTS)
def test_directive_is_in_effect(host, lab, unit, prop, value):
    assert host.check_output(f"systemctl show -p {prop} --value {unit}") == value


@pytest.fixture(scope="module")
def reloaded(host, lab):
    """Every install reloads systemd; a server's transient unit is read back from its file."""
    host.check_output("systemctl daemon-reload")
    return host


@pytest.mark.parametrize(("prop", "value"), EXPECTED[SERVER_UNIT])
def test_server_directive_survives_a_daemon_reload(reloaded, prop, value):
    assert reloaded.check_output(f"systemctl show -p {prop} --value {SERVER_UNIT}") == value


@pytest.mark.parametrize("unit", [HUB_UNIT, PROXY_UNIT, SERVER_UNIT])
def test_exposure_figure(host, lab, unit):
    output = host.check_output(f"systemd-analyze security {unit} | tail -1")
    score = re.search(r"exposure level for \S+: (\d+\.\d+)", output)[1]
    print(f"FIGURE systemd-analyze security {unit}: {score}")
    assert float(score) < 5  # "MEDIUM" starts at 5; before the sandbox the hub was 9.6


def test_a_cell_runs_in_the_sandboxed_server(lab):
    assert run_cell(lab, "print(6 * 7)") == "42"


def test_server_sees_only_its_own_home(host, server_pid):
    assert as_student_in_server(host, server_pid, "ls /home").stdout.split() == [STUDENT]


def test_server_cannot_write_outside_home_and_exchange(host, server_pid):
    result = as_student_in_server(host, server_pid, "touch /srv/probe")
    assert "Read-only file system" in result.stderr


def test_server_sees_only_its_own_processes(host, server_pid):
    # ProtectProc=invisible: /proc of the server hides other users' processes.
    users = as_student_in_server(host, server_pid, "ps -eo user=").stdout.split()
    assert set(users) == {STUDENT}


def test_a_pty_opens_in_the_sandboxed_server(lab):
    # What a JupyterLab terminal needs (terminado runs bash on a pty).
    code = (
        "import os, pty\npid, fd = pty.fork()\nif pid == 0:\n    os.write(1, b'child')\n"
        "    os._exit(0)\nprint(os.read(fd, 5))"
    )
    assert run_cell(lab, code) == "b'child'"


@pytest.fixture(scope="module")
def fork_bomb(host, lab, server_pid, hub_url, installed):
    """The student runs a bash fork bomb from her notebook; after 15 s the hub is asked for
    things, then her server is stopped (that ends the bomb)."""
    # Guard: only with the limit in place (else the bomb would take every PID of the machine).
    limits = host.file(f"/proc/{server_pid}/limits").content_string
    assert re.search(rf"Max processes\s+{PROCESSES}\s+{PROCESSES}", limits), limits
    run_cell(
        lab,
        "import subprocess\n"
        "subprocess.Popen(['bash', '-c', ':(){ :|:& };:'], start_new_session=True)\n"
        "print('started')",
    )
    time.sleep(15)
    tasks = int(host.check_output(f"ps -L -u {STUDENT} --no-headers | wc -l"))
    session = HubSession(hub_url)
    login = session.log_in("teacher", installed.passwords["teacher"])
    hub_alive = host.run("systemctl is-active jupyterhub").stdout.strip()
    host.check_output(f"systemctl stop {SERVER_UNIT}")
    time.sleep(5)
    left = int(host.check_output(f"ps -u {STUDENT} --no-headers | wc -l"))
    print(f"FIGURE fork bomb: {tasks} tasks of {STUDENT} after 15 s (limit {PROCESSES})")
    yield tasks, login, hub_alive, left
    # Whatever the test found: a bomb left behind would eat the machine's CPUs for the
    # rest of the suite. Stopped first, so none forks while the others are killed.
    host.run(
        f"for round in $(seq 30); do pgrep -u {STUDENT} >/dev/null || break;"
        f" pkill -STOP -u {STUDENT}; pkill -KILL -u {STUDENT}; done"
    )


def test_fork_bomb_stops_at_the_limit(fork_bomb):
    tasks, *_ = fork_bomb
    assert 100 < tasks <= int(PROCESSES)


def test_hub_keeps_running_through_a_fork_bomb(fork_bomb):
    assert fork_bomb[2] == "active"


def test_instructor_logs_in_during_a_fork_bomb(fork_bomb):
    assert fork_bomb[1] == 302


def test_stopping_the_server_ends_the_fork_bomb(fork_bomb):
    assert fork_bomb[3] == 0
