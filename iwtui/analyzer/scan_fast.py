"""The fast path of the bulk parser (the default, without the raw option).

One regex, run over a whole block of text, finds only the lines that feed a column (with
or without ``Client session``); every other line is skipped inside the regex engine, never
touched by Python. A session keeps the matched lines (for stitching across range edges),
not all of its lines. The line shape is spec 5.2 (``<WHO> [<THREAD>] <TIME> <MESSAGE>``,
``hh:mm:ss[.mmm]`` or RFC 822 time), as read by :mod:`iwtui.icewarp.logs.lines`.

The raw path (every line kept whole for ``lg_Log``) and the summary fallback are in
:mod:`iwtui.analyzer.scan_raw`; sessions, rows and rollups in :mod:`iwtui.analyzer.parse`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iwtui.analyzer.parse import SessionParser

INTEREST = re.compile(
    r"\[([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})\] (?:[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} )?"
    r"(\d{1,2}:\d\d:\d\d)(?:\.\d{1,3})?(?: [+-]\d{4})? (Client session )?"
    r"(Connected|Connecting to |Disconnected|<<< (?:EHLO|HELO|STARTTLS|AUTH|MAIL|RCPT|USER)"
    r"|>>> [45]|<<< [45]|\*\*\* |TLS conn|Intrusion prevention|Authentication failed for "
    r"|User |Could not|\.\.\. while issuing)([^\n]*)"
)


def feed(p: SessionParser, text: str) -> None:
    """Whole lines of ``text`` (the last may lack its newline) into ``p``'s sessions."""
    open_ = p.open
    new = p.Session
    close = p.close
    smtp = p.service == "smtp"
    p.lines += text.count("\n") + (0 if not text or text.endswith("\n") else 1)
    for m in INTEREST.finditer(text):
        tid, hms, cs, kind, rest = m.groups()
        if len(hms) == 7:
            hms = "0" + hms
        s = open_.get(tid)
        k0 = kind[0]
        if k0 == "C" and kind[1] == "o" and kind[2] == "n":
            if s is not None:
                close(s, cut=False)
            at = m.start()
            who = text[text.rfind("\n", 0, at) + 1 : at].strip()
            s = open_[tid] = new(tid, hms, "" if who == "SYSTEM" else who, bool(cs), False)
            s.lines.append(m.group(0))
            continue
        if s is None:
            at = m.start()
            who = text[text.rfind("\n", 0, at) + 1 : at].strip()
            if who == "SYSTEM" and kind != "Disconnected":
                continue
            ip = "" if who in ("SYSTEM", "-") else who
            s = open_[tid] = new(tid, hms, ip, bool(cs), True)
        s.lines.append(m.group(0))
        s.last = hms
        if k0 == "<":
            if s.client:
                if kind[4] in "45":
                    s.replies.append((hms, kind[4:] + rest))
            else:
                c = kind[4]
                if c == "E" or c == "H":
                    s.helo = rest[1:].split(" ", 1)[0]
                elif c == "S":
                    s.tls = 1
                elif c == "A":
                    s.auth = 1
                elif c == "M":
                    s.mail = kind + rest
                elif c == "R":
                    s.rcpt = s.rcpt or kind + rest
                elif c == "U" and not smtp:
                    s.account = rest.strip()
        elif k0 == ">":
            if not s.client:
                s.replies.append((hms, kind[4:] + rest))
        elif k0 == "*":
            s.sums.append((hms, kind + rest))
        elif k0 == "D":
            close(s, cut=False)
        elif k0 == "T":
            s.tls = 1
        elif k0 == "I":
            s.replies.append((hms, kind + rest))
        elif k0 == "A":
            s.failed = True
            s.account = rest.strip()
            if smtp:
                s.replies.append((hms, kind + rest))
        elif k0 == "U":
            if rest.endswith(" logged in"):
                s.account = rest[:-10].strip()
        else:  # Could not..., ... while issuing
            s.replies.append((hms, kind + rest))


def partial(ip: str, lines: list[str]) -> list[str]:
    """A cut session's lines to parse again: the fast path keeps lines from their thread id
    on, so the peer goes back in front."""
    return [f"{ip or '-'} {ln}" for ln in lines]
