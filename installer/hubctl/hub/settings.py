"""Apply a validated hub.yaml to JupyterHub's traitlets config (jupyterhub_config.py calls this)."""

import json
from pathlib import Path

from hubctl import layout
from hubctl.config import HubConfig, parse_config
from hubctl.config.schema import USER_NAME_RE

HUB_PYTHON = f"{layout.HUB_VENV}/bin/python3"
SPAWN_START_SECONDS, SPAWN_ANSWER_SECONDS = 180, 120
# How often the hub checks the proxy's routes and restores missing ones (docs/reliability.md).
ROUTE_CHECK_SECONDS = 10
CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
# hubctl's own commands on the VM (users, status): accounts, course groups, services' health.
ADMIN_SCOPES = [
    "admin:users",
    "admin:groups",
    "admin:servers",
    "list:users",
    "read:users",
    "list:services",
    "read:services",
]
# JupyterHub's default server token plus what nbgrader's course list asks the hub (a token
# only gets the scopes its user holds: students hold none of the service ones).
SERVER_TOKEN_SCOPES = [
    "users:activity!user",
    "access:servers!server",
    "read:users:groups!user",
    "list:services",
    "read:services",
]
# Sandbox of each student's server, on top of SystemdSpawner's isolate_tmp, isolate_devices
# and disable_user_sudo (docs/security.md, "systemd sandboxing", says what each keeps out and
# which were left out and why). JupyterLab, kernels, terminals and nbgrader's fetch and
# submit work under all of them. SystemdSpawner expands {USERNAME}.
SERVER_SANDBOX = {
    "ProtectSystem": "strict",
    "ReadWritePaths": layout.EXCHANGE_DIR,
    # An empty /home with only the student's own home in it: other homes are not even there.
    "ProtectHome": "tmpfs",
    "BindPaths": "/home/{USERNAME}",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "ProtectProc": "invisible",
    "RestrictRealtime": "yes",
    # Not RestrictNamespaces: systemd 252 writes it empty into a transient unit's file, so
    # the next daemon-reload (any install) would lift it from running servers.
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
    "SystemCallFilter": "@system-service",
    "SystemCallErrorNumber": "EPERM",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "CapabilityBoundingSet": "",
    "RemoveIPC": "yes",
    "UMask": "0077",
}
# A grader reaches the course's formgrader and finds it in the course list; nothing more.
FORMGRADE_SCOPES = ["access:services!service={course}", "list:services", "read:services"]


def apply_hub_yaml(
    c,
    path: str = layout.CONFIG_FILE,
    admin_token_file: str = layout.ADMIN_TOKEN_FILE,
    plugins_file: str = layout.PLUGIN_HUB_CONFIG_FILE,
) -> HubConfig:
    """Load hub.yaml from the VM and apply it, then what the plugins add
    (hubctl_hub_config); a broken file stops the hub from starting."""
    config = parse_config(Path(path).read_text(encoding="utf-8"), path)
    tokens = {course.id: read_formgrader_token(course.id) for course in config.courses}
    apply_config(c, config, Path(admin_token_file).read_text(encoding="utf-8").strip(), tokens)
    if Path(plugins_file).exists():  # an install by an older hubctl has none
        merge_hub_config(c, json.loads(Path(plugins_file).read_text(encoding="utf-8")))
    return config


def read_formgrader_token(course_id: str) -> str:
    text = Path(layout.formgrader_token_file(course_id)).read_text(encoding="utf-8")
    return text.strip().split("=", 1)[1]


def formgrader_url(index: int) -> str:
    return f"http://127.0.0.1:{layout.FORMGRADER_FIRST_PORT + index}"


