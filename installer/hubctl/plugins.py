"""The plugin manager: finds plugins in the `hubctl` entry-point group, loads the ones
hub.yaml enables, validates their settings and calls their hooks."""

import difflib
import json
import re
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType

import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pydantic import BaseModel, ValidationError

from hubctl import hookspecs
from hubctl.config.schema import HubConfig
from hubctl.errors import HubctlError
from hubctl.hub.settings import merge_hub_config

GROUP = "hubctl"
# Debian policy: lowercase letters, digits, '+', '-', '.'; two characters at least.
APT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
BUILT_IN = "hubctl"  # the distribution whose plugins are the built-ins


class PluginError(HubctlError):
    """A plugin is unknown, fails to load, or its settings are invalid."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    source: str  # "built-in" or the distribution that provides it
    hooks: list[str]


def installed() -> dict[str, EntryPoint]:
    """Every plugin installed where hubctl runs, by name."""
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=GROUP):
        if point.name in found and found[point.name].value != point.value:
            raise PluginError(
                f"plugin '{point.name}' is installed twice ({_distribution(found[point.name])}"
                f" and {_distribution(point)}): uninstall one of them"
            )
        found[point.name] = point
    return dict(sorted(found.items()))


def new_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(GROUP)
    manager.add_hookspecs(hookspecs)
    return manager


def load(manager: pluggy.PluginManager, point: EntryPoint) -> ModuleType:
    """Import one plugin and register it under its name; any failure is one PluginError."""
    fix = f"reinstall {_distribution(point)} or remove '{point.name}' from hub.yaml plugins:"
    try:
        plugin = point.load()
    except Exception as error:  # a plugin's import may fail in any way
        raise PluginError(
            f"plugin '{point.name}' failed to load ({point.value}):"
            f" {type(error).__name__}: {error}: {fix}"
        ) from None
    try:
        manager.register(plugin, name=point.name)
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        manager.unregister(name=point.name)
        raise PluginError(
            f"plugin '{point.name}' does not fit hubctl's hooks: {_one_line(error)}: {fix}"
        ) from None
    return plugin


def describe_installed() -> list[PluginInfo]:
    """Name, version, source and implemented hooks of every installed plugin."""
    manager = new_manager()
    infos = []
    for name, point in installed().items():
        plugin = load(manager, point)
        dist = point.dist
        infos.append(
            PluginInfo(
                name=name,
                version=dist.version if dist else "?",
                source="built-in" if dist and dist.name == BUILT_IN else _distribution(point),
                hooks=sorted(caller.name for caller in manager.get_hookcallers(plugin) or []),
            )
        )
    return infos


def cli_commands() -> tuple[list[tuple[str, object]], list[str]]:
    """The commands every installed plugin adds to `hubctl`: ([(plugin, command)], warnings).
    A plugin that fails to load costs its own commands, never the CLI."""
    manager = new_manager()
    commands, warnings = [], []
    for name, point in installed().items():
        try:
            plugin = load(manager, point)
        except PluginError as error:
            warnings.append(f"{error} (its commands are missing)")
            continue
        caller = manager.subset_hook_caller(
            "hubctl_cli_commands",
            remove_plugins=[p for p in manager.get_plugins() if p is not plugin],
        )
        for answer in caller():
            commands.extend((name, command) for command in answer)
    return commands, warnings


class PluginSet:
    """Loaded plugins with their validated settings, in hub.yaml's order."""

    def __init__(self) -> None:
        self.manager = new_manager()
        self.settings: dict[str, BaseModel | None] = {}
        self.modules: dict[str, str] = {}  # name -> the entry point's value

    def add(
        self,
        name: str,
        point: EntryPoint,
        raw: object,
        source: str,
        config: HubConfig | None = None,
    ) -> None:
        plugin = load(self.manager, point)
        self.settings[name] = _validate(self.manager, plugin, name, raw or {}, source, config)
        self.modules[name] = point.value

    def call(self, hook: str, **kwargs) -> list[tuple[str, object]]:
        """Call `hook` of each plugin with its own settings: [(name, result)]."""
        results = []
        for name, settings in self.settings.items():
            others = [p for n, p in self.manager.list_name_plugin() if n != name]
            caller = self.manager.subset_hook_caller(hook, remove_plugins=others)
            for result in caller(settings=settings, **kwargs):
                results.append((name, result))
        return results

    @classmethod
    def from_file(cls, path: Path) -> "PluginSet":
        """The plugins an install left on the VM (`vm_entries`); none without the file."""
        plugins = cls()
        entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        for entry in entries:
            point = EntryPoint(name=entry["name"], value=entry["module"], group=GROUP)
            plugins.add(entry["name"], point, entry["settings"], str(path))
        return plugins


