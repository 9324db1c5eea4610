"""The nftables table that keeps students under exam off the network: any packet their
sockets send leaves through loopback (their server, its kernels, the hub) or not at all.

systemd's IPAddressDeny= would be the obvious tool, but it needs cgroup-v2 BPF, which hybrid
cgroup hosts (and the e2e guests) do not enforce; matching the socket's owner works on both.
The table is hubctl_exam's own, so the core's firewall (table inet hubctl) is not needed.
"""

import subprocess

TABLE = "hubctl_exam"


def render(uids: set[int]) -> str:
    """An `nft -f` script that replaces the table atomically; with no uids it removes it."""
    # `table` first makes the `delete` valid when the table is not there yet.
    script = f"table inet {TABLE}\ndelete table inet {TABLE}\n"
    if not uids:
        return script
    elements = ", ".join(str(uid) for uid in sorted(uids))
    return script + (
        f"table inet {TABLE} {{\n"
        "  set exam_uids {\n"
        "    typeof meta skuid\n"
        f"    elements = {{ {elements} }}\n"
        "  }\n"
        "  chain output {\n"
        "    type filter hook output priority filter; policy accept;\n"
        '    oifname "lo" accept\n'
        "    meta skuid @exam_uids counter reject with icmpx admin-prohibited\n"
        "  }\n"
        "}\n"
    )


def load(uids: set[int]) -> None:
    subprocess.run(["nft", "-f", "-"], input=render(uids), text=True, check=True,
                   capture_output=True)  # fmt: skip
