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
# The floor of a following log view: Textual's own Log widget at 160x48, fed 25 lines/s
# of SMTP-like lines by a 0.1 s timer (the Logs area polls at the same rate), nothing else.
BARE_LOG = """
import itertools
from textual.app import App
from textual.widgets import Footer, Log
LINE = "SMTP 10.0.{0}.{1} [{2:08X}] 14:30:00 >>> 250 2.1.5 <user{2}@example.com>... Recipient ok"
class A(App):
    def compose(self):
        yield Log(auto_scroll=True)
        yield Footer()
    def on_mount(self):
        self.n = itertools.count()
        self.log_view = self.query_one(Log)
        self.log_view.write_lines(LINE.format(i % 250, i % 200, i) for i in range(2000))
        self.set_interval(0.1, self.tick)
    def tick(self):
        self.log_view.write_lines(LINE.format(i % 250, i % 200, i)
                                  for i in (next(self.n) for _ in range(2 + (next(self.n) % 2))))
A().run()
"""


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


def _shares(pids: list[int], seconds: float) -> list[float]:
    """The CPU shares of several processes over the same window (one machine moment)."""
    c0, t0 = [_cpu(p) for p in pids], time.monotonic()
    time.sleep(seconds)
    dt = time.monotonic() - t0
    return [(_cpu(p) - c) / dt for p, c in zip(pids, c0, strict=True)]


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
        bare_log = Path(tmp) / "bare_log.py"
        bare_log.write_text(BARE_LOG)
        s_log = f"log-{uuid.uuid4().hex[:6]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", s_log, "-x", "160", "-y", "48",
                        f"exec {env} {sys.executable} {bare_log}"], check=True)  # fmt: skip
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
                ours, theirs, floor = _shares([demo, base, _app_pid(s_log)], SAMPLE_S)
                print(f"idle CPU, {area:<32} {ours * 100:7.1f} %   bare Textual app idle"
                      f"{'':<13} {theirs * 100:7.1f} %   (of one core)")  # fmt: skip
                if area.startswith("Logs"):  # the floor of any following view, same window
                    print(f"idle CPU, {'  floor: Textual Log, 25 lines/s':<32} {floor * 100:7.1f} %"
                          f"   (its own Log widget, 0.1 s timer, 160x48)")  # fmt: skip
            _send(s_demo, "p")
            time.sleep(2)
            print(f"idle CPU, {'paused':<32} {_share(demo, SAMPLE_S) * 100:7.1f} %")
            print(f"RSS of the console: {_rss_mb(demo):.0f} MB (bare app {_rss_mb(base):.0f} MB)")
        finally:
            for s in (s_bare, s_demo, s_log):
                subprocess.run(["tmux", "kill-session", "-t", s], check=False)


if __name__ == "__main__":
    main()
