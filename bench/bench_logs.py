"""Issue 3: the log engine on a simulated SMTP day log (IWTUI_BENCH_LOG_MB, default 200;
the issue's figure is 1000).

1. ``iwtui logs show --count`` with two-term (selective, dense) and ``re:`` filters
   against the grep pipeline counting the same lines (count asserted); in-process, the
   helper process against one core, RE2 on blocks against line by line, and spans around
   the helper's threshold (:func:`filters`; alone: ``filters_main``).
2. Time to the first screen of lines (open + read the last 48 lines) of the big log
   against a 1 KB log, in fresh processes.
3. RSS of a process holding the fully indexed big log and reading random screens.
4. Tail latency: a writer appends 2,000 lines/s; how long until the follower has each line
   (p50/p95), against the writer's own flush. Then the console's Logs area (Pilot, 160x48):
   at each paint of the screen (its own refresh), how long the oldest line that just came
   to the bottom of the view waited since it was written (issue 15: p95 120 ms); and keys
   pressed while it appends, beside Pilot's round trip for an unbound key.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from common import compare, shell, simulated_tree

from iwtui.icewarp.queue import deferrals

PY = sys.executable


def _tree(mb: float) -> Path:
    return simulated_tree(
        f"logs-{int(mb)}", "--seed", "11", "--log-mb", str(mb), "--rotate-mb", "0"
    )


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
import random, sys, threading
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
# VmHWM: this process's peak (ru_maxrss would include what the forking parent held)
hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM"))
print(hwm / 1024, src.total)
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
            time.sleep(0.1)  # the Logs screen polls every 100 ms

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


# --- filters (issue 15): the CLI's count against grep, side by side ----------------------

# (our filter, the grep pipeline giving the same lines); grep -c counts like --count
FILTERS = [
    ("two terms, selective", ">>> 5;Unknown user", "grep -F '>>> 5' {f} | grep -cF 'Unknown user'"),
    ("two terms, dense", "Client session;250", "grep -F 'Client session' {f} | grep -cF '250'"),
    (
        "re: term",
        r"re:>>> 5[0-9]{2} 5\.[0-9]\.[0-9]",
        r"grep -cE '>>> 5[0-9]{{2}} 5\.[0-9]\.[0-9]' {f}",
    ),
    ("re: term, no literal prefix", r"re:[0-9]+ 5\.7\.[0-9]", r"grep -cE '[0-9]+ 5\.7\.[0-9]' {f}"),
    ("!re: term alone", "!re:^SYSTEM|Client", "grep -cvE '^SYSTEM|Client' {f}"),
]


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):7.3f} s [{min(xs):.3f}-{max(xs):.3f}]"


def _piped(cmd: str) -> Callable[[], object]:
    """Run with stdout to a pipe: GNU grep writing to /dev/null stops at its first match."""
    return lambda: subprocess.run(cmd, shell=True, check=True, stdout=subprocess.PIPE)


def side_by_side(name: str, ours: Callable[[], object], base: Callable[[], object], base_name: str, runs: int) -> None:  # fmt: skip
    """Alternate ours/baseline; medians, ranges and the ratio's median and range."""
    from common import timed

    a, b = [], []
    for _ in range(runs):
        a.append(timed(ours))
        b.append(timed(base))
    ratios = sorted(x / y for x, y in zip(a, b, strict=True))
    print(
        f"{name:<44} {_spread(a)}   {base_name:<30} {_spread(b)}   ratio {statistics.median(ratios):5.2f}x [{ratios[0]:.2f}-{ratios[-1]:.2f}]"
    )


