"""Attacks on the hub, each tried for real on the shared guest: as a student, from code run in
her own notebook (her kernel, in her sandboxed server unit), and as an HTTP client from this
machine. Each has a row in docs/security.md naming its test.

The tests run in file order: the students' servers start once, the bombs come last.
"""

import concurrent.futures
import json
import time
import urllib.error
import urllib.request

import pytest
from browser import launch_browser, log_in, new_person, open_lab, run_cell, start_cell
from conftest import LOCKOUT_AFTER, LOCKOUT_SECONDS, TA_PASSWORD
from hubhttp import HubSession, sign_up
from playwright.sync_api import sync_playwright

from hubctl import layout

MALLORY = "mallory"  # the attacker: an approved student
VICTOR = "victor"  # whose work she is after
BYSTANDER = "bea"  # another student, who must not notice any of it
PENDING = "pat"  # signed up, never approved
PENDING_PASSWORD = "quiet-heron-52-lake"
RESULT_MARK = "ATTACK-RESULTS "
VICTOR_SECRET = "victor-diary-2f9c"
# How each refusal reads: the kernel's, sudo's and su's, systemctl's (polkit), and an HTTP one.
REFUSED = ("Permission denied", "Operation not permitted", "Read-only file system",
           "no new privileges", "Authentication failure", "must be run from a terminal",
           "Interactive authentication required", "Access denied", "HTTP Error 403",
           "refused: HTTP")  # fmt: skip
# What her sandbox does not even show her (a private /tmp; with ProtectHome=tmpfs and
# ProtectProc=invisible, other homes and other users' processes) reads "not there" instead.
MAYBE_NOT_THERE = {
    "list another student's home",
    "read another student's file",
    "read another student's /tmp file",
    "read another student's server environment (its hub token)",
    "signal another student's server",
    "read the proxy token from the proxy's environment",
}
NOT_THERE = ("No such file", "No such process")


def unit(name: str) -> str:
    return f"jupyter-{name}-singleuser"


