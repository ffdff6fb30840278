"""Follow a service's log across appends, size rotation, midnight and truncation.

Rules (spec 5.2, issue 3): a line is delivered once, only when its newline has arrived;
when IceWarp moves on to a newer file (``-NN`` rotation or the next day) the old file is
drained first, and a last line it never finished is delivered as it is (nobody will
finish it); a file that shrinks under us was truncated: we say so and read it again from
the start; a file replaced under the same name (another inode) is drained through the old
descriptor, then the new one is read from its start.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from iwtui.icewarp.logs.index import open_log
from iwtui.icewarp.logs.names import LogName, parse_name

READ = 4 * 1024 * 1024
LAST_LINES_MAX = 64 * 1024 * 1024  # how far back last_lines() looks


@dataclass
class TailEvent:
    """A complete line, or a notice (``kind`` "rotated", "truncated", "replaced", "missing")."""

    kind: str
    text: str
    path: Path | None = None
    day: date | None = None


def _key(n: LogName) -> tuple[date, int]:
    return (n.day, -1 if n.part is None else n.part)


def service_files(log_root: Path, service: str) -> list[LogName]:
    """Plain (not archived) files of ``service`` in write order. The folder is listed,
    not walked: a service lives in its sub-folder, or in the log folder itself. Only
    regular files count (a FIFO or a symlink named like today's log is not followed), and
    a sub-folder that is a symlink is not looked into."""
    sub = log_root / service
    folders = [sub, log_root] if sub.is_dir() and not sub.is_symlink() else [log_root]
    for folder in folders:
        try:
            with os.scandir(folder) as it:
                names = [e.name for e in it if e.is_file(follow_symlinks=False)]
        except OSError:
            continue
        found = [
            n
            for name in names
            if (n := parse_name(folder / name, log_root)) is not None
            and not n.compressed
            and n.service == service
        ]
        if found:
            return sorted(found, key=_key)
    return []


def newest_file(log_root: Path, service: str) -> LogName | None:
    files = service_files(log_root, service)
    return files[-1] if files else None


def next_file(log_root: Path, service: str, after: LogName) -> LogName | None:
    """The file written after ``after`` (the next ``-NN`` part or the next day)."""
    return next((n for n in service_files(log_root, service) if _key(n) > _key(after)), None)


class Follower:
    """Poll-driven follower of one service (the TUI and ``iwtui logs tail`` share it)."""

    def __init__(self, log_root: Path, service: str, *, from_start: bool = False) -> None:
        self.log_root, self.service = log_root, service
        self.current: LogName | None = None
        self.fd: int | None = None
        self.inode = 0
        self.offset = 0
        self.partial = b""
        self._open_newest(from_start=from_start)

    def _open(self, name: LogName, at_end: bool) -> bool:
        try:
            fd, st = open_log(name.path)
        except OSError:
            return False
        self.close()
        self.fd, self.inode, self.current = fd, st.st_ino, name
        self.partial = b""
        self.offset = 0
        if at_end:
            # start after the last complete line; a half-written one will come whole
            data = os.pread(fd, min(st.st_size, 1 << 20), max(0, st.st_size - (1 << 20)))
            nl = data.rfind(b"\n")
            self.offset = (
                st.st_size - (len(data) - nl - 1) if nl >= 0 else max(0, st.st_size - len(data))
            )
        return True

    def _open_newest(self, *, from_start: bool) -> None:
        n = newest_file(self.log_root, self.service)
        if n is not None:
            self._open(n, at_end=not from_start)

    def last_lines(self, n: int, keep: Callable[[str], bool] | None = None) -> list[str]:
        """The last ``n`` complete lines before where following starts (those ``keep``
        accepts), oldest first, read backwards from there (like ``tail -n N -f``); at
        most ``LAST_LINES_MAX`` bytes back, so a rare filter on a huge log is quick."""
        if n <= 0 or self.fd is None:
            return []
        found: list[str] = []
        end = self.offset  # just after a newline (or 0)
        floor = max(0, end - LAST_LINES_MAX)
        tail = b""  # the end of a line whose start is in the chunk before
        step = 64 * 1024
        first = True
        while end > floor and len(found) < n:
            start = max(floor, end - step)
            data = os.pread(self.fd, end - start, start)
            if first and data.endswith(b"\n"):
                data = data[:-1]  # the newline that ends the last line
            first = False
            parts = (data + tail).split(b"\n")
            tail = parts.pop(0) if start > 0 else b""  # perhaps not a whole line yet
            for raw in reversed(parts):
                text = _decode(raw)
                if keep is None or keep(text):
                    found.append(text)
                    if len(found) == n:
                        break
            end = start
            step = min(step * 2, 4 * 1024 * 1024)
        found.reverse()
        return found

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def _read_fd(self) -> Iterator[TailEvent]:
        assert self.fd is not None and self.current is not None
        while True:
            data = os.pread(self.fd, READ, self.offset)
            if not data:
                return
            self.offset += len(data)
            data = self.partial + data
            lines = data.split(b"\n")
            self.partial = lines.pop()
            for raw in lines:
                yield TailEvent("line", _decode(raw), self.current.path, self.current.day)

    def _flush_partial(self) -> Iterator[TailEvent]:
        if self.partial and self.current is not None:
            yield TailEvent("line", _decode(self.partial), self.current.path, self.current.day)
        self.partial = b""

    def poll(self) -> list[TailEvent]:
        """Everything that arrived since the last poll, in order."""
        out: list[TailEvent] = []
        if self.fd is None or self.current is None:
            self._open_newest(from_start=True)
            if self.fd is None:
                return out
            out.append(
                TailEvent("rotated", f"following {self.current.path.name if self.current else ''}")
            )
        assert self.current is not None
        # truncated or replaced under the same name?
        try:
            st_fd = os.fstat(self.fd)
        except OSError:
            st_fd = None
        try:
            st_path = os.lstat(self.current.path)
        except OSError:
            st_path = None
        if st_fd is not None and st_fd.st_size < self.offset:
            out.append(
                TailEvent(
                    "truncated",
                    f"{self.current.path.name} was truncated; reading it again from the start",
                    self.current.path,
                )
            )
            self.offset = 0
            self.partial = b""
        out.extend(self._read_fd())
        if st_path is not None and st_path.st_ino != self.inode:
            # replaced: drain the old descriptor (done above), then read the new file whole
            out.extend(self._flush_partial())
            name = self.current
            if self._open(name, at_end=False):
                out.append(
                    TailEvent(
                        "replaced",
                        f"{name.path.name} was replaced; reading the new file",
                        name.path,
                    )
                )
                out.extend(self._read_fd())
        newer = next_file(self.log_root, self.service, self.current)
        while newer is not None:
            out.extend(self._read_fd())  # drain: the writer may have added to it before moving on
            out.extend(self._flush_partial())
            if not self._open(newer, at_end=False):
                break
            out.append(
                TailEvent("rotated", f"now following {newer.path.name}", newer.path, newer.day)
            )
            out.extend(self._read_fd())
            newer = next_file(self.log_root, self.service, self.current)
        return out


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", errors="replace")
