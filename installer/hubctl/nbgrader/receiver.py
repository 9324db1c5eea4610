"""The submission receiver: what makes a handed-in submission frozen (docs/security.md).

A student's `nbgrader submit` (hubctl.nbgrader.exchange) builds her submission in a folder
of her own in the course's staging folder, then sends one JSON line over
layout.SUBMIT_SOCKET: {"course": ..., "assignment": ..., "staging": ...}. systemd starts this
module as root for that one connection (hubctl-submit@.service, sandboxed). It learns who
she is from the socket (SO_PEERCRED), copies from her folder only directories and regular
files that are hers, have no other hard link and stay within it (never a symlink, FIFO,
socket or device), into a new folder that the course's grader owns in the course's inbound,
where students cannot write. It writes timestamp.txt itself, with the time it received the
submission, names the folder `student+assignment+time+random` with that time, renames it
into place whole, and answers one JSON line: {"name", "timestamp", "skipped"} or {"error"}.

`python -m hubctl.nbgrader.receiver freeze COURSE...` (the install, as root) gives the
submissions an older hubctl left in inbound, owned by their students, the same treatment.
"""

import base64
import datetime
import errno
import grp
import json
import os
import pwd
import re
import shutil
import socket
import stat
import struct
import sys
from dataclasses import dataclass, field
from functools import partial

from hubctl import layout

# nbgrader's own format (Exchange.timestamp_format) in UTC, what a student's submit wrote.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
CONTENT = "submission"  # the folder in her staging folder that holds what she hands in
MAX_REQUEST = 4096
# More than nbgrader's own limits (max_dir_size 100 MB, max_file_size 100 MB by default).
MAX_BYTES = 1 << 30
MAX_ENTRIES = 10_000
MAX_DEPTH = 32
DISK_FULL = "disk full"
COURSE_RE = re.compile(r"^[a-z][a-z0-9_]{0,23}$")  # hubctl.config.schema.COURSE_ID_RE
STAGING_RE = re.compile(rf"^{re.escape(layout.SUBMIT_STAGING_PREFIX)}[A-Za-z0-9_]{{1,64}}$")
# nbgrader refuses '+' in an assignment id; a folder name must not hold '/' or start a dot.
ASSIGNMENT_RE = re.compile(r"^[^./+\x00-\x1f][^/+\x00-\x1f]{0,99}$")
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in after the lstat opens without waiting; fstat then skips it.
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class Refused(Exception):
    """A submission the receiver does not take; the text goes back to the student."""


@dataclass(frozen=True)
class Request:
    course: str
    assignment: str
    staging: str


@dataclass
class Budget:
    """What one submission may still hold; the names of what was left out."""

    bytes: int = MAX_BYTES
    entries: int = MAX_ENTRIES
    skipped: list[str] = field(default_factory=list)

    def take(self, entries: int = 0, size: int = 0) -> None:
        self.entries -= entries
        self.bytes -= size
        if self.entries < 0 or self.bytes < 0:
            raise Refused(
                f"the submission is too big (at most {MAX_ENTRIES} files and folders,"
                f" {MAX_BYTES >> 20} MB)"
            )


def parse_request(line: bytes) -> Request:
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refused("not a submission request") from None
    if not isinstance(data, dict) or set(data) != {"course", "assignment", "staging"}:
        raise Refused("not a submission request")
    for key, rule in (
        ("course", COURSE_RE),
        ("assignment", ASSIGNMENT_RE),
        ("staging", STAGING_RE),
    ):
        if not isinstance(data[key], str) or not rule.match(data[key]):
            raise Refused(f"not a valid {key} name")
    return Request(data["course"], data["assignment"], data["staging"])


