"""Fresh guest -> hub answering: `hubctl install` against the floor of the same work done bare.

    sudo .venv/bin/python tests/bench/bench_install.py [--rounds N]

Each round boots two fresh Debian 12 guests (systemd-nspawn). In the first it times the floor:
`apt-get install` of the hub's system packages, then `pip install` of the same pinned sets
into two venvs. In the second it times `hubctl install --host` until /hub/api/ answers, then
the no-change re-run. Prints one line per measurement and a summary (medians)."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from hubctl.sandbox.guest import HOST_CA_BUNDLE, Guest, GuestSpec

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "playbooks" / "roles"
WORK = Path("/var/tmp/hubctl-bench")


def fresh_guest(name: str, index: int, trust_site_ca: bool) -> Guest:
    spec = GuestSpec(
        name=name,
        state_dir=WORK / name,
        index=index,
        ca_bundle=HOST_CA_BUNDLE if trust_site_ca else None,
    )
    guest = Guest(spec)
    guest.destroy()
    guest.create()
    guest.boot()
    return guest


def floor_seconds(guest: Guest) -> float:
    packages = yaml.safe_load((ROLES / "system/defaults/main.yml").read_text())["system_packages"]
    proxy = guest.spec.proxy_url
    for name in ("hub", "user"):
        requirements = (ROLES / f"python_envs/files/{name}-requirements.txt").read_text()
        guest.run(["tee", f"/root/{name}-requirements.txt"], input=requirements)
    script = (
        f"set -e; echo 'Acquire::http::Proxy \"{proxy}\";' > /etc/apt/apt.conf.d/80proxy;"
        f" apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {' '.join(packages)};"
        " for v in hub user; do python3 -m venv /root/$v;"
        f"  https_proxy={proxy} /root/$v/bin/pip install -q --cert {HOST_CA_BUNDLE}"
        "   -r /root/$v-requirements.txt; done"
    )
    started = time.monotonic()
    guest.run(["bash", "-c", script], timeout=1800)
    return time.monotonic() - started


def hubctl_install(guest: Guest, config: Path) -> float:
    argv = [sys.executable, "-m", "hubctl.cli", "install", "--config", str(config),
            "--host", f"root@{guest.spec.address}", "--ssh-key", str(guest.spec.ssh_key)]  # fmt: skip
    env = {**os.environ, "ANSIBLE_SSH_COMMON_ARGS": " ".join(guest.ssh_options)}
    started = time.monotonic()
    subprocess.run(argv, check=True, env=env, capture_output=True)
    while True:
        try:
            with urllib.request.urlopen(f"http://{guest.spec.address}/hub/api/", timeout=2):  # noqa: S310
                return time.monotonic() - started
        except OSError:
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    rounds = parser.parse_args().rounds
    results: dict[str, list[float]] = {"floor": [], "install": [], "rerun": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(1, rounds + 1):
            floor_guest = fresh_guest("benchfloor", 241, trust_site_ca=True)
            try:
                results["floor"].append(floor_seconds(floor_guest))
            finally:
                floor_guest.destroy()
            guest = fresh_guest("benchhub", 242, trust_site_ca=False)
            try:
                config = Path(tmp) / "hub.yaml"
                network = {"http_proxy": guest.spec.proxy_url, "ca_bundle": str(HOST_CA_BUNDLE)}
                config.write_text(yaml.safe_dump({"users": {"instructors": ["teacher"]},
                                                  "network": network}))  # fmt: skip
                results["install"].append(hubctl_install(guest, config))
                results["rerun"].append(hubctl_install(guest, config))
            finally:
                guest.destroy()
            print(
                f"round {round_number}: "
                + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in results.items())
            )
    median = {key: statistics.median(values) for key, values in results.items()}
    print(json.dumps({"rounds": rounds, "median_seconds": median,
                      "install_over_floor": round(median["install"] / median["floor"], 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