def filters(tree: Path, big: Path, runs: int | None = None) -> None:
    """``iwtui logs show --count --filter`` (a fresh process each run) against the grep
    pipeline that gives the same count (asserted), then in-process: the helper process
    against one core, and RE2 on whole blocks against the engines before it."""
    from iwtui.icewarp.logs import search

    runs = runs or int(os.environ.get("IWTUI_BENCH_RUNS", "5"))
    mb = big.stat().st_size / 1e6
    lines = int(
        subprocess.run(["wc", "-l", str(big)], capture_output=True, text=True).stdout.split()[0]
    )
    print(f"# filters: {big.name}, {mb:,.0f} MB, {lines:,} lines; {runs} runs each, alternating")
    for what, flt, grep in FILTERS:
        ours = [PY, "-m", "iwtui", "logs", "show", "--root", str(tree), "--service", "smtp", "--filter", flt, "--count"]  # fmt: skip
        base = grep.format(f=big)
        n_ours = int(subprocess.run(ours, capture_output=True, text=True, check=True).stdout)
        n_grep = int(subprocess.run(base, shell=True, capture_output=True, text=True).stdout)
        assert n_ours == n_grep, (flt, n_ours, n_grep)
        print(f"#   {flt!r}: {n_ours:,} lines (grep agrees)")
        side_by_side(
            f"--count {what}",
            lambda ours=ours: subprocess.run(ours, check=True, stdout=subprocess.PIPE),
            _piped(base),
            "grep pipeline, -c",
            runs,
        )
    # in-process: both cores against one (the helper forced off), dense filter
    for text in ("Client session;250", FILTERS[3][1]):
        flt = search.parse_filter(text)
        side_by_side(
            f"in-process {text[:20]!r}, helper",
            lambda flt=flt: search.count(big, flt),
            lambda flt=flt: search.count(big, flt, parallel=1 << 62),
            "one core (no helper)",
            runs,
        )
    # re: on whole blocks (RE2) against RE2 line by line and Python re line by line (the
    # engine before RE2; our own fixed pattern here, never a user's), on the first 64 MB
    import re

    head = Path(tempfile.mkdtemp()) / big.name
    with big.open("rb") as src:
        head.write_bytes(src.read(64 << 20))
    pat = rb"[0-9]+ 5\.7\.[0-9]"
    block = search.parse_filter("re:" + pat.decode())
    line_rx = search.user_regex(pat.decode())
    py_rx = re.compile(pat)

    def per_line(match: Callable[[bytes], object]) -> int:
        n = 0
        with search.Search(head, search.Filter()) as s:
            for data, _base, end in s._each_chunk(None):
                n += sum(1 for ln in data[:end].split(b"\n")[:-1] if match(ln))
        return n

    want = search.count(head, block, parallel=1 << 62)
    assert per_line(py_rx.search) == per_line(line_rx.search) == want
    side_by_side(
        "re: 64 MB, RE2 on blocks, one core",
        lambda: search.count(head, block, parallel=1 << 62),
        lambda: per_line(py_rx.search),
        "Python re line by line",
        runs,
    )
    side_by_side(
        "re: 64 MB, RE2 line by line (first RE2 code)",
        lambda: per_line(line_rx.search),
        lambda: per_line(py_rx.search),
        "Python re line by line",
        runs,
    )
    # spans around the helper's threshold: it starts when the first range says the rest
    # is worth HELPER_WORTH of CPU (a dense filter from ~100 MB, a sparse one much later)
    for size_mb in (64, 128):
        with big.open("rb") as src:
            head.write_bytes(src.read(size_mb << 20))
        for text in ("Client session;250", ">>> 5;Unknown user"):
            flt = search.parse_filter(text)
            used: list[int] = []

            def auto(flt: search.Filter = flt, used: list[int] = used) -> None:
                with search.Search(head, flt) as s:
                    sum(s.count_chunks())
                    used.append(s.helpers_used)

            side_by_side(
                f"{size_mb} MB {text[:18]!r}, as chosen",
                auto,
                lambda flt=flt: search.count(head, flt, parallel=1 << 62),
                "one core",
                runs,
            )
            print(f"#   a helper started in {sum(1 for u in used if u)} of {len(used)} runs")
    head.unlink()
    print(
        f"# helper: spans from search.PARALLEL_MIN = {search.PARALLEL_MIN >> 20} MiB, when the rest is worth"
        f" HELPER_WORTH = {search.HELPER_WORTH} s of CPU; chunk {search.CHUNK >> 20} MiB"
    )