def formgrader_environment(config: HubConfig, index: int) -> dict[str, str]:
    """What JupyterHub 5 gives a managed service, for the course at `index`'s formgrader
    unit (its token is in a file of its own: layout.formgrader_token_file)."""
    course_id = config.courses[index].id
    prefix = f"/services/{course_id}/"
    scopes = json.dumps(["access:services", f"access:services!service={course_id}"])
    return {
        **config.proxy_environment,
        "PATH": f"{layout.USER_VENV}/bin:/usr/bin:/bin",
        "HOME": layout.course_dir(course_id),
        "JUPYTER_CONFIG_PATH": f"{layout.JUPYTER_PROFILES_DIR}/formgrader",
        "JUPYTER_PATH": f"{layout.JUPYTER_PROFILES_DIR}/formgrader",  # the grading kernel
        "JUPYTER_RUNTIME_DIR": layout.grading_runtime_dir(course_id),
        "JUPYTERHUB_SERVICE_NAME": course_id,
        "JUPYTERHUB_SERVICE_URL": formgrader_url(index),
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:{layout.HUB_API_PORT}/hub/api",
        "JUPYTERHUB_CLIENT_ID": f"service-{course_id}",
        "JUPYTERHUB_USER": layout.grader_account(course_id),
        "JUPYTERHUB_SERVER_NAME": "",
        "JUPYTERHUB_HOST": "",
        "JUPYTERHUB_PUBLIC_URL": "",
        "JUPYTERHUB_PUBLIC_HUB_URL": "",
        "JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED": "0",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
        "JUPYTERHUB_OAUTH_SCOPES": scopes,
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": scopes,
        "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": "[]",
    }


def merge_hub_config(base, fragment: dict):
    """Add `fragment` ({Class: {trait: value}}) to `base` (a traitlets Config or a dict):
    a dict updates the dict already set, a list extends the list already set, anything
    else replaces what is set."""
    for section, traits in fragment.items():
        if section not in base:
            base[section] = {} if isinstance(base, dict) else type(base)()
        target = base[section]
        for trait, value in traits.items():
            current = target.get(trait)
            if isinstance(value, dict) and isinstance(current, dict):
                target[trait] = {**current, **value}
            elif isinstance(value, list) and isinstance(current, list):
                target[trait] = [*current, *value]
            else:
                target[trait] = value
    return base


def apply_config(
    c, config: HubConfig, admin_token: str | None = None, tokens: dict[str, str] | None = None
) -> None:
    """hub.yaml as JupyterHub settings; `tokens` are the formgraders' API tokens by course."""
    _apply_hub(c, config)
    _apply_authenticator(c, config)
    _apply_spawner(c, config)
    _apply_instructors_root(c, config)
    c.JupyterHub.services, c.JupyterHub.load_roles = [], []
    _apply_culler(c, config)
    _apply_admin_service(c, admin_token)
    _apply_courses(c, config, tokens or {})


def _apply_hub(c, config: HubConfig) -> None:
    c.JupyterHub.bind_url = (
        f"http://127.0.0.1:{layout.PROXY_INTERNAL_PORT}"  # behind Caddy (https on)
        if config.https.enabled
        else f"http://:{config.hub.port}"
    )
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{layout.HUB_API_PORT}"
    c.JupyterHub.db_url = f"sqlite:///{layout.DATABASE_FILE}"
    c.JupyterHub.cookie_secret_file = layout.COOKIE_SECRET_FILE
    # The proxy is its own systemd unit (its token comes from the unit's environment), so
    # restarting the hub keeps every route; servers are systemd units and outlive the hub too.
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{layout.PROXY_API_PORT}"
    c.JupyterHub.cleanup_servers = False
    # A restarted proxy comes back with no routes; the hub re-adds missing ones only in its
    # periodic update_last_activity (check_routes), every 300 s by default. A check costs
    # one GET of the proxy's routes and one activity update per running server.
    c.JupyterHub.last_activity_interval = ROUTE_CHECK_SECONDS


def _apply_authenticator(c, config: HubConfig) -> None:
    users = config.users
    c.JupyterHub.authenticator_class = "hubctl.hub.auth.HubctlAuthenticator"
    c.Authenticator.admin_users = {person.name for person in users.instructors}
    # JupyterHub 5 refuses every user not allowed explicitly; NativeAuthenticator's
    # approval is the gate instead.
    c.Authenticator.allow_all = True
    c.Authenticator.username_pattern = USER_NAME_RE.pattern
    c.NativeAuthenticator.enable_signup = users.signup != "closed"
    c.NativeAuthenticator.open_signup = users.signup == "open"
    c.NativeAuthenticator.minimum_password_length = users.minimum_password_length
    c.NativeAuthenticator.check_common_password = True
    c.NativeAuthenticator.allowed_failed_logins = users.allowed_failed_logins
    c.NativeAuthenticator.seconds_before_next_try = users.lockout


