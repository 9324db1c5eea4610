"""The exam plugin's actions on the VM: `python -m hubctl_plugins.exam.vm ACTION` as root in
the hub's venv, a JSON request on stdin, a JSON answer on stdout ({"error": ...} and exit
status 1 when refused, nothing changed), like hubctl.hub.manage. `stop COURSE` and
`reconcile` also run without stdin: from the --until timer and the boot unit."""

import json
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from hubctl.hub.hubapi import HubApi, HubApiError
from hubctl.hub.manage import Refused, hub_config
from hubctl_plugins.exam import exams
from hubctl_plugins.exam.timing import BadTime, parse_until

PLUGIN = "exam"
TIMER = "hubctl-exam-end-{}"
STOP_WAIT_SECONDS = 120


def course_of(request: dict):
    """The course the request names, once hub.yaml says the plugin is on and knows it."""
    config = hub_config()
    if PLUGIN not in config.plugins:
        raise Refused(
            "the exam plugin is not enabled on this hub:"
            " add `exam: {}` under plugins: in hub.yaml and run `hubctl install`"
        )
    courses = {course.id: course for course in config.courses}
    if request["course"] not in courses:
        known = ", ".join(courses) or "none yet"
        raise Refused(f"no course '{request['course']}' in hub.yaml (courses: {known})")
    return courses[request["course"]]


def start(request: dict) -> dict:
    course = course_of(request)
    at = exams.now()
    until = None
    if request.get("until"):
        try:
            until = parse_until(request["until"], at, ZoneInfo(course.timezone))
        except BadTime as error:
            raise Refused(str(error)) from None
    again = course.id in exams.running(at)
    api = HubApi()
    members = course_students(api, course.id)
    exam = {"started": at.isoformat(), "until": until and until.isoformat(),
            "students": sorted(members)}  # fmt: skip
    if again:
        exam["started"] = exams.running(at)[course.id]["started"]
    exams.write(course.id, exam)
    shut_out = exams.apply()
    set_timer(course.id, until)
    restarted = [] if again else restart_servers(api, members)
    return {"course": course.id, "until": exam["until"], "students": len(members),
            "uids": len(shut_out), "restarted": restarted, "again": again}  # fmt: skip


def stop(request: dict) -> dict:
    course = course_of(request)
    recorded = exams.read_all()
    if course.id not in recorded:
        raise Refused(f"no exam is running in {course.id}: nothing to stop")
    exam = recorded[course.id]
    exams.forget(course.id)
    exams.apply()
    set_timer(course.id, None)
    api = HubApi()
    members = course_students(api, course.id) | exams.students(course.id, exam)
    return {"course": course.id, "restarted": restart_servers(api, members)}


def status(request: dict) -> dict:
    return {"exams": [{"course": course, **exam} for course, exam in exams.running().items()]}


def reconcile(request: dict) -> dict:
    """At boot: forget exams whose end passed while the VM was down (their servers are not
    running), load the table for the rest and set their timers again."""
    at = exams.now()
    ended = [course for course, exam in exams.read_all().items() if exams.is_over(exam, at)]
    for course in ended:
        exams.forget(course)
    running = exams.running(at)
    exams.apply(running)
    for course, exam in running.items():
        set_timer(course, exam["until"] and datetime.fromisoformat(exam["until"]))
    return {"ended": ended, "running": sorted(running)}


def course_students(api: HubApi, course: str) -> set[str]:
    group = exams.STUDENTS_GROUP.format(course)
    hub = {name for name, user in api.users().items() if group in user.get("groups", [])}
    return hub | exams.students(course, {})


def restart_servers(api: HubApi, names: set[str]) -> list[str]:
    """Stop the running servers of `names`, wait for them to be gone, start them again: the
    spawner's hook then gives each the options of the exam (or none, after it)."""
    users = wait_settled(api, names)  # a server still starting would keep its old options
    running = sorted(name for name in names if users.get(name, {}).get("server"))
    for name in running:
        api.call("DELETE", f"/users/{name}/server")
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    waiting = set(running)
    while waiting:
        users = api.users()
        waiting = {
            name for name in waiting if users[name].get("server") or users[name].get("pending")
        }
        if waiting and time.monotonic() > deadline:
            raise HubApiError(
                f"servers did not stop in {STOP_WAIT_SECONDS} s: {', '.join(sorted(waiting))}"
            )
        time.sleep(0.5 if waiting else 0)
    for name in running:
        wait_unloaded(f"jupyter-{name}-singleuser.service")
        api.call("POST", f"/users/{name}/server")
    return running


def wait_settled(api: HubApi, names: set[str]) -> dict[str, dict]:
    """The hub's users once none of `names` has a start or stop under way."""
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while True:
        users = api.users()
        if not any(users.get(name, {}).get("pending") for name in names):
            return users
        if time.monotonic() > deadline:
            raise HubApiError(f"servers still starting or stopping after {STOP_WAIT_SECONDS} s")
        time.sleep(1)


def wait_unloaded(unit: str, seconds: float = 30) -> None:
    """SystemdSpawner's systemd-run fails while the stopped unit is still loaded (anything
    that asked systemd about it keeps it a moment): wait for systemd to let it go. Asking
    with list-units does not load it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        listed = subprocess.run(
            ["systemctl", "list-units", "--all", "--plain", "--no-legend", unit],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        if not listed.strip():
            return
        time.sleep(0.5)


def set_timer(course: str, until) -> None:
    """The transient timer that ends the exam at `until` (none when None). Transient units
    do not survive a reboot: the boot unit sets them again (reconcile)."""
    unit = TIMER.format(course)
    subprocess.run(["systemctl", "stop", f"{unit}.timer"], capture_output=True, check=False)
    subprocess.run(
        ["systemctl", "reset-failed", f"{unit}.service"], capture_output=True, check=False
    )
    if until is None:
        return
    at = until.astimezone(exams.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    subprocess.run(
        ["systemd-run", f"--unit={unit}", f"--on-calendar={at}", "--timer-property=AccuracySec=1s",
         "--", sys.executable, "-m",
         "hubctl_plugins.exam.vm", "stop", course],
        capture_output=True, text=True, check=True,
    )  # fmt: skip


ACTIONS = {"start": start, "stop": stop, "status": status, "reconcile": reconcile}


def main() -> None:
    action = sys.argv[1]
    # the timer's `stop COURSE` and the boot unit's `reconcile` have no stdin
    if len(sys.argv) > 2:
        request = {"course": sys.argv[2]}
    elif action == "reconcile":
        request = {}
    else:
        request = json.load(sys.stdin)
    try:
        answer = ACTIONS[action](request)
    except (Refused, HubApiError, subprocess.CalledProcessError, OSError) as error:
        message = getattr(error, "stderr", None) or str(error)
        json.dump({"error": str(message).strip()}, sys.stdout)
        sys.exit(1)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
