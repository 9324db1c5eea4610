"""The `exam` plugin: `hubctl exam start COURSE [--until TIME]` / `hubctl exam stop COURSE`.
During a course's exam its students' servers restart without terminals or nbgitpuller and
their processes cannot reach the network beyond the VM's loopback (the hub is there);
afterwards they restart as before. Takes no settings:

    plugins:
      exam: {}
"""

from pathlib import Path

from hubctl import layout
from hubctl.hookspecs import AnsibleRole, ServerOptions, UserPackages, hookimpl

ROLE = Path(__file__).parent / "hubctl_exam"  # the Ansible role: the boot unit
# JupyterHub passes these to jupyterhub-singleuser (jupyter_server's ServerApp). Terminals:
# their handlers are not loaded (the API answers 404); nbgitpuller's /git-pull goes with its
# server extension (a key=value per extension: ServerApp's jpserver_extensions is a dict).
EXAM_ARGS = [
    "--ServerApp.terminals_enabled=False",
    "--ServerApp.jpserver_extensions=jupyter_server_terminals=False",
    "--ServerApp.jpserver_extensions=nbgitpuller=False",
]


@hookimpl
def hubctl_plugin_schema() -> None:
    return None


@hookimpl
def hubctl_user_packages() -> UserPackages:
    return {"apt": ["nftables"]}  # `nft`, for the exam's table (the core's firewall may be off)


@hookimpl
def hubctl_ansible_roles() -> list[AnsibleRole]:
    return [{"path": str(ROLE), "vars": {"hubctl_exam_hub_venv": layout.HUB_VENV}}]


@hookimpl
def hubctl_pre_spawn(user: str, groups: list[str]) -> ServerOptions:
    from hubctl_plugins.exam import exams  # the VM's side only

    courses = exams.exam_courses_of(groups)
    if not courses:
        return {}
    exams.enter(user, courses)
    return {"args": list(EXAM_ARGS)}


@hookimpl
def hubctl_cli_commands() -> list:
    from hubctl_plugins.exam.cli import exam

    return [exam]
