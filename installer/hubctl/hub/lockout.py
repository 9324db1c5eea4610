"""When a name locked out after too many failed logins may try again."""

from datetime import datetime


def lockout_is_over(last_failure: datetime, now: datetime, lockout_seconds: int) -> bool:
    # NativeAuthenticator compares timedelta.seconds, which drops whole days: a lockout of a
    # day or more never ended, and one tried again a day and a few seconds later lasted again.
    return (now - last_failure).total_seconds() > lockout_seconds
