"""Why a message waits in the retry queue (spec 5.4): the last failed delivery attempt.

IceWarp keeps no retry state in the queued file. Its SMTP log has the attempts: client
sessions whose ``***`` summary (sender, recipients, result) is not OK, preceded on the same
thread by the failure (a 4xx/5xx reply of the remote server, "Could not connect...", a DNS
failure). One filtered pass over the last days of SMTP log gives, per (sender, recipient),
the newest failure; the retry queue is then grouped by the failure's normalised text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from iwtui.icewarp.logs import catalog as catalog_mod
from iwtui.icewarp.logs.lines import interpret, parse_line
from iwtui.icewarp.logs.search import Search, parse_filter
from iwtui.icewarp.messages import QueueItem

FILTER = (
    r"Client session;re:Client session (?:\*\*\* |<<< [45]\d\d|Could not|\.\.\. while|Connecting)"
)
_ADDR = re.compile(r"<?[\w.+-]+@[\w.-]+>?")
_QUOTED = re.compile(r"'[^']*'")
_NUM = re.compile(r"\b\d{4,}\b|\b\d+\.\d+\.\d+\.\d+\b")


@dataclass
class Deferral:
    sender: str
    recipient: str
    reason: str
    at: datetime | None
    thread: str

    @property
    def group(self) -> str:
        return normalise(self.reason)


def normalise(reason: str) -> str:
    """One text per kind of failure: the seed's phrase for known replies, else the
    failure with addresses, quoted hosts and long numbers blanked."""
    m = re.match(r"^(?:<<< )?([45]\d\d)(?:[ -]([45]\.\d{1,3}\.\d{1,3}))?[ -]?(.*)$", reason)
    if m:
        it = interpret(m.group(1), m.group(2) or "", m.group(3))
        if it is not None:
            return f"{m.group(1)} {m.group(2) or ''} {it.phrase}".replace("  ", " ")
    text = _QUOTED.sub("'…'", reason)
    text = _ADDR.sub("<…>", text)
    return _NUM.sub("#", text).strip()


def scan(
    log_dir: Path, *, days: int = 2, cancel: threading.Event | None = None
) -> dict[tuple[str, str], Deferral]:
    """The newest failed attempt per (sender, recipient), lower-cased, from the last
    ``days`` days of SMTP log."""
    cat = catalog_mod.scan(log_dir)
    out: dict[tuple[str, str], Deferral] = {}
    flt = parse_filter(FILTER)
    for d in reversed(cat.days_of("smtp")[:days]):
        for f in d.files:
            last_fail: dict[str, str] = {}
            try:
                with Search(f.path, flt) as s:
                    for chunk in s.chunks(cancel):
                        for m in chunk:
                            _feed(
                                parse_line(m.line.decode("utf-8", "replace").rstrip("\r"), d.day),
                                last_fail,
                                out,
                            )
            except OSError:
                continue
    return out


def _feed(line: object, last_fail: dict[str, str], out: dict[tuple[str, str], Deferral]) -> None:
    from iwtui.icewarp.logs.lines import LogLine

    assert isinstance(line, LogLine)
    tid = line.thread
    if not tid or not line.client:
        return
    k, f = line.kind, line.fields
    if k == "connect":
        last_fail.pop(tid, None)
    elif (k in ("reply", "greylist") and int(f.get("code") or 0) >= 400) or k == "failure":
        last_fail[tid] = line.message
    elif k == "summary":
        reason = last_fail.pop(tid, None)
        if f.get("result") == "OK":
            for r in f.get("recipients") or []:
                out.pop((str(f.get("sender", "")).lower(), str(r).lower()), None)
            return
        reason = reason or f"summary {f.get('result')}"
        for r in f.get("recipients") or []:
            out[(str(f.get("sender", "")).lower(), str(r).lower())] = Deferral(
                str(f.get("sender", "")), str(r), reason, line.time, tid
            )


def attach(items: Iterable[QueueItem], deferrals: dict[tuple[str, str], Deferral]) -> None:
    """Set ``last_error`` of each item from its newest failed attempt, if any."""
    for item in items:
        best: Deferral | None = None
        for r in item.recipients:
            d = deferrals.get((item.sender.lower(), r.lower()))
            if d is not None and (
                best is None or (d.at or datetime.min) > (best.at or datetime.min)
            ):
                best = d
        item.last_error = best.reason if best else None


@dataclass
class ReasonGroup:
    reason: str
    count: int = 0
    oldest: float = 0.0  # queued_at of the oldest item
    ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        from iwtui.icewarp.messages import _iso

        return {
            "reason": self.reason,
            "count": self.count,
            "oldest_queued_at": _iso(self.oldest),
            "ids": self.ids,
        }


def group(items: Iterable[QueueItem]) -> list[ReasonGroup]:
    """Retry items by normalised last error (no error known: its own group), biggest first."""
    groups: dict[str, ReasonGroup] = {}
    for item in items:
        reason = normalise(item.last_error) if item.last_error else "(no failed attempt in the log)"
        g = groups.setdefault(reason, ReasonGroup(reason, oldest=item.queued_at))
        g.count += 1
        g.oldest = min(g.oldest, item.queued_at)
        g.ids.append(item.id)
    return sorted(groups.values(), key=lambda g: (-g.count, g.oldest))
