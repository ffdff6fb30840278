"""One traffic feed per install for the console: Traffic Charts and Statistics share it.

``update()`` (in a worker thread) runs the incremental ingest: it is the areas' follower of
the logs (only appended complete lines are read, rotation, truncation and replacement
handled, and what was counted is remembered across runs, which an in-memory follower
could not do without counting twice). Large work goes to helper processes so the UI
thread stays free. Queries use their own read connection (WAL: they never wait for an
ingest). Only one ingest runs at a time; a caller that finds one running gets None.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from iwtui.icewarp.install import Install
from iwtui.icewarp.traffic.ingest import IngestReport, ingest
from iwtui.icewarp.traffic.store import Store, default_path

if TYPE_CHECKING:
    from textual.timer import Timer

T = TypeVar("T")
_FEEDS: dict[tuple[str, str], TrafficFeed] = {}
_FEEDS_LOCK = threading.Lock()


class TrafficFeed:
    def __init__(self, install: Install, state_dir: Path) -> None:
        self.install = install
        self.path = default_path(install, state_dir)
        self.writer = Store(self.path)
        self.reader = Store(self.path)
        self._ingest_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self.cancel = threading.Event()
        self._closing = False
        self.version = 0  # moves on whenever an ingest changed counters
        self.ingests = 0
        self.progress: tuple[int, int] | None = None
        self.last: IngestReport | None = None
        self.server = install.server_id or ""

    def update(self, on_progress: Callable[[int, int], None] | None = None) -> IngestReport | None:
        if self.cancel.is_set() or not self._ingest_lock.acquire(blocking=False):
            return None
        try:
            if self.cancel.is_set():  # closed while this waited for the lock
                return None

            def progress(done: int, total: int) -> None:
                self.progress = (done, total) if done < total else None
                if on_progress is not None:
                    on_progress(done, total)

            report = ingest(self.install, self.writer, progress=progress, cancel=self.cancel,
                            helpers=2, in_process=False)  # fmt: skip
            self.progress = None
            self.ingests += 1
            self.last = report
            if report.changed:
                self.version += 1
            return report
        finally:
            self._ingest_lock.release()
            if self._closing:
                self._close_idle()

    def read(self, fn: Callable[[Store], T]) -> T:
        with self._read_lock:
            if self._closing:
                raise InterruptedError("the console is closing")
            try:
                return fn(self.reader)
            finally:
                if self._closing:
                    self.reader.close()

    def close(self) -> None:
        """Stop an ingest in flight and close the stores, never waiting for a worker: the
        UI thread calls this, and a worker may be waiting for the UI thread (a progress
        report, a result). What is in use now is closed by its user when it lets go."""
        self._closing = True
        self.cancel.set()
        self._close_idle()

    def _close_idle(self) -> None:
        for lock, store in ((self._ingest_lock, self.writer), (self._read_lock, self.reader)):
            if lock.acquire(blocking=False):
                try:
                    store.close()
                finally:
                    lock.release()


def feed_for(install: Install, state_dir: Path) -> TrafficFeed:
    key = (str(Path(install.root).resolve()), str(state_dir))
    with _FEEDS_LOCK:
        feed = _FEEDS.get(key)
        if feed is None:
            feed = _FEEDS[key] = TrafficFeed(install, state_dir)
        return feed


def drop(feed: TrafficFeed) -> None:
    """The app is closing: stop an ingest in flight, close the store."""
    with _FEEDS_LOCK:
        for key, value in list(_FEEDS.items()):
            if value is feed:
                del _FEEDS[key]
    feed.close()


class FeedArea:
    """What Traffic Charts and Statistics share about the feed: opened when first shown,
    a live timer that runs only while shown, a watcher event read at once, closed when the
    console quits. The area sets ``install``, ``state_dir``, ``live``, ``feed``, ``_timer``
    and defines ``tick``."""

    install: Install
    state_dir: Path
    live: bool
    feed: TrafficFeed | None
    _timer: Timer | None
    display: bool

    def tick(self) -> None:
        raise NotImplementedError

    def on_show(self) -> None:
        if self.feed is None:
            self.feed = feed_for(self.install, self.state_dir)
        if self._timer is not None and self.live:
            self._timer.resume()
        self.tick()

    def on_hide(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_unmount(self) -> None:
        """Quitting: an ingest in flight stops between pieces (its helpers are killed) and
        the feed is closed; a later console in this process opens a new one."""
        if self.feed is not None:
            drop(self.feed)

    def files_changed(self, areas: frozenset[object]) -> None:
        """A watcher event: when shown, read what the logs gained at once."""
        if self.display and self.feed is not None and "logs" in {str(a) for a in areas}:
            self.tick()
