"""The `exam` built-in plugin, on the guest with every built-in plugin (conftest's
PLUGIN_SETTINGS). math2's student cara and a cs101 student each run a kernel that reaches a
listener on the host side of the guest's network; `hubctl exam start math2` restarts cara's
server into exam mode (her kernel cannot reach the listener but still reaches the hub, no
terminals, no nbgitpuller) while the cs101 student, math2's instructor, the course's grader
account and the hub keep the network; `hubctl exam stop math2` gives it all back, and an exam
with --until ends by itself. Runs last of the plugin modules and leaves no exam running."""

import re
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from browser import launch_browser, log_in, new_person, open_lab, run_cell
from conftest import hubctl, ssh_options_env
from playwright.sync_api import sync_playwright

COURSE, OTHER_COURSE = "math2", "cs101"
STUDENT = "cara"  # math2's student: the install makes her account
OTHER = "ozzy"  # a cs101 student, made here with the CLI
LATE = "lars"  # joins math2 during its exam (a name no other plugin module uses)
INSTRUCTOR = "ta"  # math2's
HUB_PYTHON = "/opt/hubctl/hub/bin/python3"
STATE_DIR = "/var/lib/hubctl/exams"
RESTART_SECONDS = 120
# A kernel's (or anyone's) view: the listener outside, then the hub's API on loopback.
CONNECT = """import socket
for address in [("{host}", {port}), ("127.0.0.1", 8081)]:
    try:
        socket.create_connection(address, timeout=10).close()
        print("CONNECTED", end=" ")
    except OSError as error:
        print("FAILED", type(error).__name__, end=" ")
"""


@pytest.fixture(scope="module")
def machine(plugin_guest):
    return plugin_guest


@pytest.fixture(scope="module")
def exam_cli(plugin_guest, plugin_install):
    """`hubctl ARGS --host` the plugin guest, over SSH; leaves no exam running."""
    host_args = ["--host", f"root@{plugin_guest.spec.address}"]
    host_args += ["--ssh-key", str(plugin_guest.spec.ssh_key)]

    def run(*args: str, check: bool = True):
        return hubctl(*args, *host_args, check=check, env=ssh_options_env(plugin_guest))

    yield run
    if guest_output(plugin_guest, f"ls {STATE_DIR} 2>/dev/null"):
        run("exam", "stop", COURSE, check=False)


@pytest.fixture(scope="module")
def listener(machine):
    """A TCP port on the host's side of the guest's network that accepts and closes."""
    server = socket.create_server((machine.spec.host_address, 0))
    server.settimeout(0.5)
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    done.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def code(machine, listener) -> str:
    return CONNECT.format(host=machine.spec.host_address, port=listener)


@pytest.fixture(scope="module")
def instructor(machine, plugin_install) -> str:
    """math2's instructor, with the Linux account the hub makes at her first server start."""
    if machine.run(["id", INSTRUCTOR], check=False).returncode:
        start_through_the_hub(machine, INSTRUCTOR)
    return INSTRUCTOR


@pytest.fixture(scope="module")
def people(machine, plugin_install, exam_cli):
    """cara and a new cs101 student, each logged in with a browser of their own."""
    output = exam_cli("users", "add", OTHER, "--course", OTHER_COURSE).stdout
    passwords = {**plugin_install.passwords, OTHER: output.split("password: ")[1].split()[0]}
    base_url = f"http://{machine.spec.address}"
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            logged_in = {}
            for name in (STUDENT, OTHER):
                context, page = new_person(browser)
                log_in(page, base_url, name, passwords[name])
                logged_in[name] = (context, page)
            yield Lab(base_url, logged_in)
        finally:
            browser.close()


class Lab:
    def __init__(self, base_url: str, logged_in: dict) -> None:
        self.base_url, self.logged_in = base_url, logged_in

    def probe(self, name: str, code: str, tmp_path) -> dict:
        """In `name`'s JupyterLab (spawned if need be): a new notebook runs `code`; and the
        status of their server's terminals API and nbgitpuller's /git-pull."""
        context, page = self.logged_in[name]
        try:
            open_lab(page, self.base_url, name)
            output = run_cell(page, code)
        except Exception:  # the guest goes with the session: keep what the student saw
            page.screenshot(path=str(tmp_path / f"{name}.png"))
            print(f"{name}'s page at {page.url}, screenshot {tmp_path / f'{name}.png'}")
            raise
        server = f"{self.base_url}/user/{name}"
        return {
            "kernel": output,
            "terminals": context.request.get(f"{server}/api/terminals").status,
            # nbgitpuller's page answers whatever it makes of no repo; gone, it is a 404
            "git-pull": context.request.get(f"{server}/git-pull", max_redirects=0).status != 404,
        }


