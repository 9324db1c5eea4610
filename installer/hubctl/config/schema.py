"""The typed schema of hub.yaml. Every default hubctl uses is written here and nowhere else."""

import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from hubctl.config.units import parse_duration, parse_size

USER_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
PROXY_URL_RE = re.compile(r"^https?://([^\s/@]+@)?[^\s/:@]+(:\d{1,5})?/?$")
COURSE_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
TIME_OF_DAY_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# A DNS name of two or more labels (a certificate's name; no IP address, no wildcard).
DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ACME_URL_RE = re.compile(r"^https://[^\s/]+(/\S*)?$")
LETSENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"
# Names hubctl gives its own accounts and groups (grader-COURSE, hubctl-COURSE).
RESERVED_PREFIXES = ("grader-", "hubctl-")

# Accounts a Debian system has or may get from a package later. A hub user name is a
# Unix user name, so these can never be hub users; the VM also refuses any existing
# account hubctl did not create.
RESERVED_USER_NAMES = frozenset(
    [
        "root",
        "daemon",
        "bin",
        "sys",
        "sync",
        "games",
        "man",
        "lp",
        "mail",
        "news",
        "uucp",
        "proxy",
        "www-data",
        "backup",
        "list",
        "irc",
        "gnats",
        "nobody",
        "_apt",
        "messagebus",
        "sshd",
        "systemd-network",
        "systemd-resolve",
        "systemd-timesync",
        "systemd-coredump",
        "polkitd",
        "tss",
        "uuidd",
        "ntp",
        "postgres",
        "mysql",
        "admin",
        "administrator",
        "jupyterhub",
        "hubctl",
    ]
)


def check_user_name(name: str) -> str:
    if not USER_NAME_RE.match(name):
        raise PydanticCustomError(
            "user_name",
            "'{name}' is not a valid user name: use 1-32 lowercase letters, digits, '-' or '_',"
            " starting with a letter",
            {"name": name},
        )
    if name in RESERVED_USER_NAMES or name.startswith(RESERVED_PREFIXES):
        raise PydanticCustomError(
            "user_name", "'{name}' is a system account name: choose another name", {"name": name}
        )
    return name


def _check_course_id(value: str) -> str:
    if not COURSE_ID_RE.match(value):
        raise PydanticCustomError(
            "course_id",
            "'{value}' is not a course id: use 1-24 lowercase letters, digits or '_', starting"
            " with a letter, e.g. cs101",
            {"value": value},
        )
    return value


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "timezone",
            "'{value}' is not a time zone: use an IANA name, e.g. Europe/Berlin or UTC",
            {"value": value},
        ) from None
    return value


def _check_size(value: str | int) -> str:
    try:
        size = parse_size(value)
    except ValueError:
        raise PydanticCustomError(
            "size",
            "'{value}' is not a size: use a number with K, M, G or T, e.g. 2G",
            {"value": value},
        ) from None
    if size <= 0:
        raise PydanticCustomError("size", "must be more than 0, e.g. 2G", {})
    return str(value).strip().upper()


def _check_duration(value: str | int) -> int:
    try:
        return parse_duration(value)
    except ValueError:
        raise PydanticCustomError(
            "duration",
            "'{value}' is not a duration: use seconds or a number with s, m, h or d, e.g. 1h",
            {"value": value},
        ) from None


def _check_proxy_url(value: str) -> str:
    if not PROXY_URL_RE.match(value):
        raise PydanticCustomError(
            "proxy_url", "'{value}' is not a proxy URL: use http://HOST:PORT", {"value": value}
        )
    return value


def _check_domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if not DOMAIN_RE.match(value):
        raise PydanticCustomError(
            "domain",
            "'{value}' is not a DNS name: give the name students type, e.g. hub.example.edu"
            " (for a hub reached by IP use mode: self-signed)",
            {"value": value},
        )
    return value


def _check_email(value: str) -> str:
    if not EMAIL_RE.match(value):
        raise PydanticCustomError(
            "email", "'{value}' is not an email address, e.g. it@example.edu", {"value": value}
        )
    return value


def _check_acme_url(value: str) -> str:
    if not ACME_URL_RE.match(value):
        raise PydanticCustomError(
            "acme_url",
            "'{value}' is not an ACME directory URL: use https://HOST/PATH, e.g. {default}",
            {"value": value, "default": LETSENCRYPT_DIRECTORY},
        )
    return value


def _sexagesimal_to_time(value: object) -> object:
    # YAML 1.1 reads an unquoted 23:15 as the base-60 number 1395.
    if isinstance(value, int) and 0 <= value < 24 * 60:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


def _check_time_of_day(value: str) -> str:
    if not TIME_OF_DAY_RE.match(value):
        raise PydanticCustomError(
            "time_of_day", "'{value}' is not a time of day: use HH:MM, e.g. 03:30", {"value": value}
        )
    return value


