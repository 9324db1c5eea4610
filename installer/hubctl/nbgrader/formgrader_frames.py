"""The response policies of a course's formgrader service (enabled only there):

- Frames: let the formgrader render inside that course's own JupyterLab (nbgrader issue 1870).
  jupyterhub-singleuser sends `frame-ancestors 'none'`, so the formgrader panel, an iframe, is
  blank. Allowing 'self' would let any user's server on the same origin frame it. Instead the
  formgrader's pages may be framed only by this service's own /lab pages, named with the host
  the browser used.
- Student content: no student's work runs script in the grader's browser (student_content.py).
"""

import re

from hubctl.nbgrader import student_content

FRAME_ANCESTORS_RE = re.compile(r"frame-ancestors[^;]*")
CSP = "Content-Security-Policy"


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


def submission_page(headers, chunk: bytes, finishing: bool, host: str) -> bytes:
    """Set the submission page's script policy from its whole body; make the student's <meta>
    inert. A body not seen whole (streamed, compressed) gets no script at all."""
    whole = finishing and "Content-Encoding" not in headers
    page = chunk.decode("utf-8", "surrogateescape") if whole else ""
    policy = headers.get(CSP, "")
    for directive in student_content.page_policy(page, host).split("; "):
        policy = student_content.with_directive(policy, directive)
    headers[CSP] = policy
    if not whole:
        return chunk
    chunk = student_content.inert_student_meta(page).encode("utf-8", "surrogateescape")
    if "Content-Length" in headers:
        headers["Content-Length"] = str(len(chunk))
    return chunk


def _load_jupyter_server_extension(serverapp):
    from tornado.web import OutputTransform  # only on the VM; the functions are tested bare

    base = serverapp.base_url
    formgrader = base + "formgrader"
    lab = base + "lab"

    class FormgraderPolicies(OutputTransform):
        def __init__(self, request):
            self.request = request
            self.student_page = False

        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            path = self.request.path
            if path.startswith(formgrader):
                policy = headers.get(CSP, "")
                headers[CSP] = frame_ancestors(policy, self.request.host, lab)
            if student_content.shows_student_file(path, base):
                headers[CSP] = student_content.file_policy(headers.get(CSP, ""))
            elif path.startswith(formgrader) and student_content.is_submission_page(path):
                self.student_page = True
                chunk = submission_page(headers, chunk, finishing, self.request.host)
            return status_code, headers, chunk

        def transform_chunk(self, chunk, finishing):
            if self.student_page:  # the rest of a streamed page: all of it is the student's
                page = chunk.decode("utf-8", "surrogateescape")
                chunk = student_content.META_RE.sub(student_content.INERT_META, page).encode(
                    "utf-8", "surrogateescape"
                )
            return chunk

    serverapp.web_app.add_transform(FormgraderPolicies)
