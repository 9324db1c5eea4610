"""The one-time passwords of new accounts, in a CSV the instructor can hand out."""

import csv
import os
from pathlib import Path


def write_passwords(path: Path, accounts: list[dict]) -> Path:
    """Append `username,password` rows (header first in a new file); the file is 0600."""
    new = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(path, 0o600)
    with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(["username", "password"])
        writer.writerows([account["name"], account["password"]] for account in accounts)
    return path
