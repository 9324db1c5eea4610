"""The datasets built-in plugin: its settings in hub.yaml, what it gives the install, who
sees and writes which dataset, and the links it makes in a home (on a real folder)."""

import os
from pathlib import Path

import pytest

from hubctl import layout
from hubctl.config import parse_config
from hubctl.plugins import EnabledPlugins, PluginError
from hubctl_plugins import datasets

HUB = """
users: {instructors: [alice, bob]}
courses:
  - {id: cs101, instructors: [alice], graders: [gus], students: [sam]}
  - {id: math2, instructors: [bob, alice], students: [cara]}
"""


def enabled(settings: str) -> EnabledPlugins:
    config = parse_config(HUB + f"plugins:\n  datasets: {settings}\n")
    return EnabledPlugins(config, "hub.yaml")


def role_vars(settings: str) -> dict:
    return enabled(settings).install_vars([])


def test_by_default_every_course_gets_a_dataset():
    assert [c["id"] for c in role_vars("{}")["datasets_courses"]] == ["cs101", "math2"]


def test_courses_picks_some_in_hub_yaml_order():
    assert [c["id"] for c in role_vars("{courses: [math2]}")["datasets_courses"]] == ["math2"]


def test_an_unknown_course_is_one_line_naming_its_key():
    with pytest.raises(PluginError) as error:
        enabled("{courses: [math2, bio1]}")
    assert str(error.value) == (
        "hub.yaml: plugins.datasets.courses.1: 'bio1' is not a course of this hub: use one of"
        " courses[].id (cs101, math2)"
    )


def test_a_course_listed_twice_is_refused():
    with pytest.raises(PluginError, match=r"datasets\.courses: 'math2' is listed twice: list each"):
        enabled("{courses: [math2, math2]}")


def test_a_malformed_course_id_is_refused_by_the_core_rule():
    with pytest.raises(PluginError, match=r"plugins\.datasets\.courses\.0: 'Math 2' is not a"):
        enabled("{courses: ['Math 2']}")


def test_a_misspelt_key_is_refused():
    with pytest.raises(PluginError, match=r"plugins\.datasets\.course: unknown key: did you mean"):
        enabled("{course: [math2]}")


def test_the_role_is_shipped_and_gets_each_courses_folder_groups_and_acl():
    plugins = enabled("{courses: [math2]}")
    answer = plugins.install_vars([])
    [role] = answer["hubctl_plugin_roles"]
    assert role["role"] == "datasets"
    assert (Path(role["path"]) / "tasks" / "main.yml").is_file()
    assert answer["datasets_folders"] == ["/srv/hubctl", "/srv/hubctl/datasets"]
    assert answer["datasets_courses"] == [
        {
            "id": "math2",
            "path": "/srv/hubctl/datasets/math2",
            "students_group": "hubctl-math2",
            "writers_group": "hubctl-math2+",
            "instructors": ["bob", "alice"],
            "acl": [
                "user::rwx",
                "user:grader-math2:r-x",
                "group::r-x",
                "group:hubctl-math2+:rwx",
                "mask::rwx",
                "other::---",
                "default:user::rwx",
                "default:user:grader-math2:r-x",
                "default:group::r-x",
                "default:group:hubctl-math2+:rwx",
                "default:mask::rwx",
                "default:other::---",
            ],
        }
    ]


def test_the_settings_load_on_the_vm_without_hub_yaml():
    settings = datasets.DatasetsSettings.model_validate({"courses": ["math2"]})
    assert settings.courses == ["math2"]


def test_the_writers_group_fits_linux_names_for_the_longest_course_id():
    longest = "c" * 24
    assert len(layout.dataset_writers_group(longest)) <= 32
    assert layout.dataset_writers_group(longest) != layout.course_group(longest)


@pytest.mark.parametrize(
    ("user", "groups", "sees", "writes"),
    [
        ("cara", ["nbgrader-math2"], ["math2"], []),
        ("sam", ["nbgrader-cs101"], ["cs101"], []),
        ("gus", ["formgrade-cs101"], [], []),  # a grader: in neither Linux group
        ("bob", ["formgrade-math2"], ["math2"], ["math2"]),
        ("alice", ["formgrade-cs101", "formgrade-math2"], ["cs101", "math2"], ["cs101", "math2"]),
        ("bob", [], ["math2"], ["math2"]),  # hub.yaml's instructors, whatever the hub's groups
        ("eve", ["nbgrader-bio1", "other"], [], []),
    ],
)
def test_who_sees_and_writes_which_dataset(user, groups, sees, writes):
    config = parse_config(HUB)
    assert datasets.access_of(user, groups, ["cs101", "math2"], config) == (sees, writes)


def test_a_course_without_a_dataset_is_not_seen():
    config = parse_config(HUB)
    assert datasets.access_of("alice", ["formgrade-cs101"], ["math2"], config) == (
        ["math2"],
        ["math2"],
    )


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir(mode=0o700)
    return path


def link(home: Path, targets: dict[str, str]) -> None:
    datasets.link_datasets(str(home), os.getuid(), os.getgid(), targets)


def test_links_appear_in_the_home_and_a_second_run_changes_nothing(home):
    target = f"{layout.DATASETS_DIR}/math2"
    link(home, {"math2": target})
    made = home / "datasets" / "math2"
    assert os.readlink(made) == target
    before = made.lstat()
    link(home, {"math2": target})
    assert made.lstat().st_ino == before.st_ino
    assert (home / "datasets").stat().st_mode & 0o777 == 0o755


def test_a_course_left_loses_its_link_but_the_users_own_files_stay(home):
    link(home, {"math2": f"{layout.DATASETS_DIR}/math2", "cs101": f"{layout.DATASETS_DIR}/cs101"})
    (home / "datasets" / "notes.txt").write_text("mine")
    (home / "datasets" / "elsewhere").symlink_to("/tmp")
    link(home, {"cs101": f"{layout.DATASETS_DIR}/cs101"})
    assert sorted(p.name for p in (home / "datasets").iterdir()) == [
        "cs101",
        "elsewhere",
        "notes.txt",
    ]


def test_a_users_own_file_under_a_courses_name_is_left_alone(home):
    (home / "datasets").mkdir()
    (home / "datasets" / "math2").mkdir()
    link(home, {"math2": f"{layout.DATASETS_DIR}/math2"})
    assert not (home / "datasets" / "math2").is_symlink()


def test_a_datasets_link_made_by_the_user_is_not_followed(home, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (home / "datasets").symlink_to(victim)
    link(home, {"math2": f"{layout.DATASETS_DIR}/math2"})
    assert list(victim.iterdir()) == []


def test_nothing_is_made_for_a_user_of_no_dataset(home):
    link(home, {})
    assert list(home.iterdir()) == []
