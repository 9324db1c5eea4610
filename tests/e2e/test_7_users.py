"""`hubctl users add|approve|reset-password|remove` on the running hub, from this machine
over SSH, checked by logging in over HTTP: each takes effect at once, without a restart."""

import json

from hubhttp import HubSession, sign_up

NEWCOMER, GRADER, LEAVER = "evan", "dana", "frank"
PASSWORD = "lilac-otter-88-river"


def logs_in(hub_url: str, name: str, password: str) -> bool:
    return HubSession(hub_url).log_in(name, password) == 302


def listed(cli) -> dict[str, dict]:
    return {user["name"]: user for user in json.loads(cli("users", "list", "--json").stdout)}


def test_add_makes_an_approved_grader_who_can_log_in(cli, hub_url, host):
    output = cli("users", "add", GRADER, "--course", "cs101", "--role", "grader").stdout
    password = output.split("password: ")[1].split()[0]
    assert f"Enrolled {GRADER} in cs101 as grader" in output
    assert logs_in(hub_url, GRADER, password)
    assert listed(cli)[GRADER]["groups"] == ["formgrade-cs101"]


def test_adding_again_changes_nothing(cli):
    output = cli("users", "add", GRADER, "--course", "cs101", "--role", "grader").stdout
    assert output == f"{GRADER} already has an account\n"


def test_reset_password_works_at_once_and_the_old_one_stops(cli, hub_url):
    output = cli("users", "reset-password", GRADER).stdout
    password = output.strip().rsplit(" ", 1)[1]
    assert logs_in(hub_url, GRADER, password)
    assert not logs_in(hub_url, GRADER, "not-the-password")


def test_approve_lets_a_waiting_sign_up_in_without_a_restart(cli, hub_url, host):
    assert "sent to the admin" in sign_up(hub_url, NEWCOMER, PASSWORD)
    assert not logs_in(hub_url, NEWCOMER, PASSWORD)  # the hub has now read the row once
    started = host.check_output("systemctl show -p ExecMainStartTimestamp jupyterhub")
    assert cli("users", "approve", NEWCOMER).stdout == f"Approved {NEWCOMER}\n"
    assert logs_in(hub_url, NEWCOMER, PASSWORD)
    assert host.check_output("systemctl show -p ExecMainStartTimestamp jupyterhub") == started
    assert cli("users", "approve", NEWCOMER).stdout == f"{NEWCOMER} was already approved\n"


def test_a_student_added_to_a_course_gets_a_linux_user_in_its_group(cli, host):
    output = cli("users", "add", LEAVER, "--course", "cs101").stdout
    assert f"Enrolled {LEAVER} in cs101 as student" in output
    assert "hubctl-cs101" in host.user(LEAVER).groups
    assert host.file(f"/home/{LEAVER}").mode == 0o700


def test_remove_keeps_the_files_and_the_name_blocked(cli, hub_url, host):
    home = f"/home/{LEAVER}"
    output = cli("users", "remove", LEAVER, "--yes").stdout
    assert output == f"Removed {LEAVER}; their files stay in {home}\n"
    assert host.file(home).is_directory
    assert LEAVER not in listed(cli)
    assert {"hubctl-users", "hubctl-cs101"}.isdisjoint(host.user(LEAVER).groups)
    assert "Something went wrong" in sign_up(hub_url, LEAVER, PASSWORD)
    assert not logs_in(hub_url, LEAVER, PASSWORD)


def test_an_unknown_user_is_named(cli):
    result = cli("users", "approve", "nobody-here", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "Error: no user named 'nobody-here': see `hubctl users list`"
    )
