"""Sessions (spec 4, seed "Sessions"): the lines of one thread from ``Connected`` to
``Disconnected`` in one log file.

"S" is a server session (IceWarp receives), "C" a client session (the lines say ``Client
session``; IceWarp sends). States, as the seed colours them: ``active`` (connected, not
yet disconnected), ``success``, ``failed`` (a fatal error: a 5xx reply, a failed login, a
connection that could not be made, a summary other than OK) and ``disconnected`` (ended
without completing anything). A session cut by midnight is two sessions, one per file.

Only the end of a big file is read for the Sessions screen (``tail_bytes``): active
sessions are recent by nature and history keeps the last 100; a session whose start lies
before that window begins at its first line seen.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from iwtui.icewarp.logs.catalog import Catalog, LogDay
from iwtui.icewarp.logs.index import open_log, plain_path
from iwtui.icewarp.logs.lines import LogLine, parse_line
from iwtui.icewarp.logs.names import parse_name
from iwtui.icewarp.logs.search import Search, parse_filter

HISTORY = 100
TAIL_BYTES = 16 * 1024 * 1024
IDLE = timedelta(minutes=30)  # silent longer than this: not active any more (IMAP IDLE ~29 min)
MAX_LINES = 5000  # per session kept in memory; the full log is read again on demand


@dataclass
class Session:
    service: str
    day: date
    path: Path
    thread: str
    kind: str  # "S" or "C"
    peer: str = ""
    start: datetime | None = None
    end: datetime | None = None
    state: str = "active"
    connected: bool = False  # its Connected line was seen (else it began before the window/day)
    disconnected: bool = False
    account: str = ""
    sender: str = ""
    recipients: list[str] = field(default_factory=list)
    result: str = ""
    reason: str = ""
    lines: list[LogLine] = field(default_factory=list)
    line_count: int = 0
    first_offset: int = 0
    last_offset: int = 0  # where it ended (history is ordered by this: last finished first)

    @property
    def key(self) -> str:
        """Unique: where the session's first line is."""
        return f"{self.service}/{self.path.name}/{self.first_offset}/{self.thread}"

    @property
    def duration_s(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).total_seconds()

    def add(self, line: LogLine, offset: int) -> None:
        if not self.lines:
            self.first_offset = offset
        self.last_offset = offset
        if line.time is not None:
            self.start = self.start or line.time
            self.end = line.time
        if not self.peer and line.who and line.who != "SYSTEM":
            self.peer = line.who
        self.line_count += 1
        if len(self.lines) < MAX_LINES:
            self.lines.append(line)
        f = line.fields
        k = line.kind
        if k == "disconnect":
            self.disconnected = True
            self._close()
        elif k == "summary":
            self.sender = f.get("sender") or self.sender
            self.recipients = list(f.get("recipients") or [])
            self.result = str(f.get("result") or "")
            if self.result != "OK":
                self._fail(f"summary {self.result}")
        elif k in ("reply", "greylist"):
            code = int(f.get("code") or 0)
            if code >= 500:
                self._fail(f"{code} {f.get('text', '')}".strip())
            elif k == "greylist" and not self.reason:
                self.reason = "greylisted"
        elif k == "login":
            self.account = str(f.get("account") or "")
        elif k == "login_failed":
            self.account = str(f.get("account") or "")
            self._fail("authentication failed")
        elif k == "failure":
            self._fail(line.message)
        elif k == "tarpit":
            # the IP is blocked and the connection dropped: this session is over
            self._fail(line.message)
            self.disconnected = True
            self._close()

    def _fail(self, why: str) -> None:
        if not self.reason or self.reason == "greylisted":
            self.reason = why
        self.result = self.result or "failed"
        self._failed = True

    def _close(self) -> None:
        if getattr(self, "_failed", False):
            self.state = "failed"
        elif self.result == "OK" or self.account:
            self.state = "success"
        else:
            self.state = "disconnected"

    def finish_unclosed(self, *, still_open: bool, newest: datetime | None = None) -> None:
        """At the end of what was read: still running (today's file, and heard from within
        ``IDLE`` of the newest line) or cut off."""
        stale = newest is not None and self.end is not None and newest - self.end > IDLE
        if still_open and not stale:
            self.state = "active"
        else:
            self._close()

    def as_json(self, *, with_lines: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "service": self.service,
            "date": self.day.isoformat(),
            "thread": self.thread,
            "type": self.kind,
            "peer": self.peer,
            "state": self.state,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "duration_s": self.duration_s,
            "connected": self.connected,
            "disconnected": self.disconnected,
            "account": self.account or None,
            "sender": self.sender or None,
            "recipients": self.recipients,
            "result": self.result or None,
            "reason": self.reason or None,
            "lines": self.line_count,
            "file": str(self.path),
        }
        if with_lines:
            out["log"] = [ln.raw for ln in self.lines]
        return out


