import pytest

from hubctl.ansible.target import Target
from hubctl.errors import HubctlError


@pytest.mark.parametrize(
    ("spec", "host", "user", "port"),
    [
        ("203.0.113.7", "203.0.113.7", None, None),
        ("admin@203.0.113.7", "203.0.113.7", "admin", None),
        ("admin@hub.example.edu:2222", "hub.example.edu", "admin", 2222),
        ("root@[2001:db8::1]:22", "2001:db8::1", "root", 22),
    ],
)
def test_parse(spec, host, user, port):
    target = Target.parse(spec)
    assert (target.host, target.user, target.port) == (host, user, port)


@pytest.mark.parametrize("spec", ["", "a b", "user@", "@host", "h:99999"])
def test_parse_rejects(spec):
    with pytest.raises(HubctlError):
        Target.parse(spec)


def test_local_inventory_uses_the_system_python():
    assert Target().inventory() == {
        "all": {
            "hosts": {
                "hub": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": "/usr/bin/python3",
                }
            }
        }
    }


def test_ssh_inventory():
    target = Target(
        host="10.77.1.2",
        user="root",
        port=22,
        ssh_key="/k",
        ssh_options=("-o", "StrictHostKeyChecking=accept-new"),
    )
    assert target.inventory()["all"]["hosts"]["hub"] == {
        "ansible_host": "10.77.1.2",
        "ansible_python_interpreter": "auto_silent",
        "ansible_user": "root",
        "ansible_port": 22,
        "ansible_ssh_private_key_file": "/k",
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=accept-new",
    }
