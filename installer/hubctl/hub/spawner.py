"""SystemdSpawner that first makes (or refuses) the student's Linux user and gives each
server the Jupyter configuration of its owner's role."""

from systemdspawner import SystemdSpawner
from tornado import web
from traitlets import Set

from hubctl import layout
from hubctl.hub.settings import without_sandbox
from hubctl.hub.unix_users import AccountRefused, ensure_unix_user
from hubctl.nbgrader.profiles import profile_for


class HubctlSpawner(SystemdSpawner):
    sudo_users = Set(
        help="Instructors hub.yaml makes root: their servers keep sudo working.", config=True
    )

    async def start(self):
        try:
            await ensure_unix_user(self.user.name)
        except AccountRefused as refused:
            self.log.warning("Refusing to spawn %s: %s", self.user.name, refused)
            raise web.HTTPError(403, f"{refused}: ask an instructor") from None
        sudo = self.user.name in self.sudo_users
        self.disable_user_sudo = not sudo
        if sudo:
            # PrivateDevices and the sandbox's directives imply NoNewPrivileges for a user's
            # unit, and sudo needs a writable system: a root instructor's server has neither.
            self.isolate_devices = False
            self.unit_extra_properties = without_sandbox(self.unit_extra_properties)
        return await super().start()

    def get_env(self):
        env = super().get_env()
        profile = profile_for(self.user.admin, [group.name for group in self.user.groups])
        env["JUPYTER_CONFIG_PATH"] = f"{layout.JUPYTER_PROFILES_DIR}/{profile}"
        return env
