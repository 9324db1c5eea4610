"""NativeAuthenticator that refuses names belonging to this machine's own accounts."""

from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo

from hubctl.hub.unix_users import is_refused


class HubctlAuthenticator(NativeAuthenticator):
    def validate_username(self, username):
        return super().validate_username(username) and not is_refused(username)

    def get_user(self, username):
        # `hubctl users approve|reset-password` write the database from another process:
        # read the row afresh instead of trusting the copy this session may hold.
        name = self.normalize_username(username)
        return self.db.query(UserInfo).filter(UserInfo.username == name).populate_existing().first()
