"""The kernel a course's formgrader starts when nbgrader executes a student's notebook
(autograde): a stand-in that asks the grading broker (hubctl.hub.grading_sandbox) for the
real kernel, which runs sandboxed in a unit of its own, and lives as long as it does.

The formgrader's kernel manager wrote a connection file whose sockets (ipc, PREFIX-N) are in
the formgrader's own runtime folder; once the broker says the kernel listens, those names
become links to the kernel's sockets. When the kernel manager stops this process, the
connection to the broker closes and the broker stops the kernel's unit.

Kernel spec argv: python3 -m hubctl.nbgrader.grading_kernel {connection_file}
"""

import json
import os
import socket
import sys

from hubctl import layout


def kernel_spec() -> dict:
    """kernel.json of the formgraders' only way to run a student's notebook."""
    return {
        "argv": [f"{layout.USER_VENV}/bin/python3", "-m", __name__, "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        # the process here is not the kernel: a signal would not reach it
        "interrupt_mode": "message",
    }


def link_sockets(links: dict[str, str], prefix: str) -> None:
    for ours, kernels in links.items():
        if not ours.startswith(prefix + "-"):
            raise ValueError(f"the broker named a socket outside {prefix}: {ours}")
        os.symlink(kernels, ours)


def main(connection_file: str) -> int:
    with open(connection_file, encoding="utf-8") as handle:
        connection = json.load(handle)
    broker = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        broker.connect(layout.GRADING_SOCKET)
    except OSError as error:
        print(f"grading sandbox: {layout.GRADING_SOCKET}: {error.strerror}", file=sys.stderr)
        return 1
    request = {"connection": connection, "cwd": os.getcwd()}
    broker.sendall(json.dumps(request).encode() + b"\n")
    answers = broker.makefile("r", encoding="utf-8")
    for line in answers:
        answer = json.loads(line)
        if "links" in answer:
            link_sockets(answer["links"], connection["ip"])
        elif "error" in answer:
            print(f"grading sandbox: {answer['error']}", file=sys.stderr)
            return 1
        else:
            if answer["ended"]:
                print(f"grading sandbox: {answer['ended']}", file=sys.stderr)
            return 0
    print("grading sandbox: the broker hung up", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
