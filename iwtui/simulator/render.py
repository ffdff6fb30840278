"""Turning session events into log lines, one at a time or stamped from templates.

Big day logs are written from *templates*: a chunk of a few interleaved sessions rendered
once with ``%(name)s`` placeholders for thread ids, clock values, message ids and expiry
times, then stamped many times with ``template % mapping`` (one C-level pass per chunk).
That is what lets ``--log-mb 1000`` write a gigabyte in seconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from iwtui.simulator.sessions import MID, Event, Session, any_session

EXPIRY = "\x00E"
SERVICES = ("smtp", "pop3", "imap", "antispam", "flow", "performance")


def who_field(who: str, pad: bool) -> str:
    return f"{who:<15} " if pad else f"{who} "


def line(who: str, pad: bool, tid: str, clock: str, text: str) -> str:
    return f"{who_field(who, pad)}[{tid}] {clock} {text}\n"


class Clock:
    """Clock strings for one day: ``hh:mm:ss`` (default) or RFC 822 with a zone."""

    def __init__(self, day: date, fmt: str = "hms", zone: str = "+0100") -> None:
        self.day, self.fmt, self.zone = day, fmt, zone
        self._cache: list[str] | None = None

    def at(self, second: int) -> str:
        second = max(0, min(86399, second))
        if self._cache is None:
            self._cache = [self._format(s) for s in range(86400)]
        return self._cache[second]

    def _format(self, second: int) -> str:
        hms = f"{second // 3600:02d}:{second % 3600 // 60:02d}:{second % 60:02d}"
        if self.fmt == "hms":
            return hms
        return f"{self.day:%a, %d %b %Y} {hms} {self.zone}"

    def now(self, when: datetime) -> str:
        return self._format(when.hour * 3600 + when.minute * 60 + when.second)


def tid_text(n: int, digits: int) -> str:
    return f"{n & ((1 << (4 * digits)) - 1):0{digits}X}"


def message_id(n: int) -> str:
    """IceWarp-looking message ids: three letters and five digits (``YAR93710``)."""
    letters = n // 100000
    a, b, c = (letters // 676) % 26, (letters // 26) % 26, letters % 26
    return f"{chr(65 + a)}{chr(65 + b)}{chr(65 + c)}{n % 100000:05d}"


@dataclass(frozen=True)
class Template:
    texts: dict[str, str]  # service -> text with %(...)s placeholders
    slots: int  # sessions in the chunk (t0.., m0.., e0..)
    span: int  # largest offset used (s0..s<span>)
    smtp_bytes: int


def _escape(text: str) -> str:
    return text.replace("%", "%%")


def build_template(sessions: Sequence[Session], starts: Sequence[int]) -> Template:
    tagged: list[tuple[int, int, int, Event]] = []
    for k, (session, start) in enumerate(zip(sessions, starts, strict=True)):
        for seq, ev in enumerate(session.events):
            tagged.append((start + ev.offset, k, seq, ev))
    tagged.sort(key=lambda t: (t[0], t[1], t[2]))
    parts: dict[str, list[str]] = {}
    span = 0
    for off, k, _seq, ev in tagged:
        span = max(span, off)
        text = _escape(ev.text).replace(MID, f"%(m{k})s").replace(EXPIRY, f"%(e{k})s")
        parts.setdefault(ev.service, []).append(
            f"{_escape(who_field(ev.who, ev.pad))}[%(t{k})s] %(s{off})s {text}\n"
        )
    texts = {svc: "".join(lines) for svc, lines in parts.items()}
    # Bytes are estimated with 8-character clocks and 4-digit ids; good enough to size a day.
    sample = {f"t{k}": "0000" for k in range(len(sessions))}
    sample |= {f"m{k}": "AAA00000" for k in range(len(sessions))}
    sample |= {f"e{k}": "2026-01-01T00:00:00" for k in range(len(sessions))}
    sample |= {f"s{i}": "00:00:00" for i in range(span + 1)}
    smtp = len((texts.get("smtp", "") % sample).encode())
    return Template(texts, len(sessions), span, smtp)


def build_templates(rng: random.Random, count: int, per_chunk: int = 6) -> list[Template]:
    out = []
    for _ in range(count):
        sessions = [any_session(rng) for _ in range(per_chunk)]
        starts = sorted(rng.randrange(0, 8) for _ in sessions)
        out.append(build_template(sessions, starts))
    return out


class Counters:
    """Thread ids and message ids handed out in order, so runs are reproducible."""

    def __init__(self, tid_digits: int = 4, tid: int = 0x1A00, mid: int = 17_000_000) -> None:
        self.tid_digits = tid_digits
        self.tid = tid
        self.mid = mid

    def next_tid(self) -> str:
        self.tid += 1
        return tid_text(self.tid, self.tid_digits)

    def next_mid(self) -> str:
        self.mid += 1
        return message_id(self.mid)


@dataclass(frozen=True)
class Special:
    """A line that must appear at a given second (queue correlation, tarpit blocks...)."""

    second: int
    service: str
    text: str  # a whole rendered line


def render_session(
    session: Session, start: datetime, clock: Clock, counters: Counters, expires: str = ""
) -> list[Special]:
    """A whole session as rendered lines at absolute seconds of ``clock``'s day."""
    tid = counters.next_tid()
    mid = counters.next_mid()
    base = start.hour * 3600 + start.minute * 60 + start.second
    out = []
    for ev in session.events:
        sec = min(86399, base + ev.offset)
        text = ev.text.replace(MID, mid).replace(EXPIRY, expires)
        out.append(Special(sec, ev.service, line(ev.who, ev.pad, tid, clock.at(sec), text)))
    return out


