"""A fresh Debian 12 guest per session (systemd-nspawn, private network), with the hub
installed into it over SSH by the real `hubctl` command."""

import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import testinfra
import yaml

from hubctl.sandbox.guest import HOST_CA_BUNDLE, Guest, GuestSpec, prerequisites_missing

# Under pytest-xdist (`-n 2`) worker gwN has guests and files of its own: BASE + 10 * N and
# HUBCTL_E2E_DIR/gwN, so a session guest set up in two workers never collides. Without
# xdist WORKER is "" and nothing moves.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
E2E_ROOT = Path(os.environ.get("HUBCTL_E2E_DIR", "/var/tmp/hubctl-e2e")) / WORKER
# Guests get 10.77.(BASE + slot).0/24, slots 1..10: another BASE lets a second run go on
# beside this one.
E2E_INDEX_BASE = int(os.environ.get("HUBCTL_E2E_INDEX_BASE", "230")) + 10 * int(WORKER[2:] or 0)
if not 0 <= E2E_INDEX_BASE <= 254 - 10:
    raise pytest.UsageError(
        f"guest indexes {E2E_INDEX_BASE + 1}..{E2E_INDEX_BASE + 10} ({WORKER or 'no xdist'}) "
        "leave 1..254: lower HUBCTL_E2E_INDEX_BASE or the number of workers"
    )
HUBCTL = [sys.executable, "-m", "hubctl.cli"]

# The xdist group (`--dist loadgroup`) of each e2e module: a group runs on one worker, in
# file order, so each session guest is set up (and installed) once. Unlisted: "hub".
GROUPS = {
    "test_1_install": "hub",  # the shared hub: installed, host, hub_url
    "test_2_classroom": "hub",  # the shared hub: hub_url, installed, host
    "test_3_rerun": "hub",  # re-installs the shared hub
    "test_4_bad_input": "hub",  # the shared hub (guest, installed), then its own e2efresh
    "test_5_local_mode": "hub",  # a local install on the shared hub
    "test_6_grading": "hub",  # the shared hub: guest, installed, hub_url, host
    "test_7_users": "hub",  # the shared hub: cli, hub_url, host
    "test_8_status": "hub",  # the shared hub: guest, installed, host
    "test_9_attacks": "hub",  # the shared hub: cli, hub_url, guest, installed
    "test_9_backup": "hub",  # backs up the shared hub, then restores it onto e2erestore
    "test_9_disk_full": "hub",  # the shared hub: guest, installed, hub_url
    "test_9_faults": "hub",  # the shared hub: cli, guest, hub_url, host, installed
    "test_9_logs": "hub",  # the shared hub: guest, installed, host, hub_url
    "test_11_sandbox": "hub",  # the shared hub: hub_url, installed, host
    "test_11_plugins": "plugins",  # plugin_guest, plugin_install (its own `installed`)
    "test_12_plugin_datasets": "plugins",  # plugin_guest, plugin_install
    "test_12_plugin_example": "plugins",  # plugin_guest, plugin_install (its own `cli`)
    "test_12_plugin_git_content": "plugins",  # plugin_guest, plugin_install
    "test_13_plugin_exam": "plugins",  # plugin_guest, plugin_install
    "test_10_https": "https",  # its own guest e2etls (its own `guest` and `host`)
    "test_10_firewall": "firewall",  # its own guest e2efw
    "test_9_uninstall": "uninstall",  # its own guest e2euninst
    "test_9_upgrade": "upgrade",  # its own guest e2eupgrade
    "test_9_upgrade_term": "upgrade_term",  # its own guest e2eterm (issue 13's upgrade)
    "test_guest_smoke": "smoke",  # its own guest hsmoke (index 200 whatever the base)
}
# Session fixtures that set up a guest (or a venv): the group that alone may set each up.
SESSION_SETUPS = {"guest": "hub", "plugin_guest": "plugins", "plugin_cli": "plugins"}


WRONG_GROUP = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)  # before xdist's hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" not in str(item.fspath):
            continue
        item.add_marker(pytest.mark.e2e)
        group = GROUPS.get(item.path.stem, "hub")
        item.add_marker(pytest.mark.xdist_group(group))
        for fixture, owner in SESSION_SETUPS.items():
            if group != owner and uses_session_fixture(item, fixture):
                item.stash[WRONG_GROUP] = (
                    f"{item.path.name} uses the session fixture {fixture} but its group is "
                    f"{group!r}: put it in {owner!r} (tests/e2e/conftest.py GROUPS)"
                )


def pytest_runtest_setup(item):
    """In a worker, a test that could set up a guest a second time (its group was not applied,
    or it uses another group's session guest) fails before its fixtures are set up. Without
    xdist it runs as before."""
    mark = item.get_closest_marker("xdist_group")
    if not WORKER or mark is None:
        return
    if item.config.getoption("loadgroup", False) and not item.nodeid.endswith(f"@{mark.args[0]}"):
        pytest.fail(
            "pytest-xdist ignored the groups (its issue 1386: pytest >= 9.2)", pytrace=False
        )
    if WRONG_GROUP in item.stash:
        pytest.fail(item.stash[WRONG_GROUP], pytrace=False)


