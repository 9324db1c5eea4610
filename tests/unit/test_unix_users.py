import pwd

import pytest

from hubctl.hub.unix_users import refusal


def account(name: str, uid: int) -> pwd.struct_passwd:
    return pwd.struct_passwd((name, "x", uid, uid, "", f"/home/{name}", "/bin/bash"))


def test_a_new_name_may_be_created():
    assert refusal("alice", None, []) is None


def test_an_account_hubctl_made_may_run():
    assert refusal("alice", account("alice", 1001), ["alice"]) is None


@pytest.mark.parametrize(
    ("name", "uid", "members"),
    [
        ("root", 0, ["root"]),  # a system account, even if someone added it to the group
        ("daemon", 1, []),
        ("admin", 1000, []),  # the VM's own admin user, not made by hubctl
        ("sshd", None, []),  # reserved even where it does not exist yet
        ("Alice", None, []),
        ("a" * 40, None, []),
        ("../etc", None, []),
    ],
)
def test_refused(name, uid, members):
    existing = None if uid is None else account(name, uid)
    assert refusal(name, existing, members) is not None
