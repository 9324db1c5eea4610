"""`hubctl uninstall`: what it asks before starting and what it says it kept."""

from click.testing import CliRunner

from hubctl.cli import hubctl
from hubctl.commands.uninstall import confirmation, summary


def test_it_asks_first_and_no_stops_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    result = CliRunner().invoke(
        hubctl, ["uninstall", "--delete-data", "--host", "admin@vm.example"], input="n\n"
    )
    assert result.exit_code == 1
    assert result.output == (
        "Remove the hub and its data (database, courses, exchange, datasets, backups) from vm.example?"
        " [y/N]: n\nAborted!\n"
    )
    assert not (tmp_path / "hubctl" / "logs").exists()  # no playbook was started


def test_the_question_names_what_goes():
    assert confirmation("this machine", True, False) == "Remove the hub from this machine?"
    assert confirmation("vm", True, True) == (
        "Remove the hub and the users' Linux accounts and homes from vm?"
    )


def test_the_summary_says_where_the_kept_data_is():
    report = {
        "kept_data": ["/var/lib/hubctl", "/srv/nbgrader", "/srv/hubctl"],
        "kept_users": ["ann", "ben"],
        "kept_graders": ["grader-cs101"],
        "kept_packages": [],
        "needed_by": [],
    }
    assert summary("vm", 12, 41.6, report).splitlines() == [
        "Removed the hub from vm in 42s.",
        "Kept the data: /var/lib/hubctl (the hub database); /srv/nbgrader (courses, gradebooks"
        " and the exchange); /srv/hubctl (the courses' datasets). `--delete-data` deletes it.",
        "Kept with it the accounts and groups that own it: grader-cs101, hubctl-cs101.",
        "Kept 2 users' Linux accounts and homes (ann, ben) and their group hubctl-users."
        " `--remove-users` deletes them.",
    ]


def test_a_second_run_says_there_was_nothing_to_remove():
    assert summary("vm", 0, 3.0, {"kept_data": []}) == "Nothing to remove: no hubctl hub on vm."


def test_packages_that_the_vms_own_software_needs_stay_and_say_why():
    report = {"kept_packages": ["git", "git-man"], "needed_by": ["myapp"]}
    assert summary("vm", 3, 9.0, report).splitlines()[1] == (
        "Kept the packages the install added (git, git-man): other packages of this VM need"
        " them (myapp)."
    )
