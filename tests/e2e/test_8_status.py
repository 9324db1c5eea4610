"""`hubctl status` from this machine over SSH: a healthy hub says so; a stopped proxy and a
corrupted hub.yaml on the VM are named first, with their fix, and the exit status is 1."""

import json

import pytest
from conftest import hubctl, ssh_options_env

from hubctl import __version__

CONFIG = "/etc/hubctl/hub.yaml"
PROXY = "configurable-http-proxy.service"


@pytest.fixture(scope="module")
def status(guest, installed):
    host_args = ["--host", f"root@{guest.spec.address}", "--ssh-key", str(guest.spec.ssh_key)]

    def run(*args: str):
        return hubctl("status", *args, *host_args, check=False, env=ssh_options_env(guest))

    return run


def test_a_healthy_hub(status):
    result = status()
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "✓ nothing wrong"
    assert "Services  idle-culler running" in lines
    assert (
        "Units     jupyterhub.service active, configurable-http-proxy.service active,"
        " hubctl-formgrader@cs101.service active, hubctl-formgrader@math2.service active"
    ) in lines
    assert f"Versions  hubctl {__version__}, jupyterhub 5.5.4, nbgrader 0.9.6" in lines


def test_the_json_has_the_facts(status):
    answer = json.loads(status("--json").stdout)
    assert answer["problems"] == []
    assert answer["facts"]["units"]["jupyterhub.service"] == {
        "active": "active",
        "enabled": "enabled",
    }
    assert answer["facts"]["users"]["approved"] >= 4  # teacher, ta, marker, cara at least


def test_a_stopped_proxy_comes_first_with_its_fix(status, host):
    host.run_test(f"systemctl stop {PROXY}")
    try:
        result = status()
    finally:
        host.run_test(f"systemctl start {PROXY}")
    assert result.returncode == 1
    first, fix = result.stdout.splitlines()[:2]
    # a stopped configurable-http-proxy exits non-zero: systemd calls it failed
    assert first in {f"✗ {PROXY} is inactive", f"✗ {PROXY} is failed"}
    assert fix == f"  fix: see `journalctl -u {PROXY}`, then run `hubctl install` to start it"


def test_a_stopped_formgrader_is_named_with_its_fix(status, host):
    unit = "hubctl-formgrader@math2.service"
    host.run_test(f"systemctl stop {unit}")
    try:
        result = status()
    finally:
        host.run_test(f"systemctl start {unit}")
    assert result.returncode == 1
    assert result.stdout.splitlines()[:2] == [
        f"✗ {unit} is inactive",
        f"  fix: see `journalctl -u {unit}`, then run `hubctl install` to start it",
    ]


def test_a_corrupted_hub_yaml_on_the_vm_is_named(status, host):
    host.run_test(f"cp -p {CONFIG} {CONFIG}.saved && echo 'users: [' >> {CONFIG}")
    try:
        result = status()
    finally:
        host.run_test(f"mv {CONFIG}.saved {CONFIG}")
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"✗ hub.yaml on the VM is invalid: {CONFIG}:")
    assert "not valid YAML" in first
