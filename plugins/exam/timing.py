"""`--until`: when an exam ends, as an aware datetime in the course's time zone."""

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
FORMS = "HH:MM (today, in the course's time zone) or YYYY-MM-DDTHH:MM"


class BadTime(ValueError):
    """--until is not a time, or not a future one."""


def check_form(text: str) -> str:
    """The form alone (no clock needed): what the CLI checks before it goes to the hub."""
    if CLOCK.match(text):
        return text
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise BadTime(f"--until '{text}' is not a time: write {FORMS}") from None
    return text


def parse_until(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """`text` as a time after `now` (aware). HH:MM is today in `zone`; an ISO time without
    an offset is in `zone`; one with an offset keeps it. A time not after `now` is an error:
    an exam never rolls over to tomorrow by itself."""
    check_form(text)
    clock = CLOCK.match(text)
    if clock:
        today = now.astimezone(zone).date()
        until = datetime.combine(today, time(int(clock[1]), int(clock[2])), tzinfo=zone)
    else:
        until = datetime.fromisoformat(text)
        if until.tzinfo is None:
            until = until.replace(tzinfo=zone)
    if until <= now:
        shown = until.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        raise BadTime(f"--until '{text}' ({shown}) is past: give a later time")
    return until
