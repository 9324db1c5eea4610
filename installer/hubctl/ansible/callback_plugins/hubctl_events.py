"""Ansible callback that writes one JSON line per event for hubctl's progress display."""

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: hubctl_events
type: notification
short_description: JSON lines of task starts, results and stats for hubctl
description: Writes to the file named by the HUBCTL_EVENTS_FILE environment variable.
"""

MESSAGE_KEYS = ("msg", "stderr", "module_stderr", "stdout", "reason", "censored")
# Steps that are bookkeeping, not work: shown only if they fail.
QUIET_ACTIONS = {"ansible.builtin.validate_argument_spec", "validate_argument_spec"}


def _name(task) -> str:
    """The task's own name, without the "role : " prefix Ansible adds."""
    return (task.name or task.get_name()).strip()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "hubctl_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._out = open(os.environ["HUBCTL_EVENTS_FILE"], "a", encoding="utf-8")  # noqa: SIM115

    def _emit(self, **event):
        self._out.write(json.dumps(event, default=str) + "\n")
        self._out.flush()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._emit(event="task_start", name=_name(task), quiet=task.action in QUIET_ACTIONS)

    def v2_playbook_on_handler_task_start(self, task):
        self._emit(event="task_start", name=_name(task), quiet=False)

    def _result(self, result, status):
        data = result._result
        message = next((str(data[key]) for key in MESSAGE_KEYS if data.get(key)), "")
        self._emit(
            event="task_result",
            status=status,
            name=_name(result._task),
            host=result._host.get_name(),
            address=result._host.vars.get("ansible_host", result._host.get_name()),
            message=message,
        )

    def v2_runner_on_ok(self, result):
        self._result(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_on_file_diff(self, result):
        diffs = result._result.get("diff")
        if diffs and not result._task.no_log:
            text = self._get_diff(diffs if isinstance(diffs, list) else [diffs])
            if text.strip():
                self._emit(event="diff", name=_name(result._task), text=text)

    def v2_playbook_on_stats(self, stats):
        hosts = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._emit(event="stats", hosts=hosts, custom=stats.custom.get("_run", {}))
