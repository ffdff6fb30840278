"""The header block at the head of a queued file, and reading many of them at once.

Kept apart from ``messages`` and light to import: a helper process started to read (and
parse) a share of a large queue imports this module, and ``messages`` only to parse.
"""

from __future__ import annotations

import marshal
import os
import queue
import selectors
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from iwtui.icewarp import files
from iwtui.icewarp.queue.headers import Parsed, parse_fields

HEAD_LIMIT = 64 * 1024
FIRST_READ = 8 * 1024

# (the header block, a problem or None, inode, size, mtime_ns, mtime); a str: the file
# could not be read (why); None: the file vanished (delivered) while it was read.
BlockResult = tuple[bytes, str | None, int, int, int, float] | str | None


def read_block(
    path: Path | str, limit: int = HEAD_LIMIT, size: int | None = None
) -> tuple[bytes, str | None, int]:
    """(the header block, a problem or None, size). Reads 8 KiB, and up to ``limit`` only
    when the header block is longer. Raises FileNotFoundError when the file is gone,
    :class:`files.Unsafe` when it is a link, a FIFO, a device (never followed, never
    blocks)."""
    fd, st = files.open_fd(path)
    try:
        if size is None:
            size = st.st_size
        block, problem = _block(fd, limit)
    finally:
        os.close(fd)
    return block, problem, size


def _block(fd: int, limit: int = HEAD_LIMIT) -> tuple[bytes, str | None]:
    data = os.read(fd, FIRST_READ)
    end = _header_end(data)
    if end < 0 and len(data) == FIRST_READ:
        data += os.read(fd, limit - FIRST_READ)
        end = _header_end(data)
    if not data:
        return b"", "empty file"
    if data.find(b"\x00", 0, end if 0 <= end < 4096 else 4096) >= 0:  # NULs in the headers
        return b"", "not a message: binary data"
    if end < 0:
        return data, (
            "header block larger than 64 KiB, read in part" if len(data) >= limit else None
        )
    return data[:end], None


def _header_end(data: bytes) -> int:
    """Where the header block ends (the first empty line, LF or CRLF), or -1.
    ``bytes.find`` runs at memchr speed; the equivalent regex costs 10 us a file."""
    crlf = data.find(b"\n\r\n")
    lf = data.find(b"\n\n", 0, crlf + 2 if crlf >= 0 else len(data))
    if lf < 0:
        lf = crlf
    if lf > 0 and data[lf - 1] == 13:  # the CR of the line that ends the last header
        return lf - 1
    return lf


def read_blocks(paths: list[str]) -> list[BlockResult]:
    """The header block and the stat of each file (one ``fstat`` on the open file: the
    listing need not stat files it has not seen). Runs in a helper process for large
    scans."""
    out: list[BlockResult] = []
    for path in paths:
        try:  # no link followed, a FIFO or a device refused without blocking
            fd, st = files.open_fd(path)
        except (FileNotFoundError, NotADirectoryError):
            out.append(None)
            continue
        except files.Unsafe as exc:
            out.append(str(exc).replace(f"refused {path}: ", "refused: "))
            continue
        except OSError as exc:
            out.append(f"unreadable: {exc.strerror or exc}")
            continue
        try:
            block, problem = _block(fd)
            out.append((block, problem, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mtime))
        except OSError as exc:
            out.append(f"unreadable: {exc.strerror or exc}")
        finally:
            os.close(fd)
    return out


FRAME = 1000  # items per marshalled frame: each unmarshal holds the GIL only briefly

# read-parse: like BlockResult, the parsed fields in place of the block.
ParsedResult = tuple[Parsed, str | None, int, int, int, float] | str | None


def _read_parsed(paths: list[str]) -> list[ParsedResult]:
    out: list[ParsedResult] = []
    for r in read_blocks(paths):
        out.append(r if r is None or isinstance(r, str) else (parse_fields(r[0]), *r[1:]))
    return out


def _parse(blocks: list[bytes]) -> list[Parsed]:
    return [parse_fields(b) for b in blocks]


MODES: dict[str, Callable[[list[Any]], list[Any]]] = {
    "read": read_blocks,
    "read-parse": _read_parsed,
    "parse": _parse,
    "stream": _read_parsed,  # read-parse, each batch answered as soon as it is done
    "rows": lambda batch: _rows(batch),  # JSON rows (messages.rows_of), each batch at once
}
ANSWER_EACH = ("parse", "stream", "rows")


def _rows(batch: list[Any]) -> list[Any]:
    from iwtui.icewarp.queue.messages import rows_of  # the helper of a listing only

    return rows_of(batch)


def write_frames(stream: IO[bytes], items: list[Any]) -> None:
    for i in range(0, len(items), FRAME):
        data = marshal.dumps(items[i : i + FRAME])
        stream.write(struct.pack("<Q", len(data)) + data)


