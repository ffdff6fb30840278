"""Open any size of log at once: a block index built backwards, lines read on demand.

The file is never loaded. A background scan walks it from the end towards the start in
chunks, cutting it into line-aligned blocks of about 64 KiB and counting the newlines of
each (``bytes.count``: C speed). Lines are addressed 0..total-1 from the earliest line
indexed so far; while the scan runs, earlier lines appear *before* the ones known, so a
viewer keeps its place by adding :attr:`LineIndex.prepended` to its offsets. New lines
written at the end are added by :meth:`grow`. A block is read with ``os.pread`` and split
only when a line of it is wanted, and an LRU keeps a bounded number of blocks.

The descriptor stays open: a file deleted while viewed stays readable; a file truncated
under us is detected by :meth:`grow` (returns -1) so the caller can reopen it.

Every log file of the engine is opened by :func:`open_log`: no symlink followed, a FIFO
or a device refused at once (never a hang, never an endless read of /dev/zero).
"""

from __future__ import annotations

import bisect
import contextlib
import gzip
import os
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

from iwtui.icewarp import files

BLOCK = 64 * 1024
CHUNK = 4 * 1024 * 1024
CACHE_BLOCKS = 48


class NotRegular(OSError):
    """A log path that is a symlink, a FIFO, a device or a folder: not read. An OSError,
    so every reader that skips an unreadable log skips it too."""


def open_log(path: os.PathLike[str] | str) -> tuple[int, os.stat_result]:
    """A descriptor of the regular log file at ``path`` and its fstat (files.open_fd);
    NotRegular (an OSError) when it is anything else."""
    try:
        return files.open_fd(os.fspath(path))
    except files.Unsafe as exc:
        raise NotRegular(str(exc).replace(f"refused {path}: ", "not read: ")) from None


