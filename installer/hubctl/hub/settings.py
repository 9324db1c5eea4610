"""Apply a validated hub.yaml to JupyterHub's traitlets config (jupyterhub_config.py calls this)."""

from pathlib import Path

from hubctl import layout
from hubctl.config import HubConfig, parse_config
from hubctl.config.schema import USER_NAME_RE

HUB_PYTHON = f"{layout.HUB_VENV}/bin/python3"
CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]


def apply_hub_yaml(c, path: str = layout.CONFIG_FILE) -> HubConfig:
    """Load hub.yaml from the VM and apply it; a broken file stops the hub from starting."""
    config = parse_config(Path(path).read_text(encoding="utf-8"), path)
    apply_config(c, config)
    return config


def apply_config(c, config: HubConfig) -> None:
    _apply_hub(c, config)
    _apply_authenticator(c, config)
    _apply_spawner(c, config)
    _apply_services(c, config)


def _apply_hub(c, config: HubConfig) -> None:
    c.JupyterHub.bind_url = f"http://:{config.hub.port}"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{layout.HUB_API_PORT}"
    c.JupyterHub.db_url = f"sqlite:///{layout.DATABASE_FILE}"
    c.JupyterHub.cookie_secret_file = layout.COOKIE_SECRET_FILE
    # The proxy is its own systemd unit (its token comes from the unit's environment), so
    # restarting the hub keeps every route; servers are systemd units and outlive the hub too.
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{layout.PROXY_API_PORT}"
    c.JupyterHub.cleanup_servers = False


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


def _apply_services(c, config: HubConfig) -> None:
    timeout = config.limits.idle_timeout
    if not timeout:
        return
    c.JupyterHub.services = [
        {
            "name": "idle-culler",
            "command": [HUB_PYTHON, "-m", "jupyterhub_idle_culler", f"--timeout={timeout}"],
        }
    ]
    c.JupyterHub.load_roles = [
        {"name": "idle-culler", "scopes": CULLER_SCOPES, "services": ["idle-culler"]}
    ]
