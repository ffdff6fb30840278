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
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import time
from typing import TYPE_CHECKING, TypeAlias

import re2

from iwtui.errors import BadInput
from iwtui.icewarp.logs.catalog import Catalog
from iwtui.icewarp.logs.index import open_log

CHUNK = 8 * 1024 * 1024
_TIME = re.compile(
    rb"^\S+\s+\[[0-9A-Fa-f]{4,8}\]\s+(?:(\d{1,2}):(\d\d):(\d\d)|\w{3}, \d{1,2} \w{3} \d{4} (\d\d):(\d\d):(\d\d))"
)


if TYPE_CHECKING:
    Regex: TypeAlias = re2._Regexp[bytes]
else:
    Regex = object


def user_regex(pattern: str, *, ignore_case: bool = False, what: str = "filter") -> Regex:
    """A regular expression typed by a user, compiled for RE2 (matching in linear time,
    on bytes, Latin-1 so any byte matches like Python's bytes patterns). Unsupported or
    bad syntax is BadInput with RE2's reason."""
    opts = re2.Options()
    opts.log_errors = False  # RE2 would write on stderr, over a full-screen console
    opts.encoding = re2.Options.Encoding.LATIN1  # type: ignore[attr-defined]  # not in stubs
    opts.never_capture = True
    opts.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern.encode("utf-8"), opts)
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


def line_seconds(line: bytes) -> int | None:
    """Seconds since midnight of a log line, or None when it has no time."""
    m = _TIME.match(line)
    if m is None:
        return None
    g = m.groups()
    h, mi, s = (g[0], g[1], g[2]) if g[0] is not None else (g[3], g[4], g[5])
    return int(h) * 3600 + int(mi) * 60 + int(s)


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


@dataclass
class Match:
    offset: int
    line: bytes


