"""`hubctl uninstall` on its own fresh guest: a snapshot of the VM before the install
(packages, accounts, groups, unit files, the files under /etc /opt /srv /var/lib /usr/local
/var/backups /home) is compared with the VM after each uninstall.

- By default the VM is as before except the data and accounts the command says it kept.
- A second uninstall is harmless and says there was nothing to remove.
- Installed again, then `--delete-data --remove-users`: the VM is as before.

Unavoidable differences, ignored (NOISE): apt's package lists and dpkg's and ucf's own
bookkeeping (apt-get update ran; dpkg keeps backups of its status), the backups of
/etc/passwd and friends that useradd/userdel leave (`/etc/passwd-`), and a stopped
server's transient unit, which systemd sometimes keeps listing (in /run: gone at reboot;
it is neither running nor failed, the failed units are compared).
"""

import re
import time
from pathlib import Path

import pytest
from conftest import fresh_guest, hubctl, passwords_in, run_install, ssh_options_env, write_config
from hubhttp import HubSession

STUDENT = "cara"  # made by the install (a student of math2); starts a server
SNAPSHOT = r"""
echo '## packages'; dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n'
echo '## users'; cut -d: -f1 /etc/passwd
echo '## groups'; cut -d: -f1 /etc/group
echo '## unit files'; systemctl list-unit-files --no-legend --no-pager | awk '{print $1, $2}'
echo '## failed units'; systemctl list-units --failed --no-legend --plain | awk '{print $1}'
echo '## files'; find /etc /opt /srv /var/lib /usr/local /var/backups /home -xdev
"""
NOISE = re.compile(
    r"^(/var/lib/apt/lists/.*|/var/lib/apt/extended_states|/var/lib/dpkg/.*|/var/lib/ucf/.*"
    r"|/etc/(passwd|group|shadow|gshadow|subuid|subgid)-|\S+ transient)$"
)


def snapshot(guest) -> dict[str, set[str]]:
    sections: dict[str, set[str]] = {}
    for line in guest.run(["sh", "-c", SNAPSHOT]).stdout.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:], set())
        elif not NOISE.match(line):
            current.add(line)
    return sections


def changes(before: dict, after: dict) -> dict[str, tuple[set, set]]:
    """Per section: (added, removed), only the sections that differ."""
    found = {}
    for name in before:
        added, removed = after[name] - before[name], before[name] - after[name]
        if added or removed:
            found[name] = (added, removed)
    return found


@pytest.fixture(scope="module")
def machine():
    with fresh_guest("e2euninst", slot=5) as guest:
        yield guest


@pytest.fixture(scope="module")
def before(machine) -> dict[str, set[str]]:
    return snapshot(machine)


@pytest.fixture(scope="module")
def config_path(machine, tmp_path_factory) -> Path:
    return write_config(machine, tmp_path_factory.mktemp("uninstall") / "hub.yaml")


@pytest.fixture(scope="module")
def uninstall(machine):
    host_args = ["--host", f"root@{machine.spec.address}", "--ssh-key", str(machine.spec.ssh_key)]

    def run(*args: str):
        return hubctl("uninstall", "--yes", *args, *host_args, env=ssh_options_env(machine))

    return run


def start_a_server(machine, passwords: dict[str, str]) -> None:
    session = HubSession(f"http://{machine.spec.address}")
    assert session.log_in(STUDENT, passwords[STUDENT]) == 302
    session.request(f"/hub/spawn/{STUDENT}")
    unit = f"jupyter-{STUDENT}-singleuser"
    for _ in range(90):
        if machine.run(["systemctl", "is-active", unit], check=False).stdout.strip() == "active":
            return
        time.sleep(2)
    pytest.fail(f"{unit} did not start")


def test_by_default_only_the_data_and_the_people_stay(machine, before, config_path, uninstall):
    installed = run_install(machine, config_path)
    start_a_server(machine, passwords_in(installed.stdout))
    result = uninstall()
    assert result.stdout.startswith(f"Removed the hub from {machine.spec.address} in ")
    assert (
        "Kept the data: /var/lib/hubctl (the hub database); /srv/nbgrader (courses, gradebooks"
        " and the exchange)" in result.stdout
    )
    assert (
        "Kept with it the accounts and groups that own it: grader-cs101, grader-math2,"
        " hubctl-cs101, hubctl-math2." in result.stdout
    )
    kept_users = re.search(r"Linux accounts and homes \(([^)]*)\)", result.stdout)[1].split(", ")
    assert STUDENT in kept_users

    found = changes(before, snapshot(machine))
    kept_paths = ("/var/lib/hubctl", "/srv/nbgrader", "/var/backups/hubctl", "/home/")
    added_files, removed_files = found.pop("files")
    assert removed_files == set()
    assert {path for path in added_files if not path.startswith(kept_paths)} == set()
    assert "/var/lib/hubctl/jupyterhub.sqlite" in added_files
    assert f"/home/{STUDENT}" in added_files
    accounts = {*kept_users, "grader-cs101", "grader-math2"}
    assert found.pop("users") == (accounts, set())
    groups = {*accounts, "hubctl-users", "hubctl-cs101", "hubctl-math2"}
    assert found.pop("groups") == (groups, set())
    assert found == {}  # packages, unit files, failed units: as before


def test_a_second_uninstall_is_harmless(machine, uninstall):
    result = uninstall()
    assert result.stdout.splitlines()[0] == (
        f"Nothing to remove: no hubctl hub on {machine.spec.address}."
    )
    assert "Kept the data: /var/lib/hubctl" in result.stdout


def test_installed_again_then_removed_with_data_and_users_leaves_the_vm_as_before(
    machine, before, config_path, uninstall
):
    result = run_install(machine, config_path, check=False)
    if result.returncode:
        journal = machine.run(["journalctl", "-u", "jupyterhub", "-n", "200", "--no-pager"])
        pytest.fail(f"the install after an uninstall failed; the hub's journal:\n{journal.stdout}")
    assert machine.run(["systemctl", "is-active", "jupyterhub"]).stdout.strip() == "active"
    result = uninstall("--delete-data", "--remove-users")
    assert result.stdout.splitlines()[0].startswith("Removed the hub from")
    assert "Kept" not in result.stdout
    assert changes(before, snapshot(machine)) == {}
