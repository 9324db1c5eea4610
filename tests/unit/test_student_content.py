"""The formgrader service's policies for student work (hubctl.nbgrader.student_content): which
scripts a submission page may run, which paths are sandboxed, and the page rewrite."""

import base64
import hashlib

import pytest

from hubctl.nbgrader.formgrader_frames import submission_page
from hubctl.nbgrader.student_content import (
    file_policy,
    inert_student_meta,
    page_policy,
    script_sources,
    shows_student_file,
    with_directive,
)

HOST = "hub.example:8080"
STATIC = "/services/cs101/formgrader/static"
OWN_INLINE = '\nvar submission_id = "abc";\n'
# The shape of nbgrader 0.9.6's formgrade page: its own scripts, then the student's cells.
PAGE = f"""<!DOCTYPE html><html><head><meta charset="utf-8" />
<script src="{STATIC}/node_modules/jquery/dist/jquery.min.js"></script>
<script type="text/javascript">{OWN_INLINE}</script>
<script src="{STATIC}/js/formgrade.js"></script>
<script src="https://cdn.example/mathjax/2.7.7/MathJax.js?config=TeX,Safe"></script>
</head><body><nav><span onclick="toggle_name(true);"></span></nav>
<div class="border-box-sizing" id="notebook">
<div class="container" id="notebook-container"><div id="notebook" tabindex="-1">
<script>steal()</script><img src=x onerror="steal()"><svg onload="steal()"></svg>
<script src="/user/cara/files/evil.js"></script>
<META http-equiv="refresh" content="0;url=http://evil/"><meta charset="x">
</div></body></html>"""


def sha(code: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()}'"


def test_the_formgrader_s_own_scripts_are_allowed_by_folder_and_hash():
    assert script_sources(PAGE, HOST) == [
        f"{HOST}{STATIC}/node_modules/jquery/dist/",
        f"{HOST}{STATIC}/js/",
        "https://cdn.example/mathjax/2.7.7/",
        "'unsafe-hashes'",
        sha(OWN_INLINE),
        sha("toggle_name(true);"),
    ]


def test_nothing_of_the_student_s_part_is_allowed():
    policy = page_policy(PAGE, HOST)
    assert sha("steal()") not in policy
    assert "/user/cara/" not in policy and "'unsafe-inline'" not in policy


def test_a_page_without_the_notebook_start_runs_no_script():
    assert page_policy("<html><script>x()</script></html>", HOST).startswith("script-src 'none';")


def test_the_page_policy_closes_objects_base_forms_and_frames():
    policy = page_policy(PAGE, HOST)
    for directive in (
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-src 'none'",
    ):
        assert directive in policy


def test_student_meta_tags_are_made_inert_and_the_formgrader_s_kept():
    page = inert_student_meta(PAGE)
    assert '<head><meta charset="utf-8" />' in page
    assert "<hubctl-inert-meta http-equiv" in page and "<hubctl-inert-meta charset" in page
    assert "<META" not in page


@pytest.mark.parametrize(
    ("policy", "directive", "expected"),
    [
        ("", "sandbox", "sandbox"),
        (
            "frame-ancestors 'none'; sandbox allow-scripts",
            "sandbox",
            "frame-ancestors 'none'; sandbox",
        ),
        (
            "script-src 'self'; report-uri /r",
            "script-src 'none'",
            "report-uri /r; script-src 'none'",
        ),
    ],
)
def test_with_directive_replaces_or_adds(policy, directive, expected):
    assert with_directive(policy, directive) == expected


@pytest.mark.parametrize(
    ("path", "sandboxed"),
    [
        ("/services/cs101/formgrader/submissions/abc/", False),  # the page: its own policy
        ("/services/cs101/formgrader/submissions/abc", False),
        ("/services/cs101/formgrader/submissions/abc/evil.html", True),
        ("/services/cs101/formgrader/submissions/abc/sub/evil.svg", True),
        ("/services/cs101/files/feedback/cara/ps1/ps1.html", True),
        ("/services/cs101/nbconvert/html/autograded/cara/ps1/ps1.ipynb", True),
        ("/services/cs101/formgrader/manage_assignments", False),
        ("/services/cs101/lab/tree/autograded", False),
    ],
)
def test_which_paths_serve_student_files_sandboxed(path, sandboxed):
    assert shows_student_file(path, "/services/cs101/") is sandboxed


def test_the_submission_page_response_gets_its_policy_and_length():
    headers = {"Content-Security-Policy": "frame-ancestors x; report-uri /r", "Content-Length": "1"}
    body = submission_page(headers, PAGE.encode(), finishing=True, host=HOST)
    assert int(headers["Content-Length"]) == len(body)
    assert b"<META" not in body
    policy = headers["Content-Security-Policy"]
    assert policy.startswith("frame-ancestors x; report-uri /r; script-src ")
    assert sha(OWN_INLINE) in policy


def test_a_streamed_or_compressed_page_runs_no_script():
    for headers, finishing in (({}, False), ({"Content-Encoding": "gzip"}, True)):
        body = submission_page(headers, PAGE.encode(), finishing=finishing, host=HOST)
        assert body == PAGE.encode()
        assert "script-src 'none'" in headers["Content-Security-Policy"]


def test_a_student_s_file_is_sandboxed_with_no_script_and_no_base():
    policy = file_policy("frame-ancestors 'none'; sandbox allow-scripts")
    assert policy.split("; ")[:3] == ["frame-ancestors 'none'", "sandbox", "script-src 'none'"]
    assert "base-uri 'none'" in policy and "allow-scripts" not in policy
