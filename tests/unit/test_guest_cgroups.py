"""Each test guest gets its own cgroup in every hierarchy of the host (sandbox/cgroups.py)."""

import subprocess
from pathlib import Path

from hubctl.sandbox.cgroups import guest_cgroups, hierarchy_mounts, join_command

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
22 1 0:5 / /proc rw,nosuid - proc proc rw
"""
SELF_CGROUP = """\
9:name=systemd:/
8:pids:/
4:memory:/process_api/56d7
3:cpuset:/
1:cpu,cpuacct:/
0::/
"""


def test_each_hierarchy_is_found_by_the_names_proc_cgroup_uses():
    assert hierarchy_mounts(HYBRID_MOUNTINFO) == {
        "cpu,cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
        "cpuset": "/sys/fs/cgroup/cpuset",
        "memory": "/sys/fs/cgroup/memory",
        "pids": "/sys/fs/cgroup/pids",
        "name=systemd": "/sys/fs/cgroup/systemd",
        "": "/sys/fs/cgroup/unified",
    }


def test_the_guest_cgroup_is_a_child_of_the_callers_own_but_not_in_cpuset():
    assert guest_cgroups(HYBRID_MOUNTINFO, SELF_CGROUP, "e2ehub231") == [
        Path("/sys/fs/cgroup/systemd/hubctl-guests/e2ehub231"),
        Path("/sys/fs/cgroup/pids/hubctl-guests/e2ehub231"),
        Path("/sys/fs/cgroup/memory/process_api/56d7/hubctl-guests/e2ehub231"),
        Path("/sys/fs/cgroup/cpu,cpuacct/hubctl-guests/e2ehub231"),
        Path("/sys/fs/cgroup/unified/hubctl-guests/e2ehub231"),
    ]


def test_on_a_pure_v2_host_there_is_one():
    mountinfo = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
    assert guest_cgroups(mountinfo, "0::/user.slice/x.scope\n", "g") == [
        Path("/sys/fs/cgroup/user.slice/x.scope/hubctl-guests/g")
    ]


def test_the_command_joins_every_cgroup_then_becomes_the_guest_with_the_same_pid(tmp_path):
    groups = [tmp_path / "a b", tmp_path / "c"]
    for group in groups:
        group.mkdir()
    argv = join_command(groups, ["sh", "-c", "echo $$"])
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    pid = proc.stdout.strip()
    assert [(group / "cgroup.procs").read_text() for group in groups] == [f"{pid}\n"] * 2


def test_without_cgroups_the_command_is_unchanged():
    assert join_command([], ["systemd-nspawn", "-b"]) == ["systemd-nspawn", "-b"]
