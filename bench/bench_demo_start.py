"""Demo start: launch `iwtui demo` in tmux until the header shows counts, against
launching a bare Textual app that draws one line (the floor for any Textual program);
then the console alone on a simulated install (issue 15: first paint within 1 s)."""

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


def _until_counts(cmd: str, pattern: str = r"Outgoing \d+\s+Priority \d+\s+Retry \d+") -> None:
    session = f"iwtui-bench-{uuid.uuid4().hex[:6]}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", cmd], check=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            out = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                 capture_output=True, text=True).stdout  # fmt: skip
            if re.search(pattern, out):
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
        # the console alone on an install (the demo also writes its tree first): issue 15's
        # "console first paint within 1 s"
        tree = Path(tmp) / "icewarp"
        subprocess.run([sys.executable, "-m", "iwtui", "simulate", str(tree), "--once"],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        compare(
            "iwtui --root TREE: launch to first paint",
            lambda: _until_counts(
                f"IWTUI_CONFIG={cfg} {sys.executable} -m iwtui --root {tree}", r"Message Queue"
            ),  # the navigation drawn
            lambda: _until_counts(f"{sys.executable} {bare}"),
            "bare Textual app: launch to first line",
        )
        compare(
            "iwtui --root TREE: launch to counts on screen",
            lambda: _until_counts(f"IWTUI_CONFIG={cfg} {sys.executable} -m iwtui --root {tree}"),
            lambda: _until_counts(f"{sys.executable} {bare}"),
            "bare Textual app: launch to first line",
        )


if __name__ == "__main__":
    main()