def iter_frames(stream: IO[bytes]) -> Iterator[list[Any]]:
    """The frames ``write_frames`` wrote. Raises EOFError on a short frame."""
    while head := stream.read(8):
        if len(head) < 8:
            raise EOFError("short frame header")
        (n,) = struct.unpack("<Q", head)
        data = stream.read(n)
        if len(data) < n:
            raise EOFError("short frame")
        yield marshal.loads(data)


def _serve(mode: str) -> None:
    """The helper process: frames of work on stdin (paths, or header blocks for
    ``parse``), frames of results on stdout. ``parse`` and ``stream`` write each frame as
    soon as it is done (the parent reads its helpers as they go: ``gather``, or
    ``scanning.stream`` batch by batch); ``read`` and ``read-parse`` keep their results
    until the end, as the parent reads its own share first and a helper must not wait
    on it."""
    work = MODES[mode]
    out = sys.stdout.buffer
    kept: list[Any] = []
    for batch in iter_frames(sys.stdin.buffer):
        if mode in ANSWER_EACH:
            write_frames(out, work(batch))
            out.flush()
        else:
            kept += work(batch)
    write_frames(out, kept)


class Helper:
    """``python -m iwtui.icewarp.queue.heads MODE`` doing a share of a large scan in another
    process (the GIL is not shared: the UI thread stays free). Input is fed by a thread,
    in frames; ``gather`` reads the results. Its stderr goes nowhere (a full-screen app
    must not be written over); on any failure the caller does the share itself."""

    def __init__(self, mode: str, items: list[Any] | None = None) -> None:
        """``items``: all the work at once; None: ``send`` it in batches, then ``close``."""
        self.proc: subprocess.Popen[bytes] | None = None
        self.count = 0
        self._queue: queue.SimpleQueue[list[Any] | None] = queue.SimpleQueue()
        try:
            self.proc = subprocess.Popen(
                # -P: the working folder is not put on sys.path (an `iwtui` folder there
                # must not be imported by a helper of an admin's console)
                [sys.executable, "-P", "-m", "iwtui.icewarp.queue.heads", mode],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return
        self._feeder = threading.Thread(target=self._feed, daemon=True)
        self._feeder.start()
        if items is not None:
            self.send(items)
            self.close()

    @property
    def started(self) -> bool:
        return self.proc is not None

    def send(self, items: list[Any]) -> None:
        self.count += len(items)
        self._queue.put(items)

    def close(self) -> None:
        self._queue.put(None)

    def _feed(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            while (batch := self._queue.get()) is not None:
                write_frames(self.proc.stdin, batch)
                self.proc.stdin.flush()
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass  # the helper died (or was stopped): results() says so

    def next_frame(self) -> list[Any] | None:
        """The next result frame (``stream`` mode: one a batch sent), blocking; None when
        the helper failed (stopped then)."""
        assert self.proc is not None and self.proc.stdout is not None
        try:
            return next(iter_frames(self.proc.stdout))
        except (StopIteration, EOFError, ValueError, TypeError, OSError):
            self.stop()
            return None

    def fd(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout.fileno()

    def finished_ok(self) -> bool:
        """After its output ended: did the helper exit cleanly?"""
        if self.proc is None:
            return False
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return False
        self._feeder.join(timeout=10)
        return code == 0

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _frames(buf: bytearray) -> tuple[list[list[Any]], bool]:
    """The complete frames at the start of ``buf`` (taken out of it), and False when one
    is garbage."""
    out: list[list[Any]] = []
    while len(buf) >= 8:
        (n,) = struct.unpack_from("<Q", buf)
        if len(buf) < 8 + n:
            break
        try:
            frame = marshal.loads(bytes(buf[8 : 8 + n]))
        except (ValueError, EOFError, TypeError):
            return out, False
        del buf[: 8 + n]
        if not isinstance(frame, list):
            return out, False
        out.append(frame)
    return out, True


def gather(helpers: list[Helper]) -> Iterator[tuple[int, list[Any] | None]]:
    """Result frames of several helpers as they arrive, as (helper index, frame); a
    helper that fails yields (index, None) once, after the frames it did send. Reading
    every helper at once keeps them all busy, and the caller assembles while they work."""
    sel = selectors.DefaultSelector()
    bufs: dict[int, bytearray] = {}
    got = dict.fromkeys(range(len(helpers)), 0)
    for i, h in enumerate(helpers):
        if h.started:
            sel.register(h.fd(), selectors.EVENT_READ, i)
            bufs[i] = bytearray()
    try:
        while bufs:
            for key, _mask in sel.select():
                i = key.data
                chunk = os.read(key.fd, 1 << 20)
                bufs[i] += chunk
                frames, ok = _frames(bufs[i])
                for frame in frames:
                    got[i] += len(frame)
                    yield i, frame
                if chunk and ok:
                    continue
                sel.unregister(key.fd)
                leftover = bufs.pop(i)
                if not ok or leftover or got[i] != helpers[i].count or not helpers[i].finished_ok():  # fmt: skip
                    helpers[i].stop()
                    yield i, None
    finally:
        sel.close()
        for h in helpers:
            h.stop()


if __name__ == "__main__":
    _serve(sys.argv[1] if len(sys.argv) > 1 else "read")
