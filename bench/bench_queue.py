"""Issue 4: the Message Queue scan on a simulated queue (IWTUI_BENCH_QUEUE, default 20000;
the issue's figure is 100000).

1. A full scan with headers against ``grep -m1 -r '^Subject:'`` on the same folders.
2. After the scan: 1,000 new files and 1,000 deliveries, then the incremental rescan.
3. Peak memory of a process holding every item.
4. Issue 15: ``iwtui queue list --json`` and ``--jsonl`` (total, and time to the first
   line) against the same grep, side by side in one run, every output read from a pipe.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import compare, shell, simulated_tree

PY = sys.executable

SCAN = """
import sys, time
from pathlib import Path
from iwtui.icewarp.install import discover
from iwtui.icewarp.queue import scanning
inst = discover(Path(sys.argv[1]), use_tool_sh=False)
scanner = scanning.Scanner(inst, lazy=True)  # as the Message Queue screen keeps it
items = scanner.scan()
out = inst.outgoing_dir
victims = [p for p, i in items.items() if i.queue == "outgoing"][:1000]
for p in victims:
    Path(p).unlink()
for n in range(1000):
    (out / f"BENCH{n:06d}.tmp").write_bytes(b"From: a@b.c\\r\\nTo: d@e.f\\r\\nSubject: new\\r\\n\\r\\nx")
t0 = time.perf_counter()
again = scanner.scan()
dt = time.perf_counter() - t0
for n in range(1000):
    (out / f"BENCH{n:06d}.tmp").unlink()
hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM")) / 1024
for i in again.values():
    i.sender  # every header parsed, as the screen's background pass does
hwm2 = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM")) / 1024
print(len(items), len(again), dt, hwm, hwm2)
"""


def _piped(cmd: list[str] | str) -> tuple[float, float, int, float]:
    """(seconds to the first line, seconds to the end, lines, CPU seconds of the command
    and the helpers it waited for) of a command whose output is read from a pipe (GNU
    grep writing to /dev/null may stop at its first match)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=isinstance(cmd, str), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    t1 = time.perf_counter()
    lines = 1 if first else 0
    while chunk := proc.stdout.read(1 << 20):
        lines += chunk.count(b"\n")
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return t1 - t0, time.perf_counter() - t0, lines, usage.ru_utime + usage.ru_stime


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f} s ({min(xs):.3f}-{max(xs):.3f})"


def queue_list(tree: Path, folders: str, n: int, runs: int = 5) -> None:
    """``queue list --json`` / ``--jsonl`` against grep, alternated run by run."""
    iwtui = [PY, "-m", "iwtui", "queue", "list", "--root", str(tree)]
    grep = f"grep -m1 -r '^Subject:' {folders}"
    g: list[float] = []
    js: list[float] = []
    jl: list[float] = []
    first: list[float] = []
    cpu: dict[str, list[float]] = {"grep": [], "json": [], "jsonl": [], "old": []}
    counts = set()
    # IWTUI_BENCH_QUEUE_OLD=DIR: an older iwtui (`git archive REV iwtui | tar -x -C DIR`)
    # run alongside, for a before/after in the same run
    old = os.environ.get("IWTUI_BENCH_QUEUE_OLD")
    olds: list[float] = []
    for _ in range(runs):
        if old:
            cmd = f"PYTHONPATH={old} {PY} -m iwtui queue list --root {tree} --json"
            _f, t, _n, c = _piped(cmd)
            olds.append(t)
            cpu["old"].append(c)
        _f, t, _n, c = _piped(grep)
        g.append(t)
        cpu["grep"].append(c)
        _f, t, _n, c = _piped([*iwtui, "--json"])
        js.append(t)
        cpu["json"].append(c)
        f, t, lines, c = _piped([*iwtui, "--jsonl"])
        jl.append(t)
        cpu["jsonl"].append(c)
        first.append(f)
        counts.add(lines)

    def ratios(xs: list[float], base: list[float]) -> str:
        r = [x / y for x, y in zip(xs, base, strict=True)]
        mid = statistics.median(xs) / statistics.median(base)
        return f"{mid:.2f}x (runs {min(r):.2f}x-{max(r):.2f}x)"

    print(f"queue list, {n:,} files, {runs} runs alternated; medians (ranges):")
    print(f"  grep -m1 -r '^Subject:' | pipe   {_spread(g)}   CPU {_spread(cpu['grep'])}")
    print(f"  iwtui queue list --json          {_spread(js)}   {ratios(js, g)}  target 4x")
    print(f"  iwtui queue list --jsonl         {_spread(jl)}   {ratios(jl, g)}  {counts} lines")
    print(f"  --jsonl, first line out          {_spread(first)}   target 0.3 s")
    if old:
        print(f"  {old}: --json      {_spread(olds)}   {ratios(olds, g)}")
    for k in ("json", "jsonl", "old")[: 3 if old else 2]:
        print(
            f"  CPU of --{k:<5} (all processes)  {_spread(cpu[k])}   {ratios(cpu[k], cpu['grep'])} grep's"
        )


