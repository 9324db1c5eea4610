"""The `git_content` built-in plugin, on the guest with every built-in plugin: course math2's
repository (conftest PLUGIN_SETTINGS) is made here on the host and served to the guest by
`git daemon` (and as plain files over HTTP, to check git through the hub's proxy). The
instructor's link command prints nbgitpuller's link; student cara opening it in her browser
lands in JupyterLab with the repository in her home, owned by her; a new commit and the
same link again merges it in and keeps her own edit."""

import json
import re
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser import launch_browser, log_in, new_person, open_lab, run_cell, screenshot
from conftest import PLUGIN_GIT_HOST, PLUGIN_SETTINGS, hubctl
from playwright.sync_api import sync_playwright

STUDENT = "cara"  # a student of math2: the install makes her account
REPO_NAME = "math2-notes"
FOLDER = f"/home/{STUDENT}/{REPO_NAME}"
GIT_PORT = 9418  # git daemon's
HTTP_PORT = 9480  # the same repositories as plain files (git's "dumb" HTTP)
STUDENT_PROFILE = "/opt/hubctl/lib/jupyter-profiles/student"
USER_VENV_BIN = "/opt/hubctl/user/bin"
PULL_TIMEOUT_MS = 300_000  # a first pull also spawns her server


def notebook(*sources: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": text} for text in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def git(folder: Path, *args: str) -> str:
    identity = ["-c", "user.name=Instructor", "-c", "user.email=instructor@example.edu"]
    result = subprocess.run(
        ["git", *identity, *args], cwd=folder, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited {process.returncode}")
        try:
            socket.create_connection((PLUGIN_GIT_HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing answers on {PLUGIN_GIT_HOST}:{port}")


class CourseRepo:
    """The instructor's repository: a bare one that is served, and a working copy."""

    def __init__(self, root: Path) -> None:
        self.served = root / "served"
        self.bare = self.served / f"{REPO_NAME}.git"
        self.work = root / "work"
        self.served.mkdir()
        git(root, "init", "-q", "--bare", "-b", "main", str(self.bare))
        git(root, "clone", "-q", str(self.bare), str(self.work))

    def commit(self, files: dict[str, str], message: str) -> str:
        for name, text in files.items():
            (self.work / name).write_text(text)
        git(self.work, "add", "--all")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        git(self.bare, "update-server-info")  # for the plain-files HTTP server
        return git(self.work, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def machine(plugin_guest):
    return plugin_guest


@pytest.fixture(scope="module")
def installed(plugin_install):
    return plugin_install.config_path, plugin_install.passwords


@pytest.fixture(scope="module")
def repo(plugin_guest, tmp_path_factory):
    """Served on the host side of the guest's veth (it exists once the guest runs)."""
    course = CourseRepo(tmp_path_factory.mktemp("git-content"))
    course.first = course.commit(
        {"intro.ipynb": notebook("# Week 1"), "README.md": "Math 2 notes\n"}, "Week 1"
    )
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={course.served}",
         f"--listen={PLUGIN_GIT_HOST}", f"--port={GIT_PORT}", str(course.served)],
    )  # fmt: skip
    files = subprocess.Popen(
        ["python3", "-m", "http.server", "--bind", PLUGIN_GIT_HOST,
         "--directory", str(course.served), str(HTTP_PORT)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(GIT_PORT, daemon)
        wait_for_port(HTTP_PORT, files)
        yield course
    finally:
        for process in (daemon, files):
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def page(machine, installed, repo, tmp_path_factory):
    """Cara's browser, logged in."""
    _, passwords = installed
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            _, student = new_person(browser)
            log_in(student, f"http://{machine.spec.address}", STUDENT, passwords[STUDENT])
            yield student
        except Exception:
            screenshot(student, tmp_path_factory.mktemp("shots") / "student.png")
            raise
        finally:
            browser.close()


def guest_output(machine, command: str) -> str:
    return machine.run(["sh", "-c", command]).stdout.strip()


def as_student(machine, command: str) -> str:
    return guest_output(machine, f"runuser -u {STUDENT} -- sh -c '{command}'")


@pytest.fixture(scope="module")
def the_link(machine, installed, plugin_cli):
    """`hubctl git-content link` of the hubctl that installed the hub (pip-installed)."""

    def run() -> str:
        config, _ = installed
        hub = f"http://{machine.spec.address}"
        args = ["git-content", "link", "math2", "--config", str(config), "--hub-url", hub]
        return hubctl(*args, cli=plugin_cli).stdout.strip()

    return run


def open_link(page, link: str, tmp_path: Path) -> None:
    """Open the link and wait for JupyterLab showing the repository's folder."""
    page.goto(link)
    try:
        page.wait_for_url(
            lambda url: urlsplit(url).path.rstrip("/") == f"/user/{STUDENT}/lab/tree/{REPO_NAME}",
            timeout=PULL_TIMEOUT_MS,
        )
        page.locator(".jp-DirListing-item", has_text="intro.ipynb").wait_for(
            timeout=PULL_TIMEOUT_MS
        )
    except Exception:
        print(f"student's page at {page.url}")
        screenshot(page, tmp_path / "link.png")
        raise


def test_the_link_command_prints_nbgitpullers_link(machine, the_link, repo):
    assert PLUGIN_SETTINGS["git_content"]["courses"]["math2"]["repo"].endswith(REPO_NAME + ".git")
    assert the_link() == (
        f"http://{machine.spec.address}/hub/user-redirect/git-pull"
        f"?repo=git%3A//{PLUGIN_GIT_HOST}/{REPO_NAME}.git&branch=main"
        f"&targetpath={REPO_NAME}&urlpath=lab/tree/{REPO_NAME}/"
    )


def test_nbgitpuller_is_a_server_extension_of_students_servers(machine, installed):
    listing = as_student(
        machine,
        f"JUPYTER_CONFIG_PATH={STUDENT_PROFILE} {USER_VENV_BIN}/jupyter server extension list 2>&1",
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", listing)  # jupyter colours "enabled" and "OK"
    assert re.search(r"nbgitpuller\s+enabled", listing), listing
    assert re.search(r"nbgitpuller\s+1\.3\.0\s+OK", listing), listing


def test_the_link_puts_the_repository_in_her_home_as_hers(machine, the_link, repo, page, tmp_path):
    started = time.monotonic()
    open_link(page, the_link(), tmp_path)
    print(f"FIGURE first open of the git_content link (spawn + clone): "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    owners = guest_output(machine, f"stat -c '%U:%G %a' {FOLDER} {FOLDER}/intro.ipynb")
    assert owners.splitlines() == [f"{STUDENT}:{STUDENT} 700", f"{STUDENT}:{STUDENT} 600"]
    assert as_student(machine, f"git -C {FOLDER} rev-parse HEAD") == repo.first
    assert guest_output(machine, f"cat {FOLDER}/intro.ipynb") == notebook("# Week 1")


def test_the_same_link_later_brings_new_commits_and_keeps_her_edits(
    machine, the_link, repo, page, tmp_path
):
    as_student(machine, f"echo my own note >> {FOLDER}/README.md")
    second = repo.commit(
        {"intro.ipynb": notebook("# Week 1", "A new exercise"), "week2.ipynb": notebook("# 2")},
        "Week 2",
    )
    started = time.monotonic()
    open_link(page, the_link(), tmp_path)
    page.locator(".jp-DirListing-item", has_text="week2.ipynb").wait_for()
    print(f"FIGURE second open of the git_content link (merge): {time.monotonic() - started:.1f} s")
    assert guest_output(machine, f"cat {FOLDER}/week2.ipynb") == notebook("# 2")
    assert guest_output(machine, f"cat {FOLDER}/intro.ipynb") == notebook(
        "# Week 1", "A new exercise"
    )
    assert guest_output(machine, f"cat {FOLDER}/README.md") == "Math 2 notes\nmy own note"
    history = as_student(machine, f"git -C {FOLDER} rev-list HEAD").split()
    assert second in history and repo.first in history
    owner = guest_output(machine, f"stat -c %U {FOLDER}/week2.ipynb")
    assert owner == STUDENT


def test_git_over_http_works_in_her_server_through_the_hubs_proxy(
    machine, installed, repo, page, tmp_path
):
    """An https repository (GitHub, a university GitLab) is reached through network.http_proxy
    like this: her sandboxed server has the proxy in its environment and git uses it."""
    url = f"http://{PLUGIN_GIT_HOST}:{HTTP_PORT}/{REPO_NAME}.git"
    code = (
        "import os, subprocess\n"
        f"found = subprocess.run(['git', 'ls-remote', '{url}', 'main'], capture_output=True,"
        " text=True)\n"
        "print(os.environ.get('http_proxy'), found.stdout.split()[:1] or found.stderr)"
    )
    try:
        open_lab(page, f"http://{machine.spec.address}", STUDENT)
        output = run_cell(page, code)
    except Exception:
        screenshot(page, tmp_path / "cell.png")
        raise
    head = git(repo.work, "rev-parse", "HEAD")
    assert output == f"{machine.spec.proxy_url} ['{head}']"
    proxied = machine.spec.tinyproxy_log.read_text(errors="replace")
    assert f"GET {url}/info/refs" in proxied  # through the proxy, not around it