@dataclass
class SessionSet:
    service: str
    day: date | None
    active: list[Session] = field(default_factory=list)
    history: list[Session] = field(default_factory=list)  # newest first
    window_start: int = 0  # byte offset where reading began in the first file read
    errors: list[str] = field(default_factory=list)


def _part(path: Path) -> int:
    n = parse_name(path)
    return -1 if n is None or n.part is None else n.part


def _plain(path: Path) -> Path:
    """A ``.gz`` archive decompressed once into a cache under the temp folder."""
    if path.suffix != ".gz":
        return path
    return plain_path(path, Path(tempfile.gettempdir()) / f"iwtui-cache-{os.getuid()}")


def _read_region(path: Path, start: int, *, aligned: bool = False) -> tuple[bytes, int]:
    """Complete lines from ``start`` (skipping a partial first line unless ``aligned``)."""
    fd, st = open_log(path)
    try:
        size = st.st_size
        data = os.pread(fd, size - start, start) if size > start else b""
    finally:
        os.close(fd)
    if start > 0 and not aligned:
        nl = data.find(b"\n")
        data = data[nl + 1 :] if nl >= 0 else b""
        start = start + nl + 1 if nl >= 0 else start
    cut = data.rfind(b"\n")
    return data[: cut + 1], start  # a half-written last line waits


class Grouper:
    """Cuts (offset, line) pairs of one file into sessions as they come.

    A ``Connected`` line on a thread that is still open starts a new session (thread ids
    are reused); lines of a thread with no ``Connected`` seen start one too (the session
    began before the window, or before midnight)."""

    def __init__(self, service: str, day: date, path: Path) -> None:
        self.service, self.day, self.path = service, day, path
        self.open: dict[str, Session] = {}
        self.done: list[Session] = []
        self.newest: datetime | None = None

    def feed(self, offset: int, line: LogLine) -> None:
        if line.time is not None and (self.newest is None or line.time > self.newest):
            self.newest = line.time
        if not line.thread:
            return
        tid = line.thread
        cur = self.open.get(tid)
        if line.kind == "connect":
            if cur is not None:
                cur.finish_unclosed(still_open=False)
                self.done.append(cur)
            cur = Session(
                self.service, self.day, self.path, tid, "C" if line.client else "S", connected=True
            )
            self.open[tid] = cur
        elif cur is None:
            if line.who == "SYSTEM" and line.kind != "disconnect":
                return  # a system line of a thread with no session here
            cur = Session(self.service, self.day, self.path, tid, "C" if line.client else "S")
            self.open[tid] = cur
        cur.add(line, offset)
        if cur.disconnected:
            self.done.append(cur)
            del self.open[tid]

    def retire_stale(self) -> None:
        """Open sessions silent for longer than IDLE are over (not active any more)."""
        if self.newest is None:
            return
        for tid, sess in list(self.open.items()):
            if sess.end is not None and self.newest - sess.end > IDLE:
                sess.finish_unclosed(still_open=False)
                self.done.append(sess)
                del self.open[tid]

    def finish(self, *, still_open: bool) -> list[Session]:
        """Every session, in order of its first line (open ones active or cut)."""
        out = list(self.done)
        for sess in self.open.values():
            sess.finish_unclosed(still_open=still_open, newest=self.newest)
            out.append(sess)
        out.sort(key=lambda x: x.first_offset)
        return out


