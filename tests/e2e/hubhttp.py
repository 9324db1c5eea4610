"""A logged-in hub session over plain HTTP (urllib), for checks a browser is not needed for."""

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request

XSRF_RE = re.compile(r'name="_xsrf" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class HubSession:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        """(status, Location header, body) without following redirects."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base_url + path, data=body, timeout=30) as response:
                return (
                    response.status,
                    response.headers.get("Location", ""),
                    response.read().decode(),
                )
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def log_in(self, name: str, password: str) -> int:
        _, _, page = self.request("/hub/login")
        xsrf = XSRF_RE.search(page)[1]
        status, _, _ = self.request(
            "/hub/login", {"username": name, "password": password, "_xsrf": xsrf}
        )
        return status

    def follow(self, path: str, hops: int = 10) -> tuple[int, str]:
        """GET `path`, following redirects within the hub's address (a service's OAuth login
        through the hub): (status, body) of the last answer."""
        for _ in range(hops):
            status, location, body = self.request(path)
            if status not in (301, 302, 303, 307, 308):
                return status, body
            target = urllib.parse.urlsplit(urllib.parse.urljoin(self.base_url + path, location))
            path = target.path + (f"?{target.query}" if target.query else "")
        raise AssertionError(f"more than {hops} redirects from {path}")

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        """A Jupyter server API call as its pages' scripts make it: JSON, and the `_xsrf`
        cookie of the server at `path` as the X-XSRFToken header. (status, decoded JSON)."""
        cookies = [c for c in self.cookies if c.name == "_xsrf" and path.startswith(c.path)]
        xsrf = max(cookies, key=lambda c: len(c.path)).value if cookies else ""
        data = json.dumps(body).encode() if body is not None else None
        if data is None and method in ("POST", "PUT"):
            data = b""
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method,
            headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with self.opener.open(request, timeout=300) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def is_logged_in(self) -> bool:
        status, _, _ = self.request("/hub/home")
        return status == 200


def sign_up(base_url: str, name: str, password: str) -> str:
    """POST NativeAuthenticator's sign-up form; the page it answers with."""
    session = HubSession(base_url)
    _, _, page = session.request("/hub/signup")
    form = {"username": name, "signup_password": password,
            "signup_password_confirmation": password, "_xsrf": XSRF_RE.search(page)[1]}  # fmt: skip
    return session.request("/hub/signup", form)[2]
