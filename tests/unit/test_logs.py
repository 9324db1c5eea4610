"""`hubctl logs`: which journal lines a name selects, the journalctl and ssh commands, and
the one-line errors."""

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from hubctl.ansible.target import Target
from hubctl.cli import hubctl
from hubctl.commands.logs import ansible_ssh_args, remote_args, remote_error, ssh_argv
from hubctl.errors import HubctlError
from hubctl.hub.logs import check_since, journal_matches, journalctl_argv

USERS, COURSES = ["ann", "ben"], ["cs101"]


@pytest.mark.parametrize(
    ("what", "matches"),
    [
        (None, ["--unit", "jupyterhub.service", "--unit", "configurable-http-proxy.service"]),
        ("hub", ["--unit", "jupyterhub.service"]),
        ("proxy", ["--unit", "configurable-http-proxy.service"]),
        ("ann", ["--unit", "jupyter-ann-singleuser.service"]),
        ("cs101", ["--unit", "hubctl-formgrader@cs101.service"]),
    ],
)
def test_each_name_selects_its_lines(what, matches):
    assert journal_matches(what, USERS, COURSES) == matches


def test_an_unknown_name_lists_what_there_is():
    with pytest.raises(HubctlError) as error:
        journal_matches("zed", USERS, COURSES)
    assert str(error.value) == (
        "no user or course 'zed' on this hub: try hub, proxy, a course (cs101)"
        " or a user with an account on the VM (ann, ben)"
    )


def test_a_long_user_list_is_cut_short():
    with pytest.raises(HubctlError, match=r"u19 and 5 more\)$"):
        journal_matches("zed", [f"u{n:02}" for n in range(25)], [])


def test_a_name_that_is_both_a_user_and_a_course_says_how_to_see_each():
    with pytest.raises(HubctlError, match="'cs101' is both a user and a course"):
        journal_matches("cs101", ["cs101"], COURSES)


def test_journalctl_shows_the_last_100_lines_unless_asked_otherwise():
    matches = ["--unit", "jupyterhub.service"]
    assert journalctl_argv(matches, None, None, False) == [
        "journalctl", "--no-pager", *matches, "--lines=100",
    ]  # fmt: skip
    assert journalctl_argv(matches, "1h ago", None, True) == [
        "journalctl", "--no-pager", *matches, "--since=1h ago", "--follow",
    ]  # fmt: skip
    assert journalctl_argv(matches, "today", 5, False)[-2:] == ["--since=today", "--lines=5"]


def test_since_is_checked_by_journalctl_itself():
    check_since("1h ago")
    check_since("2026-11-22 10:00")
    with pytest.raises(HubctlError, match=r"^--since 'half past nine': not a time journalctl"):
        check_since("half past nine")


def test_remote_arguments_keep_a_name_that_looks_like_an_option_a_name():
    assert remote_args(None, None, None, False) == []
    assert remote_args("ann", "1h ago", 0, True) == [
        "--since=1h ago", "--lines=0", "--follow", "--", "ann",
    ]  # fmt: skip


def test_ssh_connects_like_the_install_and_runs_as_root():
    target = Target.parse("admin@vm.example:2222", ssh_key=Path("/k/id"))
    argv = ssh_argv(target, ["python3", "-m", "hubctl.hub.logs", "--since=1h ago"], "-o A=b", False)
    assert argv[:-2] == [
        "ssh", "-p", "2222", "-i", "/k/id", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=3", "-o", "A=b", "admin@vm.example",
    ]  # fmt: skip
    assert argv[-2] == "--"
    script = argv[-1]
    assert "exec python3 -m hubctl.hub.logs '--since=1h ago';" in script
    assert "exec sudo -n python3" in script
    assert shlex.split(script)[:3] == ["if", "[", "$(id -u)"]  # one shell line on the VM


def test_with_a_sudo_password_sudo_reads_it_from_stdin():
    argv = ssh_argv(Target.parse("vm"), ["journalctl"], "", True)
    assert argv[-3] == "vm"
    assert "exec sudo -S -p '' journalctl;" in argv[-1]


def test_the_ssh_options_come_from_ansibles_environment():
    environ = {"ANSIBLE_SSH_COMMON_ARGS": "-o X=1", "ANSIBLE_SSH_EXTRA_ARGS": "-o Y=2"}
    assert ansible_ssh_args(environ) == "-o X=1 -o Y=2"
    assert ansible_ssh_args({}) == ""


@pytest.mark.parametrize(
    ("stderr", "code", "message"),
    [
        ("Error: no user or course 'zed' on this hub: try hub\n", 1,
         "no user or course 'zed' on this hub: try hub"),
        ("ssh: connect to host vm port 22: Connection refused\n", 255,
         "cannot reach vm over SSH: ssh: connect to host vm port 22: Connection refused"),
        ("sudo: a password is required\n", 1,
         "sudo on vm needs a password: add -K (--ask-become-pass)"),
        ("Sorry, try again.\nsudo: 1 incorrect password attempt\n", 1,
         "sudo on vm refused the password: run again and type it carefully"),
        ("sudo: /opt/hubctl/hub/bin/python3: command not found\n", 1,
         "no hubctl hub on vm (or one from an older hubctl): run `hubctl install`"),
        ("/opt/hubctl/hub/bin/python3: No module named hubctl.hub.logs\n", 1,
         "no hubctl hub on vm (or one from an older hubctl): run `hubctl install`"),
        ("", 3, "reading the logs on vm failed: exit 3"),
        ("", -15, "ssh to vm was ended by signal 15"),
    ],
)  # fmt: skip
def test_remote_failures_become_one_line(stderr, code, message):
    assert remote_error(stderr, code, "vm") == message


def test_an_unreachable_host_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("ANSIBLE_SSH_COMMON_ARGS", "-o BatchMode=yes")
    result = CliRunner().invoke(hubctl, ["logs", "hub", "--host", "root@127.0.0.1:1"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot reach 127.0.0.1 over SSH: ssh: connect to host")


def test_a_negative_line_count_is_refused():
    result = CliRunner().invoke(hubctl, ["logs", "-n", "-3", "--host", "vm"])
    assert result.exit_code == 2
    assert "Invalid value for '-n' / '--lines'" in result.output
