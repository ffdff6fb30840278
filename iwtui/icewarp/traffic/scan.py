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
from datetime import date, timedelta
from typing import Any

_TID = rb"\[([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})\] "
# groups 1-4: thread, RFC 822 date (empty for hh:mm:ss clocks), hh:mm, ss
_HMS = _TID + rb"()(\d{1,2}:\d\d):(\d\d)(?:\.\d{1,3})? "
_RFC = _TID + rb"[A-Z][a-z]{2}, (\d{1,2} [A-Z][a-z]{2} \d{4}) (\d\d:\d\d):(\d\d)(?: [+-]\d{4})? "
# 5 client, 6 Connected, 7-11 summary (sender, recipients, count, size, result),
# 12 any other summary, 13 login, 14 failed login, 15 intrusion prevention, 16 greylisting
_EVENTS = (
    rb"(?=[CUAI*]|>>> 4)(Client session )?"
    rb"(?:(Connected)(?=[\r\n,])"
    rb"|\*\*\* (\S+)((?: \S+)*) (\d+) (\d+) \d+:\d\d:\d\d (\S+)(?: \S+)?(?=\r?\n)"
    rb"|\*\*\* ([^\r\n]*)"
    rb"|User (\S+) logged in"
    rb"|Authentication failed for (\S+)"
    rb"|(Intrusion prevention: IP blocked)"
    rb"|>>> 4\d\d [^\r\n]*?([Gg]reylist)"
    rb"|((?:[A-Z0-9]{2,8} )?[Ss]ervice started))"
)
# 5 message id, 6 score, 7 reason, 8 action
_SPAM = rb"(\S+) '[^'\r\n]*' '[^'\r\n]*' \d+ score (-?\d+(?:\.\d+)?) reason \[([^\]\r\n]*)\] action (\S+)"
_SOURCES = {
    (False, False): _HMS + _EVENTS,
    (False, True): _RFC + _EVENTS,
    (True, False): _HMS + _SPAM,
    (True, True): _RFC + _SPAM,
}
_COMPILED: dict[tuple[bool, bool], re.Pattern[bytes]] = {}


def pattern(antispam: bool, rfc: bool) -> re.Pattern[bytes]:
    """The event pattern of a log kind and clock format (compiled on first use: a warm
    ``charts show`` never scans, and its start-up stays short)."""
    got = _COMPILED.get((antispam, rfc))
    if got is None:
        got = _COMPILED[(antispam, rfc)] = re.compile(_SOURCES[(antispam, rfc)])
    return got


_IS_RFC = re.compile(rb"\S+[ \t]+\[[0-9A-Fa-f]{4,8}\] [A-Z][a-z]{2}, ")
_WHO = re.compile(rb"(\S+)[ \t]+")
_DURATION = re.compile(rb"\d+:\d\d:\d\d")
_MONTHS = {m.encode(): i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
)}  # fmt: skip
HM: dict[bytes, int] = {
    f"{h:02d}:{m:02d}".encode(): h * 60 + m for h in range(24) for m in range(60)
}
HM.update({f"{h}:{m:02d}".encode(): h * 60 + m for h in range(10) for m in range(60)})

