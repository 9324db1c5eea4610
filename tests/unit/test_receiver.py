"""The submission receiver's rules: which requests it takes, what it copies, its timestamps.
(tests/e2e/test_6_frozen_submit.py runs it for real, as root, from a student's submit.)"""

import datetime
import json
import os
import pwd
import stat

import pytest

from hubctl.nbgrader import receiver
from hubctl.nbgrader.receiver import Budget, Refused, copy_tree, parse_request


def request(**fields) -> bytes:
    data = {"course": "math2", "assignment": "hw1", "staging": ".submitting-ab_12"} | fields
    return json.dumps({key: value for key, value in data.items() if value is not None}).encode()


def test_a_good_request_is_parsed():
    assert parse_request(request()) == receiver.Request("math2", "hw1", ".submitting-ab_12")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"not json", "not a submission request"),
        (b"\xff\xfe", "not a submission request"),
        (b'["math2"]', "not a submission request"),
        (request(extra="x"), "not a submission request"),
        (request(staging=None), "not a submission request"),
        (request(course="../courses"), "not a valid course name"),
        (request(course="Math2"), "not a valid course name"),
        (request(course=7), "not a valid course name"),
        (request(assignment="../inbound"), "not a valid assignment name"),
        (request(assignment="hw1/x"), "not a valid assignment name"),
        (request(assignment="hw+1"), "not a valid assignment name"),
        (request(assignment=".hidden"), "not a valid assignment name"),
        (request(assignment="hw\n1"), "not a valid assignment name"),
        (request(assignment=""), "not a valid assignment name"),
        (request(staging="../../courses/math2"), "not a valid staging name"),
        (request(staging=".submitting-"), "not a valid staging name"),
        (request(staging="victim+hw1+x"), "not a valid staging name"),
        (request(staging=".submitting-a/b"), "not a valid staging name"),
    ],
)
def test_a_bad_request_is_refused(line, message):
    with pytest.raises(Refused, match=message):
        parse_request(line)


def test_the_timestamp_is_nbgrader_s_format_in_utc():
    moment = datetime.datetime(2026, 12, 3, 17, 5, 9, 123456, tzinfo=datetime.UTC)
    assert receiver.now_stamp(moment) == "2026-12-03 17:05:09.123456 UTC"
    berlin = moment.astimezone(datetime.timezone(datetime.timedelta(hours=1)))
    assert receiver.now_stamp(berlin) == "2026-12-03 17:05:09.123456 UTC"


def test_the_name_is_nbgrader_s_with_a_random_end():
    name = receiver.submission_name("cara", "hw1", "2026-12-03 17:05:09.123456 UTC")
    student, assignment, timestamp, random = name.split("+")
    assert (student, assignment, timestamp) == ("cara", "hw1", "2026-12-03 17:05:09.123456 UTC")
    assert len(random) == 12 and "/" not in random


@pytest.fixture
def tree(tmp_path):
    """A staged submission with everything a student might put in it."""
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "answer.ipynb").write_text("{}")
    (src / "sub" / "data.csv").write_text("1,2\n")
    (src / "sub" / "deeper" / "empty.txt").write_text("")
    (tmp_path / "secret.txt").write_text("not hers to hand in")
    (src / "link-to-secret").symlink_to(tmp_path / "secret.txt")
    (src / "link-to-folder").symlink_to(tmp_path)
    (src / "dangling").symlink_to(tmp_path / "nowhere")
    (src / "linked.txt").write_text("linked twice")
    os.link(src / "linked.txt", tmp_path / "other-name.txt")
    os.mkfifo(src / "pipe")
    (src / "timestamp.txt").write_text("2020-01-01 00:00:00.000000 UTC")
    (tmp_path / "dst").mkdir()
    return tmp_path