def api(hub_url: str, path: str, method: str = "GET", body: dict | None = None,
        token: str | None = None) -> int:  # fmt: skip
    """The status of a hub REST API call from this machine, with no cookie."""
    request = urllib.request.Request(
        hub_url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {token}"} if token else {},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def logs_in(hub_url: str, name: str, password: str) -> bool:
    return HubSession(hub_url).log_in(name, password) == 302


@pytest.fixture(scope="module")
def passwords(cli) -> dict[str, str]:
    made = {}
    for name in (MALLORY, VICTOR, BYSTANDER):
        output = cli("users", "add", name, "--course", "cs101").stdout
        made[name] = output.split("password: ")[1].split()[0]
    return made


@pytest.fixture(scope="module")
def pages(hub_url, passwords):
    """Each student logged in with her JupyterLab open, in a browser context of her own."""
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        for name in (MALLORY, VICTOR, BYSTANDER):  # the three servers start side by side
            session = HubSession(hub_url)
            session.log_in(name, passwords[name])
            session.request(f"/hub/spawn/{name}")
        opened = {}
        for name in (MALLORY, VICTOR, BYSTANDER):
            _, page = new_person(browser)
            log_in(page, hub_url, name, passwords[name])
            open_lab(page, hub_url, name)
            opened[name] = page
        yield opened
        browser.close()


@pytest.fixture(scope="module")
def victor_traces(pages, guest) -> dict[str, object]:
    """Victor's kernel leaves a file in his home and one in his /tmp; where his server runs."""
    written = run_cell(
        pages[VICTOR],
        f"open('/home/{VICTOR}/diary.txt', 'w').write('{VICTOR_SECRET}')\n"
        f"open('/tmp/{VICTOR}-notes.txt', 'w').write('{VICTOR_SECRET}')\n"
        f"print(open('/tmp/{VICTOR}-notes.txt').read())",
    )
    assert written == VICTOR_SECRET
    pid = int(guest.run(["systemctl", "show", "-p", "MainPID", "--value", unit(VICTOR)]).stdout)
    listening = guest.run(["ss", "-Hltnp"]).stdout
    port = next(
        line.split()[3].rsplit(":", 1)[1]
        for line in listening.splitlines()
        if f"pid={pid}," in line
    )
    proxy_pid = guest.run(["systemctl", "show", "-p", "MainPID", "--value", layout.PROXY_UNIT])
    return {"pid": pid, "port": port, "proxy_pid": proxy_pid.stdout.strip()}


def attempts(traces: dict[str, object]) -> dict[str, str]:
    """What Mallory tries from her notebook: each shell command must fail."""
    hub_api = f"http://127.0.0.1:{layout.HUB_API_PORT}/hub/api"
    with_her_token = (
        'python3 -c "import os, sys, urllib.request as u; '
        "r = u.Request(sys.argv[1], method=sys.argv[2], data=sys.argv[3].encode() or None, "
        "headers={'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']}); "
        'print(u.urlopen(r, timeout=10).status)"'
    )
    return {
        "list another student's home": f"ls /home/{VICTOR}",
        "read another student's file": f"cat /home/{VICTOR}/diary.txt",
        "read another student's /tmp file": f"cat /tmp/{VICTOR}-notes.txt",
        "read another student's server environment (its hub token)":
            f"cat /proc/{traces['pid']}/environ",
        "signal another student's server": f"kill -STOP {traces['pid']}",
        "open another student's server by its port": (
            "python3 -c \"import http.client as h; "
            f"c = h.HTTPConnection('127.0.0.1', {traces['port']}, timeout=10); "
            f"c.request('GET', '/user/{VICTOR}/api/contents'); r = c.getresponse(); "
            "raise SystemExit(0 if r.status < 300 else f'refused: HTTP {r.status}')\""
        ),
        "read the hub database": f"cat {layout.DATABASE_FILE}",
        "read the cookie secret": f"cat {layout.COOKIE_SECRET_FILE}",
        "read the proxy token": f"cat {layout.PROXY_TOKEN_ENV_FILE}",
        "read the proxy token from the proxy's environment":
            f"cat /proc/{traces['proxy_pid']}/environ",
        "read hubctl's hub API token": f"cat {layout.ADMIN_TOKEN_FILE}",
        "read hub.yaml": f"cat {layout.CONFIG_FILE}",
        "read a course's gradebook": f"cat {layout.course_dir('cs101')}/gradebook.db",
        "sudo": "sudo -n true",
        "su to root": "su -c true root </dev/null",
        "setuid(0)": "python3 -c 'import os; os.setuid(0)'",
        "plant code in the hub's environment (runs as root)": f"touch {layout.HUB_VENV}/bin/x",
        "plant code in every student's environment": f"touch {layout.USER_VENV}/bin/x",
        "change a system file": "touch /etc/passwd",
        "stop the hub": f"systemctl stop {layout.HUB_UNIT}",
        "list the hub's users with her server's token": f"{with_her_token} {hub_api}/users GET ''",
        "make herself admin with her server's token":
            f"{with_her_token} {hub_api}/users/{MALLORY} PATCH '{{\"admin\": true}}'",
        "start another student's server with her token":
            f"{with_her_token} {hub_api}/users/{VICTOR}/server POST '{{}}'",
    }  # fmt: skip


ATTACK_SCRIPT = """
import json, subprocess
attempts = json.loads({attempts!r})
results = {{}}
for name, command in attempts.items():
    done = subprocess.run(['bash', '-c', command], capture_output=True, text=True, timeout=30)
    results[name] = [done.returncode, (done.stdout + done.stderr)[-400:]]
print({mark!r} + json.dumps(results))
"""


@pytest.fixture(scope="module")
def attack_results(pages, victor_traces) -> dict[str, list]:
    planned = attempts(victor_traces)
    code = ATTACK_SCRIPT.format(attempts=json.dumps(planned), mark=RESULT_MARK)
    output = run_cell(pages[MALLORY], code)
    results = json.loads(output.split(RESULT_MARK, 1)[1])
    for name, (code_, text) in results.items():
        print(f"ATTACK {name}: exit {code_}: {text.strip()[:160]!r}")
    return results


# As a student, from her own notebook


def test_the_attacks_run_as_the_student_in_her_sandbox(pages):
    seen = run_cell(pages[MALLORY], "import os; print(os.getuid(), open('/proc/self/status')"
                    ".read().split('NoNewPrivs:')[1].split()[0])")  # fmt: skip
    uid, no_new_privileges = seen.split()
    assert int(uid) >= layout.FIRST_USER_UID
    assert no_new_privileges == "1"


@pytest.mark.parametrize("attempt", list(attempts({"pid": 0, "port": 0, "proxy_pid": 0})))
def test_a_student_cannot(attack_results, attempt):
    returncode, output = attack_results[attempt]
    assert returncode != 0, f"{attempt}: it worked: {output}"
    assert VICTOR_SECRET not in output
    expected = REFUSED + NOT_THERE if attempt in MAYBE_NOT_THERE else REFUSED
    assert any(reason in output for reason in expected), output


def test_victor_still_reads_his_own_files(pages, victor_traces):
    assert run_cell(pages[VICTOR], f"print(open('/home/{VICTOR}/diary.txt').read())") == (
        VICTOR_SECRET
    )


def test_victor_s_server_was_not_stopped(guest, victor_traces):
    state = guest.run(["ps", "-o", "stat=", "-p", str(victor_traces["pid"])]).stdout.strip()
    assert not state.startswith("T")


# Instructors: hub admins, root only when hub.yaml says so (conftest: ta has sudo: true)


@pytest.fixture(scope="module")
def ta_server(guest, hub_url) -> None:
    """ta's server running (its start also makes ta's Linux user)."""
    session = HubSession(hub_url)
    assert session.log_in("ta", TA_PASSWORD) == 302
    session.request("/hub/spawn/ta")
    for _ in range(180):
        if (
            guest.run(["systemctl", "is-active", unit("ta")], check=False).stdout.strip()
            == "active"
        ):
            return
        time.sleep(1)
    pytest.fail("ta's server did not start within 180 s")


def no_new_privileges(guest, name: str) -> str:
    shown = guest.run(["systemctl", "show", "-p", "NoNewPrivileges", "--value", unit(name)])
    return shown.stdout.strip()


def test_an_instructor_is_not_root(guest):
    result = guest.run(["runuser", "-u", "teacher", "--", "sudo", "-n", "true"], check=False)
    assert result.returncode != 0


def test_the_instructor_hub_yaml_makes_root_is(guest, ta_server):
    assert guest.run(["runuser", "-u", "ta", "--", "sudo", "-n", "id", "-u"]).stdout.strip() == "0"


def test_only_the_root_instructor_s_server_lets_sudo_work(guest, ta_server, pages):
    assert no_new_privileges(guest, "ta") == "no"
    assert no_new_privileges(guest, MALLORY) == "yes"


# Sign-up under names that must never become hub users or Linux accounts

TAKEN_NAMES = ["teacher", "Teacher"]  # an instructor's: refused, her account unchanged
BAD_NAMES = ["root", "daemon", "sshd", *TAKEN_NAMES, "a" * 300, "../etc", "x/../y", "a b",
             "ünïcode", "grader-cs101"]  # fmt: skip


@pytest.fixture(scope="module")
def refused_sign_ups(hub_url) -> dict[str, str]:
    return {name: sign_up(hub_url, name, "fresh-otter-91-dune") for name in BAD_NAMES}


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_name_is_refused_cleanly(refused_sign_ups, name):
    page = refused_sign_ups[name]
    assert "Something went wrong" in page
    assert "Your information has been sent" not in page


@pytest.mark.parametrize("name", [name for name in BAD_NAMES if name not in TAKEN_NAMES])
def test_a_bad_name_gets_no_hub_account_or_server(cli, guest, name):
    listed = {user["name"] for user in json.loads(cli("users", "list", "--json").stdout)}
    assert name.lower() not in listed
    assert guest.run(["systemctl", "cat", unit(name.lower())], check=False).returncode != 0


def test_the_instructor_keeps_her_password(hub_url, installed):
    assert logs_in(hub_url, "teacher", installed.passwords["teacher"])


# Passwords at sign-up


@pytest.mark.parametrize(
    ("name", "password"), [("shorty", "2short"), ("commoner", "password1"), ("twelver", "12345678")]
)
def test_a_weak_password_is_refused_at_sign_up(hub_url, name, password):
    page = sign_up(hub_url, name, password)
    assert "at least 8 characters and is not too common" in page
    assert not logs_in(hub_url, name, password)


# An unapproved user


@pytest.fixture(scope="module")
def pending(hub_url) -> str:
    assert "Your information has been sent" in sign_up(hub_url, PENDING, PENDING_PASSWORD)
    return PENDING


def test_an_unapproved_user_cannot_log_in(hub_url, pending):
    session = HubSession(hub_url)
    assert session.log_in(pending, PENDING_PASSWORD) != 302
    assert not session.is_logged_in()


def test_an_unapproved_user_cannot_get_a_token_with_her_password(hub_url, pending):
    body = {"auth": {"username": pending, "password": PENDING_PASSWORD}}
    assert api(hub_url, f"/hub/api/users/{pending}/tokens", "POST", body) == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/hub/api/users"), ("GET", f"/hub/api/users/{PENDING}"),
     ("POST", f"/hub/api/users/{PENDING}/server"), ("GET", "/hub/api/proxy")],
)  # fmt: skip
def test_the_rest_api_refuses_an_unapproved_user(hub_url, pending, method, path):
    assert api(hub_url, path, method, {} if method == "POST" else None) == 403


