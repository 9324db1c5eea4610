"""The plugin manager, hub.yaml `plugins:`, `hubctl plugins list` and the packages built-in.

Test plugins are real distributions: a dist-info folder with entry_points.txt on sys.path,
which importlib.metadata finds as it finds a pip-installed one."""

import inspect
import json
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from traitlets.config import Config

import hubctl_plugins
from hubctl import __version__, hookspecs
from hubctl.ansible.hub_code import write_plugin_code_archive
from hubctl.ansible.runner import user_lock
from hubctl.cli import hubctl
from hubctl.config import parse_config
from hubctl.config.loader import ConfigError, load_config
from hubctl.hub.plugin_hooks import with_properties
from hubctl.hub.settings import apply_hub_yaml, merge_hub_config
from hubctl.plugins import (
    EnabledPlugins,
    PluginError,
    PluginSet,
    describe_installed,
    installed,
)

REPO = Path(__file__).resolve().parents[2]
MINIMAL = "users: {instructors: [alice]}\n"
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("hubctl_"))


@pytest.fixture
def add_plugin(tmp_path, monkeypatch):
    """add_plugin(dist, {entry name: module}, {module: source}): a distribution on sys.path."""

    def add(dist: str, points: dict[str, str], modules: dict[str, str], version: str = "0.1"):
        site = tmp_path / f"site-{dist}"
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"  # as pip names it
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = [f"{name} = {module}" for name, module in points.items()]
        (info / "entry_points.txt").write_text("[hubctl]\n" + "\n".join(lines) + "\n")
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
            monkeypatch.delitem(sys.modules, module, raising=False)  # another test's copy
        monkeypatch.syspath_prepend(str(site))
        return site

    return add


def config_with(plugins: str) -> object:
    return parse_config(MINIMAL + plugins)


ROLE_PLUGIN = """
from pathlib import Path
from pydantic import BaseModel, ConfigDict
from hubctl.hookspecs import hookimpl

ROLE = Path(__file__).parent / "datadir"

class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = 1

@hookimpl
def hubctl_plugin_schema():
    return Settings

@hookimpl
def hubctl_ansible_roles(settings, config):
    return [{"path": str(ROLE), "vars": {"datadir_size": settings.size,
             "datadir_courses": [c.id for c in config.courses]}}]

@hookimpl
def hubctl_hub_config(settings):
    return {"Spawner": {"environment": {"DATA": "/srv/data"}, "args": ["--x"]}}

@hookimpl
def hubctl_user_packages():
    return {"pip": ["nbgitpuller==1.2.2"], "apt": ["graphviz"]}
"""


def add_role_plugin(add_plugin, source: str = ROLE_PLUGIN):
    site = add_plugin("hubctl-datadir", {"datadir": "datadir_plugin"}, {"datadir_plugin": source})
    (site / "datadir" / "tasks").mkdir(parents=True)
    (site / "datadir" / "tasks" / "main.yml").write_text("---\n[]\n")
    return site


def test_the_built_in_packages_plugin_is_found_through_its_entry_point():
    point = installed()["packages"]
    assert point.value == "hubctl_plugins.packages"
    assert point.dist.name == "hubctl"


