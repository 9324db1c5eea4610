"""The git_content plugin on the instructor's machine: its settings' errors, what it adds to
the install, and the link `hubctl git-content link` prints."""

import textwrap
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from hubctl.ansible.runner import user_lock
from hubctl.cli import add_plugin_commands, hubctl
from hubctl.config import parse_config
from hubctl.plugins import EnabledPlugins, PluginError
from hubctl_plugins.git_content import NBGITPULLER, CourseContent, link

HUB = textwrap.dedent("""\
    users: {instructors: [alice]}
    courses: [{id: math2, instructors: [alice]}]
    """)
REPO = "https://git.example.edu/math2/notes.git"


@pytest.fixture(autouse=True)
def plugin_commands():
    """`hubctl` as main() builds it: with the installed plugins' commands."""
    add_plugin_commands(hubctl)
    yield
    hubctl.commands.pop("git-content", None)


def enabled(settings: str) -> EnabledPlugins:
    return EnabledPlugins(parse_config(HUB + f"plugins:\n  git_content: {settings}\n"))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            "{courses: {math2: {repo: 'ftp://h/x.git'}}}",
            "hub.yaml: plugins.git_content.courses.math2.repo: 'ftp://h/x.git' is not a git"
            " repository URL: write https://HOST/PATH.git (or git://, ssh://, file:///PATH)",
        ),
        (
            "{courses: {math2: {repo: 'notes.git'}}}",
            "hub.yaml: plugins.git_content.courses.math2.repo: 'notes.git' is not a git"
            " repository URL: write https://HOST/PATH.git (or git://, ssh://, file:///PATH)",
        ),
        (
            "{courses: {math2: {repo: 'https://me:token@git.example.edu/n.git'}}}",
            "hub.yaml: plugins.git_content.courses.math2.repo:"
            " 'https://me:token@git.example.edu/n.git' holds credentials, which every student"
            " would see in the link: use a repository they may read without them",
        ),
        (
            f"{{courses: {{math2: {{repo: '{REPO}', branch: '--upload-pack=x'}}}}}}",
            "hub.yaml: plugins.git_content.courses.math2.branch: '--upload-pack=x' is not a"
            " branch name: e.g. main",
        ),
        (
            f"{{courses: {{math2: {{repo: '{REPO}', folder: '../x'}}}}}}",
            "hub.yaml: plugins.git_content.courses.math2.folder: '../x' is not a folder name:"
            " one name of letters, digits, '.', '_' or '-', e.g. math2-notes",
        ),
        (
            f"{{courses: {{math2: {{repo: '{REPO}', brnach: dev}}}}}}",
            "hub.yaml: plugins.git_content.courses.math2.brnach: unknown key:"
            " did you mean 'branch'?",
        ),
        (
            "{courses: {math2: {}}}",
            "hub.yaml: plugins.git_content.courses.math2.repo: required: add it (see `hubctl"
            " config init`)",
        ),
    ],
)
def test_bad_settings_name_the_key_and_the_fix(settings, message):
    with pytest.raises(PluginError) as error:
        enabled(settings)
    assert str(error.value) == message


def test_a_course_hub_yaml_does_not_have_stops_the_install():
    plugins = enabled(f"{{courses: {{math3: {{repo: '{REPO}'}}}}}}")
    with pytest.raises(PluginError) as error:
        plugins.install_vars(user_lock())
    assert str(error.value) == (
        "hub.yaml: plugins.git_content.courses.math3: no such course (courses: math2):"
        " add it under courses: or fix the id"
    )


def test_the_install_gets_a_fixed_nbgitpuller_and_git_without_moving_the_students_pins():
    packages = enabled(f"{{courses: {{math2: {{repo: '{REPO}'}}}}}}").install_vars(user_lock())
    assert packages["hubctl_plugin_packages"] == {"pip": [NBGITPULLER], "apt": ["git"]}
    # GHSA-mq5p-2mcr-m52j: fixed in 0.10.2
    version = tuple(int(part) for part in NBGITPULLER.split("==")[1].split("."))
    assert version >= (0, 10, 2)


