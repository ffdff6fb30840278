"""The matching kernel of the Logs filter, and the helper process that runs it on the
second core.

One newline-aligned block of bytes in, its matching lines out: pure work on bytes, the
same in this process and in a helper (``python -P -m iwtui.icewarp.logs.scan``). The
module imports little (the helper starts in a few tens of ms).

- Literal terms: the rarest include term is followed with ``bytes.find`` from hit to hit
  (C speed), and only the lines holding it are checked against the rest; when hits turn
  out to be most of the lines, the rest of the block is split once and filtered with list
  comprehensions.
- ``re:`` terms run on RE2 (linear time, never Python ``re``). With no literal to anchor
  on, the first regex searches the whole block in one RE2 call per hit (multi-line mode,
  ``never_nl`` so no match crosses a line), and each hit is mapped back to its line. A
  pattern whose meaning would change across lines (``\\A``, ``\\z``, a ``(?m)``/``(?s)``
  flag of its own) is matched line by line instead.

A range of the file belongs to the lines that *start* in it (:func:`read_block`), so the
blocks of a file, cut anywhere, hold each line exactly once.
"""

from __future__ import annotations

import os
import re
import struct
import sys
from array import array
from typing import IO, TYPE_CHECKING, Any, NamedTuple

import re2

if TYPE_CHECKING:
    from typing import TypeAlias

    Regex: TypeAlias = re2._Regexp[bytes]
else:
    Regex = object

_TIME = re.compile(  # a fixed pattern of ours, not a user's
    rb"^\S+\s+\[[0-9A-Fa-f]{4,8}\]\s+(?:(\d{1,2}):(\d\d):(\d\d)|\w{3}, \d{1,2} \w{3} \d{4} (\d\d):(\d\d):(\d\d))"
)
# RE2's own Match(anchor, text, pos, endpos) -> spans: the module's search() wraps it in
# a generator and a match object, three times the cost of a line's check
_UNANCHORED: Any = re2._Anchor.UNANCHORED  # type: ignore[attr-defined]
# what makes a pattern mean something else on a block than on one line
_LINE_ONLY = re.compile(rb"\\[Az]|\(\?[a-zA-Z-]*[ms]")


def line_seconds(line: bytes) -> int | None:
    """Seconds since midnight of a log line, or None when it has no time."""
    m = _TIME.match(line)
    if m is None:
        return None
    g = m.groups()
    h, mi, s = (g[0], g[1], g[2]) if g[0] is not None else (g[3], g[4], g[5])
    return int(h) * 3600 + int(mi) * 60 + int(s)


def re2_options(*, ignore_case: bool, block: bool) -> re2.Options:
    opts = re2.Options()
    opts.log_errors = False  # RE2 would write on stderr, over a full-screen console
    opts.encoding = re2.Options.Encoding.LATIN1  # type: ignore[attr-defined]  # not in stubs
    opts.never_capture = True
    opts.case_sensitive = not ignore_case
    opts.never_nl = block  # on a block: no match crosses a newline
    return opts


def block_regex(pattern: bytes, *, ignore_case: bool) -> Regex | None:
    """The pattern for a whole block (``^``/``$`` at every line, nothing across a
    newline), or None when it must be matched line by line."""
    if _LINE_ONLY.search(pattern):
        return None
    try:
        return re2.compile(
            b"(?m)(?:" + pattern + b")", re2_options(ignore_case=ignore_case, block=True)
        )
    except re2.error:
        return None


class Match(NamedTuple):
    offset: int
    line: bytes


class Spec:
    """What a filter asks, in a form a helper process can be sent (pickle)."""

    __slots__ = ("exclude", "hi_t", "ignore_case", "include", "lo_t", "not_regex", "regex")

    def __init__(
        self,
        include: list[bytes],
        exclude: list[bytes],
        regex: list[bytes],
        not_regex: list[bytes],
        ignore_case: bool,
        lo_t: int | None,
        hi_t: int | None,
    ) -> None:
        self.include, self.exclude = list(include), list(exclude)
        self.regex, self.not_regex = list(regex), list(not_regex)
        self.ignore_case, self.lo_t, self.hi_t = ignore_case, lo_t, hi_t

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, k) for k in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for k, v in zip(self.__slots__, state, strict=True):
            setattr(self, k, v)