def _tree(n: int) -> Path:
    return simulated_tree(f"queue-{n}", "--seed", "4", "--queue", str(n), "--log-mb", "2")


def main() -> None:
    n = int(os.environ.get("IWTUI_BENCH_QUEUE", "20000"))
    tree = _tree(n)
    folders = " ".join(str(tree / "mail" / d) for d in ("_outgoing", "_incoming", "_sms"))
    queue_list(tree, folders, n)
    if os.environ.get("IWTUI_BENCH_QUEUE_LIST_ONLY"):
        return
    scan = f"{PY} -c \"from pathlib import Path; from iwtui.icewarp.install import discover; from iwtui.icewarp.queue import scanning; scanning.scan(discover(Path('{tree}'), use_tool_sh=False))\""
    listing = f"{PY} -c \"from pathlib import Path; from iwtui.icewarp.install import discover; from iwtui.icewarp.queue import scanning; scanning.Scanner(discover(Path('{tree}'), use_tool_sh=False), lazy=True).scan()\""
    compare(
        f"queue scan with headers ({n:,} files)",
        shell(scan),
        shell(f"grep -m1 -r '^Subject:' {folders} > /dev/null"),
        "grep -m1 -r '^Subject:'",
    )
    compare(
        f"queue listing, header blocks read ({n:,})",
        shell(listing),
        shell(f"grep -m1 -r '^Subject:' {folders} > /dev/null"),
        "grep -m1 -r '^Subject:'",
    )
    # the tree is restored by the script: deliveries are copied back first
    backup = Path(tempfile.mkdtemp())
    subprocess.run(["cp", "-a", str(tree / "mail" / "_outgoing"), str(backup)], check=True)
    try:
        out = subprocess.run(
            [PY, "-c", SCAN, str(tree)], capture_output=True, text=True, check=True
        ).stdout.split()
    finally:
        subprocess.run(["rm", "-rf", str(tree / "mail" / "_outgoing")], check=True)
        subprocess.run(["cp", "-a", str(backup / "_outgoing"), str(tree / "mail")], check=True)
        subprocess.run(["rm", "-rf", str(backup)], check=True)
    before, after, dt, hwm, hwm2 = (
        int(out[0]),
        int(out[1]),
        float(out[2]),
        float(out[3]),
        float(out[4]),
    )
    print(
        f"{'1,000 new + 1,000 delivered, rescan':<44} {dt:8.3f} s   ({before:,} -> {after:,} items; only changed folders listed, new files read)"
    )
    print(
        f"{'peak RSS holding every item':<44} {hwm:8.1f} MB  ({before:,} items listed; {hwm2:.1f} MB with every header parsed; target < 200 MB at 100,000)"
    )
    tui_keys(tree)


LAG = r"""
import asyncio, sys, time
from pathlib import Path
from iwtui import config
from iwtui.icewarp.install import discover
from iwtui.tui.app import IwtuiApp
from iwtui.tui.widgets.item_table import ItemTable

async def main():
    app = IwtuiApp(discover(Path(sys.argv[1]), use_tool_sh=False), config.load({"IWTUI_CONFIG": sys.argv[2]}))
    gaps = []
    async with app.run_test(size=(160, 48)):
        last = [time.perf_counter()]
        def tick():
            now = time.perf_counter(); gaps.append(now - last[0]); last[0] = now
        app.set_interval(0.05, tick)
        await asyncio.sleep(10)  # the listing, then the background header pass
        listed = len(app.query_one(ItemTable).rows)
    lag = sorted(max(0.0, g - 0.05) for g in gaps)
    print(lag[len(lag) // 2] * 1000, lag[int(len(lag) * 0.95)] * 1000, lag[-1] * 1000, len(lag), listed)

asyncio.run(main())
"""


def tui_keys(tree: Path) -> None:
    """How late the UI's event loop runs while the screen lists and parses the whole
    queue: a 50 ms timer's lateness (a key waits at most that long before it is handled).
    Pilot's own key round trip is not used: it waits for the app to be idle, which a
    scanning app is not."""
    tmp = Path(tempfile.mkdtemp())
    cfg = tmp / "config.yaml"
    cfg.write_text(f"state_dir: {tmp / 'state'}\ntool_sh: false\n")  # watchers on: the default
    out = subprocess.run(
        [PY, "-c", LAG, str(tree), str(cfg)], capture_output=True, text=True, check=True
    ).stdout.split()
    p50, p95, worst, n, listed = (
        float(out[0]),
        float(out[1]),
        float(out[2]),
        int(out[3]),
        int(out[4]),
    )
    print(f"{'TUI: event-loop lag while scanning (p50/p95)':<44} {p50:6.1f} ms / {p95:6.1f} ms  "
          f"worst {worst:.0f} ms; {n} ticks in 10 s; {listed:,} rows listed")  # fmt: skip


if __name__ == "__main__":
    main()