@pytest.mark.parametrize(
    ("repo", "folder"),
    [
        ("https://git.example.edu/math2/notes.git", "notes"),
        ("git://10.0.0.1/math2-notes/", "math2-notes"),
        ("file:///srv/git/week.s.git", "week.s"),
    ],
)
def test_the_folder_defaults_to_the_repositorys_name(repo, folder):
    assert CourseContent(repo=repo).folder == folder


def test_the_link_is_nbgitpullers_with_every_value_encoded():
    content = CourseContent(repo="https://h/a b/notes.git?x=1&y", branch="week-1", folder="n")
    url = link("https://hub.example.edu/", content, "lab 1/intro.ipynb")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://hub.example.edu/hub/user-redirect/git-pull"
    )
    assert parse_qs(parts.query) == {
        "repo": ["https://h/a b/notes.git?x=1&y"],
        "branch": ["week-1"],
        "targetpath": ["n"],
        "urlpath": ["lab/tree/n/lab 1/intro.ipynb"],
    }
    assert " " not in url and url.count("&") == 3


def write(tmp_path, text: str):
    (tmp_path / "hub.yaml").write_text(HUB + text)
    return tmp_path / "hub.yaml"


def test_link_command_prints_the_link_from_https_domain(tmp_path):
    path = write(
        tmp_path,
        f"https: {{domain: hub.example.edu}}\nplugins: {{git_content: {{courses:"
        f" {{math2: {{repo: '{REPO}', branch: dev}}}}}}}}\n",
    )
    result = CliRunner().invoke(hubctl, ["git-content", "link", "math2", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A//git.example.edu"
        "/math2/notes.git&branch=dev&targetpath=notes&urlpath=lab/tree/notes/\n"
    )
    assert "math2's students" in result.stderr


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        (
            "",
            [],
            "Error: {path}: plugins.git_content: the plugin is not enabled: add"
            " `git_content: {{courses: {{math2: {{repo: URL}}}}}}` under plugins:\n",
        ),
        (
            f"plugins: {{git_content: {{courses: {{math2: {{repo: '{REPO}'}}}}}}}}\n",
            [],
            "Error: {path}: https.domain is not set, so the hub's address is unknown:"
            " pass --hub-url http://ADDRESS (what students type to reach the hub)\n",
        ),
        (
            "plugins: {git_content: {}}\n",
            ["--hub-url", "http://10.0.0.2"],
            "Error: {path}: plugins.git_content.courses: no repository for course 'math2'"
            " (has: none): add `math2: {{repo: URL}}` there\n",
        ),
        (
            f"plugins: {{git_content: {{courses: {{math2: {{repo: '{REPO}'}}}}}}}}\n",
            ["--hub-url", "10.0.0.2"],
            "Error: --hub-url 10.0.0.2: not a web address: write http(s)://HOST\n",
        ),
        (
            "plugins: {git_content: {courses: {math2: {repo: 'x'}}}}\n",
            ["--hub-url", "http://10.0.0.2"],
            "Error: {path}: plugins.git_content.courses.math2.repo: 'x' is not a git repository"
            " URL: write https://HOST/PATH.git (or git://, ssh://, file:///PATH)\n",
        ),
    ],
)
def test_link_command_errors_are_one_line_with_the_fix(tmp_path, text, args, message):
    path = write(tmp_path, text)
    result = CliRunner().invoke(
        hubctl, ["git-content", "link", "math2", "--config", str(path), *args]
    )
    assert result.exit_code == 1
    assert result.stderr == message.format(path=path)
    assert result.stdout == ""


def test_link_command_with_hub_url_and_a_file_to_open(tmp_path):
    path = write(
        tmp_path, f"plugins: {{git_content: {{courses: {{math2: {{repo: '{REPO}'}}}}}}}}\n"
    )
    result = CliRunner().invoke(
        hubctl,
        ["git-content", "link", "math2", "-c", str(path), "--hub-url", "http://10.0.0.2:8000",
         "--open", "week1/intro.ipynb"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("http://10.0.0.2:8000/hub/user-redirect/git-pull?")
    assert result.stdout.endswith("&urlpath=lab/tree/notes/week1/intro.ipynb\n")
