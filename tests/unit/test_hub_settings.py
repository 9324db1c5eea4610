from traitlets.config import Config

from hubctl.config import parse_config
from hubctl.hub.settings import (
    apply_config,
    apply_hub_yaml,
    formgrader_environment,
    without_sandbox,
)

HUB_YAML = """
hub: {port: 8000}
users: {instructors: [alice, bob], signup: open, minimum_password_length: 10,
        allowed_failed_logins: 3, lockout: 5m}
limits: {memory: 2G, cpu: 0.5, idle_timeout: 30m}
network: {http_proxy: 'http://10.0.0.1:3128'}
"""


def configured(text: str = HUB_YAML) -> Config:
    c = Config()
    config = parse_config(text)
    apply_config(c, config, tokens={course.id: f"token-{course.id}" for course in config.courses})
    return c


def test_hub_and_proxy():
    c = configured()
    assert c.JupyterHub.bind_url == "http://:8000"
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:8081"
    assert c.JupyterHub.db_url == "sqlite:////var/lib/hubctl/jupyterhub.sqlite"
    assert c.JupyterHub.cookie_secret_file == "/etc/hubctl/secrets/jupyterhub_cookie_secret"
    assert c.ConfigurableHTTPProxy.should_start is False
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8001"
    assert c.JupyterHub.cleanup_servers is False
    # a restarted proxy gets its routes back within seconds, not JupyterHub's default 300 s
    assert c.JupyterHub.last_activity_interval == 10


def test_authenticator():
    c = configured()
    assert c.JupyterHub.authenticator_class == "hubctl.hub.auth.HubctlAuthenticator"
    assert c.Authenticator.admin_users == {"alice", "bob"}
    assert c.Authenticator.allow_all is True
    assert c.NativeAuthenticator.enable_signup is True
    assert c.NativeAuthenticator.open_signup is True
    assert c.NativeAuthenticator.minimum_password_length == 10
    assert c.NativeAuthenticator.check_common_password is True
    assert c.NativeAuthenticator.allowed_failed_logins == 3
    assert c.NativeAuthenticator.seconds_before_next_try == 300


def test_signup_modes():
    approval = configured("users: {instructors: [a]}")
    closed = configured("users: {instructors: [a], signup: closed}")
    assert (
        approval.NativeAuthenticator.enable_signup,
        approval.NativeAuthenticator.open_signup,
    ) == (True, False)
    assert closed.NativeAuthenticator.enable_signup is False


def test_spawner_limits_and_isolation():
    c = configured()
    assert c.JupyterHub.spawner_class == "hubctl.hub.spawner.HubctlSpawner"
    assert c.SystemdSpawner.mem_limit == 2 * 1024**3
    assert c.SystemdSpawner.cpu_limit == 0.5
    assert c.SystemdSpawner.isolate_tmp is True
    assert c.SystemdSpawner.isolate_devices is True
    assert c.SystemdSpawner.disable_user_sudo is True
    assert c.Spawner.cmd == ["/opt/hubctl/user/bin/jupyterhub-singleuser"]
    assert c.Spawner.default_url == "/lab"
    assert (c.Spawner.start_timeout, c.Spawner.http_timeout) == (180, 120)
    assert c.Spawner.environment["https_proxy"] == "http://10.0.0.1:3128"


def test_spawner_task_limit_is_limits_processes():
    properties = configured(
        HUB_YAML.replace("30m}", "30m, processes: 300}")
    ).SystemdSpawner.unit_extra_properties
    assert (properties["TasksMax"], properties["LimitNPROC"]) == ("300", "300")


def test_server_sees_only_its_own_home_and_writes_only_there_and_to_the_exchange():
    properties = configured().SystemdSpawner.unit_extra_properties
    assert (properties["ProtectHome"], properties["BindPaths"]) == ("tmpfs", "/home/{USERNAME}")
    assert (properties["ProtectSystem"], properties["ReadWritePaths"]) == (
        "strict",
        "/srv/nbgrader/exchange",
    )


def test_instructors_are_not_root_unless_hub_yaml_says_so():
    assert configured().HubctlSpawner.sudo_users == set()
    root_bob = HUB_YAML.replace("[alice, bob]", "[alice, {name: bob, sudo: true}]")
    assert configured(root_bob).HubctlSpawner.sudo_users == {"bob"}


def test_a_root_instructors_server_keeps_only_the_task_limit():
    properties = configured().SystemdSpawner.unit_extra_properties
    assert without_sandbox(properties) == {"TasksMax": "1024", "LimitNPROC": "1024"}


