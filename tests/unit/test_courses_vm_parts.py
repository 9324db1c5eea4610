"""The pure parts of hubctl's course support: per-role Jupyter settings, the formgrader's
frame policy, the spawner's role choice, password files, and what the install sends."""

import stat

import pytest

from hubctl.ansible.remote import parse_answer
from hubctl.ansible.runner import course_people, vm_document
from hubctl.config import parse_config
from hubctl.errors import HubctlError
from hubctl.nbgrader.formgrader_frames import frame_ancestors
from hubctl.nbgrader.profiles import all_profiles, profile_files, profile_for
from hubctl.passwords import write_passwords

CONFIG = parse_config(
    """
users: {instructors: [alice, bob]}
courses:
  - {id: cs101, instructors: [alice], graders: [tom, bob], students: [ann, ben]}
  - {id: math2, instructors: [bob], students: [ann, cat]}
"""
)


def disabled(profile: str) -> set[str]:
    return set(profile_files(profile)["labconfig/page_config.json"]["disabledExtensions"])


def test_students_get_no_authoring_and_no_course_list():
    assert disabled("student") == {
        "@jupyter/nbgrader:formgrader",
        "@jupyter/nbgrader:create-assignment",
        "@jupyter/nbgrader:course-list",
    }
    extensions = profile_files("student")["jupyter_server_config.json"]["ServerApp"]
    assert extensions["jpserver_extensions"] == {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False,
    }


def test_staff_find_their_courses_through_the_hub():
    assert "@jupyter/nbgrader:course-list" not in disabled("staff")
    config = profile_files("staff")["nbgrader_config.json"]
    assert config["Authenticator"] == {"plugin_class": "nbgrader.auth.JupyterHubAuthPlugin"}


def test_the_formgrader_service_keeps_authoring_and_its_frame_policy():
    assert disabled("formgrader") == {
        "@jupyter/nbgrader:assignment-list",
        "@jupyter/nbgrader:course-list",
    }
    extensions = profile_files("formgrader")["jupyter_server_config.json"]["ServerApp"]
    assert extensions["jpserver_extensions"]["hubctl.nbgrader.formgrader_frames"] is True


def test_every_profile_uses_the_closed_exchange():
    for entry in all_profiles():
        if entry["path"] == "nbgrader_config.json":
            config = entry["content"]
            assert config["Exchange"] == {"root": "/srv/nbgrader/exchange"}
            assert config["ExchangeFactory"]["submit"] == "hubctl.nbgrader.exchange.ExchangeSubmit"
    assert len(all_profiles()) == 10  # three files a profile, and the formgraders' kernel


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            "frame-ancestors 'none'",
            "frame-ancestors https://hub.example:8080/services/cs101/lab"
            " https://hub.example:8080/services/cs101/lab/"
            " http://hub.example:8080/services/cs101/lab http://hub.example:8080/services/cs101/lab/",
        ),
        (
            "default-src 'self'; frame-ancestors 'none'; report-uri /x",
            "default-src 'self'; frame-ancestors https://hub.example:8080/services/cs101/lab"
            " https://hub.example:8080/services/cs101/lab/"
            " http://hub.example:8080/services/cs101/lab"
            " http://hub.example:8080/services/cs101/lab/; report-uri /x",
        ),
    ],
)
def test_only_the_course_s_own_lab_may_frame_its_formgrader(policy, expected):
    assert frame_ancestors(policy, "hub.example:8080", "/services/cs101/lab") == expected


def test_an_empty_policy_gets_only_the_frame_rule():
    assert frame_ancestors("", "h", "/s/lab").startswith("frame-ancestors https://h/s/lab ")


@pytest.mark.parametrize(
    ("admin", "groups", "profile"),
    [
        (True, [], "staff"),
        (False, ["formgrade-cs101"], "staff"),
        (False, ["nbgrader-cs101", "nbgrader-math2"], "student"),
        (False, [], "student"),
    ],
)
def test_the_spawner_gives_staff_and_students_their_own_settings(admin, groups, profile):
    assert profile_for(admin, groups) == profile


def test_the_install_makes_accounts_for_graders_and_students_once():
    assert course_people(CONFIG) == ["tom", "ann", "ben", "cat"]


def test_the_vm_gets_students_not_roster_paths(tmp_path):
    document = vm_document(CONFIG)
    assert document["courses"][0]["students"] == ["ann", "ben"]
    assert document["courses"][0]["roster"] is None


def test_password_files_are_private_and_appended(tmp_path):
    path = tmp_path / "p.csv"
    write_passwords(path, [{"name": "ann", "password": "x1"}])
    write_passwords(path, [{"name": "ben", "password": "y2"}])
    assert path.read_bytes() == b"username,password\r\nann,x1\r\nben,y2\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"rc": "1", "stdout": '{"error": "no user named x"}', "stderr": ""}, "no user named x"),
        (
            {"rc": "2", "stdout": "", "stderr": "[Errno 2] No such file or directory: b'/opt'"},
            "no hubctl hub on vm (or one from an older hubctl): run `hubctl install`",
        ),
        (
            {"rc": "1", "stdout": "", "stderr": "Traceback\nValueError: boom"},
            "the command failed on vm: ValueError: boom",
        ),
    ],
)
def test_remote_failures_become_one_line(answer, message):
    with pytest.raises(HubctlError) as caught:
        parse_answer(answer, "vm")
    assert str(caught.value) == message


def test_remote_answers_parsed_by_ansible_are_taken_as_they_are():
    assert parse_answer({"rc": "0", "stdout": {"users": []}, "stderr": ""}, "vm") == {"users": []}
