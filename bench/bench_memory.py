"""Memory of the console over a long demo (issue 15: "a one-hour demo stays under 100 MB").

The demo (simulator at 25 lines/s plus the console) runs in tmux at 160x48 for
IWTUI_BENCH_MEMORY_MIN minutes (default 60; not part of ``make bench``: ``make
bench-memory``). Every area is opened once at the start, then the console moves to the
next area every 5 minutes (Logs following, Message Queue, Sessions, Traffic Charts,
Account Statistics, ...), as an admin watching an incident would. The console's RSS is
sampled every 30 s; printed: at start (all areas visited), at 10, 30 and 60 minutes, the
largest, and the growth per hour after the first 10 minutes (a least-squares slope).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

MINUTES = float(os.environ.get("IWTUI_BENCH_MEMORY_MIN", "60"))
TOUR = ["4", "1", "7", "3", "8", "2", "5", "6", "9"]  # the keys of the nine areas


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _send(session: str, *keys: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", session, *keys], check=True)


def _slope(points: list[tuple[float, float]]) -> float:
    """MB per hour, least squares over (minute, MB)."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    return 60 * sum((t - mx) * (v - my) for t, v in points) / var if var else 0.0


def main() -> None:
    if shutil.which("tmux") is None:
        print("memory: tmux not installed, skipped")
        return
    with tempfile.TemporaryDirectory(prefix="iwtui-bench-memory-") as tmp:
        cfg = Path(tmp) / "c.yaml"
        cfg.write_text(f"state_dir: {tmp}/state\n")
        s = f"mem-{uuid.uuid4().hex[:6]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", s, "-x", "160", "-y", "48",
                        f"exec env -u COLUMNS -u LINES IWTUI_CONFIG={cfg} {sys.executable} "
                        "-m iwtui demo --rate 25"], check=True)  # fmt: skip
        try:
            time.sleep(8)
            pid = int(subprocess.run(["tmux", "display", "-p", "-t", s, "#{pane_pid}"],
                                     capture_output=True, text=True, check=True).stdout)  # fmt: skip
            for key in TOUR:  # every area once
                _send(s, key)
                time.sleep(4)
            t0 = time.monotonic()
            samples: list[tuple[float, float]] = [(0.0, _rss_mb(pid))]
            step = 0
            while (minute := (time.monotonic() - t0) / 60) < MINUTES:
                if minute >= 5 * (step + 1):
                    step += 1
                    _send(s, TOUR[step % len(TOUR)])
                time.sleep(30)
                samples.append(((time.monotonic() - t0) / 60, _rss_mb(pid)))

            def at(m: float) -> str:
                got = [v for t, v in samples if t >= m]
                return f"{got[0]:.1f}" if got else "-"

            late = [(t, v) for t, v in samples if t >= 10]
            print(f"{'RSS of the console, demo at 25 lines/s':<44} start {samples[0][1]:.1f} MB, "
                  f"10 min {at(10)}, 30 min {at(30)}, 60 min {at(60)}; largest "
                  f"{max(v for _, v in samples):.1f} MB over {samples[-1][0]:.0f} min; after 10 min "
                  f"{_slope(late):+.2f} MB/hour  (target: under 100 MB after an hour; an area "
                  "every 5 min)")  # fmt: skip
        finally:
            subprocess.run(["tmux", "kill-session", "-t", s], check=False)


if __name__ == "__main__":
    main()
