"""hubctl's day-to-day commands on the VM (`hubctl users ...`, `course status`, `grades export`).

Run as root from the hub venv: `python -m hubctl.hub.manage ACTION` with a JSON request on
stdin; prints a JSON answer, or {"error": "..."} with exit status 1. Accounts are written to
the hub database, group changes go through the running hub's API, and the Linux side
(users, course groups, gradebooks) is done here.
"""

import json
import pwd
import sys
from pathlib import Path

from hubctl import layout
from hubctl.config import HubConfig, parse_config
from hubctl.hub import accounts, enrolment, health
from hubctl.hub.hubapi import HubApi, HubApiError
from hubctl.hub.unix_users import AccountRefused, is_refused, run

ROLE_GROUPS = {"student": "nbgrader-{}", "grader": "formgrade-{}", "instructor": "formgrade-{}"}


class Refused(Exception):
    """The request cannot be done; nothing was changed."""


def hub_config() -> HubConfig:
    return parse_config(Path(layout.CONFIG_FILE).read_text(encoding="utf-8"), layout.CONFIG_FILE)


def course_ids(course: str | None) -> list[str]:
    ids = [course.id for course in hub_config().courses]
    if course is not None and course not in ids:
        known = ", ".join(ids) or "none yet"
        raise Refused(f"no course '{course}' in hub.yaml (courses: {known}): add it and install")
    return ids


def enrol(session, api: HubApi, request: dict) -> dict:
    """Accounts for `names` (approved; new ones get a password), enrolled in `course` as
    `role`. Doing it twice changes nothing."""
    course, role, names = request.get("course"), request.get("role", "student"), request["names"]
    course_ids(course)
    refused = [name for name in names if is_refused(name)]
    if refused:
        raise Refused(f"refused, nothing changed: {', '.join(refused)} belong to this machine")
    created = accounts.claim_accounts(session, [{"name": name} for name in names])["created"]
    known = api.users()
    for name in names:
        api.ensure_user(name, known)
    enrolled = []
    if course is not None:
        group = ROLE_GROUPS[role].format(course)
        enrolled = [name for name in names if group not in known[name]["groups"]]
        api.add_to_group(group, enrolled)
        if role == "student":
            enrolment.enrol_students(course, names)
        if role == "instructor":
            for name in names:
                api.call("PATCH", f"/users/{name}", {"admin": True})
    return {"created": created, "enrolled": enrolled}


def list_users(session, api: HubApi, request: dict) -> dict:
    approved = accounts.list_accounts(session)
    hub_users = api.users()
    rows = []
    for name in sorted(set(approved) | set(hub_users)):
        user = hub_users.get(name, {})
        rows.append(
            {
                "name": name,
                "approved": approved.get(name, False),
                "admin": user.get("admin", False),
                "groups": sorted(user.get("groups", [])),
                "server": bool(user.get("server")),
            }
        )
    return {"users": rows}


def remove(session, api: HubApi, request: dict) -> dict:
    """Delete the hub account (its server stops) and take the name out of every course. The
    Linux user leaves hubctl's group, so nobody can sign up under the name and inherit the
    files, which stay unless `delete_files`. Answers where the files are, if anywhere."""
    name = request["name"]
    accounts.remove(session, name)
    if name in api.users():
        api.delete_user(name)
    try:
        home = pwd.getpwnam(name).pw_dir
    except KeyError:
        return {"files": None}  # never had a server: no Linux user, no files
    for course in course_ids(None):
        enrolment.leave_course(course, name)
    if request.get("delete_files"):
        run(["userdel", "--remove", name])
        return {"files": None}
    run(["gpasswd", "--delete", name, layout.USERS_GROUP])
    return {"files": home}


def approve(session, api: HubApi, request: dict) -> dict:
    return {"changed": accounts.approve(session, request["name"])}


def reset_password(session, api: HubApi, request: dict) -> dict:
    return {"password": accounts.reset_password(session, request["name"])}


def course_status(session, api: HubApi, request: dict) -> dict:
    course_ids(request["course"])
    return json.loads(enrolment.as_grader(request["course"], "status"))


def export_grades(session, api: HubApi, request: dict) -> dict:
    course_ids(request["course"])
    return {"csv": enrolment.as_grader(request["course"], "export")}


def status(session, api: HubApi, request: dict) -> dict:
    facts = health.gather(HubApi(starting_retries=0), accounts.list_accounts(session))
    return {"facts": facts, "problems": health.judge(facts)}


ACTIONS = {
    "enrol": enrol,
    "list": list_users,
    "remove": remove,
    "approve": approve,
    "reset-password": reset_password,
    "course-status": course_status,
    "export-grades": export_grades,
    "status": status,
}


def main() -> None:
    action = sys.argv[1]
    request = json.load(sys.stdin)
    session = accounts.open_session(f"sqlite:///{layout.DATABASE_FILE}")
    try:
        answer = ACTIONS[action](session, HubApi(), request)
    except (Refused, LookupError, AccountRefused, HubApiError, RuntimeError) as error:
        json.dump({"error": str(error).strip("'\"")}, sys.stdout)
        sys.exit(1)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