# Summary results of server sessions -> the filter counter they raise (once per session).
RESULT_FILTER = {
    b"AV": "msgvirus",
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
    if n >= 5 and _DURATION.fullmatch(t[-2]):
        d = n - 2
    elif n >= 6 and _DURATION.fullmatch(t[-3]):
        d = n - 3
    else:
        d = next((i for i in range(n - 2, 2, -1) if _DURATION.fullmatch(t[i])), -1)
        if d < 3:
            return None
    count, size = t[d - 2], t[d - 1]
    if not (count.isdigit() and size.isdigit()):
        return None
    return t[0], t[1 : d - 2], int(count), int(size), t[d + 1]


def _line_is_rfc(data: bytes, at: int, end: int) -> bool:
    return _IS_RFC.match(data, at, end) is not None


def _formats(data: bytes, start: int, end: int) -> list[bool]:
    """Which clock patterns to run over ``data[start:end]``: the first and last lines decide
    (a log uses one format; a block where they differ is read with both)."""
    last = data.rfind(b"\n", start, max(start, end - 1)) + 1
    first, final = _line_is_rfc(data, start, end), _line_is_rfc(data, max(last, start), end)
    return [first] if first == final else [False, True]


def scan(data: bytes, part: Part, *, antispam: bool = False, start: int = 0,
         end: int | None = None) -> Part:  # fmt: skip
    """Count the complete lines of ``data[start:end]`` into ``part`` (in place, returned)."""
    end = len(data) if end is None else end
    for rfc in _formats(data, start, end):
        _scan(data, part, pattern(antispam, rfc), antispam, start, end)
    return part


def _scan(data: bytes, part: Part, pattern: re.Pattern[bytes], antispam: bool, start: int,
          end: int) -> None:  # fmt: skip
    counts: dict[str, dict[int, int]] = part["counts"]
    seen: dict[Any, set[str]] = part["seen"]
    reset: set[Any] = part["reset"]
    orphans: list[tuple[Any, str, int]] = part["orphans"]
    acc: dict[tuple[int, bytes], list[Any]] = part["acc"]
    base = part["day"] * 1440
    wrap = part["wrap"]
    last_hm = part["last_hm"]
    first_hm = part["first_hm"]
    who_match = _WHO.fullmatch
    rfind = data.rfind
    hm_of = HM
    day_cache: dict[bytes, int] = {}
    alias: dict[bytes, bytes] = {}
    c_sconn = counts.setdefault("serverconn", {})
    c_cconn = counts.setdefault("clientconn", {})
    c_recv = counts.setdefault("msgreceived", {})
    c_din = counts.setdefault("serverdatain", {})

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

    c_sent = counts.setdefault("msgsent", {})
    c_dout = counts.setdefault("clientdataout", {})
    rfc = b"[A-Z][a-z]{2}, " in pattern.pattern
    prev_hm: bytes | None = None
    minute = dbase = 0
    for m in pattern.finditer(data, start, end):
        s = m.start()
        ls = rfind(b"\n", start, s) + 1 or start
        if who_match(data, ls, s) is None:
            continue
        hm_b = m.group(3)
        if rfc:
            hm = hm_of.get(hm_b, -1)
            dmy = m.group(2)
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
            _antispam_hit(m, m.group(1), minute, once)
            continue
        kind = m.lastindex
        if kind == 6:
            tid = m.group(1)
            if m.group(5) is None:
                c_sconn[minute] = c_sconn.get(minute, 0) + 1
            else:
                c_cconn[minute] = c_cconn.get(minute, 0) + 1
            seen.pop(tid, None)
            reset.add(tid)
            continue
        if kind == 11 or kind == 12:
            client = m.group(5) is not None
            if kind == 11:
                sender, rtext, count_b, size_b, result = m.group(7, 8, 9, 10, 11)
                rcpts = rtext.split() if result == b"OK" else []
                count, size = int(count_b), int(size_b)
            else:
                got = _summary(m.group(12))
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
                        once(m.group(1), name, minute)
                continue
            day = dbase // 1440
            if client:
                c_sent[minute] = c_sent.get(minute, 0) + 1
                c_dout[minute] = c_dout.get(minute, 0) + size
                n = len(rcpts) or count
                row = _row(acc, alias, day, sender)
                row[4] += n
                row[5] += n * size
                continue
            n = len(rcpts) or count
            c_recv[minute] = c_recv.get(minute, 0) + 1
            c_din[minute] = c_din.get(minute, 0) + size
            hms = hm_b + b":" + m.group(4)
            row = _row(acc, alias, day, sender)
            row[2] += n
            row[3] += n * size
            if row[6] is None or hms > row[6]:
                row[6] = hms
            for r in rcpts:
                row = _row(acc, alias, day, r)
                row[0] += 1
                row[1] += size
                if row[7] is None or hms > row[7]:
                    row[7] = hms
        elif kind == 13:
            add("logins", minute)
            w = who_match(data, ls, s)
            ip = w.group(1).decode("utf-8", "replace") if w is not None else ""
            hms = hm_b + b":" + m.group(4)
            row = _row(acc, alias, dbase // 1440, m.group(13))
            if row[8] is None or hms >= row[8]:
                row[8] = hms
                row[9] = ip
        elif kind == 14:
            add("loginsfailed", minute)
        elif kind == 15:
            once(m.group(1), "msgintrusionprevention", minute)
        elif kind == 16:
            once(m.group(1), "greylisting", minute)
    part["wrap"], part["last_hm"], part["first_hm"] = wrap, last_hm, first_hm
    if not antispam:
        _starts(data, part, pattern, start, end)
    for name in ("serverconn", "clientconn", "msgreceived", "serverdatain", "msgsent",
                 "clientdataout"):  # fmt: skip
        if not counts[name]:
            del counts[name]


_HEADS: dict[bytes, re.Pattern[bytes]] = {}


def _head(pattern: re.Pattern[bytes]) -> re.Pattern[bytes]:
    """The thread-and-clock prefix of an event pattern."""
    head = _HEADS.get(pattern.pattern)
    if head is None:
        text = pattern.pattern
        head = _HEADS[text] = re.compile(text[: text.index(b"(?=[CUAI*]")])
    return head


_START = re.compile(rb"(?:[A-Za-z0-9]{2,12} )?[Ss]ervice started")


def _starts(data: bytes, part: Part, pattern: re.Pattern[bytes], start: int, end: int) -> None:
    """Service start lines (``SMTP Service started``): rare, so found by a literal search."""
    head = _head(pattern)
    at = data.find(b"ervice started", start, end)
    while at >= 0:
        ls = data.rfind(b"\n", start, at) + 1 or start
        w = _WHO.match(data, ls)
        h = head.match(data, w.end()) if w is not None else None
        if h is not None and _START.match(data, h.end()) and h.group(3) in HM:
            dmy, hm_b, ss = h.group(2, 3, 4)
            # hh:mm:ss: the day of the part's clock at its end
            dbase = _rfc_day(dmy) if dmy else (part["day"] + part["wrap"]) * 1440
            if dbase >= 0:
                hm = HM[hm_b]
                day_iso = date.fromordinal(dbase // 1440).isoformat()
                part["starts"].append(f"{day_iso}T{hm // 60:02d}:{hm % 60:02d}:{ss.decode()}")
        at = data.find(b"ervice started", at + 14, end)


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


def _antispam_hit(m: re.Match[bytes], tid: bytes, minute: int, once: Any) -> None:
    key = tid + b"/" + m.group(5)
    reason = m.group(7)
    i = reason.find(b"SpamAssassin=")
    if i >= 0:
        value = reason[i + 13 :].split(b",", 1)[0].strip()
        try:
            if float(value) != 0:
                once(key, "spamassasin", minute)
        except ValueError:
            pass
    name = ACTION_COUNTER.get(m.group(8).upper())
    if name is not None:
        once(key, name, minute)


def merge(into: Part, part: Part) -> None:
    """Add ``part`` (the bytes that follow ``into``'s, counted from a fresh state) to ``into``.

    Clock wrap: ``part`` started with no previous time; if ``into`` ended later in the day
    than ``part`` began (or had wrapped), ``part``'s hh:mm:ss minutes move on by those days.
    Once per session: a filter event ``part`` counted for a session that began in ``into``
    (an orphan) is taken back when ``into`` had already counted it."""
    shift = into["wrap"]
    if into["last_hm"] >= 0 and part["first_hm"] >= 0 and part["first_hm"] + 720 < into["last_hm"]:
        shift += 1
    if part["rfc"]:
        shift = 0
    counts = _shifted(part["counts"], shift)
    acc = part["acc"]
    if shift:
        acc = {(d + shift, a): row for (d, a), row in acc.items()}
    for key, name, minute in part["orphans"]:
        if name in into["seen"].get(key, ()):
            c = counts[name]
            c[minute + shift * 1440] -= 1
    for name, c in counts.items():
        dst = into["counts"].setdefault(name, {})
        for minute, v in c.items():
            dst[minute] = dst.get(minute, 0) + v
    for k, row in acc.items():
        merge_row(into["acc"], k, row)
    for key, names in part["seen"].items():
        if key in part["reset"]:
            into["seen"][key] = set(names)
        else:
            into["seen"].setdefault(key, set()).update(names)
    into["starts"] += part["starts"]
    if part["last_hm"] >= 0:
        into["last_hm"] = part["last_hm"]
        if into["first_hm"] < 0:
            into["first_hm"] = part["first_hm"]
    into["wrap"] = shift + part["wrap"] if not part["rfc"] else into["wrap"]
    into["rfc"] = into["rfc"] or part["rfc"]
    into["lines"] += part["lines"]


def merge_row(acc: dict[tuple[int, str], list[Any]], key: tuple[int, str], row: list[Any]) -> None:
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


def minute_time(minute: int) -> str:
    """ISO local time of an absolute minute number (day ordinal * 1440 + minute of day)."""
    d = date.fromordinal(minute // 1440)
    hm = minute % 1440
    return f"{d.isoformat()}T{hm // 60:02d}:{hm % 60:02d}:00"


def day_of(minute: int) -> date:
    return date.fromordinal(minute // 1440)


def minute_of(d: date, hour: int = 0, minute: int = 0) -> int:
    return d.toordinal() * 1440 + hour * 60 + minute


def plus_days(d: date, n: int) -> date:
    return d + timedelta(days=n)


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
