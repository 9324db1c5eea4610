"""What each role's Jupyter server loads: one config folder per role, named by the server's
JUPYTER_CONFIG_PATH (the spawner picks student or staff; course services use formgrader).

- student: the assignment list and validate; no formgrader, no Create Assignment, no courses.
- staff: an instructor's or grader's own server: the course list, which links to each course's
  formgrader service; no local formgrader (their own home is not a course).
- formgrader: a course's service, run as the course's grader account: formgrader and Create
  Assignment, framed only by its own JupyterLab; student work in it runs no script
  (formgrader_frames.py, student_content.py).
"""

from hubctl import layout
from hubctl.nbgrader.grading_kernel import kernel_spec

NBGRADER = "@jupyter/nbgrader"
SERVER_EXTENSION = "nbgrader.server_extensions.{}"
HIDDEN = {
    "student": ["formgrader", "create-assignment", "course-list"],
    "staff": ["formgrader", "create-assignment"],
    "formgrader": ["assignment-list", "course-list"],
}
SERVER_OFF = {
    "student": ["formgrader", "course_list"],
    "staff": ["formgrader"],
    "formgrader": ["assignment_list", "course_list"],
}
EXCHANGE_CLASSES = {
    "submit": "hubctl.nbgrader.exchange.ExchangeSubmit",
    "release_feedback": "hubctl.nbgrader.exchange.ExchangeReleaseFeedback",
}


def profile_for(admin: bool, group_names: list[str]) -> str:
    """'staff' for instructors and graders (the course list), 'student' for everyone else."""
    staff = admin or any(name.startswith("formgrade-") for name in group_names)
    return "staff" if staff else "student"


def nbgrader_config(profile: str) -> dict:
    config = {
        "Exchange": {"root": layout.EXCHANGE_DIR},
        # nbgrader then leaves the exchange root alone: root owns it, 0755, and hubctl makes
        # each course's folders (non-groupshared nbgrader insists on a 0777 root).
        "CourseDirectory": {"groupshared": True},
        "ExchangeFactory": EXCHANGE_CLASSES,
    }
    if profile == "formgrader":
        # The receiver names each submission after the account that handed it in (its
        # socket's peer) and gives the folder to the grader: owner and name never match.
        config["ExchangeCollect"] = {"check_owner": False}
    if profile == "staff":
        config["Authenticator"] = {"plugin_class": "nbgrader.auth.JupyterHubAuthPlugin"}
    if profile == "formgrader":
        # every notebook nbgrader executes here runs in the grading sandbox, over unix
        # sockets (grading_kernel); a formgrader without the kernel spec fails, not runs it
        config["Execute"] = {"kernel_name": layout.GRADING_KERNEL_NAME}
        config["KernelManager"] = {"transport": "ipc"}
    return config


def profile_files(profile: str) -> dict[str, dict]:
    """{path inside the profile folder: JSON document}."""
    extensions = {SERVER_EXTENSION.format(name): False for name in SERVER_OFF[profile]}
    if profile == "formgrader":
        extensions["hubctl.nbgrader.formgrader_frames"] = True
    files = {
        "labconfig/page_config.json": {
            "disabledExtensions": {f"{NBGRADER}:{name}": True for name in HIDDEN[profile]}
        },
        "jupyter_server_config.json": {"ServerApp": {"jpserver_extensions": extensions}},
        "nbgrader_config.json": nbgrader_config(profile),
    }
    if profile == "formgrader":  # the profile folder is also the formgraders' JUPYTER_PATH
        files[f"kernels/{layout.GRADING_KERNEL_NAME}/kernel.json"] = kernel_spec()
    return files


def all_profiles() -> list[dict]:
    """[{profile, path, content}] for the playbook."""
    return [
        {"profile": profile, "path": path, "content": content}
        for profile in HIDDEN
        for path, content in profile_files(profile).items()
    ]
