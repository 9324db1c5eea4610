"""The host firewall (nftables table inet hubctl) in a guest of its own, with its own network
namespace: from the host, only SSH, 80, 443 and allow_tcp_ports answer; a listener on any
other port sees nothing (the table drops: the host's connection times out). The rules
survive a reboot, a re-run changes nothing, and `firewall.enabled: false` removes them.

The tests run in file order and build on each other (one guest for the module)."""

import re
import socket
import urllib.request

import pytest
import yaml
from conftest import fresh_guest, run_install, ssh_host_of

from hubctl.sandbox.guest import HOST_CA_BUNDLE

ALLOWED_EXTRA = 8888  # firewall.allow_tcp_ports
NOT_ALLOWED = 9999
LISTENERS = (ALLOWED_EXTRA, NOT_ALLOWED)
CONNECT_TIMEOUT = 5


def write_firewall_config(guest, path, **firewall):
    data = {
        "users": {"instructors": ["teacher"]},
        "network": {"http_proxy": guest.spec.proxy_url, "ca_bundle": str(HOST_CA_BUNDLE)},
        "firewall": {"allow_tcp_ports": [ALLOWED_EXTRA], **firewall},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def reach(address: str, port: int) -> str:
    """What a client on the host sees: 'answers', 'refused' or 'timeout'."""
    try:
        with socket.create_connection((address, port), timeout=CONNECT_TIMEOUT):
            return "answers"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"


def start_listeners(host) -> None:
    """Plain TCP listeners on every interface, as any service the VM might run."""
    for port in LISTENERS:
        host.run(f"systemctl stop probe-{port}; systemctl reset-failed probe-{port}")
        host.check_output(
            f"systemd-run --unit=probe-{port} python3 -m http.server --bind 0.0.0.0 {port}"
        )
    for port in LISTENERS:
        host.check_output(
            f"for i in $(seq 50); do ss -ltn | grep -q ':{port} ' && break; sleep 0.2; done"
        )


@pytest.fixture(scope="module")
def fw():
    with fresh_guest("e2efw", slot=7) as machine:
        yield machine


@pytest.fixture(scope="module")
def fw_config(fw, tmp_path_factory):
    return write_firewall_config(fw, tmp_path_factory.mktemp("fw") / "hub.yaml")


@pytest.fixture(scope="module")
def fw_install(fw, fw_config):
    return run_install(fw, fw_config)


@pytest.fixture(scope="module")
def fw_host(fw, fw_install, tmp_path_factory):
    host = ssh_host_of(fw, tmp_path_factory.mktemp("fw-ssh"))
    start_listeners(host)
    return host


def test_install_loads_hubctls_table(fw_host):
    assert fw_host.run("nft list table inet hubctl").rc == 0


def test_table_drops_by_default(fw_host):
    assert "policy drop;" in fw_host.check_output("nft list chain inet hubctl input")


@pytest.mark.parametrize("port", LISTENERS)
def test_probe_listener_listens_on_every_interface(fw_host, port):
    assert fw_host.socket(f"tcp://0.0.0.0:{port}").is_listening


@pytest.mark.parametrize("port", [22, 80, ALLOWED_EXTRA])
def test_allowed_port_answers_from_the_host(fw, fw_host, port):
    assert reach(fw.spec.address, port) == "answers"


def test_port_443_is_let_through_to_a_closed_port(fw, fw_host):
    # Nothing listens on 443 without HTTPS: the kernel's refusal gets through the table.
    assert reach(fw.spec.address, 443) == "refused"


@pytest.mark.parametrize("port", [NOT_ALLOWED, 8081])
def test_other_port_times_out_from_the_host(fw, fw_host, port):
    assert reach(fw.spec.address, port) == "timeout"


def test_hub_answers_over_http(fw, fw_host):
    with urllib.request.urlopen(f"http://{fw.spec.address}/hub/login", timeout=30) as response:
        assert response.status == 200


def test_outbound_https_through_the_proxy_still_works(fw, fw_host):
    # What apt and pip do from the VM (and an ACME client would): out through the proxy.
    code = fw_host.check_output(
        f'https_proxy={fw.spec.proxy_url} python3 -c "import urllib.request;'
        " print(urllib.request.urlopen('https://pypi.org/simple/pip/', timeout=30).status)\""
    )
    assert code == "200"


def test_reloading_leaves_other_tables_alone(fw_host):
    fw_host.check_output("nft add table inet site; nft add chain inet site keep")
    fw_host.check_output("systemctl reload hubctl-firewall")
    assert fw_host.run("nft list chain inet site keep").rc == 0
    fw_host.check_output("nft delete table inet site")


def test_restarting_nftables_service_brings_hubctls_table_back(fw_host):
    # Debian's /etc/nftables.conf begins with `flush ruleset`.
    fw_host.check_output("systemctl restart nftables")
    assert fw_host.run("nft list table inet hubctl").rc == 0
    fw_host.check_output("systemctl stop nftables; systemctl start hubctl-firewall")


def test_second_install_changes_nothing(fw, fw_config, fw_host):
    result = run_install(fw, fw_config)
    assert re.search(r"^Done in \d+s: 0 changed\.", result.stdout, re.M), result.stdout


@pytest.fixture(scope="module")
def rebooted(fw, fw_host):
    fw.reboot()
    start_listeners(fw_host)
    return fw_host


def test_rules_are_back_after_a_reboot(rebooted):
    assert rebooted.run("nft list table inet hubctl").rc == 0


def test_other_port_still_times_out_after_a_reboot(fw, rebooted):
    assert reach(fw.spec.address, NOT_ALLOWED) == "timeout"


@pytest.mark.parametrize("port", [22, 80])
def test_allowed_port_still_answers_after_a_reboot(fw, rebooted, port):
    assert reach(fw.spec.address, port) == "answers"


@pytest.fixture(scope="module")
def turned_off(fw, fw_config, rebooted):
    write_firewall_config(fw, fw_config, enabled=False)
    return run_install(fw, fw_config)


def test_turning_it_off_removes_the_table(turned_off, rebooted):
    assert rebooted.run("nft list table inet hubctl").rc != 0


def test_turning_it_off_reopens_the_port(fw, turned_off):
    assert reach(fw.spec.address, NOT_ALLOWED) == "answers"


def test_turning_it_off_removes_the_unit(turned_off, rebooted):
    assert not rebooted.file("/etc/systemd/system/hubctl-firewall.service").exists


def test_turned_off_rerun_changes_nothing(fw, fw_config, turned_off):
    result = run_install(fw, fw_config)
    assert re.search(r"^Done in \d+s: 0 changed\.", result.stdout, re.M), result.stdout
