"""The exam built-in: --until parsing, the nftables table, the spawner hook's options and the
CLI's input checks. The table's effect on real sockets is tests/e2e/test_13_plugin_exam.py's."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from traitlets import Bool, Dict
from traitlets.config import Application

import hubctl_plugins.exam as exam_plugin
from hubctl.config import parse_config
from hubctl.plugins import EnabledPlugins, cli_commands
from hubctl_plugins.exam import exams, nft
from hubctl_plugins.exam.cli import exam
from hubctl_plugins.exam.timing import BadTime, parse_until

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)  # 11:30 in Berlin


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("12:00", UTC, datetime(2026, 11, 22, 12, 0, tzinfo=UTC)),
        ("12:00", BERLIN, datetime(2026, 11, 22, 11, 0, tzinfo=UTC)),
        ("9:45", ZoneInfo("America/New_York"), datetime(2026, 11, 22, 14, 45, tzinfo=UTC)),
        ("2026-11-23T09:00", BERLIN, datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        ("2026-11-22T10:31+00:00", BERLIN, datetime(2026, 11, 22, 10, 31, tzinfo=UTC)),
    ],
)
def test_until_is_in_the_course_time_zone_unless_it_says_otherwise(text, zone, expected):
    assert parse_until(text, NOW, zone) == expected


def test_hh_mm_is_today_in_the_course_zone_even_when_utc_has_another_date():
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # already the 23rd in Berlin
    assert parse_until("01:00", late, BERLIN) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("11:30", "--until '11:30' (2026-11-22 11:30 CET) is past: give a later time"),
        ("10:00", "--until '10:00' (2026-11-22 10:00 CET) is past: give a later time"),
        ("2026-11-21T12:00", "--until '2026-11-21T12:00' (2026-11-21 12:00 CET) is past"),
        ("24:00", "--until '24:00' is not a time: write HH:MM (today, in the course's time zone)"),
        ("noon", "--until 'noon' is not a time: write HH:MM"),
        ("12:5", "--until '12:5' is not a time"),
    ],
)
def test_a_past_or_malformed_until_is_refused(text, message):
    with pytest.raises(BadTime) as error:
        parse_until(text, NOW, BERLIN)
    assert str(error.value).startswith(message)


def test_the_table_shuts_out_the_uids_but_keeps_loopback():
    script = nft.render({1003, 1001})
    assert script.startswith("table inet hubctl_exam\ndelete table inet hubctl_exam\n")
    assert "elements = { 1001, 1003 }" in script
    rules = script.split("chain output {")[1]
    lines = [line.strip() for line in rules.splitlines() if line.strip()]
    assert lines[:3] == [
        "type filter hook output priority filter; policy accept;",
        'oifname "lo" accept',
        "meta skuid @exam_uids counter reject with icmpx admin-prohibited",
    ]


def test_without_exams_the_table_is_removed():
    assert nft.render(set()) == "table inet hubctl_exam\ndelete table inet hubctl_exam\n"


def test_the_exam_args_parse_as_jupyter_server_reads_them():
    class ServerApp(Application):
        terminals_enabled = Bool(True, config=True)
        jpserver_extensions = Dict(value_trait=Bool(), config=True)  # as jupyter_server's

    app = ServerApp()
    app.parse_command_line(exam_plugin.EXAM_ARGS)
    assert app.config.ServerApp.terminals_enabled is False
    assert app.jpserver_extensions == {"nbgitpuller": False, "jupyter_server_terminals": False}


@pytest.fixture
def state(tmp_path, monkeypatch):
    """The exams' state in tmp_path; the table's loads and the hub's requests to reload it
    (as root, through the plugin's unit) recorded instead of run."""
    monkeypatch.setattr(exams, "STATE_DIR", tmp_path / "exams")
    loaded = []
    monkeypatch.setattr(nft, "load", loaded.append)
    monkeypatch.setattr(exams, "reload_as_root", lambda: loaded.append("reload"))
    return loaded


def test_a_student_of_a_course_under_exam_starts_in_exam_mode(state):
    exams.write("math2", {"started": NOW.isoformat(), "until": None, "students": []})
    options = exam_plugin.hubctl_pre_spawn(user="root", groups=["nbgrader-math2"])
    assert options == {"args": exam_plugin.EXAM_ARGS}
    assert exams.read_all()["math2"]["students"] == ["root"]  # recorded for later loads
    assert state == ["reload"]  # root's uid was not in the table yet
    state.clear()
    assert exams.apply() == {0}  # the reload: a user outside the Linux group still counts
    assert exams.applied() == {0}
    exam_plugin.hubctl_pre_spawn(user="root", groups=["nbgrader-math2"])
    assert state == [{0}]  # in the table already: no reload


@pytest.mark.parametrize(
    "groups", [["formgrade-math2"], ["nbgrader-cs101"], [], ["nbgrader-math2x"]]
)
def test_everyone_else_starts_as_usual(state, groups):
    exams.write("math2", {"started": NOW.isoformat(), "until": None, "students": []})
    assert exam_plugin.hubctl_pre_spawn(user="root", groups=groups) == {}
    assert state == []


def test_an_exam_past_its_end_is_not_running(state):
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    exams.write("math2", {"started": NOW.isoformat(), "until": past, "students": []})
    assert exams.running() == {}
    assert exam_plugin.hubctl_pre_spawn(user="root", groups=["nbgrader-math2"]) == {}
    assert json.loads(exams.state_file("math2").read_text())["until"] == past


def test_the_role_is_a_valid_plugin_role():
    config = parse_config("users: {instructors: [alice]}\nplugins: {exam: {}}\n")
    install = EnabledPlugins(config).install_vars(user_lock=[])
    assert [role["role"] for role in install["hubctl_plugin_roles"]] == ["hubctl_exam"]
    assert install["hubctl_exam_hub_venv"] == "/opt/hubctl/hub"
    assert install["hubctl_plugin_packages"]["apt"] == ["nftables"]


def test_a_malformed_until_stops_the_cli_before_any_host():
    result = CliRunner().invoke(exam, ["start", "math2", "--until", "25:00"])
    assert result.exit_code == 2
    assert "Invalid value for '--until': '25:00' is not a time: write HH:MM" in result.output


def test_hubctl_gets_the_exam_commands():
    commands, warnings = cli_commands()
    assert ("exam", exam) in commands and warnings == []
    assert sorted(exam.commands) == ["start", "status", "stop"]
