"""Put a hubctl backup (hubctl.hub.backup) back onto this VM: `hubctl restore` runs this
during an install, after the course accounts and folders exist and before the hub role
claims accounts, so the restored database is the one the hub starts with.

    python -m hubctl.hub.restore ARCHIVE   ->  {"users", "courses", "checked", "skipped"}

The hub and every student server are stopped first. Linux users are made (by name: uids
may differ on a fresh VM, and tar gives files and ACLs back to names) before the files go
back. hub.yaml and jupyterhub_config.py are the ones this install just placed; secrets, the
hub database, gradebooks, the exchange and homes come from the archive. Files that exist on
the VM but not in the archive are left alone.
"""

import grp
import json
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

from hubctl import layout
from hubctl.hub.backup import LIVE_DATABASES, MANIFEST, SNAPSHOTS
from hubctl.hub.unix_users import AccountRefused, ensure_unix_user_now, run

# Placed by the install that runs this restore, from the instructor's hub.yaml.
KEPT_FROM_INSTALL = (layout.CONFIG_FILE, layout.JUPYTERHUB_CONFIG_FILE)


class RestoreError(Exception):
    """The archive is not a hubctl backup, or could not be put back."""


def read_manifest(archive: Path) -> dict:
    """The archive's manifest (its first member), or RestoreError saying what it is not."""
    try:
        with tarfile.open(archive, "r:gz") as packed:
            first = packed.next()
            if first is not None and first.name == MANIFEST:
                return json.load(packed.extractfile(first))
    except (OSError, tarfile.TarError, json.JSONDecodeError) as error:
        raise RestoreError(f"{archive} is not a readable hubctl backup: {error}") from error
    raise RestoreError(f"{archive} is not a hubctl backup (it has no {MANIFEST} first)")


def extract_command(archive: Path, root: Path = Path("/")) -> list[str]:
    """tar that puts the archive's trees back under `root`, the checked SQLite copies in
    their databases' places, owners and ACLs by name."""
    argv = ["tar", "--extract", "--gzip", "--file", str(archive), "--acls"]
    argv += ["--same-owner", "--same-permissions", "--anchored", f"--exclude={MANIFEST}"]
    argv += [f"--exclude={path.lstrip('/')}" for path in KEPT_FROM_INSTALL]
    argv += [f"--transform=s,^{SNAPSHOTS}/,,", "-C", str(root)]
    return argv


def stop_hub() -> None:
    """Stop the hub and every student server; on a fresh VM the hub has no unit yet."""
    subprocess.run(["systemctl", "stop", layout.HUB_UNIT, "jupyter-*-singleuser.service"],
                   capture_output=True, check=False)  # fmt: skip
    if subprocess.run(["systemctl", "is-active", "--quiet", layout.HUB_UNIT]).returncode == 0:
        raise RestoreError(f"{layout.HUB_UNIT} did not stop: see `hubctl logs hub`")


def make_users(users: list[dict]) -> list[str]:
    """Linux users and their hubctl groups from the manifest; the names skipped, and why."""
    existing = {group.gr_name for group in grp.getgrall()}
    skipped = []
    for user in (user for user in users if user["linux"]):
        try:
            ensure_unix_user_now(user["name"])
        except AccountRefused as refused:
            skipped.append(f"{user['name']}: {refused}")
            continue
        for group in user["groups"]:
            if group in existing:
                run(["usermod", "--append", "--groups", group, user["name"]])
            else:
                skipped.append(f"{user['name']}: group {group} (no such course in hub.yaml)")
    return skipped


def check_databases(paths: list[str], root: Path = Path("/")) -> dict[str, str]:
    verdicts = {}
    for path in paths:
        with sqlite3.connect(root / path) as db:
            verdicts[path] = db.execute("PRAGMA integrity_check").fetchone()[0]
        db.close()
    bad = {path: verdict for path, verdict in verdicts.items() if verdict != "ok"}
    if bad:
        raise RestoreError(f"restored databases fail PRAGMA integrity_check: {bad}")
    return verdicts


def restore(archive: Path) -> dict:
    manifest = read_manifest(archive)
    stop_hub()
    skipped = make_users(manifest["users"])
    for pattern in LIVE_DATABASES:  # stale journals must not be replayed onto the copies
        for journal in Path("/").glob(pattern.lstrip("/") + "-journal"):
            journal.unlink()
    done = subprocess.run(extract_command(archive), capture_output=True, text=True, check=False)
    if done.returncode:
        raise RestoreError(f"tar could not restore {archive}: {done.stderr.strip()[-500:]}")
    return {
        "users": len(manifest["users"]),
        "courses": manifest["courses"],
        "checked": check_databases(manifest["databases"]),
        "skipped": skipped,
        "created": manifest["created"],
    }


def main() -> int:
    try:
        answer = restore(Path(sys.argv[1]))
    except (RestoreError, RuntimeError, OSError, sqlite3.Error) as error:
        print(json.dumps({"error": str(error)}))
        return 1
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
