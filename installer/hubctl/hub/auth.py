"""NativeAuthenticator that refuses names belonging to this machine's own accounts and ends
lockouts of any length."""

from datetime import datetime

from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo

from hubctl.hub.lockout import lockout_is_over
from hubctl.hub.unix_users import is_refused


class HubctlAuthenticator(NativeAuthenticator):
    def validate_username(self, username):
        return super().validate_username(username) and not is_refused(username)

    def get_user(self, username):
        # `hubctl users approve|reset-password` write the database from another process:
        # read the row afresh instead of trusting the copy this session may hold.
        name = self.normalize_username(username)
        return self.db.query(UserInfo).filter(UserInfo.username == name).populate_existing().first()

    def can_try_to_login_again(self, username):
        attempts = self.login_attempts.get(username)
        return not attempts or lockout_is_over(
            attempts["time"], datetime.now(), self.seconds_before_next_try
        )
