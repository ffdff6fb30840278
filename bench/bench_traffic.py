"""Issue 11: the traffic engine and its screens on a simulated SMTP day log
(IWTUI_BENCH_LOG_MB, default 200; the issue's figure is 1000).

1. Cold: every counter of the day log into an empty store (``iwtui charts show`` in a fresh
   process, the log alone in its install) against ``grep -c Connected`` over the same file
   (target 8x); the peak RSS of any one of its processes (target < 150 MB).
2. Warm: the same ``charts show`` again, nothing new (target 1.5x ``iwtui --version``):
   the answer replayed (``iwtui.cli.replay``: nothing it depends on changed). Then the
   full path (``IWTUI_NO_REPLAY=1``) against ``--version`` and ``iwtui charts categories
   --json`` (the same start-up: parser, config, the traffic CLI module, without the store),
   and its own work in this process (store opened, every log stat'ed, one query).
3. Redraw on a period switch of the Traffic Charts area (a month of minute counters,
   160x48; target 50 ms).
4. Idle CPU of the console with the chart open while the SMTP log grows by 25 lines/s
   (target < 3% of a core).

Every command runs with its bytecode cached (in a temporary folder, as an installed iwtui
has it): with PYTHONDONTWRITEBYTECODE set, each run would compile every module it imports
again, which a command importing fifty modules pays and ``--version`` (three) does not.

IWTUI_BENCH_TRAFFIC_OLD=DIR (a folder holding an older ``iwtui/``, e.g. from ``git
archive``) runs that version's cold and warm ``charts show`` alternately with this one on
the same log and checks that both print the same answer.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import simulated_tree

PY = sys.executable


def _tree(mb: float) -> Path:
    # the same cached tree as bench_logs
    return simulated_tree(
        f"logs-{int(mb)}", "--seed", "11", "--log-mb", str(mb), "--rotate-mb", "0"
    )


def _cold_root(tree: Path) -> tuple[Path, Path]:
    """An install holding only the SMTP day log (hard-linked: no copy)."""
    big = next((tree / "logs" / "smtp").glob("s*.log"))
    root = Path(tempfile.gettempdir()) / f"iwtui-bench-traffic-cold-{tree.name}"
    target = root / "logs" / "smtp" / big.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(big, target)
        except OSError:
            shutil.copyfile(big, target)
    return root, target


def _config(tmp: Path) -> Path:
    cfg = tmp / "config.yaml"
    cfg.write_text(f"state_dir: {tmp / 'state'}\ntool_sh: false\nwatch: false\n")
    return cfg


def _env(cfg: Path, no_replay: bool = False) -> dict[str, str]:
    env = {**os.environ, "IWTUI_CONFIG": str(cfg), "PYTHONPYCACHEPREFIX": str(cfg.parent / "pyc")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("IWTUI_NO_REPLAY", None)
    if no_replay:  # the whole command: parser, config, store opened, every log stat'ed
        env["IWTUI_NO_REPLAY"] = "1"
    return env


def _run(argv: list[str], cfg: Path, cwd: str | None = None,
         no_replay: bool = False) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(argv, env=_env(cfg, no_replay), check=True, capture_output=True,
                          text=True, cwd=cwd)  # fmt: skip


def compare(name: str, ours: Callable[[], object], base: Callable[[], object], base_name: str,
            runs: int = 3) -> None:  # fmt: skip
    """Alternate ours/baseline runs: medians, ranges, the ratio of the medians."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        for out, fn in ((a, ours), (b, base)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{name:<44} {ma:8.3f} s ({min(a):.3f}-{max(a):.3f})   {base_name:<34} {mb:8.3f} s "
          f"({min(b):.3f}-{max(b):.3f})   ratio {ma / mb:6.2f}x")  # fmt: skip


