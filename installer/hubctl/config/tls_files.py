"""Check hub.yaml's https files on the instructor's machine, before anything changes on the VM."""

from pathlib import Path

from hubctl.config.schema import HttpsSection

# cryptography (an ansible-core dependency) is imported where it is used: the hub's own
# code on the VM loads hub.yaml without it.


def tls_file_problems(https: HttpsSection) -> list[str]:
    """ "https.KEY: what is wrong: the fix" for each unreadable or mismatched file."""
    problems = []
    if https.acme_ca_root is not None and https.mode == "letsencrypt":
        problems += _certificates("acme_ca_root", https.acme_ca_root)[1]
    if https.mode != "manual" or https.cert is None or https.key is None:
        return problems
    from cryptography.hazmat.primitives import serialization

    certificates, cert_problems = _certificates("cert", https.cert)
    key, key_problems = _private_key(https.key)
    problems += cert_problems + key_problems
    if certificates and key is not None:
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        encoding = serialization.Encoding.DER
        leaf = certificates[0].public_key().public_bytes(encoding, public)
        if key.public_key().public_bytes(encoding, public) != leaf:
            problems.append(
                f"https.key: {https.key} is not the key of the certificate in {https.cert}:"
                " give the key the certificate was issued for"
            )
    return problems


def _read(name: str, path: Path) -> tuple[bytes | None, list[str]]:
    try:
        return path.read_bytes(), []
    except FileNotFoundError:
        return None, [f"https.{name}: {path} does not exist: give a PEM file"]
    except OSError as error:
        return None, [f"https.{name}: cannot read {path} ({error.strerror}): make it readable"]


def _certificates(name: str, path: Path) -> tuple[list, list[str]]:
    from cryptography import x509

    data, problems = _read(name, path)
    if data is None:
        return [], problems
    try:
        return x509.load_pem_x509_certificates(data), []
    except ValueError:
        return [], [f"https.{name}: {path} holds no PEM certificate: give a PEM file"]


def _private_key(path: Path):
    from cryptography.hazmat.primitives import serialization

    data, problems = _read("key", path)
    if data is None:
        return None, problems
    try:
        return serialization.load_pem_private_key(data, password=None), []
    except (ValueError, TypeError):
        return None, [
            f"https.key: {path} is not an unencrypted PEM private key: give the key file"
            " without a passphrase"
        ]
