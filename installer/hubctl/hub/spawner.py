"""SystemdSpawner that first makes (or refuses) the student's Linux user."""

from systemdspawner import SystemdSpawner
from tornado import web

from hubctl.hub.unix_users import AccountRefused, ensure_unix_user


class HubctlSpawner(SystemdSpawner):
    async def start(self):
        try:
            await ensure_unix_user(self.user.name)
        except AccountRefused as refused:
            self.log.warning("Refusing to spawn %s: %s", self.user.name, refused)
            raise web.HTTPError(403, f"{refused}: ask an instructor") from None
        return await super().start()
