"""The grading broker: runs the kernel that executes a student's notebook for a course's
formgrader in a sandbox of its own (docs/security.md, "the grading sandbox").

hubctl-grading.socket hands each connection to one run of this module, as root. The peer
must be a course's grader account (SO_PEERCRED); it sends one JSON line: the connection
info its kernel manager wrote and the folder the kernel must run in. The broker copies that
folder (regular files and folders only) into a new transient unit's state folder and starts
ipykernel there as a DynamicUser: no network, none of the course's or anybody's files, the
course limits. When the kernel's sockets are there it gives them to the grader account and
answers which of the grader's socket names to link to them; when the kernel ends it says
how, and when the grader hangs up it stops the unit.
"""

import argparse
import contextlib
import json
import os
import pwd
import re
import secrets
import select
import shutil
import socket
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

from hubctl import layout

KERNEL_SOCKETS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
SIGNATURE_SCHEMES = {"hmac-sha256"}
KERNEL_START_SECONDS = 60
# Where nbgrader executes notebooks: autograde in autograded/STUDENT/ASSIGNMENT, validate in
# source/ or release/ASSIGNMENT. Only that folder is copied for the kernel.
EXECUTED_IN = {"autograded", "source", "release"}
STATE_ROOT = "/var/lib/private"  # where systemd keeps a DynamicUser's StateDirectory
# Hidden from the kernel beyond ProtectSystem=strict and ProtectHome=yes (secrets, the hub
# database, backups); /srv (courses, exchange, datasets) is an empty tmpfs.
HIDDEN_PATHS = ("-" + layout.ETC, "-" + layout.STATE_DIR, "-" + layout.BACKUP_DIR)
# Systemd's words for how a unit ended, as a grader reads them.
ENDINGS = {
    "oom-kill": "it used more than the course's memory limit ({memory})",
    "timeout": "it ran longer than the course's grading time ({seconds} s)",
    "signal": "it was killed by a signal",
    "exit-code": "its kernel exited with an error",
}


class Refused(Exception):
    """A request the broker will not run; the message goes back to the formgrader."""


def course_of(account: str) -> str:
    if not account.startswith(layout.GRADER_PREFIX):
        raise Refused(f"{account} is not a course's grader account: only formgraders autograde")
    return account.removeprefix(layout.GRADER_PREFIX)


def parse_request(line: str, course_id: str) -> tuple[dict, str]:
    """(connection info, folder to run in) from the formgrader's request, or Refused."""
    try:
        request = json.loads(line)
        connection, cwd = request["connection"], request["cwd"]
    except (ValueError, KeyError, TypeError):
        raise Refused("the request is not {connection, cwd} JSON") from None
    ip = layout.grading_kernel_ip(course_id)
    if connection.get("transport") != "ipc" or connection.get("ip") != ip:
        raise Refused(f"the kernel must use transport ipc and ip {ip}")
    ports = [connection.get(name) for name in KERNEL_SOCKETS]
    if not all(isinstance(port, int) and 0 < port < 65536 for port in ports):
        raise Refused(f"the connection info needs the numbers {', '.join(KERNEL_SOCKETS)}")
    if connection.get("signature_scheme") not in SIGNATURE_SCHEMES or not isinstance(
        connection.get("key"), str
    ):
        raise Refused("the connection info needs a key and signature_scheme hmac-sha256")
    folder = os.path.realpath(str(cwd))
    inside = os.path.relpath(folder, layout.course_dir(course_id)).split(os.sep)
    if inside[0] not in EXECUTED_IN or len(inside) < 2 or not os.path.isdir(folder):
        raise Refused(f"{cwd} is not an assignment's folder of course {course_id}")
    return connection, folder


def kernel_connection(connection: dict, runtime_dir: str) -> dict:
    """The grader's connection info with the kernel's own socket names."""
    return {**connection, "ip": f"{runtime_dir}/kernel", "kernel_name": "python3"}


def socket_links(connection: dict, runtime_dir: str) -> dict[str, str]:
    """{the grader's socket name: the kernel's}, for each of the five channels."""
    return {
        f"{connection['ip']}-{connection[name]}": f"{runtime_dir}/kernel-{connection[name]}"
        for name in KERNEL_SOCKETS
    }


def copy_work(source: str, dest: str) -> None:
    """Regular files and folders only: a link or device in the folder reaches nothing."""

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [
            name
            for name in names
            if not stat.S_ISREG(mode := os.lstat(os.path.join(folder, name)).st_mode)
            and not stat.S_ISDIR(mode)
        ]

    shutil.copytree(source, dest, symlinks=True, ignore=ignore)


