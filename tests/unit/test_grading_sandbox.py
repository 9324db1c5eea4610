"""The grading broker's checks and the sandbox it asks systemd for (the sandbox itself is
tried in tests/e2e/test_6_grading_sandbox.py)."""

import json
import os

import pytest

from hubctl import layout
from hubctl.hub import grading_sandbox as broker
from hubctl.nbgrader import grading_kernel
from hubctl.nbgrader.profiles import profile_files

COURSE = "cs101"
RUNTIME = layout.grading_runtime_dir(COURSE)
CONNECTION = {
    "shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5,
    "ip": f"{RUNTIME}/kernel", "key": "secret", "transport": "ipc",
    "signature_scheme": "hmac-sha256", "kernel_name": "hubctl-grading",
}  # fmt: skip


@pytest.fixture
def course_dir(tmp_path, monkeypatch):
    folder = tmp_path / "courses" / COURSE
    (folder / "autograded" / "amy" / "ps1").mkdir(parents=True)
    monkeypatch.setattr(layout, "COURSES_DIR", str(tmp_path / "courses"))
    return folder


def request(connection=CONNECTION, cwd="") -> str:
    return json.dumps({"connection": connection, "cwd": cwd})


def test_only_a_grader_account_may_ask():
    assert broker.course_of("grader-cs101") == "cs101"
    with pytest.raises(broker.Refused, match="amy is not a course's grader account"):
        broker.course_of("amy")


def test_a_request_for_a_folder_of_the_course_is_taken(course_dir):
    work = course_dir / "autograded" / "amy" / "ps1"
    connection, folder = broker.parse_request(request(cwd=str(work)), COURSE)
    assert connection == CONNECTION
    assert folder == str(work)


@pytest.mark.parametrize(
    "cwd",
    [
        "/home/amy", "{course}/../math2", "{course}-evil", "{course}/autograded/amy/nothere",
        "{course}", "{course}/autograded", "{course}/submitted/amy",
    ],
)  # fmt: skip
def test_a_folder_that_is_not_an_assignments_is_refused(course_dir, cwd):
    (course_dir / "submitted" / "amy").mkdir(parents=True)
    with pytest.raises(broker.Refused, match="is not an assignment's folder of course cs101"):
        broker.parse_request(request(cwd=cwd.format(course=course_dir)), COURSE)


def test_a_link_out_of_the_course_is_refused(course_dir, tmp_path):
    (course_dir / "autograded" / "out").symlink_to(tmp_path)
    with pytest.raises(broker.Refused, match="is not an assignment's folder of course cs101"):
        broker.parse_request(request(cwd=str(course_dir / "autograded" / "out")), COURSE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"transport": "tcp", "ip": "127.0.0.1"}, "ipc and ip /run/hubctl-grading/cs101/kernel"),
        ({"ip": "/run/hubctl-grading/math2/kernel"}, "ipc and ip"),
        ({"ip": f"{RUNTIME}/../cs101/kernel"}, "ipc and ip"),
        ({"shell_port": "1"}, "needs the numbers shell_port"),
        ({"hb_port": 0}, "needs the numbers"),
        ({"signature_scheme": "none"}, "signature_scheme hmac-sha256"),
    ],
)
def test_connection_info_the_broker_does_not_serve_is_refused(course_dir, change, message):
    with pytest.raises(broker.Refused, match=message):
        broker.parse_request(request({**CONNECTION, **change}, str(course_dir)), COURSE)


def test_a_request_that_is_not_json_is_refused():
    with pytest.raises(broker.Refused, match="not {connection, cwd} JSON"):
        broker.parse_request("GET / HTTP/1.0\n", COURSE)


def test_the_graders_socket_names_link_to_the_kernels():
    links = broker.socket_links(CONNECTION, "/run/hubctl-autograde-1")
    assert links == {
        f"{RUNTIME}/kernel-{port}": f"/run/hubctl-autograde-1/kernel-{port}" for port in range(1, 6)
    }
    kernel_side = broker.kernel_connection(CONNECTION, "/run/hubctl-autograde-1")
    assert kernel_side["ip"] == "/run/hubctl-autograde-1/kernel"
    assert kernel_side["key"] == CONNECTION["key"]