def test_an_approved_student_gets_a_token_with_her_password(hub_url, passwords):
    body = {"auth": {"username": BYSTANDER, "password": passwords[BYSTANDER]}}
    assert api(hub_url, f"/hub/api/users/{BYSTANDER}/tokens", "POST", body) in (200, 201)


# Brute force against Victor's password


@pytest.fixture(scope="module")
def brute_force(hub_url, passwords) -> dict[str, object]:
    """Victor is logged in. An attacker guesses his password until the name is locked, tries
    the right one by both doors (login page, token API), then guesses on from several
    connections at once."""
    victor_session = HubSession(hub_url)
    assert victor_session.log_in(VICTOR, passwords[VICTOR]) == 302
    first_guesses = [not logs_in(hub_url, VICTOR, f"guess-{n}") for n in range(LOCKOUT_AFTER)]
    last_failure = time.monotonic()
    right = {"auth": {"username": VICTOR, "password": passwords[VICTOR]}}
    token_status = api(hub_url, f"/hub/api/users/{VICTOR}/tokens", "POST", right)
    right_password_logs_in = logs_in(hub_url, VICTOR, passwords[VICTOR])
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        more_guesses = list(
            pool.map(lambda n: not logs_in(hub_url, VICTOR, f"more-{n}"), range(20))
        )
    print(f"FIGURE brute force: 20 guesses on a locked name in {time.monotonic() - started:.1f} s")
    assert time.monotonic() < last_failure + LOCKOUT_SECONDS, "lockout ended before the checks"
    return {
        "session": victor_session,
        "refused": first_guesses + more_guesses,
        "token_status": token_status,
        "right_password_logs_in": right_password_logs_in,
        "last_failure": last_failure,
    }


