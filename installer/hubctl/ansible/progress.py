"""Show an Ansible run as one line per step: a live spinner on a terminal, plain lines in logs."""

import shutil
import sys
import time
from typing import TextIO

import click

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
STYLES = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "red"}


class Progress:
    """Receives the callback's events; prints a line when each step ends."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.step: str | None = None
        self.step_started = 0.0
        self.frame = 0
        self.quiet = False
        self.diffs: list[str] = []  # shown under the step they belong to, once it ends

    def handle(self, event: dict) -> None:
        if event["event"] == "task_start":
            self._finish_step(None)
            self.step, self.step_started = event["name"], time.monotonic()
            self.quiet = event.get("quiet", False)
            self.tick()
        elif event["event"] == "task_result" and event["name"] == self.step:
            self._finish_step(event["status"])
        elif event["event"] == "diff":
            self.diffs.append(event["text"])

    def tick(self) -> None:
        if self.live and self.step:
            self.frame = (self.frame + 1) % len(SPINNER)
            elapsed = time.monotonic() - self.step_started
            line = f"{SPINNER[self.frame]} {self.step}  {elapsed:.0f}s"
            self.stream.write("\r\033[K" + line[: shutil.get_terminal_size().columns - 1])
            self.stream.flush()

    def close(self) -> None:
        self._finish_step(None)

    def _finish_step(self, status: str | None) -> None:
        if not self.step:
            return
        if self.live:
            self.stream.write("\r\033[K")
        if status not in (None, "skipped") and not (self.quiet and status == "ok"):
            elapsed = time.monotonic() - self.step_started
            label = f"{status:<8}"
            if self.live:
                label = click.style(label, fg=STYLES.get(status))
            self.stream.write(f"{label} {self.step} ({elapsed:.1f}s)\n")
        for diff in self.diffs:
            self.stream.write(diff if diff.endswith("\n") else diff + "\n")
        self.diffs.clear()
        self.stream.flush()
        self.step = None
