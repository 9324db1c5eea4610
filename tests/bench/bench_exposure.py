"""`systemd-analyze security` exposure of the hub, the proxy and a student's server.

    sudo .venv/bin/python tests/bench/bench_exposure.py [--hubctl CMD] [--index 243]

Boots a fresh Debian 12 guest (systemd-nspawn), installs a hub into it with `hubctl install`
(by default this checkout's; `--hubctl /path/to/other/bin/hubctl` measures another one, e.g.
one installed from main before the sandbox), starts a student's server through the hub's API
and prints one FIGURE line per unit (0 = fully sandboxed, 10 = not at all)."""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from hubctl.sandbox.guest import HOST_CA_BUNDLE, Guest, GuestSpec

WORK = Path("/var/tmp/hubctl-bench")
STUDENT = "ann"
UNITS = ["jupyterhub.service", "configurable-http-proxy.service"]
# As root on the VM: create the hub user and start her server with hubctl's service token.
SPAWN = f"""
import urllib.request
token = open("/etc/hubctl/secrets/hubctl-api-token").read().strip()
for path in ("users/{STUDENT}", "users/{STUDENT}/server"):
    request = urllib.request.Request(
        "http://127.0.0.1:8081/hub/api/" + path, data=b"{{}}", method="POST",
        headers={{"Authorization": "token " + token}})
    try:
        urllib.request.urlopen(request, timeout=120)
    except urllib.error.HTTPError as error:
        if error.code != 409:  # the user exists already
            raise
"""


def exposure(guest: Guest, unit: str) -> str:
    output = guest.run(["systemd-analyze", "security", unit]).stdout
    return re.search(r"exposure level for \S+: (\d+\.\d+)", output)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hubctl", default=f"{sys.executable} -m hubctl.cli")
    parser.add_argument("--index", type=int, default=243, help="guest subnet 10.77.INDEX.0/24")
    args = parser.parse_args()
    spec = GuestSpec(name=f"benchsec{args.index}", state_dir=WORK / "benchsec", index=args.index,
                     ca_bundle=None)  # fmt: skip
    guest = Guest(spec)
    guest.destroy()
    guest.create()
    guest.boot()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "hub.yaml"
            network = {"http_proxy": spec.proxy_url, "ca_bundle": str(HOST_CA_BUNDLE)}
            config.write_text(yaml.safe_dump({"users": {"instructors": ["teacher"]},
                                              "network": network}))  # fmt: skip
            argv = [*shlex.split(args.hubctl), "install", "--config", str(config),
                    "--host", f"root@{spec.address}", "--ssh-key", str(spec.ssh_key)]  # fmt: skip
            env = {**os.environ, "ANSIBLE_SSH_COMMON_ARGS": " ".join(guest.ssh_options)}
            subprocess.run(argv, check=True, env=env, capture_output=True)
        guest.run(["python3", "-c", SPAWN], timeout=180)
        server = f"jupyter-{STUDENT}-singleuser.service"
        for _ in range(60):
            if guest.run(["systemctl", "is-active", server], check=False).returncode == 0:
                break
            time.sleep(1)
        for unit in [*UNITS, server]:
            print(f"FIGURE systemd-analyze security {unit}: {exposure(guest, unit)}")
    finally:
        guest.destroy()


if __name__ == "__main__":
    main()