def cold_and_warm(mb: float) -> None:
    tree = _tree(mb)
    root, big = _cold_root(tree)
    day = re.search(r"(\d{8})\.log$", big.name)
    assert day is not None
    iso = f"{day.group(1)[:4]}-{day.group(1)[4:6]}-{day.group(1)[6:]}"
    tmp = Path(tempfile.mkdtemp())
    cfg = _config(tmp)
    show = [PY, "-m", "iwtui", "charts", "show", "--root", str(root), "--service", "smtp",
            "--category", "serverconn", "--date", iso, "--json"]  # fmt: skip
    grep = f"grep -c Connected {big}"
    expected = int(subprocess.run(grep, shell=True, capture_output=True, text=True).stdout)

    def cold() -> None:
        shutil.rmtree(tmp / "state", ignore_errors=True)
        _run(show, cfg)

    size = big.stat().st_size / 1e6
    print(f"# {big.name}: {size:,.0f} MB; grep -c Connected: {expected:,} lines")
    old = os.environ.get("IWTUI_BENCH_TRAFFIC_OLD")
    if old:  # an older iwtui (a folder holding its iwtui/), same data, alternately
        old_cfg = _config(Path(tempfile.mkdtemp()))

        def cold_old() -> None:
            shutil.rmtree(old_cfg.parent / "state", ignore_errors=True)
            _run(show, old_cfg, cwd=old)

        compare(f"cold: charts show ({size:,.0f} MB)", cold, cold_old, "the same, older iwtui")
        _run(show, old_cfg, cwd=old)
        new_out, old_out = _run(show, cfg).stdout, _run(show, old_cfg, cwd=old).stdout
        assert new_out == old_out, "the older iwtui prints another answer"
        compare("warm: charts show, nothing new", lambda: _run(show, cfg),
                lambda: _run(show, old_cfg, cwd=old), "the same, older iwtui", runs=15)  # fmt: skip
        shutil.rmtree(old_cfg.parent, ignore_errors=True)
    if os.environ.get("IWTUI_BENCH_TRAFFIC_SKIP_COLD"):
        _run(show, cfg)
        _warm(show, cfg, root, tmp, iso)
        return
    compare(f"cold: charts show, empty store ({size:,.0f} MB)", cold,
            # output to a pipe: GNU grep stops at the first match when it writes to /dev/null
            lambda: subprocess.run(grep, shell=True, check=True, capture_output=True),
            "grep -c Connected (same file)")  # fmt: skip
    shutil.rmtree(tmp / "state", ignore_errors=True)
    timed = subprocess.run(["/usr/bin/time", "-f", "%M", *show], capture_output=True, text=True,
                           env=_env(cfg))  # fmt: skip
    rss = int(timed.stderr.strip().splitlines()[-1]) / 1024
    print(f"{'cold: peak RSS (largest process)':<44} {rss:8.1f} MB  (target < 150 MB)")
    import json

    got = json.loads(_run(show, cfg).stdout)
    total = sum(p["v"] for p in got[0]["points"])
    print(f"# serverconn total {total:,} (client sessions excluded from grep's count)")
    _warm(show, cfg, root, tmp, iso)


def _warm(show: list[str], cfg: Path, root: Path, tmp: Path, iso: str) -> None:
    iwtui = [PY, "-m", "iwtui"]
    _run([*iwtui, "--version"], cfg)  # (bytecode of both cached before the figures)
    full = _run(show, cfg, no_replay=True).stdout
    assert _run(show, cfg).stdout == full, "the replayed answer differs from the full run's"
    compare("warm: the same charts show, nothing new", lambda: _run(show, cfg),
            lambda: _run([*iwtui, "--version"], cfg), "iwtui --version", runs=15)  # fmt: skip
    compare("warm, full path (IWTUI_NO_REPLAY=1)", lambda: _run(show, cfg, no_replay=True),
            lambda: _run([*iwtui, "--version"], cfg), "iwtui --version", runs=15)  # fmt: skip
    compare("warm, full path (IWTUI_NO_REPLAY=1)", lambda: _run(show, cfg, no_replay=True),
            lambda: _run([*iwtui, "charts", "categories", "--json"], cfg),
            "charts categories --json (floor)", runs=15)  # fmt: skip
    _warm_work(root, tmp / "state", iso)
    shutil.rmtree(tmp, ignore_errors=True)


