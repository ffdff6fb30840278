"""A second process for a big first walk (the GIL is not shared: both cores count).

``python -P -m iwtui.icewarp.volume.helper`` reads JSON lines on stdin: first the settings
(``{"hot_ns": N, "exclude": [...]}``), then jobs (``{"id": n, "path": folder}``); it walks
each job's subtree and writes ``{"id": n, "recs": [...]}`` batches (every ``PROGRESS_EVERY``
and at the end) then ``{"id": n, "done": true, ...}``. The parent counts the records itself
(hard links once across both processes) and caches them. On any failure of the helper the
parent reports it in the errors; a cancel kills it at once.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections import deque
from sys import intern
from typing import IO, Any

from iwtui.icewarp.volume.walk import CHUNK, Folder, Progress, Unit, Walker, WalkStats

OUTSTANDING = 2  # jobs given to the helper ahead of time


def _rec_out(path: str, r: Folder) -> list[Any]:
    return [path, r.stamp, r.bytes, r.files, r.subdirs, r.links, r.oldest]


def _rec_in(v: list[Any]) -> tuple[str, Folder]:
    p, st, b, f, subs, links, oldest = v
    return p, Folder(st, b, f, tuple(map(intern, subs)), tuple(links), oldest)


class Helper:
    """The parent's side: feeds jobs from the back of the queue, merges results."""

    def __init__(self, proc: subprocess.Popen[bytes], jobs: deque[tuple[int, str, str]]) -> None:
        self.proc = proc
        self.jobs = jobs
        self.outstanding: set[int] = set()
        self.unit_of: dict[int, list[int]] = {}  # job id -> unit index of each of its paths
        self.inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
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
        try:
            for raw in self.proc.stdout:
                # Records are parsed by the walking thread (drain): this thread only
                # looks at the small "done" lines, to hand out the next jobs at once.
                self.inbox.put(raw)
                if raw.startswith(b'{"done"'):
                    msg = json.loads(raw)
                    with self._lock:
                        self.outstanding.discard(int(msg["id"]))
                    if not self.give():
                        with self._lock:
                            idle = not self.outstanding
                        if idle:
                            assert self.proc.stdin is not None
                            self.proc.stdin.close()
        except (OSError, ValueError):
            self.failed = True
        finally:
            self.inbox.put(None)

    def drain(self, walker: Walker, timeout: float = 0.0) -> None:
        """Merge what the helper sent so far (the walker's thread)."""
        while not self.ended:
            try:
                raw = self.inbox.get(timeout=timeout) if timeout else self.inbox.get_nowait()
            except queue.Empty:
                return
            if raw is None:
                self.ended = True
                return
            try:
                msg = json.loads(raw)
            except ValueError:
                self.failed = True
                continue
            with self._lock:
                indexes = self.unit_of.get(int(msg["id"]), [])
            if msg.get("done"):
                walker.stats.vanished += int(msg.get("vanished", 0))
                walker.stats.symlinks += int(msg.get("symlinks", 0))
                walker.stats.errors += [(str(p), str(e)) for p, e in msg.get("errors", [])]
                continue
            k = int(msg.get("k", 0))
            if k >= len(indexes):
                continue
            walker.merge_many(map(_rec_in, msg["recs"]), walker.units[indexes[k]])

    def finish(self, walker: Walker) -> None:
        """The parent ran out of jobs: wait for the helper's, still reporting and
        listening for cancel."""
        while not self.ended:
            if walker.tick():
                self.stop()
                return
            self.drain(walker, timeout=PROGRESS_WAIT)
        self.proc.wait()
        if self.failed or self.proc.returncode not in (0, None):
            walker.stats.errors.append(("(helper process)", "ended early: totals may be short"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


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

    def send(msg: dict[str, Any]) -> None:
        out.write(json.dumps(msg).encode("utf-8", "surrogateescape") + b"\n")
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
                    send({"id": job_id, "k": k, "recs": [_rec_out(p, r) for p, r in sink]})
                    sink.clear()

            walker = Walker({}, exclude=exclude, helpers=False, sink=sink, progress=flush)
            walker.hot_before_ns = hot_ns
            got = walker.run([Unit("job", str(path))])
            flush()
            stats.vanished += got.vanished
            stats.symlinks += got.symlinks
            stats.errors += got.errors
        send({"done": True, "id": job_id, "vanished": stats.vanished,
              "symlinks": stats.symlinks, "errors": stats.errors})  # fmt: skip


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
