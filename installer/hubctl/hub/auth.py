"""NativeAuthenticator that refuses names belonging to this machine's own accounts."""

from nativeauthenticator import NativeAuthenticator

from hubctl.hub.unix_users import is_refused


class HubctlAuthenticator(NativeAuthenticator):
    def validate_username(self, username):
        return super().validate_username(username) and not is_refused(username)
