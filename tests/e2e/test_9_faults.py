"""Faults a class must survive, each caused for real in the guest while students' servers run:
the hub or the proxy killed with SIGKILL, `hubctl install` re-run with a new memory limit, a
corrupted hub.yaml, and a reboot. docs/reliability.md records what happened.

The tests run in file order on the shared guest and leave it healthy, as configured by
`installed`. Recovery times are printed ("FIGURE ..."), never asserted.
"""

import functools
import http.client
import json
import re
import time
import urllib.parse
import urllib.request

import pytest
from conftest import run_install, write_config
from hubhttp import HubSession

HUB = "jupyterhub.service"
PROXY = "configurable-http-proxy.service"
CONFIG = "/etc/hubctl/hub.yaml"
STUDENTS = ("crash1", "crash2")  # their servers run through every fault
LATE_STUDENT = "crash3"  # starts a server after the memory limit changed
COURSES = ("cs101", "math2")  # conftest.COURSES: each has a formgrader unit
FORMGRADERS = tuple(f"hubctl-formgrader@{course}.service" for course in COURSES)
DATABASES = "/var/lib/hubctl/jupyterhub.sqlite /srv/nbgrader/courses/*/gradebook.db"
SPAWN_TIMEOUT = 180
RECOVERY_TIMEOUT = 180
ROUTES_TIMEOUT = 90  # a proxy restart plus the hub's route check (10 s), with room to spare

# From the guest: the hub's services as hubctl's own token sees them, with whether each
# process is alive.
SERVICES_PY = """
import json, os, urllib.request
token = open('/etc/hubctl/secrets/hubctl-api-token').read().strip()
request = urllib.request.Request('http://127.0.0.1:8081/hub/api/services',
                                 headers={'Authorization': 'token ' + token})
services = json.load(urllib.request.urlopen(request, timeout=10))
print(json.dumps({name: bool(s.get('pid')) and os.path.exists(f"/proc/{s['pid']}")
                  for name, s in services.items() if s.get('command')}))
"""
INTEGRITY_PY = f"""
import glob, json, sqlite3
paths = [path for pattern in {DATABASES.split()!r} for path in sorted(glob.glob(pattern))]
print(json.dumps({{path: sqlite3.connect(f'file:{{path}}?mode=ro', uri=True)
                  .execute('PRAGMA integrity_check').fetchone()[0] for path in paths}}))
"""


def unit(name: str) -> str:
    return f"jupyter-{name}-singleuser"


def record(figure: str, seconds: float) -> None:
    print(f"FIGURE {figure}: {seconds:.1f} s")


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5) -> float:
    """Seconds until `predicate()` held; fails the test after `timeout`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - started


def main_pid(guest, unit_name: str) -> int:
    shown = guest.run(["systemctl", "show", "-p", "MainPID", "--value", unit_name]).stdout
    return int(shown.strip() or 0)


def is_active(guest, unit_name: str) -> bool:
    return guest.run(["systemctl", "is-active", unit_name], check=False).stdout.strip() == "active"


def hub_restarts(guest) -> int:
    return int(guest.run(["systemctl", "show", "-p", "NRestarts", "--value", HUB]).stdout)


def server_pids(guest, names) -> dict[str, int]:
    return {name: main_pid(guest, unit(name)) for name in names}


def status_of(session: HubSession, path: str) -> int:
    """The HTTP status of GET `path`, 0 when the connection fails (a proxy that is down)."""
    try:
        return session.request(path)[0]
    except (OSError, http.client.HTTPException):
        return 0


def hub_answers(hub_url: str) -> bool:
    return status_of(HubSession(hub_url), "/hub/api") == 200


def server_answers(session: HubSession, name: str) -> bool:
    """The student's server answers their existing session (its cookie, no new login)."""
    return status_of(session, f"/user/{name}/api/status") == 200


def formgraders_answer(hub_url: str) -> bool:
    return all(status_of(HubSession(hub_url), f"/services/{c}/api") == 200 for c in COURSES)


def follow(session: HubSession, path: str, limit: int = 10) -> tuple[int, str]:
    """GET `path` following redirects (the OAuth dance into a server): (status, final path)."""
    for _ in range(limit):
        status, location, _ = session.request(path)
        if status not in (301, 302, 303, 307) or not location:
            return status, urllib.parse.urlsplit(path).path
        target = urllib.parse.urlsplit(urllib.parse.urljoin(session.base_url + path, location))
        path = target.path + (f"?{target.query}" if target.query else "")
    return 0, path


