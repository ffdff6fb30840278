"""Why a message waits in the retry queue (spec 5.4): the last failed delivery attempt.

IceWarp keeps no retry state in the queued file. Its SMTP log has the attempts: client
sessions whose ``***`` summary (sender, recipients, result) is not OK, preceded on the same
thread by the failure (a 4xx/5xx reply of the remote server, "Could not connect...", a DNS
failure). One filtered pass over the last days of SMTP log gives, per (sender, recipient),
the newest failure; the retry queue is then grouped by the failure's normalised text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from iwtui.icewarp.logs import catalog as catalog_mod
from iwtui.icewarp.logs.index import open_log
from iwtui.icewarp.logs.lines import interpret, parse_line, parse_summary
from iwtui.icewarp.queue.messages import QueueItem

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
    for d in reversed(cat.days_of("smtp")[:days]):
        for f in d.files:
            try:
                _scan_file(f.path, d.day, out, cancel)
            except OSError:
                continue
    return out


# The client-session lines that matter: a connection (a new session on the thread), a
# 4xx/5xx reply of the remote server, a failure to connect or resolve, the summary.
_WANTED = re.compile(rb"Client session (?:Connect|\*\*\* |<<< [45]\d\d|Could not|\.\.\. while)")
_TID = re.compile(rb"\[([0-9A-Fa-f]+)\]")
_OK = re.compile(rb" \d+:\d\d:\d\d OK(?: |$)")  # the result of a summary, after its duration
_FAILURES = (b"Could not connect", b"... while issuing MX query", b"Could not resolve")
BLOCK = 8 << 20


def _wanted_lines(path: Path, cancel: threading.Event | None) -> Iterator[bytes]:
    """The wanted lines of a log file, found with one regex over 8 MiB blocks (a literal
    prefix: the engine skips to each "Client session" at memchr speed). Reading 1 GB of
    SMTP log this way takes ~4 s, where parsing every line took 25 s. A last line
    without its newline is pending. The file is opened by the logs engine (a FIFO, a
    device or a link is refused at once); a "line" longer than a block is no log line
    and is dropped rather than kept growing (a file of NULs cannot exhaust memory)."""
    fd, _st = open_log(path)
    with os.fdopen(fd, "rb") as fh:
        rest = b""
        while chunk := fh.read(BLOCK):
            if cancel is not None and cancel.is_set():
                return
            buf = rest + chunk
            cut = buf.rfind(b"\n") + 1
            rest = buf[cut:] if len(buf) - cut <= BLOCK else b""
            for m in _WANTED.finditer(buf, 0, cut):
                start = buf.rfind(b"\n", 0, m.start()) + 1
                yield buf[start : buf.find(b"\n", m.end())]


def _scan_file(
    path: Path,
    day: date,
    out: dict[tuple[str, str], Deferral],
    cancel: threading.Event | None = None,
) -> None:
    last_fail: dict[bytes, bytes] = {}  # thread -> the failure of its current session
    failed_senders = {sender for sender, _r in out}
    for raw in _wanted_lines(path, cancel):  # kept as bytes: decoded only when used
        at = raw.find(b"Client session ")
        m = _TID.search(raw, 0, at)
        if m is None:
            continue
        tid, msg = m.group(1).upper(), raw[at + 15 :].rstrip(b"\r")
        if msg.startswith(b"Connect"):
            last_fail.pop(tid, None)
        elif msg.startswith(b"<<< "):
            last_fail[tid] = msg[4:]
        elif msg.startswith(_FAILURES):
            last_fail[tid] = msg
        elif msg.startswith(b"*** "):
            ok = _OK.search(msg)
            if ok is not None:  # delivered (most summaries): forget those failures
                last_fail.pop(tid, None)
                head = msg[4 : ok.start()].split()  # <sender> <rcpt>... count size
                sender_l = _text(head[0].strip(b"<>")).lower() if len(head) > 2 else ""
                if sender_l in failed_senders:
                    for r in head[1:-2]:
                        out.pop((sender_l, _text(r.strip(b"<>")).lower()), None)
                continue
            s = parse_summary(_text(msg))
            if s is None:
                continue
            reason = last_fail.pop(tid, None)
            sender = str(s["sender"])
            if s["result"] == "OK":  # an odd-looking summary of a delivery
                for r in s["recipients"]:
                    out.pop((sender.lower(), str(r).lower()), None)
                continue
            failed_senders.add(sender.lower())
            text = _text(raw).rstrip("\r")
            when = parse_line(text, day).time  # a failed attempt (few): its time
            why = _text(reason) if reason is not None else f"summary {s['result']}"
            for r in s["recipients"]:
                out[(sender.lower(), str(r).lower())] = Deferral(sender, str(r), why, when, tid.decode())  # fmt: skip


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _stamp(d: Deferral) -> float:
    """When, comparable whether the log wrote local (naive) or RFC 822 (aware) times."""
    return d.at.timestamp() if d.at is not None else float("-inf")


def attach(items: Iterable[QueueItem], deferrals: dict[tuple[str, str], Deferral]) -> None:
    """Set ``last_error`` of each item from its newest failed attempt, if any."""
    for item in items:
        item.last_error = last_error(item.sender, item.recipients, deferrals)


def last_error(sender: str, recipients: Iterable[str],
               deferrals: dict[tuple[str, str], Deferral]) -> str | None:  # fmt: skip
    """The reason of the newest failed attempt from ``sender`` to any of ``recipients``."""
    best: Deferral | None = None
    who = sender.lower()
    for r in recipients:
        d = deferrals.get((who, r.lower()))
        if d is not None and (best is None or _stamp(d) > _stamp(best)):
            best = d
    return best.reason if best else None


def scan_apart(
    log_dir: Path, *, days: int = 2, cancel: threading.Event | None = None
) -> dict[tuple[str, str], Deferral]:
    """``scan`` in a helper process (``python -m iwtui.icewarp.queue.deferrals``): reading a
    large log takes seconds of CPU that the screen's process then need not share with
    its UI thread. When the helper cannot run, the scan runs here."""
    try:
        proc = subprocess.Popen(
            # -P: the working folder is not put on sys.path (an `iwtui` folder there
            # must not be imported by a helper of an admin's console)
            [sys.executable, "-P", "-m", "iwtui.icewarp.queue.deferrals", str(log_dir), str(days)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return scan(log_dir, days=days, cancel=cancel)
    while True:
        try:
            raw, _ = proc.communicate(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if cancel is not None and cancel.is_set():
                proc.kill()
                proc.communicate()
                return {}
    try:
        if proc.returncode != 0:
            raise ValueError(f"exit {proc.returncode}")
        rows = json.loads(raw)
        out: dict[tuple[str, str], Deferral] = {}
        for r in rows:
            at = datetime.fromisoformat(r["at"]) if r["at"] else None
            d = Deferral(r["sender"], r["recipient"], r["reason"], at, r["thread"])
            out[(d.sender.lower(), d.recipient.lower())] = d
        return out
    except (ValueError, KeyError, TypeError, AttributeError):
        return scan(log_dir, days=days, cancel=cancel)


def _main(argv: list[str]) -> None:
    found = scan(Path(argv[0]), days=int(argv[1]))
    json.dump(
        [{"sender": d.sender, "recipient": d.recipient, "reason": d.reason,
          "at": d.at.isoformat() if d.at else None, "thread": d.thread} for d in found.values()],
        sys.stdout,
    )  # fmt: skip


@dataclass
class ReasonGroup:
    reason: str
    count: int = 0
    oldest: float = 0.0  # queued_at of the oldest item
    ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        from iwtui.icewarp.queue.messages import _iso

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


if __name__ == "__main__":
    _main(sys.argv[1:])
