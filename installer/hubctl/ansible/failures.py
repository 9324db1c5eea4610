"""Turn an Ansible failure into the likely cause and its fix."""

import re

LIKELY_CAUSES = [
    (
        r"Permission denied \(publickey|Authentication failed",
        "SSH refused the login: check the user name and --ssh-key (does `ssh USER@HOST` work?)",
    ),
    (
        r"Host key verification failed",
        "the VM's SSH host key is unknown or changed: connect once with `ssh USER@HOST` and check it",
    ),
    (
        r"Connection timed out|No route to host|Connection refused|Could not resolve hostname",
        "the VM cannot be reached over SSH: check the address, the port and any firewall",
    ),
    (
        r"Missing sudo password|sudo: a password is required",
        "the SSH user needs a password for sudo: add --ask-become-pass",
    ),
    (
        r"CERTIFICATE_VERIFY_FAILED|certificate verify failed|SSLError",
        "the VM does not trust a TLS certificate on its way out (a site proxy?): set"
        " network.ca_bundle in hub.yaml",
    ),
    (
        r"Temporary failure resolving|Could not connect to|Failed to establish a new connection"
        r"|ProxyError|Network is unreachable|Cannot initiate the connection",
        "the VM cannot reach the package registries: set network.http_proxy in hub.yaml if it"
        " needs a proxy, and check its DNS",
    ),
    (
        r"Could not get lock|dpkg was interrupted|Unable to acquire the dpkg frontend lock",
        "another apt run holds the package lock (unattended upgrades?): wait and run again",
    ),
    (r"No space left on device", "the VM's disk is full: free space and run again"),
]


ERROR_LINE = re.compile(r"\b(error|fatal|failed|unable|cannot|could not)\b|^E: ", re.IGNORECASE)


def summarize(message: str, limit: int = 300) -> str:
    """The line of a long module message that says what went wrong (pip and apt put it last)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "(no message)"
    errors = [line for line in lines if ERROR_LINE.search(line)]
    line = errors[-1] if errors else lines[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def likely_cause(message: str) -> str | None:
    for pattern, cause in LIKELY_CAUSES:
        if re.search(pattern, message):
            return cause
    return None
