"""Where an install goes: this machine (connection local) or a host over SSH with become."""

import re
from dataclasses import dataclass, field
from pathlib import Path

from hubctl.errors import HubctlError

TARGET_RE = re.compile(
    r"^(?:(?P<user>[a-z_][a-z0-9_.-]*)@)?(?P<host>\[[0-9a-fA-F:]+\]|[^\s@:\[\]]+)(?::(?P<port>\d{1,5}))?$"
)


@dataclass(frozen=True)
class Target:
    host: str | None = None  # None: this machine
    user: str | None = None
    port: int | None = None
    ssh_key: Path | None = None
    ssh_options: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, spec: str, ssh_key: Path | None = None) -> "Target":
        """`host`, `user@host` or `user@host:port` (IPv6 in brackets)."""
        match = TARGET_RE.match(spec.strip())
        if not match:
            raise HubctlError(f"--host {spec!r}: not a host: use HOST, USER@HOST or USER@HOST:PORT")
        port = int(match["port"]) if match["port"] else None
        if port is not None and not 0 < port < 65536:
            raise HubctlError(f"--host {spec!r}: port {port} is out of range 1-65535")
        return cls(host=match["host"].strip("[]"), user=match["user"], port=port, ssh_key=ssh_key)

    @property
    def is_local(self) -> bool:
        return self.host is None

    @property
    def label(self) -> str:
        return "this machine" if self.is_local else (self.host or "")

    def inventory(self) -> dict:
        if self.is_local:
            hub = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
        else:
            hub = {"ansible_host": self.host, "ansible_python_interpreter": "auto_silent"}
            if self.user:
                hub["ansible_user"] = self.user
            if self.port:
                hub["ansible_port"] = self.port
            if self.ssh_key:
                hub["ansible_ssh_private_key_file"] = str(self.ssh_key)
            if self.ssh_options:
                hub["ansible_ssh_common_args"] = " ".join(self.ssh_options)
        return {"all": {"hosts": {"hub": hub}}}