def test_the_work_copy_holds_only_regular_files_and_folders(tmp_path):
    source = tmp_path / "submission"
    (source / "data").mkdir(parents=True)
    (source / "ps1.ipynb").write_text("{}")
    (source / "data" / "x.csv").write_text("1,2")
    (source / "gradebook").symlink_to("/srv/nbgrader/courses/cs101/gradebook.db")
    (source / "dir-link").symlink_to(tmp_path)
    os.mkfifo(source / "pipe")
    broker.copy_work(str(source), str(tmp_path / "work"))
    copied = sorted(str(p.relative_to(tmp_path / "work")) for p in (tmp_path / "work").rglob("*"))
    assert copied == ["data", "data/x.csv", "ps1.ipynb"]


def test_the_kernels_unit_is_sandboxed_with_the_course_limits():
    properties = broker.unit_properties(COURSE, "hubctl-autograde-1", "512M", 1.5, 256, 600)
    for expected in [
        "DynamicUser=yes", "PrivateNetwork=yes", "ProtectHome=yes", "ProtectSystem=strict",
        "TemporaryFileSystem=/srv:ro", "NoNewPrivileges=yes", "CapabilityBoundingSet=",
        "MemoryMax=512M", "CPUQuota=150%", "TasksMax=256", "RuntimeMaxSec=600",
        "WorkingDirectory=/var/lib/hubctl-autograde-1/work",
    ]:  # fmt: skip
        assert expected in properties
    hidden = next(p for p in properties if p.startswith("InaccessiblePaths="))
    assert "-/etc/hubctl" in hidden and "-/var/lib/hubctl" in hidden
    assert "RuntimeMaxSec=infinity" in broker.unit_properties(COURSE, "u", "1G", 1, 64, 0)


@pytest.mark.parametrize(
    ("result", "said"),
    [
        ("oom-kill", "stopped: it used more than the course's memory limit (512M)"),
        ("timeout", "stopped: it ran longer than the course's grading time (600 s)"),
        ("exit-code", "stopped: its kernel exited with an error"),
        ("watchdog", "stopped: systemd says watchdog"),
    ],
)
def test_how_the_kernel_ended_is_said_in_a_graders_words(result, said):
    stderr = f"Running as unit: x.service\nFinished with result: {result}\n"
    assert said in broker.ending(stderr, "512M", 600)
    assert broker.ending("Finished with result: success\n", "512M", 600) == ""


def test_only_the_formgrader_profile_has_the_grading_kernel():
    spec = profile_files("formgrader")[f"kernels/{layout.GRADING_KERNEL_NAME}/kernel.json"]
    assert spec["argv"][1:] == ["-m", "hubctl.nbgrader.grading_kernel", "{connection_file}"]
    assert spec["interrupt_mode"] == "message"
    nbgrader = profile_files("formgrader")["nbgrader_config.json"]
    assert nbgrader["Execute"] == {"kernel_name": layout.GRADING_KERNEL_NAME}
    assert nbgrader["KernelManager"] == {"transport": "ipc"}
    for profile in ("student", "staff"):
        assert not any(path.startswith("kernels/") for path in profile_files(profile))
        assert "Execute" not in profile_files(profile)["nbgrader_config.json"]


def test_the_client_links_only_its_own_socket_names(tmp_path):
    prefix = str(tmp_path / "kernel")
    grading_kernel.link_sockets({f"{prefix}-1": "/run/k/kernel-1"}, prefix)
    assert os.readlink(f"{prefix}-1") == "/run/k/kernel-1"
    with pytest.raises(ValueError, match="outside"):
        grading_kernel.link_sockets({str(tmp_path / "elsewhere"): "/run/k/kernel-2"}, prefix)
