import io
import sys
import tarfile

from hubctl.ansible.failures import likely_cause, summarize
from hubctl.ansible.hub_code import write_hub_code_archive
from hubctl.ansible.progress import Progress
from hubctl.ansible.runner import _follow, vm_document
from hubctl.config import parse_config


def test_hub_code_archive_is_byte_identical_between_builds(tmp_path):
    first = write_hub_code_archive(tmp_path / "a.tar.gz").read_bytes()
    second = write_hub_code_archive(tmp_path / "b.tar.gz").read_bytes()
    assert first == second


def test_hub_code_archive_holds_the_hub_side_only(tmp_path):
    with tarfile.open(write_hub_code_archive(tmp_path / "a.tar.gz")) as archive:
        names = archive.getnames()
    assert "hubctl/hub/settings.py" in names
    assert "hubctl/config/schema.py" in names
    assert not [n for n in names if n.startswith(("hubctl/commands", "hubctl/ansible"))]


def test_plain_progress_prints_one_line_per_step_and_hides_skips():
    out = io.StringIO()
    progress = Progress(out, live=False)
    for event in [
        {"event": "task_start", "name": "Install packages"},
        {"event": "task_result", "name": "Install packages", "status": "changed"},
        {"event": "task_start", "name": "Remove proxy"},
        {"event": "task_result", "name": "Remove proxy", "status": "skipped"},
        {"event": "task_start", "name": "Start hub"},
        {"event": "task_result", "name": "Start hub", "status": "ok"},
    ]:
        progress.handle(event)
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "changed  Install packages",
        "ok       Start hub",
    ]


def test_likely_causes():
    assert "--ask-become-pass" in likely_cause("fatal: Missing sudo password")
    assert "network.ca_bundle" in likely_cause("SSL: CERTIFICATE_VERIFY_FAILED")
    assert "network.http_proxy" in likely_cause("Temporary failure resolving 'deb.debian.org'")
    assert likely_cause("something else entirely") is None


def test_summary_picks_the_error_line_of_a_pip_failure():
    message = (
        "stdout: Collecting alembic==1.20.1\n  Downloading alembic.whl\n\n:stderr: ERROR: Ignored"
        " the following versions\nERROR: No matching distribution found for soupsieve==4.1.2\n"
    )
    assert summarize(message) == "ERROR: No matching distribution found for soupsieve==4.1.2"
    assert summarize("the host is down") == "the host is down"


def test_vm_document_names_files_by_their_place_on_the_vm(tmp_path):
    config = parse_config(
        "users: {instructors: [{name: bob, password_file: /home/me/pw}]}\n"
        "network: {ca_bundle: /home/me/site-ca.pem}\n"
    )
    data = vm_document(config)
    assert data["network"]["ca_bundle"] == "/usr/local/share/ca-certificates/hubctl-site-ca.crt"
    assert data["users"]["instructors"] == [{"name": "bob", "password_file": None, "sudo": False}]


def test_live_progress_redraws_one_line_and_keeps_finished_steps():
    out = io.StringIO()
    progress = Progress(out, live=True)
    progress.handle({"event": "task_start", "name": "Install packages"})
    progress.tick()
    progress.handle({"event": "task_result", "name": "Install packages", "status": "ok"})
    text = out.getvalue()
    assert text.count("\r\033[K") >= 2  # the spinner line is redrawn in place
    assert text.endswith("Install packages (0.0s)\n")


def test_diffs_are_shown_under_their_step():
    out = io.StringIO()
    progress = Progress(out, live=False)
    progress.handle({"event": "task_start", "name": "Place hub.yaml"})
    progress.handle({"event": "diff", "name": "Place hub.yaml", "text": "-a\n+b\n"})
    progress.handle({"event": "task_result", "name": "Place hub.yaml", "status": "changed"})
    assert out.getvalue().splitlines()[1:] == ["-a", "+b"]


WRITER = """
import json, sys, time
with open(sys.argv[1], "a") as out:
    start = json.dumps({"event": "task_start", "name": "Step one"})
    out.write(start[:10]); out.flush(); time.sleep(0.3)   # a line written in two parts
    out.write(start[10:] + "\\n"); out.flush()
    out.write(json.dumps({"event": "task_result", "name": "Step one", "status": "ok"}) + "\\n")
    out.write(json.dumps({"event": "stats", "hosts": {}, "custom": {}}) + "\\n")
print("ansible output goes to the log")
sys.exit(3)
"""


def test_follow_reads_events_as_they_are_written(tmp_path):
    events_file = tmp_path / "events.jsonl"
    events_file.touch()
    out = io.StringIO()
    with (tmp_path / "log").open("w") as log:
        returncode, events = _follow(
            [sys.executable, "-c", WRITER, str(events_file)], None, log, events_file,
            Progress(out, live=False), interactive=False,
        )  # fmt: skip
    assert returncode == 3
    assert [e["event"] for e in events] == ["task_start", "task_result", "stats"]
    assert out.getvalue().startswith("ok       Step one (")
    assert (tmp_path / "log").read_text() == "ansible output goes to the log\n"
