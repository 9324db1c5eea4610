"""`hubctl logs` on the VM: which journal lines belong to the hub, the proxy, a user's server
or a course's formgrader, and the journalctl command that shows them.

Runs as root, in the CLI on the VM itself or over SSH from the hub venv:
`python3 -m hubctl.hub.logs [--since TIME] [--lines N] [--follow] [WHAT]`, which becomes
journalctl (exec). journalctl in follow mode ends by itself when its reader goes away.
"""

import argparse
import grp
import os
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

from hubctl import layout
from hubctl.config import parse_config
from hubctl.errors import HubctlError

HUB, PROXY = "hub", "proxy"
DEFAULT_LINES = 100  # without --since; with it, every line since then
LISTED = 20  # names shown in an "unknown name" error


def server_unit(user: str) -> str:
    """The systemd unit of a user's server (SystemdSpawner's unit_name_template)."""
    return f"jupyter-{user}-singleuser.service"


def journal_matches(what: str | None, users: Collection[str], courses: Collection[str]) -> list:
    """journalctl arguments that select the lines of `what` (None: the hub and the proxy)."""
    if what is None:
        return ["--unit", layout.HUB_UNIT, "--unit", layout.PROXY_UNIT]
    if what == HUB:
        return ["--unit", layout.HUB_UNIT]
    if what == PROXY:
        return ["--unit", layout.PROXY_UNIT]
    is_user, is_course = what in users, what in courses
    if is_user and is_course:
        raise HubctlError(
            f"'{what}' is both a user and a course: on the VM, see `journalctl -u"
            f" {server_unit(what)}` or `journalctl -u {layout.formgrader_unit(what)}`"
        )
    if is_user:
        return ["--unit", server_unit(what)]
    if is_course:
        return ["--unit", layout.formgrader_unit(what)]
    raise HubctlError(f"no user or course '{what}' on this hub: {known(users, courses)}")


def known(users: Collection[str], courses: Collection[str]) -> str:
    names = sorted(users)
    shown = ", ".join(names[:LISTED]) + (
        f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    )
    return (
        f"try hub, proxy, a course ({', '.join(sorted(courses)) or 'none'})"
        f" or a user with an account on the VM ({shown or 'none yet'})"
    )


def journalctl_argv(matches: list, since: str | None, lines: int | None, follow: bool) -> list:
    argv = ["journalctl", "--no-pager", *matches]
    if since:
        argv.append(f"--since={since}")
    if lines is None and not since:
        lines = DEFAULT_LINES
    if lines is not None:
        argv.append(f"--lines={lines}")
    if follow:
        argv.append("--follow")
    return argv


def check_since(since: str) -> None:
    """journalctl's own time syntax, checked by journalctl before any line is shown."""
    probe = subprocess.run(
        ["journalctl", f"--since={since}", "--lines=0", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode:
        raise HubctlError(
            f"--since {since!r}: not a time journalctl understands: use e.g. '1h ago',"
            " 'today', 'yesterday' or '2026-11-22 10:00'"
        )


def hub_users() -> list[str]:
    """Everyone hubctl made a Linux account for: only they can have had a server."""
    try:
        return list(grp.getgrnam(layout.USERS_GROUP).gr_mem)
    except KeyError:
        return []


def hub_courses() -> list[str]:
    path = Path(layout.CONFIG_FILE)
    if not path.exists():
        raise HubctlError(f"no hubctl hub here ({path} is missing): run `hubctl install`")
    return [
        course.id for course in parse_config(path.read_text(encoding="utf-8"), str(path)).courses
    ]


def journal_command(what: str | None, since: str | None, lines: int | None, follow: bool) -> list:
    """The journalctl command for `hubctl logs` on this machine; raises HubctlError for an
    unknown name or a bad --since."""
    matches = journal_matches(what, hub_users(), hub_courses())
    if since:
        check_since(since)
    return journalctl_argv(matches, since, lines, follow)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m hubctl.hub.logs")
    parser.add_argument("what", nargs="?")
    parser.add_argument("--since")
    parser.add_argument("--lines", type=int)
    parser.add_argument("--follow", action="store_true")
    args = parser.parse_args(argv)
    try:
        command = journal_command(args.what, args.since, args.lines, args.follow)
    except HubctlError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)
    sys.stdout.flush()
    os.execvp(command[0], command)  # noqa: S606 - journalctl replaces this process


if __name__ == "__main__":
    main()
