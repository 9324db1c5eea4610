"""The running hub's REST API, as hubctl's own service (token in /etc/hubctl/secrets)."""

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from hubctl import layout

API_URL = f"http://127.0.0.1:{layout.HUB_API_PORT}/hub/api"
STARTING_RETRIES = 30


class HubApiError(Exception):
    """The hub refused or did not answer."""


class HubApi:
    def __init__(
        self,
        token_file: str = layout.ADMIN_TOKEN_FILE,
        url: str = API_URL,
        starting_retries: int = STARTING_RETRIES,
    ):
        self.token = Path(token_file).read_text(encoding="utf-8").strip()
        self.url = url
        self.starting_retries = starting_retries

    def call(self, method: str, path: str, body: dict | None = None) -> object:
        for attempt in range(self.starting_retries + 1):
            try:
                return self._call(method, path, body)
            except ConnectionRefusedError:
                if attempt < self.starting_retries:
                    time.sleep(1)  # the hub is (re)starting: it starts each formgrader first
        raise HubApiError(
            f"the hub refused connections for {self.starting_retries} s:"
            " check `systemctl status jupyterhub`"
        )

    def _call(self, method: str, path: str, body: dict | None) -> object:
        data = None if body is None else json.dumps(body).encode()
        url = f"{self.url}{path}"  # always the hub API on 127.0.0.1 (API_URL)
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                text = response.read()
        except urllib.error.HTTPError as error:
            raise HubApiError(f"the hub answered {error.code} to {method} {path}") from None
        except OSError as error:
            reason = getattr(error, "reason", error)  # urllib wraps it in URLError
            if isinstance(reason, ConnectionRefusedError):
                raise reason from None
            raise HubApiError(
                f"the hub does not answer ({reason}): check `systemctl status jupyterhub`"
            ) from None
        return json.loads(text) if text else None

    def users(self) -> dict[str, dict]:
        return {user["name"]: user for user in self.call("GET", "/users")}

    def ensure_user(self, name: str, known: dict[str, dict]) -> None:
        if name not in known:
            self.call("POST", f"/users/{name}")
            known[name] = {"name": name, "groups": [], "admin": False, "server": None}

    def add_to_group(self, group: str, names: list[str]) -> None:
        if names:
            self.call("POST", f"/groups/{group}/users", {"users": names})

    def remove_from_group(self, group: str, names: list[str]) -> None:
        if names:
            self.call("DELETE", f"/groups/{group}/users", {"users": names})

    def delete_user(self, name: str) -> None:
        self.call("DELETE", f"/users/{name}")
