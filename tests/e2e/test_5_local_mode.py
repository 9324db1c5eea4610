"""`sudo hubctl install` run ON the VM (connection local), the way README's VM set-up gives it:
over the hub the SSH install made, with the same hub.yaml, it changes nothing."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CLI_VENV = "/root/hubctl-cli"


@pytest.fixture(scope="module")
def local_run(guest, installed):
    source = subprocess.run(
        ["tar", "-C", str(REPO), "--exclude=.git", "--exclude=build", "--exclude=*.egg-info",
         "--exclude=__pycache__", "-cf", "-", "."],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    subprocess.run(
        ["ssh", "-i", str(guest.spec.ssh_key), *guest.ssh_options, f"root@{guest.spec.address}",
         "rm -rf /root/hubctl-src && mkdir /root/hubctl-src && tar -C /root/hubctl-src -xf -"],
        input=source, check=True,
    )  # fmt: skip
    config = yaml.safe_load(installed.config_path.read_text())
    bundle = Path(config["network"]["ca_bundle"]).read_text()
    guest.run(["tee", "/root/site-ca.pem"], input=bundle)
    config["network"]["ca_bundle"] = "/root/site-ca.pem"
    for person in config["users"]["instructors"]:
        if isinstance(person, dict) and person.get("password_file"):
            secret = (installed.config_path.parent / person["password_file"]).read_text()
            guest.run(["tee", f"/root/{person['password_file']}"], input=secret)
    guest.run(["tee", "/root/hub.yaml"], input=yaml.safe_dump(config))
    proxy = config["network"]["http_proxy"]
    guest.run(["python3", "-m", "venv", CLI_VENV])
    guest.run(
        ["env", f"https_proxy={proxy}", "PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
         f"{CLI_VENV}/bin/pip", "install", "--quiet", "/root/hubctl-src"],
        timeout=600,
    )  # fmt: skip
    return guest.run(
        [f"{CLI_VENV}/bin/hubctl", "install", "--config", "/root/hub.yaml"], check=False,
        timeout=600,
    )  # fmt: skip


def test_local_install_succeeds(local_run):
    assert local_run.returncode == 0, local_run.stderr


def test_local_install_over_the_ssh_install_changes_nothing(local_run):
    assert re.search(r"^Done in \d+s: 0 changed\.", local_run.stdout, re.M), local_run.stdout
    assert "Installing onto this machine" in local_run.stderr


def test_local_install_prints_the_vms_address(local_run, guest):
    assert f"Hub: http://{guest.spec.address}/\n" in local_run.stdout
