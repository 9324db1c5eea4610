"""What `hubctl status` reports: facts gathered on the VM, and the problems they show, each
with its fix. `judge` is pure, so every rule is unit-tested."""

import glob
import importlib.metadata
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from hubctl import __version__, layout
from hubctl.config import HubConfig, parse_config
from hubctl.errors import HubctlError
from hubctl.hub import tls
from hubctl.hub.backup import archives

DISK_FULL_PERCENT = 90
MEMORY_FULL_PERCENT = 90
NIGHTLY_LATE_HOURS = 36  # a nightly backup older than this means the timer is not working
WATCHED_PATHS = ("/", "/home", layout.NBGRADER_DIR, layout.STATE_DIR)


def gather(api, approvals: dict[str, bool]) -> dict:
    """Everything `hubctl status` shows, as plain data. `api` may be None (no hub token)."""
    config, config_error = _config()
    courses = [course.id for course in config.courses] if config else []
    units = [layout.HUB_UNIT, layout.PROXY_UNIT, *map(layout.formgrader_unit, courses)]
    facts = {
        "units": {unit: _unit_state(unit) for unit in units},
        "config_error": config_error,
        "versions": _versions(),
        "users": {
            "approved": sum(approvals.values()),
            "waiting": sorted(name for name, approved in approvals.items() if not approved),
        },
        "memory": _memory(),
        "disks": _disks(),
        "backup": _last_backup(),
        "tls": _tls(),
        "hub_api_error": None,
        "services": {},
        "servers_running": None,
    }
    try:
        facts["services"] = {
            name: _alive(service["pid"])
            for name, service in api.call("GET", "/services").items()
            if service.get("command")  # the ones the hub runs itself
        }
        facts["servers_running"] = sum(bool(user.get("server")) for user in api.users().values())
    except Exception as error:  # noqa: BLE001 - any failure to ask the hub is what we report
        facts["hub_api_error"] = str(error)
    return facts


def judge(facts: dict, now: datetime | None = None) -> list[dict]:
    """[{"problem", "fix"}], most serious first."""
    found = []
    if facts["config_error"]:
        found.append({
            "problem": f"hub.yaml on the VM is invalid: {facts['config_error']}",
            "fix": "correct hub.yaml and run `hubctl install` (the hub will not start with it)",
        })  # fmt: skip
    for unit, state in facts["units"].items():
        if state["active"] != "active":
            found.append({
                "problem": f"{unit} is {state['active']}",
                "fix": f"see `journalctl -u {unit}`, then run `hubctl install` to start it",
            })  # fmt: skip
    found += tls.judge(facts.get("tls"), now or datetime.now(UTC))
    hub_up = facts["units"].get(layout.HUB_UNIT, {}).get("active") == "active"
    if facts["hub_api_error"] and hub_up:
        found.append({
            "problem": f"the hub does not answer: {facts['hub_api_error']}",
            "fix": f"see `journalctl -u {layout.HUB_UNIT}`",
        })  # fmt: skip
    for name, running in facts["services"].items():
        if not running:
            found.append({
                "problem": f"the hub service {name} is not running",
                "fix": f"restart the hub: `systemctl restart {layout.HUB_UNIT}` on the VM",
            })  # fmt: skip
    for disk in facts["disks"]:
        if disk["percent"] >= DISK_FULL_PERCENT:
            found.append({
                "problem": f"the disk of {disk['path']} is {disk['percent']}% full",
                "fix": "free space (old homes, logs) or grow the disk before students lose work",
            })  # fmt: skip
    backup = facts["backup"]
    if backup["nightly"] and (backup["age_hours"] or NIGHTLY_LATE_HOURS) >= NIGHTLY_LATE_HOURS:
        found.append({
            "problem": f"no backup in {NIGHTLY_LATE_HOURS} hours, though nightly backups are on",
            "fix": f"see `journalctl -u {layout.BACKUP_UNIT}`; take one now: `hubctl backup`",
        })  # fmt: skip
    memory = facts["memory"]
    if memory["percent"] >= MEMORY_FULL_PERCENT:
        found.append({
            "problem": f"memory is {memory['percent']}% used",
            "fix": "stop idle servers, lower limits.memory, or give the VM more memory",
        })  # fmt: skip
    return found


def _alive(pid: int) -> bool:
    return bool(pid) and Path(f"/proc/{pid}").exists()


def _unit_state(unit: str) -> dict:
    def ask(verb: str) -> str:
        done = subprocess.run(["systemctl", verb, unit], capture_output=True, text=True)
        return done.stdout.strip() or "unknown"

    return {"active": ask("is-active"), "enabled": ask("is-enabled")}


def _config() -> tuple[HubConfig | None, str | None]:
    """hub.yaml on the VM, or why it cannot be read."""
    try:
        text = Path(layout.CONFIG_FILE).read_text(encoding="utf-8")
        return parse_config(text, layout.CONFIG_FILE), None
    except (HubctlError, OSError) as error:
        return None, str(error).splitlines()[0]


def _versions() -> dict[str, str]:
    versions = {"hubctl": __version__, "jupyterhub": importlib.metadata.version("jupyterhub")}
    for info in glob.glob(f"{layout.USER_VENV}/lib/python3*/site-packages/nbgrader-*.dist-info"):
        versions["nbgrader"] = os.path.basename(info).removesuffix(".dist-info").split("-")[1]
    return versions


def _tls() -> dict | None:
    try:
        config = parse_config(Path(layout.CONFIG_FILE).read_text(encoding="utf-8"))
    except (HubctlError, OSError):
        return None  # reported as config_error
    return tls.gather(config.https)


def _memory() -> dict:
    values = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, amount = line.split(":", 1)
        values[key] = int(amount.split()[0]) * 1024
    total, available = values["MemTotal"], values["MemAvailable"]
    return {
        "total": total,
        "used": total - available,
        "percent": round(100 * (total - available) / total),
    }


def _last_backup() -> dict:
    """The newest archive in the VM's backup folder, its age, and whether nightly runs."""
    newest = (archives(Path(layout.BACKUP_DIR)) or [None])[-1]
    enabled = subprocess.run(["systemctl", "is-enabled", layout.BACKUP_TIMER], capture_output=True)
    return {
        "last": newest.name if newest else None,
        "age_hours": round((time.time() - newest.stat().st_mtime) / 3600, 1) if newest else None,
        "nightly": enabled.returncode == 0,
    }


def _disks() -> list[dict]:
    """Each filesystem holding hub data once, by the first path on it."""
    seen, disks = set(), []
    for path in WATCHED_PATHS:
        if not os.path.exists(path) or (device := os.stat(path).st_dev) in seen:
            continue
        seen.add(device)
        usage = shutil.disk_usage(path)
        disks.append({
            "path": path, "total": usage.total, "used": usage.used,
            "percent": round(100 * usage.used / usage.total),
        })  # fmt: skip
    return disks
