"""Demo start: launch `iwtui demo` in tmux until the header shows counts, against
launching a bare Textual app that draws one line (the floor for any Textual program)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import bare_textual_app, compare

BARE = bare_textual_app("Outgoing 1  Priority 2  Retry 3")


def _until_counts(cmd: str) -> None:
    session = f"iwtui-bench-{uuid.uuid4().hex[:6]}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", cmd], check=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            out = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                 capture_output=True, text=True).stdout  # fmt: skip
            if re.search(r"Outgoing \d+\s+Priority \d+\s+Retry \d+", out):
                return
            time.sleep(0.02)
        raise RuntimeError("no counts on screen after 30 s")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def main() -> None:
    if shutil.which("tmux") is None:
        print("demo start: tmux not installed, skipped")
        return
    with tempfile.TemporaryDirectory(prefix="iwtui-bench-demo-") as tmp:
        cfg = Path(tmp) / "c.yaml"
        cfg.write_text(f"state_dir: {tmp}/state\n")
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE)
        compare(
            "iwtui demo: launch to live counts on screen",
            lambda: _until_counts(f"IWTUI_CONFIG={cfg} {sys.executable} -m iwtui demo"),
            lambda: _until_counts(f"{sys.executable} {bare}"),
            "bare Textual app: launch to first line",
        )


if __name__ == "__main__":
    main()
