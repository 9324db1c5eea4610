"""nbgrader's command line on the hub VM, run as a course's people run it: a student in her
home with her JupyterLab's settings (the same exchange code as the Assignments panel), and
the course's grader account in the course folder with the formgrader's settings."""

PROFILES = "/opt/hubctl/lib/jupyter-profiles"
NBGRADER = "/opt/hubctl/user/bin/nbgrader"


def as_grader(guest, course: str, *args: str, check: bool = True, input: str | None = None):  # noqa: A002
    course_dir = f"/srv/nbgrader/courses/{course}"
    env = ["env", f"HOME={course_dir}", f"JUPYTER_CONFIG_PATH={PROFILES}/formgrader",
           f"JUPYTER_PATH={PROFILES}/formgrader"]  # the grading sandbox's kernel  # fmt: skip
    return guest.run(["sh", "-c", f"cd {course_dir} && runuser -u grader-{course} -- \"$@\"",
                      "-", *env, *args], check=check, input=input)  # fmt: skip


def as_student(guest, student: str, *args: str, check: bool = True, input: str | None = None):  # noqa: A002
    env = ["env", f"HOME=/home/{student}", f"JUPYTER_CONFIG_PATH={PROFILES}/student"]
    return guest.run(["sh", "-c", f"cd /home/{student} && runuser -u {student} -- \"$@\"", "-",
                      *env, *args], check=check, input=input)  # fmt: skip
