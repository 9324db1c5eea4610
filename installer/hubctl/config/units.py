"""Sizes and durations as people write them in hub.yaml ("2G", "90m")."""

import re

SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION_RE = re.compile(r"(\d+)\s*([smhd])")


def parse_size(text: str | int) -> int:
    """Bytes in "512M", "2G", "1.5G" or a plain number of bytes; ValueError otherwise."""
    match = SIZE_RE.match(str(text).strip().upper())
    if not match:
        raise ValueError(text)
    number, unit = match.groups()
    return int(float(number) * SIZE_UNITS[unit])


def parse_duration(text: str | int) -> int:
    """Seconds in "90s", "30m", "1h30m", "2d" or a plain number of seconds; ValueError otherwise."""
    if isinstance(text, int):
        if text < 0:
            raise ValueError(text)
        return text
    compact = str(text).strip().lower().replace(" ", "")
    if compact.isdigit():
        return int(compact)
    parts = DURATION_RE.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(text)
    return sum(int(number) * DURATION_UNITS[unit] for number, unit in parts)
