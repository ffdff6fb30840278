"""Idle CPU and memory of the console in the demo (issue 15): the share of one core the
console process uses per area while the simulator writes 25 lines/s, and its RSS over a
longer run. The baseline, side by side: a bare Textual app showing one line, idle."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import bare_textual_app

CLK = os.sysconf("SC_CLK_TCK")
SAMPLE_S = float(os.environ.get("IWTUI_BENCH_IDLE_S", "15"))
BARE = bare_textual_app("idle")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _app_pid(session: str) -> int:
    """The console's process: the pane's own (started with exec)."""
    pane = subprocess.run(["tmux", "display", "-p", "-t", session, "#{pane_pid}"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    return int(pane)


def _share(pid: int, seconds: float) -> float:
    c0, t0 = _cpu(pid), time.monotonic()
    time.sleep(seconds)
    return (_cpu(pid) - c0) / (time.monotonic() - t0)


def _send(session: str, *keys: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", session, *keys], check=True)


def main() -> None:
    if shutil.which("tmux") is None:
        print("idle CPU: tmux not installed, skipped")
        return
    with tempfile.TemporaryDirectory(prefix="iwtui-bench-idle-") as tmp:
        cfg = Path(tmp) / "c.yaml"
        cfg.write_text(f"state_dir: {tmp}/state\n")
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE)
        s_bare, s_demo = f"bare-{uuid.uuid4().hex[:6]}", f"demo-{uuid.uuid4().hex[:6]}"
        env = "env -u COLUMNS -u LINES"
        subprocess.run(["tmux", "new-session", "-d", "-s", s_bare, "-x", "160", "-y", "48",
                        f"exec {env} {sys.executable} {bare}"], check=True)  # fmt: skip
        subprocess.run(["tmux", "new-session", "-d", "-s", s_demo, "-x", "160", "-y", "48",
                        f"exec {env} IWTUI_CONFIG={cfg} {sys.executable} -m iwtui demo --rate 25"],
                       check=True)  # fmt: skip
        try:
            time.sleep(8)  # start-up, the first scans
            demo, base = _app_pid(s_demo), _app_pid(s_bare)
            for key, area in [("1", "Message Queue"), ("7", "Sessions"), ("4", "Logs (following)"),
                              ("3", "Traffic Charts"), ("9", "Volume")]:  # fmt: skip
                _send(s_demo, key)
                time.sleep(3)
                ours, theirs = _share(demo, SAMPLE_S), _share(base, SAMPLE_S)
                print(f"idle CPU, {area:<32} {ours * 100:7.1f} %   bare Textual app idle"
                      f"{'':<13} {theirs * 100:7.1f} %   (of one core)")  # fmt: skip
            _send(s_demo, "p")
            time.sleep(2)
            print(f"idle CPU, {'paused':<32} {_share(demo, SAMPLE_S) * 100:7.1f} %")
            print(f"RSS of the console: {_rss_mb(demo):.0f} MB (bare app {_rss_mb(base):.0f} MB)")
        finally:
            for s in (s_bare, s_demo):
                subprocess.run(["tmux", "kill-session", "-t", s], check=False)


if __name__ == "__main__":
    main()