def filters_main() -> None:
    """Only the filter figures: ``python -c 'import bench_logs; bench_logs.filters_main()'``
    from bench/ (IWTUI_BENCH_LOG_MB sizes the log)."""
    mb = float(os.environ.get("IWTUI_BENCH_LOG_MB", "200"))
    tree = _tree(mb)
    filters(tree, next((tree / "logs" / "smtp").glob("s*.log")))


def main() -> None:
    mb = float(os.environ.get("IWTUI_BENCH_LOG_MB", "200"))
    tree = _tree(mb)
    big = next((tree / "logs" / "smtp").glob("s*.log"))
    filters(tree, big)
    # the Message Queue's deferral reasons: every failed client attempt of the day
    wanted = r"Client session (Connect|\*\*\* |<<< [45][0-9][0-9]|Could not|\.\.\. while)"
    compare(
        f"deferral reasons from the SMTP log ({big.stat().st_size / 1e6:,.0f} MB)",
        lambda: deferrals.scan(tree / "logs"),
        shell(f"grep -F 'Client session' {big} | grep -cE '{wanted}'"),
        "grep -F | grep -cE (the same lines)",
    )
    small_dir = Path(tempfile.mkdtemp()) / "logs" / "smtp"
    small_dir.mkdir(parents=True)
    small = small_dir / big.name
    with big.open("rb") as fh:
        small.write_bytes(fh.read(1024).rsplit(b"\n", 1)[0] + b"\n")
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
    tui_latency()
    tui_first_screen(tree)


TUI = r"""
import asyncio, statistics, sys, threading, time
from pathlib import Path
from iwtui import config
from iwtui.icewarp.install import discover
from iwtui.tui.app import IwtuiApp
from iwtui.tui.widgets.log_view import LogView
from textual.screen import Screen

root, cfg = Path(sys.argv[1]), Path(sys.argv[2])
smtp = sorted((root / "logs" / "smtp").glob("s*.log"))[-1]
sent = {}
stop = threading.Event()

def writer():
    n = 0
    with smtp.open("ab", buffering=0) as fh:
        while not stop.is_set():
            batch = []
            for _ in range(20):
                sent[n] = time.perf_counter()
                batch.append(f"1.2.3.4 [0001] 23:59:59 <<< bench n={n}\n".encode())
                n += 1
            fh.write(b"".join(batch))
            time.sleep(0.01)

async def main():
    app = IwtuiApp(discover(root, use_tool_sh=False), config.load({"IWTUI_CONFIG": str(cfg)}))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("4")
        view = app.query_one("#logs-view", LogView)
        while view.source is None:
            await pilot.pause(0.05)
        if "--no-writer" not in sys.argv:
            t = threading.Thread(target=writer); t.start()
        else:
            t = threading.Thread(target=lambda: None); t.start(); sent[0] = 0
        seen, lat, keys = -1, [], []
        # at each paint of the screen (the app's own refresh, not a Pilot round trip, which
        # alone takes 70-100 ms here): the newest line painted at the bottom of the view
        refresh = Screen._compositor_refresh

        def painted(screen):
            nonlocal seen
            refresh(screen)
            h = view.scrollable_content_region.height
            last = view.render_line(h - 1).text if h else ""
            if "n=" in last:
                k = int(last.rsplit("n=", 1)[1].split()[0])
                if k != seen and k in sent:
                    # the oldest line that just appeared is the one that waited longest
                    first_new = seen + 1 if seen >= 0 else k
                    lat.append(time.perf_counter() - sent[first_new]); seen = k

        Screen._compositor_refresh = painted
        await asyncio.sleep(6)
        Screen._compositor_refresh = refresh
        # keys while it keeps appending: up, then back to the end
        noop = []
        for _ in range(30):
            t0 = time.perf_counter(); await pilot.press("k"); keys.append(time.perf_counter() - t0)
            t0 = time.perf_counter(); await pilot.press("G"); keys.append(time.perf_counter() - t0)
            t0 = time.perf_counter(); await pilot.press("z"); noop.append(time.perf_counter() - t0)
        stop.set(); t.join()
    lat = sorted(lat) or [0.0]; keys.sort()
    noop.sort()
    print(lat[len(lat)//2]*1000, lat[int(len(lat)*0.95)]*1000, len(lat), keys[len(keys)//2]*1000, keys[int(len(keys)*0.95)]*1000, noop[len(noop)//2]*1000)

asyncio.run(main())
"""