class Search:
    """Matching lines of one file, in file order, chunk by chunk (cancellable)."""

    def __init__(
        self,
        path: os.PathLike[str] | str,
        flt: Filter,
        *,
        start: time | None = None,
        stop: time | None = None,
        end: int | None = None,
    ) -> None:
        self.path = path
        self.flt = flt
        self.start, self.stop = start, stop
        self.fd, st = open_log(path)  # no link, FIFO or device: never blocks
        size = st.st_size if end is None else end
        self.lo, self.hi = (
            (0, size) if start is None and stop is None else time_bounds(self.fd, size, start, stop)
        )
        self.pos = self.lo
        self._anchor_term: bytes | None = None
        self.lo_t = None if start is None else start.hour * 3600 + start.minute * 60 + start.second
        self.hi_t = None if stop is None else stop.hour * 3600 + stop.minute * 60 + stop.second

    @property
    def progress(self) -> float:
        span = self.hi - self.lo
        return 1.0 if span <= 0 else min(1.0, (self.pos - self.lo) / span)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def __enter__(self) -> Search:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _in_time(self, line: bytes) -> bool:
        if self.lo_t is None and self.hi_t is None:
            return True
        secs = line_seconds(line)
        if secs is None:
            return True  # a continuation line goes with its neighbours
        return (self.lo_t is None or secs >= self.lo_t) and (self.hi_t is None or secs <= self.hi_t)

    def _chunk(self) -> tuple[bytes, int] | None:
        """The next newline-aligned chunk and its offset (a final line without newline is
        left out: it is still being written)."""
        if self.pos >= self.hi:
            return None
        want = min(CHUNK, self.hi - self.pos)
        data = os.pread(self.fd, want, self.pos)
        if not data:
            return None
        base = self.pos
        if self.pos + len(data) < self.hi or not data.endswith(b"\n"):
            cut = data.rfind(b"\n")
            if cut < 0:
                # a single line longer than the chunk: read on until its newline
                more = data
                while cut < 0:
                    extra = os.pread(self.fd, CHUNK, base + len(more))
                    if not extra:
                        self.pos = self.hi
                        return None
                    at = extra.find(b"\n")
                    if at >= 0:
                        more += extra[: at + 1]
                        cut = len(more) - 1
                    else:
                        more += extra
                data = more
            data = data[: cut + 1]
        self.pos = base + len(data)
        return data, base

    def _each_chunk(self, cancel: threading.Event | None) -> Iterator[tuple[bytes, int]]:
        while cancel is None or not cancel.is_set():
            got = self._chunk()
            if got is None:
                return
            yield got

    def chunks(self, cancel: threading.Event | None = None) -> Iterator[list[Match]]:
        """Matches per chunk (possibly empty lists, so a caller can show progress)."""
        for data, base in self._each_chunk(cancel):
            out: list[Match] = []
            self._scan(data, base, out)
            yield out

    def count_chunks(self, cancel: threading.Event | None = None) -> Iterator[int]:
        """Like :meth:`chunks`, but only how many lines matched."""
        for data, base in self._each_chunk(cancel):
            yield self._scan(data, base, None)

    def _anchor(self, hay: bytes) -> bytes | None:
        """The rarest include term, judged once on the first chunk (a day's log is much the
        same all through); later chunks reuse it, so each is searched once."""
        if not self.flt.include:
            return None
        if self._anchor_term is None:
            terms = sorted(self.flt.include, key=len, reverse=True)
            self._anchor_term = terms[0] if len(terms) == 1 else min(terms, key=hay.count)
        return self._anchor_term

    def _literal_lines(self, lines: list[bytes]) -> list[bytes]:
        """Lines passing the literal terms: one list comprehension per term (C speed)."""
        for t in self.flt.include:
            lines = [ln for ln in lines if t in ln]
        for t in self.flt.exclude:
            lines = [ln for ln in lines if t not in ln]
        return lines

    def _accept(self, line: bytes) -> bool:
        """The checks left after the literal ones: regexes and the time range."""
        flt = self.flt
        if (flt.regex or flt.not_regex) and not (
            all(r.search(line) for r in flt.regex)
            and not any(r.search(line) for r in flt.not_regex)
        ):
            return False
        return self._in_time(line)

    def _scan(self, data: bytes, base: int, out: list[Match] | None) -> int:
        """Matches of one newline-aligned chunk: appended to ``out`` (when given), counted.

        A rare anchor term is followed from hit to hit (one search pass, the chunk never
        split); when hits turn out dense, the rest of the chunk is split once and filtered
        with list comprehensions."""
        flt = self.flt
        hay = data.lower() if flt.ignore_case else data  # same length: ASCII folding only
        simple = not (flt.regex or flt.not_regex or self.lo_t is not None or self.hi_t is not None)
        anchor = self._anchor(hay)
        n = 0
        rest = 0  # where the dense pass starts
        if anchor is not None:
            others = [t for t in flt.include if t is not anchor]
            excl = flt.exclude
            i = hay.find(anchor)
            hits = 0
            while i >= 0:
                start = hay.rfind(b"\n", 0, i) + 1
                hits += 1
                if hits > 64 and hits * 1024 > i:
                    rest = start  # dense: hand the rest of the chunk to the split pass
                    break
                end = hay.find(b"\n", i)
                hl = hay[start:end]
                if all(t in hl for t in others) and not any(t in hl for t in excl):
                    if simple and out is None:
                        n += 1
                    else:
                        line = data[start:end]
                        if simple or self._accept(line):
                            n += 1
                            if out is not None:
                                out.append(Match(base + start, line))
                i = hay.find(anchor, end + 1)
            else:
                return n
        kept = self._literal_lines(hay[rest:].split(b"\n")[:-1])
        if simple and out is None:
            return n + len(kept)
        pos = rest
        for hl in kept:
            at = hay.find(hl + b"\n", pos)
            while at > 0 and hay[at - 1] != 0x0A:  # inside a longer line ending with hl
                at = hay.find(hl + b"\n", at + 1)
            if at < 0:
                break
            line = data[at : at + len(hl)]
            pos = at + len(hl) + 1
            if simple or self._accept(line):
                n += 1
                if out is not None:
                    out.append(Match(base + at, line))
        return n


def _sparse(hits: int, size: int) -> bool:
    """Few enough hits that jumping between them beats splitting the chunk into lines
    (about one hit per 1 KB: one line in ten or more)."""
    return hits * 1024 <= size


def count(
    path: os.PathLike[str] | str,
    flt: Filter,
    *,
    start: time | None = None,
    stop: time | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[float], None] | None = None,
) -> int:
    """How many lines of ``path`` match (offsets are not built)."""
    with Search(path, flt, start=start, stop=stop) as s:
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
