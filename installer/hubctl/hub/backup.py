"""Backups of a hubctl hub: one tar.gz of everything a term cannot lose, taken while students
work: /etc/hubctl (hub.yaml, secrets), the hub database (NativeAuthenticator's passwords),
every course folder with its gradebook, the exchange, and each hub user's home.

SQLite files are not read by tar while the hub writes them: each is copied with SQLite's
online backup into a staging folder, checked with PRAGMA integrity_check, and archived in its
place. Standard library only: before an upgrade the install runs this with the system's
python3 from the NEW hubctl's code, whatever hubctl made the installed hub.

    python3 -m hubctl.hub.backup [--kind manual|nightly|pre-upgrade] [--keep N]
prints {"archive", "bytes", "seconds", "users", "courses", "checked"} as JSON.
"""

import argparse
import grp
import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hubctl import __version__, layout

MANIFEST = "hubctl-backup/manifest.json"
SNAPSHOTS = "hubctl-backup/sqlite"  # + the database's own path: the checked copies
KINDS = ("manual", "nightly", "pre-upgrade")
ARCHIVE_SUFFIX = ".tar.gz"
LIVE_DATABASES = (f"{layout.STATE_DIR}/*.sqlite*", f"{layout.COURSES_DIR}/*/gradebook.db*")
# Jupyter servers' connection files: they name processes of this boot, not anyone's work.
EPHEMERAL = ("*/.local/share/jupyter/runtime",)
# tar exit status 1: a file changed while it was read (students work on): still a backup.
TAR_SOME_FILES_CHANGED = 1


class BackupError(Exception):
    """The backup could not be made; no archive was left behind."""


def archive_name(kind: str, when: time.struct_time) -> str:
    return f"hubctl-backup-{time.strftime('%Y%m%d-%H%M%S', when)}-{kind}{ARCHIVE_SUFFIX}"


def archives(folder: Path, kind: str | None = None) -> list[Path]:
    """The backups in `folder` (of one kind), oldest first: the names sort by time."""
    return sorted(folder.glob(f"hubctl-backup-*-{kind or '*'}{ARCHIVE_SUFFIX}"))


def to_prune(folder: Path, kind: str, keep: int) -> list[Path]:
    """The oldest archives of `kind` beyond the newest `keep`."""
    found = archives(folder, kind)
    return found[: max(len(found) - keep, 0)]


