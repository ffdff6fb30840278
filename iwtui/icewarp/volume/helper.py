"""A second process for a big first walk (the GIL is not shared: both cores count).

``python -P -m iwtui.icewarp.volume.helper`` reads JSON lines on stdin: first the settings
(``{"hot_ns": N, "exclude": [...]}``), then jobs (``{"id": n, "paths": [folder, ...]}``); it
walks each job's subtrees and writes frames (a kind byte, a 4-byte length, a marshal
payload: the records cost the two processes far less than JSON did): ``RECS`` batches
``(id, k, records)`` (every ``PROGRESS_EVERY`` and at the end), then ``DONE`` ``(id,
vanished, symlinks, errors)``. The parent counts the records itself
(hard links once across both processes) and caches them. On any failure of the helper the
parent reports it in the errors; a cancel kills it at once.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import queue
import subprocess
import sys
import threading
from collections import deque
from sys import intern
from typing import IO, Any

from iwtui.icewarp.volume.folders import Folder
from iwtui.icewarp.volume.walk import CHUNK, Progress, Unit, Walker, WalkStats

OUTSTANDING = 2  # jobs given to the helper ahead of time
RECS, DONE = 1, 2  # the kinds of the helper's frames
_HEAD = 5  # kind byte + payload length (4 bytes, little-endian)
MAX_FRAME = 1 << 28  # a batch of records is a few hundred kB


def _rec_out(path: str, r: Folder) -> tuple[Any, ...]:
    return (path, r.stamp, r.bytes, r.files, r.subdirs, r.links, r.oldest)


def _rec_in(v: tuple[Any, ...]) -> tuple[str, Folder]:
    p, st, b, f, subs, links, oldest = v
    return p, Folder(st, b, f, tuple(map(intern, subs)), tuple(links), oldest)


def _frame(kind: int, payload: Any) -> bytes:
    body = marshal.dumps(payload, 4)
    return bytes((kind,)) + len(body).to_bytes(4, "little") + body


class Helper:
    """The parent's side: feeds jobs from the back of the queue, merges results."""

    def __init__(self, proc: subprocess.Popen[bytes], jobs: deque[tuple[int, str, str]]) -> None:
        self.proc = proc
        self.jobs = jobs
        self.outstanding: set[int] = set()
        self.unit_of: dict[int, list[int]] = {}  # job id -> unit index of each of its paths
        self.inbox: queue.SimpleQueue[tuple[int, bytes] | None] = queue.SimpleQueue()
        self.failed = False
        self.ended = False
        self._next_id = 0
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)

    def give(self) -> bool:
        """Hand the helper a run of jobs from the back of the queue; False when none left."""
        take = max(1, min(CHUNK, len(self.jobs) // 8))
        got: list[tuple[int, str, str]] = []
        for _ in range(take):
            try:
                got.append(self.jobs.pop())
            except IndexError:
                break
        if not got:
            return False
        with self._lock:
            job = self._next_id
            self._next_id += 1
            self.outstanding.add(job)
            self.unit_of[job] = [index for index, _, _ in got]
        paths = [f"{top}/{name}" for _, top, name in got]
        line = json.dumps({"id": job, "paths": paths}) + "\n"
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode("utf-8", "surrogateescape"))
        self.proc.stdin.flush()
        return True

    def _read(self) -> None:
        assert self.proc.stdout is not None
        read = self.proc.stdout.read
        try:
            while True:
                head = read(_HEAD)
                if len(head) < _HEAD:
                    if head:
                        self.failed = True
                    break
                size = int.from_bytes(head[1:], "little")
                if head[0] not in (RECS, DONE) or size > MAX_FRAME:
                    self.failed = True  # not one of our frames: read no further
                    break
                body = read(size)
                if len(body) < size:
                    self.failed = True
                    break
                # Records are unpacked by the walking thread (drain): this thread only
                # looks at the small "done" frames, to hand out the next jobs at once.
                self.inbox.put((head[0], body))
                if head[0] == DONE:
                    job_id = int(marshal.loads(body)[0])
                    with self._lock:
                        self.outstanding.discard(job_id)
                    if not self.give():
                        with self._lock:
                            idle = not self.outstanding
                        if idle:
                            assert self.proc.stdin is not None
                            self.proc.stdin.close()
        except (OSError, ValueError, EOFError, TypeError, IndexError):
            self.failed = True
        finally:
            self.proc.stdout.close()  # read to its end (or given up): this thread's alone
            self.inbox.put(None)

    def drain(self, walker: Walker, timeout: float = 0.0) -> None:
        """Merge what the helper sent so far (the walker's thread)."""
        while not self.ended:
            try:
                got = self.inbox.get(timeout=timeout) if timeout else self.inbox.get_nowait()
            except queue.Empty:
                return
            if got is None:
                self.ended = True
                return
            kind, body = got
            try:
                msg = marshal.loads(body)
            except (ValueError, EOFError, TypeError):
                self.failed = True
                continue
            with self._lock:
                indexes = self.unit_of.get(int(msg[0]), [])
            if kind == DONE:
                _id, vanished, symlinks, errors = msg
                walker.stats.vanished += int(vanished)
                walker.stats.symlinks += int(symlinks)
                walker.stats.errors += [(str(p), str(e)) for p, e in errors]
                continue
            _id, k, recs = msg
            if k >= len(indexes):
                continue
            walker.merge_many(map(_rec_in, recs), walker.units[indexes[k]])

    def finish(self, walker: Walker) -> None:
        """The parent ran out of jobs: wait for the helper's, still reporting and
        listening for cancel."""
        while not self.ended:
            if walker.tick():
                self.stop()
                return
            self.drain(walker, timeout=PROGRESS_WAIT)
        if self.failed:
            self.stop()  # it said something unreadable: it would wait for jobs forever
        self.proc.wait()
        if self.failed or self.proc.returncode not in (0, None):
            walker.stats.errors.append(("(helper process)", "ended early: totals may be short"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            # killed with jobs still buffered: nobody reads them
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.close()


PROGRESS_WAIT = 0.02


def start(walker: Walker, jobs: deque[tuple[int, str, str]]) -> Helper | None:
    try:
        proc = subprocess.Popen(
            # -P: an `iwtui` folder in the working directory is never imported
            [sys.executable, "-P", "-m", "iwtui.icewarp.volume.helper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    helper = Helper(proc, jobs)
    settings = {"hot_ns": walker.hot_before_ns, "exclude": sorted(walker.exclude)}
    try:
        assert proc.stdin is not None
        proc.stdin.write((json.dumps(settings) + "\n").encode("utf-8", "surrogateescape"))
        for _ in range(OUTSTANDING):
            helper.give()
    except OSError:
        helper.stop()
        return None
    helper._reader.start()
    return helper


def _serve(inp: IO[bytes], out: IO[bytes]) -> None:
    settings = json.loads(inp.readline() or b"{}")
    hot_ns = int(settings.get("hot_ns", 0))
    exclude = [str(x) for x in settings.get("exclude", [])]

    def send(kind: int, payload: Any) -> None:
        out.write(_frame(kind, payload))
        out.flush()

    for raw in inp:
        job = json.loads(raw)
        job_id = int(job["id"])
        stats = WalkStats()
        for k, path in enumerate(job["paths"]):
            sink: list[tuple[str, Folder]] = []

            def flush(
                _p: Progress | None = None,
                k: int = k,
                sink: list[tuple[str, Folder]] = sink,
                job_id: int = job_id,
            ) -> None:
                if sink:
                    send(RECS, (job_id, k, [_rec_out(p, r) for p, r in sink]))
                    sink.clear()

            walker = Walker({}, exclude=exclude, helpers=False, sink=sink, progress=flush)
            walker.hot_before_ns = hot_ns
            got = walker.run([Unit("job", str(path))])
            flush()
            stats.vanished += got.vanished
            stats.symlinks += got.symlinks
            stats.errors += got.errors
        send(DONE, (job_id, stats.vanished, stats.symlinks, stats.errors))


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
