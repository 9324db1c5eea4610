"""nbgrader's filesystem exchange with modes a student cannot abuse.

nbgrader leaves each submission folder 0777 with its files 0644 (its issues 978, 1225), and
each released feedback file 0644: anyone who learns a path can read or change it. These
subclasses close that right after nbgrader's own copy:

- a submission becomes 0750/0640; the inbound folder's setgid gives it the course grader's
  group, so the grader collects it and no other student can read, list or change it;
- a feedback file becomes 0600 plus a read ACL for its own student only.
"""

import glob
import os
import subprocess

from nbgrader.exchange.default import ExchangeReleaseFeedback as _ReleaseFeedback
from nbgrader.exchange.default import ExchangeSubmit as _Submit
from nbgrader.utils import notebook_hash

SUBMISSION_DIR_MODE = 0o750
SUBMISSION_FILE_MODE = 0o640


class ExchangeSubmit(_Submit):
    def copy_files(self):
        super().copy_files()
        submission = os.path.join(self.inbound_path, self.assignment_filename)
        self.set_perms(submission, SUBMISSION_FILE_MODE, SUBMISSION_DIR_MODE)


class ExchangeReleaseFeedback(_ReleaseFeedback):
    def copy_files(self):
        super().copy_files()
        for student, path in self.released_feedback():
            os.chmod(path, 0o600)
            subprocess.run(["setfacl", "--modify", f"user:{student}:r", path], check=True)

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
