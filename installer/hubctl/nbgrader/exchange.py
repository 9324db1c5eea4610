"""nbgrader's filesystem exchange with modes a student cannot abuse.

nbgrader leaves each submission folder 0777 with its files 0644 (its issues 978, 1225), and
each released feedback file 0644: anyone who learns a path can read or change it. These
subclasses close that right after nbgrader's own copy, with POSIX ACLs (an owner may set
them; no group fits, since each student is the only member of their own group):

- a submission becomes the student's alone (0700/0600) plus read access for the course's
  grader account, which owns the inbound folder: it collects, no other student gets in;
- a feedback file becomes the grader's alone (0600) plus read access for its own student.

A submission is also copied whole or not at all: nbgrader copies straight into the inbound
folder, so a full disk leaves half a submission that collect would take. Here it is built
in a hidden folder (collect's glob skips dot names) and renamed into place when complete.
"""

import errno
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from nbgrader.exchange.default import ExchangeReleaseFeedback as _ReleaseFeedback
from nbgrader.exchange.default import ExchangeSubmit as _Submit
from nbgrader.utils import notebook_hash


def share_with(path: str, user: str) -> None:
    """Only the owner and `user` (read; folders also searched) may use `path` and below."""
    subprocess.run(["chmod", "-R", "go=", path], check=True)
    subprocess.run(["setfacl", "-R", "--modify", f"user:{user}:rX", path], check=True)


def out_of_space(error: OSError) -> bool:
    """Also for copytree, which gathers its files' errors into one shutil.Error."""
    return error.errno in (errno.ENOSPC, errno.EDQUOT) or any(
        text in str(error) for text in ("No space left on device", "Disk quota exceeded")
    )


class ExchangeSubmit(_Submit):
    def copy_files(self):
        inbound = self.inbound_path
        try:
            building = tempfile.mkdtemp(prefix=".submitting-", dir=inbound)
            try:
                self.inbound_path = building  # nbgrader copies into building/<submission>
                super().copy_files()
                os.rename(os.path.join(building, self.assignment_filename),
                          os.path.join(inbound, self.assignment_filename))  # fmt: skip
            finally:
                self.inbound_path = inbound
                shutil.rmtree(building, ignore_errors=True)
        except OSError as error:
            if not out_of_space(error):
                raise
            self.fail(
                "Not submitted: the course's disk is full. Nothing was handed in;"
                " tell your instructor, then submit again."
            )
        grader = pwd.getpwuid(os.stat(inbound).st_uid).pw_name
        share_with(os.path.join(inbound, self.assignment_filename), grader)


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