def _raw(rx: Regex) -> Any:
    return rx._regexp  # type: ignore[attr-defined]  # the compiled RE2 object


class _Rx:
    """One user regex: on a block where it can be, else on the line cut out."""

    __slots__ = ("block", "line")

    def __init__(self, pattern: bytes, ignore_case: bool) -> None:
        rb = block_regex(pattern, ignore_case=ignore_case)
        self.block: Any = None if rb is None else _raw(rb)
        self.line: Any = _raw(
            re2.compile(pattern, re2_options(ignore_case=ignore_case, block=False))
        )

    def in_line(self, data: bytes, s: int, e: int) -> bool:
        if self.block is not None:  # pos/endpos on the block: the line's own context
            return bool(self.block.Match(_UNANCHORED, data, s, e)[0][0] >= 0)
        line = data[s:e]
        return bool(self.line.Match(_UNANCHORED, line, 0, len(line))[0][0] >= 0)


class Matcher:
    """A :class:`Spec` compiled; :meth:`scan` finds the matching lines of one block."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.include = spec.include
        self.exclude = spec.exclude
        self.regex = [_Rx(p, spec.ignore_case) for p in spec.regex]
        self.not_regex = [_Rx(p, spec.ignore_case) for p in spec.not_regex]
        self.timed = spec.lo_t is not None or spec.hi_t is not None
        self.simple = not (self.regex or self.not_regex or self.timed)
        self.anchor: bytes | None = None  # judged on the first block

    def _in_time(self, line: bytes) -> bool:
        secs = line_seconds(line)
        if secs is None:
            return True  # a continuation line goes with its neighbours
        lo, hi = self.spec.lo_t, self.spec.hi_t
        return (lo is None or secs >= lo) and (hi is None or secs <= hi)

    def _rest(self, data: bytes, s: int, e: int, skip: _Rx | None = None, nots: bool = True) -> bool:  # fmt: skip
        """The regex and time checks of line ``data[s:e]`` (``nots``: the ``!re:`` terms
        with a block form too)."""
        for r in self.regex:
            if r is not skip and not r.in_line(data, s, e):
                return False
        for r in self.not_regex:
            if (nots or r.block is None) and r.in_line(data, s, e):
                return False
        return not self.timed or self._in_time(data[s:e])

    def scan(self, data: bytes, base: int, out: list[Match] | None, end: int | None = None) -> int:
        """Matches of the lines of ``data[:end]`` (newline-aligned; ``data`` may go on,
        which saves copying a block to cut it): appended to ``out`` when given, counted."""
        end = len(data) if end is None else end
        hay = data.lower() if self.spec.ignore_case else data  # ASCII folding: same length
        if self.include:
            if any(b"\n" in t for t in self.include):
                return 0  # no line holds a newline
            if self.anchor is None:
                terms = self.include
                self.anchor = (
                    terms[0] if len(terms) == 1 else min(terms, key=lambda t: hay.count(t, 0, end))
                )
            return self._by_anchor(data, hay, base, out, end)
        first = next((r for r in self.regex if r.block is not None), None)
        if first is not None:
            return self._by_regex(first, data, hay, base, out, end)
        return self._by_lines(data, hay, 0, end, base, out)

    def _by_anchor(self, data: bytes, hay: bytes, base: int, out: list[Match] | None, end: int) -> int:  # fmt: skip
        """From hit to hit of the anchor. With a second include term, leap: a line
        without it sends the search on to the line holding its next occurrence."""
        anchor = self.anchor
        assert anchor is not None
        others = [t for t in self.include if t is not anchor]
        second, others = (others[0], others[1:]) if others else (None, others)
        excl = self.exclude
        simple = self.simple
        find, rfind = hay.find, hay.rfind
        n = hits = pos = mark = 0
        # 512 hits within the bytes of some 1,024 lines: most lines hold the anchor
        sample = min(end, 65536)
        dense = 1024 * sample // max(1, hay.count(b"\n", 0, sample))
        while True:
            i = find(anchor, pos, end)
            if i < 0:
                return n
            hits += 1
            s = rfind(b"\n", 0, i) + 1
            if not hits & 511:
                if s - mark < dense:
                    # most lines of late held the anchor: split the rest once instead
                    return n + self._by_lines(data, hay, s, end, base, out)
                mark = s
            e = find(b"\n", i)
            if second is not None:
                j = find(second, s, end)
                if j < 0:
                    return n
                if j >= e:  # not on this line: on to the line of its next occurrence
                    pos = rfind(b"\n", 0, j) + 1
                    continue
            pos = e + 1
            ok = True
            for t in others:
                if find(t, s, e) < 0:
                    ok = False
                    break
            if ok:
                for t in excl:
                    if find(t, s, e) >= 0:
                        ok = False
                        break
            if ok and (simple or self._rest(data, s, e)):
                n += 1
                if out is not None:
                    out.append(Match(base + s, data[s:e]))

    def _by_regex(self, rx: _Rx, data: bytes, hay: bytes, base: int, out: list[Match] | None, end: int) -> int:  # fmt: skip
        """Hits of one regex over the whole block, each mapped to its line."""
        assert rx.block is not None
        match = rx.block.Match
        excl = self.exclude
        rest = len(self.regex) > 1 or self.not_regex or self.timed
        n = 0
        pos = 0
        while pos < end:
            h = match(_UNANCHORED, data, pos, end)[0][0]
            if h < 0 or h >= end:  # (an empty match after the last newline is no line)
                break
            s = data.rfind(b"\n", 0, h) + 1 if h > pos else pos
            e = data.find(b"\n", h)
            ok = True
            for t in excl:
                if hay.find(t, s, e) >= 0:
                    ok = False
                    break
            if ok and (not rest or self._rest(data, s, e, skip=rx)):
                n += 1
                if out is not None:
                    out.append(Match(base + s, data[s:e]))
            pos = e + 1
        return n

    @staticmethod
    def _dropped(nots: list[_Rx], data: bytes, start: int, end: int) -> set[int]:
        """The starts of the lines a ``!re:`` term hits: one search of the block each."""
        dropped = set()
        for r in nots:
            match = r.block.Match
            pos = start
            while pos < end:
                h = match(_UNANCHORED, data, pos, end)[0][0]
                if h < 0 or h >= end:
                    break
                dropped.add(data.rfind(b"\n", 0, h) + 1 if h > pos else pos)
                pos = data.find(b"\n", h) + 1
        return dropped

    def _by_lines(self, data: bytes, hay: bytes, start: int, end: int, base: int, out: list[Match] | None) -> int:  # fmt: skip
        """Split ``hay[start:end]`` once and filter the lines with list comprehensions."""
        if (
            out is None
            and not (self.include or self.exclude or self.regex or self.timed)
            and all(r.block is not None for r in self.not_regex)
        ):  # only !re: terms, counted: the lines less those they hit
            return hay.count(b"\n", start, end) - len(
                self._dropped(self.not_regex, data, start, end)
            )
        lines = hay[start:end].split(b"\n")[:-1]
        if out is None and self.simple:
            for t in self.include:
                lines = [ln for ln in lines if t in ln]
            for t in self.exclude:
                lines = [ln for ln in lines if t not in ln]
            return len(lines)
        # keep the offsets: filter (offset, line) pairs
        offs = array("q", [start])
        pos = start
        for ln in lines:
            pos += len(ln) + 1
            offs.append(pos)
        pairs = list(zip(offs, lines, strict=False))
        for t in self.include:
            pairs = [p for p in pairs if t in p[1]]
        for t in self.exclude:
            pairs = [p for p in pairs if t not in p[1]]
        nots = [r for r in self.not_regex if r.block is not None]
        if nots and pairs:
            dropped = self._dropped(nots, data, start, end)
            pairs = [p for p in pairs if p[0] not in dropped]
        n = 0
        simple = self.simple or not (self.regex or self.timed or len(nots) < len(self.not_regex))
        if simple and out is None:
            return len(pairs)
        for s, hl in pairs:
            e = s + len(hl)
            if simple or self._rest(data, s, e, nots=False):
                n += 1
                if out is not None:
                    out.append(Match(base + s, data[s:e]))
        return n


def read_block(fd: int, a: int, b: int, lo: int, hi: int) -> tuple[bytes, int, int]:
    """``(data, base, end)``: ``data[:end]``, read from offset ``base``, holds the lines
    that start in ``[a, b)`` and end (with their newline) before ``hi``; ``lo`` is a
    line start. A line longer than the range is read whole by the range it starts in; a
    last line without its newline is left out (it is still being written)."""
    start = a
    if a > lo:  # the line running into ``a`` belongs to an earlier range
        p = a - 1
        while True:
            if p >= b:
                return b"", b, 0
            buf = os.pread(fd, min(65536, b - p), p)
            if not buf:
                return b"", b, 0
            k = buf.find(b"\n")
            if k >= 0:
                start = p + k + 1
                break
            p += len(buf)
    if start >= b:
        return b"", start, 0
    if b >= hi:  # the last range: the lines that end before ``hi``
        data = os.pread(fd, hi - start, start)
        return data, start, data.rfind(b"\n") + 1
    want = b - start
    data = os.pread(fd, min(hi - start, want + 65536), start)
    k = data.find(b"\n", want - 1)
    if k >= 0:
        return data, start, k + 1
    if len(data) < want:  # the file got shorter
        return data, start, data.rfind(b"\n") + 1
    parts = [data]  # the last line goes on: read it to its newline
    p = start + len(data)
    while p < hi:
        buf = os.pread(fd, min(1 << 20, hi - p), p)
        if not buf:
            break
        k = buf.find(b"\n")
        if k >= 0:
            parts.append(buf[: k + 1])
            data = b"".join(parts)
            return data, start, len(data)
        parts.append(buf)
        p += len(buf)
    data = b"".join(parts)
    return data, start, data.rfind(b"\n") + 1


def ranges(lo: int, hi: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(hi, a + size)) for a in range(lo, hi, size)]


# --- the helper process -------------------------------------------------------------------
# Frames on its stdin/stdout: 8 bytes of length, then a pickle. In: (path, dev, ino, lo,
# hi, spec), then (i, a, b, with_lines) per range; out: ("ready",) or ("error", why), then
# (i, count, offsets, lines) per range: offsets as array('q') bytes, lines joined by "\n".


def write_frame(fh: IO[bytes], obj: object) -> None:
    import pickle

    blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fh.write(struct.pack("<Q", len(blob)) + blob)
    fh.flush()


def read_exact(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        got = os.read(fd, min(n, 1 << 20))
        if not got:
            return None
        parts.append(got)
        n -= len(got)
    return b"".join(parts)


def read_frame(fd: int) -> Any:
    import pickle

    head = read_exact(fd, 8)
    if head is None:
        raise EOFError
    body = read_exact(fd, struct.unpack("<Q", head)[0])
    if body is None:
        raise EOFError
    return pickle.loads(body)  # our own helper's frames only


def scan_range(m: Matcher, fd: int, a: int, b: int, lo: int, hi: int, with_lines: bool) -> tuple[int, bytes, bytes]:  # fmt: skip
    data, base, end = read_block(fd, a, b, lo, hi)
    if not end:
        return 0, b"", b""
    out: list[Match] | None = [] if with_lines else None
    n = m.scan(data, base, out, end)
    if not out:
        return n, b"", b""
    return n, array("q", [o for o, _ in out]).tobytes(), b"\n".join(ln for _, ln in out)


def _helper() -> None:
    import signal
    import threading
    from queue import SimpleQueue

    from iwtui.icewarp import files

    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: end quietly with the CLI
    chan = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # nothing else may write into the channel
    inp = sys.stdin.fileno()
    outq: SimpleQueue[object] = SimpleQueue()

    def writer() -> None:  # results go out while the next range is scanned
        try:
            while (item := outq.get()) is not None:
                write_frame(chan, item)
        except OSError:
            os._exit(0)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        path, dev, ino, lo, hi, spec = read_frame(inp)
        try:
            fd, _st = files.open_fd(path, expect=files.FileId(dev, ino))
            m = Matcher(spec)
        except (OSError, files.Unsafe, re2.error) as exc:
            outq.put(("error", str(exc)))
            return
        outq.put(("ready",))
        while True:
            i, a, b, with_lines = read_frame(inp)
            outq.put((i, *scan_range(m, fd, a, b, lo, hi, with_lines)))
    except EOFError:
        pass
    finally:
        outq.put(None)
        t.join()


if __name__ == "__main__":
    # the module's own copy, so the Spec that arrives by pickle is of the same class
    from iwtui.icewarp.logs import scan as _scan

    _scan._helper()
