"""`hubctl logs`: the hub's journal by what it is (hub, proxy, a user, a course), not by unit
name; on this machine, or streamed over SSH with the install's SSH settings."""

import os
import shlex
import signal
import subprocess
import sys
from contextlib import contextmanager

import click

from hubctl import layout
from hubctl.ansible.target import Target
from hubctl.commands.options import resolve_target, target_options
from hubctl.errors import HubctlError
from hubctl.hub.logs import journal_command

REMOTE_MODULE = [f"{layout.HUB_VENV}/bin/python3", "-m", "hubctl.hub.logs"]


@click.command()
@click.argument("what", required=False, metavar="[hub|proxy|USER|COURSE]")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.option(
    "--since",
    metavar="TIME",
    help="Only lines since TIME, in journalctl's syntax: '1h ago', 'today', '2026-11-22 10:00'.",
)
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(min=0),
    help="Show the last N lines  [default: 100, or all since --since]",
)
@target_options
def logs(what, follow, since, lines, host_spec, ssh_key, ask_become_pass):
    """The hub's logs from the systemd journal: `hub`, `proxy`, a user's server, a course's
    formgrader, or (without WHAT) the hub and the proxy together."""
    target = resolve_target(host_spec, ssh_key, "reading the hub's logs")
    if target.is_local:
        code = _run_local(journal_command(what, since, lines, follow))
    else:
        password = (
            click.prompt(f"sudo password on {target.label}", hide_input=True)
            if ask_become_pass
            else None
        )
        code = _run_remote(target, remote_args(what, since, lines, follow), password)
    sys.exit(code)


def remote_args(what: str | None, since: str | None, lines: int | None, follow: bool) -> list:
    """hubctl.hub.logs's arguments for the same request."""
    args = [f"--since={since}"] * bool(since) + [f"--lines={lines}"] * (lines is not None)
    return args + ["--follow"] * follow + ["--", what] * bool(what)


def ssh_argv(target: Target, command: list[str], extra_args: str, with_password: bool) -> list:
    """ssh as Ansible connects for the install (user, port, key, timeout, the extra ssh
    options of its environment and the target), running `command` as root: directly when
    logged in as root, else through sudo, as Ansible's become does."""
    argv = ["ssh"]
    if target.port:
        argv += ["-p", str(target.port)]
    if target.ssh_key:
        argv += ["-i", str(target.ssh_key)]
    argv += ["-o", "ConnectTimeout=10"]  # Ansible's default timeout
    # A follower waits for lines, maybe for hours: notice a dead connection within a minute.
    argv += ["-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"]
    argv += shlex.split(extra_args) + shlex.split(" ".join(target.ssh_options))
    argv.append(f"{target.user}@{target.host}" if target.user else str(target.host))
    quoted = shlex.join(command)
    # -S reads the password from stdin, -n never prompts: a missing password fails at once.
    sudo = "sudo -S -p ''" if with_password else "sudo -n"
    argv += ["--", f'if [ "$(id -u)" = 0 ]; then exec {quoted}; else exec {sudo} {quoted}; fi']
    return argv


def ansible_ssh_args(environ=os.environ) -> str:
    """The extra ssh options Ansible's ssh connection would add (its environment settings)."""
    names = ("ANSIBLE_SSH_COMMON_ARGS", "ANSIBLE_SSH_EXTRA_ARGS")
    return " ".join(environ[name] for name in names if environ.get(name))


def remote_error(stderr: str, returncode: int, where: str) -> str:
    """One line for a failed remote `hubctl logs`."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("Error: ")]
    if ours:
        return ours[-1].removeprefix("Error: ")
    text = "\n".join(lines)
    if returncode < 0:
        return f"ssh to {where} was ended by signal {-returncode}"
    if returncode == 255:
        return f"cannot reach {where} over SSH: {lines[-1] if lines else 'ssh failed'}"
    if "incorrect password" in text or "Sorry, try again" in text:
        return f"sudo on {where} refused the password: run again and type it carefully"
    if "a password is required" in text:
        return f"sudo on {where} needs a password: add -K (--ask-become-pass)"
    if any(sign in text for sign in ("No module named", "No such file", "command not found")):
        return f"no hubctl hub on {where} (or one from an older hubctl): run `hubctl install`"
    return f"reading the logs on {where} failed: {lines[-1] if lines else f'exit {returncode}'}"


def _run_local(argv: list[str]) -> int:
    with _stopped_by_signals():
        process = subprocess.Popen(argv)
        try:
            return process.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            _end(process)


def _run_remote(target: Target, args: list[str], password: str | None) -> int:
    """Stream the VM's journalctl output as it comes; its errors become one line."""
    argv = ssh_argv(target, [*REMOTE_MODULE, *args], ansible_ssh_args(), password is not None)
    with _stopped_by_signals():
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if password is not None:
                process.stdin.write(password + "\n")
            process.stdin.close()
            stderr = process.stderr.read()
            process.wait()
        except KeyboardInterrupt:
            return 0  # ssh ends with us; journalctl on the VM ends with its reader
        finally:
            _end(process)
    if process.returncode:
        raise HubctlError(remote_error(stderr, process.returncode, target.label))
    sys.stderr.write(stderr)
    return 0


@contextmanager
def _stopped_by_signals():
    """SIGTERM stops following like Ctrl-C does, taking the journalctl or ssh child along."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait()
