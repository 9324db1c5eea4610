"""The hooks a hubctl plugin may implement. plugins/README.md is the guide to them.

Every hook is called once per enabled plugin, with that plugin's own validated
settings: `settings` is an instance of the model its `hubctl_plugin_schema` returned
(None if it returned none). "Instructor's machine" hooks run where `hubctl` runs,
before Ansible starts, and return plain data; "VM" hooks run on the hub's VM in the
hub's venv.
"""

from typing import TYPE_CHECKING, TypedDict

import pluggy
from pydantic import BaseModel

from hubctl.config.schema import HubConfig

if TYPE_CHECKING:  # the VM's hub venv, which imports this module too, has no click
    import click

hookspec = pluggy.HookspecMarker("hubctl")
hookimpl = pluggy.HookimplMarker("hubctl")


class UserPackages(TypedDict, total=False):
    """Packages for the students' environment: `pip` requirements pinned as NAME==VERSION,
    `apt` Debian package names."""

    pip: list[str]
    apt: list[str]


class AnsibleRole(TypedDict):
    """A role on the instructor's machine that the install runs on the VM. `vars` are the
    role's inputs; each key must start with the role folder's name and '_'."""

    path: str
    vars: dict


class ServerOptions(TypedDict, total=False):
    """What a plugin adds to one start of a user's server. `args` go to jupyterhub-singleuser
    (e.g. "--ServerApp.terminals_enabled=False"); `environment` is added to the server's;
    `properties` are systemd unit properties: a path-list property the core sets too
    (ReadWritePaths, BindReadOnlyPaths, ...) gets the plugin's value appended, any other
    replaces the core's."""

    args: list[str]
    environment: dict[str, str]
    properties: dict[str, str]


@hookspec
def hubctl_plugin_schema() -> type[BaseModel] | None:
    """The pydantic model of this plugin's settings (its entry under hub.yaml `plugins:`).

    Where: instructor's machine. When: each time hub.yaml is loaded (`hubctl config
    validate`, `hubctl install`, ...), before anything else runs. Returns the model class,
    or None for a plugin without settings (then its entry must be empty). Use
    `extra="forbid"` so a misspelt key is an error.
    """


@hookspec
def hubctl_user_packages(settings: BaseModel | None, config: HubConfig) -> UserPackages:
    """Packages the students' servers need.

    Where: instructor's machine. When: `hubctl install`, before Ansible starts. Returns
    {"pip": ["name==version", ...], "apt": ["name", ...]}. The install puts the pip
    packages into the students' venv (constrained by its pinned set, so they never move a
    pinned package) and the apt packages onto the VM, once; `hubctl uninstall` removes them.
    """


@hookspec
def hubctl_ansible_roles(settings: BaseModel | None, config: HubConfig) -> list[AnsibleRole]:
    """Ansible roles to run on the VM (per-course set-up too: loop over `config.courses`).

    Where: instructor's machine. When: `hubctl install`, before Ansible starts; the roles
    run after the core's courses are set up and before the hub (re)starts, in plugin order.
    Returns [{"path": "/absolute/role/folder", "vars": {"ROLE_key": value}}]. A role must
    be idempotent (a second install reports changed=0); to restart the hub, notify the
    core handler `Restart JupyterHub`.
    """


@hookspec
def hubctl_hub_config(settings: BaseModel | None, config: HubConfig) -> dict:
    """JupyterHub configuration to add to the core's.

    Where: computed on the instructor's machine at `hubctl install`; applied on the VM by
    hubctl.hub.settings after the core's mapping, each time the hub starts. Returns
    {"Class": {"trait": value}} with JSON values, e.g. {"Spawner": {"environment":
    {"DATA": "/srv/data"}}}. A dict or list trait the core also sets is merged (dicts
    updated, lists extended); any other value replaces the core's.
    """


@hookspec
def hubctl_new_user(settings: BaseModel | None, name: str, home: str) -> None:
    """Set up a Linux account hubctl has just created.

    Where: the VM, as root, in the hub's venv. When: right after hubctl creates the Linux
    user `name` (home folder `home`, 0700), before that user's first server starts.
    Returns nothing; an exception stops that server's start and is logged by the hub.
    """


@hookspec
def hubctl_pre_spawn(
    settings: BaseModel | None, user: str, groups: list[str], home: str
) -> ServerOptions:
    """Prepare one start of a user's server.

    Where: the VM, as root, in the hub's venv. When: before each start of `user`'s server,
    after their Linux user exists. `groups` are their hub groups: nbgrader-ID for a
    course's students, formgrade-ID for its instructors and graders. May prepare their home
    (`home`; chown what you create to the user). Returns options for this start only, or
    an empty dict; an exception stops the start and is logged by the hub.
    """


@hookspec
def hubctl_cli_commands() -> "list[click.Command]":
    """Commands this plugin adds to `hubctl` (e.g. `hubctl exam start`).

    Where: instructor's machine. When: each time `hubctl` starts, for every installed
    plugin, enabled or not (so there are no settings). Returns click commands or groups;
    one whose name the core or another plugin has is left out with a warning. A command
    that acts on the VM takes the core's target options
    (hubctl.commands.options.target_options) and runs its plugin's code there in the hub's
    venv (hubctl.ansible.remote.call, `module=`).
    """
