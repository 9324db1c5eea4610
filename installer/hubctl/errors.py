"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class HubctlError(Exception):
    """A failure the user can fix; the message says what happened and the fix."""

    exit_code = 1