def group_sessions(
    service: str,
    day: date,
    path: Path,
    lines: Iterable[tuple[int, LogLine]],
    *,
    still_open: bool,
) -> list[Session]:
    """Cut (offset, line) pairs of one file into sessions (see :class:`Grouper`)."""
    g = Grouper(service, day, path)
    for offset, line in lines:
        g.feed(offset, line)
    return g.finish(still_open=still_open)


def sessions_of_file(
    service: str,
    day: date,
    path: Path,
    *,
    start: int = 0,
    still_open: bool = False,
    cancel: threading.Event | None = None,
) -> list[Session]:
    """Every session in ``path`` from byte ``start``."""
    data, base = _read_region(path, start)

    def parsed() -> Iterator[tuple[int, LogLine]]:
        pos = base
        for i, raw in enumerate(data.split(b"\n")[:-1]):
            if cancel is not None and i % 4096 == 0 and cancel.is_set():
                return
            yield pos, parse_line(raw.decode("utf-8", errors="replace").rstrip("\r"), day)
            pos += len(raw) + 1

    return group_sessions(service, day, path, parsed(), still_open=still_open)


def service_sessions(
    catalog: Catalog,
    service: str,
    *,
    today: date | None = None,
    tail_bytes: int = TAIL_BYTES,
    history: int = HISTORY,
    cancel: threading.Event | None = None,
) -> SessionSet:
    """Active sessions of the newest day and the last ``history`` finished ones."""
    days = catalog.days_of(service)
    out = SessionSet(service, days[0].day if days else None)
    if not days:
        return out
    today = today or date.today()
    budget = tail_bytes
    collected: list[Session] = []
    for d in days:
        for f in reversed(d.files):
            if budget <= 0 or len([s for s in collected if s.state != "active"]) >= history:
                break
            size = f.size
            start = max(0, size - budget)
            budget -= size - start
            is_current = d is days[0] and f is d.current and d.day >= today - timedelta(days=1)
            try:
                found = sessions_of_file(
                    service, d.day, f.path, start=start, still_open=is_current, cancel=cancel
                )
            except OSError as exc:
                out.errors.append(f"{f.path.name}: {exc.strerror or exc}")
                continue
            if start > 0:
                out.window_start = start
            collected = found + collected
    out.active = [s for s in collected if s.state == "active"]
    finished = [s for s in collected if s.state != "active"]
    # collected runs oldest file first; within a file, by where each session ended
    order = {id(x): i for i, x in enumerate(collected)}
    finished.sort(key=lambda x: (x.day, _part(x.path), x.last_offset, order[id(x)]))
    out.history = list(reversed(finished))[:history]
    return out


def find_session(
    catalog: Catalog,
    service: str,
    day: date,
    thread: str,
    at: time | None = None,
) -> Session | None:
    """The session of ``thread`` on ``day`` (the one around ``at`` when the thread id was
    reused). Reads only the lines of that thread (a grep for ``[TID]``)."""
    log_day = catalog.get(service, day)
    if log_day is None:
        return None
    tid = thread.upper()
    flt = parse_filter(f"[{tid}]")
    candidates: list[Session] = []
    for f in log_day.files:
        lines: OrderedDict[int, str] = OrderedDict()
        try:
            with Search(_plain(f.path), flt) as grep:
                for matches in grep.chunks():
                    for m in matches:
                        lines[m.offset] = m.line.decode("utf-8", errors="replace").rstrip("\r")
        except OSError:
            continue
        pairs = ((off, parse_line(text, day)) for off, text in lines.items())
        is_today = day >= date.today() and f is log_day.current
        candidates.extend(
            s
            for s in group_sessions(service, day, f.path, pairs, still_open=is_today)
            if s.thread == tid
        )
    if not candidates:
        return None
    if at is None:
        return candidates[-1]
    target = datetime.combine(day, at)
    for s in candidates:
        if s.start is not None and s.end is not None and s.start <= target <= s.end:
            return s
    return min(candidates, key=lambda s: abs(((s.start or target) - target).total_seconds()))


