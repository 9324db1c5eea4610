"""Make and drive real Debian test guests with systemd-nspawn.

A guest is a booted Debian tree with its own network namespace: the host side
of its veth pair is ``10.77.<index>.1``, the guest ``10.77.<index>.2``.  There
is no NAT and no forwarding: the guest reaches package registries only through
a tinyproxy that listens on the host side of its veth (``proxy_url``).  Nothing
here configures that proxy *inside* the guest; hubctl's own install does.

Pure functions build the commands and config text; :class:`Guest` runs them.
Everything needs root on the host (see :func:`prerequisites_missing`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from hubctl.errors import HubctlError
from hubctl.sandbox import cgroups

log = logging.getLogger(__name__)

SUBNET = "10.77.{index}.0/24"  # host side .1, guest .2
PROXY_PORT = 8888
MIRROR = "http://deb.debian.org/debian"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Keeps the host's environment out of the guest.
GUEST_ENV = ("env", "-i", f"PATH={GUEST_PATH}", "HOME=/root")
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "sudo",
    "openssh-server",
    "iproute2",
    "ca-certificates",
)
# cgroup-v1 controllers behind MemoryMax, TasksMax, CPUQuota and IO limits.
LIMIT_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "blkio")
# Bump when the preparation of the cached base tree changes.
BASE_FORMAT = 1
# nspawn's default /lib/systemd/network/80-container-host0.network does DHCP on
# host0; a file with the same name in /etc replaces it.
NETWORKD_UNIT_PATH = "etc/systemd/network/80-container-host0.network"

# Each guest's accounts get ids of their own (GuestSpec.account_ids); the last guest's end
# at 52999, below Debian's UID_MAX 60000 and systemd's dynamic users (61184 and up).
FIRST_ACCOUNT_ID = 2000
ACCOUNT_IDS_PER_GUEST = 200

# tool -> Debian package that provides it
REQUIRED_TOOLS = {
    "systemd-nspawn": "systemd-container",
    "debootstrap": "debootstrap",
    "tinyproxy": "tinyproxy",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "nsenter": "util-linux",
    "ip": "iproute2",
}

BOOT_TIMEOUT = 180.0
SSH_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,10}$")
_TAR_FLAGS = ["--numeric-owner", "--xattrs", "--xattrs-include=*"]


class GuestError(HubctlError):
    """A guest cannot be made or driven; the message names the fix."""


@dataclass(frozen=True)
class GuestSpec:
    name: str  # machine name, <= 11 chars: the host interface is "ve-<name>"
    state_dir: Path  # rootfs/, keys, known_hosts, logs, tinyproxy files, state.json
    index: int  # subnet index 1..254 -> 10.77.<index>.0/24
    suite: str = "bookworm"
    cache_dir: Path = Path("/var/cache/hubctl/sandbox")
    ca_bundle: Path | None = HOST_CA_BUNDLE  # trusted inside the guest as site-ca.crt

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise GuestError(
                f"bad guest name {self.name!r}: use 1-11 of a-z, 0-9, '-' starting with a letter"
            )
        if not 1 <= self.index <= 254:
            raise GuestError(
                f"bad guest index {self.index}: use 1..254 (subnet 10.77.<index>.0/24)"
            )
        object.__setattr__(self, "state_dir", Path(self.state_dir))
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))

    @property
    def subnet(self) -> str:
        return SUBNET.format(index=self.index)

    @property
    def host_address(self) -> str:
        return f"10.77.{self.index}.1"

    @property
    def address(self) -> str:
        return f"10.77.{self.index}.2"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.host_address}:{PROXY_PORT}"

    @property
    def interface(self) -> str:
        # nspawn (252) names the host side "ve-" + machine name if that fits in 15
        # characters, else "ve-" + 8 chars + a 4-char hash; names are <= 11 chars.
        return f"ve-{self.name}"

    @property
    def rootfs(self) -> Path:
        return self.state_dir / "rootfs"

    @property
    def account_ids(self) -> range:
        """The uids and gids this guest's accounts get. Guests share the host's kernel, which
        counts a uid's processes (LimitNPROC, the limit where a container has no pids
        controller) across all of them: two guests' users with one uid would share one
        process budget, so a fork bomb in one guest would starve a student of another."""
        first = FIRST_ACCOUNT_ID + self.index * ACCOUNT_IDS_PER_GUEST
        return range(first, first + ACCOUNT_IDS_PER_GUEST)

    @property
    def ssh_key(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def nspawn_log(self) -> Path:
        return self.state_dir / "nspawn.log"

    @property
    def tinyproxy_conf(self) -> Path:
        return self.state_dir / "tinyproxy.conf"

    @property
    def tinyproxy_pid(self) -> Path:
        return self.state_dir / "tinyproxy.pid"

    @property
    def tinyproxy_log(self) -> Path:
        return self.state_dir / "tinyproxy.log"


# ---------------------------------------------------------------- pure builders


def prerequisites_missing() -> list[str]:
    """Tools missing on the host (and "root" when not running as root)."""
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root")
    return missing


def prerequisites_fix(missing: list[str]) -> str:
    """One-line fix for what :func:`prerequisites_missing` reported."""
    packages = sorted({REQUIRED_TOOLS[t] for t in missing if t in REQUIRED_TOOLS})
    parts = []
    if packages:
        parts.append("apt-get install -y " + " ".join(packages))
    if "root" in missing:
        parts.append("run as root")
    return "; ".join(parts)


def debootstrap_command(
    suite: str, target: Path, mirror: str = MIRROR, include: tuple[str, ...] = BASE_PACKAGES
) -> list[str]:
    return ["debootstrap", f"--include={','.join(include)}", suite, str(target), mirror]


def base_cache_key(
    suite: str, include: tuple[str, ...] = BASE_PACKAGES, mirror: str = MIRROR
) -> str:
    blob = json.dumps(
        {"format": BASE_FORMAT, "suite": suite, "include": sorted(include), "mirror": mirror},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def base_tarball_path(
    cache_dir: Path, suite: str, include: tuple[str, ...] = BASE_PACKAGES, mirror: str = MIRROR
) -> Path:
    return Path(cache_dir) / f"debian-{suite}-{base_cache_key(suite, include, mirror)}.tar"


def tar_create_command(source_dir: Path, tarball: Path) -> list[str]:
    return ["tar", *_TAR_FLAGS, "-C", str(source_dir), "-cf", str(tarball), "."]


def tar_extract_command(tarball: Path, target_dir: Path) -> list[str]:
    return ["tar", *_TAR_FLAGS, "-C", str(target_dir), "-xpf", str(tarball)]


def nspawn_command(spec: GuestSpec) -> list[str]:
    return [
        "systemd-nspawn",
        "--quiet",
        "-D",
        str(spec.rootfs),
        "-b",
        "--register=no",  # the host has no systemd D-Bus to register with
        "--keep-unit",
        f"--machine={spec.name}",
        "--network-veth",
        "--resolv-conf=off",  # keep the guest's own resolv.conf (no DNS: proxy only)
        "--link-journal=no",  # never write into the host's /var/log/journal
        "--console=read-only",  # boot messages go to nspawn.log
    ]


def nsenter_command(pid: int, argv: list[str]) -> list[str]:
    return ["nsenter", "-t", str(pid), "-a", "--", *GUEST_ENV, *argv]


def tinyproxy_config(spec: GuestSpec, user: str | None = "tinyproxy") -> str:
    """Config for this guest's own tinyproxy (run in the foreground with -d).

    No LogFile: with ``User`` set, tinyproxy opens its log after dropping
    privileges and cannot write into a root-only state_dir; in the foreground
    it logs to stdout, which :class:`Guest` sends to ``tinyproxy.log``.
    """
    lines = []
    if user:
        lines += [f"User {user}", f"Group {user}"]
    lines += [
        f"Port {PROXY_PORT}",
        f"Listen {spec.host_address}",
        "Timeout 600",
        "MaxClients 100",
        f"Allow {spec.subnet}",
        "ConnectPort 443",
        "ConnectPort 80",
        f'PidFile "{spec.tinyproxy_pid}"',
        "LogLevel Info",
        "DisableViaHeader Yes",
    ]
    return "\n".join(lines) + "\n"


def networkd_unit(spec: GuestSpec) -> str:
    """systemd-networkd config for the guest's host0 (applied at every boot)."""
    return (
        "# written by hubctl sandbox: static address, gateway on the host side of the veth\n"
        "[Match]\n"
        "Virtualization=container\n"
        "Name=host0\n"
        "\n"
        "[Network]\n"
        f"Address={spec.address}/24\n"
        f"Gateway={spec.host_address}\n"
        "DHCP=no\n"
        "LinkLocalAddressing=no\n"
        "IPv6AcceptRA=no\n"
    )


