"""The `packages` built-in plugin, on the guest with every built-in plugin (conftest's
PLUGIN_SETTINGS: a pinned pip package and an apt package): the install puts them in once,
a student's kernel imports the pip package, and a second install of all the plugins changes
nothing and restarts nothing."""

import re
import time

import pytest
from browser import launch_browser, log_in, new_person, open_lab, run_cell
from conftest import PLUGIN_SETTINGS, run_install
from playwright.sync_api import sync_playwright

# humanize: pure Python, no dependencies, not in the students' pinned set
PIP_PACKAGE, PIP_VERSION = PLUGIN_SETTINGS["packages"]["pip"][0].split("==")
APT_PACKAGE = PLUGIN_SETTINGS["packages"]["apt"][0]
STUDENT = "cara"  # a student of math2: the install makes her account
USER_PYTHON = "/opt/hubctl/user/bin/python3"
HUB_PID = "systemctl show -p MainPID --value jupyterhub configurable-http-proxy"


@pytest.fixture(scope="module")
def machine(plugin_guest):
    return plugin_guest


@pytest.fixture(scope="module")
def installed(plugin_install):
    return plugin_install.config_path, plugin_install.passwords


def guest_output(machine, command: str) -> str:
    return machine.run(["sh", "-c", command]).stdout.strip()


def test_the_pip_package_is_in_the_students_venv_for_the_student(machine, installed):
    version = guest_output(
        machine,
        f"runuser -u {STUDENT} -- {USER_PYTHON} -c"
        f" 'import {PIP_PACKAGE}; print({PIP_PACKAGE}.__version__)'",
    )
    assert version == PIP_VERSION


def test_the_students_pinned_set_did_not_move(machine, installed):
    freeze = set(guest_output(machine, f"{USER_PYTHON} -m pip freeze").splitlines())
    lock = guest_output(machine, "grep -v '^#' /opt/hubctl/user-requirements.txt").splitlines()
    assert set(lock) - freeze == set()
    assert f"{PIP_PACKAGE}=={PIP_VERSION}" in freeze


def test_the_apt_package_is_installed_and_recorded_for_uninstall(machine, installed):
    status = guest_output(machine, f"dpkg-query -W -f '${{db:Status-Abbrev}}' {APT_PACKAGE}")
    assert status.strip() == "ii"
    recorded = guest_output(machine, "cat /var/lib/hubctl/apt-packages-added").split()
    assert APT_PACKAGE in recorded


def test_a_students_kernel_imports_the_package(machine, installed, tmp_path):
    _, passwords = installed
    base_url = f"http://{machine.spec.address}"
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            _, page = new_person(browser)
            log_in(page, base_url, STUDENT, passwords[STUDENT])
            try:
                open_lab(page, base_url, STUDENT)
                code = f"import getpass, sys, {PIP_PACKAGE}\n"
                code += f"print({PIP_PACKAGE}.__version__, sys.prefix, getpass.getuser())"
                output = run_cell(page, code)
            except Exception:  # the guest goes with the module: keep what the student saw
                shot = tmp_path / "student.png"
                page.screenshot(path=str(shot))
                print(f"student's page at {page.url}, screenshot {shot}")
                raise
        finally:
            browser.close()
    assert output == f"{PIP_VERSION} /opt/hubctl/user {STUDENT}"


def test_a_second_install_changes_and_restarts_nothing(machine, installed, plugin_cli):
    config, _ = installed
    before = guest_output(machine, HUB_PID)
    started = time.monotonic()
    result = run_install(machine, config, cli=plugin_cli)
    print(f"FIGURE second install with every plugin: {time.monotonic() - started:.0f} s")
    assert re.search(r"^Done in \d+s: 0 changed\.", result.stdout, re.M), result.stdout
    assert guest_output(machine, HUB_PID) == before