def related_lines(
    catalog: Catalog, session: Session, services: tuple[str, ...] = ("flow", "performance")
) -> dict[str, list[str]]:
    """Lines of the same thread within the session's time (±1 s) in the mail-flow and
    performance logs (spec 5.4, the seed's example)."""
    out: dict[str, list[str]] = {}
    if session.start is None:
        return out
    lo = (session.start - timedelta(seconds=1)).time()
    hi_dt = (session.end or session.start) + timedelta(seconds=1)
    hi = hi_dt.time() if hi_dt.date() == session.day else time(23, 59, 59)
    if lo > hi:
        lo = time(0, 0, 0)
    flt = parse_filter(f"[{session.thread}]")
    for svc in services:
        d: LogDay | None = catalog.get(svc, session.day)
        if d is None:
            continue
        found: list[str] = []
        for f in d.files:
            try:
                with Search(f.path, flt, start=lo, stop=hi) as s:
                    for matches in s.chunks():
                        found.extend(
                            m.line.decode("utf-8", errors="replace").rstrip("\r") for m in matches
                        )
            except OSError:
                continue
        if found:
            out[svc] = found
    return out


class SessionTracker:
    """Live sessions of one service, read incrementally: the first update reads the tail
    window of the current file, later ones only the bytes added since. A new current file
    (rotation, midnight) or a truncated one starts over; the old file's open sessions are
    cut there, as the seed counts them. History keeps the last ``history`` finished ones."""

    def __init__(
        self, log_root: Path, service: str, *, tail_bytes: int = TAIL_BYTES, history: int = HISTORY
    ) -> None:
        self.log_root, self.service = log_root, service
        self.tail_bytes, self.history_size = tail_bytes, history
        self.grouper: Grouper | None = None
        self.offset = 0
        self.inode = 0
        self.history: list[Session] = []  # oldest first, bounded
        self.errors: list[str] = []

    def _retire(self, sessions: list[Session]) -> None:
        self.history.extend(sorted(sessions, key=lambda x: x.last_offset))
        if len(self.history) > self.history_size:
            del self.history[: len(self.history) - self.history_size]

    def update(self, *, today: date | None = None) -> SessionSet:
        from iwtui.icewarp.logs.tail import newest_file

        self.errors = []
        name = newest_file(self.log_root, self.service)
        if name is None:
            return SessionSet(self.service, None)
        try:
            st = os.stat(name.path)
        except OSError as exc:
            self.errors.append(f"{name.path.name}: {exc.strerror or exc}")
            return self._set(today)
        g = self.grouper
        if g is None or g.path != name.path or st.st_ino != self.inode or st.st_size < self.offset:
            if g is not None:
                self._retire(g.finish(still_open=False))
            g = self.grouper = Grouper(self.service, name.day, name.path)
            self.inode = st.st_ino
            self.offset = max(0, st.st_size - self.tail_bytes)
            first = True
        else:
            first = False
        try:
            if first or st.st_size > self.offset:
                data, base = _read_region(name.path, self.offset, aligned=not first)
            else:
                data, base = b"", self.offset
        except OSError as exc:
            self.errors.append(f"{name.path.name}: {exc.strerror or exc}")
            return self._set(today)
        pos = base
        for raw in data.split(b"\n")[:-1]:
            g.feed(pos, parse_line(raw.decode("utf-8", errors="replace").rstrip("\r"), g.day))
            pos += len(raw) + 1
        self.offset = pos
        g.retire_stale()
        if g.done:
            self._retire(g.done)
            g.done = []
        return self._set(today)

    def _set(self, today: date | None) -> SessionSet:
        g = self.grouper
        out = SessionSet(self.service, g.day if g else None, errors=list(self.errors))
        if g is not None:
            today = today or date.today()
            live = g.day >= today - timedelta(days=1)
            for sess in g.open.values():
                sess.state = "active" if live else "disconnected"
            if live:
                out.active = sorted(g.open.values(), key=lambda x: x.first_offset)
        out.history = list(reversed(self.history))
        return out
