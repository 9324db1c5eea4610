"""An older hubctl from this repository's history, to upgrade from: its source at a commit
(`git archive`), installed into a venv of its own that borrows this one's packages."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from hubhttp import HubSession

REPO = Path(__file__).resolve().parents[2]


def old_hubctl(folder: Path, commit: str) -> list[str]:
    """The command line of hubctl at `commit`, installed under `folder` in its own venv that
    borrows this one's packages (a .pth line: the venv's own hubctl comes first)."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit], capture_output=True, check=False
    )
    if source.returncode:
        pytest.fail(f"the upgrade test needs hubctl's git history ({commit}): {source.stderr}")
    (folder / "src").mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder / "src")], input=source.stdout, check=True)
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = subprocess.run(
        [str(venv / "bin/python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "borrowed.pth").write_text(ours + "\n")
    subprocess.run(
        [str(venv / "bin/pip"), "install", "--quiet", "--no-deps", str(folder / "src")], check=True
    )
    return [str(venv / "bin/python"), "-m", "hubctl.cli"]


def old_hubctl_path() -> str:
    """PATH for the old hubctl: this venv's bin (ansible-playbook) first."""
    return f"{Path(sys.executable).parent}:/usr/bin:/bin"


def wait_for_hub(hub: str) -> None:
    """An old hubctl's install may return before its hub answers."""
    deadline = time.monotonic() + 120
    while HubSession(hub).request("/hub/api/")[0] != 200:
        if time.monotonic() > deadline:
            pytest.fail(f"the old hubctl's hub at {hub} did not answer in 120 s")
        time.sleep(1)
