"""The raw path of the bulk parser and its fallbacks.

With the raw option every line is read and kept whole, for ``lg_Log`` (a session's lines,
zlib-compressed); lines are cut by slicing, not by regex. Summaries (``***`` lines) are
split by their plain shape on both paths, and a summary of any other shape falls back to
the logs engine's own ``parse_summary``.

The default fast path (one regex over whole blocks) is :mod:`iwtui.analyzer.scan_fast`;
sessions, rows and rollups are in :mod:`iwtui.analyzer.parse`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iwtui.icewarp.logs.lines import parse_summary

if TYPE_CHECKING:
    from iwtui.analyzer.parse import SessionParser

_CS = "Client session "

# (sender, recipients, size, duration in seconds, result, message id)
Summary = tuple[str, list[str], int, int, str, str | None]


def _who(line: str, bracket: int) -> str:
    return line[:bracket].strip()


def feed(p: SessionParser, text: str) -> None:
    """Every line of ``text`` (whole lines; the last may lack its newline), kept whole."""
    open_ = p.open
    new = p.Session
    close = p.close
    smtp = p.service == "smtp"
    middle = not p.first  # what a stitch needs, as scan_fast.feed notes it
    seen = p.seen
    n = 0
    for line in text.split("\n"):
        n += 1
        b = line.find("[", 0, 80)
        if b < 0:
            continue
        if line[b + 5 : b + 6] == "]":
            e = b + 5
        elif line[b + 9 : b + 10] == "]":
            e = b + 9
        else:
            continue
        tid = line[b + 1 : e]
        p_ = e + 2
        if line[p_ + 2 : p_ + 3] == ":":
            hms = line[p_ : p_ + 8]
            q = p_ + 8
        elif line[p_ + 1 : p_ + 2] == ":":
            hms = "0" + line[p_ : p_ + 7]
            q = p_ + 7
        else:  # RFC 822: Thu, 22 Apr 2004 22:01:42 +0200
            c = line.find(":", p_, p_ + 40)
            if c < 2 or line[p_ + 3 : p_ + 4] != ",":
                continue
            hms = line[c - 2 : c + 6]
            if hms[:1] == " ":  # a one-digit hour, as the fast path reads it
                hms = "0" + hms[1:]
            q = c + 6
            if line[q + 1 : q + 2] in ("+", "-"):
                q += 6
        if line[q : q + 1] == ".":
            q += 4
        msg = line[q + 1 :]
        client = False
        if msg.startswith(_CS):
            client = True
            msg = msg[15:]
        c0 = msg[:1]
        s = open_.get(tid)
        if c0 == "C" and (msg == "Connected" or msg.startswith("Connecting to ")):
            if s is not None:
                close(s, cut=False)
            elif middle and tid not in seen:
                seen.add(tid)
                p.fresh.append(tid)
            who = _who(line, b)
            s = open_[tid] = new(tid, hms, "" if who == "SYSTEM" else who, client, False)
            s.lines.append(line)
            continue
        if s is None:
            who = _who(line, b)
            if who == "SYSTEM" and msg != "Disconnected":
                if middle and tid not in seen:
                    p.pending.setdefault(tid, []).append(line.encode("utf-8", "replace"))
                continue
            if middle:
                seen.add(tid)
            s = open_[tid] = new(tid, hms, "" if who == "SYSTEM" else who, client, True)
        s.lines.append(line)
        s.last = hms
        if c0 == "<":
            if s.client:
                if msg[4:5] in ("4", "5"):
                    s.replies.append((hms, msg[4:]))
            else:
                cmd = msg[4:8].upper()
                if cmd == "EHLO" or cmd == "HELO":
                    s.helo = msg[9:].split(" ", 1)[0]
                elif cmd == "STAR":
                    s.tls = 1
                elif cmd == "AUTH":
                    s.auth = 1
                elif cmd == "MAIL":
                    s.mail = msg
                elif cmd == "RCPT":
                    s.rcpt = s.rcpt or msg
                elif cmd == "USER" and not smtp:
                    s.account = msg[9:].strip()
        elif c0 == ">":
            if not s.client and msg[4:5] in ("4", "5"):
                s.replies.append((hms, msg[4:]))
        elif c0 == "*":
            if msg.startswith("*** "):
                s.sums.append((hms, msg))
        elif c0 == "D":
            if msg == "Disconnected":
                close(s, cut=False)
        elif c0 == "T":
            if msg.startswith("TLS connection"):
                s.tls = 1
        elif c0 == "I":
            if msg.startswith("Intrusion prevention"):
                s.replies.append((hms, msg))
        elif c0 == "A":
            if msg.startswith("Authentication failed for "):
                s.failed = True
                s.account = msg[26:].strip()
                if smtp:
                    s.replies.append((hms, msg))
        elif c0 == "U":
            if msg.startswith("User ") and msg.endswith(" logged in"):
                s.account = msg[5:-10].strip()
        elif (c0 == "C" or c0 == ".") and msg.startswith(("Could not", "... while issuing")):
            s.replies.append((hms, msg))
    p.lines += n - (1 if text.endswith("\n") else 0)


def summary(msg: str) -> Summary | None:
    """A ``***`` summary's fields: by its plain shape, else through ``parse_summary``."""
    fast = plain_summary(msg)
    if fast is not None:
        return fast
    p = parse_summary(msg)
    if p is None:
        return None
    return (p["sender"], p["recipients"], int(p["size"]), int(p["duration_s"] or 0),
            str(p["result"]), p["message_id"])  # fmt: skip


def plain_summary(msg: str) -> Summary | None:
    """``*** <s> <r>... n size hh:mm:ss RESULT [msgid]`` when it has the plain shape."""
    t = msg[4:].split(" ")
    n = len(t)
    if n < 6:
        return None
    d = t[-2]
    if len(d) == 8 and d[2] == ":":
        result, mid = t[-1], None
        size, count, last_rcpt = t[-3], t[-4], n - 4
    else:
        d = t[-3]
        if len(d) != 8 or d[2] != ":":
            return None
        result, mid = t[-2], t[-1]
        size, count, last_rcpt = t[-4], t[-5], n - 5
    first = t[0]
    if not (size.isdigit() and count.isdigit() and first[:1] == "<"):
        return None
    rcpts = [t[1].strip("<>")] if last_rcpt == 2 else [x.strip("<>") for x in t[1:last_rcpt]]
    dur = _DURATIONS.get(d)
    if dur is None:
        try:
            dur = int(d[:2]) * 3600 + int(d[3:5]) * 60 + int(d[6:8])
        except ValueError:
            return None
        if len(_DURATIONS) < 100_000:
            _DURATIONS[d] = dur
    return first.strip("<>"), rcpts, int(size), dur, result, mid


_DURATIONS: dict[str, int] = {}  # "hh:mm:ss" -> seconds (a day's summaries repeat a few)
