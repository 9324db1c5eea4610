"""The hub-side part of hubctl, packed for the VM's hub venv."""

import gzip
import io
import json
import tarfile
from pathlib import Path

import hubctl
from hubctl import layout
from hubctl.nbgrader.profiles import all_profiles

# The per-role Jupyter settings travel in the same archive (one Ansible task, not nine).
PROFILES_FOLDER = Path(layout.JUPYTER_PROFILES_DIR).relative_to(layout.LIB_DIR).as_posix()

# What runs on the VM: hubctl.hub and the schema it validates hub.yaml with (hub venv),
# hubctl.nbgrader (user venv), and what loads the plugins for their VM hooks.
HUB_SIDE = (
    "__init__.py", "errors.py", "layout.py", "config", "hub", "nbgrader", "hookspecs.py",
    "plugins.py",
)  # fmt: skip
FIXED_MTIME = 946684800  # 2000-01-01: stable content gives a byte-identical tree, so no restart


def write_hub_code_archive(dest: Path) -> Path:
    """A tar.gz of the hub-side modules and the per-role Jupyter settings, with fixed
    owners, modes and times (files only,
    so Ansible's unarchive sees no difference between runs of the same hubctl)."""
    package = Path(hubctl.__file__).parent
    files = sorted(
        path
        for name in HUB_SIDE
        for path in (
            [package / name] if (package / name).is_file() else (package / name).rglob("*.py")
        )
    )
    members = [
        (f"hubctl/{path.relative_to(package).as_posix()}", path.read_bytes()) for path in files
    ]
    for entry in all_profiles():
        text = json.dumps(entry["content"], indent=2, sort_keys=True) + "\n"
        members.append((f"{PROFILES_FOLDER}/{entry['profile']}/{entry['path']}", text.encode()))
    return _write_archive(dest, members)


def write_plugin_code_archive(dest: Path, packages: dict[str, Path]) -> Path:
    """A tar.gz of the enabled plugins' top-level packages (their .py files, under their import
    names), for the VM's plugins folder: the same stable form as the hub code, so an unchanged
    set restarts nothing."""
    members = []
    for name, package in packages.items():
        if package.is_dir():
            files = sorted(package.rglob("*.py"))
            members += [
                (f"{name}/{path.relative_to(package).as_posix()}", path.read_bytes())
                for path in files
            ]
        else:
            members.append((f"{name}.py", package.read_bytes()))
    return _write_archive(dest, members)


def _write_archive(dest: Path, members: list[tuple[str, bytes]]) -> Path:
    with (
        dest.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=FIXED_MTIME) as packed,
        tarfile.open(fileobj=packed, mode="w") as archive,
    ):
        for name, data in members:
            _add(archive, name, data)
    return dest


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, FIXED_MTIME
    archive.addfile(info, io.BytesIO(data))
