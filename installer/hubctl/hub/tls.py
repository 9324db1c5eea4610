"""The HTTPS part of `hubctl status`: Caddy's unit and the certificate it serves on 443.
`judge` is pure, so every rule is unit-tested."""

import socket
import ssl
import subprocess
from datetime import UTC, datetime

from hubctl import layout

EXPIRY_WARNING_DAYS = 14
# Caddy's own CA (self-signed mode) issues 12-hour certificates and renews them by itself.
TRUSTED_MODES = ("letsencrypt", "manual")


def gather(https) -> dict | None:
    """Facts about HTTPS from hub.yaml's https section on the VM; None when HTTPS is off."""
    if https.mode == "off":
        return None
    facts = {"mode": https.mode, "domain": https.domain, "unit": layout.TLS_UNIT}
    facts["active"] = (
        subprocess.run(
            ["systemctl", "is-active", layout.TLS_UNIT], capture_output=True, text=True
        ).stdout.strip()
        or "unknown"
    )
    try:
        facts["certificate"], facts["certificate_error"] = served_certificate(https.domain), None
    except (OSError, ValueError, subprocess.CalledProcessError) as error:
        facts["certificate"], facts["certificate_error"] = None, str(error) or type(error).__name__
    return facts


def served_certificate(domain: str | None, host: str = "127.0.0.1", port: int = 443) -> dict:
    """What a browser asking for `domain` is shown: issuer, subject, expiry (ISO, UTC)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # we only read it
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=domain) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    text = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", "-enddate", "-issuer", "-subject",
         "-nameopt", "oneline"],
        input=der, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    not_after = datetime.strptime(fields["notAfter"], "%b %d %H:%M:%S %Y %Z")
    return {
        "issuer": fields.get("issuer", "").strip(),
        "subject": fields.get("subject", "").strip(),
        "not_after": not_after.replace(tzinfo=UTC).isoformat(),
    }


def days_left(certificate: dict, now: datetime) -> float:
    return (datetime.fromisoformat(certificate["not_after"]) - now).total_seconds() / 86400


def judge(tls: dict | None, now: datetime) -> list[dict]:
    """[{"problem", "fix"}] about HTTPS."""
    if tls is None:
        return []
    unit, mode = tls["unit"], tls["mode"]
    if tls["active"] != "active":
        return [{
            "problem": f"{unit} (HTTPS) is {tls['active']}: the hub cannot be reached",
            "fix": f"see `journalctl -u {unit}`, then run `hubctl install` to start it",
        }]  # fmt: skip
    if tls["certificate"] is None:
        fix = {
            "letsencrypt": f"see `journalctl -u {unit}`: the ACME CA must reach"
            f" {tls['domain']} on ports 80 and 443 (DNS pointing at this VM, firewall open)",
            "manual": "check https.cert and https.key in hub.yaml and run `hubctl install`",
        }.get(mode, f"see `journalctl -u {unit}`")
        return [{
            "problem": f"no certificate is served on port 443: {tls['certificate_error']}",
            "fix": fix,
        }]  # fmt: skip
    left = days_left(tls["certificate"], now)
    if left < 0 or (mode in TRUSTED_MODES and left < EXPIRY_WARNING_DAYS):
        when = f"expired {-left:.0f} days ago" if left < 0 else f"expires in {left:.0f} days"
        fix = {
            "letsencrypt": f"Caddy renews 30 days ahead and has not managed: see `journalctl"
            f" -u {unit}` (DNS of {tls['domain']}, ports 80/443 reachable from the internet)",
            "manual": "put a renewed certificate and key in https.cert and https.key and run"
            " `hubctl install`",
        }.get(mode, f"restart Caddy: `systemctl restart {unit}` on the VM")
        return [{
            "problem": f"the HTTPS certificate {when} ({tls['certificate']['not_after'][:10]})",
            "fix": fix,
        }]  # fmt: skip
    return []


def describe(tls: dict | None, now: datetime) -> str:
    """The one "HTTPS" line of `hubctl status`."""
    if tls is None:
        return "off (plain HTTP): set https.domain in hub.yaml"
    line = f"{tls['mode']}"
    line += f" {tls['domain']}" if tls["domain"] else ""
    line += f", {tls['unit']} {tls['active']}"
    certificate = tls["certificate"]
    if certificate:
        line += (
            f"; certificate from {certificate['issuer']}, expires"
            f" {certificate['not_after'][:10]} (in {days_left(certificate, now):.0f} days)"
        )
    return line
