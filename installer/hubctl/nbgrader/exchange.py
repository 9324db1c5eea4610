"""nbgrader's filesystem exchange with modes a student cannot abuse.

nbgrader leaves each submission folder 0777 and owned by its student, who can change it
after the due date, and each released feedback file 0644: anyone who learns a path can read
or change it. These subclasses close that:

- submit builds the submission in a folder of the student's own in the course's staging
  folder, then hands it to hubctl's receiver (hubctl.nbgrader.receiver, run as root by
  systemd for each submission), which copies what may be copied into a folder the course's
  grader owns in the course's inbound, where students cannot write, stamped with the time it
  received it. The student's own listing (her cache) gets that time.
- a feedback file becomes the grader's alone (0600) plus read access for its own student,
  with a POSIX ACL (an owner may set one; no group fits, each student is alone in hers).

A full disk hands in nothing: the receiver renames its folder into place only when whole.
"""

import errno
import glob
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile

from nbgrader.exchange.default import ExchangeReleaseFeedback as _ReleaseFeedback
from nbgrader.exchange.default import ExchangeSubmit as _Submit
from nbgrader.utils import check_mode, notebook_hash

from hubctl import layout
from hubctl.nbgrader import receiver

DISK_FULL = (
    "Not submitted: the course's disk is full. Nothing was handed in;"
    " tell your instructor, then submit again."
)
RECEIVER_SECONDS = 600


def share_with(path: str, user: str) -> None:
    """Only the owner and `user` (read; folders also searched) may use `path` and below."""
    subprocess.run(["chmod", "-R", "go=", path], check=True)
    subprocess.run(["setfacl", "-R", "--modify", f"user:{user}:rX", path], check=True)


def out_of_space(error: OSError) -> bool:
    """Also for copytree, which gathers its files' errors into one shutil.Error."""
    return error.errno in (errno.ENOSPC, errno.EDQUOT) or any(
        text in str(error) for text in ("No space left on device", "Disk quota exceeded")
    )


def ask_receiver(
    course: str, assignment: str, staging: str, path: str = layout.SUBMIT_SOCKET
) -> dict:
    """Ask the receiver to take the staged submission: its answer (receiver.serve)."""
    request = {"course": course, "assignment": assignment, "staging": staging}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(RECEIVER_SECONDS)
        connection.connect(path)
        connection.sendall(json.dumps(request).encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n") and (chunk := connection.recv(65536)):
            answer += chunk
    return json.loads(answer)


class ExchangeSubmit(_Submit):
    def init_dest(self):
        """nbgrader's, but the student writes to the staging folder, not to inbound."""
        course = self.coursedir.course_id
        if course == "":
            self.fail("No course id specified. Re-run with --course flag.")
        if not self.authenticator.has_access(self.coursedir.student_id, course):
            self.fail("You do not have access to this course.")
        self.inbound_path = os.path.join(self.root, course, "inbound")
        self.staging_path = os.path.join(self.root, course, layout.SUBMIT_STAGING_DIR)
        if not check_mode(self.staging_path, write=True, execute=True):
            self.fail(f"You don't have write permissions to the directory: {self.staging_path}")
        self.cache_path = os.path.join(self.cache, course)

    def copy_files(self):
        self.init_release()
        self.check_filename_diff()
        self.log.info("Source: %s", self.src_path)
        secret = secrets.token_hex(64)
        try:
            staging = tempfile.mkdtemp(prefix=layout.SUBMIT_STAGING_PREFIX, dir=self.staging_path)
            try:
                content = os.path.join(staging, receiver.CONTENT)
                self.do_copy(self.src_path, content)
                with open(os.path.join(content, "submission_secret.txt"), "w") as handle:
                    handle.write(secret)
                answer = self.hand_in(os.path.basename(staging))
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        except OSError as error:
            if not out_of_space(error):
                raise
            self.fail(DISK_FULL)
        if answer.get("error") == receiver.DISK_FULL:
            self.fail(DISK_FULL)
        if "error" in answer:
            self.fail(f"Not submitted: {answer['error']}.")
        for name in answer["skipped"]:
            self.log.warning("Not handed in (not a regular file of yours): %s", name)
        self.timestamp = answer["timestamp"]
        student = answer["name"].split("+", 1)[0]
        self.cache_submission(f"{student}+{self.coursedir.assignment_id}+{self.timestamp}", secret)
        self.log.info("Destination: %s", os.path.join(self.inbound_path, answer["name"]))
        self.log.info(
            "Submitted as: %s %s %s",
            self.coursedir.course_id, self.coursedir.assignment_id, self.timestamp,
        )  # fmt: skip

    def hand_in(self, staging: str) -> dict:
        try:
            return ask_receiver(self.coursedir.course_id, self.coursedir.assignment_id, staging)
        except (OSError, ValueError) as error:
            self.log.error("The submission receiver did not answer: %s", error)
            self.fail("Not submitted: the hub did not take the submission; tell your instructor.")

    def cache_submission(self, name: str, secret: str) -> None:
        """The student's own copy, which her listing and fetch_feedback read."""
        cache = os.path.join(self.cache_path, name)
        os.makedirs(self.cache_path, exist_ok=True)
        self.do_copy(self.src_path, cache)
        for file, text in (("timestamp.txt", self.timestamp), ("submission_secret.txt", secret)):
            with open(os.path.join(cache, file), "w") as handle:
                handle.write(text)


class ExchangeReleaseFeedback(_ReleaseFeedback):
    def copy_files(self):
        super().copy_files()
        for student, path in self.released_feedback():
            share_with(path, student)

    def released_feedback(self):
        """(student, feedback file in the exchange) for what this run released."""
        pattern = self.coursedir.format_path(
            self.coursedir.feedback_directory,
            self.coursedir.student_id or "*",
            self.coursedir.assignment_id,
        )
        for folder in glob.glob(pattern):
            student = os.path.basename(os.path.dirname(folder))
            secret_file = os.path.join(folder, "submission_secret.txt")
            if not os.path.isfile(secret_file):
                continue
            with open(secret_file) as handle:
                secret = handle.read()
            for html in glob.glob(os.path.join(folder, "*.html")):
                notebook = os.path.splitext(os.path.basename(html))[0]
                checksum = notebook_hash(secret=secret, notebook_id=notebook)
                path = os.path.join(self.dest_path, f"{checksum}.html")
                if os.path.exists(path):
                    yield student, path
