"""One log line: ``<WHO> [<THREAD>] <TIME> <MESSAGE>`` (spec 5.2) and what it means (5.3).

Anything that does not have that shape is kept as a ``raw`` line, never dropped. Parsing
never raises. ``safe_text`` makes any line inert for a terminal (escape sequences and
other control characters are shown, not obeyed); markup is the renderer's business: the
TUI never interprets log text as markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from iwtui.data.codes import TARPIT_REASONS as REASONS
from iwtui.data.codes import Interpretation as Interpretation
from iwtui.data.codes import reply_table as reply_table
from iwtui.text import safe_text as safe_text  # the one sanitiser (iwtui.text)

_HEAD = re.compile(
    r"^(?P<who>\S+)\s+\[(?P<tid>[0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})\]\s+"
    r"(?:(?P<hms>\d{1,2}:\d\d:\d\d)(?:\.(?P<ms>\d{1,3}))?"
    r"|(?P<rfc>[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d(?: [+-]\d{4})?))"
    r"(?: (?P<msg>.*))?$"
)
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
)}  # fmt: skip
_DURATION = re.compile(r"^(\d+):(\d\d):(\d\d)$")
_ANTISPAM = re.compile(
    r"^(?P<mid>\S+) '<?(?P<sender>[^']*?)>?' '<?(?P<rcpt>[^']*?)>?' (?P<count>\d+) "
    r"score (?P<score>-?\d+(?:\.\d+)?) reason (?P<reason>\[[^\]]*\]) action (?P<action>\S+)"
)
_REPORT = re.compile(r"^(\d+(?:\.\d+)?) (\d+) (\d+) (\d+) (\d+)\s*$")
_TARPIT = re.compile(
    r"^Intrusion prevention: IP blocked \((?P<reason>\w)\)(?:, expires (?P<exp>\S+))?"
)
_REPLY = re.compile(
    r"^(?P<code>[2-5]\d\d)(?:[ -](?P<enh>[2-5]\.\d{1,3}\.\d{1,3}))?(?:[ -](?P<text>.*))?$"
)
_LOGIN = re.compile(r"^User (?P<account>\S+) logged in")
_LOGIN_FAILED = re.compile(r"^Authentication failed for (?P<account>\S+)")

# Summary results other than OK (spec 5.3, the Log Analyzer classes).
RESULTS = {"OK", "TARP", "ANA", "UNK", "SDME", "SCAN", "AV", "DNSBL", "DBF", "WDNR", "ERROR",
           "AS", "CA", "CNC", "INCPLT", "GRLST"}  # fmt: skip


@dataclass
class LogLine:
    raw: str
    who: str = ""
    thread: str = ""
    time: datetime | None = None
    direction: str = ""  # "<<<" peer -> server (or remote -> us in a client session), ">>>"
    client: bool = False  # a "Client session" line: IceWarp is the sender
    message: str = ""
    kind: str = "raw"
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def parsed(self) -> bool:
        return self.kind != "raw"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "who": self.who or None,
            "thread": self.thread or None,
            "time": self.time.isoformat() if self.time else None,
            "direction": self.direction or None,
            "client": self.client,
            "kind": self.kind,
            "message": self.message if self.kind != "raw" else self.raw,
        }
        for key, value in self.fields.items():
            if isinstance(value, Interpretation):
                value = value.__dict__
            out[key] = value
        return out


def interpret(code: str, enhanced: str, text: str) -> Interpretation | None:
    """The seed's explanation for an SMTP reply, or None. The phrase decides among
    entries of the same code; an entry with the same enhanced code wins a tie."""
    folded = text.casefold()
    best: tuple[int, Interpretation] | None = None
    for row in reply_table():
        if row.phrase.casefold() not in folded:
            continue
        # 452 4.2.2 is the temporary twin of 552 5.2.2: same cause, same remedy.
        twin = row.code[1:] == code[1:] and row.enhanced[1:] == enhanced[1:]
        if row.code and code and row.code != code and not twin:
            continue
        score = len(row.phrase) + (50 if enhanced and row.enhanced[1:] == enhanced[1:] else 0)
        score += 10 if row.code == code else 0
        if best is None or score > best[0]:
            best = (score, row)
    return best[1] if best else None


def _rfc822(text: str) -> datetime | None:
    try:
        _dow, rest = text.split(", ", 1)
        parts = rest.split(" ")
        day, mon, year, hms = int(parts[0]), _MONTHS[parts[1]], int(parts[2]), parts[3]
        h, m, s = (int(x) for x in hms.split(":"))
        tz = None
        if len(parts) > 4:
            z = parts[4]
            sign = -1 if z[0] == "-" else 1
            tz = timezone(sign * timedelta(hours=int(z[1:3]), minutes=int(z[3:5])))
        return datetime(year, mon, day, h, m, s, tzinfo=tz)
    except (ValueError, KeyError, IndexError):
        return None


def parse_duration(text: str) -> int | None:
    m = _DURATION.match(text)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3)) if m else None


def parse_summary(msg: str) -> dict[str, Any] | None:
    """``*** <sender> <rcpt>... <count> <size> <hh:mm:ss> <RESULT> [<msgid>]``, from the right."""
    tokens = msg[4:].split()
    dur_at = next((i for i in range(len(tokens) - 1, 2, -1) if _DURATION.match(tokens[i])), None)
    if dur_at is None or dur_at + 1 >= len(tokens) or dur_at < 3:
        return None
    count, size = tokens[dur_at - 2], tokens[dur_at - 1]
    if not (count.isdigit() and size.isdigit()):
        return None
    result = tokens[dur_at + 1]
    return {
        "sender": tokens[0].strip("<>"),
        "recipients": [t.strip("<>") for t in tokens[1 : dur_at - 2]],
        "count": int(count),
        "size": int(size),
        "duration_s": parse_duration(tokens[dur_at]),
        "result": result,
        "message_id": tokens[dur_at + 2] if dur_at + 2 < len(tokens) else None,
    }


def _reason_map(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.strip("[]").split(","):
        key, sep, value = part.partition("=")
        if key.strip():
            out[key.strip()] = value.strip() if sep else ""
    return out


def parse_line(raw: str, day: date | None = None) -> LogLine:
    """Parse one line (without its newline). ``day`` dates ``hh:mm:ss`` times."""
    m = _HEAD.match(raw)
    if m is None:
        return LogLine(raw=raw, message=raw)
    line = LogLine(raw=raw, who=m.group("who"), thread=m.group("tid").upper(), kind="line")
    if m.group("hms"):
        h, mi, s = (int(x) for x in m.group("hms").split(":"))
        if day is not None and h < 24 and mi < 60 and s < 60:
            ms = int((m.group("ms") or "0").ljust(3, "0"))
            line.time = datetime.combine(day, time(h, mi, s, ms * 1000))
    else:
        line.time = _rfc822(m.group("rfc"))
    msg = m.group("msg") or ""
    if msg.startswith("Client session"):
        line.client = True
        msg = msg[len("Client session") :].lstrip()
    if msg.startswith(("<<< ", ">>> ")) or msg in ("<<<", ">>>"):
        line.direction, msg = msg[:3], msg[4:]
    line.message = msg
    _classify(line)
    return line


def _classify(line: LogLine) -> None:
    msg = line.message
    f = line.fields
    if line.direction:
        # A reply is what the server says (>>>) or, in a client session, what the remote says (<<<).
        replying = (line.direction == ">>>") != line.client
        r = _REPLY.match(msg) if replying else None
        if r:
            code, enh, text = r.group("code"), r.group("enh") or "", r.group("text") or ""
            line.kind = "greylist" if "greylist" in text.casefold() else "reply"
            f.update({"code": int(code), "enhanced": enh or None, "text": text})
            if code[0] in "45":
                it = interpret(code, enh, text)
                if it is not None:
                    f["interpretation"] = it
        return
    if msg in ("Connected", "Disconnected") or msg.startswith("Connecting to "):
        line.kind = "disconnect" if msg == "Disconnected" else "connect"
    elif msg.startswith("*** "):
        s = parse_summary(msg)
        if s is not None:
            line.kind = "summary"
            f.update(s)
    elif line.who == "Challenge":
        r = _REPORT.match(msg)
        if r:
            line.kind = "report"
            f.update({"run_s": float(r.group(1)), "active_accounts": int(r.group(2)),
                      "spam_admins": int(r.group(3)), "spam_items": int(r.group(4)),
                      "quarantine_items": int(r.group(5))})  # fmt: skip
    elif (a := _ANTISPAM.match(msg)) is not None:
        line.kind = "antispam"
        f.update({
            "message_id": a.group("mid"), "sender": a.group("sender"), "recipient": a.group("rcpt"),
            "count": int(a.group("count")), "score": float(a.group("score")),
            "reason": _reason_map(a.group("reason")), "action": a.group("action"),
        })  # fmt: skip
    elif (t := _TARPIT.match(msg)) is not None:
        line.kind = "tarpit"
        reason = t.group("reason").upper()
        f.update({"ip": line.who, "reason": reason, "reason_text": REASONS.get(reason, "unknown"),
                  "expires": t.group("exp")})  # fmt: skip
    elif (lg := _LOGIN.match(msg)) is not None:
        line.kind = "login"
        f["account"] = lg.group("account")
    elif (lf := _LOGIN_FAILED.match(msg)) is not None:
        line.kind = "login_failed"
        f["account"] = lf.group("account")
    elif msg.startswith(("Could not connect", "... while issuing MX query", "Could not resolve")):
        line.kind = "failure"
        it = interpret("", "", msg)
        if it is not None:
            f["interpretation"] = it
    elif msg.startswith("Forwarded mails older than"):
        line.kind = "forward"