def now_stamp(now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now(datetime.UTC)
    return now.astimezone(datetime.UTC).strftime(TIMESTAMP_FORMAT)


def submission_name(student: str, assignment: str, timestamp: str) -> str:
    """nbgrader's `student+assignment+timestamp+random` (collect parses the time from it)."""
    random = base64.urlsafe_b64encode(os.urandom(9)).decode("ascii")
    return f"{student}+{assignment}+{timestamp}+{random}"


def copy_tree(
    src_fd: int, dst_fd: int, owner: int, budget: Budget, leave_out=(), path: str = "", depth=0
) -> None:
    """Copy what folder `src_fd` holds into folder `dst_fd`: only folders and regular files
    that `owner` owns, on the same file system, files with no other hard link. Everything
    else (symlinks, FIFOs, sockets, devices, others' files) and the names in `leave_out` are
    left out and named in budget.skipped. Nothing is ever opened through a link: each name
    is opened relative to its folder's descriptor with O_NOFOLLOW, then checked again on the
    open descriptor."""
    if depth > MAX_DEPTH:
        raise Refused(f"the submission's folders are nested more than {MAX_DEPTH} deep")
    device = os.fstat(src_fd).st_dev
    for name in sorted(os.listdir(src_fd)):
        shown = f"{path}{name}"
        if name in leave_out:
            budget.skipped.append(shown)
            continue
        info = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
            budget.skipped.append(shown)
            continue
        flags = DIR_FLAGS if stat.S_ISDIR(info.st_mode) else FILE_FLAGS
        try:
            fd = os.open(name, flags, dir_fd=src_fd)
        except OSError as error:  # swapped for a link or removed since the lstat
            if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                budget.skipped.append(shown)
                continue
            raise
        try:
            opened = os.fstat(fd)
            if not may_copy(opened, info, owner, device):
                budget.skipped.append(shown)
                continue
            budget.take(entries=1)
            if stat.S_ISDIR(opened.st_mode):
                os.mkdir(name, 0o700, dir_fd=dst_fd)
                sub = os.open(name, DIR_FLAGS, dir_fd=dst_fd)
                try:
                    copy_tree(fd, sub, owner, budget, (), f"{shown}/", depth + 1)
                finally:
                    os.close(sub)
            else:
                copy_file(fd, name, dst_fd, budget)
        finally:
            os.close(fd)


def may_copy(opened: os.stat_result, seen: os.stat_result, owner: int, device: int) -> bool:
    """The rule for one opened entry (`seen` is its lstat before the open)."""
    kind = stat.S_IFMT(opened.st_mode)
    return (
        (opened.st_ino, opened.st_dev, kind)
        == (seen.st_ino, seen.st_dev, stat.S_IFMT(seen.st_mode))
        and kind in (stat.S_IFDIR, stat.S_IFREG)
        and opened.st_uid == owner
        and opened.st_dev == device
        and (kind == stat.S_IFDIR or opened.st_nlink == 1)
    )


def copy_file(src: int, name: str, dst_dir: int, budget: Budget) -> None:
    """Copy the open regular file, counting what is read (it may grow meanwhile)."""
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dst_dir)
    try:
        while chunk := os.read(src, 1 << 20):
            budget.take(size=len(chunk))
            view = memoryview(chunk)
            while view:
                view = view[os.write(out, view) :]
    finally:
        os.close(out)


def give_to(fd: int, uid: int, gid: int) -> None:
    """Folder `fd` and everything in it (all made by this module) to uid:gid, 0700/0600."""
    for name in os.listdir(fd):
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            sub = os.open(name, DIR_FLAGS, dir_fd=fd)
            try:
                give_to(sub, uid, gid)
            finally:
                os.close(sub)
        else:
            os.chown(name, uid, gid, dir_fd=fd, follow_symlinks=False)
            os.chmod(name, 0o600, dir_fd=fd)
    os.fchmod(fd, 0o700)
    os.fchown(fd, uid, gid)


def build(inbound_fd: int, name: str, grader: pwd.struct_passwd, fill) -> None:
    """Make folder `name` in inbound whole or not at all: `fill(fd)` fills a hidden folder
    (collect's glob skips dot names), which then goes to the grader and into place."""
    hidden = f".receiving-{os.urandom(6).hex()}"
    os.mkdir(hidden, 0o700, dir_fd=inbound_fd)
    try:
        fd = os.open(hidden, DIR_FLAGS, dir_fd=inbound_fd)
        try:
            os.fchmod(fd, 0o700)  # without the set-group-ID bit a folder may inherit
            fill(fd)
            give_to(fd, grader.pw_uid, grader.pw_gid)
        finally:
            os.close(fd)
        os.rename(hidden, name, src_dir_fd=inbound_fd, dst_dir_fd=inbound_fd)
    except BaseException:
        shutil.rmtree(hidden, dir_fd=inbound_fd, ignore_errors=True)
        raise


def write_text(dir_fd: int, name: str, text: str) -> None:
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def open_course(course: str) -> tuple[int, pwd.struct_passwd]:
    """The course's inbound folder and its grader account (which must own it)."""
    grader = pwd.getpwnam(layout.grader_account(course))
    fd = os.open(f"{layout.EXCHANGE_DIR}/{course}/inbound", DIR_FLAGS)
    if os.fstat(fd).st_uid != grader.pw_uid:
        os.close(fd)
        raise Refused("the course's inbound folder is not its grader's")
    return fd, grader


def is_member(student: pwd.struct_passwd, course: str) -> bool:
    group = grp.getgrnam(layout.course_group(course))
    return student.pw_name in group.gr_mem or student.pw_gid == group.gr_gid


