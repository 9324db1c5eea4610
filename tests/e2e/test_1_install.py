"""What `hubctl install` over SSH leaves on a fresh Debian 12 guest, checked with testinfra."""

import json
import urllib.request

import pytest
import yaml
from conftest import LOCKOUT_SECONDS, TA_PASSWORD
from hubhttp import HubSession


def test_install_prints_the_hub_url(installed, guest):
    assert f"Hub: http://{guest.spec.address}/\n" in installed.output


def test_install_prints_the_generated_instructor_password(installed):
    assert len(installed.passwords["teacher"]) >= 12


def test_install_does_not_print_a_password_from_a_file(installed):
    assert "New instructor account: ta  password: (the password from its password_file)" in (
        installed.output
    )
    assert TA_PASSWORD not in installed.output


@pytest.mark.parametrize("unit", ["jupyterhub", "configurable-http-proxy"])
def test_unit_is_running(host, unit):
    assert host.service(unit).is_running


@pytest.mark.parametrize("unit", ["jupyterhub", "configurable-http-proxy"])
def test_unit_starts_at_boot(host, unit):
    assert host.service(unit).is_enabled


def test_proxy_listens_publicly(host):
    assert host.socket("tcp://0.0.0.0:80").is_listening


@pytest.mark.parametrize("port", [8081, 8001])
def test_hub_and_proxy_api_listen_on_loopback_only(host, port):
    assert host.socket(f"tcp://127.0.0.1:{port}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening


def test_proxy_does_not_run_as_root(host):
    pid = host.check_output("systemctl show -p MainPID --value configurable-http-proxy")
    assert host.check_output(f"ps -o user= -p {pid}").strip() != "root"


def test_idle_culler_runs(host):
    assert host.run("pgrep -f -u root jupyterhub_idle_culler").rc == 0


@pytest.mark.parametrize(
    ("path", "mode"),
    [
        ("/etc/hubctl/secrets", 0o700),
        ("/etc/hubctl/secrets/jupyterhub_cookie_secret", 0o600),
        ("/etc/hubctl/secrets/proxy-auth-token.env", 0o600),
        ("/etc/hubctl/hub.yaml", 0o600),
        ("/var/lib/hubctl", 0o700),
    ],
)
def test_secret_and_state_modes(host, path, mode):
    file = host.file(path)
    assert (file.user, file.group, file.mode) == ("root", "root", mode)


def test_cookie_secret_is_32_random_bytes(host):
    assert (
        len(host.file("/etc/hubctl/secrets/jupyterhub_cookie_secret").content_string.strip()) == 64
    )


def test_hub_yaml_on_the_vm_is_the_validated_config(host):
    config = yaml.safe_load(host.file("/etc/hubctl/hub.yaml").content_string)
    assert config["limits"]["memory"] == "512M"
    assert config["users"]["lockout"] == LOCKOUT_SECONDS  # "60s" resolved to seconds
    assert config["limits"]["processes"] == 1024  # a default filled in


def test_jupyterhub_config_is_static(host):
    assert "apply_hub_yaml(c)" in host.file("/etc/hubctl/jupyterhub_config.py").content_string


def test_users_group_exists(host):
    assert host.group("hubctl-users").exists


@pytest.mark.parametrize(
    ("venv", "package", "version"),
    [
        ("hub", "jupyterhub", "5.5.4"),
        ("hub", "jupyterhub-nativeauthenticator", "1.3.0"),
        ("hub", "jupyterhub-systemdspawner", "1.0.2"),
        ("hub", "jupyterhub-idle-culler", "2.0.0"),
        ("user", "jupyterlab", "4.6.6"),
        ("user", "nbgrader", "0.9.6"),
        ("user", "jupyterhub", "5.5.4"),
    ],
)
def test_pinned_versions(host, venv, package, version):
    packages = host.pip.get_packages(pip_path=f"/opt/hubctl/{venv}/bin/pip")
    assert packages[package]["version"] == version


def test_jupyter_news_prompt_is_disabled_for_every_user(host):
    page_config = host.file("/opt/hubctl/user/etc/jupyter/labconfig/page_config.json")
    assert json.loads(page_config.content_string)["disabledExtensions"] == {
        "@jupyterlab/apputils-extension:announcements": True
    }


def test_apt_uses_the_configured_proxy(host, guest):
    assert guest.spec.proxy_url in host.file("/etc/apt/apt.conf.d/80hubctl-proxy").content_string


def test_site_ca_is_in_the_system_trust_store(host):
    site = host.file("/usr/local/share/ca-certificates/hubctl-site-ca.crt").content_string
    first_certificate = site.split("-----END CERTIFICATE-----")[0]
    assert first_certificate.strip()
    assert first_certificate in host.file("/etc/ssl/certs/ca-certificates.crt").content_string


def test_hub_answers_over_http(hub_url):
    with urllib.request.urlopen(f"{hub_url}/hub/api/", timeout=10) as response:  # noqa: S310
        assert json.load(response)["version"] == "5.5.4"


def test_instructor_logs_in_with_the_printed_password(hub_url, installed):
    session = HubSession(hub_url)
    assert session.log_in("teacher", installed.passwords["teacher"]) == 302
    assert session.is_logged_in()


def test_instructor_logs_in_with_the_password_from_the_file(hub_url):
    session = HubSession(hub_url)
    assert session.log_in("ta", TA_PASSWORD) == 302
    assert session.is_logged_in()


def test_a_wrong_password_is_refused(hub_url):
    session = HubSession(hub_url)
    session.log_in("teacher", "not-the-password")
    assert not session.is_logged_in()
