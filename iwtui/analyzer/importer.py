"""Import Now: one day's SMTP, POP3, anti-spam and anti-virus logs into the database.

The day's files of each log type are found by the logs engine's catalog (spec 5.1), one
stream per server id in the file names, read in write order (``-00``, ``-01``...). A big
stream is cut into byte ranges at line starts and parsed by helper processes (``python
-P -m iwtui.analyzer.worker``), one per core; the sessions cut by a range's edges come
back as lines and are parsed again whole here. Everything for the day lands in one
transaction: the day's old rows for that server go, the new ones come, rollups follow.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from iwtui.analyzer import store
from iwtui.analyzer.db import Database
from iwtui.analyzer.parse import TAIL_CUT, TAIL_OPEN, Rollup, SessionParser, parser_for
from iwtui.analyzer.settings import LOGS
from iwtui.analyzer.worker import Job, JobResult, Piece, Sink, open_regular, run_job
from iwtui.errors import IwtuiError
from iwtui.icewarp.logs.catalog import scan
from iwtui.icewarp.logs.index import plain_path

Progress = Callable[[int, int, str], None]  # (bytes done, bytes total, what)


class Cancelled(IwtuiError):
    """The user stopped the import; nothing was changed."""


@dataclass(frozen=True)
class Options:
    logs: tuple[str, ...] = LOGS
    server_id: str = ""  # "" -> the file name's server id, else the install's
    raw: bool = False
    empty_first: bool = False
    keep_days: int | None = None
    pre_delete_sql: str = ""
    workers: int = max(1, min(2, os.cpu_count() or 1))
    split_bytes: int = 32 * 1024 * 1024  # a stream smaller than this is one range
    inprocess_bytes: int = 16 * 1024 * 1024  # a day smaller than this needs no helpers
    # a table receiving at least this many rows, and at least as many as it holds, has its
    # indexes built after the load instead of updated row by row (store._rebuild_indexes)
    rebuild_rows: int = 50_000


@dataclass
class TableStat:
    rows: int = 0
    seconds: float = 0.0
    files: int = 0
    bytes: int = 0


@dataclass
class DayResult:
    day: date
    servers: list[str] = field(default_factory=list)
    tables: dict[str, TableStat] = field(default_factory=dict)
    lines: int = 0
    bytes: int = 0
    seconds: float = 0.0
    deleted_old: int = 0
    helpers: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "server_ids": self.servers,
            "tables": {
                t: {
                    "rows": s.rows,
                    "seconds": round(s.seconds, 3),
                    "files": s.files,
                    "bytes": s.bytes,
                }
                for t, s in self.tables.items()
            },
            "rows": sum(s.rows for s in self.tables.values()),
            "lines": self.lines,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "deleted_old": self.deleted_old,
            "helpers": self.helpers,
        }


@dataclass
class Stream:
    service: str
    server: str
    files: list[tuple[str, int]]  # (readable path, size) in write order

    @property
    def size(self) -> int:
        return sum(s for _, s in self.files)


def find_streams(logs_root: Path, day: date, opts: Options, default_server: str) -> list[Stream]:
    cat = scan(logs_root)
    cache = Path(tempfile.gettempdir()) / f"iwtui-cache-{os.getuid()}"
    out: list[Stream] = []
    for service in opts.logs:
        ld = cat.days.get((service, day))
        if ld is None:
            continue
        groups: dict[str, list[tuple[str, int]]] = {}
        for f in ld.files:
            path = f.path
            if path.is_symlink():
                continue  # never follow a link out of the install
            if f.name.compressed:
                path = plain_path(path, cache)
            try:
                fd = open_regular(str(path))
            except OSError:
                continue
            try:
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            tag = opts.server_id or f.name.server_id or default_server
            groups.setdefault(tag, []).append((str(path), size))
        out += [Stream(service, tag, files) for tag, files in groups.items()]
    return out


def _cut(files: list[tuple[str, int]], target: int) -> tuple[int, int]:
    """(file index, offset) of the first line start at or after ``target`` bytes."""
    base = 0
    for i, (path, size) in enumerate(files):
        if target < base + size:
            off = target - base
            if off == 0:
                return i, 0
            fd = open_regular(path)
            try:
                while off < size:
                    data = os.pread(fd, 65536, off)
                    nl = data.find(b"\n")
                    if nl >= 0:
                        return (i, off + nl + 1) if off + nl + 1 < size else (i + 1, 0)
                    off += len(data)
            finally:
                os.close(fd)
            return i + 1, 0
        base += size
    return len(files), 0


def ranges(stream: Stream, day: str, parts: int, raw: bool) -> list[Job]:
    files = stream.files
    cuts = [(0, 0)]
    for k in range(1, parts):
        c = _cut(files, stream.size * k // parts)
        if c > cuts[-1]:
            cuts.append(c)
    cuts.append((len(files), 0))
    jobs = []
    for k in range(len(cuts) - 1):
        (fi, fo), (li, lo) = cuts[k], cuts[k + 1]
        pieces = []
        for i in range(fi, min(li + 1, len(files))):
            start = fo if i == fi else 0
            end = lo if i == li else files[i][1]
            if end > start:
                pieces.append(Piece(files[i][0], start, end))
        jobs.append(Job(stream.service, day, stream.server, raw, k == 0, k == len(cuts) - 2,
                        tuple(pieces), (stream.service, stream.server, day, k)))  # fmt: skip
    return jobs


class _Helpers:
    """Helper processes, each with its list of jobs, its scratch file and its progress."""

    def __init__(self, groups: list[list[Job]], tmp: Path, sink: str) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.jobfiles: list[Path] = []
        self.outs: list[Path] = []
        self.done = [0] * len(groups)
        self._threads = []
        for i, jobs in enumerate(groups):
            jf = tmp / f"job{i}.pickle"
            out = tmp / (f"w{i}.sqlite" if sink == "sqlite" else f"w{i}")
            if sink != "sqlite":
                out.mkdir()
            jf.write_bytes(pickle.dumps({"jobs": jobs, "sink": sink, "out": str(out)}))
            proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "iwtui.analyzer.worker", str(jf)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            self.procs.append(proc)
            self.jobfiles.append(jf)
            self.outs.append(out)
            t = threading.Thread(target=self._read, args=(i, proc), daemon=True)
            t.start()
            self._threads.append(t)

    def _read(self, i: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("P "):
                with contextlib.suppress(ValueError):
                    self.done[i] = int(line[2:])

    def wait(self, cancel: threading.Event | None, tick: Callable[[], None]) -> list[JobResult]:
        while any(p.poll() is None for p in self.procs):
            if cancel is not None and cancel.is_set():
                self.kill()
                raise Cancelled("import cancelled: nothing was changed")
            tick()
            time.sleep(0.05)
        results: list[JobResult] = []
        for p, jf in zip(self.procs, self.jobfiles, strict=True):
            if p.returncode != 0:
                err = (p.stderr.read() if p.stderr else "").strip().splitlines()
                raise IwtuiError(f"import helper failed: {err[-1] if err else p.returncode}")
            results += pickle.loads(jf.with_suffix(".out").read_bytes())
        return results

    def kill(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()


def _balance(jobs: list[Job], n: int) -> list[list[Job]]:
    groups: list[list[Job]] = [[] for _ in range(n)]
    load = [0] * n
    for job in sorted(jobs, key=lambda j: -sum(p.end - p.start for p in j.pieces)):
        i = load.index(min(load))
        groups[i].append(job)
        load[i] += sum(p.end - p.start for p in job.pieces)
    return [g for g in groups if g]


def _stitch(results: list[JobResult], raw: bool, sink: Sink) -> dict[tuple[str, str], Rollup]:
    """Parse again, whole, the sessions cut by range edges; their rows go to ``sink``.

    One parser reads a stream's cut sessions range by range, as a whole read would meet
    them: a range's SYSTEM lines before its thread's first session (kept only if that
    thread has a session open), the sessions its first ``Connected`` ends, its tails
    (ended where the range said, or left open for the next range), then its heads; what
    is still open after the last range is open at the day's end (midnight 1)."""
    by_stream: dict[tuple[str, str, str], list[JobResult]] = {}
    for r in results:
        by_stream.setdefault(r.key[:3], []).append(r)
    rolls: dict[tuple[str, str], Rollup] = {}
    for (service, server, day), parts in by_stream.items():
        parts.sort(key=lambda r: r.key[3])
        p = parser_for(service, day, server, sink.rows, raw=raw, first=True, last=True)
        if len(parts) > 1 and isinstance(p, SessionParser):
            open_ = p.open
            for k, part in enumerate(parts):
                if k:
                    for tid, lines in part.pending.items():
                        if tid in open_:
                            p.feed(b"\n".join(lines))
                    for tid in part.fresh:
                        s = open_.get(tid)
                        if s is not None:
                            p.close(s, cut=False)
                    for tid, lines, how in part.tails:
                        p.feed(b"\n".join(lines))
                        s = open_.get(tid)
                        if s is not None and how != TAIL_OPEN:
                            p.close(s, cut=how == TAIL_CUT)
                for lines in part.heads.values():
                    p.feed(b"\n".join(lines))
            p.finish()
        rolls[(server, service)] = p.rollup
    return rolls