def apt_sources(suite: str, mirror: str = MIRROR) -> str:
    security = mirror.rstrip("/").rsplit("/", 1)[0] + "/debian-security"
    return (
        f"deb {mirror} {suite} main\n"
        f"deb {mirror} {suite}-updates main\n"
        f"deb {security} {suite}-security main\n"
    )


def login_defs(text: str, ids: range) -> str:
    """/etc/login.defs with UID_MIN/UID_MAX and GID_MIN/GID_MAX set to `ids`."""
    first, last = ids.start, ids.stop - 1
    settings = {"UID_MIN": first, "UID_MAX": last, "GID_MIN": first, "GID_MAX": last}
    kept = [line for line in text.splitlines() if line.split()[:1] not in [[k] for k in settings]]
    return "\n".join([*kept, *(f"{key}\t{value}" for key, value in settings.items())]) + "\n"


def hosts_file(name: str) -> str:
    return (
        "127.0.0.1\tlocalhost\n"
        f"127.0.1.1\t{name}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n"
    )


# ------------------------------------------------------------ process helpers


def _run(argv: list[str], what: str, fix: str = "", **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or [""]
        msg = f"{what} failed (exit {proc.returncode}): {detail[0]}"
        raise GuestError(f"{msg}; {fix}" if fix else msg)
    return proc


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _alive(pid: int | None, marker: str = "") -> bool:
    """Is ``pid`` a live (non-zombie) process whose command line contains ``marker``?"""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return False
    return not marker or marker in " ".join(_cmdline(pid))


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append((int(entry.name), comm))
    return found


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _wait(predicate, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _require_prerequisites() -> None:
    missing = prerequisites_missing()
    if missing:
        raise GuestError(f"missing {', '.join(missing)}: {prerequisites_fix(missing)}")


def ensure_base_tarball(
    cache_dir: Path,
    suite: str = "bookworm",
    mirror: str = MIRROR,
    include: tuple[str, ...] = BASE_PACKAGES,
) -> Path:
    """The cached base tree for ``suite``/``include``; debootstrap it once if missing."""
    cache_dir = Path(cache_dir)
    tarball = base_tarball_path(cache_dir, suite, include, mirror)
    if tarball.exists():
        return tarball
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now
        if tarball.exists():
            return tarball
        build = cache_dir / f".build-{tarball.stem}-{os.getpid()}"
        shutil.rmtree(build, ignore_errors=True)
        rootfs = build / "rootfs"
        rootfs.mkdir(parents=True)
        build_log = cache_dir / f"{tarball.stem}.debootstrap.log"
        log.info("debootstrap %s into %s (once per suite, about a minute)", suite, rootfs)
        started = time.monotonic()
        try:
            with open(build_log, "w") as out:
                proc = subprocess.run(
                    debootstrap_command(suite, rootfs, mirror, include),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=False,
                )
            if proc.returncode != 0:
                raise GuestError(
                    f"debootstrap {suite} failed (exit {proc.returncode}): see {build_log} "
                    f"(is {mirror} reachable?)"
                )
            _prepare_base(rootfs, suite, mirror)
            partial = build / "base.tar"
            _run(tar_create_command(rootfs, partial), "packing the base tree")
            os.replace(partial, tarball)  # atomic: readers see all or nothing
        finally:
            shutil.rmtree(build, ignore_errors=True)
        log.info("base tree %s ready in %.0f s", tarball.name, time.monotonic() - started)
        for old in cache_dir.glob(f"debian-{suite}-*.tar"):
            if old != tarball:
                log.info("removing outdated base tree %s", old)
                old.unlink(missing_ok=True)
    return tarball


def _prepare_base(rootfs: Path, suite: str, mirror: str) -> None:
    """Strip what must differ per guest; every guest gets its own in Guest.create()."""
    _write(rootfs / "etc/machine-id", "")
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    _write(rootfs / "etc/apt/sources.list", apt_sources(suite, mirror))


# ---------------------------------------------------------------------- Guest


class Guest:
    """One guest: create() the tree, boot() it, run()/ssh into it, stop()/destroy()."""

    def __init__(self, spec: GuestSpec) -> None:
        self.spec = spec
        self.nspawn_pid: int | None = None
        self.leader_pid: int | None = None  # the guest's PID 1 (systemd), as seen on the host
        self.tinyproxy_pid: int | None = None
        self.cgroups: list[Path] = []  # the guest's own, one per hierarchy (see cgroups.py)
        self._procs: dict[int, subprocess.Popen] = {}  # our own children, to reap them
        # A guest may already run from this state_dir (an earlier process, a crash):
        # adopt its pids so that stop()/destroy() never delete a running tree.
        with contextlib.suppress(OSError, ValueError):
            state = json.loads(spec.state_file.read_text())
            self.nspawn_pid = state.get("nspawn_pid")
            self.leader_pid = state.get("leader_pid")
            self.tinyproxy_pid = state.get("tinyproxy_pid")
            self.cgroups = [Path(path) for path in state.get("cgroups", [])]

    # -- state --------------------------------------------------------------

    @classmethod
    def load(cls, state_dir: Path) -> Guest:
        state_file = Path(state_dir) / "state.json"
        try:
            state = json.loads(state_file.read_text())
        except FileNotFoundError:
            raise GuestError(f"no sandbox in {state_dir}: run `hubctl sandbox up` first") from None
        except ValueError as exc:
            raise GuestError(
                f"unreadable {state_file} ({exc}): `hubctl sandbox down` and up again"
            ) from None
        spec = GuestSpec(
            name=state["name"],
            state_dir=Path(state_dir),
            index=state["index"],
            suite=state["suite"],
            cache_dir=Path(state["cache_dir"]),
            ca_bundle=Path(state["ca_bundle"]) if state.get("ca_bundle") else None,
        )
        guest = cls(spec)  # reads the pids from state.json
        if guest.stale:
            log.warning(
                "stale sandbox state in %s: guest %s is not running (pid %s is gone); "
                "`hubctl sandbox up` boots it again, `hubctl sandbox down` removes it",
                state_dir,
                spec.name,
                guest.nspawn_pid,
            )
        return guest

    def _save(self) -> None:
        spec = self.spec
        state = {
            "name": spec.name,
            "index": spec.index,
            "suite": spec.suite,
            "cache_dir": str(spec.cache_dir),
            "ca_bundle": str(spec.ca_bundle) if spec.ca_bundle else None,
            "interface": spec.interface,
            "host_address": spec.host_address,
            "address": spec.address,
            "proxy_url": spec.proxy_url,
            "ssh_key": str(spec.ssh_key),
            "nspawn_pid": self.nspawn_pid,
            "leader_pid": self.leader_pid,
            "tinyproxy_pid": self.tinyproxy_pid,
            "cgroups": [str(path) for path in self.cgroups],
        }
        partial = spec.state_file.with_suffix(".json.tmp")
        partial.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(partial, spec.state_file)

    def is_running(self) -> bool:
        return _alive(self.nspawn_pid, str(self.spec.rootfs)) and _alive(self.leader_pid)

    @property
    def stale(self) -> bool:
        """state.json names a guest process that no longer runs."""
        return bool(self.nspawn_pid) and not self.is_running()

    def status(self) -> dict:
        if self.is_running():
            state = "running"
        elif self.stale:
            state = "stale"
        elif self.spec.rootfs.is_dir():
            state = "stopped"
        else:
            state = "absent"
        return {
            "name": self.spec.name,
            "state": state,
            "address": self.spec.address,
            "proxy_url": self.spec.proxy_url,
            "ssh_key": str(self.spec.ssh_key),
            "state_dir": str(self.spec.state_dir),
            "nspawn_pid": self.nspawn_pid,
        }

    # -- create -------------------------------------------------------------

    def create(self) -> None:
        """Make the guest's tree from the cached base and configure it (not booted)."""
        _require_prerequisites()
        spec = self.spec
        if spec.rootfs.exists():
            raise GuestError(
                f"{spec.rootfs} already exists: `hubctl sandbox down` (destroy) it first"
            )
        spec.state_dir.mkdir(parents=True, exist_ok=True)
        spec.state_dir.chmod(0o700)
        tarball = ensure_base_tarball(spec.cache_dir, spec.suite)
        started = time.monotonic()
        spec.rootfs.mkdir()
        try:
            _run(tar_extract_command(tarball, spec.rootfs), f"extracting {tarball}")
            self._configure_rootfs()
        except BaseException:
            shutil.rmtree(spec.rootfs, ignore_errors=True)
            raise
        self._save()
        log.info("guest %s created in %.1f s", spec.name, time.monotonic() - started)

    def _configure_rootfs(self) -> None:
        spec = self.spec
        root = spec.rootfs
        _write(root / "etc/hostname", spec.name + "\n")
        _write(root / "etc/hosts", hosts_file(spec.name))
        _write(root / "etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
        _write(root / "etc/default/locale", "LANG=C.UTF-8\n")
        defs = root / "etc/login.defs"
        _write(defs, login_defs(defs.read_text(), spec.account_ids))
        # No DNS in the guest: names are resolved by the host's proxy.
        resolv = root / "etc/resolv.conf"
        resolv.unlink(missing_ok=True)
        _write(resolv, "# hubctl sandbox: no DNS; reach the network through the host's proxy\n")
        _write(root / NETWORKD_UNIT_PATH, networkd_unit(spec))
        self._chroot(["systemctl", "enable", "--quiet", "systemd-networkd.service"])
        _run(["ssh-keygen", "-q", "-A", "-f", str(root)], "generating the guest's SSH host keys")
        for old in (spec.ssh_key, spec.ssh_key.with_suffix(".pub"), spec.known_hosts):
            old.unlink(missing_ok=True)
        keygen = [
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            f"hubctl-sandbox-{spec.name}",
        ]
        _run([*keygen, "-f", str(spec.ssh_key)], "generating the sandbox SSH key")
        ssh_dir = root / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        _write(ssh_dir / "authorized_keys", spec.ssh_key.with_suffix(".pub").read_text(), 0o600)
        if spec.ca_bundle and spec.ca_bundle.is_file():
            # The host's TLS layer CA must be trusted in the guest; a file under
            # /usr/local/share/ca-certificates survives later ca-certificates runs.
            target = root / "usr/local/share/ca-certificates/site-ca.crt"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(spec.ca_bundle, target)
            target.chmod(0o644)
            self._chroot(["update-ca-certificates"])

    def _chroot(self, argv: list[str]) -> None:
        rootfs = str(self.spec.rootfs)
        _run(["chroot", rootfs, *GUEST_ENV, *argv], f"{' '.join(argv)} in {rootfs}")

    # -- boot ---------------------------------------------------------------

    def boot(self) -> None:
        """Start the guest in the background and wait until systemd and SSH are up."""
        _require_prerequisites()
        spec = self.spec
        if not spec.rootfs.is_dir():
            raise GuestError(
                f"guest {spec.name} has no tree in {spec.rootfs}: "
                "create it first (`hubctl sandbox up`)"
            )
        if self.is_running():
            raise GuestError(
                f"guest {spec.name} is already running (pid {self.nspawn_pid}): "
                "`hubctl sandbox down` first"
            )
        self._cleanup_leftovers()
        self._check_network_free()
        started = time.monotonic()
        try:
            self._start_nspawn()
            self._setup_host_side()
            self._start_tinyproxy()
            self._save()
            self._wait_system_running()
            self._let_systemd_enforce_limits()
            self._wait_ssh()
        except BaseException:
            log.error("boot of guest %s failed; stopping it (log: %s)", spec.name, spec.nspawn_log)
            self.stop()
            raise
        log.info("guest %s up at %s in %.1f s", spec.name, spec.address, time.monotonic() - started)

    def _let_systemd_enforce_limits(self) -> None:
        """On a host with cgroup-v1 controllers (a v1/v2 hybrid), nspawn mounts them read-only
        in the guest: its systemd then sets MemoryMax, TasksMax and CPUQuota on units but the
        kernel never applies them. Making the guest's own subtree of each writable and
        re-executing systemd lets it enforce them as on a VM; they stay nested under the
        guest's cgroup on the host."""
        remounted = [
            path
            for path in (f"/sys/fs/cgroup/{name}" for name in LIMIT_CONTROLLERS)
            if self.run(["mountpoint", "-q", path], check=False).returncode == 0
            and self.run(["mount", "-o", "remount,bind,rw", path], check=False).returncode == 0
        ]
        if remounted:
            self.run(["systemctl", "daemon-reexec"])
            self._wait_system_running()
        log.info("guest %s: systemd enforces limits with %s", self.spec.name, remounted or "v2")

    def _check_network_free(self) -> None:
        spec = self.spec
        if Path(f"/sys/class/net/{spec.interface}").exists():
            raise GuestError(
                f"interface {spec.interface} already exists (another guest named {spec.name}?): "
                "stop it or pick another name"
            )
        addrs = _run(["ip", "-o", "-4", "addr", "show"], "listing host addresses").stdout
        if f" 10.77.{spec.index}." in addrs:
            raise GuestError(
                f"{spec.subnet} is already in use on this host (another sandbox?): "
                "pick another index or stop that guest"
            )

    def _start_nspawn(self) -> None:
        spec = self.spec
        with open(spec.nspawn_log, "a") as out:
            out.write(
                f"=== hubctl sandbox: boot {spec.name} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
            )
            out.flush()
            try:
                self.cgroups = cgroups.own_cgroups(spec.name)
            except OSError as exc:
                raise GuestError(f"cannot give guest {spec.name} its own cgroups: {exc}") from exc
            proc = subprocess.Popen(
                cgroups.join_command(self.cgroups, nspawn_command(spec)),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._procs[proc.pid] = proc
        self.nspawn_pid = proc.pid
        self.leader_pid = None

        def leader_found() -> bool:
            if proc.poll() is not None:
                raise GuestError(
                    f"systemd-nspawn exited with {proc.returncode}: "
                    f"see {spec.nspawn_log} ({_tail(spec.nspawn_log, 2)})"
                )
            for pid, comm in _children(proc.pid):
                if comm == "systemd":
                    self.leader_pid = pid
                    return True
            return False

        if not _wait(leader_found, 30, 0.1):
            raise GuestError(
                f"guest {spec.name} did not start systemd within 30 s: see {spec.nspawn_log}"
            )
        log.debug(
            "guest %s: nspawn pid %s, PID 1 is %s on the host",
            spec.name,
            self.nspawn_pid,
            self.leader_pid,
        )

    def _setup_host_side(self) -> None:
        spec = self.spec
        iface = spec.interface
        if not _wait(lambda: Path(f"/sys/class/net/{iface}").exists(), 30, 0.1):
            found = sorted(p.name for p in Path("/sys/class/net").glob("ve-*"))
            raise GuestError(
                f"host interface {iface} did not appear (found {found}): see {spec.nspawn_log}"
            )
        # Nothing from the guest is routed on: traffic stays between host and guest.
        Path(f"/proc/sys/net/ipv4/conf/{iface}/forwarding").write_text("0\n")
        Path(f"/proc/sys/net/ipv6/conf/{iface}/disable_ipv6").write_text("1\n")
        _run(["ip", "addr", "add", f"{spec.host_address}/24", "dev", iface], f"addressing {iface}")
        _run(["ip", "link", "set", iface, "up"], f"bringing up {iface}")

    def _start_tinyproxy(self) -> None:
        spec = self.spec
        try:
            pwd.getpwnam("tinyproxy")
            user = "tinyproxy"
        except KeyError:
            user = None
        _write(spec.tinyproxy_conf, tinyproxy_config(spec, user))
        spec.tinyproxy_pid.unlink(missing_ok=True)
        with open(spec.tinyproxy_log, "a") as out:
            proc = subprocess.Popen(
                ["tinyproxy", "-d", "-c", str(spec.tinyproxy_conf)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._procs[proc.pid] = proc
        self.tinyproxy_pid = proc.pid

        def listening() -> bool:
            if proc.poll() is not None:
                tail = _tail(spec.tinyproxy_log, 3)
                hint = ""
                if "in use" in tail:
                    hint = (
                        f" (another proxy on port {PROXY_PORT}? stop it: `service tinyproxy stop`)"
                    )
                raise GuestError(f"tinyproxy exited with {proc.returncode}: {tail}{hint}")
            with socket.socket() as sock:
                sock.settimeout(0.5)
                return sock.connect_ex((spec.host_address, PROXY_PORT)) == 0

        if not _wait(listening, 10, 0.1):
            raise GuestError(
                f"tinyproxy is not listening on {spec.proxy_url}: see {spec.tinyproxy_log}"
            )

    def _wait_system_running(self) -> None:
        spec = self.spec
        state = {"value": ""}

        def booted() -> bool:
            if not _alive(self.nspawn_pid):
                raise GuestError(f"guest {spec.name} exited during boot: see {spec.nspawn_log}")
            proc = self.run(["systemctl", "is-system-running"], check=False)
            state["value"] = proc.stdout.strip()
            return state["value"] in ("running", "degraded")

        if not _wait(booted, BOOT_TIMEOUT, 1.0):
            raise GuestError(
                f"guest {spec.name} still {state['value'] or 'booting'} "
                f"after {BOOT_TIMEOUT:.0f} s: see {spec.nspawn_log}"
            )
        if state["value"] == "degraded":
            failed = self.run(
                ["systemctl", "--failed", "--no-legend", "--plain"], check=False
            ).stdout
            log.warning(
                "guest %s is degraded; failed units: %s", spec.name, " ".join(failed.split())
            )

    def _wait_ssh(self) -> None:
        spec = self.spec

        def answers() -> bool:
            proc = subprocess.run(
                self.ssh_command(["true"]), capture_output=True, text=True, check=False, timeout=30
            )
            return proc.returncode == 0

        if not _wait(answers, SSH_TIMEOUT, 1.0):
            raise GuestError(
                f"SSH to root@{spec.address} does not answer after {SSH_TIMEOUT:.0f} s: "
                f"check `ssh.service` in the guest and {spec.nspawn_log}"
            )

    # -- use ----------------------------------------------------------------

    def run(
        self,
        argv: list[str],
        check: bool = True,
        input: str | None = None,  # noqa: A002 - same name as subprocess.run
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess:
        """Run ``argv`` as root inside the guest (via nsenter; no SSH needed)."""
        if not _alive(self.leader_pid):
            raise GuestError(f"guest {self.spec.name} is not running: `hubctl sandbox up` first")
        proc = subprocess.run(
            nsenter_command(self.leader_pid, argv),
            input=input,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or [""]
            raise GuestError(
                f"`{' '.join(argv)}` failed in guest {self.spec.name} "
                f"(exit {proc.returncode}): {detail[0]}"
            )
        return proc

    @property
    def ssh_options(self) -> list[str]:
        """-o options for ssh (also usable as Ansible's ansible_ssh_common_args)."""
        return [
            "-o", f"UserKnownHostsFile={self.spec.known_hosts}",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", "HashKnownHosts=no",
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR",
        ]  # fmt: skip

    def ssh_command(self, argv: list[str]) -> list[str]:
        key = str(self.spec.ssh_key)
        return ["ssh", "-i", key, *self.ssh_options, f"root@{self.spec.address}", *argv]

    # -- stop ---------------------------------------------------------------

    def stop(self) -> None:
        """Shut the guest down (tinyproxy too); the veth goes away with it."""
        spec = self.spec
        if _alive(self.nspawn_pid, str(spec.rootfs)):
            log.info("stopping guest %s (nspawn pid %s)", spec.name, self.nspawn_pid)
            # nspawn turns SIGTERM into a clean poweroff of the guest.
            self._kill_and_wait(self.nspawn_pid, signal.SIGTERM, STOP_TIMEOUT)
            if _alive(self.nspawn_pid):
                log.warning(
                    "guest %s did not power off in %.0f s; killing it", spec.name, STOP_TIMEOUT
                )
                if _alive(self.leader_pid):
                    os.kill(self.leader_pid, signal.SIGKILL)
                self._kill_and_wait(self.nspawn_pid, signal.SIGKILL, 10)
        self._stop_tinyproxy()
        iface = Path(f"/sys/class/net/{spec.interface}")
        if not _wait(lambda: not iface.exists(), 10, 0.1):
            subprocess.run(["ip", "link", "del", spec.interface], capture_output=True, check=False)
        self.nspawn_pid = self.leader_pid = None
        cgroups.remove(self.cgroups)
        if spec.state_dir.is_dir():
            self._save()

    def _stop_tinyproxy(self) -> None:
        if _alive(self.tinyproxy_pid, str(self.spec.tinyproxy_conf)):
            self._kill_and_wait(self.tinyproxy_pid, signal.SIGTERM, 5)
            if _alive(self.tinyproxy_pid):
                self._kill_and_wait(self.tinyproxy_pid, signal.SIGKILL, 5)
        self.tinyproxy_pid = None
        # tinyproxy cannot remove it after dropping privileges
        self.spec.tinyproxy_pid.unlink(missing_ok=True)

    def _kill_and_wait(self, pid: int, sig: int, timeout: float) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        proc = self._procs.get(pid)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
            if proc.poll() is not None:
                del self._procs[pid]
            return
        _wait(lambda: not _alive(pid), timeout, 0.1)

    def _cleanup_leftovers(self) -> None:
        """After a crash or a stale state.json: our tinyproxy may still run."""
        if self.stale:
            log.info("cleaning up after stale guest %s", self.spec.name)
        self._stop_tinyproxy()
        self.nspawn_pid = self.leader_pid = None

    def reboot(self) -> None:
        """Power the guest off and boot it again from the same tree."""
        self.stop()
        self.boot()

    def destroy(self) -> None:
        """Stop the guest and delete its state_dir (tree, keys, logs)."""
        spec = self.spec
        if (
            spec.state_dir.is_dir()
            and not (spec.state_file.exists() or spec.rootfs.exists())
            and any(spec.state_dir.iterdir())
        ):
            raise GuestError(
                f"refusing to delete {spec.state_dir}: it holds no sandbox (no state.json)"
            )
        self.stop()
        shutil.rmtree(spec.state_dir, ignore_errors=True)
        log.info("guest %s destroyed", self.spec.name)
