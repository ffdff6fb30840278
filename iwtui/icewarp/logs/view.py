"""What a log viewer shows: a day of one service (all its ``-NN`` files as one sequence of
lines), or the lines of it that match a filter. No Textual here: the TUI draws these,
the tests drive them directly.

``DaySource`` opens instantly (nothing is read until a line is wanted) and is indexed in
the background newest file first, newest lines first; :meth:`poll` adds appended lines,
moves on to the next file after a rotation or midnight, and notices truncation.
``FilterSource`` holds only the byte offsets of matching lines (8 bytes each).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time as time_mod
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from iwtui.icewarp.logs.index import LineIndex, open_log, plain_path
from iwtui.icewarp.logs.names import LogName
from iwtui.icewarp.logs.search import Filter, Search, find_offset
from iwtui.icewarp.logs.tail import next_file


@dataclass
class PollResult:
    added: int = 0
    notices: tuple[str, ...] = ()
    reset: bool = False  # lines already shown are gone (truncation): start over


NEXT_FILE_S = 1.0  # how often a live day looks for the file written after its last one


class DaySource:
    def __init__(
        self, log_root: Path, files: list[LogName], cache_dir: Path, *, live: bool = True
    ) -> None:
        self.log_root = log_root
        self.names = list(files)
        self.cache_dir = cache_dir
        self.live = live and bool(files) and not files[-1].compressed
        self.indexes: list[LineIndex] = []
        self.errors: list[str] = []
        for n in self.names:
            try:
                self.indexes.append(LineIndex(plain_path(n.path, cache_dir)))
            except OSError as exc:
                self.errors.append(f"{n.path.name}: {exc.strerror or exc}")
                self.indexes.append(_empty_index(cache_dir))
        self._lock = threading.RLock()
        self._next_at = 0.0  # when poll() next lists the folder for a newer file

    @property
    def service(self) -> str:
        return self.names[-1].service if self.names else ""

    @property
    def total(self) -> int:
        with self._lock:
            return sum(ix.total for ix in self.indexes)

    @property
    def prepended(self) -> int:
        with self._lock:
            return sum(ix.prepended for ix in self.indexes)

    @property
    def complete(self) -> bool:
        return all(ix.complete for ix in self.indexes)

    @property
    def progress(self) -> float:
        sizes = [max(1, ix.end_at_open) for ix in self.indexes]
        done = sum(s * ix.progress for s, ix in zip(sizes, self.indexes, strict=True))
        return done / sum(sizes) if sizes else 1.0

    @property
    def size(self) -> int:
        return sum(ix.end for ix in self.indexes)

    def scan_step(self) -> bool:
        """Index one chunk of the newest file not yet complete; True when all are."""
        for ix in reversed(self.indexes):
            if not ix.complete:
                ix.scan_step()
                return False
        return True

    def scan(self, cancel: threading.Event) -> bool:
        while not self.complete:
            if cancel.is_set():
                return False
            self.scan_step()
        return True

    def locate(self, i: int) -> tuple[int, int]:
        """(file number, line within that file) of line ``i``."""
        with self._lock:
            for k, ix in enumerate(self.indexes):
                t = ix.total
                if i < t:
                    return k, i
                i -= t
        raise IndexError(i)

    def line(self, i: int) -> str:
        k, j = self.locate(i)
        return self.indexes[k].line(j)

    def day_of(self, i: int) -> date:
        return self.names[self.locate(i)[0]].day

    def find(self, term: str, start: int, direction: int) -> int | None:
        """The next line after (``direction`` 1) or before (-1) line ``start`` holding
        ``term``, any case: found through the bytes of the day's files (any size), then
        mapped back to a line."""
        needle = term.encode("utf-8")
        k, j = self.locate(start)
        for kk in range(k, len(self.indexes)) if direction > 0 else range(k, -1, -1):
            ix = self.indexes[kk]
            if kk == k:
                at = ix.offset(j)
                line_end = at + len(ix.line(j).encode("utf-8", errors="replace")) + 1
                from_off = line_end if direction > 0 else at
            else:
                from_off = 0 if direction > 0 else ix.end
            off = find_offset(ix.path, needle, from_off, ix.end, forward=direction > 0,
                              ignore_case=True)  # fmt: skip
            if off is not None:
                line = ix.line_at(off)
                if line is None:  # in the part not indexed yet: index it now
                    ix.scan()
                    line = ix.line_at(off)
                if line is not None:
                    return sum(x.total for x in self.indexes[:kk]) + line
        return None

    def poll(self) -> PollResult:
        if not self.live:
            return PollResult()
        notices: list[str] = []
        with self._lock:
            last = self.indexes[-1]
            got = last.grow()
            if got < 0:
                name = self.names[-1]
                notices.append(f"{name.path.name} was truncated; showing it from its new start")
                try:
                    self.indexes[-1] = LineIndex(name.path)
                except OSError as exc:
                    notices.append(f"{name.path.name}: {exc.strerror or exc}")
                last.close()
                return PollResult(0, tuple(notices), reset=True)
            added = got
            now = time_mod.monotonic()
            if now < self._next_at:  # the folder is listed once a second, not every poll
                return PollResult(added)
            self._next_at = now + NEXT_FILE_S
            nxt = next_file(self.log_root, self.service, self.names[-1])
            while nxt is not None:
                added += max(0, self.indexes[-1].grow())  # drain the old file first
                try:
                    ix = LineIndex(nxt.path)
                except OSError:
                    break
                ix.scan()  # a new file is small; index it now so its lines are in order
                self.names.append(nxt)
                self.indexes.append(ix)
                added += ix.total
                notices.append(f"now following {nxt.path.name}")
                nxt = next_file(self.log_root, self.service, nxt)
        return PollResult(added, tuple(notices))

    def close(self) -> None:
        for ix in self.indexes:
            ix.close()


def _empty_index(cache_dir: Path) -> LineIndex:
    cache_dir.mkdir(parents=True, exist_ok=True)
    p = cache_dir / "empty.log"
    p.touch()
    return LineIndex(p)


class FilterSource:
    """Lines of a DaySource's files that match ``flt`` within ``start``..``stop``."""

    def __init__(
        self, day: DaySource, flt: Filter, start: time | None = None, stop: time | None = None
    ) -> None:
        self.day = day
        self.flt, self.start, self.stop = flt, start, stop
        self.offsets: list[array[int]] = [array("q") for _ in day.indexes]
        self.searched: list[int] = [0 for _ in day.indexes]  # byte offset searched to, per file
        self.done = False
        self.progress = 0.0
        self.prepended = 0  # matches always arrive in file order: nothing is prepended
        self._lock = threading.RLock()
        self._fds: dict[int, int] = {}

    @property
    def total(self) -> int:
        with self._lock:
            return sum(len(a) for a in self.offsets)

    def run(self, cancel: threading.Event, tick: Callable[[], None] | None = None) -> bool:
        """Search every file (a background thread's job); False when cancelled.
        ``tick`` is called after each chunk (progress, partial results)."""
        sizes = [ix.end for ix in self.day.indexes]
        total = max(1, sum(sizes))
        done_bytes = 0
        for k, ix in enumerate(list(self.day.indexes)):
            # the end this search stops at: lines appended meanwhile are for poll()
            end = ix.end
            try:
                with Search(ix.path, self.flt, start=self.start, stop=self.stop, end=end) as s:
                    for matches in s.chunks(cancel):
                        with self._lock:
                            self.offsets[k].extend(m.offset for m in matches)
                        self.progress = (done_bytes + s.pos) / total
                        if tick is not None:
                            tick()
                    self.searched[k] = end
            except OSError as exc:
                self.day.errors.append(f"{ix.path.name}: {exc.strerror or exc}")
            if cancel.is_set():
                return False
            done_bytes += sizes[k]
        self.done = True
        self.progress = 1.0
        return True

    def poll(self) -> int:
        """After the DaySource polled: check appended lines and new files."""
        if not self.done:
            return 0
        added = 0
        while len(self.offsets) < len(self.day.indexes):
            self.offsets.append(array("q"))
            self.searched.append(0)
        for k, ix in enumerate(self.day.indexes):
            end = ix.end
            if end <= self.searched[k]:
                continue
            try:
                s = Search(ix.path, self.flt, start=self.start, stop=self.stop, end=end)
            except OSError:
                continue
            with s:
                s.pos = s.lo = max(s.lo, self.searched[k])  # only what was not searched yet
                for matches in s.chunks():
                    with self._lock:
                        self.offsets[k].extend(m.offset for m in matches)
                    added += len(matches)
            self.searched[k] = end
        return added

    def _fd(self, k: int) -> int:
        fd = self._fds.get(k)
        if fd is None:
            fd, _st = open_log(self.day.indexes[k].path)
            self._fds[k] = fd
        return fd

    def locate(self, i: int) -> tuple[int, int]:
        with self._lock:
            for k, a in enumerate(self.offsets):
                if i < len(a):
                    return k, a[i]
                i -= len(a)
        raise IndexError(i)

    def find(self, term: str, start: int, direction: int) -> int | None:
        """The next matching line after (1) or before (-1) ``start`` holding ``term``, any
        case (the lines a filter kept, read one by one)."""
        folded = term.casefold()
        i = start + direction
        while 0 <= i < self.total:
            if folded in self.line(i).casefold():
                return i
            i += direction
        return None

    def line(self, i: int) -> str:
        k, off = self.locate(i)
        fd = self._fd(k)
        out = b""
        while True:
            data = os.pread(fd, 65536, off + len(out))
            if not data:
                break
            nl = data.find(b"\n")
            if nl >= 0:
                out += data[:nl]
                break
            out += data
            if len(out) > 16 * 1024 * 1024:
                break
        return out.rstrip(b"\r").decode("utf-8", errors="replace")

    def day_of(self, i: int) -> date:
        return self.day.names[self.locate(i)[0]].day

    def close(self) -> None:
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