def unit_properties(
    course_id: str, unit: str, memory: str, cpu: float, processes: int, seconds: int
) -> list[str]:
    """systemd-run -p values of the kernel's unit."""
    dataset = f"{layout.DATASETS_DIR}/{course_id}"
    properties = [
        f"Description=autograding kernel of course {course_id}",
        "DynamicUser=yes",  # a user of its own: neither the student nor the grader
        f"StateDirectory={unit}",  # the copied folder; systemd gives it to the user
        f"RuntimeDirectory={unit}",  # the kernel's sockets
        "RuntimeDirectoryMode=0711",
        f"WorkingDirectory=/var/lib/{unit}/work",
        "PrivateNetwork=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "TemporaryFileSystem=/srv:ro",
        f"InaccessiblePaths={' '.join(HIDDEN_PATHS)}",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "ProtectProc=invisible",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "NoNewPrivileges=yes",
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallErrorNumber=EPERM",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",  # zmq lists interfaces
        "CapabilityBoundingSet=",
        "UMask=0077",
        f"MemoryMax={memory}",
        "MemorySwapMax=0",
        f"CPUQuota={round(cpu * 100)}%",
        f"TasksMax={processes}",
        f"LimitNPROC={processes}",
        f"RuntimeMaxSec={seconds or 'infinity'}",
        "Environment=HOME=/tmp PYTHONNOUSERSITE=1",
    ]
    if os.path.isdir(dataset):
        # what the datasets plugin gives the course's students to read, and nothing else
        properties += [
            f"BindReadOnlyPaths={dataset}",
            f"SupplementaryGroups={layout.course_group(course_id)}",
        ]
    return properties


def ending(systemd_run_stderr: str, memory: str, seconds: int) -> str:
    """Why the kernel's unit ended before its time, in a grader's words ("" if it simply
    ended); systemd-run --wait says how it ended."""
    found = re.search(r"Finished with result: (\S+)", systemd_run_stderr)
    result = found[1] if found else "unknown"
    if result == "success":
        return ""
    reason = ENDINGS.get(result, f"systemd says {result}").format(memory=memory, seconds=seconds)
    return f"the student's notebook was stopped: {reason}"


def peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def send(conn: socket.socket, message: dict) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def wait_for_sockets(paths: list[str], kernel: subprocess.Popen) -> None:
    deadline = time.monotonic() + KERNEL_START_SECONDS
    while not all(os.path.exists(path) for path in paths):
        if kernel.poll() is not None:
            raise Refused(f"the kernel did not start: {kernel.stderr.read().strip()}")
        if time.monotonic() > deadline:
            raise Refused(f"the kernel did not start within {KERNEL_START_SECONDS} s")
        time.sleep(0.01)


def serve(conn: socket.socket, limits: argparse.Namespace) -> None:
    grader = pwd.getpwuid(peer_uid(conn))
    course_id = course_of(grader.pw_name)
    connection, folder = parse_request(conn.makefile("r").readline(), course_id)
    unit = f"{layout.GRADING_UNIT_PREFIX}{secrets.token_hex(6)}"
    state, runtime = f"{STATE_ROOT}/{unit}", f"/run/{unit}"
    os.makedirs(state, mode=0o700)
    try:
        copy_work(folder, f"{state}/work")
        connection_file = f"{state}/connection.json"
        Path(connection_file).write_text(json.dumps(kernel_connection(connection, runtime)))
        os.chmod(connection_file, 0o600)
        properties = unit_properties(
            course_id, unit, limits.memory, limits.cpu, limits.processes, limits.seconds
        )
        argv = ["systemd-run", f"--unit={unit}", "--wait", "--collect", "--service-type=exec"]
        argv += [f"--property={value}" for value in properties]
        argv += ["--", f"{layout.USER_VENV}/bin/python3", "-m", "ipykernel_launcher"]
        argv += ["-f", f"/var/lib/{unit}/connection.json"]
        kernel = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            links = socket_links(connection, runtime)
            wait_for_sockets(list(links.values()), kernel)
            for path in links.values():
                os.chown(path, grader.pw_uid, grader.pw_gid)
            send(conn, {"links": links})
            # until the kernel ends, or the formgrader stops it (or dies): then stop the unit
            kernel_ended = os.pidfd_open(kernel.pid)
            try:
                select.select([conn, kernel_ended], [], [])
            finally:
                os.close(kernel_ended)
        finally:
            if kernel.poll() is None:
                subprocess.run(["systemctl", "stop", unit], check=False)
            stderr = kernel.communicate()[1]
        with contextlib.suppress(OSError):  # the formgrader may be gone: nobody to tell
            send(conn, {"ended": ending(stderr, limits.memory, limits.seconds)})
    finally:
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    """The course limits come as arguments (hub.yaml's `limits`, from the unit file): a
    request does not wait for hub.yaml to be read and validated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", required=True)
    parser.add_argument("--cpu", type=float, required=True)
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--seconds", type=int, required=True, help="limits.grading_time")
    limits = parser.parse_args()
    conn = socket.socket(fileno=sys.stdin.fileno())  # Accept=yes: the connection is stdin
    try:
        serve(conn, limits)
    except Refused as refused:
        # the broker did its job: no failed unit is left for each refusal
        print(f"refused: {refused}", file=sys.stderr)
        with contextlib.suppress(OSError):
            send(conn, {"error": str(refused)})


if __name__ == "__main__":
    main()
