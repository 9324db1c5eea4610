"""HTTPS for real: Debian's pebble (an ACME server) runs on this machine with
PEBBLE_VA_ALWAYS_VALID=1, and `hubctl install` with `https.domain: hub.e2e.test` makes the
guest's Caddy get its certificate from pebble. The test client trusts pebble's issuing root
(from its management API) and maps hub.e2e.test to the guest; so does Chromium, which logs in
and runs a cell (websockets through Caddy). Then the same guest switches to a `manual`
certificate made here, and to `self-signed` reached by IP.

The tests run in file order on their own guest (slot 6). Times are printed ("FIGURE ..."),
never asserted.
"""

import base64
import datetime
import hashlib
import http.client
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, log_in, new_person, open_lab, run_cell, screenshot
from conftest import (
    fresh_guest,
    hubctl,
    passwords_in,
    run_install,
    ssh_host_of,
    ssh_options_env,
    write_config,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hubhttp import HubSession, NoRedirect
from playwright.sync_api import sync_playwright

DOMAIN = "hub.e2e.test"
TLS_UNIT = "caddy.service"
ACME_PORT, MANAGEMENT_PORT = 14000, 15000
CERT_WAIT = 180  # pebble answers at once; Caddy starts its ACME order after the install
HSTS = "max-age=31536000"


def record(figure: str, value: float, unit: str = "s") -> None:
    print(f"FIGURE {figure}: {value:.1f} {unit}")


# --- certificates made here: the CA of pebble's own HTTPS API, and a `manual` certificate ---


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_ca(name: str):
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert, key


def issue(ca, names: list[x509.GeneralName], days: int = 90):
    ca_cert, ca_key = ca
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hubctl e2e")])
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    return cert, key


def pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


# --- the guest's name on this side: a resolver override for urllib, rules for Chromium ---


@contextmanager
def name_maps_to(name: str, address: str):
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real(address if host == name else host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


def served_certificate(address: str, server_name: str | None, cadata: str | None):
    """The certificate the guest serves on 443 for `server_name` (SNI), verified against
    `cadata` (chain and name) when given."""
    if cadata:
        context = ssl.create_default_context(cadata=cadata)
    else:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection((address, 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def https_session(base_url: str, cadata: str | None) -> HubSession:
    """A HubSession over HTTPS trusting `cadata` (or nothing checked when None)."""
    if cadata:
        context = ssl.create_default_context(cadata=cadata)
    else:
        context = ssl._create_unverified_context()  # self-signed: checked by other tests
    session = HubSession(base_url)
    session.opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(session.cookies),
        NoRedirect(),
        urllib.request.HTTPSHandler(context=context),
    )
    return session


def login_page(host: str, context: ssl.SSLContext, timeout: float = 60):
    """GET /hub/login over HTTPS; a 503 from the proxy while the hub restarts (the install
    restarted it, and a slow formgrader can make it restart once more) is asked again."""
    deadline = time.monotonic() + timeout
    while True:
        connection = http.client.HTTPSConnection(host, 443, context=context, timeout=30)
        connection.request("GET", "/hub/login")
        response = connection.getresponse()
        response.read()
        if response.status != 503 or time.monotonic() > deadline:
            return response
        time.sleep(1)


def plain_http(address: str, host: str, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(address, 80, timeout=30)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    return response.status, response.getheader("Location", "")


def san_names(cert) -> list[str]:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(value) for value in names.get_values_for_type(x509.DNSName)] + [
        str(value) for value in names.get_values_for_type(x509.IPAddress)
    ]


# --- fixtures: the guest, pebble beside it, and the installs ---


@pytest.fixture(scope="module")
def guest():
    with fresh_guest("e2etls", slot=6) as machine:
        yield machine


@pytest.fixture(scope="module")
def host(guest, tmp_path_factory):
    return ssh_host_of(guest, tmp_path_factory.mktemp("ssh"))


@pytest.fixture(scope="module")
def pebble(guest, tmp_path_factory):
    """pebble on the host side of the guest's network; yields (API CA PEM path, issuing root
    PEM). Its API certificate is made here for that address (Debian ships none)."""
    folder = tmp_path_factory.mktemp("pebble")
    api_ca = make_ca("hubctl e2e pebble API CA")
    api_cert, api_key = issue(
        api_ca, [x509.IPAddress(ipaddress.ip_address(guest.spec.host_address))]
    )
    (folder / "api-ca.pem").write_bytes(pem(api_ca[0]))
    (folder / "cert.pem").write_bytes(pem(api_cert))
    (folder / "key.pem").write_bytes(_pem(api_key))
    address = guest.spec.host_address
    config = {
        "pebble": {
            "listenAddress": f"{address}:{ACME_PORT}",
            "managementListenAddress": f"{address}:{MANAGEMENT_PORT}",
            "certificate": str(folder / "cert.pem"),
            "privateKey": str(folder / "key.pem"),
            "httpPort": 5002,
            "tlsPort": 5001,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    (folder / "pebble.json").write_text(json.dumps(config))
    env = {**os.environ, "PEBBLE_VA_ALWAYS_VALID": "1", "PEBBLE_VA_NOSLEEP": "1",
           "PEBBLE_WFE_NONCEREJECT": "0"}  # fmt: skip
    log = (folder / "pebble.log").open("w")
    process = subprocess.Popen(
        ["pebble", "-config", str(folder / "pebble.json")], stdout=log, stderr=log, env=env
    )
    context = ssl.create_default_context(cafile=str(folder / "api-ca.pem"))
    try:
        root = None
        for _ in range(60):
            try:
                url = f"https://{address}:{MANAGEMENT_PORT}/roots/0"
                root = urllib.request.urlopen(url, context=context, timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert root, f"pebble did not answer; see {folder / 'pebble.log'}"
        url = f"https://{address}:{MANAGEMENT_PORT}/intermediates/0"
        intermediate = urllib.request.urlopen(url, context=context, timeout=5).read().decode()
        yield {"api_ca": folder / "api-ca.pem", "root": root, "intermediate": intermediate,
               "log": folder / "pebble.log"}  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        log.close()


def https_config(guest, folder: Path, https: dict) -> Path:
    # Caddy uses the site proxy (network.http_proxy) for ACME except to pebble's address.
    network = {"no_proxy": f"localhost,127.0.0.1,{guest.spec.host_address}"}
    return write_config(guest, folder / "hub.yaml", https=https, network=network)


@pytest.fixture(scope="module")
def acme_install(guest, pebble, tmp_path_factory):
    folder = tmp_path_factory.mktemp("acme")
    settings = {
        "domain": DOMAIN,
        "email": "it@e2e.test",
        "acme_directory": f"https://{guest.spec.host_address}:{ACME_PORT}/dir",
        "acme_ca_root": str(pebble["api_ca"]),
    }
    config_path = https_config(guest, folder, settings)
    started = time.monotonic()
    result = run_install(guest, config_path)
    installed = time.monotonic() - started
    record("https install (letsencrypt mode, fresh guest)", installed)
    cert = wait_for_certificate(guest.spec.address, DOMAIN, pebble["root"])
    record("install start to a served pebble certificate", time.monotonic() - started)
    record("install end to a served pebble certificate", time.monotonic() - started - installed)
    return {"config": config_path, "output": result.stdout, "cert": cert,
            "passwords": passwords_in(result.stdout)}  # fmt: skip


@pytest.fixture(scope="module")
def resolved(guest):
    with name_maps_to(DOMAIN, guest.spec.address):
        yield


def test_install_prints_the_https_url(acme_install):
    assert f"Hub: https://{DOMAIN}/\n" in acme_install["output"]
    assert "plain HTTP" not in acme_install["output"]


def test_the_served_certificate_is_pebble_s_for_the_configured_name(acme_install):
    cert = acme_install["cert"]  # verified against pebble's root, for DOMAIN, by ssl
    assert san_names(cert) == [DOMAIN]
    assert "Pebble" in cert.issuer.rfc4514_string()


def test_http_redirects_to_https(guest, acme_install):
    status, location = plain_http(guest.spec.address, DOMAIN, "/hub/login?next=%2Fhub%2F")
    assert (status, location) == (308, f"https://{DOMAIN}/hub/login?next=%2Fhub%2F")


def test_hsts_is_sent_over_https(acme_install, pebble, resolved):
    response = login_page(DOMAIN, ssl.create_default_context(cadata=pebble["root"]))
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == HSTS


def test_the_hub_knows_it_is_https_and_sets_secure_cookies(acme_install, pebble, resolved):
    session = https_session(f"https://{DOMAIN}", pebble["root"])
    assert session.log_in("teacher", acme_install["passwords"]["teacher"]) == 302
    cookies = {cookie.name: cookie for cookie in session.cookies}
    assert cookies["jupyterhub-session-id"].secure
    assert session.is_logged_in()


def test_the_proxy_listens_on_loopback_only_behind_caddy(host, acme_install):
    assert host.socket("tcp://127.0.0.1:8000").is_listening
    assert not host.socket("tcp://0.0.0.0:8000").is_listening
    listeners = host.check_output("ss -ltnpH '( sport = :80 or sport = :443 )'")
    assert listeners.count('"caddy"') >= 2, listeners
    assert "configurable-http" not in listeners and "node" not in listeners


def test_caddy_runs_as_caddy_and_starts_at_boot(host, acme_install):
    assert host.service("caddy").is_running and host.service("caddy").is_enabled
    pid = host.check_output("systemctl show -p MainPID --value caddy")
    assert host.check_output(f"ps -o user= -p {pid}").strip() == "caddy"


def test_acme_keys_are_0600_and_caddy_s(host, acme_install):
    keys = host.check_output("find /var/lib/caddy -name '*.key'").split()
    assert any(DOMAIN in key for key in keys), keys
    for key in keys:
        file = host.file(key)
        assert (file.user, file.group, file.mode) == ("caddy", "caddy", 0o600), key


def test_the_browser_logs_in_and_runs_a_cell_over_https(guest, acme_install, pebble, tmp_path):
    # Chromium resolves DOMAIN to the guest and accepts chains through pebble's intermediate
    # (its key's SPKI hash); the name and chain were verified by ssl in the tests above.
    intermediate = x509.load_pem_x509_certificate(pebble["intermediate"].encode())
    spki = intermediate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    args = [
        *CHROMIUM_ARGS,
        f"--host-resolver-rules=MAP {DOMAIN} {guest.spec.address}",
        "--ignore-certificate-errors-spki-list="
        + base64.b64encode(hashlib.sha256(spki).digest()).decode(),
    ]
    base_url = f"https://{DOMAIN}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            _, page = new_person(browser)
            started = time.monotonic()
            log_in(page, base_url, "teacher", acme_install["passwords"]["teacher"])
            open_lab(page, base_url, "teacher")
            assert page.url.startswith(f"{base_url}/user/teacher/lab")
            assert run_cell(page, "print(6 * 7)") == "42"
            record("browser login to a cell's output over HTTPS", time.monotonic() - started)
        except Exception:
            screenshot(page, tmp_path / "https-failure.png")
            raise
        finally:
            browser.close()


def status(guest, *args: str):
    host_args = ["--host", f"root@{guest.spec.address}", "--ssh-key", str(guest.spec.ssh_key)]
    return hubctl("status", *args, *host_args, check=False, env=ssh_options_env(guest))


def test_status_shows_caddy_and_the_certificate_s_expiry(guest, acme_install):
    result = status(guest)
    line = next(line for line in result.stdout.splitlines() if line.startswith("HTTPS"))
    assert re.fullmatch(
        rf"HTTPS     letsencrypt {DOMAIN}, caddy.service active; certificate from .*Pebble.*,"
        r" expires \d{4}-\d\d-\d\d \(in \d+ days\)",
        line,
    ), line
    assert "caddy" not in result.stdout.split("Units")[0]  # no problem about HTTPS


def test_status_names_a_stopped_caddy_with_its_fix(guest, host, acme_install):
    host.check_output("systemctl stop caddy")
    try:
        result = status(guest)
    finally:
        host.check_output("systemctl start caddy")
    assert result.returncode == 1
    assert "✗ caddy.service (HTTPS) is inactive: the hub cannot be reached" in result.stdout
    assert "fix: see `journalctl -u caddy.service`, then run `hubctl install`" in result.stdout


def wait_for_certificate(address: str, server_name: str | None, cadata: str | None):
    """The served certificate, once Caddy serves one (it starts its ACME order after the
    install, or after a restart); fails after CERT_WAIT seconds."""
    deadline, error = time.monotonic() + CERT_WAIT, None
    while time.monotonic() < deadline:
        try:
            return served_certificate(address, server_name, cadata)
        except (OSError, ssl.SSLError) as problem:
            error = problem
            time.sleep(1)
    pytest.fail(f"no certificate served within {CERT_WAIT} s: {error}")


def test_a_rerun_changes_nothing_and_restarts_no_caddy(guest, host, acme_install, pebble):
    wait_for_certificate(guest.spec.address, DOMAIN, pebble["root"])  # after the stop/start
    before = host.check_output("systemctl show -p MainPID -p ActiveEnterTimestamp caddy")
    # the files the install manages (Caddy's own storage under /var/lib/caddy is its business)
    files = "find /etc/caddy /etc/systemd/system/caddy.service.d -type f -print0 | sort -z"
    files += " | xargs -0 sha256sum"
    files_before = host.check_output(files)
    result = run_install(guest, acme_install["config"])
    assert re.search(r"^Done in \d+s: 0 changed\.", result.stdout, re.M), result.stdout
    assert host.check_output("systemctl show -p MainPID -p ActiveEnterTimestamp caddy") == before
    assert host.check_output(files) == files_before


def exposure(host, unit: str) -> float:
    out = host.check_output(f"systemd-analyze security {unit} --no-pager")
    return float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)[1])


def test_sandboxing_lowers_caddy_s_exposure(host, acme_install):
    after = exposure(host, TLS_UNIT)
    # The packaged unit alone, loaded under another name (nothing starts it).
    host.check_output(
        "cp /lib/systemd/system/caddy.service /run/systemd/system/caddy-packaged.service"
        " && systemctl daemon-reload"
    )
    try:
        before = exposure(host, "caddy-packaged.service")
    finally:
        host.check_output(
            "rm /run/systemd/system/caddy-packaged.service && systemctl daemon-reload"
        )
    record("systemd-analyze security caddy.service, Debian's unit", before, "exposure")
    record("systemd-analyze security caddy.service, with hubctl's sandboxing", after, "exposure")
    assert after < before


# --- manual: a certificate made here ---


@pytest.fixture(scope="module")
def manual_install(guest, acme_install, tmp_path_factory):
    folder = tmp_path_factory.mktemp("manual")
    ca = make_ca("hubctl e2e site CA")
    cert, key = issue(ca, [x509.DNSName(DOMAIN)])
    (folder / "hub.crt").write_bytes(pem(cert))
    (folder / "hub.key").write_bytes(_pem(key))
    config_path = https_config(
        guest, folder, {"mode": "manual", "domain": DOMAIN, "cert": "hub.crt", "key": "hub.key"}
    )
    result = run_install(guest, config_path)
    return {"ca": pem(ca[0]).decode(), "cert": cert, "config": config_path, "output": result.stdout}


def test_manual_serves_the_given_certificate(guest, manual_install):
    served = served_certificate(guest.spec.address, DOMAIN, manual_install["ca"])
    assert served == manual_install["cert"]


def test_manual_files_are_0600_and_caddy_s(host, manual_install):
    for path in ("/etc/caddy/hubctl/cert.pem", "/etc/caddy/hubctl/key.pem"):
        file = host.file(path)
        assert (file.user, file.group, file.mode) == ("caddy", "caddy", 0o600), path
    assert not host.file("/etc/caddy/hubctl/acme-ca-root.pem").exists


def test_manual_redirects_and_sends_hsts(guest, manual_install, resolved):
    assert plain_http(guest.spec.address, DOMAIN, "/")[0] == 308
    response = login_page(DOMAIN, ssl.create_default_context(cadata=manual_install["ca"]))
    assert (response.status, response.getheader("Strict-Transport-Security")) == (200, HSTS)


# --- self-signed, reached by IP ---


@pytest.fixture(scope="module")
def self_signed_install(guest, manual_install, tmp_path_factory):
    folder = tmp_path_factory.mktemp("self-signed")
    result = run_install(guest, https_config(guest, folder, {"mode": "self-signed"}))
    return result.stdout


def test_self_signed_prints_the_https_url_by_ip(guest, self_signed_install):
    assert f"Hub: https://{guest.spec.address}/\n" in self_signed_install


def test_self_signed_serves_caddy_s_own_certificate_for_the_ip(guest, self_signed_install):
    cert = served_certificate(guest.spec.address, None, None)
    assert san_names(cert) == [guest.spec.address]
    assert "Caddy Local Authority" in cert.issuer.rfc4514_string()


def test_self_signed_redirects_by_ip_and_sends_no_hsts(guest, self_signed_install):
    address = guest.spec.address
    assert plain_http(address, address, "/hub/") == (308, f"https://{address}/hub/")
    response = login_page(address, ssl._create_unverified_context())
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") is None


def test_self_signed_removed_the_manual_key(host, self_signed_install):
    assert not host.file("/etc/caddy/hubctl/key.pem").exists


# --- and off again: the proxy takes port 80 back, Caddy stops ---


@pytest.fixture(scope="module")
def off_install(guest, self_signed_install, tmp_path_factory):
    folder = tmp_path_factory.mktemp("off")
    return run_install(guest, https_config(guest, folder, {"mode": "off"})).stdout


def test_https_off_warns_and_serves_plain_http_from_the_proxy(guest, host, off_install):
    assert f"Hub: http://{guest.spec.address}/\n" in off_install
    assert "Warning: the hub is plain HTTP" in off_install
    assert not host.service("caddy").is_running
    assert not host.service("caddy").is_enabled
    listeners = host.check_output("ss -ltnpH '( sport = :80 or sport = :443 )'")
    assert "caddy" not in listeners and ":80 " in listeners, listeners
    assert HubSession(f"http://{guest.spec.address}").request("/hub/login")[0] == 200
