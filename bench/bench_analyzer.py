"""Issue 13: the Log Analyzer.

1. Import speed: ``iwtui analyzer import`` of a simulated SMTP day (IWTUI_BENCH_LOG_MB,
   default 200; the issue's figure is 1000) into a fresh SQLite file, in lines per second,
   against ``pflogsumm`` (the Postfix standard) on a generated Postfix log with the same
   number of lines. Target: ours >= 10x pflogsumm's lines/s.
2. PostgreSQL against SQLite: the same import into a throw-away local cluster, alternating
   with SQLite imports (target <= 1.5x the SQLite time).
3. Peak RSS of the import (the largest process: the importer or a helper; < 250 MB).
4. Every preset report on >= 2,000,000 smtp rows (the day imported under several server
   ids), median of 5 runs each (target <= 100 ms on SQLite).

IWTUI_BENCH_RUNS (default 3) runs of each side, alternating; IWTUI_BENCH_PARTS (default
"import,pg,presets") picks the parts; "floor" (not by default) times the import's regex over
the SMTP day and sqlite3's INSERT of the day's rows alone, one core each: what an import
with no other Python per line or row would still cost. The import also prints its CPU seconds (the importer
and its helpers): on 2 cores, half of that is the floor of its wall time.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import simulated_tree

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DAY = "2026-01-15"


def _tree(mb: float) -> Path:
    return simulated_tree(f"analyzer-{int(mb)}", "--seed", "3", "--start", f"{DAY}T23:59:00",
                          "--log-mb", str(mb), "--rotate-mb", "0", "--queue", "10",
                          "--quarantine", "2", "--tarpit", "2")  # fmt: skip


# --- a Postfix log for pflogsumm ---------------------------------------------------------

_MSG = (
    "Jan 15 {t} mail postfix/smtpd[{p}]: connect from unknown[{ip}]\n"
    "Jan 15 {t} mail postfix/smtpd[{p}]: {q}: client=unknown[{ip}]\n"
    "Jan 15 {t} mail postfix/cleanup[{c}]: {q}: message-id=<{q}@{fd}>\n"
    "Jan 15 {t} mail postfix/qmgr[999]: {q}: from=<{fu}@{fd}>, size={size}, nrcpt=1 (queue active)\n"
    "Jan 15 {t} mail postfix/smtp[{s}]: {q}: to=<{tu}@{td}>, relay=mx.{td}[{ip2}]:25, "
    "delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {q})\n"
    "Jan 15 {t} mail postfix/qmgr[999]: {q}: removed\n"
    "Jan 15 {t} mail postfix/smtpd[{p}]: disconnect from unknown[{ip}]\n"
)
_REJECT = (
    "Jan 15 {t} mail postfix/smtpd[{p}]: connect from unknown[{ip}]\n"
    "Jan 15 {t} mail postfix/smtpd[{p}]: NOQUEUE: reject: RCPT from unknown[{ip}]: 550 5.1.1 "
    "<{tu}@{td}>: Recipient address rejected: User unknown in local recipient table; "
    "from=<{fu}@{fd}> to=<{tu}@{td}> proto=ESMTP helo=<mail.{fd}>\n"
    "Jan 15 {t} mail postfix/smtpd[{p}]: disconnect from unknown[{ip}]\n"
)
_DEFER = (
    "Jan 15 {t} mail postfix/smtp[{s}]: {q}: to=<{tu}@{td}>, relay=none, delay=300, "
    "delays=0/0/300/0, dsn=4.4.1, status=deferred (connect to mx.{td}[{ip2}]:25: "
    "Connection timed out)\n"
)


def postfix_log(path: Path, lines: int) -> Path:
    if path.exists() and path.stat().st_size > 0:
        return path
    rng = random.Random(5)
    users = [f"user{i}" for i in range(300)]
    domains = [f"example{i}.org" for i in range(60)]
    out, n, k = [], 0, 0
    with open(path, "w") as fh:
        while n < lines:
            k += 1
            sec = (n * 86400) // lines
            v = {"t": f"{sec // 3600:02d}:{sec % 3600 // 60:02d}:{sec % 60:02d}",
                 "p": 1000 + k % 5000, "c": 2000 + k % 300, "s": 3000 + k % 700,
                 "q": f"{k:010X}", "ip": f"81.{k % 250}.{k % 199}.{k % 251 + 1}",
                 "ip2": f"93.{k % 211}.{k % 97}.{k % 241 + 1}", "size": 900 + k % 90000,
                 "fu": rng.choice(users), "fd": rng.choice(domains), "tu": rng.choice(users),
                 "td": rng.choice(domains)}  # fmt: skip
            r = rng.random()
            tpl = _REJECT if r < 0.15 else (_DEFER if r < 0.2 else _MSG)
            out.append(tpl.format(**v))
            n += tpl.count("\n")
            if len(out) >= 5000:
                fh.write("".join(out))
                out.clear()
        fh.write("".join(out))
    return path


# --- runs ----------------------------------------------------------------------------------


CPU: list[float] = []  # CPU seconds of each import (the importer and its helpers)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _import(root: Path, db: str, *extra: str) -> tuple[float, dict[str, object], int]:
    """Wall time, the JSON, and the largest RSS (KiB) of one import: of the importer and
    its helpers only (os.wait4 of that process; RUSAGE_CHILDREN would hold pflogsumm's)."""
    cpu0 = _cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen([PY, "-m", "iwtui", "analyzer", "import", "--root", str(root),
                             "--date", DAY, "--db", db, "--json", *extra],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, proc.args)
    CPU.append(_cpu() - cpu0)
    return took, json.loads(out), usage.ru_maxrss


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            n += block.count(b"\n")
    return n


def _median(xs: list[float]) -> str:
    return f"{statistics.median(xs):8.3f} s (range {min(xs):.3f}-{max(xs):.3f})"


def main() -> None:
    mb = float(os.environ.get("IWTUI_BENCH_LOG_MB", "200"))
    runs = int(os.environ.get("IWTUI_BENCH_RUNS", "3"))
    parts = os.environ.get("IWTUI_BENCH_PARTS", "import,pg,presets").split(",")
    root = _tree(mb)
    tmp = Path(tempfile.mkdtemp(prefix="iwtui-bench-analyzer-"))
    try:
        # 1. import vs pflogsumm, side by side
        if "import" in parts:
            _versus_pflogsumm(root, tmp, mb, runs)
        # 2. PostgreSQL vs SQLite
        if "pg" in parts:
            _postgres(root, tmp, runs)
        # 4. presets on >= 2,000,000 rows
        if "presets" in parts:
            _presets(root, tmp, mb)
        # 5. the floor of this design: its regex and its inserts with no other Python
        if "floor" in parts:
            _floor(root, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _versus_pflogsumm(root: Path, tmp: Path, mb: float, runs: int) -> None:
    smtp_lines = _count_lines(root / "logs" / "smtp" / f"s{DAY.replace('-', '')}.log")
    pf = postfix_log(Path(tempfile.gettempdir()) / f"iwtui-bench-postfix-{smtp_lines}.log",
                     smtp_lines)  # fmt: skip
    pf_lines = _count_lines(pf)
    ours, base, base_cpu, lines, rss = [], [], [], 0, 0
    for i in range(runs):
        db = str(tmp / f"run{i}.sqlite")
        took, js, r = _import(root, db)
        ours.append(took)
        lines = int(js["lines"])  # type: ignore[call-overload]
        rss = max(rss, r)
        for f in tmp.glob(f"run{i}.sqlite*"):
            f.unlink()
        cpu0 = _cpu()
        t0 = time.perf_counter()
        subprocess.run(["pflogsumm", str(pf)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)  # fmt: skip
        base.append(time.perf_counter() - t0)
        base_cpu.append(_cpu() - cpu0)
    ol = lines / statistics.median(ours)
    bl = pf_lines / statistics.median(base)
    print(f"{'analyzer import (' + str(int(mb)) + ' MB SMTP day, ' + f'{lines:,} lines)':<44} "
          f"{_median(ours)}   pflogsumm ({pf_lines:,} lines) {_median(base)}")  # fmt: skip
    print(f"{'  lines/s':<44} {ol:,.0f}   pflogsumm {bl:,.0f}   ratio {ol / bl:6.1f}x "
          "(target >= 10x)")  # fmt: skip
    cpu = CPU[-runs:]
    print(f"{'  CPU (importer + helpers)':<44} {_median(cpu)}   pflogsumm {_median(base_cpu)}")
    oc = lines / statistics.median(cpu)
    bc = pf_lines / statistics.median(base_cpu)
    print(f"{'  lines per CPU-second':<44} {oc:,.0f}   pflogsumm {bc:,.0f}   ratio "
          f"{oc / bc:6.1f}x   (on 2 cores the wall floor is {statistics.median(cpu) / 2:.2f} s)")  # fmt: skip
    print(f"{'  peak RSS (largest process)':<44} {rss / 1024:8.1f} MB (target < 250 MB)")


def _postgres(root: Path, tmp: Path, runs: int) -> None:
    """PostgreSQL against SQLite, alternating run by run (the machine is shared: a load
    that changes between two separate series would decide the ratio)."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.pg import cluster, fresh_db
    except ImportError as exc:
        print(f"  PostgreSQL: skipped ({exc})")
        return
    try:
        with cluster() as url:
            times, lite = [], []
            for i in range(runs):
                took, _js, _r = _import(root, fresh_db(url, f"bench{i}"))
                times.append(took)
                db = tmp / f"pg-side{i}.sqlite"
                took, _js, _r = _import(root, str(db))
                lite.append(took)
                for f in tmp.glob(f"pg-side{i}.sqlite*"):
                    f.unlink()
            pg, sq = statistics.median(times), statistics.median(lite)
            print(f"{'analyzer import into PostgreSQL':<44} {_median(times)}   SQLite "
                  f"{_median(lite)}   ratio {pg / sq:6.2f}x (target <= 1.5x)")  # fmt: skip
    except Exception as exc:
        print(f"  PostgreSQL: skipped ({exc})")


def _floor(root: Path, tmp: Path) -> None:
    sys.path.insert(0, str(ROOT))
    import sqlite3

    from iwtui.analyzer.scan_fast import FIRST, LINE
    from iwtui.analyzer.schema import TABLES, row_columns
    from iwtui.analyzer.worker import Piece, SqliteSink, read_blocks

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    db = tmp / "floor.sqlite"
    took, js, _rss = _import(root, str(db))
    log = root / "logs" / "smtp" / f"s{DAY.replace('-', '')}.log"
    c0, matches = cpu(), 0
    for data, end, _done in read_blocks(Piece(str(log), 0, log.stat().st_size)):
        # as scan_fast.feed reads a block: its first line, then the lines after a newline
        matches += (FIRST.match(data, 0, end) is not None) + sum(
            1 for _m in LINE.finditer(data, 0, end))  # fmt: skip
    regex = cpu() - c0
    # the helpers' own sink (a scratch file), fed the rows the import made
    src = sqlite3.connect(db)
    sink = SqliteSink(tmp / "floor-scratch.sqlite", raw=False)
    insert, rows = 0.0, 0
    for t in TABLES:
        got = src.execute(f"SELECT {', '.join(row_columns(t, False))} FROM {t}").fetchall()
        c0 = cpu()
        for i in range(0, len(got), 5000):
            sink.add_many(t, got[i : i + 5000])
        insert += cpu() - c0
        rows += len(got)
    c0 = cpu()
    sink.close()
    insert += cpu() - c0
    lines = int(js["lines"])  # type: ignore[call-overload]
    print(f"{'floor: the regex over the SMTP day':<44} {regex:8.2f} core-s ({matches:,} matches)")
    print(f"{'floor: sqlite3 INSERT of the rows':<44} {insert:8.2f} core-s ({rows:,} rows)")
    print(f"{'  on 2 cores, before the serial write':<44} {(regex + insert) / 2:8.2f} s; the whole "
          f"import took {took:.2f} s ({lines / took:,.0f} lines/s)")  # fmt: skip


def _presets(root: Path, tmp: Path, mb: float) -> None:
    from iwtui.analyzer import reports
    from iwtui.analyzer.sql import open_read_only

    db = str(tmp / "presets.sqlite")
    rows, n = 0, 0
    while rows < 2_000_000:
        n += 1
        _took, js, _r = _import(root, db, "--server-id", f"s{n}")
        rows += int(js["tables"]["smtp"]["rows"])  # type: ignore[index]
    ro = open_read_only(db)
    _c, one = ro.query("SELECT lg_MessageID, lg_FromAccount, lg_FromDomain FROM smtp "
                       "WHERE lg_MessageID IS NOT NULL LIMIT 1 OFFSET 5000")  # fmt: skip
    mid, acc, dom = one[0]
    worst = ("", 0.0)
    print(f"presets on {rows:,} smtp rows ({n} server ids), median of 5:")
    for name in reports.PRESETS:
        q = mid if name == "direct-search" else f"{acc}@{dom}" if name == "mail-search" else ""
        p = reports.Params(q=q, threshold=1000)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            reports.run(ro, name, p)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        worst = max(worst, (name, med), key=lambda x: x[1])
        print(f"  {name:<42} {med * 1000:8.1f} ms")
    print(f"  {'slowest: ' + worst[0]:<42} {worst[1] * 1000:8.1f} ms (target <= 100 ms)")
    # Mail Search beyond the one address: the heaviest domain and address, one server
    _c, big = ro.query("SELECT lg_ToDomain, count(*) FROM smtp GROUP BY 1 ORDER BY 2 DESC "
                       "LIMIT 1")  # fmt: skip
    _c, heavy = ro.query("SELECT lg_ToAccount || '@' || lg_ToDomain, count(*) FROM smtp "
                         "WHERE lg_ToAccount != '' GROUP BY 1 ORDER BY 2 DESC LIMIT 1")  # fmt: skip
    for label, p in (
        (f"mail-search domain {big[0][0]}", reports.Params(q=str(big[0][0]))),
        (f"mail-search address {heavy[0][0]}", reports.Params(q=str(heavy[0][0]))),
        (f"mail-search {dom} on s1", reports.Params(q=str(dom), server="s1")),
    ):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            reports.run(ro, "mail-search", p)
            times.append(time.perf_counter() - t0)
        print(f"  {label:<42} {statistics.median(times) * 1000:8.1f} ms "
              f"({min(times) * 1000:.1f}-{max(times) * 1000:.1f})")  # fmt: skip
    ro.close()


if __name__ == "__main__":
    main()