class LineIndex:
    def __init__(self, path: Path, *, block: int = BLOCK, chunk: int = CHUNK) -> None:
        self.path = path
        self.block, self.chunk = block, chunk
        self.fd, st = open_log(path)
        self.inode = st.st_ino
        self.end = self._complete_end(st.st_size)  # just after the last newline
        self.scan_pos = self.end  # everything before this is not indexed yet
        self.end_at_open = self.end
        # Region scanned backwards: block j covers [rev_start[j], rev_end[j]); j=0 is the last.
        self.rev_start: list[int] = []
        self.rev_end: list[int] = []
        self.rev_cum: list[int] = []  # lines in blocks 0..j
        # Region appended after opening, in file order.
        self.tail_start: list[int] = []
        self.tail_end: list[int] = []
        self.tail_cum: list[int] = []
        self.prepended = 0  # lines added before line 0 so far (for viewers keeping place)
        self._cache: OrderedDict[int, list[str]] = OrderedDict()
        self._lock = threading.RLock()
        self._scan_lock = threading.Lock()

    # --- building ----------------------------------------------------------------------

    def _complete_end(self, size: int) -> int:
        """Offset just after the last newline at or before ``size`` (0 if none)."""
        pos = size
        step = 64 * 1024
        while pos > 0:
            start = max(0, pos - step)
            data = os.pread(self.fd, pos - start, start)
            i = data.rfind(b"\n")
            if i >= 0:
                return start + i + 1
            pos = start
            step *= 2
        return 0

    @property
    def complete(self) -> bool:
        return self.scan_pos == 0

    @property
    def total(self) -> int:
        with self._lock:
            return (self.rev_cum[-1] if self.rev_cum else 0) + (
                self.tail_cum[-1] if self.tail_cum else 0
            )

    @property
    def progress(self) -> float:
        """Share of the file (as it was when opened) indexed so far."""
        if self.complete or self.end_at_open == 0:
            return 1.0
        return (self.end_at_open - self.scan_pos) / self.end_at_open

    def _cuts(self, data: bytes, base: int, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """Line-aligned blocks of about ``self.block`` bytes in data[lo:hi] (offsets in data)."""
        out = []
        a = lo
        while a < hi:
            target = a + self.block
            if target >= hi:
                b = hi
            else:
                nl = data.find(b"\n", target, hi)
                b = hi if nl < 0 else nl + 1
            out.append((base + a, base + b, data.count(b"\n", a, b)))
            a = b
        return out

    def scan_step(self) -> bool:
        """Index one chunk further back; True when the whole file is indexed. Safe to call
        from several threads (the background index and a find that needs a region now)."""
        with self._scan_lock:
            return self._scan_step()

    def _scan_step(self) -> bool:
        pos = self.scan_pos
        if pos == 0:
            return True
        size = self.chunk
        while True:
            start = max(0, pos - size)
            data = os.pread(self.fd, pos - start, start)
            if start == 0:
                lo = 0
                break
            # a line start before ``pos``: a newline other than the one ending the window
            nl = data.find(b"\n", 0, len(data) - 1)
            if nl >= 0:
                lo = nl + 1
                break
            size *= 2  # a line longer than the chunk: look further back
        blocks = self._cuts(data, start, lo, len(data))
        with self._lock:
            added = 0
            for s, e, n in reversed(blocks):
                self.rev_start.append(s)
                self.rev_end.append(e)
                added += n
                self.rev_cum.append((self.rev_cum[-1] if self.rev_cum else 0) + n)
            self.scan_pos = start + lo
            self.prepended += added
            self._cache.clear()  # block numbers from the front shifted
        return self.scan_pos == 0

    def scan(self, cancel: threading.Event | None = None) -> bool:
        """Index the whole file (a background thread's job); False when cancelled."""
        while not self.complete:
            if cancel is not None and cancel.is_set():
                return False
            self.scan_step()
        return True

    def grow(self) -> int:
        """Index lines appended since; the number of new lines, or -1 if truncated."""
        try:
            size = os.fstat(self.fd).st_size
        except OSError:
            return 0
        if size < self.end:
            return -1
        if size == self.end:
            return 0
        new_end = self.end + self._complete_end_from(self.end, size)
        if new_end == self.end:
            return 0
        data = os.pread(self.fd, new_end - self.end, self.end)
        blocks = self._cuts(data, self.end, 0, len(data))
        added = 0
        with self._lock:
            for s, e, n in blocks:
                self.tail_start.append(s)
                self.tail_end.append(e)
                self.tail_cum.append((self.tail_cum[-1] if self.tail_cum else 0) + n)
                added += n
            self.end = new_end
        return added

    def _complete_end_from(self, start: int, size: int) -> int:
        data = os.pread(self.fd, size - start, start)
        i = data.rfind(b"\n")
        return i + 1 if i >= 0 else 0

    # --- reading -----------------------------------------------------------------------

    def _block_lines(self, key: int, start: int, end: int) -> list[str]:
        lines = self._cache.get(key)
        if lines is not None:
            self._cache.move_to_end(key)
            return lines
        raw = os.pread(self.fd, end - start, start)
        lines = raw.decode("utf-8", errors="replace").split("\n")[:-1]
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
        self._cache[key] = lines
        if len(self._cache) > CACHE_BLOCKS:
            self._cache.popitem(last=False)
        return lines

    def _locate(self, i: int) -> tuple[int, int, int, int]:
        """(cache key, block start, block end, index within the block) of line ``i``."""
        rev_total = self.rev_cum[-1] if self.rev_cum else 0
        if i < rev_total:
            k = rev_total - 1 - i  # 0 = the last line of the scanned region
            j = bisect.bisect_right(self.rev_cum, k)
            before = self.rev_cum[j - 1] if j else 0
            count = self.rev_cum[j] - before
            return (-1 - j, self.rev_start[j], self.rev_end[j], count - 1 - (k - before))
        t = i - rev_total
        j = bisect.bisect_right(self.tail_cum, t)
        before = self.tail_cum[j - 1] if j else 0
        return (j, self.tail_start[j], self.tail_end[j], t - before)

    def line(self, i: int) -> str:
        with self._lock:
            if not 0 <= i < self.total:
                raise IndexError(i)
            key, start, end, at = self._locate(i)
            lines = self._block_lines(key, start, end)
        return lines[at] if at < len(lines) else ""

    def lines(self, first: int, count: int) -> list[str]:
        with self._lock:
            last = min(self.total, first + count)
            return [self.line(i) for i in range(max(0, first), last)]

    def offset(self, i: int) -> int:
        """Byte offset of line ``i`` (reads its block)."""
        with self._lock:
            _key, start, end, at = self._locate(i)
            raw = os.pread(self.fd, end - start, start)
        pos = 0
        for _ in range(at):
            pos = raw.index(b"\n", pos) + 1
        return start + pos

    def line_at(self, offset: int) -> int | None:
        """The number of the line holding byte ``offset`` (None if not indexed)."""
        with self._lock:
            rev_total = self.rev_cum[-1] if self.rev_cum else 0
            # scanned region, blocks in reverse file order
            for j in range(len(self.rev_start)):
                if self.rev_start[j] <= offset < self.rev_end[j]:
                    raw = os.pread(self.fd, offset - self.rev_start[j], self.rev_start[j])
                    k_last = self.rev_cum[j - 1] if j else 0  # lines after this block
                    count = self.rev_cum[j] - k_last
                    within = raw.count(b"\n")
                    return rev_total - 1 - (k_last + count - 1 - within)
            at = bisect.bisect_right(self.tail_start, offset) - 1
            if at >= 0 and offset < self.tail_end[at]:
                raw = os.pread(self.fd, offset - self.tail_start[at], self.tail_start[at])
                before = self.tail_cum[at - 1] if at else 0
                return rev_total + before + raw.count(b"\n")
        return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def plain_path(path: Path, cache_dir: Path) -> Path:
    """A file that can be read at random: the path itself, or a ``.gz`` decompressed once
    into ``cache_dir`` (reused while the archive is unchanged)."""
    if path.suffix != ".gz":
        return path
    fd, st = open_log(path)
    with os.fdopen(fd, "rb") as raw:
        cache_dir.mkdir(parents=True, exist_ok=True)
        out = cache_dir / f"{path.stem}.{int(st.st_mtime)}.{st.st_size}"
        if not out.exists():
            tmp = out.with_suffix(".part")
            with gzip.GzipFile(fileobj=raw, mode="rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(tmp, out)
    return out
