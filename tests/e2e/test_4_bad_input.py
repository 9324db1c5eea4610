"""Bad input stops `hubctl install` with the file, key and fix, and leaves the guest unchanged."""

import pytest
from conftest import fresh_guest, hubctl, install_args, run_install, write_config

GUEST_STATE = (
    "systemctl show -p MainPID jupyterhub configurable-http-proxy;"
    " find /etc/hubctl /opt/hubctl/lib -type f -print0 | sort -z | xargs -0 sha256sum"
)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"limits": {"memory": "4X"}}, "limits.memory: '4X' is not a size"),
        ({"limits": {"cpu": -1}}, "limits.cpu: input should be greater than 0 (got -1)"),
        ({"limits": {"memroy": "2G"}}, "limits.memroy: unknown key: did you mean 'memory'?"),
        ({"users": {"instructors": ["root"]}}, "'root' is a system account name"),
        ({"users": {"instructors": ["Bad Name"]}}, "'Bad Name' is not a valid user name"),
    ],
)
def test_bad_hub_yaml_is_refused_before_the_guest_is_touched(
    guest, installed, host, tmp_path, override, message
):
    before = host.check_output(GUEST_STATE)
    config = write_config(guest, tmp_path / "hub.yaml", **override)
    result = run_install(guest, config, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: {config}: ")
    assert message in result.stderr
    assert "Installing onto" not in result.stderr
    assert host.check_output(GUEST_STATE) == before


def test_yaml_syntax_error_names_line_and_column(guest, installed, tmp_path):
    config = tmp_path / "hub.yaml"
    config.write_text("users:\n  instructors: [teacher\n")
    result = hubctl(*install_args(guest, config), check=False)
    assert result.returncode == 1
    assert f"Error: {config}:3:1: not valid YAML" in result.stderr


def test_unreachable_host_names_the_cause_and_the_log(guest, installed):
    args = install_args(guest, installed.config_path, port="2222")  # nothing listens there
    result = hubctl(*args, check=False)
    assert result.returncode == 1
    assert 'install failed at "Gathering Facts"' in result.stderr
    assert "likely cause: the VM cannot be reached over SSH" in result.stderr
    assert "full log: " in result.stderr


def test_check_mode_on_a_vm_without_a_hub_says_to_install_first(tmp_path):
    with fresh_guest("e2efresh", slot=2) as fresh:
        result = run_install(
            fresh, write_config(fresh, tmp_path / "hub.yaml"), "--check", check=False
        )
        assert fresh.run(["test", "-e", "/etc/hubctl"], check=False).returncode == 1
    assert result.returncode == 1
    assert "this VM has none yet: run `hubctl install` without --check" in result.stderr
