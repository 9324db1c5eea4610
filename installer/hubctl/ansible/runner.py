"""Run the site playbook against one target: extra vars in, progress and a result out."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path

from hubctl import layout
from hubctl.ansible.failures import likely_cause, summarize
from hubctl.ansible.hub_code import write_hub_code_archive, write_plugin_code_archive
from hubctl.ansible.progress import Progress
from hubctl.ansible.target import Target
from hubctl.config import HubConfig
from hubctl.errors import HubctlError
from hubctl.hub.settings import formgrader_environment
from hubctl.plugins import EnabledPlugins


@dataclass
class RunResult:
    log_path: Path
    seconds: float
    changed: int = 0
    new_accounts: list[dict] = field(default_factory=list)
    address: str = "localhost"  # the VM's main IPv4 address, as Ansible found it
    pre_upgrade_backup: dict | None = None  # hubctl.hub.backup's answer, if one was taken
    restored: dict | None = None  # hubctl.hub.restore's answer, for `hubctl restore`


def playbooks_dir() -> Path:
    return Path(find_spec("hubctl.playbooks").submodule_search_locations[0])


def callback_dir() -> Path:
    return Path(find_spec("hubctl.ansible.callback_plugins").submodule_search_locations[0])


def logs_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    path = Path(state) / "hubctl" / "logs"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def extra_vars(config: HubConfig, archive: Path, restore_archive: Path | None = None) -> dict:
    """Everything site.yml takes; the plugins' code archive is written beside `archive`."""
    plugins = EnabledPlugins(config)
    plugin_archive = write_plugin_code_archive(
        archive.with_name("plugins.tar.gz"), plugins.code_packages()
    )
    instructors = [
        {
            "name": person.name,
            "password": person.password_file.read_text().strip() if person.password_file else None,
        }
        for person in config.users.instructors
    ]
    bundle = config.network.ca_bundle
    return {
        **plugins.install_vars(user_lock()),
        "hubctl_plugin_code_archive": str(plugin_archive),
        "hubctl_config": vm_document(config),
        "hubctl_proxy_env": config.proxy_environment,
        "hubctl_ca_bundle": bundle.read_text() if bundle else "",
        "hubctl_package_archive": str(archive),
        "hubctl_package_checksum": hashlib.sha256(archive.read_bytes()).hexdigest(),
        "hubctl_restore_archive": str(restore_archive.resolve()) if restore_archive else "",
        "hubctl_instructors": instructors,
        "hubctl_course_people": course_people(config),
        "hubctl_formgraders": [
            {
                "id": course.id,
                "unit": layout.formgrader_unit(course.id),
                "environment": formgrader_environment(config, index),
            }
            for index, course in enumerate(config.courses)
        ],
        "hubctl_tls_files": tls_files(config),
    }


def user_lock() -> list[str]:
    """The students' venv's pinned set, as the install puts it there."""
    lock = playbooks_dir() / "roles" / "python_envs" / "files" / "user-requirements.txt"
    lines = lock.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


TLS_FILE_PLACES = {
    "cert": layout.TLS_CERT_FILE,
    "key": layout.TLS_KEY_FILE,
    "acme_ca_root": layout.ACME_CA_ROOT_FILE,
}


def tls_files(config: HubConfig) -> dict[str, str]:
    """The PEM text of https.cert, .key and .acme_ca_root; "" for each not given."""
    paths = {key: getattr(config.https, key) for key in TLS_FILE_PLACES}
    return {key: path.read_text() if path else "" for key, path in paths.items()}


def course_people(config: HubConfig) -> list[str]:
    """Graders and students of every course who are not hub instructors, once each."""
    instructors = {person.name for person in config.users.instructors}
    names = [name for course in config.courses for name in [*course.graders, *course.students]]
    return [name for name in dict.fromkeys(names) if name not in instructors]


def vm_document(config: HubConfig) -> dict:
    """hub.yaml as the VM keeps it: files read here are named by where they went on the VM,
    so the same settings give the same file from a laptop or on the VM itself."""
    data = config.model_dump(mode="json")
    if data["network"]["ca_bundle"]:
        data["network"]["ca_bundle"] = layout.SITE_CA_FILE
    for key, place in TLS_FILE_PLACES.items():
        if data["https"][key]:
            data["https"][key] = place
    for person in data["users"]["instructors"]:
        person["password_file"] = None
    for course in data["courses"]:
        course["roster"] = None  # its students are in `students` now
    return data


def ansible_playbook_command() -> list[str]:
    beside = Path(sys.executable).parent / "ansible-playbook"
    found = str(beside) if beside.exists() else shutil.which("ansible-playbook")
    if not found:
        raise HubctlError("ansible-playbook not found: reinstall hubctl (`pip install hubctl`)")
    return [found]


