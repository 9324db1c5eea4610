"""Backups and restores of a hub tree (real tar, real SQLite) under a temporary root."""

import json
import os
import sqlite3
import stat
import subprocess
import tarfile
import time

import pytest

from hubctl.hub.backup import (
    MANIFEST,
    BackupError,
    archive_name,
    archives,
    main,
    take_backup,
    to_prune,
)
from hubctl.hub.restore import RestoreError, extract_command, read_manifest


def write(path, text, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def database(path, schema, *rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(schema)
        db.executemany(f"INSERT INTO {schema.split()[2]} VALUES (?)", [(row,) for row in rows])
    db.close()


@pytest.fixture
def hub_root(tmp_path):
    """A hub as hubctl lays it out; its users: `root` (a real Linux user) and `zed` (who has
    no Linux account yet)."""
    root = tmp_path / "vm"
    write(root / "etc/hubctl/hub.yaml", "users: {instructors: [root]}\n", 0o600)
    write(root / "etc/hubctl/secrets/jupyterhub_cookie_secret", "c0ffee\n", 0o600)
    database(root / "var/lib/hubctl/jupyterhub.sqlite", "CREATE TABLE users (name)", "root", "zed")
    database(root / "srv/nbgrader/courses/cs101/gradebook.db", "CREATE TABLE grades (x)", "1.0")
    write(root / "srv/nbgrader/exchange/cs101/inbound/root+ps1+t/ps1.ipynb", "{}")
    write(root / "root/notes.txt", "my work\n")
    write(root / "root/.local/share/jupyter/runtime/jpserver-4242.json", "{}")
    return root


def members(archive):
    with tarfile.open(archive) as packed:
        return packed.getnames()


def test_a_backup_holds_config_secrets_checked_databases_courses_and_homes(hub_root, tmp_path):
    folder = tmp_path / "backups"
    result = take_backup(folder, root=hub_root)
    archive = folder / os.path.basename(result["archive"])
    names = members(archive)
    assert names[0] == MANIFEST
    assert "hubctl-backup/sqlite/var/lib/hubctl/jupyterhub.sqlite" in names
    assert "hubctl-backup/sqlite/srv/nbgrader/courses/cs101/gradebook.db" in names
    for kept in ("etc/hubctl/secrets/jupyterhub_cookie_secret", "root/notes.txt",
                 "srv/nbgrader/exchange/cs101/inbound/root+ps1+t/ps1.ipynb"):  # fmt: skip
        assert kept in names
    # the live databases are only in the archive as their checked copies
    assert "var/lib/hubctl/jupyterhub.sqlite" not in names
    assert "root/.local/share/jupyter/runtime/jpserver-4242.json" not in names  # not data
    assert "srv/nbgrader/courses/cs101/gradebook.db" not in names
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert result["users"] == 2 and result["courses"] == ["cs101"]
    assert set(result["checked"].values()) == {"ok"}
    assert [path.name for path in folder.iterdir()] == [archive.name]  # no staging left


def test_a_backup_taken_during_a_write_has_what_was_committed(hub_root, tmp_path):
    writer = sqlite3.connect(hub_root / "var/lib/hubctl/jupyterhub.sqlite", timeout=0)
    writer.execute("INSERT INTO users VALUES ('amy')")  # a transaction still open
    try:
        result = take_backup(tmp_path / "backups", root=hub_root)
    finally:
        writer.rollback()
        writer.close()
    restored = tmp_path / "restored"
    restored.mkdir()
    subprocess.run(extract_command(result["archive"], restored), check=True)
    with sqlite3.connect(restored / "var/lib/hubctl/jupyterhub.sqlite") as db:
        assert db.execute("SELECT name FROM users").fetchall() == [("root",), ("zed",)]
    db.close()


def test_restore_puts_files_and_databases_back_but_keeps_the_new_hub_yaml(hub_root, tmp_path):
    result = take_backup(tmp_path / "backups", root=hub_root)
    restored = tmp_path / "restored"
    write(restored / "etc/hubctl/hub.yaml", "placed by this install\n", 0o600)
    subprocess.run(extract_command(result["archive"], restored), check=True)
    assert (restored / "etc/hubctl/hub.yaml").read_text() == "placed by this install\n"
    secret = restored / "etc/hubctl/secrets/jupyterhub_cookie_secret"
    assert secret.read_text() == "c0ffee\n" and stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert (restored / "root/notes.txt").read_text() == "my work\n"
    with sqlite3.connect(restored / "srv/nbgrader/courses/cs101/gradebook.db") as db:
        assert db.execute("SELECT x FROM grades").fetchall() == [("1.0",)]
    db.close()
    assert not (restored / "hubctl-backup").exists()


def test_no_hub_database_is_a_clear_error_and_leaves_nothing(tmp_path):
    with pytest.raises(BackupError, match="no hub database at /var/lib/hubctl/jupyterhub.sqlite"):
        take_backup(tmp_path / "backups", root=tmp_path)
    assert not (tmp_path / "backups").exists()


def test_a_corrupt_database_stops_the_backup(hub_root, tmp_path, capsys):
    (hub_root / "var/lib/hubctl/jupyterhub.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        take_backup(tmp_path / "backups", root=hub_root)
    assert not list((tmp_path / "backups").iterdir())
    assert main(["--folder", str(tmp_path / "backups")]) == 1  # the real database: absent here
    assert capsys.readouterr().out == (
        '{"error": "no backup made: no hub database at /var/lib/hubctl/jupyterhub.sqlite:'
        ' is the hub installed?"}\n'
    )


def test_retention_keeps_the_newest_of_one_kind(tmp_path):
    names = [archive_name(kind, time.gmtime(day * 86400)) for day in range(5)
             for kind in ("nightly", "manual")]  # fmt: skip
    for name in names:
        (tmp_path / name).touch()
    pruned = to_prune(tmp_path, "nightly", keep=2)
    assert [path.name for path in pruned] == [
        "hubctl-backup-19700101-000000-nightly.tar.gz",
        "hubctl-backup-19700102-000000-nightly.tar.gz",
        "hubctl-backup-19700103-000000-nightly.tar.gz",
    ]
    assert len(archives(tmp_path)) == 10 and len(archives(tmp_path, "manual")) == 5


def test_read_manifest_refuses_what_is_not_a_hubctl_backup(tmp_path, hub_root):
    text = tmp_path / "notes.tar.gz"
    text.write_text("hello")
    with pytest.raises(RestoreError, match=r"notes.tar.gz is not a readable hubctl backup"):
        read_manifest(text)
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as packed:
        packed.add(hub_root / "root/notes.txt", "notes.txt")
    with pytest.raises(RestoreError, match=r"other.tar.gz is not a hubctl backup \(it has no"):
        read_manifest(other)
    result = take_backup(tmp_path / "backups", root=hub_root)
    manifest = read_manifest(result["archive"])
    assert manifest["users"] == [
        {"name": "root", "linux": True, "home": "root", "groups": []},
        {"name": "zed", "linux": False, "home": None, "groups": []},
    ]
    assert json.loads(json.dumps(manifest))["courses"] == ["cs101"]


def test_backups_within_one_second_never_replace_each_other(hub_root, tmp_path):
    names = {take_backup(tmp_path / "backups", root=hub_root)["archive"] for _ in range(3)}
    assert len(names) == 3 and len(archives(tmp_path / "backups")) == 3
