"""Issue 3: the log engine on a simulated SMTP day log (IWTUI_BENCH_LOG_MB, default 200;
the issue's figure is 1000).

1. ``iwtui logs show --count`` with a selective two-term filter against
   ``grep -F t1 FILE | grep -F t2 | wc -l`` (same count asserted).
2. Time to the first screen of lines (open + read the last 48 lines) of the big log
   against a 1 KB log, in fresh processes.
3. RSS of a process holding the fully indexed big log and reading random screens.
4. Tail latency: a writer appends 2,000 lines/s; how long until the follower has each line
   (p50/p95), against the writer's own flush.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import compare, shell

PY = sys.executable


def _tree(mb: float) -> Path:
    cache = Path(tempfile.gettempdir()) / f"iwtui-bench-logs-{int(mb)}"
    if not (cache / ".done").exists():
        subprocess.run([PY, "-m", "iwtui", "simulate", str(cache), "--once", "--fresh", "--seed", "11",
                        "--log-mb", str(mb), "--rotate-mb", "0"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        (cache / ".done").touch()
    return cache


FIRST_SCREEN = """
import sys, time
t0 = time.perf_counter()
from pathlib import Path
from iwtui.icewarp.logs.view import DaySource
from iwtui.icewarp.logs.names import parse_name
p = Path(sys.argv[1])
src = DaySource(p.parent, [parse_name(p)], Path(sys.argv[2]))
src.scan_step()
lines = [src.line(i) for i in range(max(0, src.total - 48), src.total)]
assert lines
print(time.perf_counter() - t0)
"""

RSS = """
import random, resource, sys, threading
from pathlib import Path
from iwtui.icewarp.logs.view import DaySource
from iwtui.icewarp.logs.names import parse_name
p = Path(sys.argv[1])
src = DaySource(p.parent, [parse_name(p)], Path(sys.argv[2]))
src.scan(threading.Event())
rng = random.Random(1)
for _ in range(2000):
    first = rng.randrange(max(1, src.total - 48))
    [src.line(i) for i in range(first, min(src.total, first + 48))]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, src.total)
"""


def _tail_latency(folder: Path, seconds: float = 5.0, rate: int = 2000) -> list[float]:
    from iwtui.icewarp.logs.tail import Follower

    smtp = folder / "smtp"
    smtp.mkdir(parents=True, exist_ok=True)
    path = smtp / "s20300101.log"
    path.write_bytes(b"")
    f = Follower(folder, "smtp")
    sent: dict[int, float] = {}
    lat: list[float] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            for ev in f.poll():
                if ev.kind == "line":
                    n = int(ev.text.rsplit("n=", 1)[1])
                    lat.append(time.perf_counter() - sent[n])
            time.sleep(0.2)  # the Logs screen and `logs tail` poll every 200 ms

    t = threading.Thread(target=reader)
    t.start()
    with path.open("ab", buffering=0) as fh:
        n = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            batch = []
            for _ in range(rate // 100):
                sent[n] = time.perf_counter()
                batch.append(f"1.2.3.4 [0001] 10:00:00 <<< line n={n}\n".encode())
                n += 1
            fh.write(b"".join(batch))
            time.sleep(0.01)
    time.sleep(0.5)
    stop.set()
    t.join()
    f.close()
    return lat


def main() -> None:
    mb = float(os.environ.get("IWTUI_BENCH_LOG_MB", "200"))
    tree = _tree(mb)
    big = next((tree / "logs" / "smtp").glob("s*.log"))
    env_py = f"{PY} -m iwtui"
    t1, t2 = ">>> 5", "Unknown user"  # selective: a rejection with its reason
    ours_out = subprocess.run(f"{env_py} logs show --root {tree} --service smtp --filter '{t1};{t2}' --count",
                              shell=True, capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    grep_out = subprocess.run(f"grep -F '{t1}' {big} | grep -F '{t2}' | wc -l",
                              shell=True, capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert int(ours_out) == int(grep_out), (ours_out, grep_out)
    print(
        f"# {big.name}: {big.stat().st_size / 1e6:,.0f} MB, filter '{t1};{t2}' -> {ours_out} lines (grep agrees)"
    )
    compare(
        f"logs show --count ({big.stat().st_size / 1e6:,.0f} MB)",
        shell(f"{env_py} logs show --root {tree} --service smtp --filter '{t1};{t2}' --count"),
        shell(f"grep -F '{t1}' {big} | grep -F '{t2}' | wc -l"),
        "grep -F | grep -F | wc -l",
    )
    small_dir = Path(tempfile.mkdtemp()) / "logs" / "smtp"
    small_dir.mkdir(parents=True)
    small = small_dir / big.name
    small.write_bytes(big.read_bytes()[:1024].rsplit(b"\n", 1)[0] + b"\n")
    cache = Path(tempfile.mkdtemp())
    big_t, small_t = [], []
    for _ in range(5):
        big_t.append(
            float(
                subprocess.run(
                    [PY, "-c", FIRST_SCREEN, str(big), str(cache)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
        )
        small_t.append(
            float(
                subprocess.run(
                    [PY, "-c", FIRST_SCREEN, str(small), str(cache)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
        )
    mb_, ms_ = statistics.median(big_t), statistics.median(small_t)
    print(
        f"{'first screen, big log (in-process)':<44} {mb_:8.4f} s   {'the same for a 1 KB log':<34} {ms_:8.4f} s   ratio {mb_ / ms_:6.2f}x"
    )
    out = subprocess.run(
        [PY, "-c", RSS, str(big), str(cache)], capture_output=True, text=True, check=True
    ).stdout.split()
    print(
        f"{'RSS, fully indexed big log, 2000 screens':<44} {float(out[0]):8.1f} MB  ({int(out[1]):,} lines; target < 150 MB)"
    )
    lat = sorted(_tail_latency(Path(tempfile.mkdtemp())))
    p50, p95 = lat[len(lat) // 2], lat[int(len(lat) * 0.95)]
    print(
        f"{'tail latency at 2,000 lines/s (p50 / p95)':<44} {p50 * 1000:6.1f} ms / {p95 * 1000:6.1f} ms  ({len(lat):,} lines; target p95 < 250 ms)"
    )


if __name__ == "__main__":
    main()