def guest_output(machine, command: str) -> str:
    return machine.run(["sh", "-c", command], check=False).stdout.strip()


def server_pid(machine, name: str) -> str:
    # pgrep, not `systemctl show`: that would load a stopped transient unit again
    return guest_output(machine, f"pgrep -o -u {name} -f jupyterhub-singleuser") or "0"


def start_through_the_hub(machine, name: str) -> None:
    """Start `name`'s server through the hub's API as the hub's own service; wait for it."""
    start = f"from hubctl.hub.hubapi import HubApi; HubApi().call('POST', '/users/{name}/server')"
    machine.run([HUB_PYTHON, "-c", start])
    wait_for_new_server(machine, name, "0")


def wait_for_new_server(machine, name: str, old_pid: str) -> float:
    """Seconds until `name`'s server runs under a new PID (it was restarted)."""
    started = time.monotonic()
    while time.monotonic() - started < RESTART_SECONDS:
        pid = server_pid(machine, name)
        if pid not in ("", "0", old_pid):
            return time.monotonic() - started
        time.sleep(1)
    pytest.fail(f"{name}'s server was not restarted in {RESTART_SECONDS} s (PID {old_pid})")


def connects_as(machine, user: str, code: str) -> str:
    """CONNECT's answer for a process of `user` outside any server (root: the hub's own)."""
    return guest_output(machine, f"runuser -u {user} -- {HUB_PYTHON} -c '{code}'")


def has_exam_table(machine) -> bool:
    return machine.run(["nft", "list", "table", "inet", "hubctl_exam"], check=False).returncode == 0


def nothing_changed(machine) -> None:
    assert guest_output(machine, f"ls {STATE_DIR} 2>/dev/null") == ""
    assert not has_exam_table(machine)