def test_every_guess_is_refused(brute_force):
    assert all(brute_force["refused"])


def test_once_locked_even_the_right_password_is_refused(brute_force):
    assert brute_force["right_password_logs_in"] is False


def test_once_locked_the_token_api_refuses_the_right_password(brute_force):
    assert brute_force["token_status"] == 403


def test_others_log_in_quickly_during_the_lockout(brute_force, hub_url, passwords):
    started = time.monotonic()
    assert logs_in(hub_url, BYSTANDER, passwords[BYSTANDER])
    print(f"FIGURE login of another student during the lockout: {time.monotonic() - started:.2f} s")


def test_victor_s_open_session_is_not_locked_out(brute_force):
    assert brute_force["session"].is_logged_in()


def test_victor_logs_in_again_once_the_lockout_ends(brute_force, hub_url, passwords):
    time.sleep(max(0.0, brute_force["last_failure"] + LOCKOUT_SECONDS + 2 - time.monotonic()))
    assert logs_in(hub_url, VICTOR, passwords[VICTOR])


# A memory bomb in Mallory's notebook: only her kernel dies (limits.memory is 512M in conftest).
# The fork bomb is in test_11_sandbox.py.

MEMORY_BOMB = """
blocks = []
while True:
    blocks.append(bytearray(64 << 20))
    print(len(blocks) * 64, 'MB', flush=True)
"""


def others_carry_on(hub_url: str, passwords: dict[str, str], pages) -> None:
    assert api(hub_url, "/hub/api/") == 200
    assert logs_in(hub_url, VICTOR, passwords[VICTOR])
    assert run_cell(pages[BYSTANDER], "print(6 * 7)") == "42"


def memory_limit_hits(guest, unit_name: str) -> str:
    """How often the unit's memory limit was hit (cgroup v1) or its OOM kills (v2)."""
    v1 = f"/sys/fs/cgroup/memory/system.slice/{unit_name}.service/memory.failcnt"
    v2 = f"/sys/fs/cgroup/system.slice/{unit_name}.service/memory.events"
    return guest.run(["sh", "-c", f"cat {v1} 2>/dev/null || grep oom_kill {v2}"]).stdout.strip()


def test_a_memory_bomb_kills_only_her_kernel(pages, guest, hub_url, passwords):
    server_pid = guest.run(["systemctl", "show", "-p", "MainPID", "--value", unit(MALLORY)]).stdout
    started = time.monotonic()
    start_cell(pages[MALLORY], MEMORY_BOMB)
    died = pages[MALLORY].locator(".jp-Dialog", has_text="appears to have died")
    died.wait_for(timeout=120_000)
    print(f"FIGURE memory bomb: kernel killed after {time.monotonic() - started:.1f} s")
    died.get_by_role("button", name="Ok").click()
    hits = memory_limit_hits(guest, unit(MALLORY))
    print(f"memory limit reached: {hits}")
    assert hits and hits.split()[-1] != "0"
    after = guest.run(["systemctl", "show", "-p", "MainPID", "--value", unit(MALLORY)]).stdout
    assert after == server_pid  # her server lives on; only the kernel died
    others_carry_on(hub_url, passwords, pages)