class EnabledPlugins(PluginSet):
    """The plugins hub.yaml enables, loaded, with their validated settings."""

    def __init__(self, config: HubConfig, source: str = "hub.yaml") -> None:
        super().__init__()
        self.config = config
        available = installed() if config.plugins else {}
        for name, raw in config.plugins.items():
            point = available.get(name)
            if point is None:
                raise PluginError(f"{source}: plugins.{name}: {_unknown(name, available)}")
            self.add(name, point, raw, source, config)

    def install_vars(self, user_lock: list[str]) -> dict:
        """What the enabled plugins contribute to the install, as Ansible extra vars."""
        roles, role_vars = self._roles()
        return {
            "hubctl_plugin_packages": self._packages(user_lock),
            "hubctl_plugin_roles": roles,
            "hubctl_plugin_hub_config": self._hub_config(),
            "hubctl_plugin_entries": self.vm_entries(),
            **role_vars,
        }

    def vm_entries(self) -> list[dict]:
        """What the VM needs to load these plugins again: name, module and settings."""
        return [
            {
                "name": name,
                "module": self.modules[name],
                "settings": settings.model_dump(mode="json") if settings else {},
            }
            for name, settings in self.settings.items()
        ]

    def code_packages(self) -> dict[str, Path]:
        """Each enabled plugin's top-level package: its import name and its folder (or single
        file). The name, not the folder's: an editable install maps packages onto folders
        with other names."""
        found: dict[str, Path] = {}
        for module in self.modules.values():
            top = module.split(":")[0].split(".")[0]
            spec = find_spec(top)
            if spec is None or not spec.origin and not spec.submodule_search_locations:
                raise PluginError(f"plugin module {module} has no code to copy to the VM")
            locations = spec.submodule_search_locations
            found[top] = Path(locations[0]) if locations else Path(spec.origin)
        return found

    def _packages(self, user_lock: list[str]) -> dict:
        pinned = {canonicalize_name(Requirement(line).name): line for line in user_lock}
        pip: dict[str, tuple[str, str]] = {}
        apt: list[str] = []
        for name, answer in self.call("hubctl_user_packages", config=self.config):
            where = f"plugin '{name}': hubctl_user_packages"
            for text in answer.get("pip", []):
                if not is_pinned(text):
                    raise PluginError(f"{where}: '{text}' is not pinned: return NAME==VERSION")
                key = canonicalize_name(Requirement(text).name)
                if key in pinned and _version(pinned[key]) != _version(text):
                    raise PluginError(
                        f"{where}: '{text}' clashes with the students' venv, which pins"
                        f" {pinned[key]}: use that version"
                    )
                if key in pip and _version(pip[key][1]) != _version(text):
                    raise PluginError(
                        f"{where}: '{text}' clashes with plugin '{pip[key][0]}', which wants"
                        f" {pip[key][1]}: make them agree"
                    )
                pip.setdefault(key, (name, text))
            for package in answer.get("apt", []):
                if not APT_NAME_RE.match(package):
                    raise PluginError(f"{where}: '{package}' is not a Debian package name")
                apt.append(package)
        return {"pip": sorted(text for _, text in pip.values()), "apt": sorted(set(apt))}

    def _roles(self) -> tuple[list[dict], dict]:
        roles, role_vars = [], {}
        for name, answer in self.call("hubctl_ansible_roles", config=self.config):
            for role in answer:
                path = Path(role["path"])
                where = f"plugin '{name}': hubctl_ansible_roles: {path}"
                if not (path.is_absolute() and (path / "tasks" / "main.yml").is_file()):
                    raise PluginError(f"{where}: not a role folder (absolute, with tasks/main.yml)")
                if any(r["role"] == path.name for r in roles):
                    raise PluginError(f"{where}: another plugin's role has the name {path.name}")
                wrong = [key for key in role.get("vars", {}) if not key.startswith(path.name + "_")]
                if wrong:
                    raise PluginError(f"{where}: var {wrong[0]} must start with {path.name}_")
                roles.append({"plugin": name, "role": path.name, "path": str(path)})
                role_vars.update(role.get("vars", {}))
        return roles, role_vars

    def _hub_config(self) -> dict:
        merged: dict = {}
        for name, answer in self.call("hubctl_hub_config", config=self.config):
            try:
                json.dumps(answer)
                valid = all(isinstance(traits, dict) for traits in answer.values())
            except (TypeError, ValueError, AttributeError):
                valid = False
            if not valid:
                raise PluginError(
                    f"plugin '{name}': hubctl_hub_config: return {{'Class': {{'trait': value}}}}"
                    " with JSON values"
                )
            merge_hub_config(merged, answer)
        return merged


