"""`hubctl status`: which facts are problems, with what fix, and how they print."""

import click

from hubctl.commands.status import render
from hubctl.hub.health import judge

GIB = 1024**3


def healthy(**changes) -> dict:
    facts = {
        "units": {
            "jupyterhub.service": {"active": "active", "enabled": "enabled"},
            "configurable-http-proxy.service": {"active": "active", "enabled": "enabled"},
        },
        "config_error": None,
        "versions": {"hubctl": "0.1.0", "jupyterhub": "5.5.4", "nbgrader": "0.9.6"},
        "users": {"approved": 8, "waiting": ["zoe"]},
        "memory": {"total": 8 * GIB, "used": 2 * GIB, "percent": 25},
        "disks": [{"path": "/", "total": 100 * GIB, "used": 40 * GIB, "percent": 40}],
        "backup": {
            "last": "hubctl-backup-20261121-023000-nightly.tar.gz",
            "age_hours": 9.5,
            "nightly": True,
        },  # fmt: skip
        "hub_api_error": None,
        "services": {"idle-culler": True, "cs101": True},
        "servers_running": 3,
    }
    facts.update(changes)
    return facts


def problems(**changes) -> list[str]:
    return [item["problem"] for item in judge(healthy(**changes))]


def test_a_healthy_hub_has_no_problems():
    assert judge(healthy()) == []


def test_a_stopped_unit_comes_with_its_fix():
    units = healthy()["units"]
    units["configurable-http-proxy.service"] = {"active": "inactive", "enabled": "enabled"}
    assert judge(healthy(units=units)) == [
        {
            "problem": "configurable-http-proxy.service is inactive",
            "fix": "see `journalctl -u configurable-http-proxy.service`, then run `hubctl install`"
            " to start it",
        }
    ]


def test_an_invalid_hub_yaml_comes_first():
    units = healthy()["units"]
    units["jupyterhub.service"] = {"active": "failed", "enabled": "enabled"}
    found = problems(config_error="/etc/hubctl/hub.yaml:3:1: not valid YAML", units=units)
    assert found == [
        "hub.yaml on the VM is invalid: /etc/hubctl/hub.yaml:3:1: not valid YAML",
        "jupyterhub.service is failed",
    ]


def test_a_hub_that_runs_but_does_not_answer():
    assert problems(hub_api_error="timed out") == ["the hub does not answer: timed out"]


def test_a_hub_that_is_down_is_reported_once_not_twice():
    units = healthy()["units"]
    units["jupyterhub.service"] = {"active": "inactive", "enabled": "enabled"}
    assert problems(units=units, hub_api_error="refused") == ["jupyterhub.service is inactive"]


def test_a_stopped_formgrader():
    assert problems(services={"idle-culler": True, "cs101": False}) == [
        "the hub service cs101 is not running"
    ]


def test_full_disk_and_memory():
    disks = [{"path": "/home", "total": 10 * GIB, "used": 9.5 * GIB, "percent": 95}]
    memory = {"total": 8 * GIB, "used": 7.6 * GIB, "percent": 95}
    assert problems(disks=disks, memory=memory) == [
        "the disk of /home is 95% full",
        "memory is 95% used",
    ]


def test_a_nightly_backup_that_stopped_running():
    late = {"last": "hubctl-backup-20261101-023000-nightly.tar.gz", "age_hours": 480.2,
            "nightly": True}  # fmt: skip
    expected = ["no backup in 36 hours, though nightly backups are on"]
    assert problems(backup=late) == expected
    assert problems(backup={"last": None, "age_hours": None, "nightly": True}) == expected
    assert problems(backup={"last": None, "age_hours": None, "nightly": False}) == []


def test_render_puts_problems_first_and_names_who_waits():
    facts = healthy(services={"idle-culler": True, "cs101": False})
    text = click.unstyle(render(facts, judge(facts)))
    assert text.splitlines() == [
        "✗ the hub service cs101 is not running",
        "  fix: restart the hub: `systemctl restart jupyterhub.service` on the VM",
        "Units     jupyterhub.service active, configurable-http-proxy.service active",
        "HTTPS     off (plain HTTP): set https.domain in hub.yaml",
        "Services  idle-culler running, cs101 stopped",
        "Versions  hubctl 0.1.0, jupyterhub 5.5.4, nbgrader 0.9.6",
        "Users     8 approved, 1 waiting for approval (zoe: `hubctl users approve NAME`);"
        " 3 servers running",
        "Memory    2.0 GiB used of 8.0 GiB (25%)",
        "Backup    last 9.5 h ago (hubctl-backup-20261121-023000-nightly.tar.gz); nightly on",
        "Disk      /: 40.0 GiB used of 100.0 GiB (40%)",
    ]


def test_render_of_a_healthy_hub_says_so():
    assert click.unstyle(render(healthy(), [])).startswith("✓ nothing wrong\n")