def copy(tree, owner=None, leave_out=()) -> Budget:
    budget = Budget()
    src = os.open(tree / "src", os.O_RDONLY | os.O_DIRECTORY)
    dst = os.open(tree / "dst", os.O_RDONLY | os.O_DIRECTORY)
    try:
        copy_tree(src, dst, os.getuid() if owner is None else owner, budget, leave_out)
    finally:
        os.close(src)
        os.close(dst)
    return budget


def listing(folder) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def test_only_her_folders_and_regular_files_are_copied(tree):
    budget = copy(tree, leave_out=("timestamp.txt",))
    assert listing(tree / "dst") == [
        "answer.ipynb",
        "sub",
        "sub/data.csv",
        "sub/deeper",
        "sub/deeper/empty.txt",
    ]
    assert sorted(budget.skipped) == [
        "dangling", "link-to-folder", "link-to-secret", "linked.txt", "pipe", "timestamp.txt"
    ]  # fmt: skip
    assert (tree / "dst" / "sub" / "data.csv").read_text() == "1,2\n"


def test_the_copies_are_new_private_files(tree):
    copy(tree)
    copied = (tree / "dst" / "answer.ipynb").stat()
    assert stat.S_IMODE(copied.st_mode) == 0o600
    assert copied.st_ino != (tree / "src" / "answer.ipynb").stat().st_ino
    assert stat.S_IMODE((tree / "dst" / "sub").stat().st_mode) == 0o700


def test_what_someone_else_owns_is_left_out(tree):
    budget = copy(tree, owner=os.getuid() + 1)
    assert listing(tree / "dst") == []
    assert "answer.ipynb" in budget.skipped and "sub" in budget.skipped


def test_too_many_files_are_refused(tree):
    budget = Budget(entries=3)
    src = os.open(tree / "src", os.O_RDONLY | os.O_DIRECTORY)
    dst = os.open(tree / "dst", os.O_RDONLY | os.O_DIRECTORY)
    with pytest.raises(Refused, match="too big"):
        copy_tree(src, dst, os.getuid(), budget)


def test_too_many_bytes_are_refused(tree):
    (tree / "src" / "big.bin").write_bytes(b"x" * 5000)
    budget = Budget(bytes=4000)
    src = os.open(tree / "src", os.O_RDONLY | os.O_DIRECTORY)
    dst = os.open(tree / "dst", os.O_RDONLY | os.O_DIRECTORY)
    with pytest.raises(Refused, match="too big"):
        copy_tree(src, dst, os.getuid(), budget)


def test_folders_nested_too_deep_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(receiver, "MAX_DEPTH", 2)
    (tmp_path / "src" / "a" / "b" / "c" / "d").mkdir(parents=True)
    (tmp_path / "dst").mkdir()
    src = os.open(tmp_path / "src", os.O_RDONLY | os.O_DIRECTORY)
    dst = os.open(tmp_path / "dst", os.O_RDONLY | os.O_DIRECTORY)
    with pytest.raises(Refused, match="nested"):
        copy_tree(src, dst, os.getuid(), Budget())


def test_build_leaves_nothing_when_filling_fails(tmp_path):
    inbound = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)

    def fill(fd):
        os.open("part.txt", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        receiver.build(inbound, "cara+hw1+t+r", pwd.getpwuid(os.getuid()), fill)
    assert os.listdir(tmp_path) == []


def test_build_puts_the_whole_folder_in_place(tmp_path):
    inbound = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    me = pwd.getpwuid(os.getuid())
    receiver.build(inbound, "cara+hw1+t+r", me, lambda fd: receiver.write_text(fd, "a.txt", "x"))
    assert listing(tmp_path) == ["cara+hw1+t+r", "cara+hw1+t+r/a.txt"]
    assert stat.S_IMODE((tmp_path / "cara+hw1+t+r").stat().st_mode) == 0o700


def test_a_full_disk_is_answered_as_such():
    assert receiver.out_of_space(OSError(28, "No space left on device"))
    assert not receiver.out_of_space(OSError(13, "Permission denied"))