def snapshot_sqlite(source: Path, copy: Path) -> str:
    """Copy a live SQLite database with SQLite's online backup; the copy's integrity_check."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as live, sqlite3.connect(copy) as target:
        live.backup(target)
        verdict = target.execute("PRAGMA integrity_check").fetchone()[0]
    live.close()
    target.close()
    info = source.stat()
    os.chown(copy, info.st_uid, info.st_gid)
    os.chmod(copy, info.st_mode & 0o7777)
    if verdict != "ok":
        raise BackupError(f"{source}: its copy fails PRAGMA integrity_check: {verdict}")
    return verdict


def hub_users(database: Path) -> list[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        names = [row[0] for row in db.execute("SELECT name FROM users ORDER BY name")]
    db.close()
    return names


def linux_groups(name: str) -> list[str]:
    """hubctl's groups of a Linux user (the hub users' group, course groups)."""
    return sorted(
        group.gr_name
        for group in grp.getgrall()
        if name in group.gr_mem and group.gr_name.startswith(layout.COURSE_GROUP_PREFIX)
    )


def user_records(names: list[str], root: Path) -> list[dict]:
    """Each hub user: whether they have a Linux account (one who never started a server has
    none yet), their home relative to root if it exists, and their hubctl groups."""
    records = []
    for name in names:
        try:
            home = Path(pwd.getpwnam(name).pw_dir).relative_to("/")
        except KeyError:
            records.append({"name": name, "linux": False, "home": None, "groups": []})
            continue
        records.append({
            "name": name,
            "linux": True,
            "home": home.as_posix() if (root / home).is_dir() else None,
            "groups": linux_groups(name),
        })  # fmt: skip
    return records


def take_backup(folder: Path, kind: str = "manual", root: Path = Path("/")) -> dict:
    """Write one archive of the hub under `root` into `folder` (0700; the archive 0600)."""
    started = time.monotonic()
    database = root / layout.DATABASE_FILE.lstrip("/")
    if not database.is_file():
        raise BackupError(f"no hub database at {layout.DATABASE_FILE}: is the hub installed?")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    archive = folder / archive_name(kind, time.gmtime())
    while archive.exists():  # names have one-second steps: never replace an archive
        time.sleep(0.2)
        archive = folder / archive_name(kind, time.gmtime())
    partial = archive.with_name(archive.name + ".part")
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=folder) as staging:
        staging = Path(staging)
        courses_dir = root / layout.COURSES_DIR.lstrip("/")
        databases = [database, *sorted(courses_dir.glob("*/gradebook.db"))]
        checked = {}
        for path in databases:
            relative = path.relative_to(root)
            checked[relative.as_posix()] = snapshot_sqlite(path, staging / SNAPSHOTS / relative)
        users = user_records(hub_users(database), root)
        courses = (
            sorted(path.name for path in courses_dir.iterdir()) if courses_dir.is_dir() else []
        )
        manifest = {
            "hubctl": __version__,
            "kind": kind,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": os.uname().nodename,
            "users": users,
            "courses": courses,
            "databases": sorted(checked),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        trees = [layout.ETC, layout.STATE_DIR, layout.NBGRADER_DIR]
        trees += [f"/{user['home']}" for user in users if user["home"]]
        present = [tree.lstrip("/") for tree in trees if (root / tree.lstrip("/")).exists()]
        snapshots = [f"{SNAPSHOTS}/{path}" for path in sorted(checked)]
        _run_tar(partial, staging, [MANIFEST, *snapshots], root, present)
    os.chmod(partial, 0o600)
    partial.rename(archive)
    return {
        "archive": str(archive),
        "bytes": archive.stat().st_size,
        "seconds": round(time.monotonic() - started, 1),
        "users": len(users),
        "courses": courses,
        "checked": checked,
    }


def _run_tar(partial: Path, staging: Path, staged: list[str], root: Path, trees: list[str]):
    """The staged files (manifest, SQLite copies: files only, so no folder of the staging
    area lands on the VM) first, then the live trees without the live databases or their
    journals. ACLs travel too: submissions and feedback rely on them."""
    argv = ["tar", "--create", "--gzip", "--acls", "--file", str(partial)]
    # students work on: a file may change, or vanish between tar listing a folder and
    # reading it (a server's temporary files); neither may fail the backup
    argv += ["--warning=no-file-changed", "--warning=no-file-removed", "--ignore-failed-read"]
    argv += ["--anchored"]
    argv += [f"--exclude={pattern.lstrip('/')}" for pattern in (*LIVE_DATABASES, *EPHEMERAL)]
    argv += ["-C", str(staging), *staged, "-C", str(root), *trees]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode not in (0, TAR_SOME_FILES_CHANGED):
        partial.unlink(missing_ok=True)
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        free = shutil.disk_usage(partial.parent).free // 2**20
        raise BackupError(f"tar failed ({reason}); {free} MiB free in {partial.parent}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m hubctl.hub.backup")
    parser.add_argument("--kind", choices=KINDS, default="manual")
    parser.add_argument("--keep", type=int, default=0, help="keep this many of --kind (0: all)")
    parser.add_argument("--folder", type=Path, default=Path(layout.BACKUP_DIR))
    args = parser.parse_args(argv)
    try:
        result = take_backup(args.folder, args.kind)
    except (BackupError, OSError, sqlite3.Error) as error:
        print(json.dumps({"error": f"no backup made: {error}"}))
        return 1
    if args.keep:
        result["pruned"] = [str(path) for path in to_prune(args.folder, args.kind, args.keep)]
        for path in result["pruned"]:
            Path(path).unlink()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