def test_idle_culler_service_with_least_scopes():
    c = configured()
    assert c.JupyterHub.services == [
        {
            "name": "idle-culler",
            "command": [
                "/opt/hubctl/hub/bin/python3",
                "-m",
                "jupyterhub_idle_culler",
                "--timeout=1800",
            ],
        }
    ]
    assert c.JupyterHub.load_roles[0]["scopes"] == [
        "list:users",
        "read:users:activity",
        "read:servers",
        "delete:servers",
    ]


def test_no_culler_when_idle_timeout_is_zero():
    c = configured("users: {instructors: [a]}\nlimits: {idle_timeout: 0}")
    assert c.JupyterHub.services == []


def test_apply_hub_yaml_reads_the_file_and_the_service_token(tmp_path):
    path = tmp_path / "hub.yaml"
    path.write_text("users: {instructors: [carol]}\nlimits: {idle_timeout: 0}\n")
    (tmp_path / "token").write_text("s3cret\n")
    c = Config()
    apply_hub_yaml(c, str(path), str(tmp_path / "token"))
    assert c.Authenticator.admin_users == {"carol"}
    assert c.JupyterHub.services == [{"name": "hubctl", "api_token": "s3cret"}]
    assert c.JupyterHub.load_roles == [
        {
            "name": "hubctl",
            "scopes": [
                "admin:users",
                "admin:groups",
                "admin:servers",
                "list:users",
                "read:users",
                "list:services",
                "read:services",
            ],
            "services": ["hubctl"],
        }
    ]


COURSES = """
users: {instructors: [alice, bob]}
limits: {idle_timeout: 0}
courses:
  - {id: cs101, instructors: [alice], graders: [tom], students: [ann, ben]}
  - {id: math2, instructors: [bob], students: [ann]}
"""


def test_each_course_gets_a_formgrader_service_the_hub_does_not_run():
    services = configured(COURSES).JupyterHub.services
    assert [service["name"] for service in services] == ["cs101", "math2"]
    assert services[0] == {
        "name": "cs101",
        "display": False,
        "url": "http://127.0.0.1:10100",
        "api_token": "token-cs101",
        "oauth_client_id": "service-cs101",
        "oauth_no_confirm": True,
    }
    assert services[1]["url"] == "http://127.0.0.1:10101"


def test_a_formgrader_unit_gets_what_the_hub_gives_a_managed_service():
    config = parse_config(COURSES + "network: {http_proxy: 'http://proxy:3128'}\n")
    environment = formgrader_environment(config, 1)
    assert config.proxy_environment["http_proxy"] == "http://proxy:3128"
    scopes = '["access:services", "access:services!service=math2"]'
    assert environment == {
        **config.proxy_environment,
        "PATH": "/opt/hubctl/user/bin:/usr/bin:/bin",
        "HOME": "/srv/nbgrader/courses/math2",
        "JUPYTER_CONFIG_PATH": "/opt/hubctl/lib/jupyter-profiles/formgrader",
        "JUPYTER_PATH": "/opt/hubctl/lib/jupyter-profiles/formgrader",
        "JUPYTER_RUNTIME_DIR": "/run/hubctl-grading/math2",
        "JUPYTERHUB_SERVICE_NAME": "math2",
        "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/math2/",
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
        "JUPYTERHUB_CLIENT_ID": "service-math2",
        "JUPYTERHUB_USER": "grader-math2",
        "JUPYTERHUB_SERVER_NAME": "",
        "JUPYTERHUB_HOST": "",
        "JUPYTERHUB_PUBLIC_URL": "",
        "JUPYTERHUB_PUBLIC_HUB_URL": "",
        "JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED": "0",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": "/services/math2/oauth_callback",
        "JUPYTERHUB_OAUTH_SCOPES": scopes,
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": scopes,
        "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": "[]",
    }


def test_only_a_course_s_instructors_and_graders_reach_its_formgrader():
    c = configured(COURSES)
    assert c.JupyterHub.load_roles[0] == {
        "name": "formgrade-cs101",
        "scopes": ["access:services!service=cs101", "list:services", "read:services"],
        "groups": ["formgrade-cs101"],
    }
    assert c.JupyterHub.load_groups == {
        "formgrade-cs101": {"users": ["alice", "tom"]},
        "nbgrader-cs101": {"users": ["ann", "ben"]},
        "formgrade-math2": {"users": ["bob"]},
        "nbgrader-math2": {"users": ["ann"]},
    }
    assert not any("admin" in scope for role in c.JupyterHub.load_roles for scope in role["scopes"])


def test_server_tokens_ask_only_for_what_the_course_list_needs():
    assert configured().Spawner.server_token_scopes == [
        "users:activity!user",
        "access:servers!server",
        "read:users:groups!user",
        "list:services",
        "read:services",
    ]