def test_plugins_list_shows_name_version_source_and_hooks(add_plugin):
    add_role_plugin(add_plugin)
    result = CliRunner().invoke(hubctl, ["plugins", "list"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "NAME         VERSION  SOURCE              HOOKS",
        "datadir      0.1      hubctl-datadir 0.1  hubctl_ansible_roles, hubctl_hub_config,"
        " hubctl_plugin_schema, hubctl_user_packages",
        f"datasets     {__version__}    built-in            hubctl_ansible_roles, hubctl_plugin_schema,"
        " hubctl_pre_spawn",
        f"exam         {__version__}    built-in            hubctl_ansible_roles, hubctl_cli_commands,"
        " hubctl_plugin_schema, hubctl_pre_spawn, hubctl_user_packages",
        f"git_content  {__version__}    built-in            hubctl_cli_commands, hubctl_plugin_schema,"
        " hubctl_user_packages",
        f"packages     {__version__}    built-in            hubctl_plugin_schema, hubctl_user_packages",
    ]


def test_plugins_list_json():
    result = CliRunner().invoke(hubctl, ["plugins", "list", "--json"])
    assert result.exit_code == 0
    assert {row["name"]: row["hooks"] for row in json.loads(result.output)} == {
        "datasets": ["hubctl_ansible_roles", "hubctl_plugin_schema", "hubctl_pre_spawn"],
        "exam": [
            "hubctl_ansible_roles", "hubctl_cli_commands", "hubctl_plugin_schema",
            "hubctl_pre_spawn", "hubctl_user_packages",
        ],
        "git_content": ["hubctl_cli_commands", "hubctl_plugin_schema", "hubctl_user_packages"],
        "packages": ["hubctl_plugin_schema", "hubctl_user_packages"],
    }  # fmt: skip
    assert {(row["version"], row["source"]) for row in json.loads(result.output)} == {
        (__version__, "built-in")
    }


def test_an_unknown_plugin_gets_a_did_you_mean(tmp_path):
    (tmp_path / "hub.yaml").write_text(MINIMAL + "plugins: {pakages: {}}\n")
    with pytest.raises(PluginError) as error:
        load_config(tmp_path / "hub.yaml")
    assert str(error.value) == (
        f"{tmp_path}/hub.yaml: plugins.pakages: no plugin 'pakages' is installed:"
        " did you mean 'packages'?"
    )


def test_an_unknown_plugin_without_a_close_name_lists_the_installed_ones():
    with pytest.raises(PluginError) as error:
        EnabledPlugins(config_with("plugins: {quiz: {}}"))
    assert str(error.value) == (
        "hub.yaml: plugins.quiz: no plugin 'quiz' is installed (installed: datasets, exam,"
        " git_content, packages):"
        " install it with pip where hubctl runs, or remove it"
    )


def test_config_validate_stops_on_a_bad_plugin_setting(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hub.yaml").write_text(MINIMAL + "plugins: {packages: {pip: [pandas]}}\n")
    result = CliRunner().invoke(hubctl, ["config", "validate"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: hub.yaml: plugins.packages.pip.0: 'pandas' is not a pinned requirement:"
        " write NAME==VERSION, e.g. pandas==2.2.3\n"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            "{pip: ['numpy>=2', 'six==1.*', 'x==1; python_version<\"3\"']}",
            "hub.yaml: plugins.packages.pip.0: 'numpy>=2' is not a pinned requirement:"
            " write NAME==VERSION, e.g. pandas==2.2.3\n"
            "hub.yaml: plugins.packages.pip.1: 'six==1.*' is not a pinned requirement:"
            " write NAME==VERSION, e.g. pandas==2.2.3\n"
            "hub.yaml: plugins.packages.pip.2: 'x==1; python_version<\"3\"' is not a pinned"
            " requirement: write NAME==VERSION, e.g. pandas==2.2.3",
        ),
        (
            "{apt: ['Graphviz', 'graphviz=2.42']}",
            "hub.yaml: plugins.packages.apt.0: 'Graphviz' is not a Debian package name:"
            " use the name alone, e.g. graphviz\n"
            "hub.yaml: plugins.packages.apt.1: 'graphviz=2.42' is not a Debian package name:"
            " use the name alone, e.g. graphviz",
        ),
        ("{pipp: [a==1]}", "hub.yaml: plugins.packages.pipp: unknown key: did you mean 'pip'?"),
        (
            "{pip: a==1}",
            "hub.yaml: plugins.packages.pip: input should be a valid list (got 'a==1')",
        ),
    ],
)
def test_packages_settings_errors_name_the_key_and_the_fix(settings, message):
    with pytest.raises(PluginError) as error:
        EnabledPlugins(config_with(f"plugins:\n  packages: {settings}\n"))
    assert str(error.value) == message


def test_plugins_must_be_a_mapping_of_mappings():
    with pytest.raises(ConfigError, match=r"plugins.packages: input should be a valid dictionary"):
        config_with("plugins: {packages: [a==1]}")


def test_packages_with_no_settings_adds_nothing():
    enabled = EnabledPlugins(config_with("plugins: {packages: }"))
    assert enabled.install_vars(user_lock()) == {
        "hubctl_plugin_packages": {"pip": [], "apt": []},
        "hubctl_plugin_roles": [],
        "hubctl_plugin_hub_config": {},
        "hubctl_plugin_entries": [
            {
                "name": "packages",
                "module": "hubctl_plugins.packages",
                "settings": {"pip": [], "apt": []},
            }
        ],
    }


def test_packages_reach_the_install_sorted_and_once():
    enabled = EnabledPlugins(
        config_with("plugins: {packages: {pip: [six==1.17.0, Humanize==4.9.0], apt: [jq, jq]}}")
    )
    packages = enabled.install_vars(user_lock())["hubctl_plugin_packages"]
    assert packages == {"pip": ["Humanize==4.9.0", "six==1.17.0"], "apt": ["jq"]}


def test_a_pin_against_the_students_venv_is_refused_before_anything_runs():
    enabled = EnabledPlugins(config_with("plugins: {packages: {pip: [Jinja2==3.0.0]}}"))
    with pytest.raises(PluginError) as error:
        enabled.install_vars(user_lock())
    assert str(error.value) == (
        "plugin 'packages': hubctl_user_packages: 'Jinja2==3.0.0' clashes with the students'"
        " venv, which pins Jinja2==3.1.6: use that version"
    )


def test_two_plugins_pinning_one_package_differently_is_an_error(add_plugin):
    add_role_plugin(add_plugin)
    enabled = EnabledPlugins(
        config_with("plugins: {datadir: {}, packages: {pip: [nbgitpuller==1.2.1]}}")
    )
    with pytest.raises(PluginError) as error:
        enabled.install_vars(user_lock())
    assert str(error.value) == (
        "plugin 'packages': hubctl_user_packages: 'nbgitpuller==1.2.1' clashes with plugin"
        " 'datadir', which wants nbgitpuller==1.2.2: make them agree"
    )


def test_a_plugins_roles_vars_and_hub_config_become_extra_vars(add_plugin):
    site = add_role_plugin(add_plugin)
    config = config_with(
        "courses: [{id: cs101, instructors: [alice]}]\nplugins: {datadir: {size: 3}}\n"
    )
    assert EnabledPlugins(config).install_vars(user_lock()) == {
        "hubctl_plugin_packages": {"pip": ["nbgitpuller==1.2.2"], "apt": ["graphviz"]},
        "hubctl_plugin_roles": [
            {"plugin": "datadir", "role": "datadir", "path": str(site / "datadir")}
        ],
        "hubctl_plugin_hub_config": {
            "Spawner": {"environment": {"DATA": "/srv/data"}, "args": ["--x"]}
        },
        "hubctl_plugin_entries": [
            {"name": "datadir", "module": "datadir_plugin", "settings": {"size": 3}}
        ],
        "datadir_size": 3,
        "datadir_courses": ["cs101"],
    }


def test_a_role_var_without_the_roles_prefix_is_refused(add_plugin):
    add_role_plugin(add_plugin, ROLE_PLUGIN.replace('"datadir_size"', '"size"'))
    enabled = EnabledPlugins(config_with("plugins: {datadir: {}}"))
    with pytest.raises(PluginError, match=r"var size must start with datadir_$"):
        enabled.install_vars(user_lock())


def test_a_plugin_that_fails_to_import_is_one_clear_error(add_plugin):
    add_plugin("hubctl-broken", {"broken": "broken_plugin"}, {"broken_plugin": "import nowhere\n"})
    with pytest.raises(PluginError) as error:
        EnabledPlugins(config_with("plugins: {broken: {}}"))
    assert str(error.value) == (
        "plugin 'broken' failed to load (broken_plugin): ModuleNotFoundError: No module named"
        " 'nowhere': reinstall hubctl-broken 0.1 or remove 'broken' from hub.yaml plugins:"
    )


def test_a_hook_hubctl_does_not_have_is_refused(add_plugin):
    source = "from hubctl.hookspecs import hookimpl\n@hookimpl\ndef hubctl_new_course():\n  pass\n"
    add_plugin("hubctl-odd", {"odd": "odd_plugin"}, {"odd_plugin": source})
    with pytest.raises(PluginError) as error:
        EnabledPlugins(config_with("plugins: {odd: {}}"))
    assert str(error.value).startswith("plugin 'odd' does not fit hubctl's hooks: ")
    assert "hubctl_new_course" in str(error.value)
    assert str(error.value).endswith(
        ": reinstall hubctl-odd 0.1 or remove 'odd' from hub.yaml plugins:"
    )


def test_a_hook_with_an_argument_the_spec_lacks_is_refused(add_plugin):
    source = (
        "from hubctl.hookspecs import hookimpl\n@hookimpl\ndef hubctl_hub_config(course):\n  pass\n"
    )
    add_plugin("hubctl-odd", {"odd": "odd_plugin"}, {"odd_plugin": source})
    with pytest.raises(PluginError, match=r"^plugin 'odd' does not fit hubctl's hooks: .*course"):
        EnabledPlugins(config_with("plugins: {odd: {}}"))


def test_settings_for_a_plugin_without_a_schema_are_refused(add_plugin):
    source = (
        "from hubctl.hookspecs import hookimpl\n@hookimpl\ndef hubctl_hub_config():\n  return {}\n"
    )
    add_plugin("hubctl-plain", {"plain": "plain_plugin"}, {"plain_plugin": source})
    assert EnabledPlugins(config_with("plugins: {plain: }")).settings == {"plain": None}
    with pytest.raises(PluginError) as error:
        EnabledPlugins(config_with("plugins: {plain: {a: 1}}"))
    assert str(error.value) == (
        "hub.yaml: plugins.plain: this plugin takes no settings: write `plain: {}`"
    )


def test_one_name_from_two_distributions_is_an_error(add_plugin):
    add_plugin("hubctl-one", {"same": "one_plugin"}, {"one_plugin": ""})
    add_plugin("hubctl-two", {"same": "two_plugin"}, {"two_plugin": ""})
    with pytest.raises(PluginError, match=r"^plugin 'same' is installed twice \(hubctl-"):
        installed()


def test_a_plugin_not_enabled_is_not_even_imported(add_plugin):
    add_plugin("hubctl-broken", {"broken": "broken_plugin"}, {"broken_plugin": "import nowhere\n"})
    enabled = EnabledPlugins(config_with("plugins: {packages: {}}"))
    assert list(enabled.settings) == ["packages"]
    with pytest.raises(PluginError, match="plugin 'broken' failed to load"):
        describe_installed()  # `hubctl plugins list` loads every installed plugin


def test_hub_config_fragments_merge_into_the_cores_config(tmp_path):
    (tmp_path / "hub.yaml").write_text(MINIMAL + "network: {http_proxy: 'http://10.0.0.1:3128'}\n")
    (tmp_path / "token").write_text("t\n")
    (tmp_path / "plugins.json").write_text(
        json.dumps({"Spawner": {"environment": {"DATA": "/srv/data"}, "default_url": "/tree"}})
    )
    c = Config()
    apply_hub_yaml(
        c, str(tmp_path / "hub.yaml"), str(tmp_path / "token"), str(tmp_path / "plugins.json")
    )
    assert c.Spawner.environment == {
        "http_proxy": "http://10.0.0.1:3128",
        "https_proxy": "http://10.0.0.1:3128",
        "no_proxy": "localhost,127.0.0.1",
        "DATA": "/srv/data",
    }
    assert c.Spawner.default_url == "/tree"  # a plain value replaces the core's "/lab"


def test_merge_extends_lists_and_creates_sections():
    base = {"JupyterHub": {"services": [{"name": "a"}]}}
    merge_hub_config(base, {"JupyterHub": {"services": [{"name": "b"}]}, "Lab": {"x": 1}})
    assert base == {"JupyterHub": {"services": [{"name": "a"}, {"name": "b"}]}, "Lab": {"x": 1}}


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_says_where_and_when_it_runs_and_what_it_returns(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert "Where:" in doc, hook
    assert "When:" in doc or "each time" in doc, hook
    assert "Returns" in doc, hook


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_described_in_the_plugin_guide(hook):
    guide = (REPO / "plugins" / "README.md").read_text()
    assert f"### `{hook}(" in guide, f"plugins/README.md has no section for {hook}"


def test_the_guide_describes_no_hook_that_does_not_exist():
    guide = (REPO / "plugins" / "README.md").read_text()
    described = {
        line.split("`")[1].split("(")[0]
        for line in guide.splitlines()
        if line.startswith("### `hubctl_")
    }
    assert described == set(HOOKS)


VM_PLUGIN = """
from pydantic import BaseModel, ConfigDict
from hubctl.hookspecs import hookimpl

class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folder: str = "/srv/data"

@hookimpl
def hubctl_plugin_schema():
    return Settings

@hookimpl
def hubctl_pre_spawn(settings, user, groups):
    if "nbgrader-math2" not in groups:
        return {}
    return {"args": ["--x"], "environment": {"WHO": user},
            "properties": {"ReadWritePaths": settings.folder, "MemoryMax": "1G"}}
"""


def test_the_vm_loads_the_enabled_plugins_with_the_settings_the_install_wrote(add_plugin, tmp_path):
    add_plugin("hubctl-vmdata", {"vmdata": "vmdata_plugin"}, {"vmdata_plugin": VM_PLUGIN})
    enabled = EnabledPlugins(config_with("plugins: {vmdata: {folder: /srv/x}, packages: }"))
    entries = enabled.install_vars(user_lock())["hubctl_plugin_entries"]
    assert entries == [
        {"name": "vmdata", "module": "vmdata_plugin", "settings": {"folder": "/srv/x"}},
        {
            "name": "packages",
            "module": "hubctl_plugins.packages",
            "settings": {"pip": [], "apt": []},
        },
    ]
    plugins_file = tmp_path / "plugins.json"
    plugins_file.write_text(json.dumps(entries))
    on_vm = PluginSet.from_file(plugins_file)
    assert on_vm.settings == enabled.settings
    answers = on_vm.call("hubctl_pre_spawn", user="cara", groups=["nbgrader-math2"], home="/h")
    assert answers == [
        (
            "vmdata",
            {
                "args": ["--x"],
                "environment": {"WHO": "cara"},
                "properties": {"ReadWritePaths": "/srv/x", "MemoryMax": "1G"},
            },
        )
    ]


def test_without_the_plugins_file_the_vm_has_no_plugins(tmp_path):
    assert PluginSet.from_file(tmp_path / "absent.json").call("hubctl_new_user", name="a") == []


def test_a_plugins_list_properties_add_to_the_cores_and_others_replace_them():
    core = {"ReadWritePaths": "/srv/nbgrader/exchange", "MemoryMax": "512M"}
    added = {"ReadWritePaths": "/srv/data", "MemoryMax": "1G", "CPUQuota": "50%"}
    assert with_properties(core, added) == {
        "ReadWritePaths": "/srv/nbgrader/exchange /srv/data",
        "MemoryMax": "1G",
        "CPUQuota": "50%",
    }


def test_the_vm_gets_each_enabled_plugins_top_level_package_once(add_plugin, tmp_path):
    site = add_plugin("hubctl-vmdata", {"vmdata": "vmdata_plugin"}, {"vmdata_plugin": VM_PLUGIN})
    enabled = EnabledPlugins(config_with("plugins: {vmdata: {}, packages: }"))
    packages = enabled.code_packages()
    assert packages == {
        "vmdata_plugin": site / "vmdata_plugin.py",
        "hubctl_plugins": Path(hubctl_plugins.__file__).parent,
    }
    archive = write_plugin_code_archive(tmp_path / "plugins.tar.gz", packages)
    with tarfile.open(archive) as opened:
        names = opened.getnames()
    assert "vmdata_plugin.py" in names
    assert "hubctl_plugins/packages/__init__.py" in names
    again = write_plugin_code_archive(tmp_path / "again.tar.gz", packages)
    assert again.read_bytes() == archive.read_bytes()  # the same plugins restart nothing
