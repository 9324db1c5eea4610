"""Run one action of hubctl.hub.manage (or of a plugin's VM module) on the hub, over SSH or
on this machine, and return its JSON answer."""

import io
import json

from hubctl.ansible.progress import Progress
from hubctl.ansible.runner import run_playbook
from hubctl.ansible.target import Target
from hubctl.errors import HubctlError


def call(
    target: Target,
    action: str,
    request: dict,
    ask_become_pass: bool = False,
    module: str = "hubctl.hub.manage",
) -> dict:
    """`python -m MODULE ACTION` as root in the hub's venv, `request` as JSON on stdin."""
    run = run_playbook(
        "manage.yml",
        {"hubctl_module": module, "hubctl_action": action, "hubctl_request": request},
        target,
        verb=f"hubctl {action}",
        ask_become_pass=ask_become_pass,
        progress=Progress(stream=io.StringIO(), live=False),  # these print their own result
    )
    answer = run.stats["custom"].get("hubctl_answer")
    if answer is None:
        raise HubctlError(f"the hub gave no answer: see {run.log_path}")
    return parse_answer(answer, target.label)


def parse_answer(answer: dict, where: str) -> dict:
    data = answer["stdout"]  # Ansible's templating may already have parsed the JSON
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError:
            data = None
    if isinstance(data, dict) and "error" in data:
        raise HubctlError(data["error"])
    if int(answer["rc"]) != 0 or not isinstance(data, dict):
        stderr = answer["stderr"]
        if "No such file or directory" in stderr or "No module named" in stderr:
            raise HubctlError(
                f"no hubctl hub on {where} (or one from an older hubctl): run `hubctl install`"
            )
        last = stderr.strip().splitlines()[-1:] or ["no output"]
        raise HubctlError(f"the command failed on {where}: {last[0]}")
    return data
