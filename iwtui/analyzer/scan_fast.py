"""The fast path of the bulk parser (the default, without the raw option).

One regex, run over a whole block of bytes (never decoded as a whole), finds only the lines
that feed a column (with or without ``Client session``); every other line is skipped inside
the regex engine, never touched by Python. Only what a row keeps is decoded, when the
session ends (:func:`decode`). A session keeps its matches (for stitching across range
edges), not all of its lines. The line shape is spec 5.2 (``<WHO> [<THREAD>] <TIME>
<MESSAGE>``, ``hh:mm:ss[.mmm]`` or RFC 822 time), as read by :mod:`iwtui.icewarp.logs.lines`.

The raw path (every line kept whole for ``lg_Log``) and the summary fallback are in
:mod:`iwtui.analyzer.scan_raw`; sessions, rows and rollups in :mod:`iwtui.analyzer.parse`.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iwtui.analyzer.parse import SessionParser

# Possessive quantifiers (``?+``, ``{1,2}+``): once the time and ``Client session`` are
# read they are never given back (giving them back cannot make a line match: no kind
# starts with a digit, ``+``, ``-`` or ``Client``), so a line that is not of interest
# fails at once instead of being tried again every shorter way (0.23 -> 0.18 s per 40 MB).
INTEREST = re.compile(
    rb"\[([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})\] (?:[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} )?+"
    rb"(\d{1,2}+:\d\d:\d\d)(?:\.\d{1,3}+)?+(?: [+-]\d{4})?+ (Client session )?+"
    rb"(Connected|Connecting to |Disconnected|<<< (?:EHLO|HELO|STARTTLS|AUTH|MAIL|RCPT|USER)"
    rb"|>>> [45]|<<< [45]|\*\*\* |TLS conn|Intrusion prevention|Authentication failed for "
    rb"|User |Could not|\.\.\. while issuing)([^\n]*)"
)
# A record as a line holds it: the peer (everything before the line's first ``[``), then
# INTEREST at that ``[``; text shaped like a record further in a line (an address in a
# reply, a subject) is part of that line, never an event of its own. ``LINE`` finds them
# behind a newline (the regex skips to newlines); ``FIRST`` reads a block's first line.
LINE = re.compile(rb"\n([^\[\n]*+)" + INTEREST.pattern)
FIRST = re.compile(rb"([^\[\n]*+)" + INTEREST.pattern)
# The same language without possessive quantifiers (what the one above must equal).
REFERENCE = (
    rb"\[([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})\] (?:[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} )?"
    rb"(\d{1,2}:\d\d:\d\d)(?:\.\d{1,3})?(?: [+-]\d{4})? (Client session )?"
    rb"(Connected|Connecting to |Disconnected|<<< (?:EHLO|HELO|STARTTLS|AUTH|MAIL|RCPT|USER)"
    rb"|>>> [45]|<<< [45]|\*\*\* |TLS conn|Intrusion prevention|Authentication failed for "
    rb"|User |Could not|\.\.\. while issuing)([^\n]*)"
)

# the kind group -> a small code; the dispatch below tests the most frequent first
_CONNECT, _DISC, _SUM = 0, 1, 2
# commands of the peer and our refusals, read in server sessions only
_RCPT, _HELO, _MAIL, _STARTTLS, _AUTH, _REPLY45 = 3, 4, 5, 6, 7, 8
_TLSCONN, _PEER45, _USER_CMD, _INTRUSION, _AUTH_FAILED, _USER, _FAILURE = range(9, 16)
KINDS: dict[bytes, int] = {
    b"Connected": _CONNECT,
    b"Connecting to ": _CONNECT,
    b"Disconnected": _DISC,
    b"*** ": _SUM,
    b"<<< RCPT": _RCPT,
    b"<<< EHLO": _HELO,
    b"<<< HELO": _HELO,
    b"<<< MAIL": _MAIL,
    b"<<< STARTTLS": _STARTTLS,
    b"<<< AUTH": _AUTH,
    b">>> 4": _REPLY45,
    b">>> 5": _REPLY45,
    b"TLS conn": _TLSCONN,
    b"<<< 4": _PEER45,
    b"<<< 5": _PEER45,
    b"<<< USER": _USER_CMD,
    b"Intrusion prevention": _INTRUSION,
    b"Authentication failed for ": _AUTH_FAILED,
    b"User ": _USER,
    b"Could not": _FAILURE,
    b"... while issuing": _FAILURE,
}


def feed(p: SessionParser, data: bytes, end: int) -> None:
    """Whole lines of ``data[:end]`` (the last may lack its newline) into ``p``'s sessions."""
    open_ = p.open
    new = p.Session
    close = p.close
    kinds = KINDS
    smtp = p.service == "smtp"
    # a range that does not start the day notes, per thread, what a stitch needs
    # (SessionParser.tails, fresh, pending): only where a session opens, never per line
    middle = not p.first
    seen = p.seen
    p.lines += data.count(b"\n", 0, end) + (0 if not end or data[end - 1] == 10 else 1)
    first = FIRST.match(data, 0, end)
    matches = LINE.finditer(data, 0, end)
    if first is not None:
        matches = itertools.chain((first,), matches)
    for m in matches:
        # a line is ``<ip> [<tid>] <time> ...`` (spec), matched from its start
        who, tid, hms, cs, kind, rest = m.groups()
        if len(hms) == 7:
            hms = b"0" + hms
        s = open_.get(tid)
        k = kinds[kind]
        if k == _CONNECT:
            if s is not None:
                close(s, cut=False)
            elif middle and tid not in seen:
                seen.add(tid)
                p.fresh.append(tid)
            who = who.strip()
            ip = "" if who == b"SYSTEM" else who.decode("utf-8", "replace")
            s = open_[tid] = new(tid, hms, ip, cs is not None, False)
            s.who = who
            s.lines.append(m)
            continue
        if s is None:
            who = who.strip()
            if who == b"SYSTEM" and k != _DISC:
                if middle and tid not in seen:
                    p.pending.setdefault(tid, []).append(data[m.start(1) : m.end()])
                continue
            if middle:
                seen.add(tid)
            ip = "" if who in (b"SYSTEM", b"-") else who.decode("utf-8", "replace")
            s = open_[tid] = new(tid, hms, ip, cs is not None, True)
            s.who = who
        s.lines.append(m)
        s.last = hms
        if k == _DISC:
            close(s, cut=False)
        elif k == _SUM:
            s.sums.append((hms, kind + rest))
        elif k <= _REPLY45:  # the peer's commands and our refusals: server sessions
            if s.client:
                pass
            elif k == _RCPT:
                s.rcpt = s.rcpt or kind + rest
            elif k == _HELO:
                s.helo = rest[1:].split(b" ", 1)[0].decode("utf-8", "replace")
            elif k == _MAIL:
                s.mail = kind + rest
            elif k == _STARTTLS:
                s.tls = 1
            elif k == _REPLY45:
                s.replies.append((hms, kind[4:] + rest))
            else:  # AUTH
                s.auth = 1
        elif k == _TLSCONN:
            s.tls = 1
        elif k == _PEER45:  # the remote server's refusal: client sessions
            if s.client:
                s.replies.append((hms, kind[4:] + rest))
        elif k == _USER_CMD:
            if not s.client and not smtp:
                s.account = rest.strip()
        elif k in (_INTRUSION, _FAILURE):
            s.replies.append((hms, kind + rest))
        elif k == _AUTH_FAILED:
            s.failed = True
            s.account = rest.strip()
            if smtp:
                s.replies.append((hms, kind + rest))
        elif rest.endswith(b" logged in"):  # User
            s.account = rest[:-10].strip()
    # A match keeps its whole block alive: sessions still open when the block ends keep
    # their lines as bytes instead (a long session would hold many 8 MB blocks).
    for s in open_.values():
        lines = s.lines
        if lines and type(lines[-1]) is not bytes:
            s.lines = [x if type(x) is bytes else record(x) for x in lines]


