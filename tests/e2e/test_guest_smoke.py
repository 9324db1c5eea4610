"""Boot a real Debian 12 guest, SSH in, fetch through the host proxy, reboot, destroy.

Needs root, systemd-nspawn, debootstrap and tinyproxy; the first run builds the
cached base tree (about 80 s), later runs take a few seconds.
"""

import subprocess
import warnings
from pathlib import Path

import pytest

from hubctl.sandbox.guest import Guest, GuestSpec, prerequisites_fix, prerequisites_missing

pytestmark = pytest.mark.e2e

FETCH = """
import sys, urllib.request
proxy = sys.argv[1]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
for url in sys.argv[2:]:
    with opener.open(url, timeout=30) as reply:
        head = reply.read(300).decode()
        print(url, reply.status, head.splitlines()[0])
"""
RELEASE = "debian/dists/bookworm/Release"


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    missing = prerequisites_missing()
    if missing:
        pytest.fail(f"needs {', '.join(missing)}: {prerequisites_fix(missing)}")
    state_dir = tmp_path_factory.mktemp("sandbox") / "hsmoke"
    guest = Guest(GuestSpec(name="hsmoke", state_dir=state_dir, index=200))
    try:
        guest.create()
        guest.boot()
        yield guest
    finally:
        guest.destroy()


def test_systemd_is_running(guest):
    state = guest.run(["systemctl", "is-system-running"], check=False).stdout.strip()
    if state == "degraded":
        failed = guest.run(["systemctl", "--failed", "--no-legend", "--plain"], check=False)
        warnings.warn(f"guest is degraded; failed units: {failed.stdout.strip()}", stacklevel=1)
    assert state in ("running", "degraded")


def test_ssh_with_the_key(guest):
    proc = subprocess.run(
        guest.ssh_command(["hostname", "&&", "ip", "-4", "-o", "addr", "show", "host0"]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "hsmoke"
    assert "10.77.200.2/24" in proc.stdout
    assert guest.spec.known_hosts.read_text().startswith("10.77.200.2 ")


def test_fetch_through_host_proxy(guest):
    assert guest.spec.proxy_url == "http://10.77.200.1:8888"
    urls = [f"http://deb.debian.org/{RELEASE}", f"https://deb.debian.org/{RELEASE}"]
    proc = guest.run(["python3", "-c", FETCH, guest.spec.proxy_url, *urls], timeout=120)
    # https proves the host's CA bundle is trusted in the guest
    for url, line in zip(urls, proc.stdout.splitlines(), strict=True):
        assert line == f"{url} 200 Origin: Debian"


def test_guest_has_no_proxy_configured(guest):
    # hubctl's own install configures the proxy; the bare guest must not
    proc = guest.run(["sh", "-c", "cat /etc/apt/apt.conf.d/* 2>/dev/null; env"])
    assert "10.77.200.1" not in proc.stdout


FORK_60 = """
import os, time
forked = 0
try:
    for _ in range(60):
        if os.fork() == 0:
            time.sleep(2)
            os._exit(0)
        forked += 1
except OSError:
    pass
print(forked)
"""


def test_a_units_task_limit_is_enforced(guest):
    proc = guest.run(["systemd-run", "--wait", "--pipe", "-q", "-p", "TasksMax=20",
                      "python3", "-c", FORK_60])  # fmt: skip
    assert int(proc.stdout) < 20


def test_a_units_memory_limit_is_enforced(guest):
    grab_400m = "blocks = [bytearray(20 << 20) for _ in range(20)]"
    proc = guest.run(
        ["systemd-run", "--wait", "-q", "-p", "MemoryMax=50M", "python3", "-c", grab_400m],
        check=False,
    )
    assert proc.returncode != 0
    result = guest.run(["journalctl", "-q", "-n", "3", "-o", "cat", "--no-pager"]).stdout
    assert "status=9/KILL" in result


def test_reboot_keeps_network_and_ssh(guest):
    old_pid = guest.nspawn_pid
    guest.reboot()
    assert guest.is_running() and guest.nspawn_pid != old_pid
    proc = subprocess.run(guest.ssh_command(["true"]), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert Guest.load(guest.spec.state_dir).status()["state"] == "running"


def test_destroy_cleans_up(guest):
    pids = [guest.nspawn_pid, guest.tinyproxy_pid]
    state_dir = guest.spec.state_dir
    guest.destroy()
    assert not state_dir.exists()
    assert not Path("/sys/class/net/ve-hsmoke").exists()
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
