"""Linters and syntax checks, each a test so the one test command runs them all."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)


def test_ruff_lint():
    result = run(str(BIN / "ruff"), "check", "installer", "plugins", "tests")
    assert result.returncode == 0, result.stdout


def test_ruff_format():
    result = run(str(BIN / "ruff"), "format", "--check", "installer", "plugins", "tests")
    assert result.returncode == 0, result.stdout


# The core's playbooks, the built-in plugins' roles and the third-party example's role.
LINTED = ["playbooks", "plugins", "tests/plugin_example/hubctl_example"]


def test_ansible_lint_production_profile():
    result = run(str(BIN / "ansible-lint"), "--profile", "production", *LINTED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ansible_lint_has_no_skip_list():
    assert "skip_list" not in (REPO / ".ansible-lint").read_text()


def test_playbook_syntax():
    result = run(
        str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", "playbooks/site.yml"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_vagrantfile_is_valid():
    vagrant = shutil.which("vagrant")
    if vagrant is None:
        pytest.fail("vagrant is not installed: apt-get install vagrant (see .ci/run)")
    result = run(vagrant, "validate", "--ignore-provider")
    assert result.returncode == 0, result.stdout + result.stderr
