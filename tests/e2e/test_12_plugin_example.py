"""The third-party example plugin (tests/plugin_example), pip-installed beside hubctl as a
user would (conftest's plugin_cli) and enabled on the plugin guest: one test per hook,
each showing the hook's effect on the VM or in hubctl."""

import json
import time

import pytest
from conftest import PLUGIN_SETTINGS, hubctl, ssh_options_env

GREETING = PLUGIN_SETTINGS["example"]["greeting"]
STUDENT = "cara"  # math2's student, made by the install
NEW_USER = "wren"  # made by this module (other plugin modules make their own)
ADMIN_TOKEN = "/etc/hubctl/secrets/hubctl-api-token"
HUB_API = "http://127.0.0.1:8081/hub/api"


@pytest.fixture(scope="module")
def machine(plugin_guest, plugin_install):
    return plugin_guest


@pytest.fixture(scope="module")
def cli(machine, plugin_cli):
    host_args = ["--host", f"root@{machine.spec.address}", "--ssh-key", str(machine.spec.ssh_key)]

    def run(*args: str, check: bool = True):
        return hubctl(*args, *host_args, check=check, env=ssh_options_env(machine), cli=plugin_cli)

    return run


def on_guest(machine, command: str) -> str:
    return machine.run(["sh", "-c", command]).stdout.strip()


def hub_api(machine, method: str, path: str) -> dict:
    """The hub's REST API from inside the guest, with hubctl's own service token."""
    code = (
        "import json, sys, urllib.request\n"
        f"token = open('{ADMIN_TOKEN}').read().strip()\n"
        f"request = urllib.request.Request('{HUB_API}{path}', method='{method}',"
        " headers={'Authorization': 'token ' + token})\n"
        "with urllib.request.urlopen(request, timeout=60) as answer:\n"
        "    body = answer.read().decode()\n"
        "print(body or '{}')\n"
    )
    return json.loads(machine.run(["python3", "-c", code]).stdout)


@pytest.fixture(scope="module")
def server_environment(machine) -> dict[str, str]:
    """The environment of cara's running server (started through the API if need be)."""
    if not hub_api(machine, "GET", f"/users/{STUDENT}").get("server"):
        hub_api(machine, "POST", f"/users/{STUDENT}/server")
    deadline = time.monotonic() + 300
    while not hub_api(machine, "GET", f"/users/{STUDENT}").get("server"):
        assert time.monotonic() < deadline, "cara's server did not start within 300 s"
        time.sleep(3)
    unit = f"jupyter-{STUDENT}-singleuser"
    pid = on_guest(machine, f"systemctl show -p MainPID --value {unit}")
    environ = on_guest(machine, f"tr '\\0' '\\n' < /proc/{pid}/environ")
    return dict(line.split("=", 1) for line in environ.splitlines() if "=" in line)


def test_plugin_schema_bad_settings_stop_validate_with_one_line(plugin_cli, tmp_path):
    config = tmp_path / "hub.yaml"
    config.write_text("users: {instructors: [alice]}\nplugins: {example: {greting: Hi}}\n")
    result = hubctl("config", "validate", "--config", str(config), check=False, cli=plugin_cli)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"Error: {config}: plugins.example.greting: unknown key: did you mean 'greeting'?"
    ]


def test_user_packages_reach_the_students_venv_and_the_vm(machine):
    python = "/opt/hubctl/user/bin/python3"
    version = on_guest(
        machine,
        f"runuser -u {STUDENT} -- {python} -c 'import tabulate; print(tabulate.__version__)'",
    )
    assert version == "0.9.0"
    assert on_guest(machine, "dpkg-query -W -f '${db:Status-Abbrev}' tree").strip() == "ii"


def test_ansible_roles_ran_on_the_vm_with_the_plugins_vars(machine):
    assert on_guest(machine, "cat /etc/hubctl-example/greeting") == GREETING
    assert on_guest(machine, "cat /etc/hubctl-example/courses").split() == ["cs101", "math2"]


def test_hub_config_reaches_the_students_server(server_environment):
    assert server_environment["EXAMPLE_GREETING"] == GREETING


def test_pre_spawn_gives_this_start_the_users_groups(server_environment):
    assert server_environment["EXAMPLE_GROUPS"] == "nbgrader-math2"


def test_new_user_runs_on_the_vm_when_hubctl_makes_an_account(machine, cli):
    cli("users", "add", NEW_USER, "--course", "math2")
    welcome = on_guest(
        machine, f"stat -c '%U %a' /home/{NEW_USER}/WELCOME.txt; cat /home/{NEW_USER}/WELCOME.txt"
    )
    assert welcome.splitlines() == [f"{NEW_USER} 644", f"{GREETING}, {NEW_USER}!"]


def test_cli_commands_add_a_command_that_runs_the_plugins_code_on_the_vm(cli):
    result = cli("example", "greeting")
    assert result.stdout.strip() == f"{GREETING} (from /etc/hubctl-example/greeting)"


def test_plugins_list_shows_the_third_party_plugin_and_its_hooks(plugin_cli):
    rows = json.loads(hubctl("plugins", "list", "--json", cli=plugin_cli).stdout)
    example = next(row for row in rows if row["name"] == "example")
    assert example["source"] == "hubctl-example-plugin 1.0.0"
    assert example["hooks"] == sorted(
        [
            "hubctl_ansible_roles", "hubctl_cli_commands", "hubctl_hub_config",
            "hubctl_new_user", "hubctl_plugin_schema", "hubctl_pre_spawn",
            "hubctl_user_packages",
        ]
    )  # fmt: skip
