"""The pure builders of hubctl.sandbox.guest: exact commands and config text (no root)."""

import json
from pathlib import Path

import pytest

from hubctl.sandbox import guest as g
from hubctl.sandbox.guest import Guest, GuestError, GuestSpec

STATE = Path("/srv/sandbox/demo")
ENV = [
    "env",
    "-i",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
]


@pytest.fixture
def spec():
    return GuestSpec(name="demo", state_dir=STATE, index=7)


def test_spec_addresses_and_paths(spec):
    assert spec.subnet == "10.77.7.0/24" == g.SUBNET.format(index=7)
    assert spec.host_address == "10.77.7.1"
    assert spec.address == "10.77.7.2"
    assert spec.proxy_url == "http://10.77.7.1:8888"
    assert spec.interface == "ve-demo"
    assert spec.rootfs == STATE / "rootfs"
    assert spec.ssh_key == STATE / "id_ed25519"
    assert spec.known_hosts == STATE / "known_hosts"
    assert spec.state_file == STATE / "state.json"
    assert spec.nspawn_log == STATE / "nspawn.log"
    assert spec.suite == "bookworm"
    assert spec.cache_dir == Path("/var/cache/hubctl/sandbox")


def test_spec_accepts_string_paths():
    spec = GuestSpec(name="demo", state_dir="/tmp/x", index=1, cache_dir="/tmp/c")
    assert spec.state_dir == Path("/tmp/x") and spec.cache_dir == Path("/tmp/c")


@pytest.mark.parametrize("name", ["", "Demo", "1demo", "abcdefghijkl", "de_mo", "de.mo"])
def test_spec_rejects_bad_names(name):
    with pytest.raises(GuestError, match="bad guest name"):
        GuestSpec(name=name, state_dir=STATE, index=7)


def test_spec_longest_name_fits_interface():
    spec = GuestSpec(name="abcdefghijk", state_dir=STATE, index=7)
    assert len(spec.interface) <= 15


@pytest.mark.parametrize("index", [0, 255, -1])
def test_spec_rejects_bad_index(index):
    with pytest.raises(GuestError, match="1..254"):
        GuestSpec(name="demo", state_dir=STATE, index=index)


def test_debootstrap_command():
    assert g.debootstrap_command("bookworm", Path("/tmp/root"), "http://deb.debian.org/debian") == [
        "debootstrap",
        "--include=systemd,systemd-sysv,dbus,python3,sudo,openssh-server,iproute2,ca-certificates",
        "bookworm",
        "/tmp/root",
        "http://deb.debian.org/debian",
    ]


def test_base_cache_key_follows_suite_and_packages():
    key = g.base_cache_key("bookworm")
    assert key == g.base_cache_key("bookworm", tuple(reversed(g.BASE_PACKAGES)))
    assert key != g.base_cache_key("trixie")
    assert key != g.base_cache_key("bookworm", (*g.BASE_PACKAGES, "curl"))
    path = g.base_tarball_path(Path("/c"), "bookworm")
    assert path == Path(f"/c/debian-bookworm-{key}.tar")


def test_tar_commands_keep_owners_and_xattrs():
    flags = ["--numeric-owner", "--xattrs", "--xattrs-include=*"]
    assert g.tar_create_command(Path("/r"), Path("/c/b.tar")) == [
        "tar", *flags, "-C", "/r", "-cf", "/c/b.tar", ".",
    ]  # fmt: skip
    assert g.tar_extract_command(Path("/c/b.tar"), Path("/r")) == [
        "tar", *flags, "-C", "/r", "-xpf", "/c/b.tar",
    ]  # fmt: skip


def test_nspawn_command(spec):
    assert g.nspawn_command(spec) == [
        "systemd-nspawn",
        "--quiet",
        "-D",
        "/srv/sandbox/demo/rootfs",
        "-b",
        "--register=no",
        "--keep-unit",
        "--machine=demo",
        "--network-veth",
        "--resolv-conf=off",
        "--link-journal=no",
        "--console=read-only",
    ]


def test_nsenter_command():
    assert g.nsenter_command(4242, ["systemctl", "is-system-running"]) == [
        "nsenter", "-t", "4242", "-a", "--", *ENV, "systemctl", "is-system-running",
    ]  # fmt: skip


def test_tinyproxy_config(spec):
    assert g.tinyproxy_config(spec) == (
        "User tinyproxy\n"
        "Group tinyproxy\n"
        "Port 8888\n"
        "Listen 10.77.7.1\n"
        "Timeout 600\n"
        "MaxClients 100\n"
        "Allow 10.77.7.0/24\n"
        "ConnectPort 443\n"
        "ConnectPort 80\n"
        'PidFile "/srv/sandbox/demo/tinyproxy.pid"\n'
        "LogLevel Info\n"
        "DisableViaHeader Yes\n"
    )


