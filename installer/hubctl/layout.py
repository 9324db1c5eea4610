"""Where hubctl puts things on the hub VM: the single source for the playbooks and the hub."""

ETC = "/etc/hubctl"
CONFIG_FILE = f"{ETC}/hub.yaml"
JUPYTERHUB_CONFIG_FILE = f"{ETC}/jupyterhub_config.py"
SECRETS_DIR = f"{ETC}/secrets"
COOKIE_SECRET_FILE = f"{SECRETS_DIR}/jupyterhub_cookie_secret"
PROXY_TOKEN_ENV_FILE = f"{SECRETS_DIR}/proxy-auth-token.env"
ADMIN_TOKEN_FILE = f"{SECRETS_DIR}/hubctl-api-token"
# What the enabled plugins add to JupyterHub's config (hubctl_hub_config), as JSON.
PLUGIN_HUB_CONFIG_FILE = f"{ETC}/plugins-hub-config.json"
# The enabled plugins for their VM hooks: [{name, module, settings}] (settings may be secret).
PLUGINS_FILE = f"{ETC}/plugins.json"
STATE_DIR = "/var/lib/hubctl"
DATABASE_FILE = f"{STATE_DIR}/jupyterhub.sqlite"
# Packages the install added (not the VM's own): what `hubctl uninstall` purges.
ADDED_PACKAGES_FILE = f"{STATE_DIR}/apt-packages-added"
BACKUP_DIR = "/var/backups/hubctl"
BACKUP_UNIT = "hubctl-backup.service"  # nightly backups, started by hubctl-backup.timer
BACKUP_TIMER = "hubctl-backup.timer"
PREFIX = "/opt/hubctl"
HUB_VENV = f"{PREFIX}/hub"
USER_VENV = f"{PREFIX}/user"
LIB_DIR = f"{PREFIX}/lib"
PLUGINS_CODE_DIR = f"{PREFIX}/plugins"  # the enabled plugins' packages, on the hub venv's path
# sha256 of the hub code archive last unpacked: another one means an upgrade (backup first).
HUB_CODE_CHECKSUM_FILE = f"{PREFIX}/hub-code.sha256"
# Jupyter config per role (JUPYTER_CONFIG_PATH of each server): what JupyterLab shows whom.
JUPYTER_PROFILES_DIR = f"{LIB_DIR}/jupyter-profiles"
SITE_CA_FILE = "/usr/local/share/ca-certificates/hubctl-site-ca.crt"
USERS_GROUP = "hubctl-users"
NBGRADER_DIR = "/srv/nbgrader"
EXCHANGE_DIR = f"{NBGRADER_DIR}/exchange"
COURSES_DIR = f"{NBGRADER_DIR}/courses"
GRADER_PREFIX = "grader-"  # Linux account that owns a course's files and runs its formgrader
COURSE_GROUP_PREFIX = "hubctl-"  # Linux group of a course's students: the exchange's gate
# Course data the plugins keep (the datasets plugin's folders): `hubctl uninstall` keeps it
# unless --delete-data, like the courses.
PLUGIN_DATA_DIR = "/srv/hubctl"
DATASETS_DIR = f"{PLUGIN_DATA_DIR}/datasets"
# The Linux group that may write a course's dataset (its instructors): COURSE_GROUP_PREFIX +
# id + this. '+' is in no course id or user name, and the name stays within Linux's 32
# characters (a course id has at most 24).
DATASET_WRITERS_SUFFIX = "+"
FORMGRADER_FIRST_PORT = 10100
# Each course's formgrader is its own unit, an external hub service: the hub neither starts
# it nor waits for it (JupyterHub gives a managed service 10 s, then exits).
FORMGRADER_UNIT_TEMPLATE = "hubctl-formgrader@.service"
FORMGRADER_ENV_DIR = f"{ETC}/formgraders"  # COURSE.env: what the hub would give a service
# Autograding runs each student's notebook in a kernel of its own transient unit, as a
# DynamicUser (docs/security.md, "the grading sandbox"). A course's formgrader asks for one
# through this socket (hubctl-grading.socket, root's broker behind it) ...
GRADING_SOCKET = "/run/hubctl-grading.sock"
GRADING_SOCKET_UNIT = "hubctl-grading.socket"
GRADING_BROKER_UNIT_TEMPLATE = "hubctl-grading@.service"
# ... with the kernel spec that only the formgraders know (on their JUPYTER_PATH) ...
GRADING_KERNEL_NAME = "hubctl-grading"
# ... and talks to the kernel over unix sockets: the formgrader's ends in its own runtime
# folder (RUN_DIR/COURSE, 0700, its JUPYTER_RUNTIME_DIR), linked to the kernel's in the
# kernel unit's runtime folder.
GRADING_RUN_DIR = "/run/hubctl-grading"
GRADING_UNIT_PREFIX = "hubctl-autograde-"
# Where a student's submit hands her submission in: a root-run receiver, one instance per
# connection (Accept=yes), copies it into a folder the course's grader owns (docs/security.md).
SUBMIT_SOCKET_UNIT = "hubctl-submit.socket"
SUBMIT_UNIT_TEMPLATE = "hubctl-submit@.service"
SUBMIT_SOCKET = "/run/hubctl/submit.sock"
# A student builds her submission in EXCHANGE_DIR/ID/SUBMIT_STAGING_DIR/PREFIX*, which only
# the receiver reads; the course's inbound is its grader's alone.
SUBMIT_STAGING_DIR = "staging"
SUBMIT_STAGING_PREFIX = ".submitting-"
HUB_UNIT = "jupyterhub.service"
PROXY_UNIT = "configurable-http-proxy.service"
# hubctl's nftables table, loaded by its own unit (not nftables.service, whose stock
# /etc/nftables.conf begins with `flush ruleset`).
FIREWALL_UNIT = "hubctl-firewall.service"
FIREWALL_RULES_FILE = "/etc/nftables.d/hubctl.nft"
SUDOERS_FILE = "/etc/sudoers.d/hubctl-instructors"  # instructors hub.yaml makes root
HUB_API_PORT = 8081
PROXY_API_PORT = 8001
# With HTTPS on, Caddy (Debian's package and unit) answers on 80 and 443 and the proxy
# moves to this loopback port behind it.
PROXY_INTERNAL_PORT = 8000
TLS_UNIT = "caddy.service"
CADDYFILE = "/etc/caddy/Caddyfile"
TLS_FILES_DIR = "/etc/caddy/hubctl"  # manual cert and key, a private ACME server's root
TLS_CERT_FILE = f"{TLS_FILES_DIR}/cert.pem"
TLS_KEY_FILE = f"{TLS_FILES_DIR}/key.pem"
ACME_CA_ROOT_FILE = f"{TLS_FILES_DIR}/acme-ca-root.pem"
FIRST_USER_UID = 1000


