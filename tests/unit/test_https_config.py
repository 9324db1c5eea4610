"""hub.yaml's https section: defaults, and each mistake as one line naming key and fix."""

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hubctl.ansible.runner import tls_files, vm_document
from hubctl.config import parse_config
from hubctl.config.loader import ConfigError, load_config

MINIMAL = "users: {instructors: [alice]}\n"


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "hub.yaml")
    return str(caught.value)


def test_a_domain_alone_means_letsencrypt():
    https = parse_config(MINIMAL + "https: {domain: Hub.Example.EDU.}").https
    assert (https.mode, https.domain) == ("letsencrypt", "hub.example.edu")
    assert https.acme_directory == "https://acme-v02.api.letsencrypt.org/directory"
    assert https.sends_hsts


def test_no_https_section_means_plain_http():
    https = parse_config(MINIMAL).https
    assert (https.mode, https.enabled) == ("off", False)


def test_self_signed_never_sends_hsts():
    assert not parse_config(MINIMAL + "https: {mode: self-signed}").https.sends_hsts


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "{domain: 10.0.0.5}",
            "hub.yaml: https.domain: '10.0.0.5' is not a DNS name: give the name students type,"
            " e.g. hub.example.edu (for a hub reached by IP use mode: self-signed)",
        ),
        (
            "{domain: 'hub example.edu'}",
            "hub.yaml: https.domain: 'hub example.edu' is not a DNS name: give the name students"
            " type, e.g. hub.example.edu (for a hub reached by IP use mode: self-signed)",
        ),
        (
            "{mode: letsencrypt}",
            "hub.yaml: https.domain: letsencrypt needs the hub's DNS name: add domain:"
            " hub.example.edu, or use mode: self-signed for a hub reached by IP",
        ),
        (
            "{mode: manual, domain: hub.example.edu}",
            "hub.yaml: https.cert: manual needs the certificate's PEM file: add cert: PATH\n"
            "hub.yaml: https.key: manual needs the certificate's key file: add key: PATH",
        ),
        (
            "{domain: hub.example.edu, email: nobody}",
            "hub.yaml: https.email: 'nobody' is not an email address, e.g. it@example.edu",
        ),
        (
            "{domain: hub.example.edu, acme_directory: 'http://ca.example/dir'}",
            "hub.yaml: https.acme_directory: 'http://ca.example/dir' is not an ACME directory"
            " URL: use https://HOST/PATH, e.g. https://acme-v02.api.letsencrypt.org/directory",
        ),
        (
            "{mode: https}",
            "hub.yaml: https.mode: input should be 'letsencrypt', 'manual', 'self-signed' or"
            " 'off' (got 'https')",
        ),
    ],
)
def test_bad_https_settings(section, expected):
    assert error_of(MINIMAL + f"https: {section}") == expected


def test_a_hub_port_with_https_on_is_refused():
    assert error_of(MINIMAL + "hub: {port: 8080}\nhttps: {mode: self-signed}") == (
        "hub.yaml: hub.port: 8080 is for plain HTTP, but https.mode is self-signed (the hub"
        " answers on 443, and 80 redirects there): remove hub.port or set https.mode: off"
    )


def make_pair(folder, name="hub.example.edu"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_manual(tmp_path, cert: bytes, key: bytes):
    (tmp_path / "hub.crt").write_bytes(cert)
    (tmp_path / "hub.key").write_bytes(key)
    path = tmp_path / "hub.yaml"
    path.write_text(
        MINIMAL + "https: {mode: manual, domain: hub.example.edu, cert: hub.crt, key: hub.key}\n"
    )
    return path


def test_manual_files_are_read_relative_to_hub_yaml_and_named_by_their_vm_place(tmp_path):
    cert, key = make_pair(tmp_path)
    config = load_config(write_manual(tmp_path, cert, key))
    assert config.https.cert == tmp_path / "hub.crt"
    assert tls_files(config) == {"cert": cert.decode(), "key": key.decode(), "acme_ca_root": ""}
    https = vm_document(config)["https"]
    assert (https["cert"], https["key"]) == (
        "/etc/caddy/hubctl/cert.pem",
        "/etc/caddy/hubctl/key.pem",
    )


def test_a_key_of_another_certificate_is_refused(tmp_path):
    cert, _ = make_pair(tmp_path)
    _, other_key = make_pair(tmp_path)
    path = write_manual(tmp_path, cert, other_key)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: https.key: {tmp_path}/hub.key is not the key of the certificate in"
        f" {tmp_path}/hub.crt: give the key the certificate was issued for"
    )


def test_missing_and_non_pem_files_are_refused(tmp_path):
    path = write_manual(tmp_path, b"not a certificate", b"")
    (tmp_path / "hub.key").unlink()
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).splitlines() == [
        f"{path}: https.cert: {tmp_path}/hub.crt holds no PEM certificate: give a PEM file",
        f"{path}: https.key: {tmp_path}/hub.key does not exist: give a PEM file",
    ]