def _apply_spawner(c, config: HubConfig) -> None:
    c.JupyterHub.spawner_class = "hubctl.hub.spawner.HubctlSpawner"
    c.Spawner.cmd = [f"{layout.USER_VENV}/bin/jupyterhub-singleuser"]
    c.Spawner.default_url = "/lab"
    c.Spawner.environment = dict(config.proxy_environment)
    c.SystemdSpawner.mem_limit = config.memory_bytes
    c.SystemdSpawner.cpu_limit = config.limits.cpu
    c.SystemdSpawner.isolate_tmp = True
    c.SystemdSpawner.isolate_devices = True
    c.SystemdSpawner.disable_user_sudo = True
    c.SystemdSpawner.default_shell = "/bin/bash"
    c.SystemdSpawner.extra_paths = [f"{layout.USER_VENV}/bin"]
    c.SystemdSpawner.user_workingdir = "/home/{USERNAME}"
    c.SystemdSpawner.unit_name_template = "jupyter-{USERNAME}-singleuser"
    # A fork bomb stops at limits.processes: TasksMax (the unit's pids cgroup) and, where
    # there is no pids controller (containers), LimitNPROC (the student's processes).
    processes = str(config.limits.processes)
    c.SystemdSpawner.unit_extra_properties = {
        **SERVER_SANDBOX,
        "TasksMax": processes,
        "LimitNPROC": processes,
    }
    c.Spawner.server_token_scopes = SERVER_TOKEN_SCOPES
    # A class logging in at once starts many JupyterLabs on a few cores: JupyterHub's 60 s to
    # start and 30 s to answer failed students' first spawns on a loaded 2-core test VM.
    c.Spawner.start_timeout = SPAWN_START_SECONDS
    c.Spawner.http_timeout = SPAWN_ANSWER_SECONDS


def _apply_instructors_root(c, config: HubConfig) -> None:
    # Their servers run without NoNewPrivileges, or sudo could not become root in them.
    c.HubctlSpawner.sudo_users = {person.name for person in config.users.instructors if person.sudo}


def without_sandbox(properties: dict[str, str]) -> dict[str, str]:
    """A server's unit properties without SERVER_SANDBOX (the task limit stays)."""
    return {key: value for key, value in properties.items() if key not in SERVER_SANDBOX}


def _apply_culler(c, config: HubConfig) -> None:
    timeout = config.limits.idle_timeout
    if not timeout:
        return
    c.JupyterHub.services.append(
        {
            "name": "idle-culler",
            "command": [HUB_PYTHON, "-m", "jupyterhub_idle_culler", f"--timeout={timeout}"],
        }
    )
    c.JupyterHub.load_roles.append(
        {"name": "idle-culler", "scopes": CULLER_SCOPES, "services": ["idle-culler"]}
    )


def _apply_admin_service(c, token: str | None) -> None:
    if not token:
        return
    c.JupyterHub.services.append({"name": "hubctl", "api_token": token})
    c.JupyterHub.load_roles.append(
        {"name": "hubctl", "scopes": ADMIN_SCOPES, "services": ["hubctl"]}
    )


def _apply_courses(c, config: HubConfig, tokens: dict[str, str]) -> None:
    """Per course: its formgrader as an external hub service (its own systemd unit, run by
    the course's grader account, with the token in `tokens`), the groups nbgrader-ID
    (students) and formgrade-ID (instructors, graders), and a role that lets formgrade-ID,
    and nobody else, reach that formgrader."""
    groups = {}
    for index, course in enumerate(config.courses):
        c.JupyterHub.services.append(
            {
                "name": course.id,
                "display": False,
                "url": formgrader_url(index),
                "api_token": tokens[course.id],
                "oauth_client_id": f"service-{course.id}",
                "oauth_no_confirm": True,
            }
        )
        c.JupyterHub.load_roles.append(
            {
                "name": f"formgrade-{course.id}",
                "scopes": [scope.format(course=course.id) for scope in FORMGRADE_SCOPES],
                "groups": [f"formgrade-{course.id}"],
            }
        )
        groups[f"formgrade-{course.id}"] = {"users": [*course.instructors, *course.graders]}
        groups[f"nbgrader-{course.id}"] = {"users": list(course.students)}
    # Groups only ever gain members here; `hubctl users` adds and removes them at run time.
    c.JupyterHub.load_groups = groups
