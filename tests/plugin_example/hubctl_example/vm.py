"""The example plugin on the VM: `python -m hubctl_example.vm greeting` prints JSON."""

import json
import sys
from pathlib import Path

from hubctl_example import GREETING_FILE


def main(action: str) -> int:
    if action != "greeting":
        print(json.dumps({"error": f"unknown action {action}"}))
        return 1
    text = Path(GREETING_FILE).read_text(encoding="utf-8").strip()
    print(json.dumps({"greeting": text, "file": GREETING_FILE}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
