"""The hot loop: counters per minute (and per-account aggregates) from a block of log bytes.

One regex pass over newline-aligned bytes finds only the lines that count: it starts at the
``[thread]`` of every line and fails within a few characters on the others, which is ~4x
faster than parsing each line. A hit is checked to be a real line head (``WHO`` then
spaces from the line start), so text inside a message (a subject, a hostile line) never
counts. A :class:`Part` is plain data (marshal-able): a helper process returns one, and
parts of one file are merged in order (:func:`merge`), which keeps "once per session per
filter" exact across part boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from iwtui.icewarp.traffic.minutes import day_of as day_of
from iwtui.icewarp.traffic.minutes import minute_of as minute_of
from iwtui.icewarp.traffic.minutes import minute_time as minute_time
from iwtui.icewarp.traffic.minutes import plus_days as plus_days

# The line head: 1 WHO, 2 thread id, 3 RFC 822 date (empty for hh:mm:ss clocks), 4 hh:mm, 5 ss
_WHO_TID = rb"(\S+)[ \t]+\[([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})\] "
_CLOCK_HMS = rb"()(\d{1,2}:\d\d):(\d\d)(?:\.\d{1,3})? "
_CLOCK_RFC = rb"[A-Z][a-z]{2}, (\d{1,2} [A-Z][a-z]{2} \d{4}) (\d\d:\d\d):(\d\d)(?: [+-]\d{4})? "
# 6 client, 7 Connected, 8-11 summary (sender and recipients, count, size, result: the
# rightmost split that fits, as a summary is read from the right), 12 any other summary,
# 13 login, 14 failed login, 15 intrusion prevention, 16 greylisting, 17 a service start
# line (``SMTP Service started``)
_EVENTS = (
    rb"(?=[UAI*]|C(?:o|.{14}(?:[C*UAI]|>>> 4))|>>> 4|[A-Za-z0-9]{2,12} [Ss]ervice started|[Ss]ervice started)"
    rb"(Client session )?"
    rb"(?:C(onnected)(?=[\r\n,])"
    rb"|\*\*\* ([^\r\n]*) (\d+) (\d+) \d+:\d\d:\d\d (\S+)(?: \S+)?(?=\r?\n)"
    rb"|\*\*\* ([^\r\n]*)"
    rb"|User (\S+) logged in"
    rb"|Authentication failed for (\S+)"
    rb"|I(ntrusion prevention: IP blocked)"
    rb"|>>> 4\d\d [^\r\n]*?([Gg]reylist)"
    rb"|((?:[A-Za-z0-9]{2,12} )?[Ss]ervice started))"
)
# 6 message id, 7 score, 8 reason, 9 action
_SPAM = rb"(\S+) '[^'\r\n]*' '[^'\r\n]*' \d+ score (-?\d+(?:\.\d+)?) reason \[([^\]\r\n]*)\] action (\S+)"
# The anti-virus log: any line with a head and a message (the spec gives no wording)
_AV = rb"(?=[^\r\n])"
# A line that counts, matched from its start (Python ``re``: groups, lookaheads), by log
# kind ("", "antispam", "antivirus") and clock (RFC 822 or not).
_LINES = {
    ("", False): _WHO_TID + _CLOCK_HMS + _EVENTS,
    ("", True): _WHO_TID + _CLOCK_RFC + _EVENTS,
    ("antispam", False): _WHO_TID + _CLOCK_HMS + _SPAM,
    ("antispam", True): _WHO_TID + _CLOCK_RFC + _SPAM,
    ("antivirus", False): _WHO_TID + _CLOCK_HMS + _AV,
    ("antivirus", True): _WHO_TID + _CLOCK_RFC + _AV,
}
# The search: RE2 (linear time, no captures) over the block for a newline followed by a
# line that may count; it skips to each newline at C speed and reads a line that cannot
# count no further than the first bytes of its message. Each line it finds is matched
# again by the pattern above, which decides (RE2 finds a superset of those lines: its
# \S holds \v, it has no lookahead). Three times faster than a Python ``re`` search.
_HEAD_ANY = rb"\n\S+[ \t]+\[(?:[0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})\] "
_CLOCK_HMS_ANY = rb"\d{1,2}:\d\d:\d\d(?:\.\d{1,3})? "
_CLOCK_RFC_ANY = rb"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d(?: [+-]\d{4})? "
_EVENTS_ANY = (
    rb"(?:Client session )?(?:Connected|\*\*\* |User \S+ logged in|Authentication failed for "
    rb"|Intrusion prevention: IP blocked|>>> 4\d\d |(?:[A-Za-z0-9]{2,12} )?[Ss]ervice started)"
)
_SEARCHES = {
    False: _HEAD_ANY + _CLOCK_HMS_ANY + _EVENTS_ANY,
    True: _HEAD_ANY + _CLOCK_RFC_ANY + _EVENTS_ANY,
}
# In an anti-spam log nearly every line counts: Python ``re`` finds the "] " that closes a
# line's thread id and its clock (a literal search at C speed), and the line is matched
# from its start.
_SPAM_SEARCHES = {
    ("antispam", False): rb"\] " + _CLOCK_HMS_ANY + rb"\S+ '",
    ("antispam", True): rb"\] " + _CLOCK_RFC_ANY + rb"\S+ '",
    ("antivirus", False): rb"\] " + _CLOCK_HMS_ANY + rb"[^\r\n]",
    ("antivirus", True): rb"\] " + _CLOCK_RFC_ANY + rb"[^\r\n]",
}
_COMPILED: dict[tuple[str, bool], tuple[re.Pattern[bytes], Any]] = {}


def pattern(kind: str, rfc: bool) -> tuple[re.Pattern[bytes], Any]:
    """The line pattern and the search of a log kind ("", "antispam", "antivirus") and
    clock format (compiled on first use: a warm ``charts show`` never scans, and its
    start-up stays short)."""
    got = _COMPILED.get((kind, rfc))
    if got is None:
        if not HM:
            HM.update(
                {f"{h:02d}:{m:02d}".encode(): h * 60 + m for h in range(24) for m in range(60)}
            )
            HM.update({f"{h}:{m:02d}".encode(): h * 60 + m for h in range(10) for m in range(60)})
        search: Any
        if kind:
            search = re.compile(_SPAM_SEARCHES[(kind, rfc)])
        else:
            import re2

            opts = re2.Options()
            opts.log_errors = False
            opts.encoding = re2.Options.Encoding.LATIN1  # type: ignore[attr-defined]
            opts.never_capture = True
            # RE2's own Match() (no Python wrapper per call)
            search = re2.compile(_SEARCHES[rfc], opts)._regexp  # type: ignore[attr-defined]
        got = _COMPILED[(kind, rfc)] = (re.compile(_LINES[(kind, rfc)]), search)
    return got


def _spam_hits(data: bytes, start: int, end: int, line: re.Pattern[bytes],
               search: re.Pattern[bytes]) -> Iterator[re.Match[bytes]]:  # fmt: skip
    """The matches of ``line`` at the starts of the lines of ``data[start:end]``, in order,
    in an anti-spam or anti-virus log: candidates at a "] " and a clock."""
    match = line.match
    rfind = data.rfind
    last = -1
    for c in search.finditer(data, start, end):
        ls = rfind(b"\n", start, c.start()) + 1 or start
        if ls != last:  # one line, one match (text in a message may look like a head)
            last = ls
            m = match(data, ls, end)
            if m is not None:
                yield m


_IS_RFC = rb"\S+[ \t]+\[[0-9A-Fa-f]{4,8}\] [A-Z][a-z]{2}, "
_DURATION = rb"\d+:\d\d:\d\d"
_MONTHS = {m.encode(): i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
)}  # fmt: skip
# hh:mm and h:mm -> minute of the day (filled by pattern(): an import builds nothing, so
# a warm ``charts show``, which reads the store only, starts faster)
HM: dict[bytes, int] = {}

# Summary results of server sessions -> the filter counter they raise (once per session).
RESULT_FILTER = {
    b"AV": "msgvirusrejected",
    b"DBF": "msgcontentfilter",
    b"DNSBL": "msgdns",
    b"TARP": "msgintrusionprevention",
    b"GRLST": "greylisting",
    b"AS": "refused",
}
# Anti-spam actions -> counter (once per message).
ACTION_COUNTER = {
    b"QUARANTINE": "quarantine",
    b"SPAM": "spammarked",
    b"MARK": "spammarked",
    b"REJECT": "refused",
    b"REFUSE": "refused",
    b"REFUSED": "refused",
    b"DELETE": "refused",
}
# account row: received #, received bytes, sent #, sent bytes, sent out #, sent out bytes,
# last sent, last received, last login (hh:mm:ss bytes of that day), last ip
ACC_WIDTH = 10
SEEN_KEEP = 4096

Part = dict[str, Any]


def new_part(day: date, wrap: int = 0, last_hm: int = -1) -> Part:
    return {
        "day": day.toordinal(),
        "wrap": wrap,  # days added to the file's day so far (hh:mm:ss clocks past midnight)
        "first_hm": -1,
        "last_hm": last_hm,
        "rfc": False,
        "counts": {},
        "acc": {},
        "seen": {},
        "reset": set(),
        "orphans": [],
        "starts": [],
        "lines": 0,
    }


def _summary(rest: bytes) -> tuple[bytes, list[bytes], int, int, bytes] | None:
    """sender, recipients, count, size, result of ``<sender> <rcpt>... N SIZE DUR RESULT [ID]``."""
    t = rest.split()
    n = len(t)
    duration = re.compile(_DURATION).fullmatch  # (re caches the compiled pattern)
    if n >= 5 and duration(t[-2]):
        d = n - 2
    elif n >= 6 and duration(t[-3]):
        d = n - 3
    else:
        d = next((i for i in range(n - 2, 2, -1) if duration(t[i])), -1)
        if d < 3:
            return None
    count, size = t[d - 2], t[d - 1]
    if not (count.isdigit() and size.isdigit()):
        return None
    return t[0], t[1 : d - 2], int(count), int(size), t[d + 1]


def _line_is_rfc(data: bytes, at: int, end: int) -> bool:
    return re.compile(_IS_RFC).match(data, at, end) is not None


def _formats(data: bytes, start: int, end: int) -> list[bool]:
    """Which clock patterns to run over ``data[start:end]``: the first and last lines decide
    (a log uses one format; a block where they differ is read with both)."""
    last = data.rfind(b"\n", start, max(start, end - 1)) + 1
    first, final = _line_is_rfc(data, start, end), _line_is_rfc(data, max(last, start), end)
    return [first] if first == final else [False, True]


def scan(data: bytes, part: Part, *, antispam: bool = False, antivirus: bool = False,
         start: int = 0, end: int | None = None) -> Part:  # fmt: skip
    """Count the complete lines of ``data[start:end]`` into ``part`` (in place, returned).
    ``antispam``/``antivirus``: the block is of that log (its own line forms)."""
    end = len(data) if end is None else end
    log_kind = "antispam" if antispam else "antivirus" if antivirus else ""
    for rfc in _formats(data, start, end):
        _scan(data, part, log_kind, rfc, start, end)
    return part


def _scan(data: bytes, part: Part, log_kind: str, rfc: bool, start: int, end: int) -> None:
    line, search = pattern(log_kind, rfc)
    antispam, antivirus = log_kind == "antispam", log_kind == "antivirus"
    counts: dict[str, dict[int, int]] = part["counts"]
    seen: dict[Any, set[str]] = part["seen"]
    reset: set[Any] = part["reset"]
    orphans: list[tuple[Any, str, int]] = part["orphans"]
    acc: dict[tuple[int, bytes], list[Any]] = part["acc"]
    starts: list[tuple[int, str]] = part["starts"]
    base = part["day"] * 1440
    wrap = part["wrap"]
    last_hm = part["last_hm"]
    first_hm = part["first_hm"]
    hm_of = HM
    day_cache: dict[bytes, int] = {}
    alias: dict[bytes, bytes] = {}
    # summaries' account rows by day and address token as written (folded into ``acc``,
    # lower-cased, at the end: one dict look-up a token instead of a key built each time)
    tokens: dict[int, dict[bytes, list[Any]]] = {}
    c_sconn = counts.setdefault("serverconn", {})
    c_cconn = counts.setdefault("clientconn", {})
    c_recv = counts.setdefault("msgreceived", {})
    c_din = counts.setdefault("serverdatain", {})
    c_sent = counts.setdefault("msgsent", {})
    c_dout = counts.setdefault("clientdataout", {})

    def add(name: str, minute: int, value: int = 1) -> None:
        c = counts.get(name)
        if c is None:
            c = counts[name] = {}
        c[minute] = c.get(minute, 0) + value

    def once(key: Any, name: str, minute: int) -> None:
        s = seen.get(key)
        if s is None:
            s = seen[key] = set()
        elif name in s:
            return
        s.add(name)
        if key not in reset:
            orphans.append((key, name, minute))
        add(name, minute)

    prev_hm: bytes | None = None
    minute = dbase = 0
    day = -1
    rows: dict[bytes, list[Any]] = {}
    # The lines that count: RE2 finds a newline before a line that may count (a superset),
    # the line pattern decides. Inline, not a generator (its resume at each line that
    # counts cost ~2% of the scan); anti-spam and anti-virus logs have their own search.
    spam = isinstance(search, re.Pattern)
    spam_hits = _spam_hits(data, start, end, line, search) if spam else None
    match = line.match
    first = None if spam else match(data, start, end)  # (no newline before it)
    if not spam:
        import re2

        find = search.Match
        unanchored = re2._Anchor.UNANCHORED  # type: ignore[attr-defined]
    pos = start
    while True:
        if first is not None:
            m, first = first, None
        elif spam_hits is not None:
            hit = next(spam_hits, None)
            if hit is None:
                break
            m = hit
        else:
            at, pos = find(unanchored, data, pos, end)[0]
            if at < 0:
                break
            hit = match(data, at + 1, end)
            if hit is None:
                continue
            m = hit
        hm_b = m[4]
        if rfc:
            hm = hm_of.get(hm_b, -1)
            dmy = m[3]
            dbase = day_cache.get(dmy, -1)
            if dbase < 0:
                dbase = day_cache[dmy] = _rfc_day(dmy)
            if hm < 0 or dbase < 0:
                continue
            part["rfc"] = True
            minute = dbase + hm
        elif hm_b != prev_hm:  # lines come in time order: most share the previous minute
            hm = hm_of.get(hm_b, -1)
            if hm < 0:
                continue
            if last_hm >= 0 and hm + 720 < last_hm:
                wrap += 1  # the clock went back past midnight: the next day's lines
            last_hm = hm
            if first_hm < 0:
                first_hm = hm
            dbase = base + wrap * 1440
            minute = dbase + hm
            prev_hm = hm_b
        if antispam:
            _antispam_hit(m, minute, once)
            continue
        if antivirus:  # once per thread and minute; SYSTEM lines are the engine's own
            if m[1] != b"SYSTEM":
                once(m[2].upper() + b" " + (m[3] or b"") + b" " + hm_b, "msgvirus", minute)
            continue
        kind = m.lastindex
        if kind == 7:  # Connected
            tid = m[2]
            if m[6] is None:
                c_sconn[minute] = c_sconn.get(minute, 0) + 1
            else:
                c_cconn[minute] = c_cconn.get(minute, 0) + 1
            seen.pop(tid, None)
            reset.add(tid)
            continue
        if kind == 11 or kind == 12:  # a summary
            client = m[6] is not None
            if kind == 11:
                result, head = m[11], m[8]
                if result == b"OK":
                    rcpts = head.split()
                    if not rcpts:
                        continue  # no sender: not a summary
                    sender = rcpts.pop(0)
                    # (the pattern's digits; the count only where no recipient is named)
                    size = int(m[10])
                    count = 0 if rcpts else int(m[9])
                elif not head or head.isspace():
                    continue
            else:
                got = _summary(m[12])
                if got is None:
                    continue
                sender, rcpts, count, size, result = got
            if result != b"OK":
                if client:
                    add("msgfailed", minute)
                else:
                    add("msgrejected", minute)
                    name = RESULT_FILTER.get(result)
                    if name is not None:
                        once(m[2], name, minute)
                continue
            if dbase // 1440 != day:
                day = dbase // 1440
                rows = tokens.setdefault(day, {})
            n = len(rcpts) or count
            row = rows.get(sender)
            if row is None:
                row = rows[sender] = [0, 0, 0, 0, 0, 0, None, None, None, None]
            if client:
                c_sent[minute] = c_sent.get(minute, 0) + 1
                c_dout[minute] = c_dout.get(minute, 0) + size
                row[4] += n
                row[5] += n * size
                continue
            c_recv[minute] = c_recv.get(minute, 0) + 1
            c_din[minute] = c_din.get(minute, 0) + size
            hms = hm_b + b":" + m[5]
            row[2] += n
            row[3] += n * size
            if row[6] is None or hms > row[6]:
                row[6] = hms
            for r in rcpts:
                row = rows.get(r)
                if row is None:
                    row = rows[r] = [0, 0, 0, 0, 0, 0, None, None, None, None]
                row[0] += 1
                row[1] += size
                if row[7] is None or hms > row[7]:
                    row[7] = hms
        elif kind == 13:
            add("logins", minute)
            hms = hm_b + b":" + m[5]
            row = _row(acc, alias, dbase // 1440, m[13])
            if row[8] is None or hms >= row[8]:
                row[8] = hms
                row[9] = m[1].decode("utf-8", "replace")
        elif kind == 14:
            add("loginsfailed", minute)
        elif kind == 15:
            once(m[2], "msgintrusionprevention", minute)
        elif kind == 16:
            once(m[2], "greylisting", minute)
        elif kind == 17 and m[6] is None:  # a service start line
            starts.append((minute, m[5].decode("ascii")))
    part["wrap"], part["last_hm"], part["first_hm"] = wrap, last_hm, first_hm
    for d, by_token in tokens.items():
        for token, row in by_token.items():
            address = alias.get(token)
            if address is None:
                address = alias[token] = token.strip(b"<>").lower()
            merge_row(acc, (d, address), row)
    for name in ("serverconn", "clientconn", "msgreceived", "serverdatain", "msgsent",
                 "clientdataout"):  # fmt: skip
        if not counts[name]:
            del counts[name]


def _rfc_day(dmy: bytes) -> int:
    parts = dmy.split()
    mon = _MONTHS.get(parts[1])
    if mon is None:
        return -1
    try:
        return date(int(parts[2]), mon, int(parts[0])).toordinal() * 1440
    except ValueError:
        return -1


def _row(acc: dict[tuple[int, bytes], list[Any]], alias: dict[bytes, bytes], day: int,
         token: bytes) -> list[Any]:  # fmt: skip
    """The account row of an address token (``<A@B>`` or ``a@b``), lower-cased."""
    address = alias.get(token)
    if address is None:
        address = alias[token] = token.strip(b"<>").lower()
    key = (day, address)
    row = acc.get(key)
    if row is None:
        row = acc[key] = [0, 0, 0, 0, 0, 0, None, None, None, None]
    return row


def _antispam_hit(m: re.Match[bytes], minute: int, once: Any) -> None:
    key = m[2] + b"/" + m[6]
    reason = m[8]
    i = reason.find(b"SpamAssassin=")
    if i >= 0:
        value = reason[i + 13 :].split(b",", 1)[0].strip()
        try:
            if float(value) != 0:
                once(key, "spamassasin", minute)
        except ValueError:
            pass
    name = ACTION_COUNTER.get(m[9].upper())
    if name is not None:
        once(key, name, minute)


def merge(into: Part, part: Part, *, compose: bool = False) -> None:
    """Add ``part`` (the bytes that follow ``into``'s, counted from a fresh state) to ``into``.

    Clock wrap: ``part`` started with no previous time; if ``into`` ended later in the day
    than ``part`` began (or had wrapped), ``part``'s hh:mm:ss minutes move on by those days.
    Once per session: a filter event ``part`` counted for a session that began in ``into``
    (an orphan) is taken back when ``into`` had already counted it; a thread that began a
    new session in ``part`` forgets what its old session counted. ``compose``: ``into``
    keeps ``part``'s new sessions and its orphans, so that it can itself be merged into an
    earlier part later (an archive's blocks; a file's merged part never is: it would
    hold every thread id of the day)."""
    shift = into["wrap"]
    if into["last_hm"] >= 0 and part["first_hm"] >= 0 and part["first_hm"] + 720 < into["last_hm"]:
        shift += 1
    if part["rfc"]:
        shift = 0
    counts = _shifted(part["counts"], shift)
    acc = part["acc"]
    if shift:
        acc = {(d + shift, a): row for (d, a), row in acc.items()}
    reset = part["reset"]
    if not isinstance(reset, set):
        reset = set(reset)  # from a helper: a list (marshal sorts a set's items, 10x slower)
    for key, name, minute in part["orphans"]:
        if name in into["seen"].get(key, ()):
            c = counts[name]
            c[minute + shift * 1440] -= 1
        elif compose and key not in into["reset"]:
            into["orphans"].append((key, name, minute + shift * 1440))
    for name, c in counts.items():
        dst = into["counts"].setdefault(name, {})
        for minute, v in c.items():
            dst[minute] = dst.get(minute, 0) + v
    for k, row in acc.items():
        merge_row(into["acc"], k, row)
    into_seen, part_seen = into["seen"], part["seen"]
    for key in into_seen.keys() & reset:
        if key not in part_seen:  # a new session of that thread, no filter event yet
            del into_seen[key]
    for key, names in part_seen.items():
        if key in reset:
            into_seen[key] = set(names)
        else:
            into_seen.setdefault(key, set()).update(names)
    if compose:
        into["reset"] |= reset
    into["starts"] += [(m + shift * 1440, ss) for m, ss in part["starts"]]
    if part["last_hm"] >= 0:
        into["last_hm"] = part["last_hm"]
        if into["first_hm"] < 0:
            into["first_hm"] = part["first_hm"]
    into["wrap"] = shift + part["wrap"] if not part["rfc"] else into["wrap"]
    into["rfc"] = into["rfc"] or part["rfc"]
    into["lines"] += part["lines"]


def merge_row(acc: dict[tuple[int, Any], list[Any]], key: tuple[int, Any], row: list[Any]) -> None:
    dst = acc.get(key)
    if dst is None:
        acc[key] = list(row)
        return
    for i in range(6):
        dst[i] += row[i]
    for i in (6, 7):
        if row[i] is not None and (dst[i] is None or row[i] > dst[i]):
            dst[i] = row[i]
    if row[8] is not None and (dst[8] is None or row[8] >= dst[8]):
        dst[8], dst[9] = row[8], row[9]


def _shifted(counts: dict[str, dict[int, int]], shift: int) -> dict[str, dict[int, int]]:
    if not shift:
        return {name: dict(c) for name, c in counts.items()}
    d = shift * 1440
    return {name: {m + d: v for m, v in c.items()} for name, c in counts.items()}


def trim_state(part: Part) -> dict[str, Any]:
    """What must survive between two ingests of one file: the clock and open sessions."""
    seen = part["seen"]
    keys = list(seen)[-SEEN_KEEP:]
    return {
        "wrap": part["wrap"],
        "last_hm": part["last_hm"],
        "seen": [[_txt(k), sorted(seen[k])] for k in keys],
    }


def _txt(key: Any) -> str:
    return key.decode("latin-1") if isinstance(key, bytes) else str(key)


def state_part(day: date, state: dict[str, Any] | None) -> Part:
    """An empty part carrying a file's saved state (the ``into`` of the next merge)."""
    state = state or {}
    part = new_part(day, int(state.get("wrap", 0)), int(state.get("last_hm", -1)))
    part["seen"] = {k.encode("latin-1"): set(v) for k, v in state.get("seen", [])}
    return part


def start_times(part: Part) -> list[str]:
    """The part's service start lines as ISO local times."""
    return [f"{minute_time(m)[:17]}{ss}" for m, ss in part["starts"]]


def accounts(part: Part) -> dict[tuple[str, str], list[Any]]:
    """The part's account rows as (ISO day, address) -> row with ISO ``last_*`` times."""
    out: dict[tuple[str, str], list[Any]] = {}
    for (day, address), row in part["acc"].items():
        iso = date.fromordinal(day).isoformat()
        r = list(row)
        for i in (6, 7, 8):
            if r[i] is not None:
                r[i] = f"{iso}T{r[i].decode('ascii', 'replace').zfill(8)}"
        out[(iso, address.decode("utf-8", "replace"))] = r
    return out
