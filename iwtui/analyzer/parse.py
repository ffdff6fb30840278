"""The bulk parser of the import: log text -> table rows and rollup counts.

It reads the same line shape as :mod:`iwtui.icewarp.logs.lines` (spec 5.2: ``<WHO>
[<THREAD>] <TIME> <MESSAGE>``, ``hh:mm:ss[.mmm]`` or RFC 822 time) and groups lines into
sessions by thread like :mod:`iwtui.icewarp.logs.sessions` (a ``Connected`` starts one, a
``Disconnected`` ends it), without a regex per line: the lines are read by
:mod:`iwtui.analyzer.scan_fast` (one regex over whole blocks finds only the lines that
feed a column; the default) or :mod:`iwtui.analyzer.scan_raw` (every line kept whole for
``lg_Log``, the raw option; and the summary fallback to the logs engine's own
``parse_summary``). This module turns the sessions into rows and rollup counts.

A parser works on one byte range of one day's stream (a day's files of one server, in
write order). Sessions cut by the range's edges are handed back as *partials* (their
lines) to be stitched by the importer; at the day's own edges they are the two halves of
a session spanning midnight and are marked (``lg_Midnight`` 2 = began the day before,
1 = goes on after the day's log ends).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from iwtui.analyzer import scan_fast, scan_raw
from iwtui.analyzer.classes import classify
from iwtui.analyzer.schema import DIMS, OTHERS, TOP_KEEP, bucket_of

Row = tuple[Any, ...]
# how a tail (a session opened by a line other than Connected in a range that does not
# start the day) ended: still open at the range's end, ended in it, open at the day's end
TAIL_OPEN, TAIL_ENDED, TAIL_CUT = 0, 1, 2
Out = dict[str, list[Row]]  # rows by table: a parser appends, its caller takes them

_ANTISPAM = re.compile(
    r"^(?P<mid>\S+) '<?(?P<sender>[^']*?)>?' '<?(?P<rcpt>[^']*?)>?' (?P<count>\d+) "
    r"score (?P<score>-?\d+(?:\.\d+)?) reason (?P<reason>\[[^\]]*\]) action (?P<action>\S+)"
)
# One anti-spam verdict line of the plain shape (``WHO [TID] hh:mm:ss`` then what _ANTISPAM
# reads), as LineParser.feed and _spam read it: the first ``[`` within 80 ASCII characters,
# a 4 or 8 character thread id, a message that does not start with ``+`` or ``-``.
_SPAM_LINE = re.compile(
    rb"\n[^\[\n\x80-\xff]{0,79}\[([^\]\n]{4}|[^\]\n]{8})\] (\d\d:\d\d:\d\d) (?![+-])"
    rb"(\S+) '([^'\n]*)' '([^'\n]*)' \d+ score (-?\d+(?:\.\d+)?) reason "
    rb"(\[[^\]\n]*\]) action (\S+)"
)  # run on the block behind a newline: each match starts at a line's start


def _quoted(text: bytes) -> str:
    """A quoted address as _ANTISPAM's ``'<?([^']*?)>?'`` takes it: one ``<`` in front and
    one ``>`` at the end left out."""
    if text[:1] == b"<":
        text = text[1:]
    if text[-1:] == b">":
        text = text[:-1]
    return text.decode("utf-8", "replace")


_ADDR = re.compile(r"<([^<>\s]*@[^<>\s]*)>|'([^'\s]*@[^'\s]*)'")
_VIRUS = re.compile(r"(?:virus|infected|found)[:= ]+'?(?P<name>[\w.\-/]+)", re.IGNORECASE)
_ACTION = re.compile(r"action[:= ]+(?P<a>\w+)", re.IGNORECASE)


def split_addr(addr: str) -> tuple[str, str]:
    local, _, domain = addr.rpartition("@")
    return (local, domain.lower()) if local else (addr, "")


def _add(mine: dict[Any, int], theirs: dict[Any, int]) -> None:
    for k, n in theirs.items():
        mine[k] = mine.get(k, 0) + n


@dataclass
class Rollup:
    """Counts for the rollup tables of one (server, day)."""

    hour: dict[tuple[int, int, str], list[int]] = field(default_factory=dict)
    conn: dict[tuple[int, int], int] = field(default_factory=dict)
    dur: dict[tuple[int, int], int] = field(default_factory=dict)
    top: dict[str, dict[str, list[int]]] = field(default_factory=lambda: {d: {} for d in DIMS})
    spam: dict[tuple[int, str], int] = field(default_factory=dict)
    pop3: dict[tuple[int, str], int] = field(default_factory=dict)

    def merge(self, other: Rollup) -> None:
        for k, v in other.hour.items():
            cur = self.hour.setdefault(k, [0, 0, 0, 0])
            for i in range(4):
                cur[i] += v[i]
        _add(self.conn, other.conn)
        _add(self.dur, other.dur)
        _add(self.spam, other.spam)
        _add(self.pop3, other.pop3)
        for dim, table in other.top.items():
            tmine = self.top.setdefault(dim, {})
            for name, (m, b) in table.items():
                cur = tmine.setdefault(name, [0, 0])
                cur[0] += m
                cur[1] += b

    def trimmed(self, keep: int = TOP_KEEP) -> Rollup:
        """The top lists cut to the heaviest ``keep`` by count and by size (the rest summed
        under ``(others)``), so what travels between processes stays small."""
        out = Rollup(self.hour, self.conn, self.dur, {}, self.spam, self.pop3)
        for dim, table in self.top.items():
            if len(table) <= 2 * keep:
                out.top[dim] = table
                continue
            by_n = sorted(table.items(), key=lambda kv: -kv[1][0])[:keep]
            by_b = sorted(table.items(), key=lambda kv: -kv[1][1])[:keep]
            kept = dict(by_n + by_b)
            rest = [0, 0]
            for name, (m, b) in table.items():
                if name not in kept:
                    rest[0] += m
                    rest[1] += b
            if rest[0] or rest[1]:
                prev = kept.get(OTHERS, [0, 0])
                kept[OTHERS] = [prev[0] + rest[0], prev[1] + rest[1]]
            out.top[dim] = kept
        return out


class _S:
    """One session being read."""

    __slots__ = (
        "account",
        "auth",
        "client",
        "failed",
        "helo",
        "ip",
        "last",
        "lines",
        "mail",
        "orphan",
        "rcpt",
        "replies",
        "start",
        "sums",
        "tid",
        "tls",
        "who",
    )  # fmt: skip

    # The fast path reads bytes: tid, times, texts stay bytes until the session ends and
    # scan_fast.decode makes them text for its rows (the raw path reads text throughout).
    def __init__(self, tid: Any, start: Any, ip: str, client: bool, orphan: bool) -> None:
        self.tid, self.start, self.ip, self.client, self.orphan = tid, start, ip, client, orphan
        self.helo = ""
        self.tls = self.auth = 0
        self.replies: list[tuple[Any, Any]] = []  # (time, refusing reply or failure text)
        self.sums: list[tuple[Any, Any]] = []  # (time, summary message)
        self.lines: list[Any] = []  # str lines (raw path) or matches (fast path)
        self.last: Any = start
        self.mail: Any = ""
        self.rcpt: Any = ""
        self.account: Any = ""
        self.failed = False
        self.who: bytes = b"-"  # the fast path: its first line's peer as written (partial)


class SessionParser:
    """SMTP or POP3 lines -> rows, appended to ``out[table]``. The lines are read
    by :func:`scan_fast.feed` (default) or :func:`scan_raw.feed` (the raw option), which
    open sessions (``Session``) in ``open`` and end them with :meth:`close`."""

    Session = _S

    def __init__(self, service: str, day: str, server: str, out: Out, *, raw: bool = False,
                 first: bool = True, last: bool = True) -> None:  # fmt: skip
        self.service, self.day, self.server, self.out, self.raw = service, day, server, out, raw
        self.first, self.last = first, last
        self.open: dict[Any, _S] = {}  # by thread id (bytes on the fast path)
        # What the importer needs to stitch a range that does not start the day
        # (importer._stitch): the sessions opened by a line other than Connected, with how
        # they ended (TAIL_OPEN, TAIL_ENDED or TAIL_CUT); the threads whose first session
        # in the range opened with a Connected (it ends a session begun before the range);
        # the SYSTEM lines of a thread before its first session (part of a session begun
        # before the range, if there is one, else skipped as in a whole read).
        self.tails: list[tuple[Any, list[bytes], int]] = []
        self.fresh: list[Any] = []
        self.pending: dict[Any, list[bytes]] = {}
        self.seen: set[Any] = set()
        self.rollup = Rollup()
        self.lines = 0
        self.rows = 0

    # --- reading ------------------------------------------------------------------------

    def feed(self, data: bytes, end: int | None = None) -> None:
        """Whole lines of ``data[:end]`` (the last may lack its newline)."""
        if end is None:
            end = len(data)
        if self.raw:
            scan_raw.feed(self, data[:end].decode("utf-8", "replace"))
        else:
            scan_fast.feed(self, data, end)

    def finish(self) -> dict[Any, list[bytes]]:
        """End of the range: open sessions are closed (the day's end) or handed back as
        heads to stitch (a middle range). Returns the heads by thread."""
        heads: dict[Any, list[bytes]] = {}
        for s in list(self.open.values()):
            if self.last:
                self.close(s, cut=True)
            elif s.orphan and not self.first:
                self.tails.append((s.tid, self._partial(s), TAIL_OPEN))
            else:
                heads[s.tid] = self._partial(s)
        self.open.clear()
        return heads

    def _partial(self, s: _S) -> list[bytes]:
        """A cut session's lines to parse again; the fast path keeps matches from their
        thread id on, so the peer goes back in front."""
        if self.raw:
            return [ln.encode("utf-8", "replace") for ln in s.lines]
        return scan_fast.partial(s.who, s.lines)

    def flush(self) -> None:
        """Close every open session as ended (stitched sessions of a range's edge)."""
        for s in list(self.open.values()):
            self.close(s, cut=False)

    # --- rows ---------------------------------------------------------------------------

    def close(self, s: _S, *, cut: bool) -> None:
        if self.open.get(s.tid) is s:
            del self.open[s.tid]
        if s.orphan and not self.first:
            self.tails.append((s.tid, self._partial(s), TAIL_CUT if cut else TAIL_ENDED))
            return
        midnight = 2 if s.orphan else (1 if cut else 0)
        if not self.raw:
            scan_fast.decode(s)
        if self.service == "smtp":
            self._smtp_rows(s, midnight)
        else:
            self._pop3_row(s, midnight)

    def _log(self, s: _S) -> tuple[bytes | None, int | None]:
        if not self.raw:
            return None, None
        return zlib.compress("\n".join(s.lines).encode("utf-8", "replace"), 6), len(s.lines)

    def _smtp_rows(self, s: _S, midnight: int) -> None:
        r = self.rollup
        client = int(s.client)
        ck = (int(s.start[:2] or 0), client)
        conn = r.conn
        conn[ck] = conn.get(ck, 0) + 1
        replies = s.replies
        ckey = tuple(sorted({classify(t) for _, t in replies})) if replies else ()
        log, nrows = self._log(s) if self.raw else (None, None)
        rows: list[tuple[str, str, list[str], int, int, str, str | None, str]] = []
        summary = _summary
        for hms, msg in s.sums:
            fields = summary(msg)
            if fields is not None:
                rows.append((hms, *fields, ""))
        if not rows:
            if replies:
                hms, text, cls = _refusal(replies)
            elif midnight:
                hms, text, cls = s.last, "", "INCPLT"
            else:
                return
            sender = s.mail.split(":", 1)[1].split(" ", 1)[0].strip("<>") if ":" in s.mail else ""
            rcpt = s.rcpt.split(":", 1)[1].split(" ", 1)[0].strip("<>") if ":" in s.rcpt else ""
            rows.append((hms, sender, [rcpt] if rcpt else [], 0, 0, cls, None, text[:200]))
        top = r.top
        t_fd, t_td, t_fu, t_tu = (
            top["from_domain"],
            top["to_domain"],
            top["from_user"],
            top["to_user"],
        )
        t_ip = top["ip" if client else "reject_ip"]
        t_in, t_defer = top["ip"], top["defer_domain"]
        day, server, tid, ip, helo, auth, tls = (self.day, self.server, s.tid, s.ip, s.helo,
                                                 s.auth, s.tls)  # fmt: skip
        add, hour_t, dur_t, flag_t, buckets = (
            self.out["smtp"].append,
            r.hour,
            r.dur,
            _FLAGS,
            _BUCKETS,
        )
        raw = self.raw
        addrs = _ADDRS
        if len(addrs) > 200_000:
            addrs.clear()
        for hms, sender, rcpts, size, dur, result, mid, reply in rows:
            a = addrs.get(sender)
            if a is None:
                a = addrs[sender] = _addr(sender)
            fa, fd, low_from = a
            to = rcpts[0] if rcpts else ""
            a = addrs.get(to)
            if a is None:
                a = addrs[to] = _addr(to)
            ta, td, low_to = a
            fk = (ckey, result, client)
            flags = flag_t.get(fk)
            if flags is None:
                flags = flag_t[fk] = _flags(set(ckey) | {result}, client)
            hour = int(hms[:2] or 0)
            nr = len(rcpts)
            if raw:
                add((server, day, hms, hour, tid, ip, helo, fa, fd, ta, td, nr, mid, size, dur,
                     result, reply, auth, tls, *flags, midnight, log, nrows, f"{day} {hms}"))  # fmt: skip
            else:  # schema.row_columns: no lg_Log, lg_LogRows
                add((server, day, hms, hour, tid, ip, helo, fa, fd, ta, td, nr, mid, size, dur,
                     result, reply, auth, tls, *flags, midnight, f"{day} {hms}"))  # fmt: skip
            hk = (hour, client, result)
            cur = hour_t.get(hk)
            if cur is None:
                hour_t[hk] = [1, nr, size, dur]
            else:
                cur[0] += 1
                cur[1] += nr
                cur[2] += size
                cur[3] += dur
            b = buckets.get(dur)
            if b is None:
                b = buckets[dur] = bucket_of(dur)
            dk = (client, b)
            dur_t[dk] = dur_t.get(dk, 0) + 1
            if result == "OK":
                if fd:
                    v = t_fd.get(fd)
                    if v is None:
                        t_fd[fd] = [1, size]
                    else:
                        v[0] += 1
                        v[1] += size
                if td:
                    v = t_td.get(td)
                    if v is None:
                        t_td[td] = [1, size]
                    else:
                        v[0] += 1
                        v[1] += size
                if sender:
                    v = t_fu.get(low_from)
                    if v is None:
                        t_fu[low_from] = [1, size]
                    else:
                        v[0] += 1
                        v[1] += size
                if to:
                    v = t_tu.get(low_to)
                    if v is None:
                        t_tu[low_to] = [1, size]
                    else:
                        v[0] += 1
                        v[1] += size
                if ip and not client:
                    _count(t_in, ip, size)
            elif ip:
                _count(t_ip, ip, size)
            if client and result != "OK" and td:
                _count(t_defer, td, size)
        self.rows += len(rows)

    def _pop3_row(self, s: _S, midnight: int) -> None:
        if not s.account and not s.failed and not midnight:
            return
        result = "FAILED" if s.failed else ("OK" if s.account else "INCPLT")
        acc, dom = split_addr(s.account)
        dur = max(0, _secs(s.last) - _secs(s.start))
        hour = int(s.start[:2] or 0)
        row = (self.server, self.day, s.start, hour, s.tid, s.ip, acc, dom, result, dur, midnight)
        if self.raw:
            self.out["pop3"].append((*row, *self._log(s), f"{self.day} {s.start}"))
        else:  # schema.row_columns: no lg_Log, lg_LogRows
            self.out["pop3"].append((*row, f"{self.day} {s.start}"))
        self.rows += 1
        k = (hour, result)
        self.rollup.pop3[k] = self.rollup.pop3.get(k, 0) + 1


def _refusal(replies: list[tuple[str, str]]) -> tuple[str, str, str]:
    """The reply that refused a session: the first with a known class, else the first
    permanent (5xx) one, else the first."""
    classes = [(t, x, classify(x)) for t, x in replies]
    return next((c for c in classes if c[2] != "ERROR"),
                next((c for c in classes if c[1][:1] == "5"), classes[0]))  # fmt: skip


_FLAGS: dict[tuple[tuple[str, ...], str, int], tuple[int, ...]] = {}
_BUCKETS: dict[int, int] = {}  # duration -> its histogram bucket (bucket_of, cached)
_summary = scan_raw.summary


_ADDRS: dict[str, tuple[str, str, str]] = {}  # address -> _addr(address), cached


def _addr(addr: str) -> tuple[str, str, str]:
    """(account, domain lower-cased, whole address lower-cased) of a row's address."""
    at = addr.rfind("@")
    if at > 0:
        return addr[:at], addr[at + 1 :].lower(), addr.lower()
    return addr, "", addr.lower()


def _count(table: dict[str, list[int]], name: str, size: int) -> None:
    v = table.get(name)
    if v is None:
        table[name] = [1, size]
    else:
        v[0] += 1
        v[1] += size


def _flags(classes: set[str], client: int) -> tuple[int, ...]:
    """lg_Relay ... lg_AV for the classes a session showed (lg_ClientSession among them)."""
    return (*(int(c in classes) for c in ("WDNR", "DNSBL", "TARP", "ANA", "SDME", "DBF",
                                          "INCPLT")),
            client, int("SCAN" in classes), int("AV" in classes))  # fmt: skip


def _secs(hms: str) -> int:
    try:
        return int(hms[:2]) * 3600 + int(hms[3:5]) * 60 + int(hms[6:8])
    except ValueError:
        return 0


class LineParser:
    """Anti-spam and anti-virus logs: one row per line that carries a verdict."""

    def __init__(self, service: str, day: str, server: str, out: Out) -> None:
        self.service, self.day, self.server, self.out = service, day, server, out
        self.rollup = Rollup()
        self.tails: list[tuple[Any, list[bytes], int]] = []
        self.fresh: list[Any] = []
        self.pending: dict[Any, list[bytes]] = {}
        self.lines = 0
        self.rows = 0

    def finish(self) -> dict[Any, list[bytes]]:
        return {}

    def flush(self) -> None:
        pass

    def feed(self, data: bytes, end: int | None = None) -> None:
        if end is not None and end < len(data):
            data = data[:end]
        if self.service == "antispam" and self._spam_block(data):
            return
        text = data.decode("utf-8", "replace")
        for line in text.split("\n"):
            self.lines += 1
            b = line.find("[", 0, 80)
            e = line.find("]", b)
            if b < 0 or e - b not in (5, 9):
                continue
            rest = line[e + 2 :]
            c = rest.find(":")
            if c < 1:
                continue
            if c == 1:
                rest = "0" + rest
                c = 2
            hms = rest[c - 2 : c + 6]
            q = c + 6
            if rest[q : q + 1] == ".":
                q += 4
            if rest[q + 1 : q + 2] in ("+", "-"):
                q += 6
            msg = rest[q + 1 :]
            if self.service == "antispam":
                self._spam(line[b + 1 : e], hms, msg)
            else:
                self._virus(line[:b].strip(), line[b + 1 : e], hms, msg)
        if text.endswith("\n"):
            self.lines -= 1

    def _spam_block(self, data: bytes) -> bool:
        """Anti-spam verdicts of a whole block by one regex (:data:`_SPAM_LINE`), when every
        line naming an action has the plain shape that regex reads; otherwise (False) the
        block goes line by line. Each match is a line with one `` action ``, so as many
        matches as `` action `` in the block means no verdict line was left out."""
        found = _SPAM_LINE.findall(b"\n" + data)
        if len(found) != data.count(b" action "):
            return False
        self.lines += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        add = self.out["antispam"].append
        spam = self.rollup.spam
        server, day = self.server, self.day
        addrs = _ADDRS
        for tid, hms, mid, sender, rcpt, score, reason, action in found:
            hms_s = hms.decode()
            sender_s = _quoted(sender)
            rcpt_s = _quoted(rcpt)
            a = addrs.get(sender_s)
            if a is None:
                a = addrs[sender_s] = _addr(sender_s)
            b = addrs.get(rcpt_s)
            if b is None:
                b = addrs[rcpt_s] = _addr(rcpt_s)
            hour = int(hms[:2])
            act = action.decode("utf-8", "replace")
            add((server, day, hms_s, hour, tid.decode("utf-8", "replace"),
                 mid.decode("utf-8", "replace"), a[0], a[1], b[0], b[1], float(score), act,
                 reason.decode("utf-8", "replace"), f"{day} {hms_s}"))  # fmt: skip
            k = (hour, act)
            spam[k] = spam.get(k, 0) + 1
        self.rows += len(found)
        if len(addrs) > 200_000:
            addrs.clear()
        return True

    def _spam(self, tid: str, hms: str, msg: str) -> None:
        m = _ANTISPAM.match(msg)
        if m is None:
            return
        fa, fd = split_addr(m.group("sender"))
        ta, td = split_addr(m.group("rcpt"))
        hour = int(hms[:2] or 0)
        action = m.group("action")
        self.out["antispam"].append((self.server, self.day, hms, hour, tid, m.group("mid"), fa, fd,
                               ta, td, float(m.group("score")), action, m.group("reason"),
                               f"{self.day} {hms}"))  # fmt: skip
        self.rows += 1
        k = (hour, action)
        self.rollup.spam[k] = self.rollup.spam.get(k, 0) + 1

    def _virus(self, who: str, tid: str, hms: str, msg: str) -> None:
        v = _VIRUS.search(msg)
        if v is None:
            return
        addrs = [a or b for a, b in _ADDR.findall(msg)]
        fa, fd = split_addr(addrs[0]) if addrs else ("", "")
        ta, td = split_addr(addrs[1]) if len(addrs) > 1 else ("", "")
        act = _ACTION.search(msg)
        first = msg.split(" ", 1)[0]
        mid = first if first and "@" not in first and first[:1].isalnum() else None
        self.out["antivirus"].append((self.server, self.day, hms, int(hms[:2] or 0), tid, who, mid,
                                fa, fd, ta, td, v.group("name"), act.group("a") if act else "",
                                msg[:500], f"{self.day} {hms}"))  # fmt: skip
        self.rows += 1


def parser_for(service: str, day: str, server: str, out: Out, *, raw: bool, first: bool,
               last: bool) -> SessionParser | LineParser:  # fmt: skip
    if service in ("smtp", "pop3"):
        return SessionParser(service, day, server, out, raw=raw, first=first, last=last)
    return LineParser(service, day, server, out)
