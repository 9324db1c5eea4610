"""Drive the hub as people do: Debian's Chromium through Playwright.

Playwright never downloads a browser here: every launch uses /usr/bin/chromium. Each person
gets their own browser context (their own cookies). No helper sleeps: each waits for what
the page shows next.
"""

import json
import re
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-proxy-server",  # the hub is on the guest's private network: never via a proxy
]
PAGE_TIMEOUT_MS = 30_000
SPAWN_TIMEOUT_MS = 300_000  # a first spawn takes 10-30 s on a test guest, minutes at load 10
KERNEL_TIMEOUT_MS = 120_000  # a new kernel, then the cell's output
ANNOUNCEMENTS_PLUGIN = "@jupyterlab/apputils-extension:announcements"
CURRENT_TAB_LABEL = "#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel"
KERNEL_IDLE = "Python 3 (ipykernel) | Idle"
# JupyterLab 4 asks "Would you like to get notified about official Jupyter news?"
NEWS_QUESTION = re.compile(r"official Jupyter news\?")


def launch_browser(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def new_person(browser: Browser) -> tuple[BrowserContext, Page]:
    """A fresh context (cookies of its own) and a page in it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    return context, context.new_page()


def sign_up(page: Page, base_url: str, name: str, password: str) -> str:
    """Fill NativeAuthenticator's /hub/signup form; return the message the page shows."""
    page.goto(f"{base_url}/hub/signup")
    page.locator("#username_input").fill(name)
    page.locator("#password_input").fill(password)
    page.locator("#password_confirmation_input").fill(password)
    page.locator("#signup_submit").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    return alert.inner_text().strip()


def log_in(page: Page, base_url: str, name: str, password: str) -> None:
    """Submit /hub/login and wait for the answer: the login page again (refused) or the
    hub moving on to spawn the server. Whether it worked: `login_error` and `open_lab`."""
    page.goto(f"{base_url}/hub/login")
    page.locator("#username_input").fill(name)
    page.locator("#password_input").fill(password)
    with page.expect_navigation():
        page.locator("#login_submit").click()


def login_error(page: Page) -> str | None:
    """The error the login page shows, or None when there is none."""
    error = page.locator("p.login_error")
    return error.inner_text().strip() if error.count() else None


def approve(page: Page, base_url: str, name: str) -> str:
    """As a logged-in admin, click "Authorize" in `name`'s row of /hub/authorize; return the
    row's "Is authorized?" cell afterwards ("Yes" once approved). The link is a toggle,
    so an already approved user is left as is."""
    page.goto(f"{base_url}/hub/authorize")
    row = user_row(page, name)
    authorize = row.get_by_role("button", name="Authorize", exact=True)
    if authorize.count():
        with page.expect_navigation():
            authorize.click()
        row = user_row(page, name)
    return row.get_by_role("cell").nth(2).inner_text().strip()


def user_row(page: Page, name: str) -> Locator:
    """`name`'s row in NativeAuthenticator's authorization table."""
    cell = page.get_by_role("cell", name=name, exact=True)
    row = page.get_by_role("row").filter(has=cell)
    row.wait_for()
    return row


def open_lab(page: Page, base_url: str, name: str) -> None:
    """Go to `name`'s JupyterLab (the hub spawns the server if needed) and wait for the
    launcher. Needs a logged-in page. The lab opens with its workspace reset (`?reset`),
    so a launcher shows even where an earlier visit left notebooks open."""
    lab = re.compile(rf"/user/{re.escape(name)}/lab")
    if not (lab.search(page.url) or "/hub/spawn-pending/" in page.url):
        page.goto(f"{base_url}/hub/spawn/{name}")
    page.wait_for_url(lab, timeout=SPAWN_TIMEOUT_MS)
    page.goto(f"{base_url}/user/{name}/lab?reset")
    page.locator(".jp-Launcher").wait_for(timeout=SPAWN_TIMEOUT_MS)


def lab_page_config(page: Page) -> dict:
    """The page config the server put in JupyterLab's page (#jupyter-config-data)."""
    return json.loads(page.locator("#jupyter-config-data").text_content())


def news_prompt_disabled(page: Page) -> bool:
    """Whether JupyterLab's page config disables the news ("announcements") plugin."""
    disabled = lab_page_config(page).get("disabledExtensions", [])
    return ANNOUNCEMENTS_PLUGIN in disabled


def news_prompt(page: Page) -> Locator:
    """JupyterLab's "Would you like to get notified about official Jupyter news?" toast.
    It would show once the app is restored: check its count after the lab is in use
    (a cell has run), or wait for it to prove a lab that does show it."""
    return page.get_by_text(NEWS_QUESTION)


def new_launcher(page: Page) -> Locator:
    """The launcher tab, opening one from the File menu when none is shown."""
    launcher = page.locator(".jp-Launcher:visible")
    if not launcher.count():
        page.get_by_role("menuitem", name="File", exact=True).click()
        page.get_by_role("menuitem", name="New Launcher").click()
    launcher.wait_for()
    return launcher


def start_cell(page: Page, code: str) -> Locator:
    """Create a Python 3 notebook from the launcher, put `code` in its first cell and run it
    with Shift+Enter; the cell, without waiting for it to finish."""
    launcher = new_launcher(page)
    launcher.locator('.jp-LauncherCard[data-category="Notebook"]').filter(
        has_text="Python 3"
    ).first.click()
    notebook = page.locator(".jp-NotebookPanel:visible")
    notebook.wait_for()
    # Shift+Enter before the kernel is connected is lost (no execute request is sent), and
    # the notebook's own indicator says "idle" while it has no kernel yet: wait for this
    # notebook's "Python 3 (ipykernel) | Idle" in the status bar, as JupyterLab's tests do.
    document = page.locator(CURRENT_TAB_LABEL).inner_text()
    idle = page.get_by_title(f"Change kernel for {document}", exact=True).get_by_text(
        KERNEL_IDLE, exact=True
    )
    load_error = page.locator(".jp-Dialog").filter(has_text=f"File Load Error for {document}")
    idle.or_(load_error).first.wait_for(timeout=KERNEL_TIMEOUT_MS)
    # A server error opening the notebook fails here with its message, not after a timeout.
    assert not load_error.is_visible(), load_error.inner_text()
    cell = notebook.locator(".jp-Notebook .jp-Cell").first
    editor = cell.locator(".jp-InputArea-editor .cm-content")
    editor.click()
    # insert_text, not typing: no auto-closed brackets or auto-indent in the editor
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    return cell


def run_cell(page: Page, code: str) -> str:
    """Run `code` in a new notebook (start_cell) and return the text of the cell's outputs
    once it has run."""
    cell = start_cell(page, code)
    # "[ ]:" before, "[*]:" while running, "[1]:" once done
    cell.locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(
        timeout=KERNEL_TIMEOUT_MS
    )
    return "\n".join(cell.locator(".jp-OutputArea-output").all_inner_texts()).strip()


def screenshot(page: Page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
