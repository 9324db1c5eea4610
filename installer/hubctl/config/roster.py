"""Read a class roster (CSV) into hub user names, the way spreadsheets really export them:
a header row, a UTF-8 BOM, Windows line endings, stray spaces, mixed case, repeated rows."""

import csv
import io
from pathlib import Path

from pydantic_core import PydanticCustomError

from hubctl.config.schema import check_user_name
from hubctl.errors import HubctlError

NAME_COLUMNS = ("username", "user", "login", "name", "id", "student_id")


class RosterError(HubctlError):
    """A roster row is unusable; nothing from the roster was applied."""


def read_roster(path: Path) -> list[str]:
    """The roster's user names, lowercased, first occurrence order, without repeats."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RosterError(f"{path}: cannot read it: {error.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 text: save the roster as CSV UTF-8") from None
    return parse_roster(text, str(path))


def parse_roster(text: str, source: str) -> list[str]:
    rows = [
        (number, [cell.strip() for cell in row])
        for number, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1)
        if any(cell.strip() for cell in row)
    ]
    if not rows:
        raise RosterError(f"{source}: the roster is empty: put one user name per row")
    column = _name_column(rows[0][1], source)
    names: list[str] = []
    for number, row in rows[1:]:
        cell = row[column] if column < len(row) else ""
        name = cell.lower()
        try:
            check_user_name(name)
        except PydanticCustomError as error:
            raise RosterError(f"{source}:{number}: {error.message()}") from None
        if name not in names:
            names.append(name)
    return names


def _name_column(header: list[str], source: str) -> int:
    lowered = [cell.lower().replace(" ", "_") for cell in header]
    for wanted in NAME_COLUMNS:
        if wanted in lowered:
            return lowered.index(wanted)
    raise RosterError(
        f"{source}:1: no user name column in the header {header!r}: name the column 'username'"
    )
