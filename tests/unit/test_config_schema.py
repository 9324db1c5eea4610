import pytest

from hubctl.config import parse_config
from hubctl.config.loader import ConfigError
from hubctl.config.schema import Course
from hubctl.config.template import render_template
from hubctl.config.units import parse_duration, parse_size

MINIMAL = "users: {instructors: [alice]}\n"


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "hub.yaml")
    return str(caught.value)


def test_minimal_file_gets_every_default():
    config = parse_config(MINIMAL)
    assert config.model_dump(mode="json") == {
        "hub": {"port": 80},
        "https": {
            "mode": "off",
            "domain": None,
            "email": None,
            "acme_directory": "https://acme-v02.api.letsencrypt.org/directory",
            "acme_ca_root": None,
            "cert": None,
            "key": None,
            "hsts": True,
        },
        "users": {
            "signup": "approval",
            "instructors": [{"name": "alice", "password_file": None, "sudo": False}],
            "minimum_password_length": 8,
            "allowed_failed_logins": 5,
            "lockout": 600,
        },
        "limits": {
            "memory": "1G",
            "cpu": 1.0,
            "idle_timeout": 3600,
            "processes": 1024,
            "grading_time": 600,
        },
        "network": {
            "http_proxy": None,
            "https_proxy": None,
            "no_proxy": "localhost,127.0.0.1",
            "ca_bundle": None,
        },
        "firewall": {"enabled": True, "allow_tcp_ports": []},
        "backups": {"nightly": False, "keep": 7, "at": "03:00"},
        "courses": [],
        "plugins": {},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            MINIMAL + "limits: {memory: 4X}",
            "hub.yaml: limits.memory: '4X' is not a size: use a number with K, M, G or T, e.g. 2G",
        ),
        (
            MINIMAL + "limits: {memory: '-1G'}",
            "hub.yaml: limits.memory: '-1G' is not a size: use a number with K, M, G or T, e.g. 2G",
        ),
        (MINIMAL + "limits: {memory: 0}", "hub.yaml: limits.memory: must be more than 0, e.g. 2G"),
        (
            MINIMAL + "limits: {cpu: -1}",
            "hub.yaml: limits.cpu: input should be greater than 0 (got -1)",
        ),
        (
            MINIMAL + "limits: {idle_timeout: soon}",
            "hub.yaml: limits.idle_timeout: 'soon' is not a duration: use seconds or a number with"
            " s, m, h or d, e.g. 1h",
        ),
        (
            MINIMAL + "limits: {memroy: 2G}",
            "hub.yaml: limits.memroy: unknown key: did you mean 'memory'?",
        ),
        (
            MINIMAL + "backups: {nightly: true, at: '3am'}",
            "hub.yaml: backups.at: '3am' is not a time of day: use HH:MM, e.g. 03:30",
        ),
        (
            MINIMAL + "backups: {keep: 0}",
            "hub.yaml: backups.keep: input should be greater than or equal to 1 (got 0)",
        ),
        (
            MINIMAL + "theme: dark",
            "hub.yaml: theme: unknown key: known keys: hub, https, users, limits, network,"
            " firewall, backups, courses, plugins",
        ),
        (
            "users: {instructors: [Alice]}",
            "hub.yaml: users.instructors.0.name: 'Alice' is not a valid user name: use 1-32 lowercase"
            " letters, digits, '-' or '_', starting with a letter",
        ),
        (
            "users: {instructors: [../x]}",
            "hub.yaml: users.instructors.0.name: '../x' is not a valid user name: use 1-32 lowercase"
            " letters, digits, '-' or '_', starting with a letter",
        ),
        (
            "users: {instructors: [sshd]}",
            "hub.yaml: users.instructors.0.name: 'sshd' is a system account name: choose another name",
        ),
        (
            "users: {instructors: []}",
            "hub.yaml: users.instructors: list at least one instructor, e.g. instructors: [alice]",
        ),
        (
            "users: {instructors: [a], signup: maybe}",
            "hub.yaml: users.signup: input should be 'approval', 'open' or 'closed' (got 'maybe')",
        ),
        (
            "hub: {port: 99999}\n" + MINIMAL,
            "hub.yaml: hub.port: input should be less than or equal to 65535 (got 99999)",
        ),
        (
            MINIMAL + "firewall: {allow_tcp_ports: [8888, 70000]}",
            "hub.yaml: firewall.allow_tcp_ports.1: input should be less than or equal to 65535"
            " (got 70000)",
        ),
        (
            MINIMAL + "firewall: {enabled: sometimes}",
            "hub.yaml: firewall.enabled: input should be a valid boolean, unable to interpret"
            " input (got 'sometimes')",
        ),
        (
            MINIMAL + "limits: {processes: 10}",
            "hub.yaml: limits.processes: input should be greater than or equal to 64 (got 10)",
        ),
        (
            MINIMAL + "network: {http_proxy: 'proxy:3128'}",
            "hub.yaml: network.http_proxy: 'proxy:3128' is not a proxy URL: use http://HOST:PORT",
        ),
        ("", "hub.yaml: users: required: add it (see `hubctl config init`)"),
        ("- a list", "hub.yaml: expected a mapping of keys like `users:` at the top level"),
        (
            "users: [",
            "hub.yaml:1:9: not valid YAML (expected the node content, but found"
            " '<stream end>'): check the indentation and quoting there",
        ),
    ],
)
def test_bad_values_name_the_key_and_the_fix(text, message):
    assert error_of(text) == message


def test_every_problem_is_reported_on_its_own_line():
    lines = error_of(MINIMAL + "limits: {memory: 4X, cpu: 0}").splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["limits.memory", "limits.cpu"]


def test_instructor_given_as_mapping_with_password_file():
    config = parse_config("users: {instructors: [{name: bob, password_file: pw.txt}]}")
    assert config.users.instructors[0].password_file.name == "pw.txt"


def test_proxy_environment():
    config = parse_config(MINIMAL + "network: {http_proxy: 'http://10.0.0.1:3128'}")
    assert config.proxy_environment == {
        "no_proxy": "localhost,127.0.0.1",
        "http_proxy": "http://10.0.0.1:3128",
        "https_proxy": "http://10.0.0.1:3128",
    }
    assert parse_config(MINIMAL).proxy_environment == {}


def test_template_is_valid_and_documents_every_key():
    text = render_template("teacher")
    config = parse_config(text)
    assert [p.name for p in config.users.instructors] == ["teacher"]
    for section, model in config:
        if section == "courses":
            for key in Course.model_fields:
                assert f" {key}: " in text.split("# courses:")[1], key
            continue
        if section == "plugins":
            assert "# plugins:\n#   packages:\n#     pip: [" in text
            continue
        for key in type(model).model_fields:
            assert f"  {key}:" in text, (section, key)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512M", 512 * 1024**2),
        ("2G", 2 * 1024**3),
        ("1.5g", int(1.5 * 1024**3)),
        ("1GiB", 1024**3),
        (1000, 1000),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("1h30m", 5400), ("2d", 172800), (0, 0), ("45", 45)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["1h30", "h", "-5", "1 hour"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)