def uses_session_fixture(item, name: str) -> bool:
    """Whether `item` sets up this conftest's fixture `name`, not a module's own of that name."""
    definitions = item._fixtureinfo.name2fixturedefs.get(name, ())
    return any(Path(d.func.__code__.co_filename) == Path(__file__) for d in definitions[-1:])


@pytest.fixture(scope="session")
def guest():
    missing = prerequisites_missing()
    if missing:
        pytest.fail(f"e2e tests need {', '.join(missing)} (see .ci/run)")
    # The guest does not trust the site CA by itself: hubctl's network.ca_bundle must do it.
    with fresh_guest("e2ehub", slot=1) as machine:
        yield machine


@contextmanager
def fresh_guest(name: str, slot: int):
    """A newly booted guest, destroyed afterwards. Slots: 1 e2ehub, 2 e2efresh, 3 e2erestore,
    4 e2eupgrade, 5 e2euninst, 6 e2etls, 7 e2efw (the firewall), 8 e2eplugin (plugins),
    9 e2eterm (an upgrade in the middle of a course). The highest slot plus
    HUBCTL_E2E_INDEX_BASE must stay within 254."""
    index = E2E_INDEX_BASE + slot
    # The machine name is also the host's interface (ve-NAME), which stopping a guest
    # deletes: with the index in it, runs side by side never take down each other's network.
    spec = GuestSpec(
        name=f"{name[:8]}{index}", state_dir=E2E_ROOT / name, index=index, ca_bundle=None
    )
    machine = Guest(spec)
    machine.destroy()
    machine.create()
    machine.boot()
    try:
        yield machine
    finally:
        machine.destroy()


@dataclass
class Install:
    config_path: Path
    output: str
    passwords: dict[str, str]