def stamp_day(
    templates: Sequence[Template],
    rng: random.Random,
    clock: Clock,
    first_second: int,
    last_second: int,
    smtp_bytes: int,
    counters: Counters,
    specials: Iterable[Special],
    write: dict[str, list[str]],
    flush: Callable[[dict[str, list[str]]], None] | None = None,
) -> None:
    """Fill ``write[service]`` with a day's lines between two seconds, about
    ``smtp_bytes`` of SMTP log, merging ``specials`` in time order. ``flush`` (a callable
    taking the dict) is called now and then so memory stays flat for huge days."""
    avg = max(1, sum(t.smtp_bytes for t in templates) // len(templates))
    chunks = max(1, smtp_bytes // avg)
    span_s = max(1, last_second - first_second)
    pending = sorted(specials, key=lambda s: s.second)
    pi = 0
    digits = counters.tid_digits
    tid, mid = counters.tid, counters.mid
    day_iso = clock.day.isoformat()
    at = clock.at
    for i in range(chunks):
        t_i = first_second + (i * span_s) // chunks
        t_next = first_second + ((i + 1) * span_s) // chunks
        while pi < len(pending) and pending[pi].second <= t_i:
            sp = pending[pi]
            write.setdefault(sp.service, []).append(sp.text)
            pi += 1
        tpl = templates[rng.randrange(len(templates))]
        mapping: dict[str, str] = {}
        for k in range(tpl.slots):
            tid += 1
            mid += 1
            mapping[f"t{k}"] = tid_text(tid, digits)
            mapping[f"m{k}"] = message_id(mid)
            exp = min(86399, t_i + 3600)
            mapping[f"e{k}"] = f"{day_iso}T{exp // 3600:02d}:{exp % 3600 // 60:02d}:{exp % 60:02d}"
        for s in range(tpl.span + 1):
            mapping[f"s{s}"] = at(min(t_i + s, t_next))
        for service, text in tpl.texts.items():
            write.setdefault(service, []).append(text % mapping)
        if flush is not None and i % 2000 == 1999:
            flush(write)
    for sp in pending[pi:]:
        write.setdefault(sp.service, []).append(sp.text)
    counters.tid, counters.mid = tid, mid


def day_seconds(day: date, now: datetime) -> tuple[int, int]:
    """The seconds of ``day`` that lie in the past of ``now``."""
    if day < now.date():
        return 0, 86399
    return 0, max(1, now.hour * 3600 + now.minute * 60 + now.second)


def start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def plus(day: date, seconds: int) -> datetime:
    return start_of(day) + timedelta(seconds=seconds)
