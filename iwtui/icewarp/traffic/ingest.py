"""Incremental ingest of an install's logs into its traffic store.

Each log file is remembered by path and identity (device, inode, SHA-1 of its first 4 KiB,
or of all of it while shorter) with the offset read up to: the next ingest reads only what
was appended, and only complete lines (a half-written last line waits for its newline). A
file whose identity changed (replaced) or that shrank (truncated) is taken back (what it
gave is subtracted) and read again from its start; a file that vanished keeps what it gave
(the store outlives log retention). A ``.gz`` archive of a file already read is skipped.
Calling ``ingest`` with nothing new costs one ``stat`` per file and one query.

Large work (48 MiB or more) is cut into newline-aligned pieces (16 MiB, smaller towards
the end of a file) shared between this
process and helper processes (``worker.py``), results merged in order per file. Progress
is reported per piece; ``cancel`` stops between pieces (files already finished are kept).
Two ingests at once (console and CLI) never count a range twice: a file's rows are written
only if its stored offset is still the one its reading started from.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iwtui.icewarp.traffic.counters import FOLDED, NOT_READ
from iwtui.icewarp.traffic.entries import walk
from iwtui.icewarp.traffic.store import FileRecord, Store, sha1_hex

if TYPE_CHECKING:  # (imported when there is something to read: a warm check needs none)
    import subprocess
    import threading

    from iwtui.icewarp.logs.names import LogName
    from iwtui.icewarp.traffic import scan

HEAD = 4096
# 16 MiB: a piece's bytes stay below glibc's largest mmap threshold (32 MiB), so the
# buffer is reused from the heap; a 32 MiB piece was a fresh mapping each time, and its
# page faults took 0.4-0.5 s of CPU per GB (a 1 GB cold ingest: 3.26 s -> 2.99 s)
PIECE = 16 << 20
PARALLEL_MIN = 48 << 20
GZ_BLOCK = 8 << 20

Progress = Callable[[int, int], None]


class IngestReport:
    """What an ingest did (a plain class, not a dataclass: a warm ``charts show`` is
    mostly start-up)."""

    def __init__(self) -> None:
        self.files_seen = 0
        self.files_read = 0
        self.bytes_read = 0
        self.reread: list[str] = []  # truncated or replaced: read again
        self.skipped: list[str] = []  # not a regular file, unreadable
        self.helpers = 0
        self.seconds = 0.0
        self.cancelled = False
        self.days: set[str] = set()  # days whose counters changed

    @property
    def changed(self) -> bool:
        return bool(self.days)

    def __repr__(self) -> str:
        return (f"IngestReport(files_seen={self.files_seen}, files_read={self.files_read}, "
                f"bytes_read={self.bytes_read}, reread={self.reread}, skipped={self.skipped}, "
                f"helpers={self.helpers}, cancelled={self.cancelled}, days={sorted(self.days)})")  # fmt: skip


class _Job:
    def __init__(self, rec: FileRecord, name: LogName, service: str, antispam: bool,
                 start: int, end: int, reset: bool, base_offset: int, base_ino: int) -> None:  # fmt: skip
        self.rec = rec
        self.name = name
        self.service = service  # the service the counters belong to (anti-spam -> smtp)
        self.antispam = antispam
        self.antivirus = name.service == "antivirus"
        self.start = start
        self.end = end
        self.reset = reset
        self.base_offset = base_offset  # the stored offset this read continues from (CAS)
        self.base_ino = base_ino
        self.pieces: list[tuple[int, int]] = []
        self.parts: dict[int, scan.Part] = {}  # arrived, not merged yet
        self.into: scan.Part | None = None  # pieces 0..merged-1 merged in order
        self.merged = 0
        self.failed = False

    def state(self) -> scan.Part:
        """The merged part so far, starting from the file's saved parser state."""
        from iwtui.icewarp.traffic import scan

        if self.into is None:
            saved: dict[str, Any] | None = None
            if not self.reset and self.rec.state:
                with contextlib.suppress(ValueError):
                    saved = json.loads(self.rec.state)
            self.into = scan.state_part(self.name.day, saved)
        return self.into

    def add(self, k: int, part: scan.Part) -> bool:
        """A piece's part; True when the whole file is in."""
        from iwtui.icewarp.traffic import scan

        into = self.state()
        self.parts[k] = part
        while self.merged in self.parts:
            got = self.parts.pop(self.merged)
            if "error" in got:
                self.failed = True
            elif not self.failed:
                scan.merge(into, got)
            self.merged += 1
        return self.merged == len(self.pieces)


