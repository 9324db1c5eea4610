import pytest
import yaml

from hubctl.commands.sandbox import HOST_CA_BUNDLE, sandbox_config, spec_for
from hubctl.config import parse_config
from hubctl.errors import HubctlError
from hubctl.sandbox.guest import Guest, GuestSpec


def test_sandbox_guest_leaves_ca_trust_to_hub_yaml():
    spec = spec_for("hubsandbox")
    assert spec.ca_bundle is None
    assert 1 <= spec.index <= 200  # e2e and benchmark guests use 201-254


@pytest.mark.parametrize("name", ["a-very-long-name", "bad name", ""])
def test_sandbox_name_is_checked(name):
    with pytest.raises(HubctlError):
        spec_for(name)


def test_sandbox_config_reaches_out_through_the_host_proxy(tmp_path):
    guest = Guest(GuestSpec(name="t1", state_dir=tmp_path / "t1", index=9, ca_bundle=None))
    base = parse_config("users: {instructors: [prof]}\nlimits: {memory: 2G}\n")
    config = sandbox_config(base, guest, tmp_path / "hub.yaml")
    assert config.network.http_proxy == "http://10.77.9.1:8888"
    assert config.limits.memory == "2G"
    assert [p.name for p in config.users.instructors] == ["prof"]
    written = yaml.safe_load((tmp_path / "hub.yaml").read_text())
    assert written["network"]["ca_bundle"] == (
        str(HOST_CA_BUNDLE) if HOST_CA_BUNDLE.exists() else None
    )


def test_sandbox_default_config_has_an_instructor(tmp_path):
    guest = Guest(GuestSpec(name="t2", state_dir=tmp_path / "t2", index=10, ca_bundle=None))
    config = sandbox_config(None, guest, tmp_path / "hub.yaml")
    assert [p.name for p in config.users.instructors] == ["instructor"]
