"""Linux accounts for hub users. A hub name IS the Unix name (nbgrader keys submissions by
the Unix name and checks the owner at collect), so a name taken by any account hubctl did
not create must never be used: that is how no hub user can run as a system account."""

import asyncio
import grp
import pwd
import subprocess

from hubctl import layout
from hubctl.config.schema import RESERVED_USER_NAMES, USER_NAME_RE
from hubctl.hub import plugin_hooks


class AccountRefused(Exception):
    """This hub name cannot have a server on this machine."""


def refusal(name: str, account: pwd.struct_passwd | None, members: list[str]) -> str | None:
    """Why `name` may not run as a Unix user, or None when it may."""
    if not USER_NAME_RE.match(name) or name in RESERVED_USER_NAMES:
        return f"'{name}' is not an allowed user name"
    if account is None:
        return None
    if account.pw_uid < layout.FIRST_USER_UID or name not in members:
        return f"'{name}' is an account of this machine that hubctl did not create"
    return None


def _lookup(name: str) -> tuple[pwd.struct_passwd | None, list[str]]:
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        account = None
    return account, grp.getgrnam(layout.USERS_GROUP).gr_mem


def is_refused(name: str) -> bool:
    return refusal(name, *_lookup(name)) is not None


def _useradd_argv(name: str) -> list[str] | None:
    """The useradd command that creates `name`, None if hubctl already made it; refuses
    any name that may not run as a Unix user."""
    account, members = _lookup(name)
    reason = refusal(name, account, members)
    if reason:
        raise AccountRefused(reason)
    if account is not None:
        return None
    return [
        "useradd",
        "--create-home",
        "--shell",
        "/bin/bash",
        "--user-group",
        "--groups",
        layout.USERS_GROUP,
        "--key",
        "HOME_MODE=0700",
        "--comment",
        "hubctl user",
        name,
    ]


async def ensure_unix_user(name: str) -> None:
    """Create the Linux user for a hub user (home 0700) unless hubctl already did."""
    argv = _useradd_argv(name)
    if argv is None:
        return
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"useradd failed ({process.returncode}): {output.decode().strip()}")
    plugin_hooks.new_user(name)


def ensure_unix_user_now(name: str) -> bool:
    """ensure_unix_user for scripts; True if the user was created."""
    argv = _useradd_argv(name)
    if argv is None:
        return False
    run(argv)
    plugin_hooks.new_user(name)
    return True


def run(argv: list[str], stdin: str | None = None, cwd: str | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False, cwd=cwd)
    if done.returncode:
        output = (done.stderr or done.stdout).strip()
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {output}")
    return done.stdout
