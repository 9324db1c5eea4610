"""`hubctl status` about HTTPS: Caddy's unit and the served certificate's expiry."""

from datetime import UTC, datetime

import click
from test_health import healthy

from hubctl.commands.status import render
from hubctl.hub.health import judge as judge_all
from hubctl.hub.tls import describe, judge

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def tls(mode="letsencrypt", active="active", not_after="2027-02-20T12:00:00+00:00", error=None):
    certificate = {"issuer": "CN = R11", "subject": "CN = hub.example.edu", "not_after": not_after}
    return {
        "mode": mode, "domain": "hub.example.edu" if mode != "self-signed" else None,
        "unit": "caddy.service", "active": active,
        "certificate": None if error else certificate, "certificate_error": error,
    }  # fmt: skip


def problems(facts):
    return [problem["problem"] for problem in judge(facts, NOW)]


def test_https_off_is_no_problem_but_is_said():
    assert judge(None, NOW) == []
    assert describe(None, NOW) == "off (plain HTTP): set https.domain in hub.yaml"


def test_a_certificate_far_from_expiry_is_fine():
    assert problems(tls()) == []
    assert describe(tls(), NOW) == (
        "letsencrypt hub.example.edu, caddy.service active; certificate from CN = R11,"
        " expires 2027-02-20 (in 90 days)"
    )


def test_caddy_down_is_the_problem_with_its_fix():
    assert judge(tls(active="failed"), NOW) == [{
        "problem": "caddy.service (HTTPS) is failed: the hub cannot be reached",
        "fix": "see `journalctl -u caddy.service`, then run `hubctl install` to start it",
    }]  # fmt: skip


def test_a_letsencrypt_certificate_within_14_days_of_expiry():
    [problem] = judge(tls(not_after="2026-12-02T12:00:00+00:00"), NOW)
    assert problem["problem"] == "the HTTPS certificate expires in 10 days (2026-12-02)"
    assert problem["fix"].startswith("Caddy renews 30 days ahead and has not managed")


def test_an_expired_manual_certificate():
    [problem] = judge(tls(mode="manual", not_after="2026-11-12T12:00:00+00:00"), NOW)
    assert problem["problem"] == "the HTTPS certificate expired 10 days ago (2026-11-12)"
    assert problem["fix"] == (
        "put a renewed certificate and key in https.cert and https.key and run `hubctl install`"
    )


def test_self_signed_certificates_last_hours_and_are_no_problem_until_expired():
    assert problems(tls(mode="self-signed", not_after="2026-11-22T23:00:00+00:00")) == []
    assert problems(tls(mode="self-signed", not_after="2026-11-22T11:00:00+00:00")) == [
        "the HTTPS certificate expired 0 days ago (2026-11-22)"
    ]


def test_no_certificate_served_names_what_the_acme_ca_needs():
    [problem] = judge(tls(error="[SSL: TLSV1_ALERT_INTERNAL_ERROR]"), NOW)
    assert problem["problem"] == (
        "no certificate is served on port 443: [SSL: TLSV1_ALERT_INTERNAL_ERROR]"
    )
    assert "hub.example.edu on ports 80 and 443" in problem["fix"]


def test_status_prints_the_https_line():
    facts = healthy(tls=tls())
    lines = click.unstyle(render(facts, judge_all(facts, NOW))).splitlines()
    assert lines[2].startswith("HTTPS     letsencrypt hub.example.edu, caddy.service active;")