def hubctl(
    *args: str, check: bool = True, env: dict | None = None, cli: list[str] = HUBCTL
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    result = subprocess.run([*cli, *args], capture_output=True, text=True, env=env, check=False)
    sys.stderr.write(result.stderr)
    sys.stdout.write(result.stdout)
    if check and result.returncode:
        pytest.fail(f"hubctl {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


TA_PASSWORD = "correct-horse-battery-staple"
LOCKOUT_AFTER, LOCKOUT_SECONDS = 3, 60  # short, so a test sees a lockout end


# Course A: its students come from a roster (tests/e2e/test_6_grading.py imports it);
# course B lists its student in hub.yaml, so the install makes her account.
COURSES = [
    {"id": "cs101", "title": "Programming 1", "instructors": ["teacher"], "graders": ["marker"],
     "timezone": "Europe/Berlin"},
    {"id": "math2", "instructors": ["ta"], "students": ["cara"]},
]  # fmt: skip


def write_config(guest: Guest, path: Path, **overrides) -> Path:
    """The e2e hub.yaml: one instructor with a generated password, one from a file who is
    root (sudo), and two courses."""
    (path.parent / "ta-password").write_text(TA_PASSWORD + "\n")
    instructors = ["teacher", {"name": "ta", "password_file": "ta-password", "sudo": True}]
    data = {
        "users": {
            "instructors": instructors,
            "minimum_password_length": 8,
            "allowed_failed_logins": LOCKOUT_AFTER,
            "lockout": f"{LOCKOUT_SECONDS}s",
        },
        "limits": {"memory": "512M", "cpu": 1.0, "idle_timeout": "1h"},
        "network": {"http_proxy": guest.spec.proxy_url, "ca_bundle": str(HOST_CA_BUNDLE)},
        "courses": COURSES,
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(data))
    return path


def install_args(guest: Guest, config_path: Path, user: str = "root", port: str = "") -> list[str]:
    host = f"{user}@{guest.spec.address}" + (f":{port}" if port else "")
    return [
        "install", "--config", str(config_path), "--host", host,
        "--ssh-key", str(guest.spec.ssh_key),
    ]  # fmt: skip


def ssh_options_env(guest: Guest) -> dict[str, str]:
    return {"ANSIBLE_SSH_COMMON_ARGS": " ".join(guest.ssh_options)}


def run_install(
    guest: Guest, config_path: Path, *extra: str, check: bool = True, cli: list[str] = HUBCTL
):
    return hubctl(
        *install_args(guest, config_path), *extra, check=check, env=ssh_options_env(guest), cli=cli
    )


def passwords_in(output: str) -> dict[str, str]:
    """Instructors' passwords as printed, and the course members' from the CSV it names."""
    passwords = dict(re.findall(r"New instructor account: (\S+)  password: (\S+)", output))
    for csv_path in re.findall(r"passwords in (\S+) \(hand them out\)", output):
        rows = Path(csv_path).read_text().splitlines()[1:]
        passwords.update(row.split(",", 1) for row in rows)
    return passwords


@pytest.fixture(scope="session")
def installed(guest, tmp_path_factory) -> Install:
    config_path = write_config(guest, tmp_path_factory.mktemp("config") / "hub.yaml")
    result = run_install(guest, config_path)
    return Install(config_path, result.stdout, passwords_in(result.stdout))


@pytest.fixture(scope="session")
def host(guest, installed, tmp_path_factory):
    return ssh_host_of(guest, tmp_path_factory.mktemp("ssh"))


def ssh_host_of(guest: Guest, folder: Path):
    """testinfra's view of `guest`, as root over SSH."""
    ssh_config = folder / "config"
    options = "\n".join(
        f"  {opt.split('=', 1)[0]} {opt.split('=', 1)[1]}"
        for opt in guest.ssh_options
        if opt != "-o"
    )
    ssh_config.write_text(
        f"Host hub\n  HostName {guest.spec.address}\n  User root\n"
        f"  IdentityFile {guest.spec.ssh_key}\n{options}\n"
    )
    return testinfra.get_host("ssh://hub", ssh_config=str(ssh_config))


@pytest.fixture(scope="session")
def cli(guest, installed):
    """`hubctl ARGS --host` the shared guest, over SSH as a user would."""
    host_args = ["--host", f"root@{guest.spec.address}", "--ssh-key", str(guest.spec.ssh_key)]

    def run(*args: str, check: bool = True):
        return hubctl(*args, *host_args, check=check, env=ssh_options_env(guest))

    return run


@pytest.fixture(scope="session")
def hub_url(guest, installed) -> str:
    return f"http://{guest.spec.address}"


# The plugins' e2e modules (test_1[1-3]_plugin*.py) share one guest where hub.yaml enables
# every built-in plugin and the third-party example with these settings: one install
# instead of one per plugin.
# git_content: a repository the test makes on this machine, served by `git daemon` on the
# host side of the plugin guest's veth (test_12_plugin_git_content.py starts it).
PLUGIN_GIT_HOST = f"10.77.{E2E_INDEX_BASE + 8}.1"
PLUGIN_SETTINGS = {
    "packages": {"pip": ["humanize==4.17.0"], "apt": ["jq"]},
    "git_content": {"courses": {"math2": {"repo": f"git://{PLUGIN_GIT_HOST}/math2-notes.git"}}},
    "datasets": {},  # a dataset folder for each course
    "example": {"greeting": "Welcome to the course"},
    "exam": {},
}
EXAMPLE_PLUGIN = Path(__file__).resolve().parents[1] / "plugin_example"


@pytest.fixture(scope="session")
def plugin_cli() -> list[str]:
    """hubctl as a user with a third-party plugin runs it: a venv of its own where pip
    installed hubctl (this checkout) and then the example plugin (tests/plugin_example)."""
    venv = E2E_ROOT / "plugin-cli"
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    for package in (EXAMPLE_PLUGIN.parents[1], EXAMPLE_PLUGIN):
        done = subprocess.run(
            [python, "-m", "pip", "install", "--quiet", str(package)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            pytest.fail(f"pip install {package} failed:\n{done.stderr}")
    return [python, "-m", "hubctl.cli"]


@pytest.fixture(scope="session")
def plugin_guest():
    with fresh_guest("e2eplugin", slot=8) as machine:
        yield machine


@pytest.fixture(scope="session")
def plugin_install(plugin_guest, plugin_cli, tmp_path_factory) -> Install:
    config_path = write_config(
        plugin_guest, tmp_path_factory.mktemp("plugins") / "hub.yaml", plugins=PLUGIN_SETTINGS
    )
    started = time.monotonic()
    result = run_install(plugin_guest, config_path, check=False, cli=plugin_cli)
    if result.returncode:
        journal = plugin_guest.run(["journalctl", "-u", "jupyterhub", "-n", "80", "--no-pager"])
        pytest.fail(f"install failed:\n{result.stderr}\nhub journal:\n{journal.stdout}")
    print(f"FIGURE first install with every built-in plugin: {time.monotonic() - started:.0f} s")
    return Install(config_path, result.stdout, passwords_in(result.stdout))


# Each group's (scenario's) time, printed after the run: its first setup to its last
# teardown on its worker, and the sum of its tests' durations.
GROUP_TIMES: dict[str, list[float]] = {}


def pytest_runtest_logreport(report):
    group = report.nodeid.rpartition("@")[2] if "@" in report.nodeid else None
    if group is None or not hasattr(report, "start"):
        return
    first, last, total = GROUP_TIMES.get(group, [report.start, report.stop, 0.0])
    GROUP_TIMES[group] = [min(first, report.start), max(last, report.stop), total + report.duration]


def pytest_terminal_summary(terminalreporter):
    if not GROUP_TIMES:
        return
    terminalreporter.section("e2e scenario times")
    for group, (first, last, total) in sorted(GROUP_TIMES.items(), key=lambda kv: kv[1][0]):
        terminalreporter.write_line(
            f"{group:14} {(last - first) / 60:5.1f} min from first setup to last teardown "
            f"({total / 60:.1f} min in its tests)"
        )