def _warm_work(root: Path, state: Path, iso: str) -> None:
    """The warm ``charts show``'s own work, in this process (modules already loaded):
    the store opened, every log file stat'ed against the store, the day's series read."""
    from datetime import date

    from iwtui.icewarp.install import discover
    from iwtui.icewarp.traffic import query
    from iwtui.icewarp.traffic.ingest import ingest
    from iwtui.icewarp.traffic.store import Store, default_path

    inst = discover(root, use_tool_sh=False)
    start, end = query.period_range("day", date.fromisoformat(iso))
    times = []
    for _ in range(21):
        t0 = time.perf_counter()
        with Store(default_path(inst, state)) as store:
            report = ingest(inst, store)
            query.series(store, "", "smtp", "serverconn", start, end, 3600)
        times.append(time.perf_counter() - t0)
        assert report.files_read == 0
    print(f"{'warm: its own work (open, stat, query)':<44} {statistics.median(times) * 1000:8.2f} ms"
          f"  (runs {min(times) * 1000:.2f}-{max(times) * 1000:.2f} ms, in-process)")  # fmt: skip


REDRAW = r"""
import asyncio, statistics, sys, time
from datetime import date, datetime, timedelta
from pathlib import Path
from iwtui import config
from iwtui.icewarp.install import discover
from iwtui.icewarp.traffic.store import Store, default_path
from iwtui.tui.app import IwtuiApp

root, cfg = Path(sys.argv[1]), Path(sys.argv[2])
loaded = config.load({"IWTUI_CONFIG": str(cfg)})
inst = discover(root, use_tool_sh=False)
today = date.fromisoformat(sys.argv[3])
# a month of minute counters (every minute of 30 days, several counters)
store = Store(default_path(inst, loaded.config.state_path()))
import random
rng = random.Random(1)
rows = []
for d in range(30):
    day = (today - timedelta(days=d)).toordinal()
    for m in range(1440):
        for c in ("serverconn", "msgreceived", "clientconn"):
            rows.append(("", "smtp", c, day * 1440 + m, rng.randrange(1, 90)))
with store.transaction() as db:
    db.executemany("INSERT OR REPLACE INTO minute VALUES(?,?,?,?,?)", rows)
    store.rebuild_rollups(db, "", {("smtp", (today - timedelta(days=d)).toordinal() * 24 + h) for d in range(30) for h in range(24)})
store.close()

async def main():
    from iwtui.tui.screens.charts.area import ChartsArea
    app = IwtuiApp(inst, loaded)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("3")
        area = app.query_one(ChartsArea)
        while not area.ready:
            await pilot.pause(0.05)
        from iwtui.tui.widgets.chart import ChartPlot
        plot = app.query_one(ChartPlot)
        times = []
        for i in range(12):
            key = "m" if i % 2 == 0 else "d"   # month <-> day
            t0 = time.perf_counter()
            await pilot.press(key)
            while area.busy or plot.built_at < t0:
                await pilot.pause(0.002)
            times.append(plot.built_at - t0)  # key to the new plot drawn
        noop = []
        for i in range(12):
            t0 = time.perf_counter(); await pilot.press("z"); noop.append(time.perf_counter() - t0)
    print(statistics.median(times) * 1000, max(times) * 1000, statistics.median(noop) * 1000)

asyncio.run(main())
"""


