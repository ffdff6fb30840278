"""Filter a log at grep speed: ``a;b;!c;re:x`` and a From/To time range (spec 5, seed "Logs").

The seed's Filter is strings separated by ``;``, all of which must occur in a line (AND).
iwtui adds ``!term`` (the line must not contain it) and ``re:pattern`` (a regular
expression; ``!re:`` excludes). Matching is on bytes and case-sensitive, like ``grep -F``;
``ignore_case`` folds ASCII case. Patterns come from users, so they run on RE2 (linear
time: ``re:(a+)+$`` cannot stall the CLI or the console); what RE2 does not support
(back-references, look-arounds) is a clear BadInput. Plain terms stay on ``bytes.find``.

Speed comes from never splitting the file into Python lines when the filter is
selective: the longest include term is found with ``bytes.find`` over 8 MiB chunks (C
speed) and only the lines that contain it are cut out and checked against the rest.
When the anchor is common, the chunk is split once and checked with ``in`` (still C).

The time range uses the order of lines: the first and last byte offsets of the range are
found by bisection over the file (reading a line at a probe offset), so a one-hour window
of a 1 GB day reads a few hundred KB to find where to start, then only that window.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import threading
import time as time_mod
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import time
from typing import TypeAlias

import re2

from iwtui.errors import BadInput
from iwtui.icewarp.logs import scan
from iwtui.icewarp.logs.catalog import Catalog
from iwtui.icewarp.logs.index import open_log
from iwtui.icewarp.logs.scan import Match as Match
from iwtui.icewarp.logs.scan import Regex as Regex
from iwtui.icewarp.logs.scan import line_seconds as line_seconds

CHUNK = 4 * 1024 * 1024
# A span from this size may be shared with a helper process per extra core: when the
# rest of it, at the speed of its first range, is worth HELPER_WORTH seconds of CPU (a
# helper takes ~0.1 s to start; measured in bench/bench_logs.py). Smaller spans, and
# sparse filters of some 100 MB, never pay a process start.
PARALLEL_MIN = 32 * 1024 * 1024
HELPER_WORTH = 0.3


def user_regex(pattern: str, *, ignore_case: bool = False, what: str = "filter") -> Regex:
    """A regular expression typed by a user, compiled for RE2 (matching in linear time,
    on bytes, Latin-1 so any byte matches like Python's bytes patterns). Unsupported or
    bad syntax is BadInput with RE2's reason."""
    try:
        return re2.compile(
            pattern.encode("utf-8"), scan.re2_options(ignore_case=ignore_case, block=False)
        )
    except re2.error as exc:
        why = exc.args[0] if exc.args else exc
        why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
        hint = ""
        if any(k in why for k in ("escape sequence", "perl operator", "repeat argument")):
            hint = " (RE2 syntax: no back-references or look-arounds)"
        raise BadInput(f"{what}: bad regular expression {pattern!r}: {why}{hint}") from None


@dataclass
class Filter:
    include: list[bytes] = field(default_factory=list)
    exclude: list[bytes] = field(default_factory=list)
    regex: list[Regex] = field(default_factory=list)
    not_regex: list[Regex] = field(default_factory=list)
    ignore_case: bool = False
    text: str = ""

    @property
    def empty(self) -> bool:
        return not (self.include or self.exclude or self.regex or self.not_regex)

    def matches(self, line: bytes) -> bool:
        hay = line.lower() if self.ignore_case else line
        return (
            all(t in hay for t in self.include)
            and not any(t in hay for t in self.exclude)
            and all(r.search(line) for r in self.regex)
            and not any(r.search(line) for r in self.not_regex)
        )

    def matches_text(self, line: str) -> bool:
        return self.matches(line.encode("utf-8", errors="surrogateescape"))


def parse_filter(text: str, *, ignore_case: bool = False) -> Filter:
    """``a;b;!c;re:x`` -> Filter. Empty parts are ignored; a bad regex is BadInput."""
    f = Filter(ignore_case=ignore_case, text=text)
    for part in text.split(";"):
        term = part.strip()
        if not term:
            continue
        negate = term.startswith("!") and len(term) > 1
        if negate:
            term = term[1:]
        if term.startswith("re:") and len(term) > 3:
            pat = user_regex(term[3:], ignore_case=ignore_case)
            (f.not_regex if negate else f.regex).append(pat)
            continue
        raw = term.encode("utf-8")
        if ignore_case:
            raw = raw.lower()
        (f.exclude if negate else f.include).append(raw)
    return f


def parse_clock(text: str) -> time:
    """``HH:MM`` or ``HH:MM:SS`` -> time; anything else is BadInput."""
    parts = text.strip().split(":")
    try:  # ASCII digits, two at most a part (99999999999:00 overflowed time())
        if len(parts) not in (2, 3) or not all(p.isascii() and p.isdigit() and len(p) <= 2 for p in parts):  # fmt: skip
            raise ValueError
        nums = [int(p) for p in parts] + [0] * (3 - len(parts))
        return time(nums[0], nums[1], nums[2])
    except (ValueError, OverflowError):
        raise BadInput(f"bad time {text!r}: use HH:MM or HH:MM:SS") from None


def _seconds_at(fd: int, pos: int, end: int) -> tuple[int, int] | None:
    """The first timed line starting at or after ``pos``: (its offset, its seconds)."""
    if pos > 0:
        # Start at the beginning of the next line.
        while True:
            data = os.pread(fd, 4096, pos - 1)
            if not data:
                return None
            nl = data.find(b"\n")
            if nl >= 0:
                pos = pos - 1 + nl + 1
                break
            pos += len(data)
    probes = 0
    while pos < end and probes < 64:
        data = os.pread(fd, min(65536, end - pos), pos)
        if not data:
            return None
        for line in data.split(b"\n")[:-1] or [data]:
            secs = line_seconds(line)
            if secs is not None:
                return pos, secs
            pos += len(line) + 1
            probes += 1
            if pos >= end or probes >= 64:
                break
    return None


def time_bounds(fd: int, size: int, start: time | None, stop: time | None) -> tuple[int, int]:
    """Byte range ``[lo, hi)`` holding the lines from ``start`` to ``stop`` (inclusive),
    found by bisection on line times. Lines are checked again while matching, so a line
    slightly out of order at the edges is not wrongly included."""

    def first_at_or_after(target: int) -> int:
        lo, hi = 0, size
        while hi - lo > 65536:
            mid = (lo + hi) // 2
            found = _seconds_at(fd, mid, size)
            if found is None or found[1] >= target:
                hi = mid
            else:
                lo = found[0] + 1 if found[0] + 1 <= hi else mid
        # back up to a line start
        if lo > 0:
            data = os.pread(fd, min(lo, 65536), max(0, lo - 65536))
            nl = data.rfind(b"\n")
            lo = max(0, lo - len(data) + nl + 1) if nl >= 0 else max(0, lo - len(data))
        return lo

    lo = (
        0
        if start is None
        else first_at_or_after(start.hour * 3600 + start.minute * 60 + start.second)
    )
    hi = size
    if stop is not None:
        hi = first_at_or_after(stop.hour * 3600 + stop.minute * 60 + stop.second + 1)
        # the bisection stops within 64 KiB of the border: keep a margin and let the
        # per-line time check trim it
        hi = min(size, hi + 2 * 65536)
    return lo, max(lo, hi)


class _Helper:
    """``python -P -m iwtui.icewarp.logs.scan``: one more core for a large search. Its
    stderr goes nowhere (a full-screen console must not be written over); on any
    failure its ranges are done here."""

    def __init__(self, first: tuple[object, ...]) -> None:
        # -P: the working folder is not put on sys.path (an `iwtui` folder there must
        # not be imported by a helper of an admin's console)
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "iwtui.icewarp.logs.scan"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.fd = self.proc.stdin, self.proc.stdout.fileno()
        self.ready = self.dead = self.broken = False
        self.pending: list[int] = []
        self.send(first)

    def send(self, frame: tuple[object, ...]) -> None:
        try:
            scan.write_frame(self.stdin, frame)  # a few bytes: the pipe never fills
        except OSError:
            self.broken = True  # it died: its output ends, and its ranges are done here

    def close(self) -> None:
        """Stop it now (at most one range of work is lost) and reap it."""
        self.dead = True
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()
        for fh in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if fh is not None:
                    fh.close()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


Result: TypeAlias = "tuple[int, list[Match]]"


class Search:
    """Matching lines of one file, in file order, chunk by chunk (cancellable).

    A span of at least ``parallel`` bytes (default :data:`PARALLEL_MIN`) is shared with
    helper processes, one per extra core: ranges of ``CHUNK`` bytes are handed out as
    they finish, this process works too, and the results come back in file order. A
    smaller span never pays a process start."""

    def __init__(
        self,
        path: os.PathLike[str] | str,
        flt: Filter,
        *,
        start: time | None = None,
        stop: time | None = None,
        end: int | None = None,
        parallel: int | None = None,
    ) -> None:
        self.path = path
        self.flt = flt
        self.start, self.stop = start, stop
        self.fd, st = open_log(path)  # no link, FIFO or device: never blocks
        self.file_id = (st.st_dev, st.st_ino)
        size = st.st_size if end is None else end
        self.lo, self.hi = (
            (0, size) if start is None and stop is None else time_bounds(self.fd, size, start, stop)
        )
        self.pos = self.lo
        self.lo_t = None if start is None else start.hour * 3600 + start.minute * 60 + start.second
        self.hi_t = None if stop is None else stop.hour * 3600 + stop.minute * 60 + stop.second
        self.spec = scan.Spec(
            flt.include,
            flt.exclude,
            [r.pattern for r in flt.regex],
            [r.pattern for r in flt.not_regex],
            flt.ignore_case,
            self.lo_t,
            self.hi_t,
        )
        self.matcher = scan.Matcher(self.spec)
        self.parallel = PARALLEL_MIN if parallel is None else parallel
        self.helpers_used = 0  # how many helper processes the last pass started
        self.helper_ranges = 0  # and how many ranges they did
        self._helpers: list[_Helper] = []

    @property
    def progress(self) -> float:
        span = self.hi - self.lo
        return 1.0 if span <= 0 else min(1.0, (self.pos - self.lo) / span)

    def close(self) -> None:
        self._stop_helpers()
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def __enter__(self) -> Search:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _chunk(self) -> tuple[bytes, int, int] | None:
        """The lines starting in the next ``CHUNK`` bytes: ``(data, offset, end)``, the
        lines being ``data[:end]`` (a final line without newline is left out: it is still
        being written)."""
        if self.pos >= self.hi:
            return None
        a = self.pos
        b = min(self.hi, a + CHUNK)
        got = scan.read_block(self.fd, a, b, self.lo, self.hi)
        self.pos = b
        return got

    def _each_chunk(self, cancel: threading.Event | None) -> Iterator[tuple[bytes, int, int]]:
        while cancel is None or not cancel.is_set():
            got = self._chunk()
            if got is None:
                return
            yield got

    def _passes(self, cancel: threading.Event | None, with_lines: bool) -> Iterator[Result]:
        if self.hi - self.pos >= max(1, self.parallel) and (
            _cores() > 1 or self.parallel < PARALLEL_MIN
        ):
            yield from self._shared(cancel, with_lines)
            return
        for data, base, end in self._each_chunk(cancel):
            out: list[Match] | None = [] if with_lines else None
            n = self.matcher.scan(data, base, out, end) if end else 0
            yield n, out or []

    def chunks(self, cancel: threading.Event | None = None) -> Iterator[list[Match]]:
        """Matches per chunk (possibly empty lists, so a caller can show progress)."""
        for _n, matches in self._passes(cancel, True):
            yield matches

    def count_chunks(self, cancel: threading.Event | None = None) -> Iterator[int]:
        """Like :meth:`chunks`, but only how many lines matched."""
        for n, _matches in self._passes(cancel, False):
            yield n

    # --- shared with helper processes ----------------------------------------------------

    def _own(self, a: int, b: int, with_lines: bool) -> Result:
        data, base, end = scan.read_block(self.fd, a, b, self.lo, self.hi)
        out: list[Match] | None = [] if with_lines else None
        n = self.matcher.scan(data, base, out, end) if end else 0
        return n, out or []

    def _stop_helpers(self) -> None:
        helpers, self._helpers = self._helpers, []
        for h in helpers:
            h.close()

    def _shared(self, cancel: threading.Event | None, with_lines: bool) -> Iterator[Result]:
        rs = scan.ranges(self.pos, self.hi, CHUNK)
        self._stop_helpers()
        self.helpers_used = self.helper_ranges = 0
        results: dict[int, Result] = {}
        # The first ranges tell what the rest will cost (this filter, this machine): a
        # helper starts only when that is well above its own start (HELPER_WORTH). The
        # second one is timed: the first also judges the anchor (a count per term).
        results[0] = self._own(*rs[0], with_lines)
        nxt, spent = 1, 0.0
        if len(rs) > 2:
            t0 = time_mod.thread_time()
            results[1] = self._own(*rs[1], with_lines)
            nxt, spent = 2, time_mod.thread_time() - t0
        if spent * (len(rs) - nxt) >= HELPER_WORTH and sys.executable:
            first = (os.fspath(self.path), *self.file_id, self.lo, self.hi, self.spec)
            for _ in range(max(1, _cores() - 1)):
                try:
                    self._helpers.append(_Helper(first))
                except OSError:
                    break
        self.helpers_used = len(self._helpers)
        y = 0  # the next range to yield (nxt: the next one nobody has)

        def receive(timeout: float) -> None:
            live = [h for h in self._helpers if not h.dead]
            if not live:
                return
            ready, _, _ = select.select([h.fd for h in live], [], [], timeout)
            for h in live:
                if h.fd not in ready:
                    continue
                try:
                    msg = scan.read_frame(h.fd)
                except (EOFError, OSError, ValueError):
                    msg = ("error",)
                if msg[0] == "ready":
                    h.ready = True
                elif msg[0] == "error":
                    h.close()  # its ranges are done here
                    for i in h.pending:
                        results[i] = self._own(*rs[i], with_lines)
                    h.pending = []
                else:
                    i, n, offs, lines = msg
                    h.pending.remove(i)
                    if i < y or i in results:
                        continue  # done here meanwhile (the tail)
                    self.helper_ranges += 1
                    matches: list[Match] = []
                    if with_lines and n:
                        at = array("q")
                        at.frombytes(offs)
                        matches = list(map(Match, at, lines.split(b"\n")))
                    results[i] = (n, matches)

        try:
            while y < len(rs):
                if cancel is not None and cancel.is_set():
                    return
                receive(0)
                for h in self._helpers:  # two ranges queued each: a helper never idles
                    while (
                        h.ready
                        and not (h.dead or h.broken)
                        and len(h.pending) < 2
                        and nxt < len(rs)
                    ):
                        h.send((nxt, *rs[nxt], with_lines))
                        h.pending.append(nxt)
                        nxt += 1
                if y in results:
                    self.pos = rs[y][1]
                    yield results.pop(y)
                    y += 1
                    continue
                if y == nxt:  # nobody has it: do it here
                    results[y] = self._own(*rs[y], with_lines)
                    nxt += 1
                    continue
                if nxt < len(rs) and len(results) < 8:  # work ahead while a helper has y
                    results[nxt] = self._own(*rs[nxt], with_lines)
                    nxt += 1
                    continue
                # Nothing else to do here (the tail, or far ahead): rather than wait for a
                # slow (stopped, starved) helper, do y here; its late copy is dropped.
                receive(0 if nxt >= len(rs) else 0.02)
                if y not in results:
                    results[y] = self._own(*rs[y], with_lines)
        finally:
            self._stop_helpers()


def count(
    path: os.PathLike[str] | str,
    flt: Filter,
    *,
    start: time | None = None,
    stop: time | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[float], None] | None = None,
    parallel: int | None = None,
) -> int:
    """How many lines of ``path`` match (offsets are not built)."""
    with Search(path, flt, start=start, stop=stop, parallel=parallel) as s:
        total = 0
        for n in s.count_chunks(cancel):
            total += n
            if progress:
                progress(s.progress)
        return total