def open_server(session: HubSession, name: str) -> float:
    """Start `name`'s server (the session is logged in as `name`) and wait until the session
    gets into it. Seconds taken."""
    started = time.monotonic()
    session.request(f"/hub/spawn/{name}")
    lab = f"/user/{name}/lab"
    wait_until(lambda: follow(session, lab) == (200, lab), SPAWN_TIMEOUT, f"{name}'s server")
    wait_until(lambda: server_answers(session, name), 30, f"{name}'s server API")
    return time.monotonic() - started


def hub_services(guest) -> dict[str, bool]:
    return json.loads(guest.run(["python3", "-c", SERVICES_PY]).stdout)


@pytest.fixture(scope="module")
def passwords(cli) -> dict[str, str]:
    made = {}
    for name in (*STUDENTS, LATE_STUDENT):
        output = cli("users", "add", name).stdout
        made[name] = output.split("password: ")[1].split()[0]
    return made


def logged_in(hub_url: str, name: str, password: str) -> HubSession:
    session = HubSession(hub_url)
    assert session.log_in(name, password) == 302
    return session


@pytest.fixture(scope="module")
def students(hub_url, passwords) -> dict[str, HubSession]:
    """Two students, each logged in (one HTTP session each) with a running server."""
    sessions = {name: logged_in(hub_url, name, passwords[name]) for name in STUDENTS}
    for name, session in sessions.items():
        record(f"{name}: server started and entered", open_server(session, name))
    return sessions


# 1. The hub is killed


def test_a_killed_hub_comes_back_keeping_every_server_and_session(guest, hub_url, students):
    servers = server_pids(guest, STUDENTS)
    formgraders = [main_pid(guest, unit) for unit in FORMGRADERS]
    old = main_pid(guest, HUB)
    guest.run(["kill", "-9", str(old)])
    back = wait_until(
        lambda: (
            main_pid(guest, HUB) not in (0, old) and is_active(guest, HUB) and hub_answers(hub_url)
        ),
        RECOVERY_TIMEOUT,
        "the hub after kill -9",
    )
    record("hub kill -9: hub answering again", back)
    assert server_pids(guest, STUDENTS) == servers
    assert [main_pid(guest, unit) for unit in FORMGRADERS] == formgraders  # never touched
    assert {name: server_answers(s, name) for name, s in students.items()} == dict.fromkeys(
        STUDENTS, True
    )


def test_the_hub_s_services_come_back_with_it(guest, hub_url, students):
    # The hub starts its culler again; the formgraders, units of their own, kept running and
    # answer through the proxy as soon as the hub has put their routes back.
    back = wait_until(lambda: formgraders_answer(hub_url), RECOVERY_TIMEOUT, "the formgraders")
    record("hub kill -9: formgraders answering (after the hub)", back)
    assert hub_services(guest) == {"idle-culler": True}


# 2. The proxy is killed: it comes back empty, the hub puts the routes back


def test_a_killed_proxy_comes_back_with_every_route(guest, hub_url, students):
    servers = server_pids(guest, STUDENTS)
    old = main_pid(guest, PROXY)
    killed = time.monotonic()
    guest.run(["kill", "-9", str(old)])
    wait_until(
        lambda: main_pid(guest, PROXY) not in (0, old) and hub_answers(hub_url),
        RECOVERY_TIMEOUT,
        "the proxy after kill -9",
    )
    record("proxy kill -9: proxy answering again", time.monotonic() - killed)
    for name, session in students.items():
        wait_until(functools.partial(server_answers, session, name), ROUTES_TIMEOUT, name)
        record(f"proxy kill -9: {name}'s route back", time.monotonic() - killed)
    wait_until(lambda: formgraders_answer(hub_url), ROUTES_TIMEOUT, "the formgraders' routes")
    record("proxy kill -9: formgraders' routes back", time.monotonic() - killed)
    assert server_pids(guest, STUDENTS) == servers


# 3. `hubctl install` during class, with a new memory limit