def redraw() -> None:
    tmp = Path(tempfile.mkdtemp())
    root = tmp / "icewarp"
    subprocess.run([PY, "-m", "iwtui", "simulate", str(root), "--once", "--seed", "5",
                    "--log-mb", "0.2", "--start", "2026-01-15T14:30:00"],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    cfg = _config(tmp)
    out = subprocess.run([PY, "-c", REDRAW, str(root), str(cfg), "2026-01-15"],
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    med, worst, noop = (float(x) for x in out[:3])
    print(f"{'TUI: period switch, month of minutes 160x48':<44} {med:8.1f} ms  (max {worst:.1f} ms;"
          f" Pilot's round trip for an unbound key {noop:.1f} ms; target 50 ms)")  # fmt: skip
    shutil.rmtree(tmp, ignore_errors=True)


def _cpu_seconds(pid: int) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


SESSION = (
    "Connected",
    ">>> 220 mail.icewarpdemo.com ESMTP IceWarp 14.0; ready",
    "<<< EHLO mail.example.org",
    "<<< MAIL From:<a@example.org>",
    "<<< RCPT To:<b@icewarpdemo.com>",
    "<<< DATA",
    "*** <a@example.org> <b@icewarpdemo.com> 1 2804 00:00:01 OK BEN00001",
    "Disconnected",
)


def _session_line(n: int) -> str:
    """Line ``n`` of back-to-back SMTP sessions (8 lines each, a new thread each)."""
    tid = f"0B{(n // len(SESSION)) % 256:02X}"
    return f"1.2.3.4         [{tid}] {time.strftime('%H:%M:%S')} {SESSION[n % len(SESSION)]}\n"


def idle_cpu(seconds: float = 20.0) -> None:
    """The console in a real terminal (tmux); a writer appends 25 SMTP lines/s (whole
    sessions) to today's log; the console's CPU time over ``seconds``, with the Traffic
    Charts area shown and, as the baseline, the Message Queue shown (the other areas'
    own live work on those lines: the header, Sessions)."""
    if shutil.which("tmux") is None:
        print("tmux: not installed, idle CPU figure skipped")
        return
    tmp = Path(tempfile.mkdtemp())
    root = tmp / "icewarp"
    subprocess.run([PY, "-m", "iwtui", "simulate", str(root), "--once", "--seed", "5",
                    "--log-mb", "1"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    cfg = _config(tmp)
    smtp = sorted((root / "logs" / "smtp").glob("s*.log"))[-1]
    name = f"iwtui-bench-traffic-{os.getpid()}"
    pidfile = tmp / "pid"
    cmd = (f"env -u COLUMNS -u LINES IWTUI_CONFIG={cfg} sh -c 'echo $$ > {pidfile}; "
           f"exec {PY} -m iwtui --root {root}'")  # fmt: skip
    subprocess.run(["tmux", "new", "-d", "-s", name, "-x", "160", "-y", "48", cmd], check=True)
    try:
        t0 = time.perf_counter()
        while not pidfile.exists() or not pidfile.read_text().strip():
            time.sleep(0.05)
        pid = int(pidfile.read_text())
        while time.perf_counter() - t0 < 30:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name],
                                    capture_output=True, text=True).stdout  # fmt: skip
            if "Outgoing" in screen or "Queue" in screen:
                break
            time.sleep(0.1)
        time.sleep(3)  # the first screens
        results = {}
        for label, key, rate in (("queue shown, no writes", "1", 0),
                                 ("queue shown, 25 lines/s", "1", 25),
                                 ("chart open, no writes", "3", 0),
                                 ("chart open, 25 lines/s", "3", 25)):  # fmt: skip
            subprocess.run(["tmux", "send-keys", "-t", name, key])
            time.sleep(3)  # the first ingest and draw
            c0, w0 = _cpu_seconds(pid), time.perf_counter()
            n = 0
            with smtp.open("ab", buffering=0) as fh:
                while time.perf_counter() - w0 < seconds:
                    if rate:
                        fh.write(_session_line(n).encode())
                        n += 1
                    time.sleep(1 / rate if rate else 0.2)
            results[label] = (_cpu_seconds(pid) - c0) / (time.perf_counter() - w0) * 100
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name],
                                capture_output=True, text=True).stdout  # fmt: skip
        shown = "Traffic" in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'TUI: CPU, chart open, 25 lines/s':<44} {results['chart open, 25 lines/s']:8.2f} %   "
          f"{'Message Queue shown, 25 lines/s':<34} {results['queue shown, 25 lines/s']:8.2f} %"
          f"   (target < 3% of a core; chart on screen: {shown})")  # fmt: skip
    print(
        f"{'TUI: CPU, chart open, no writes':<44} {results['chart open, no writes']:8.2f} %   "
        f"{'Message Queue shown, no writes':<34} {results['queue shown, no writes']:8.2f} %"
    )


def main() -> None:
    """IWTUI_BENCH_TRAFFIC_PARTS (default "cold,redraw,idle"): which figures; "cold" is
    the cold and warm ``charts show`` (IWTUI_BENCH_TRAFFIC_SKIP_COLD=1: the warm alone)."""
    mb = float(os.environ.get("IWTUI_BENCH_LOG_MB", "200"))
    parts = os.environ.get("IWTUI_BENCH_TRAFFIC_PARTS", "cold,redraw,idle").split(",")
    if "cold" in parts:
        cold_and_warm(mb)
    if "redraw" in parts:
        redraw()
    if "idle" in parts:
        idle_cpu()


if __name__ == "__main__":
    main()