def _text(b: Any) -> str:
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def decode(s: Any) -> None:
    """A session read by :func:`feed` as text, for its rows: what rows keep only."""
    if type(s.tid) is bytes:
        s.tid = s.tid.decode()
        s.start = s.start.decode()
        s.last = s.last.decode()
        if s.replies:
            s.replies = [(h.decode(), t.decode("utf-8", "replace")) for h, t in s.replies]
        if s.sums:
            s.sums = [(h.decode(), t.decode("utf-8", "replace")) for h, t in s.sums]
        if s.mail:
            s.mail = s.mail.decode("utf-8", "replace")
        if s.rcpt:
            s.rcpt = s.rcpt.decode("utf-8", "replace")
        if s.account:
            s.account = _text(s.account)


def partial(who: bytes, lines: list[Any]) -> list[bytes]:
    """A cut session's lines to parse again: the fast path keeps matches (or, past their
    block, the matched bytes) from their thread id on, so the peer of its first line goes
    back in front (what the session's first line decides is read again the same way; the
    later lines meet an open session, whatever their peer)."""
    who += b" "
    return [who + (m if type(m) is bytes else record(m)) for m in lines]


def record(m: re.Match[bytes]) -> bytes:
    """A match's record from its thread id's ``[`` to the line's end (no peer)."""
    return m.string[m.start(2) - 1 : m.end()]