def find_offset(
    path: os.PathLike[str] | str,
    term: bytes,
    start: int,
    end: int,
    *,
    forward: bool = True,
    ignore_case: bool = False,
) -> int | None:
    """Byte offset of the next (or previous) occurrence of ``term`` after (before)
    ``start``, within ``[0, end)``; chunked, so any file size."""
    if not term:
        return None
    if ignore_case:
        term = term.lower()
    fd, _st = open_log(path)
    try:
        overlap = len(term) - 1
        if forward:
            pos = start
            while pos < end:
                data = os.pread(fd, min(CHUNK, end - pos), pos)
                if not data:
                    return None
                hay = data.lower() if ignore_case else data
                i = hay.find(term)
                if i >= 0:
                    return pos + i
                if pos + len(data) >= end:
                    return None
                pos += max(1, len(data) - overlap)
            return None
        pos = min(start, end)
        while pos > 0:
            lo = max(0, pos - CHUNK)
            data = os.pread(fd, pos - lo, lo)
            hay = data.lower() if ignore_case else data
            i = hay.rfind(term)
            if i >= 0:
                return lo + i
            if lo == 0:
                return None
            pos = lo + overlap
        return None
    finally:
        os.close(fd)


def grep_days(
    catalog: Catalog, service: str, filter_text: str, *, days: int = 2, limit: int = 5000
) -> list[str]:
    """Lines of the newest ``days`` logs of a service that match ``filter_text`` (any
    case), oldest first; the last ``limit`` of them. A file that vanishes is skipped."""
    flt = parse_filter(filter_text, ignore_case=True)
    lines: list[str] = []
    for d in reversed(catalog.days_of(service)[:days]):
        for f in d.files:
            try:
                with Search(f.path, flt) as s:
                    for chunk in s.chunks():
                        lines.extend(m.line.decode("utf-8", "replace") for m in chunk)
            except OSError:
                continue
            if len(lines) > 4 * limit:
                del lines[: len(lines) - limit]
    return lines[-limit:]