def receive(request: Request, uid: int, now: datetime.datetime | None = None) -> dict:
    """Take the submission in `request` from the student with `uid`: {name, timestamp,
    skipped}. Raises Refused, or OSError (ENOSPC...) with nothing left in inbound."""
    try:
        student = pwd.getpwuid(uid)
        if not is_member(student, request.course):
            raise Refused("you are not a student of this course")
    except KeyError:
        raise Refused("you are not a student of this course") from None
    if not os.path.isdir(f"{layout.EXCHANGE_DIR}/{request.course}/outbound/{request.assignment}"):
        raise Refused("the assignment is not released")
    content = open_staged(request, uid)
    try:
        inbound, grader = open_course(request.course)
        timestamp = now_stamp(now)
        name = submission_name(student.pw_name, request.assignment, timestamp)
        budget = Budget()

        def fill(fd: int) -> None:
            copy_tree(content, fd, uid, budget, leave_out=("timestamp.txt",))
            write_text(fd, "timestamp.txt", timestamp)

        try:
            build(inbound, name, grader, fill)
        finally:
            os.close(inbound)
    finally:
        os.close(content)
    return {"name": name, "timestamp": timestamp, "skipped": budget.skipped}


def open_staged(request: Request, uid: int) -> int:
    """The folder of what she hands in, in her staging folder; both must be hers."""
    staging = os.open(
        f"{layout.EXCHANGE_DIR}/{request.course}/{layout.SUBMIT_STAGING_DIR}", DIR_FLAGS
    )
    try:
        folder = os.open(request.staging, DIR_FLAGS, dir_fd=staging)
    except OSError:
        raise Refused("the staged submission is not there") from None
    finally:
        os.close(staging)
    try:
        content = os.open(CONTENT, DIR_FLAGS, dir_fd=folder)
        if os.fstat(folder).st_uid == uid == os.fstat(content).st_uid:
            return content
        os.close(content)
    except OSError:
        pass
    finally:
        os.close(folder)
    raise Refused("the staged submission is not a folder of yours")


def out_of_space(error: OSError) -> bool:
    return error.errno in (errno.ENOSPC, errno.EDQUOT)


def answer_for(line: bytes, uid: int) -> dict:
    try:
        return receive(parse_request(line), uid)
    except Refused as refused:
        return {"error": str(refused)}
    except OSError as error:
        if out_of_space(error):
            return {"error": DISK_FULL}
        raise


def serve(connection: socket.socket) -> None:
    """One connection (systemd's Accept=yes hands it over as stdin)."""
    connection.settimeout(60)
    creds = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    line = b""
    while b"\n" not in line and len(line) <= MAX_REQUEST:
        chunk = connection.recv(MAX_REQUEST)
        if not chunk:
            break
        line += chunk
    if b"\n" in line:
        answer = answer_for(line.split(b"\n", 1)[0], uid)
    else:
        answer = {"error": "not a submission request"}
    print(f"uid {uid}: {json.dumps(answer)}", file=sys.stderr)  # the journal
    connection.sendall(json.dumps(answer).encode() + b"\n")


def freeze(course: str) -> list[str]:
    """Give the submissions an older hubctl left in `course`'s inbound (owned by their
    students, who could still change them) to the grader, copied by the same rules, under
    the same names. What is not a folder there (a planted link) is removed. Returns the
    names changed; none on a second run."""
    inbound, grader = open_course(course)
    changed = []
    try:
        for name in sorted(os.listdir(inbound)):
            info = os.stat(name, dir_fd=inbound, follow_symlinks=False)
            if name.startswith(".") or info.st_uid == grader.pw_uid and stat.S_ISDIR(info.st_mode):
                continue
            changed.append(name)
            if not stat.S_ISDIR(info.st_mode):
                os.unlink(name, dir_fd=inbound)
                continue
            old = os.open(name, DIR_FLAGS, dir_fd=inbound)
            try:
                frozen = f".frozen-{os.urandom(6).hex()}"
                build(
                    inbound,
                    frozen,
                    grader,
                    partial(copy_tree, old, owner=info.st_uid, budget=Budget()),
                )
            finally:
                os.close(old)
            aside = f".replaced-{os.urandom(6).hex()}"
            os.rename(name, aside, src_dir_fd=inbound, dst_dir_fd=inbound)
            os.rename(frozen, name, src_dir_fd=inbound, dst_dir_fd=inbound)
            shutil.rmtree(aside, dir_fd=inbound)
    finally:
        os.close(inbound)
    return changed


def main(argv: list[str]) -> None:
    if argv[:1] == ["freeze"]:
        print(json.dumps({"changed": [name for course in argv[1:] for name in freeze(course)]}))
        return
    with socket.socket(fileno=sys.stdin.fileno()) as connection:
        serve(connection)


if __name__ == "__main__":
    main(sys.argv[1:])