def test_reinstall_with_a_new_memory_limit_during_class(
    guest, host, installed, hub_url, students, passwords, tmp_path
):
    servers = server_pids(guest, STUDENTS)
    changed = write_config(guest, tmp_path / "hub.yaml", limits={"memory": "768M"})
    try:
        run_install(guest, changed)
        late = logged_in(hub_url, LATE_STUDENT, passwords[LATE_STUDENT])
        record("after the re-install: a new server started", open_server(late, LATE_STUDENT))
        observed = {
            "servers": server_pids(guest, STUDENTS),
            "still routed": [name for name, s in students.items() if server_answers(s, name)],
            "MemoryMax": {
                name: host.check_output(f"systemctl show -p MemoryMax --value {unit(name)}")
                for name in (*STUDENTS, LATE_STUDENT)
            },
        }
    finally:
        run_install(guest, installed.config_path)
    assert observed == {
        "servers": servers,
        "still routed": list(STUDENTS),
        # 512M before, 768M after
        "MemoryMax": {**dict.fromkeys(STUDENTS, "536870912"), LATE_STUDENT: "805306368"},
    }


def test_the_restored_config_kept_every_server(guest, host, students, passwords):
    assert host.file(CONFIG).contains("memory: 512M")
    assert all(server_answers(session, name) for name, session in students.items())
    assert all(main_pid(guest, unit(name)) for name in (*STUDENTS, LATE_STUDENT))


# 4. A corrupted hub.yaml on the VM: the hub refuses to start rather than run on defaults


def test_a_corrupted_hub_yaml_keeps_the_hub_from_starting(guest, host, installed, hub_url):
    servers = server_pids(guest, STUDENTS)
    since = guest.run(["date", "+%Y-%m-%d %H:%M:%S"]).stdout.strip()
    guest.run(["sh", "-c", f"echo 'users: [' >> {CONFIG}"])
    try:
        guest.run(["systemctl", "restart", HUB])
        restarts = hub_restarts(guest)  # systemd's count of restarts after a failure
        wait_until(
            lambda: hub_restarts(guest) >= restarts + 2,
            RECOVERY_TIMEOUT,
            "two failed starts of the hub",
        )
        journal = guest.run(["journalctl", "-u", HUB, "--since", since, "--no-pager"]).stdout
        print(f"corrupted hub.yaml: {hub_restarts(guest) - restarts} failed starts seen")
    finally:
        # the fix `hubctl status` names: a correct hub.yaml and `hubctl install`
        run_install(guest, installed.config_path)
    assert re.search(rf"{CONFIG}:\d+:\d+: not valid YAML", journal), journal[-3000:]
    assert "JupyterHub is now running" not in journal
    assert hub_answers(hub_url)
    assert server_pids(guest, STUDENTS) == servers


# 5. A reboot: everything comes back without a command


@pytest.fixture(scope="module")
def rebooted(guest, hub_url, students):
    started = time.monotonic()
    guest.reboot()
    booted = time.monotonic()
    record("reboot: guest stopped and booted", booted - started)
    record(
        "reboot: hub answering after boot",
        wait_until(lambda: hub_answers(hub_url), RECOVERY_TIMEOUT, "the hub after a reboot"),
    )
    return booted


@pytest.mark.parametrize("unit_name", [HUB, PROXY])
def test_after_a_reboot_the_hub_and_proxy_run(guest, rebooted, unit_name):
    assert is_active(guest, unit_name)


def test_after_a_reboot_each_formgrader_answers(hub_url, rebooted):
    wait_until(lambda: formgraders_answer(hub_url), RECOVERY_TIMEOUT, "the formgraders")
    record("reboot: formgraders answering after boot", time.monotonic() - rebooted)


def test_after_a_reboot_the_culler_and_formgraders_run(guest, rebooted):
    assert hub_services(guest) == {"idle-culler": True}
    assert [is_active(guest, unit) for unit in FORMGRADERS] == [True, True]


def test_after_a_reboot_a_student_logs_in_and_starts_a_server(hub_url, passwords, rebooted):
    name = STUDENTS[0]
    session = logged_in(hub_url, name, passwords[name])
    record("reboot: a student's new server started and entered", open_server(session, name))


def test_after_a_reboot_the_databases_pass_integrity_check(guest, rebooted):
    checked = json.loads(guest.run(["python3", "-c", INTEGRITY_PY]).stdout)
    print(f"integrity_check: {checked}")
    assert "/var/lib/hubctl/jupyterhub.sqlite" in checked
    assert set(checked.values()) == {"ok"}
