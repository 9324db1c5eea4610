"""Student work shown in a course's formgrader service never runs script in the grader's browser.

The service is in the hub's origin, so a script there acts with the grader's (or the hub
admin's) session. Two rules, applied to the service's responses (docs/security.md):

- The manual-grading page (formgrader/submissions/ID/) holds the grading code and the
  student's rendered notebook in ONE document (nbgrader 0.9.6's formgrade template). Its
  policy allows only the scripts nbgrader's template wrote before the notebook starts: their
  source files by folder, their inline code and event handlers by hash. Everything the
  student's cells bring (HTML, Markdown, SVG, JavaScript outputs, raw cells) comes after
  that point, so none of it runs; `<meta>` there is made inert (a refresh is not script).
- Whatever else shows a student's file as a page (the files a submission page links to, the
  service's /files/ and /nbconvert/ views of submitted, autograded and feedback files) is
  served with `sandbox` (a unique origin, no scripts, no forms) and the same fixed rules.
"""

import base64
import hashlib
import re

# nbgrader 0.9.6 formgrade/index.html.j2: the student's cells follow this element. The page
# nbgrader serves is re-serialised by an HTML parser (attributes in alphabetical order).
NOTEBOOK_START_RE = re.compile(r"""<div\b[^>]*\sid=["']notebook["']""", re.I)
INLINE_SCRIPT_RE = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
SCRIPT_SRC_RE = re.compile(r"""\ssrc=["']([^"']+)["']""", re.I)
HANDLER_RE = re.compile(r"""\son[a-z]+="([^"]*)\"""", re.I)
META_RE = re.compile(r"<meta\b", re.I)
INERT_META = "<hubctl-inert-meta"
SUBMISSION_PAGE_RE = re.compile(r"formgrader/submissions/[^/]+/?$")
FIXED = "object-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'"
FILE_POLICY = f"sandbox; script-src 'none'; {FIXED}"


def source_hash(code: str) -> str:
    digest = hashlib.sha256(code.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def folder_of(url: str, host: str) -> str:
    """A CSP source for the folder of a script URL (same-origin paths get the host)."""
    url = url.split("?", 1)[0].split("#", 1)[0]
    folder = url[: url.rfind("/") + 1]
    return f"{host}{folder}" if folder.startswith("/") and not folder.startswith("//") else folder


def script_sources(page: str, host: str) -> list[str]:
    """What the formgrader's own part of `page` needs: the folders of its script files, the
    hashes of its inline scripts and of its event handlers. Nothing when the notebook's
    start is not found (then nothing runs: fail closed)."""
    start = NOTEBOOK_START_RE.search(page)
    if not start:
        return []
    own = page[: start.start()]
    folders, hashes = [], []
    for attributes, code in INLINE_SCRIPT_RE.findall(own):
        src = SCRIPT_SRC_RE.search(attributes)
        if src:
            folders.append(folder_of(src[1], host))
        else:
            hashes.append(source_hash(code))
    handlers = [source_hash(code) for code in HANDLER_RE.findall(own)]
    unsafe_hashes = ["'unsafe-hashes'"] if handlers else []
    return list(dict.fromkeys(folders + unsafe_hashes + hashes + handlers))


def page_policy(page: str, host: str) -> str:
    """The script policy of a submission page (see the module docstring)."""
    sources = " ".join(script_sources(page, host)) or "'none'"
    return f"script-src {sources}; {FIXED}"


def inert_student_meta(page: str) -> str:
    """`page` with every <meta> after the notebook's start renamed to an unknown element, so a
    student's `http-equiv=refresh` (or set-cookie, or a policy) does nothing."""
    start = NOTEBOOK_START_RE.search(page)
    if not start:
        return page
    end = start.start()
    return page[:end] + META_RE.sub(INERT_META, page[end:])


def with_directive(policy: str, directive: str) -> str:
    """`policy` with the directive of the same name replaced by `directive`, or added."""
    name = directive.split(None, 1)[0]
    kept = [part.strip() for part in policy.split(";") if part.strip()]
    kept = [part for part in kept if part.split(None, 1)[0] != name]
    return "; ".join([*kept, directive])


def file_policy(policy: str) -> str:
    """`policy` for a student's file shown as it is: sandboxed, no script, no <base>."""
    for directive in FILE_POLICY.split("; "):
        policy = with_directive(policy, directive)
    return policy


def is_submission_page(path: str) -> bool:
    return bool(SUBMISSION_PAGE_RE.search(path))


def shows_student_file(path: str, base_url: str) -> bool:
    """Paths of the service that serve a file as it is: submission files, /files/, /nbconvert/."""
    prefixes = [f"{base_url}{name}/" for name in ("formgrader/submissions", "files", "nbconvert")]
    return any(path.startswith(prefix) for prefix in prefixes) and not is_submission_page(path)