def import_day(logs_root: Path, day: date, db: Database, opts: Options, *,
               default_server: str = "", progress: Progress | None = None,
               cancel: threading.Event | None = None) -> DayResult:  # fmt: skip
    t0 = time.perf_counter()
    res = DayResult(day)
    day_s = day.isoformat()
    streams = find_streams(logs_root, day, opts, default_server)
    total = sum(s.size for s in streams)
    res.bytes = total
    res.servers = sorted({s.server for s in streams})
    for s in streams:
        st = res.tables.setdefault(s.service, TableStat())
        st.files += len(s.files)
        st.bytes += s.size
    for service in opts.logs:
        res.tables.setdefault(service, TableStat())
    jobs: list[Job] = []
    for s in streams:
        parts = max(1, min(opts.workers * 2, s.size // max(1, opts.split_bytes)))
        jobs += ranges(s, day_s, int(parts), opts.raw)

    def tell(done: int, what: str) -> None:
        if progress is not None:
            progress(done, total, what)

    tmp = Path(tempfile.mkdtemp(prefix="iwtui-analyzer-"))
    try:
        local = Sink()
        helpers: _Helpers | None = None
        if total < opts.inprocess_bytes or (opts.workers <= 1 and len(jobs) == 1):
            results = []
            done = 0
            for job in jobs:
                base = done

                def step(n: int, base: int = base) -> None:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("import cancelled: nothing was changed")
                    tell(base + n, "reading logs")

                results.append(run_job(job, local, step))
                done += sum(p.end - p.start for p in job.pieces)
        else:
            sink_kind = "copy" if db.engine == "postgresql" else "sqlite"
            helpers = _Helpers(_balance(jobs, opts.workers), tmp, sink_kind)
            res.helpers = len(helpers.procs)
            results = helpers.wait(cancel, lambda: tell(sum(helpers.done), "reading logs"))
        tell(total, "stitching sessions")
        before = {t: len(rows) for t, rows in local.rows.items()}
        rolls = _stitch(results, opts.raw, local)
        for r in results:
            rolls.setdefault((r.key[1], r.key[0]), Rollup()).merge(r.rollup)
            res.lines += r.lines
            for t, n in r.rows.items():
                res.tables.setdefault(t, TableStat()).rows += n
        for t, rows in local.rows.items():
            if len(rows) > before[t]:
                res.tables.setdefault(t, TableStat()).rows += len(rows) - before[t]
        if cancel is not None and cancel.is_set():
            raise Cancelled("import cancelled: nothing was changed")
        parse_s = time.perf_counter() - t0
        tell(total, "writing the database")
        res.deleted_old = store.write_day(
            db, day_s, [(s.service, s.server) for s in streams] or
            [(svc, opts.server_id or default_server) for svc in opts.logs],
            local, helpers.outs if helpers else [], rolls, opts, res.tables,
        )  # fmt: skip
        total_rows = sum(s.rows for s in res.tables.values()) or 1
        for st in res.tables.values():
            st.seconds += parse_s * st.rows / total_rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res.seconds = time.perf_counter() - t0
    with contextlib.suppress(Exception):
        store.record_run(db, res, "ok", json.dumps(res.as_json()))
    return res


def days_between(start: date, end: date) -> list[date]:
    if end < start:
        start, end = end, start
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def yesterday(now: datetime | None = None) -> date:
    return (now or datetime.now()).date() - timedelta(days=1)


def import_days(logs_root: Path, days: Iterable[date], db: Database, opts: Options,
                **kw: Any) -> list[DayResult]:  # fmt: skip
    out = []
    first = True
    for d in days:
        out.append(import_day(logs_root, d, db, opts, **kw))
        if first:  # empty tables and retention once, before the first day
            opts = replace(opts, empty_first=False, keep_days=None)
            first = False
    return out
