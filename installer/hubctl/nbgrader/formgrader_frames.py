"""Let a course's formgrader render inside that course's own JupyterLab (nbgrader issue 1870).

jupyterhub-singleuser sends `frame-ancestors 'none'`, so the formgrader panel, an iframe, is
blank. Allowing 'self' would let any user's server on the same origin frame it. Instead the
formgrader's pages may be framed only by this service's own /lab pages, named with the host
the browser used. Enabled only in the course formgrader services.
"""

import re

FRAME_ANCESTORS_RE = re.compile(r"frame-ancestors[^;]*")


def _jupyter_server_extension_points():
    return [{"module": "hubctl.nbgrader.formgrader_frames"}]


def frame_ancestors(policy: str, host: str, lab_path: str) -> str:
    sources = " ".join(
        f"{scheme}://{host}{lab_path}{suffix}"
        for scheme in ("https", "http")
        for suffix in ("", "/")
    )
    directive = f"frame-ancestors {sources}"
    if FRAME_ANCESTORS_RE.search(policy):
        return FRAME_ANCESTORS_RE.sub(directive, policy, count=1)
    return f"{policy}; {directive}" if policy else directive


def _load_jupyter_server_extension(serverapp):
    from tornado.web import OutputTransform  # only on the VM; frame_ancestors is tested bare

    formgrader = serverapp.base_url + "formgrader"
    lab = serverapp.base_url + "lab"

    class FramedByOwnLab(OutputTransform):
        def __init__(self, request):
            self.request = request

        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            if self.request.path.startswith(formgrader):
                policy = headers.get("Content-Security-Policy", "")
                headers["Content-Security-Policy"] = frame_ancestors(policy, self.request.host, lab)
            return status_code, headers, chunk

    serverapp.web_app.add_transform(FramedByOwnLab)