def test_tinyproxy_config_without_user(spec):
    text = g.tinyproxy_config(spec, user=None)
    assert "User" not in text and "Group" not in text
    assert text.startswith("Port 8888\nListen 10.77.7.1\n")


def test_networkd_unit(spec):
    assert g.networkd_unit(spec) == (
        "# written by hubctl sandbox: static address, gateway on the host side of the veth\n"
        "[Match]\n"
        "Virtualization=container\n"
        "Name=host0\n"
        "\n"
        "[Network]\n"
        "Address=10.77.7.2/24\n"
        "Gateway=10.77.7.1\n"
        "DHCP=no\n"
        "LinkLocalAddressing=no\n"
        "IPv6AcceptRA=no\n"
    )
    # same name as systemd's own /lib/systemd/network/80-container-host0.network,
    # which would otherwise win (lexical order) and run DHCP on host0
    assert g.NETWORKD_UNIT_PATH == "etc/systemd/network/80-container-host0.network"


def test_apt_sources():
    assert g.apt_sources("bookworm", "http://deb.debian.org/debian") == (
        "deb http://deb.debian.org/debian bookworm main\n"
        "deb http://deb.debian.org/debian bookworm-updates main\n"
        "deb http://deb.debian.org/debian-security bookworm-security main\n"
    )


def test_hosts_file_resolves_own_name():
    assert "127.0.1.1\tdemo\n" in g.hosts_file("demo")


def test_prerequisites_fix_names_packages():
    missing = ["systemd-nspawn", "ssh", "ssh-keygen", "root"]
    assert g.prerequisites_fix(missing) == (
        "apt-get install -y openssh-client systemd-container; run as root"
    )


def test_ssh_command_and_options(spec):
    guest = Guest(spec)
    options = [
        "-o", "UserKnownHostsFile=/srv/sandbox/demo/known_hosts",
        "-o", "StrictHostKeyChecking=accept-new",
        "-o", "HashKnownHosts=no",
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=10",
        "-o", "LogLevel=ERROR",
    ]  # fmt: skip
    assert guest.ssh_options == options
    assert guest.ssh_command(["uname", "-a"]) == [
        "ssh", "-i", "/srv/sandbox/demo/id_ed25519", *options, "root@10.77.7.2", "uname", "-a",
    ]  # fmt: skip


def test_load_without_state_names_the_fix(tmp_path):
    with pytest.raises(GuestError, match="hubctl sandbox up"):
        Guest.load(tmp_path)


def test_load_detects_stale_state(tmp_path):
    gone = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # no process can have it
    (tmp_path / "rootfs").mkdir()
    state = {
        "name": "demo",
        "index": 7,
        "suite": "bookworm",
        "cache_dir": "/var/cache/hubctl/sandbox",
        "ca_bundle": None,
        "nspawn_pid": gone,
        "leader_pid": gone,
        "tinyproxy_pid": None,
    }
    (tmp_path / "state.json").write_text(json.dumps(state))
    guest = Guest.load(tmp_path)
    assert guest.spec.state_dir == tmp_path and guest.spec.index == 7
    assert not guest.is_running()
    assert guest.stale
    assert guest.status()["state"] == "stale"
    with pytest.raises(GuestError, match="not running"):
        guest.run(["true"])
    # a Guest made from a spec adopts the pids too, so destroy() cannot miss a running guest
    assert Guest(GuestSpec(name="demo", state_dir=tmp_path, index=7)).nspawn_pid == gone


def test_fresh_guest_is_not_stale(spec):
    guest = Guest(spec)
    assert not guest.is_running() and not guest.stale
    assert guest.status()["state"] == "absent"


def test_each_guest_gives_its_accounts_ids_no_other_guest_uses():
    first, last = (GuestSpec(name="a", state_dir=Path("/x"), index=i).account_ids for i in (1, 254))
    second = GuestSpec(name="b", state_dir=Path("/x"), index=2).account_ids
    assert (first.start, first.stop, second.start) == (2200, 2400, 2400)
    assert last[-1] == 52999  # below UID_MAX 60000 and systemd's dynamic users


def test_login_defs_replaces_the_id_ranges_and_keeps_the_rest():
    text = "# comment\nUID_MIN\t\t 1000\nUID_MAX\t\t60000\nGID_MIN 1000\nUMASK 022\n\n"
    assert g.login_defs(text, range(2200, 2400)) == (
        "# comment\nUMASK 022\n\nUID_MIN\t2200\nUID_MAX\t2399\nGID_MIN\t2200\nGID_MAX\t2399\n"
    )