def _logical(n: LogName) -> str:
    return f"{n.service}|{n.server_id}|{n.day.isoformat()}|{'' if n.part is None else n.part}"


def _open(path: Path) -> tuple[int, os.stat_result]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")
    return fd, st


def _last_newline(fd: int, start: int, size: int) -> int:
    """The offset just after the last ``\\n`` in [start, size), or ``start``."""
    at = size
    while at > start:
        lo = max(start, at - (1 << 20))
        data = os.pread(fd, at - lo, lo)
        nl = data.rfind(b"\n")
        if nl >= 0:
            return lo + nl + 1
        at = lo
    return start


def _next_newline(fd: int, at: int, end: int) -> int:
    while at < end:
        data = os.pread(fd, min(1 << 16, end - at), at)
        nl = data.find(b"\n")
        if nl >= 0:
            return at + nl + 1
        at += len(data)
    return end


def _pieces(fd: int, start: int, end: int) -> list[tuple[int, int]]:
    """Newline-aligned pieces of up to PIECE bytes, smaller towards the end of the file
    (a quarter of what is left, down to PIECE / 8): the two processes finish together
    instead of one reading the last large piece alone."""
    out = []
    at = start
    while at < end:
        size = max(PIECE // 8, min(PIECE, (end - at) // 4))
        cut = end if end - at <= size * 3 // 2 else _next_newline(fd, at + size, end)
        out.append((at, cut))
        at = cut
    return out


def _plan(install: Any, store: Store, report: IngestReport) -> list[_Job]:
    """The files to read. The warm check first: one ``lstat`` per entry of the log folder,
    compared with the stored identity (device, inode, size, mtime) of the files read and
    the names known not to count; only what differs is looked at further (its name
    parsed, its record and first bytes read)."""
    log_dir = str(install.log_dir)
    idents = store.identities()
    ignored = store.ignored(log_dir)
    changed: list[tuple[str, os.stat_result]] = []
    for path, lst in walk(log_dir):
        ident = idents.get(path)
        if ident is not None and ident == (lst.st_dev, lst.st_ino, lst.st_size, lst.st_mtime_ns):
            report.files_seen += 1  # nothing new: the warm path
        elif path not in ignored:
            changed.append((path, lst))
    if not changed:
        return []
    from iwtui.icewarp.logs.names import parse_name

    root = Path(log_dir)
    found: list[tuple[LogName, os.stat_result]] = []
    skip: list[str] = []
    for path, lst in changed:
        name = parse_name(Path(path), root)
        if name is None or name.service in NOT_READ:
            skip.append(path)
        else:
            found.append((name, lst))
    if skip:
        store.add_ignored(log_dir, skip)
    server = install.server_id or ""
    records = store.records(str(n.path) for n, _st in found)
    plain = {_logical(n) for n, _st in found if not n.compressed}
    stored = store.logicals() if any(n.compressed for n, _st in found) else set()
    jobs: list[_Job] = []
    for name, lst in found:
        report.files_seen += 1
        path = str(name.path)
        rec = records.get(path)
        if not stat.S_ISREG(lst.st_mode):
            report.skipped.append(path)
            continue
        logical = _logical(name)
        if name.compressed and rec is None and (logical in plain or logical in stored):
            continue  # an archive of a file already read
        try:
            fd, st = _open(name.path)
        except OSError:
            report.skipped.append(path)
            continue
        try:
            job = _job(fd, st, name, rec, server, logical, report)
        finally:
            os.close(fd)
        if job is not None:
            jobs.append(job)
    return jobs


def _job(fd: int, st: os.stat_result, name: LogName, rec: FileRecord | None, server: str,
         logical: str, report: IngestReport) -> _Job | None:  # fmt: skip
    head = os.pread(fd, HEAD, 0)
    path = str(name.path)
    reset = False
    start = 0
    if rec is not None:
        same = (rec.dev, rec.ino) == (st.st_dev, st.st_ino) and rec.head_len <= len(head)
        same = same and sha1_hex(head[: rec.head_len]) == rec.head_hash
        if name.compressed:
            reset = True  # an archive changed: read it again whole
        elif same and st.st_size >= rec.offset:
            start = rec.offset
        else:
            reset = True
        if reset:
            report.reread.append(path)
    else:
        rec = FileRecord(0, path, logical, name.service, name.day.isoformat(), server, 0, 0, 0,
                         0, 0, "", 0, None, name.compressed)  # fmt: skip
    base_offset, base_ino = rec.offset, rec.ino
    end = st.st_size if name.compressed else _last_newline(fd, start, st.st_size)
    rec.dev, rec.ino, rec.size, rec.mtime_ns = st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns
    rec.head_len, rec.head_hash = len(head), sha1_hex(head)
    service = FOLDED.get(name.service, name.service)
    job = _Job(rec, name, service, name.service == "antispam", start, max(start, end), reset,
               base_offset, base_ino)  # fmt: skip
    if not name.compressed:
        job.pieces = _pieces(fd, start, job.end)
    else:
        job.pieces = [(0, st.st_size)]
    return job


class _Helper:
    """One helper process fed tasks one at a time by a thread of this process."""

    def __init__(self) -> None:
        import subprocess  # only large work starts a helper

        self.proc: subprocess.Popen[bytes] | None = None
        with contextlib.suppress(OSError):
            self.proc = subprocess.Popen(
                # -P: an `iwtui` folder in the working directory is never imported
                [sys.executable, "-P", "-m", "iwtui.icewarp.traffic.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )

    def run(self, task: dict[str, Any]) -> Any:
        assert self.proc is not None and self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(task) + "\n").encode())
        self.proc.stdin.flush()
        from iwtui.icewarp.traffic import worker

        return worker.read_frame(self.proc.stdout)

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _task(job: _Job, piece: tuple[int, int]) -> dict[str, Any]:
    return {"path": job.rec.path, "start": piece[0], "end": piece[1],
            "day": job.name.day.toordinal(), "antispam": job.antispam, "antivirus": job.antivirus,
            "dev": job.rec.dev, "ino": job.rec.ino}  # fmt: skip


def _read_gz(job: _Job, cancel: threading.Event | None) -> scan.Part:
    import gzip

    from iwtui.icewarp.traffic import scan

    fd, _st = _open(job.name.path)
    part = scan.new_part(job.name.day)
    with os.fdopen(fd, "rb") as raw, gzip.open(raw) as fh:
        carry = b""
        while True:
            if cancel is not None and cancel.is_set():
                raise InterruptedError
            block = fh.read(GZ_BLOCK)
            if not block:
                break
            data = carry + block
            cut = data.rfind(b"\n") + 1
            piece = scan.scan(
                data[:cut],
                scan.new_part(job.name.day),
                antispam=job.antispam,
                antivirus=job.antivirus,
            )
            scan.merge(part, piece, compose=True)
            carry = data[cut:]
        if carry:
            piece = scan.scan(
                carry + b"\n",
                scan.new_part(job.name.day),
                antispam=job.antispam,
                antivirus=job.antivirus,
            )
            scan.merge(part, piece, compose=True)
    return part


def ingest(install: Any, store: Store, *, progress: Progress | None = None,
           cancel: threading.Event | None = None, helpers: int | None = None,
           in_process: bool = True) -> IngestReport:  # fmt: skip
    """Bring the store up to date with the install's logs. ``helpers``: how many helper
    processes large work may use (default: one per extra core, at least 1); ``in_process``:
    this process takes pieces too (the console passes False: its UI thread stays free)."""
    t0 = time.perf_counter()
    report = IngestReport()
    jobs = _plan(install, store, report)
    if not jobs:  # nothing new: no threads, no queues
        report.seconds = time.perf_counter() - t0
        return report
    import queue
    import threading

    from iwtui.icewarp.traffic import worker

    server = install.server_id or ""
    tasks = [(j, k) for j, job in enumerate(jobs) for k in range(len(job.pieces))]
    sizes = {(j, k): jobs[j].pieces[k][1] - jobs[j].pieces[k][0] for j, k in tasks}
    total = sum(sizes.values())
    done = 0
    if helpers is None:
        helpers = max(1, (os.cpu_count() or 2) - 1)
    parallel = total >= PARALLEL_MIN and helpers > 0 and len(tasks) > 1
    if not parallel:
        helpers = 0
    if not in_process and helpers == 0 and total >= PARALLEL_MIN:
        helpers = 1
    pending: list[tuple[int, int]] = list(reversed(tasks))
    lock = threading.Lock()
    results: queue.SimpleQueue[tuple[int, int, Any]] = queue.SimpleQueue()
    stop = threading.Event()
    pool = [_Helper() for _ in range(helpers)]
    pool = [h for h in pool if h.proc is not None]
    report.helpers = len(pool)

    def take() -> tuple[int, int] | None:
        with lock:
            return pending.pop() if pending and not stop.is_set() else None

    def helper_loop(h: _Helper) -> None:
        while (t := take()) is not None:
            job = jobs[t[0]]
            if job.name.compressed:
                results.put((t[0], t[1], None))  # archives are read in this process
                continue
            try:
                got = h.run(_task(job, job.pieces[t[1]]))
            except (OSError, EOFError, ValueError):
                results.put((t[0], t[1], None))
                return
            results.put((t[0], t[1], got))

    threads = [threading.Thread(target=helper_loop, args=(h,), daemon=True) for h in pool]
    for th in threads:
        th.start()
    outstanding = len(tasks)

    def local(j: int, k: int) -> Any:
        job = jobs[j]
        try:
            if job.name.compressed:
                return _read_gz(job, cancel)
            return worker.run_task(_task(job, job.pieces[k]))
        except OSError as exc:
            return {"error": str(exc)}

    def handle(j: int, k: int, part: Any) -> None:
        nonlocal outstanding, done
        if part is None:
            part = local(j, k)  # the helper could not: do it here
        outstanding -= 1
        done += sizes[(j, k)]
        job = jobs[j]
        complete = job.add(k, part)
        if progress is not None:
            progress(done, total)
        if complete:
            _write(store, job, server, report)

    try:
        while outstanding:
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            alive = any(th.is_alive() for th in threads)
            local_turn = (in_process or not alive) and bool(pending)
            if local_turn:
                t = take()
                if t is not None:
                    handle(t[0], t[1], local(*t))
            try:
                while outstanding and not (cancel is not None and cancel.is_set()):
                    handle(*results.get(timeout=0.1) if not local_turn else results.get_nowait())
            except queue.Empty:
                if not alive and not pending and results.empty():
                    break
        if not report.cancelled:
            for job in jobs:
                if not job.pieces:
                    _write(store, job, server, report)
            if report.days:  # minutes past the store's minute window: into the rollups
                from datetime import date

                newest = max(date.fromisoformat(d).toordinal() for d in report.days)
                with store.transaction() as db:
                    store.thin(db, newest)
    except InterruptedError:
        report.cancelled = True
    finally:
        stop.set()
        for h in pool:
            h.stop()
        for th in threads:
            th.join(timeout=5)
    report.seconds = time.perf_counter() - t0
    return report


def _write(store: Store, job: _Job, server: str, report: IngestReport) -> None:
    from iwtui.icewarp.traffic import scan

    rec = job.rec
    if job.failed:
        report.skipped.append(rec.path)
        return  # the file changed while it was read: the next ingest reads it
    into = job.state()
    counts = {c: v for c, v in into["counts"].items() if v}
    with store.transaction() as db:
        row = db.execute("SELECT id, offset, ino FROM files WHERE path=?", (rec.path,)).fetchone()
        if row is not None and (
            rec.id != row[0] or (row[1], row[2]) != (job.base_offset, job.base_ino)
        ):
            return  # another ingest got there first
        if row is None and rec.id:
            return
        touched: set[tuple[str, int]] = set()
        if job.reset and rec.id:
            touched |= store.forget_file(db, rec.id, server)
        rec.offset = job.end
        rec.state = json.dumps(scan.trim_state(into))
        file_id = store.save_file(db, rec)
        store.add_counts(db, file_id, server, job.service, counts)
        store.add_starts(db, file_id, job.service, scan.start_times(into))
        accounts = scan.accounts(into)
        if accounts:
            store.add_accounts(db, file_id, server, accounts)
        touched |= {(job.service, m // 60) for c in counts.values() for m in c}
        store.rebuild_rollups(db, server, touched)
    if job.end > job.start:
        report.files_read += 1
        report.bytes_read += job.end - job.start
    report.days |= {scan.day_of(h * 60).isoformat() for _s, h in touched}


def open_store(install: Any, state_dir: Path) -> Store:
    from iwtui.icewarp.traffic.store import default_path

    return Store(default_path(install, state_dir))
