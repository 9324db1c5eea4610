import pytest
from click.testing import CliRunner

from hubctl import __version__
from hubctl.cli import hubctl


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return CliRunner()


def test_version(runner):
    result = runner.invoke(hubctl, ["--version"])
    assert result.output == f"hubctl, version {__version__}\n"


def test_config_init_then_validate(runner, tmp_path):
    result = runner.invoke(hubctl, ["config", "init", "--instructor", "teacher"])
    assert result.exit_code == 0
    assert result.output == "Wrote hub.yaml: edit it, then run `hubctl config validate`.\n"
    assert "  - teacher" in (tmp_path / "hub.yaml").read_text()
    result = runner.invoke(hubctl, ["config", "validate"])
    assert (result.exit_code, result.output) == (0, "hub.yaml is valid.\n")


def test_config_init_keeps_an_existing_file(runner, tmp_path):
    (tmp_path / "hub.yaml").write_text("mine")
    result = runner.invoke(hubctl, ["config", "init"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: hub.yaml already exists: edit it, or add --force to replace it\n"
    )
    assert (tmp_path / "hub.yaml").read_text() == "mine"


def test_config_init_rejects_a_bad_instructor(runner):
    result = runner.invoke(hubctl, ["config", "init", "--instructor", "root"])
    assert result.exit_code == 1
    assert (
        result.output
        == "Error: --instructor: 'root' is a system account name: choose another name\n"
    )


def test_validate_reports_key_path_and_fix(runner, tmp_path):
    (tmp_path / "hub.yaml").write_text("users: {instructors: [a]}\nlimits: {memory: 4X}\n")
    result = runner.invoke(hubctl, ["config", "validate"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: hub.yaml: limits.memory: '4X' is not a size: use a number"
        " with K, M, G or T, e.g. 2G\n"
    )


def test_validate_missing_file(runner):
    result = runner.invoke(hubctl, ["config", "validate", "--config", "nope.yaml"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: nope.yaml: no such file: run `hubctl config init` to write"
        " one, or pass --config PATH\n"
    )


def test_install_with_a_bad_config_stops_before_ansible(runner, tmp_path):
    (tmp_path / "hub.yaml").write_text("users: {instructors: [a]}\nlimits: {cpu: -2}\n")
    result = runner.invoke(hubctl, ["install", "--host", "root@192.0.2.10"])
    assert result.exit_code == 1
    assert result.output == "Error: hub.yaml: limits.cpu: input should be greater than 0 (got -2)\n"
    assert not (tmp_path / "state").exists()  # no run started, no log written


def test_install_rejects_a_bad_host(runner, tmp_path):
    (tmp_path / "hub.yaml").write_text("users: {instructors: [a]}\n")
    result = runner.invoke(hubctl, ["install", "--host", "root@bad host"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: --host 'root@bad host': not a host: use HOST, USER@HOST or USER@HOST:PORT\n"
    )


def all_commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if hasattr(command, "commands"):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize(
    ("path", "command"),
    list(all_commands(hubctl)),
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else "",
)
def test_every_command_is_documented(runner, path, command):
    assert command.help, f"hubctl {' '.join(path)} has no help text"
    for param in command.params:
        if param.param_type_name == "option":
            assert param.help, f"hubctl {' '.join(path)} {param.opts[0]} has no help"
    result = runner.invoke(hubctl, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage: hubctl " + " ".join(path) in result.output


def test_a_bad_roster_row_stops_the_import_before_contacting_the_hub(runner, tmp_path):
    (tmp_path / "roster.csv").write_text("username\nann\nAnn Lee\n")
    result = runner.invoke(
        hubctl, ["users", "import", "roster.csv", "--course", "cs101", "--host", "192.0.2.10"]
    )
    assert result.exit_code == 1
    assert result.output == (
        "Error: roster.csv:3: 'ann lee' is not a valid user name: use 1-32 lowercase letters,"
        " digits, '-' or '_', starting with a letter\n"
    )
    assert not (tmp_path / "state").exists()  # no run started, no log written


def test_a_bad_user_name_is_refused_by_the_command_line(runner):
    result = runner.invoke(hubctl, ["users", "add", "sshd", "--host", "192.0.2.10"])
    assert result.exit_code == 2
    assert "Invalid value for 'NAME': 'sshd' is a system account name" in result.output


def test_user_commands_on_this_machine_need_root(runner, monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    result = runner.invoke(hubctl, ["users", "list"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: listing users on this machine needs root: use sudo, or --host for a hub over SSH\n"
    )


def test_backup_never_replaces_a_file_and_wants_a_tar_gz(runner, tmp_path):
    (tmp_path / "old.tar.gz").write_text("last week's backup")
    result = runner.invoke(hubctl, ["backup", "-o", "old.tar.gz", "--host", "192.0.2.10"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: old.tar.gz already exists: choose another --output, nothing is replaced\n"
    )
    assert (tmp_path / "old.tar.gz").read_text() == "last week's backup"
    result = runner.invoke(hubctl, ["backup", "-o", "hub.zip", "--host", "192.0.2.10"])
    assert (
        result.output == "Error: hub.zip: a backup is a .tar.gz, e.g. --output hub-backup.tar.gz\n"
    )
    result = runner.invoke(hubctl, ["backup", "-o", "nowhere/b.tar.gz", "--host", "192.0.2.10"])
    assert result.output == "Error: nowhere is not a folder: create it or choose another --output\n"


def test_restore_refuses_a_file_that_is_not_a_backup_before_anything_runs(runner, tmp_path):
    (tmp_path / "hub.tar.gz").write_text("not an archive")
    result = runner.invoke(hubctl, ["restore", "hub.tar.gz", "--host", "192.0.2.10", "--yes"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: hub.tar.gz is not a readable hubctl backup: ")
    assert not (tmp_path / "state").exists()  # no Ansible run, so no log
