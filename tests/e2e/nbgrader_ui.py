"""nbgrader as people use it in the browser: the formgrader of a course service, and a
student's "Assignments" panel in JupyterLab. Builds on browser.py."""

from browser import KERNEL_TIMEOUT_MS, SPAWN_TIMEOUT_MS
from playwright.sync_api import Frame, Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

FORMGRADER_TIMEOUT_MS = 120_000  # generate, collect and autograde run nbgrader on the VM
# A notebook with one answer cell and one autograded test cell worth a point.
SOURCE_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {
                "nbgrader": {
                    "grade": False, "solution": True, "locked": False, "task": False,
                    "grade_id": "answer", "schema_version": 3,
                }
            },
            "outputs": [],
            "source": "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {
                "nbgrader": {
                    "grade": True, "solution": False, "locked": True, "task": False,
                    "points": 1, "grade_id": "test_add", "schema_version": 3,
                }
            },
            "outputs": [],
            "source": "assert add(1, 2) == 3",
        },
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}  # fmt: skip
# fetch() from inside the page, with the Jupyter server's XSRF cookie as JupyterLab sends it
PUT_JSON = """async ([url, body]) => {
  const xsrf = document.cookie.match(/_xsrf=([^;]+)/);
  const response = await fetch(url, {
    method: 'PUT',
    headers: {'Content-Type': 'application/json',
              'X-XSRFToken': xsrf ? decodeURIComponent(xsrf[1]) : ''},
    body: JSON.stringify(body)});
  return response.status;
}"""


def save_file(page: Page, server_url: str, path: str, model: dict) -> int:
    """PUT a file or folder through the Jupyter server's contents API, as JupyterLab does."""
    return page.evaluate(PUT_JSON, [f"{server_url}/api/contents/{path}", model])


def create_source_assignment(page: Page, service_url: str, name: str) -> None:
    """source/NAME/NAME.ipynb in the course folder, the way the instructor's JupyterLab
    in the course service saves it."""
    for folder in ("source", f"source/{name}"):
        assert save_file(page, service_url, folder, {"type": "directory"}) in (200, 201)
    model = {"type": "notebook", "format": "json", "content": SOURCE_NOTEBOOK}
    assert save_file(page, service_url, f"source/{name}/{name}.ipynb", model) in (200, 201)


def formgrader_in_lab(page: Page, service_url: str) -> Frame:
    """Open the course's JupyterLab with its formgrader panel (an iframe, nbgrader issue
    1870) and return the frame once it shows "Manage Assignments"."""
    page.goto(f"{service_url}/lab?formgrader=true", timeout=SPAWN_TIMEOUT_MS)
    frame_element = page.locator("iframe[src*='formgrader']")
    frame_element.wait_for(timeout=SPAWN_TIMEOUT_MS)
    frame = frame_element.element_handle().content_frame()
    frame.get_by_role("heading", name="Manage Assignments").wait_for()
    return frame


def assignment_row(where: Page | Frame, name: str) -> Locator:
    row = where.locator("tr", has=where.get_by_role("link", name=name, exact=True))
    row.wait_for()
    return row


def formgrader_action(where: Page | Frame, row: Locator, icon: str) -> str:
    """Click the glyphicon button `icon` in a formgrader table row; return the text of the
    success or error dialog that follows (then closed)."""
    row.locator(f".glyphicon-{icon}").click()
    dialog = where.locator("#success-modal, #error-modal")
    dialog.wait_for(timeout=FORMGRADER_TIMEOUT_MS)
    text = dialog.inner_text()
    dialog.locator(".close").first.click()
    where.locator(".modal").wait_for(state="detached")
    return text


def open_assignment_list(page: Page) -> Locator:
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name="Assignment List").click()
    panel = page.locator("#assignments")
    panel.wait_for()
    panel.locator("#released_assignments_list_loading").wait_for(state="hidden")
    return panel


def nbgrader_menu_items(page: Page) -> list[str]:
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    items = page.get_by_role("menu").get_by_role("menuitem").all_inner_texts()
    page.keyboard.press("Escape")
    return [item.strip() for item in items]


def fetch_assignment(page: Page, course: str, name: str) -> None:
    panel = open_assignment_list(page)
    row = panel.locator("#released_assignments_list .list_item").filter(has_text=name)
    row.filter(has_text=course).get_by_role("button", name="Fetch").click()
    panel.locator("#fetched_assignments_list .list_item").filter(has_text=name).first.wait_for()


def answer_first_cell(page: Page, base_url: str, user: str, path: str, code: str) -> None:
    """Open the notebook in JupyterLab, replace the answer cell's code, save."""
    page.goto(f"{base_url}/user/{user}/lab/tree/{path}")
    notebook = page.locator(".jp-NotebookPanel:visible")
    notebook.wait_for(timeout=KERNEL_TIMEOUT_MS)
    editor = notebook.locator(".jp-Notebook .jp-Cell").first.locator(".cm-content")
    editor.get_by_text("YOUR CODE HERE").wait_for()  # the fetched student version, loaded
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)
    save(page)


def save(page: Page, tries: int = 3) -> None:
    """Ctrl+S in the current notebook until it is no longer dirty. On a loaded machine
    JupyterLab can miss a Ctrl+S pressed right after typing; a student presses it again."""
    dirty = page.locator(".jp-mod-current.jp-mod-dirty")
    for attempt in range(1, tries + 1):
        page.keyboard.press("Control+s")
        try:
            dirty.wait_for(state="detached", timeout=20_000)
            return
        except PlaywrightTimeoutError:
            if attempt == tries:
                raise


def submit_assignment(page: Page, name: str) -> str:
    """Click Submit in the Assignments panel; return the submitted row's text."""
    panel = open_assignment_list(page)
    panel.locator("#fetched_assignments_list .list_item").filter(has_text=name).first.get_by_role(
        "button", name="Submit"
    ).click()
    submitted = panel.locator("#submitted_assignments_list .list_item").filter(has_text=name)
    submitted.first.wait_for()
    return submitted.first.inner_text()


def released_names(page: Page) -> list[str]:
    panel = open_assignment_list(page)
    items = panel.locator("#released_assignments_list .list_item .item_name")
    return [text.strip() for text in items.all_inner_texts()]


def read_feedback(page: Page, name: str) -> str:
    """Click "Fetch Feedback" on the submitted assignment, then "(view feedback)", which
    shows its folder in the file browser; open the notebook's HTML there and return the
    text JupyterLab's HTML viewer shows."""
    panel = open_assignment_list(page)
    row = panel.locator("#submitted_assignments_list .list_item").filter(has_text=name).first
    row.get_by_role("button", name="Fetch Feedback").click()
    link = panel.get_by_text("(view feedback)").first
    link.wait_for(timeout=FORMGRADER_TIMEOUT_MS)
    link.click()
    page.locator(".jp-DirListing-item").filter(has_text=f"{name}.html").first.dblclick()
    viewer = page.frame_locator(".jp-HTMLViewer:visible iframe")
    viewer.get_by_text("Score").first.wait_for()  # every feedback has it; it loads a while
    return viewer.locator("body").inner_text()