def tui_latency() -> None:
    tmp = Path(tempfile.mkdtemp())
    subprocess.run(
        [PY, "-m", "iwtui", "simulate", str(tmp / "icewarp"), "--once", "--seed", "3"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    cfg = tmp / "config.yaml"
    cfg.write_text(f"state_dir: {tmp / 'state'}\ntool_sh: false\nwatch: false\n")
    out = subprocess.run(
        [PY, "-c", TUI, str(tmp / "icewarp"), str(cfg)], capture_output=True, text=True, check=True
    ).stdout.split()
    p50, p95, n, k50, k95, z50 = (
        float(out[0]),
        float(out[1]),
        int(out[2]),
        float(out[3]),
        float(out[4]),
        float(out[5]),
    )
    print(
        f"{'TUI: appended line painted (p50 / p95)':<44} {p50:6.1f} ms / {p95:6.1f} ms  (2,000 lines/s; {n} paints, at the app's own refresh; the oldest new line each; target p95 120 ms)"
    )
    print(
        f"{'TUI: key handled while appending (p50/p95)':<44} {k50:6.1f} ms / {k95:6.1f} ms  Pilot's round trip for an unbound key: {z50:6.1f} ms (p50); ours beyond it: {k50 - z50:5.1f} ms"
    )


def _tmux_first_screen(root: Path, cfg: Path) -> float:
    """Launch the console in a real tmux pane, press 4, and time until the Logs area says
    it is following the SMTP log with lines on screen (what a user sees)."""
    name = f"iwtui-bench-{os.getpid()}"
    subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    t0 = time.perf_counter()
    subprocess.run(["tmux", "new", "-d", "-s", name, "-x", "160", "-y", "48",
                    f"env -u COLUMNS -u LINES IWTUI_CONFIG={cfg} {PY} -m iwtui --root {root}"], check=True)  # fmt: skip
    try:
        pressed = False
        while time.perf_counter() - t0 < 60:
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True
            ).stdout
            if not pressed and "Outgoing" in screen:
                subprocess.run(["tmux", "send-keys", "-t", name, "4"])
                pressed = True
            if pressed and "following" in screen and "[" in screen.split("following", 1)[1]:
                return time.perf_counter() - t0
            time.sleep(0.01)
        raise RuntimeError("the Logs area never showed its lines")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def tui_first_screen(big_root: Path) -> None:
    """Process start to the last lines of the SMTP log on screen: the same install with its
    1 GB SMTP log, and with that log cut to its first 1 KB (everything else identical)."""
    import shutil

    tmp = Path(tempfile.mkdtemp())
    small_root = tmp / "small"
    shutil.copytree(
        big_root,
        small_root,
        ignore=lambda d, names: [n for n in names if n.startswith("s2") and n.endswith(".log")],
    )
    for big in (big_root / "logs" / "smtp").glob("s2*.log"):
        with big.open("rb") as fh:
            (small_root / "logs" / "smtp" / big.name).write_bytes(
                fh.read(1024).rsplit(b"\n", 1)[0] + b"\n"
            )
    cfg = tmp / "config.yaml"
    cfg.write_text(f"state_dir: {tmp / 'state'}\ntool_sh: false\nwatch: false\n")
    if shutil.which("tmux") is None:
        print("tmux: not installed, first-screen figure skipped")
        return
    b, s = [], []
    for _ in range(5):
        b.append(_tmux_first_screen(big_root, cfg))
        s.append(_tmux_first_screen(small_root, cfg))
    shutil.rmtree(tmp, ignore_errors=True)
    mb, ms = statistics.median(b), statistics.median(s)
    print(
        f"{'tmux: launch, 4, lines of the 1 GB SMTP log':<44} {mb:8.3f} s   {'the same install, 1 KB SMTP log':<34} {ms:8.3f} s   ratio {mb / ms:6.2f}x"
    )


if __name__ == "__main__":
    main()
