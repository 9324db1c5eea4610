"""A logged-in hub session over plain HTTP (urllib), for checks a browser is not needed for."""

import http.cookiejar
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