def grader_account(course_id: str) -> str:
    return f"{GRADER_PREFIX}{course_id}"


def course_group(course_id: str) -> str:
    return f"{COURSE_GROUP_PREFIX}{course_id}"


def dataset_writers_group(course_id: str) -> str:
    return f"{COURSE_GROUP_PREFIX}{course_id}{DATASET_WRITERS_SUFFIX}"


def course_dir(course_id: str) -> str:
    return f"{COURSES_DIR}/{course_id}"


def formgrader_unit(course_id: str) -> str:
    return FORMGRADER_UNIT_TEMPLATE.replace("@", f"@{course_id}")


def grading_runtime_dir(course_id: str) -> str:
    """The course formgrader's JUPYTER_RUNTIME_DIR (its RuntimeDirectory)."""
    return f"{GRADING_RUN_DIR}/{course_id}"


def grading_kernel_ip(course_id: str) -> str:
    """KernelManager.ip of the course's grading kernels (transport ipc: their sockets are
    IP-N). The courses role writes it into the course's nbgrader_config.json."""
    return f"{grading_runtime_dir(course_id)}/kernel"


def formgrader_token_file(course_id: str) -> str:
    """JUPYTERHUB_API_TOKEN=... of the course's formgrader (made once, 0600)."""
    return f"{SECRETS_DIR}/formgrader-{course_id}.env"


def as_dict() -> dict[str, object]:
    """All the constants above, for Ansible's extra vars."""
    return {name.lower(): value for name, value in globals().items() if name.isupper()}
