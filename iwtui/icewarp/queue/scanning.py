"""Scanning the queues: listing the folders, reading (and parsing) the header blocks of
many files, partly in helper processes, and rescanning only what changed.

Scans are keyed by path, and a rescan reuses every item whose (inode, size, mtime) did
not change, so a watcher event costs a directory listing plus the changed files.
``messages`` holds the item and its parsing; ``heads`` the reading of one file and the
helper processes.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from iwtui.icewarp.install import Install
from iwtui.icewarp.queue.folders import QUEUE_NAMES, QueueSpot, iter_items, spots
from iwtui.icewarp.queue.heads import Helper, gather, read_blocks
from iwtui.icewarp.queue.messages import QueueItem, Row, _item, make_item, rows_of


def scan(
    install: Install,
    queues: Iterable[str] = QUEUE_NAMES,
    *,
    previous: dict[str, QueueItem] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, QueueItem]:
    """Every item of ``queues``, keyed by the file's path (text). Items of ``previous``
    whose file did not change are reused without reading the file again."""
    scanner = Scanner(install)
    scanner.items = previous or {}
    return scanner.scan(queues, full=True, cancel=cancel)


class Scanner:
    """Repeated scans of the same queues, for a live screen: a folder whose own mtime did
    not change since the last scan (no file was added, removed or renamed in it) is not
    listed again; its items are reused. ``full=True`` lists and checks every file (the
    safety pass: a file rewritten in place does not change its folder's mtime).

    Incoming and MDA share a folder: the folder is listed once per pass for each queue,
    as ``spots`` describes them."""

    def __init__(self, install: Install, *, lazy: bool = False) -> None:
        self.install = install
        self.lazy = lazy  # keep header blocks, parse on first use
        self.items: dict[str, QueueItem] = {}
        self._folders: dict[tuple[str, Path], tuple[int, list[str]]] = {}

    def scan(
        self,
        queues: Iterable[str] = QUEUE_NAMES,
        *,
        full: bool = False,
        cancel: threading.Event | None = None,
    ) -> dict[str, QueueItem]:
        wanted = set(queues)
        out: dict[str, QueueItem] = {}
        seen: dict[tuple[str, Path], tuple[int, list[str]]] = {}
        reading = _Reading(self.lazy, None)
        for spot in spots(self.install):
            if spot.queue not in wanted:
                continue
            key = (spot.queue, spot.folder)
            try:
                mtime = os.stat(spot.folder).st_mtime_ns
            except OSError:
                continue  # a queue folder that does not exist holds nothing
            known = self._folders.get(key)
            if not full and known is not None and known[0] == mtime:
                for p in known[1]:
                    item = self.items.get(p)
                    if item is not None:
                        out[p] = item
                seen[key] = known
                continue
            names: list[str] = []

            def sink(batch: list[Job], names: list[str] = names) -> None:
                names.extend(job[1] for job in batch)
                reading.add(batch)

            reused, _ = list_spot(spot, self.items, cancel, sink)
            out.update(reused)
            seen[key] = (mtime, [*reused, *names])
        out.update(reading.finish(cancel))
        if cancel is not None and cancel.is_set():
            return out
        self.items, self._folders = out, seen
        return out


STREAM_FIRST = 200  # files read here first by ``stream``: the first rows out at once
STREAM_BATCH = 1000  # files a helper of ``stream`` reads at a time (one frame: FRAME)
STREAM_AHEAD = 4  # batches a helper may hold: it never waits, memory stays bounded
STREAM_HELPERS = 2  # one a core; this process lists, assembles and writes meanwhile
T = TypeVar("T")


def stream(
    install: Install,
    queues: Iterable[str] = QUEUE_NAMES,
    *,
    cancel: threading.Event | None = None,
    helpers: int | None = None,
) -> Generator[list[QueueItem], None, None]:
    """Every item of ``queues``, parsed, in batches as soon as they are read: folder by
    folder in the order of ``spots`` (outgoing, priority 0-4, retry, incoming, MDA, SMS),
    each folder in the order its directory lists it. The first STREAM_FIRST files are
    read here; then ``helpers`` processes (default: one a core, at most STREAM_HELPERS)
    read and parse the rest, a batch each in turn, while this process lists and the
    caller uses what came. A helper that fails: its batches are read here. Closing the
    generator (or ``cancel``) stops the helpers."""

    def here(jobs: list[Job]) -> list[QueueItem]:
        items = (make_item(spot, path, name=name) for spot, path, name in jobs)
        return [i for i in items if i is not None]

    def adopt(jobs: list[Job], frame: list[Any]) -> list[QueueItem]:
        items = (_item(s, p, r, False, n) for (s, p, n), r in zip(jobs, frame, strict=True))
        return [i for i in items if i is not None]

    return _stream(install, queues, cancel, helpers, "stream", lambda jobs: [j[1] for j in jobs], here, adopt)  # fmt: skip


def stream_rows(
    install: Install,
    queues: Iterable[str] = QUEUE_NAMES,
    form: str = "line",
    query: str = "",
    *,
    cancel: threading.Event | None = None,
    helpers: int | None = None,
) -> Generator[list[Row], None, None]:
    """``stream``, the items written as JSON text (``form`` "line": ``json_line``;
    "block": ``json_block``) and filtered (``query``: ``parse_query``'s text) by the
    helpers themselves: this process only lists, passes rows on, and writes. Rows are
    (queued_at, text, sender, recipients); sender and recipients only for the retry
    queue, whose last error is this process's (``with_last_error``)."""

    def payload(jobs: list[Job]) -> list[Any]:
        return [form, query, [(p, n, s.queue, s.priority) for s, p, n in jobs]]

    def here(jobs: list[Job]) -> list[Row]:
        return [r for r in rows_of([form, query, payload(jobs)[2]]) if r is not None]

    def adopt(jobs: list[Job], frame: list[Any]) -> list[Row]:
        return [r for r in frame if r is not None]

    return _stream(install, queues, cancel, helpers, "rows", payload, here, adopt)


def _stream(
    install: Install,
    queues: Iterable[str],
    cancel: threading.Event | None,
    helpers: int | None,
    mode: str,
    payload: Callable[[list[Job]], list[Any]],
    here: Callable[[list[Job]], list[T]],
    adopt: Callable[[list[Job], list[Any]], list[T]],
) -> Generator[list[T], None, None]:
    wanted = set(queues)
    cores = os.cpu_count() or 1
    if helpers is None:
        helpers = min(STREAM_HELPERS, cores) if cores > 1 else 0
    pool: list[Helper] = []
    turn = listed = 0
    # batches in the order they are yielded: (helper index, or -1: read here; jobs)
    flight: deque[tuple[int, list[Job]]] = deque()
    dead: set[int] = set()

    def collect() -> list[T]:
        owner, jobs = flight.popleft()
        if owner < 0 or owner in dead:
            return here(jobs)
        frame = pool[owner].next_frame()
        if frame is None or len(frame) != len(jobs):  # failed: its batches are read here
            pool[owner].stop()
            dead.add(owner)
            return here(jobs)
        return adopt(jobs, frame)

    def dispatch(jobs: list[Job]) -> None:
        nonlocal turn
        if not jobs:
            return
        if jobs[0][0].queue == "sms" or listed <= STREAM_FIRST or helpers == 0:
            flight.append((-1, jobs))
            return
        if not pool:
            pool.extend(Helper(mode) for _ in range(helpers))
        alive = [k for k, h in enumerate(pool) if h.started and k not in dead]
        if not alive:
            flight.append((-1, jobs))
            return
        k = alive[turn % len(alive)]
        turn += 1
        pool[k].send(payload(jobs))
        flight.append((k, jobs))

    def ready(final: bool = False) -> Iterator[list[T]]:
        limit = STREAM_AHEAD * max(1, len(pool))
        while flight and (final or flight[0][0] < 0 or len(flight) > limit):
            yield collect()

    try:
        for spot in spots(install):
            if spot.queue not in wanted:
                continue
            batch: list[Job] = []
            for entry in iter_items(spot):
                if cancel is not None and cancel.is_set():
                    return
                batch.append((spot, entry.path, entry.name))
                listed += 1
                if len(batch) >= (STREAM_FIRST if listed <= STREAM_FIRST else STREAM_BATCH):
                    dispatch(batch)
                    batch = []
                    yield from ready()
            dispatch(batch)
            yield from ready()
        for h in pool:
            h.close()
        yield from ready(final=True)
    finally:
        for h in pool:
            h.stop()


# A job: the file of a queue folder to read (its spot, path and name).
Job = tuple[QueueSpot, str, str]
PARALLEL_MIN = 5000  # files to read before a helper process is worth its start (~50 ms)
SINK_BATCH = 2000  # files listed before they are handed on (a helper starts reading them)


def list_spot(
    spot: QueueSpot,
    previous: dict[str, QueueItem],
    cancel: threading.Event | None = None,
    sink: Callable[[list[Job]], None] | None = None,
) -> tuple[dict[str, QueueItem], list[Job]]:
    """One queue folder listed: the unchanged items of ``previous`` and the files to read
    (handed to ``sink`` in batches while the listing goes on, when there is one)."""
    reused: dict[str, QueueItem] = {}
    todo: list[Job] = []
    for entry in iter_items(spot):
        if cancel is not None and cancel.is_set():
            break
        path = entry.path
        old = previous.get(path)
        if old is None:  # not seen before: the reader stats the open file
            todo.append((spot, path, entry.name))
            if sink is not None and len(todo) >= SINK_BATCH:
                sink(todo)
                todo = []
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if old.key == (st.st_ino, st.st_size, st.st_mtime_ns):
            reused[path] = old
        else:
            todo.append((spot, path, entry.name))
    if sink is not None:
        sink(todo)
        todo = []
    return reused, todo


def read_items(
    jobs: list[Job],
    *,
    lazy: bool = False,
    cancel: threading.Event | None = None,
    parallel: bool | None = None,
) -> dict[str, QueueItem]:
    """The items of ``jobs`` (see ``_Reading``)."""
    reading = _Reading(lazy, parallel)
    reading.add(jobs)
    return reading.finish(cancel)


class _Reading:
    """Files to read, collected while folders are listed. Once there are PARALLEL_MIN of
    them, a helper process starts and takes two in three from then on: it reads (and,
    unless ``lazy``, parses) while the listing goes on and this process reads the others,
    then this process assembles its results. If the helper cannot start or fails, its
    share is done here. (``parallel`` True: a helper from the first file; False: none.)"""

    def __init__(self, lazy: bool, parallel: bool | None) -> None:
        self.lazy = lazy
        self.allowed = (os.cpu_count() or 1) > 1 if parallel is None else parallel
        self.threshold = PARALLEL_MIN if parallel is None else 1
        self.mine: list[Job] = []
        self.theirs: list[Job] = []
        self.waiting: list[Job] = []
        self.helper: Helper | None = None

    def add(self, jobs: list[Job]) -> None:
        self.waiting += jobs
        if self.helper is None:
            if not self.allowed or len(self.waiting) < self.threshold:
                return
            self.helper = Helper("read" if self.lazy else "read-parse")
            if not self.helper.started:
                self.allowed = False
                return
        # two in three to the helper: this process also lists, and assembles its results
        files = [j for j in self.waiting if j[0].queue != "sms"]
        theirs = [j for k, j in enumerate(files) if k % 3]
        self.helper.send([j[1] for j in theirs])
        self.theirs += theirs
        self.mine += files[0::3] + [j for j in self.waiting if j[0].queue == "sms"]
        self.waiting = []

    def finish(self, cancel: threading.Event | None) -> dict[str, QueueItem]:
        helper = self.helper
        if helper is not None:
            helper.close()
        out: dict[str, QueueItem] = {}
        for spot, path, name in self.mine + self.waiting:
            if cancel is not None and cancel.is_set():
                break
            item = make_item(spot, path, lazy=self.lazy, name=name)
            if item is not None:
                out[path] = item
        if helper is None or not helper.started:
            return out
        if cancel is not None and cancel.is_set():
            helper.stop()
            return out
        share, at = self.theirs, 0
        for _i, frame in gather([helper]):
            if frame is None:  # the helper failed: the rest of its share is read here
                frame = read_blocks([j[1] for j in share[at:]])
            for (spot, path, name), result in zip(share[at : at + len(frame)], frame, strict=True):  # fmt: skip
                item = _item(spot, path, result, self.lazy, name)
                if item is not None:
                    out[path] = item
            at += len(frame)
            if cancel is not None and cancel.is_set():
                break  # gather stops the helper
        return out


def parse_all(
    items: Iterable[QueueItem],
    *,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
    parallel: bool | None = None,
) -> None:
    """Parse every header block not parsed yet. Many are parsed by two helper processes
    (this process only adopts the fields); progress is reported as (done, total), at
    most twice a second and once at the end."""
    todo = [i for i in items if not i.parsed]
    total = len(todo)
    if not todo:
        return
    last = time.monotonic()

    def report(done: int) -> None:
        nonlocal last
        if progress is not None and time.monotonic() - last > 0.5:
            progress(done, total)
            last = time.monotonic()

    if parallel is None:
        parallel = total >= PARALLEL_MIN and (os.cpu_count() or 1) > 1
    if not parallel:
        for n, item in enumerate(todo, 1):
            if cancel is not None and cancel.is_set():
                return
            item._parsed()
            report(n)
    else:
        shares = [todo[0::2], todo[1::2]]
        helpers = [Helper("parse", [i._head or b"" for i in share]) for share in shares]
        done = 0
        for helper, share in zip(helpers, shares, strict=True):
            if not helper.started:  # this share is parsed here while the other works
                for item in share:
                    item._parsed()
                done += len(share)
        pos = [0] * len(helpers)
        for i, frame in gather(helpers):
            share, at = shares[i], pos[i]
            if frame is None:  # the helper failed: the rest of its share is parsed here
                for item in share[at:]:
                    item._parsed()
                pos[i] = len(share)
            else:
                for item, (fields, problem) in zip(share[at : at + len(frame)], frame, strict=True):  # fmt: skip
                    item._adopt(fields, problem)
                pos[i] = at + len(frame)
            done += pos[i] - at
            if cancel is not None and cancel.is_set():
                return
            report(done)
    if progress is not None:
        progress(total, total)
