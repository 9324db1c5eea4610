"""SystemdSpawner that first makes (or refuses) the student's Linux user and gives each
server the Jupyter configuration of its owner's role."""

from systemdspawner import SystemdSpawner
from tornado import web
from traitlets import Set

from hubctl import layout
from hubctl.hub import plugin_hooks
from hubctl.hub.settings import without_sandbox
from hubctl.hub.unix_users import AccountRefused, ensure_unix_user
from hubctl.nbgrader.profiles import profile_for


class HubctlSpawner(SystemdSpawner):
    sudo_users = Set(
        help="Instructors hub.yaml makes root: their servers keep sudo working.", config=True
    )
    configured_properties = None  # unit_extra_properties from the config, before any start
    plugin_options = {"args": [], "environment": {}, "properties": {}}  # of the latest start

    async def start(self):
        try:
            await ensure_unix_user(self.user.name)
        except AccountRefused as refused:
            self.log.warning("Refusing to spawn %s: %s", self.user.name, refused)
            raise web.HTTPError(403, f"{refused}: ask an instructor") from None
        sudo = self.user.name in self.sudo_users
        self.disable_user_sudo = not sudo
        if self.configured_properties is None:
            self.configured_properties = dict(self.unit_extra_properties)
        properties = self.configured_properties
        if sudo:
            # PrivateDevices and the sandbox's directives imply NoNewPrivileges for a user's
            # unit, and sudo needs a writable system: a root instructor's server has neither.
            self.isolate_devices = False
            properties = without_sandbox(properties)
        self.plugin_options = plugin_hooks.pre_spawn(
            self.user.name, [group.name for group in self.user.groups]
        )
        self.unit_extra_properties = plugin_hooks.with_properties(
            properties, self.plugin_options["properties"]
        )
        return await super().start()

    def get_args(self):
        return super().get_args() + self.plugin_options["args"]

    def get_env(self):
        env = super().get_env()
        profile = profile_for(self.user.admin, [group.name for group in self.user.groups])
        env["JUPYTER_CONFIG_PATH"] = f"{layout.JUPYTER_PROFILES_DIR}/{profile}"
        env.update(self.plugin_options["environment"])
        return env