def run_install(
    config: HubConfig,
    target: Target,
    check: bool = False,
    diff: bool = False,
    ask_become_pass: bool = False,
    progress: Progress | None = None,
    restore_archive: Path | None = None,
) -> RunResult:
    """Run site.yml (putting `restore_archive` back on the way); raise HubctlError naming
    the failed task, its cause and the log."""
    with tempfile.TemporaryDirectory(prefix="hubctl-run-") as run_dir:
        archive = write_hub_code_archive(Path(run_dir) / "hub.tar.gz")
        run = run_playbook(
            "site.yml",
            extra_vars(config, archive, restore_archive),
            target,
            verb="restore" if restore_archive else "install",
            options=["--check"] * check + ["--diff"] * diff,
            ask_become_pass=ask_become_pass,
            progress=progress or Progress(),
        )
    custom = run.stats["custom"]
    return RunResult(
        log_path=run.log_path,
        seconds=run.seconds,
        changed=sum(host["changed"] for host in run.stats["hosts"].values()),
        new_accounts=custom.get("hubctl_new_accounts", []),
        address=custom.get("hubctl_address", "localhost"),
        pre_upgrade_backup=custom.get("hubctl_pre_upgrade_backup"),
        restored=custom.get("hubctl_restored"),
    )


@dataclass
class PlaybookRun:
    log_path: Path
    seconds: float
    stats: dict  # the callback's last "stats" event: per-host counts and set_stats data


def run_playbook(
    playbook: str,
    variables: dict,
    target: Target,
    verb: str,
    options: list[str] | None = None,
    ask_become_pass: bool = False,
    progress: Progress | None = None,
    rerun: str = "install",
) -> PlaybookRun:
    """Run one of hubctl's playbooks on `target`, its events driving `progress`; the whole
    output goes to a log named after `verb`. Raises HubctlError with the cause and the log;
    after Ctrl-C, it says to run `hubctl RERUN` again."""
    progress = progress or Progress()
    log_path = logs_dir() / f"{verb.replace(' ', '-')}-{datetime.now():%Y%m%d-%H%M%S}.log"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hubctl-run-") as run_dir:
        run = Path(run_dir)
        vars_file = run / "extra-vars.json"
        vars_file.touch(mode=0o600)
        vars_file.write_text(json.dumps({**variables, "hubctl_layout": layout.as_dict()}))
        (run / "inventory.json").write_text(json.dumps(target.inventory()))
        events_file = run / "events.jsonl"
        events_file.touch()
        argv = [
            *ansible_playbook_command(),
            "--inventory",
            str(run / "inventory.json"),
            "--extra-vars",
            f"@{vars_file}",
            str(playbooks_dir() / playbook),
            *(options or []),
        ]
        argv += ["--ask-become-pass"] * ask_become_pass
        env = {
            **os.environ,
            "ANSIBLE_CALLBACK_PLUGINS": str(callback_dir()),
            "ANSIBLE_CALLBACKS_ENABLED": "hubctl_events",
            "HUBCTL_EVENTS_FILE": str(events_file),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_PIPELINING": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "PYTHONUNBUFFERED": "1",
        }
        with log_path.open("w") as log:
            log.write(f"$ {' '.join(argv)}\n")
            log.flush()
            try:
                returncode, events = _follow(argv, env, log, events_file, progress, ask_become_pass)
            except KeyboardInterrupt:
                progress.close()
                raise HubctlError(
                    f"interrupted: the VM may be half-{rerun}ed; run `hubctl {rerun}` again to"
                    f" finish (it redoes nothing that is done)\nfull log: {log_path}"
                ) from None
    progress.close()
    stats = next((e for e in reversed(events) if e["event"] == "stats"), None)
    failure = next((e for e in events if e.get("status") in {"failed", "unreachable"}), None)
    if returncode or failure or stats is None:
        raise HubctlError(_failure_message(verb, failure, returncode, log_path))
    return PlaybookRun(log_path=log_path, seconds=time.monotonic() - started, stats=stats)


def _follow(argv, env, log, events_file, progress, interactive) -> tuple[int, list[dict]]:
    """Run ansible-playbook, feeding its events to `progress` as they come."""
    events: list[dict] = []
    stdin = None if interactive else subprocess.DEVNULL
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=stdin, env=env)
    pending = ""  # a line the callback has not finished writing yet
    with process, events_file.open() as stream:
        while True:
            pending += stream.readline()
            if pending.endswith("\n"):
                event = json.loads(pending)
                pending = ""
                events.append(event)
                progress.handle(event)
                continue
            if process.poll() is not None:
                break
            progress.tick()
            time.sleep(0.1)
        events.extend(json.loads(line) for line in (pending + stream.read()).splitlines())
    return process.returncode, events


def _failure_message(verb: str, failure: dict | None, returncode: int, log_path: Path) -> str:
    if failure is None:
        return f"ansible-playbook stopped with exit code {returncode}\nfull log: {log_path}"
    summary = summarize(failure["message"])
    lines = [f'{verb} failed at "{failure["name"]}" on {failure["address"]}: {summary}']
    cause = likely_cause(failure["message"])
    if cause:
        lines.append(f"likely cause: {cause}")
    lines.append(f"full log: {log_path}")
    return "\n".join(lines)