def is_pinned(text: str) -> bool:
    """NAME==VERSION (extras allowed), no wildcard, URL or marker."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return False
    specifiers = list(requirement.specifier)
    return (
        requirement.url is None
        and requirement.marker is None
        and len(specifiers) == 1
        and specifiers[0].operator == "=="
        and "*" not in specifiers[0].version
    )


def _version(text: str) -> str:
    return next(iter(Requirement(text).specifier)).version


def _validate(
    manager: pluggy.PluginManager,
    plugin: ModuleType,
    name: str,
    raw: object,
    source: str,
    config: HubConfig | None = None,
) -> BaseModel | None:
    from hubctl.config.loader import describe_error  # the core's wording, one rule for both

    schemas = [
        impl.function()
        for impl in manager.hook.hubctl_plugin_schema.get_hookimpls()
        if impl.plugin is plugin
    ]
    model = schemas[0] if schemas else None
    if model is None:
        if raw:
            raise PluginError(
                f"{source}: plugins.{name}: this plugin takes no settings: write `{name}: {{}}`"
            )
        return None
    if not isinstance(raw, dict):
        raise PluginError(
            f"{source}: plugins.{name}: expected a mapping of its settings (got {raw!r})"
        )
    try:
        # a validator may check the settings against hub.yaml: info.context["config"] (on
        # the instructor's machine; None on the VM, where they were checked before)
        return model.model_validate(raw, context={"config": config})
    except ValidationError as error:
        lines = [
            f"{source}: {describe_error(err, model, ('plugins', name))}" for err in error.errors()
        ]
        raise PluginError("\n".join(lines)) from None


def _unknown(name: str, available: dict[str, EntryPoint]) -> str:
    guess = difflib.get_close_matches(name, list(available), n=1)
    if guess:
        return f"no plugin '{name}' is installed: did you mean '{guess[0]}'?"
    names = ", ".join(available) or "none"
    return (
        f"no plugin '{name}' is installed (installed: {names}):"
        " install it with pip where hubctl runs, or remove it"
    )


def _distribution(point: EntryPoint) -> str:
    dist = point.dist
    return f"{dist.name} {dist.version}" if dist else point.value


def _one_line(error: Exception) -> str:
    return "; ".join(line.strip() for line in str(error).strip().splitlines())