def one_line_error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "no course 'nosuch' in hub.yaml (courses: cs101, math2)"),
        ([COURSE, "--until", "2001-01-01T09:00"], "is past: give a later time"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(machine, exam_cli, args, message):
    line = one_line_error(exam_cli("exam", "start", *args, check=False))
    assert message in line
    nothing_changed(machine)


def test_an_until_that_is_no_time_is_a_usage_error(machine, exam_cli):
    result = exam_cli("exam", "start", COURSE, "--until", "noon", check=False)
    assert result.returncode == 2
    assert "Invalid value for '--until': 'noon' is not a time: write HH:MM" in result.stderr
    nothing_changed(machine)


def test_stop_without_an_exam_is_one_line(machine, exam_cli):
    line = one_line_error(exam_cli("exam", "stop", COURSE, check=False))
    assert "no exam is running in math2" in line


def test_a_hub_without_the_exam_plugin_refuses(machine, exam_cli):
    # The other built-ins keep the plugins' code on the VM; hub.yaml there says what is on.
    edit = (
        "import yaml; p = '/etc/hubctl/hub.yaml'; d = yaml.safe_load(open(p));"
        " d['plugins'].pop('exam'); open(p, 'w').write(yaml.safe_dump(d))"
    )
    machine.run(["cp", "-p", "/etc/hubctl/hub.yaml", "/root/hub.yaml.exam-test"])
    try:
        machine.run([HUB_PYTHON, "-c", edit])
        line = one_line_error(exam_cli("exam", "start", COURSE, check=False))
    finally:
        machine.run(["cp", "-p", "/root/hub.yaml.exam-test", "/etc/hubctl/hub.yaml"])
    assert "the exam plugin is not enabled on this hub: add `exam: {}` under plugins:" in line
    nothing_changed(machine)


def test_before_the_exam_both_students_reach_the_network_and_have_terminals(
    machine, people, code, tmp_path
):
    for name in (STUDENT, OTHER):
        seen = people.probe(name, code, tmp_path)
        assert seen == {"kernel": "CONNECTED CONNECTED", "terminals": 200, "git-pull": True}, name


def test_during_the_exam_only_its_students_are_cut_off(
    machine, people, instructor, exam_cli, code, tmp_path
):
    before = {name: server_pid(machine, name) for name in (STUDENT, OTHER)}
    started = time.monotonic()
    output = exam_cli("exam", "start", COURSE).stdout
    print(
        f"FIGURE hubctl exam start (1 running server to restart): {time.monotonic() - started:.0f} s"
    )
    # cara and whoever the other plugin modules enrolled in math2 (no server: not restarted)
    assert re.search(rf"Exam started in {COURSE}: \d+ students off the network", output)
    assert "1 running servers restarted into exam mode" in output
    print(
        f"FIGURE exam start to cara's new server: {wait_for_new_server(machine, STUDENT, before[STUDENT]):.0f} s"
    )

    cara = people.probe(STUDENT, code, tmp_path)
    assert cara["kernel"].startswith("FAILED"), cara
    assert cara["kernel"].endswith("CONNECTED"), cara  # the hub, on loopback
    assert (cara["terminals"], cara["git-pull"]) == (404, False)
    assert connects_as(machine, STUDENT, code).startswith("FAILED")  # not only her server

    other = people.probe(OTHER, code, tmp_path)
    assert other == {"kernel": "CONNECTED CONNECTED", "terminals": 200, "git-pull": True}
    assert server_pid(machine, OTHER) == before[OTHER]  # not restarted
    for user in (instructor, "grader-math2", "root"):  # the course's grader account, the hub
        assert connects_as(machine, user, code) == "CONNECTED CONNECTED", user

    status = exam_cli("exam", "status").stdout
    assert status.startswith(f"{COURSE}: since ") and "ends at `hubctl exam stop`" in status


def test_a_student_who_joins_during_the_exam_is_cut_off_at_her_first_start(machine, exam_cli, code):
    exam_cli("users", "add", LATE, "--course", COURSE)
    # The hub has no CAP_NET_ADMIN: the spawner's hook has the plugin's unit reload the table.
    start_through_the_hub(machine, LATE)
    assert connects_as(machine, LATE, code).startswith("FAILED")
    command = guest_output(machine, f"ps -o args= -p {server_pid(machine, LATE)}")
    assert "--ServerApp.terminals_enabled=False" in command


def test_after_the_exam_all_is_as_before(machine, people, exam_cli, code, tmp_path):
    before = {name: server_pid(machine, name) for name in (STUDENT, LATE)}
    output = exam_cli("exam", "stop", COURSE).stdout
    assert f"Exam ended in {COURSE}: 2 running servers restarted as before." in output
    for name in (STUDENT, LATE):
        wait_for_new_server(machine, name, before[name])
    assert "terminals_enabled" not in guest_output(
        machine, f"ps -o args= -p {server_pid(machine, LATE)}"
    )
    assert connects_as(machine, LATE, code) == "CONNECTED CONNECTED"
    seen = people.probe(STUDENT, code, tmp_path)
    assert seen == {"kernel": "CONNECTED CONNECTED", "terminals": 200, "git-pull": True}
    assert connects_as(machine, STUDENT, code) == "CONNECTED CONNECTED"
    nothing_changed(machine)


def test_an_exam_with_until_ends_by_itself(machine, people, exam_cli, code):
    before = server_pid(machine, STUDENT)
    end = (datetime.now(UTC) + timedelta(seconds=150)).replace(second=0, microsecond=0)
    until = end.strftime("%H:%M")  # math2's time zone is UTC (the default)
    output = exam_cli("exam", "start", COURSE, "--until", until).stdout
    assert f"It ends by itself at {end.isoformat()}" in output
    wait_for_new_server(machine, STUDENT, before)
    pid = server_pid(machine, STUDENT)
    assert connects_as(machine, STUDENT, code).startswith("FAILED")

    # The boot unit holds the exam: stopping it (uninstall, a shutdown) takes the table away,
    # starting it (a boot) puts the table and the end's timer back.
    assert guest_output(machine, "systemctl is-active hubctl-exam") == "active"
    machine.run(["systemctl", "stop", "hubctl-exam"])
    assert not has_exam_table(machine)
    machine.run(["systemctl", "start", "hubctl-exam"])
    assert has_exam_table(machine)
    assert guest_output(machine, f"systemctl is-active hubctl-exam-end-{COURSE}.timer") == "active"
    assert connects_as(machine, STUDENT, code).startswith("FAILED")

    while datetime.now(UTC) < end + timedelta(seconds=RESTART_SECONDS):
        if guest_output(machine, f"ls {STATE_DIR}") == "":
            break
        time.sleep(2)
    print(
        f"FIGURE --until end to the exam's state gone: {(datetime.now(UTC) - end).total_seconds():.0f} s"
    )
    assert exam_cli("exam", "status").stdout.strip() == "No exam is running."
    assert connects_as(machine, STUDENT, code) == "CONNECTED CONNECTED"
    wait_for_new_server(machine, STUDENT, pid)  # back without the exam's options
    nothing_changed(machine)
