"""A cgroup of its own for each guest, in every hierarchy of the host.

Without one, systemd-nspawn (``--keep-unit``, no systemd on the host) makes its
``payload`` cgroup under whatever cgroup started it, so guests started from the
same process share one: ``/payload/system.slice/jupyter-cara-singleuser.service``
of one guest is that of every guest. A guest then counts the others' processes
against its limits and, seeing them as PID 0, cannot empty the cgroup when it
stops a unit ("Failed to kill control group ...: Input/output error"); the unit
stays loaded and the next ``systemd-run`` of that name fails.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from pathlib import Path

# A new cpuset cgroup has no CPUs or memory nodes until they are written: joining it fails.
SKIPPED_CONTROLLERS = {"cpuset"}
GUESTS_GROUP = "hubctl-guests"
# Options of a cgroup-v1 mount that are not controllers.
MOUNT_FLAGS = {"rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode"}


def hierarchy_mounts(mountinfo: str) -> dict[str, str]:
    """{controllers as /proc/PID/cgroup names them: mount point} for each cgroup
    hierarchy in ``mountinfo`` ("" is the cgroup2 hierarchy)."""
    mounts = {}
    for line in mountinfo.splitlines():
        fields, _, tail = line.partition(" - ")
        fstype, _source, options = tail.split()[:3]
        mount_point = fields.split()[4]
        if fstype == "cgroup2":
            mounts[""] = mount_point
        elif fstype == "cgroup":
            names = [
                o
                for o in options.split(",")
                if o not in MOUNT_FLAGS and ("=" not in o or o.startswith("name="))
            ]
            mounts[",".join(names)] = mount_point
    return mounts


def guest_cgroups(mountinfo: str, self_cgroup: str, guest: str) -> list[Path]:
    """The guest's own cgroup in each hierarchy: a child of the caller's cgroup there."""
    mounts = hierarchy_mounts(mountinfo)
    paths = []
    for line in self_cgroup.splitlines():
        _id, controllers, current = line.split(":", 2)
        mount_point = mounts.get(controllers)
        if mount_point is None or SKIPPED_CONTROLLERS & set(controllers.split(",")):
            continue
        paths.append(Path(mount_point, current.lstrip("/"), GUESTS_GROUP, guest))
    return paths


def own_cgroups(guest: str) -> list[Path]:
    """Create the guest's cgroups (see :func:`guest_cgroups`) for :func:`join_command`."""
    paths = guest_cgroups(
        Path("/proc/self/mountinfo").read_text(), Path("/proc/self/cgroup").read_text(), guest
    )
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
    return paths


def join_command(paths: list[Path], argv: list[str]) -> list[str]:
    """``argv``, run by a shell that first moves itself into ``paths`` (its pid stays)."""
    if not paths:
        return argv
    procs = " ".join(shlex.quote(str(path / "cgroup.procs")) for path in paths)
    return ["sh", "-c", f'echo $$ | tee {procs} >/dev/null && exec "$@"', "sh", *argv]


def remove(paths: list[Path]) -> None:
    """Remove the guest's cgroups once it has stopped; ones still in use stay."""
    for path in paths:
        if not path.is_dir():
            continue
        for folder, _dirs, _files in os.walk(path, topdown=False):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
