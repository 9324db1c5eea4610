"""The enabled plugins on the VM, for the hooks that run here (hubctl_new_user,
hubctl_pre_spawn): loaded from what the install left in layout.PLUGINS_FILE."""

import functools
import pwd
from pathlib import Path

from hubctl import layout
from hubctl.plugins import PluginSet

# systemd settings that take a list: a plugin's value is added to the core's, not put in
# its place (the core's ReadWritePaths keeps the exchange writable, for one).
LIST_PROPERTIES = {
    "ReadWritePaths",
    "ReadOnlyPaths",
    "InaccessiblePaths",
    "BindPaths",
    "BindReadOnlyPaths",
    "IPAddressAllow",
    "IPAddressDeny",
}


@functools.cache
def hub_plugins() -> PluginSet:
    """The plugins, loaded once per process: an install that changes them restarts the hub."""
    return PluginSet.from_file(Path(layout.PLUGINS_FILE))


def new_user(name: str) -> None:
    """Let every plugin set up the Linux user hubctl has just made."""
    hub_plugins().call("hubctl_new_user", name=name, home=pwd.getpwnam(name).pw_dir)


def pre_spawn(user: str, groups: list[str]) -> dict:
    """The plugins' options for one start of `user`'s server, merged:
    {"args": [...], "environment": {...}, "properties": {...}}."""
    home = pwd.getpwnam(user).pw_dir
    merged: dict = {"args": [], "environment": {}, "properties": {}}
    for _, options in hub_plugins().call("hubctl_pre_spawn", user=user, groups=groups, home=home):
        options = options or {}
        merged["args"] += options.get("args", [])
        merged["environment"].update(options.get("environment", {}))
        merged["properties"] = with_properties(merged["properties"], options.get("properties", {}))
    return merged


def with_properties(base: dict[str, str], added: dict[str, str]) -> dict[str, str]:
    """`base` with `added`: list settings are joined (space-separated), others replaced."""
    result = dict(base)
    for key, value in added.items():
        if key in LIST_PROPERTIES and result.get(key):
            result[key] = f"{result[key]} {value}"
        else:
            result[key] = value
    return result