def _name_to_instructor(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


UserName = Annotated[str, AfterValidator(check_user_name)]
Size = Annotated[str | int, AfterValidator(_check_size)]
Duration = Annotated[str | int, AfterValidator(_check_duration)]
ProxyUrl = Annotated[str, AfterValidator(_check_proxy_url)]
CourseId = Annotated[str, AfterValidator(_check_course_id)]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
DomainName = Annotated[str, AfterValidator(_check_domain)]
Email = Annotated[str, AfterValidator(_check_email)]
AcmeUrl = Annotated[str, AfterValidator(_check_acme_url)]
TimeOfDay = Annotated[
    str, BeforeValidator(_sexagesimal_to_time), AfterValidator(_check_time_of_day)
]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class HubSection(Section):
    port: int = Field(
        80, ge=1, le=65535, description="Port the hub answers on with plain HTTP (https.mode off)."
    )


class HttpsSection(Section):
    mode: Literal["letsencrypt", "manual", "self-signed", "off"] = Field(
        None,  # resolved from `domain` below
        description="letsencrypt: a certificate from an ACME CA for `domain`, renewed by itself;"
        " manual: your `cert` and `key`; self-signed: for a hub reached by IP (browsers warn);"
        " off: plain HTTP on hub.port. Default: letsencrypt when `domain` is set, else off.",
    )
    domain: DomainName | None = Field(
        None, description="The hub's DNS name, e.g. hub.example.edu (it must point at the VM)."
    )
    email: Email | None = Field(
        None, description="Contact the ACME CA writes to about expiring certificates."
    )
    acme_directory: AcmeUrl = Field(
        LETSENCRYPT_DIRECTORY,
        description="ACME directory URL; Let's Encrypt's staging server is"
        " https://acme-staging-v02.api.letsencrypt.org/directory.",
    )
    acme_ca_root: Path | None = Field(
        None, description="PEM file of the CA behind a private ACME server's own HTTPS API."
    )
    cert: Path | None = Field(
        None, description="manual: PEM file of the certificate (with its chain)."
    )
    key: Path | None = Field(None, description="manual: PEM file of the certificate's key.")
    hsts: bool = Field(
        True,
        description="Send Strict-Transport-Security (letsencrypt and manual; never self-signed).",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_mode(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("mode") is None:
            return {**data, "mode": "letsencrypt" if data.get("domain") else "off"}
        return data

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    @property
    def sends_hsts(self) -> bool:
        return self.hsts and self.mode in {"letsencrypt", "manual"}


class Instructor(Section):
    name: UserName = Field(description="Hub and Linux user name.")
    password_file: Path | None = Field(
        None,
        description="File holding the first password; without it the install generates one"
        " and prints it once.",
    )
    sudo: bool = Field(
        False,
        description="Make this instructor root on the VM: sudo without a password, in their"
        " server's terminal too. Instructors are hub admins, not root, without it.",
    )


class UsersSection(Section):
    signup: Literal["approval", "open", "closed"] = Field(
        "approval",
        description="approval: anyone signs up, an instructor approves at /hub/authorize;"
        " open: sign-up logs in at once; closed: no sign-up page.",
    )
    instructors: list[Annotated[Instructor, BeforeValidator(_name_to_instructor)]] = Field(
        min_length=1,
        description="Hub admins. The install creates their accounts, so nobody can sign up"
        " under their names first.",
    )
    minimum_password_length: int = Field(8, ge=1, le=128, description="For sign-ups.")
    allowed_failed_logins: int = Field(
        5, ge=0, description="Failed logins before a name is locked out; 0 turns lockout off."
    )
    lockout: Duration = Field("10m", description="How long a lockout lasts.")


class LimitsSection(Section):
    memory: Size = Field("1G", description="Memory limit of each student's server.")
    cpu: float = Field(1.0, gt=0, le=256, description="CPU cores each student's server may use.")
    idle_timeout: Duration = Field(
        "1h", description="Stop servers idle this long; 0 keeps them running."
    )
    processes: int = Field(
        1024,
        ge=64,
        le=1_000_000,
        description="Most processes and threads each student's server may run (kernels,"
        " terminals and their threads): a fork bomb stops there and harms nobody else.",
    )
    grading_time: Duration = Field(
        "10m",
        description="Longest a student's notebook may run when it is autograded (in its"
        " sandbox, with the memory, cpu and processes above); then that student's grading"
        " fails and the rest of the class is graded.",
    )


class NetworkSection(Section):
    http_proxy: ProxyUrl | None = Field(
        None,
        description="Proxy the VM must use to reach package registries, e.g."
        " http://proxy.example.edu:3128.",
    )
    https_proxy: ProxyUrl | None = Field(None, description="Defaults to http_proxy.")
    no_proxy: str = Field("localhost,127.0.0.1", description="Hosts reached without the proxy.")
    ca_bundle: Path | None = Field(
        None, description="PEM file of extra CA certificates the VM must trust (a site proxy's CA)."
    )


class FirewallSection(Section):
    enabled: bool = Field(
        True,
        description="Let in only SSH, 80, 443, hub.port and allow_tcp_ports (nftables table"
        " inet hubctl); false removes it, e.g. behind a cloud provider's firewall.",
    )
    allow_tcp_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        [], description="More TCP ports to let in, e.g. [8888]."
    )


class BackupsSection(Section):
    nightly: bool = Field(
        False, description="Back up the hub every night into /var/backups/hubctl on the VM."
    )
    keep: int = Field(7, ge=1, le=365, description="How many nightly backups to keep.")
    at: TimeOfDay = Field("03:00", description="When the nightly backup runs (HH:MM, VM time).")


class Course(Section):
    id: CourseId = Field(description="Short id: the nbgrader course id and the formgrader's URL.")
    title: str = Field("", description="The course's name for people.")
    instructors: list[UserName] = Field(
        min_length=1, description="Who authors and grades; each must be in users.instructors."
    )
    graders: list[UserName] = Field(
        default_factory=list, description="Who collects and grades, without admin rights."
    )
    students: list[UserName] = Field(
        default_factory=list,
        description="Students by name. The install creates their accounts and writes the new"
        " passwords to a CSV beside hub.yaml.",
    )
    roster: Path | None = Field(
        None, description="A roster CSV with a 'username' column: more students, added to these."
    )
    timezone: TimeZone = Field("UTC", description="Time zone of the course's due dates.")


class HubConfig(Section):
    hub: HubSection = Field(default_factory=HubSection)
    https: HttpsSection = Field(default_factory=HttpsSection)
    users: UsersSection
    limits: LimitsSection = Field(default_factory=LimitsSection)
    network: NetworkSection = Field(default_factory=NetworkSection)
    firewall: FirewallSection = Field(default_factory=FirewallSection)
    backups: BackupsSection = Field(default_factory=BackupsSection)
    courses: list[Course] = Field(
        default_factory=list, description="nbgrader courses on this hub (none by default)."
    )
    plugins: dict[str, dict[str, Any] | None] = Field(
        default_factory=dict,
        description="Course plugins to enable, each with its settings (`hubctl plugins list`"
        " shows those installed; plugins/README.md describes them).",
    )

    def course(self, course_id: str) -> Course | None:
        return next((course for course in self.courses if course.id == course_id), None)

    @property
    def memory_bytes(self) -> int:
        return parse_size(self.limits.memory)

    @property
    def proxy_environment(self) -> dict[str, str]:
        """Proxy variables for processes on the VM; empty when no proxy is set."""
        http = self.network.http_proxy
        https = self.network.https_proxy or http
        if not (http or https):
            return {}
        env = {"no_proxy": self.network.no_proxy}
        if http:
            env["http_proxy"] = http
        if https:
            env["https_proxy"] = https
        return env


def cross_check(config: HubConfig) -> list[str]:
    """Problems a single field cannot see: "key.path: what is wrong: the fix" each."""
    problems = _https_problems(config)
    hub_instructors = {person.name for person in config.users.instructors}
    seen_ids: set[str] = set()
    for index, course in enumerate(config.courses):
        key = f"courses.{index}"
        if course.id in seen_ids:
            problems.append(
                f"{key}.id: '{course.id}' is used by another course: give each its own id"
            )
        seen_ids.add(course.id)
        for position, name in enumerate(course.instructors):
            if name not in hub_instructors:
                problems.append(
                    f"{key}.instructors.{position}: '{name}' is not in users.instructors:"
                    " add them there first"
                )
        roles = {"instructors": course.instructors, "graders": course.graders}
        roles["students"] = course.students
        first_role: dict[str, str] = {}
        for role, names in roles.items():
            for position, name in enumerate(names):
                if name in first_role:
                    problems.append(
                        f"{key}.{role}.{position}: '{name}' is already one of this course's"
                        f" {first_role[name]}: list each person once per course"
                    )
                first_role.setdefault(name, role)
    return problems


def _https_problems(config: HubConfig) -> list[str]:
    https, problems = config.https, []
    if https.mode == "letsencrypt" and not https.domain:
        problems.append(
            "https.domain: letsencrypt needs the hub's DNS name: add domain: hub.example.edu,"
            " or use mode: self-signed for a hub reached by IP"
        )
    if https.mode == "manual":
        problems += [
            f"https.{key}: manual needs the certificate's {what}: add {key}: PATH"
            for key, what in (("cert", "PEM file"), ("key", "key file"))
            if getattr(https, key) is None
        ]
    if https.enabled and config.hub.port != 80:
        problems.append(
            f"hub.port: {config.hub.port} is for plain HTTP, but https.mode is {https.mode}"
            " (the hub answers on 443, and 80 redirects there): remove hub.port or set"
            " https.mode: off"
        )
    return problems
