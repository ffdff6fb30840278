"""Intrusion prevention: the tarpitted IPs of ``<config>/tarpit.dat`` (spec section 3).

The real layout is not public. iwtui's readable form (ASSUMED) is one record a line::

    <ip or cidr>\t<expires: Delphi date-time or ISO 8601>\t<reason code letter>

Anything else is read tolerantly, the way IceWarp's own support script does it: drop the
non-printable bytes and pick out every IP or CIDR string. Such a file is never written.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from iwtui.data.codes import TARPIT_REASONS as REASONS
from iwtui.errors import BadInput, Refused
from iwtui.icewarp import delphi
from iwtui.icewarp.actions import (
    Plan,
    StepResult,
    UndoRecord,
    atomic_write,
    cli_line,
    register_undo,
)

if TYPE_CHECKING:
    from iwtui.icewarp.logs.catalog import Catalog

READABLE = "readable"
EXTRACTED = "extracted"
MISSING = "missing"

_V4 = r"(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?"
_V6 = r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:/\d{1,3})?"
_ANY_IP = re.compile(rf"(?<![\w.:]){_V4}(?![\w.])|(?<![\w:]){_V6}(?![\w:])")
_NONPRINT = re.compile(rb"[^\x20-\x7e\t\n]")


@dataclass(frozen=True)
class TarpitEntry:
    ip: str
    expires: datetime | None
    reason: str | None

    @property
    def reason_text(self) -> str:
        if self.reason is None:
            return "unknown"
        return REASONS.get(self.reason, f"unknown reason code {self.reason!r}")

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and self.expires <= now


@dataclass(frozen=True)
class TarpitFile:
    path: Path
    layout: str  # READABLE, EXTRACTED or MISSING
    entries: tuple[TarpitEntry, ...]
    problem: str = ""

    @property
    def writable(self) -> bool:
        return self.layout in (READABLE, MISSING)

    def active(self, now: datetime) -> list[TarpitEntry]:
        return [e for e in self.entries if not e.expired(now)]


def normalise_ip(text: str) -> str | None:
    """A valid IPv4/IPv6 address or network in canonical form, else None."""
    text = text.strip()
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text, strict=False))
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def parse_readable(text: str) -> list[TarpitEntry] | None:
    """Entries of a readable-form file, or None when any record is not of that form."""
    entries: list[TarpitEntry] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            return None
        ip = normalise_ip(parts[0])
        reason = parts[2].strip().upper()
        expires = delphi.parse_iso_or_delphi(parts[1])
        if ip is None or (parts[1].strip() and expires is None) or len(reason) > 1:
            return None
        entries.append(TarpitEntry(ip, expires, reason or None))
    return entries


def extract(data: bytes) -> list[TarpitEntry]:
    """IP strings from a file of unknown layout (expiry and reason unknown)."""
    text = _NONPRINT.sub(b" ", data).decode("ascii", errors="replace")
    seen: dict[str, TarpitEntry] = {}
    for m in _ANY_IP.finditer(text):
        ip = normalise_ip(m.group(0))
        if ip is not None and ip not in seen:
            seen[ip] = TarpitEntry(ip, None, None)
    return list(seen.values())


def read(path: Path) -> TarpitFile:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return TarpitFile(path, MISSING, ())
    except OSError as exc:
        return TarpitFile(path, MISSING, (), f"cannot read {path}: {exc.strerror}")
    if b"\x00" not in data:
        try:
            entries = parse_readable(data.decode("utf-8"))
        except UnicodeDecodeError:
            entries = None
        if entries is not None:
            return TarpitFile(path, READABLE, tuple(entries))
    return TarpitFile(
        path,
        EXTRACTED,
        tuple(extract(data)),
        "unrecognised layout, read-only (IPs extracted; expiry and reason unknown)",
    )


def format_entry(entry: TarpitEntry) -> str:
    expires = entry.expires.isoformat(timespec="seconds") if entry.expires else ""
    return f"{entry.ip}\t{expires}\t{entry.reason or ''}\n"


# --- writes (through the gate) -----------------------------------------------------------


def check_writable(path: Path) -> TarpitFile:
    """The file as it is now, or a Refused error when iwtui must not write it."""
    current = read(path)
    if current.problem and current.layout == MISSING:
        raise Refused(f"{path}: {current.problem}; nothing was changed")
    if not current.writable:
        raise Refused(
            f"{path}: unrecognised layout, so iwtui does not write it (the file is untouched)"
        )
    return current


def _save(path: Path, entries: list[TarpitEntry]) -> None:
    atomic_write(path, "".join(format_entry(e) for e in entries).encode("utf-8"))


def _record(path: Path, op: str, entry: TarpitEntry) -> UndoRecord:
    return {"op": op, "file": str(path), "line": format_entry(entry)}


@register_undo("tarpit-add")
def _undo_add(record: UndoRecord) -> None:
    """Put a removed entry back (unless the IP was blocked again meanwhile)."""
    path = Path(record["file"])
    entry = parse_readable(record["line"])
    current = check_writable(path)
    if not entry:
        raise ValueError("bad tarpit undo record")
    if all(e.ip != entry[0].ip for e in current.entries):
        _save(path, [*current.entries, entry[0]])


@register_undo("tarpit-add-many")
def _undo_add_many(record: UndoRecord) -> None:
    """Put removed entries back in one rewrite (an IP blocked again meanwhile keeps its
    new entry)."""
    path = Path(record["file"])
    entries = parse_readable("".join(record["lines"]))
    if entries is None:
        raise ValueError("bad tarpit undo record")
    current = check_writable(path)
    have = {e.ip for e in current.entries}
    back = [e for e in entries if e.ip not in have]
    if back:
        _save(path, [*current.entries, *back])


@register_undo("tarpit-remove")
def _undo_remove(record: UndoRecord) -> None:
    """Take an added entry out again."""
    path = Path(record["file"])
    entry = parse_readable(record["line"])
    current = check_writable(path)
    if entry:
        _save(path, [e for e in current.entries if e != entry[0]])


def _cli(words: str, root: Path | None) -> str:
    return cli_line(f"tarpit {words}", root)


def add_plan(
    path: Path, ip_text: str, minutes: float, reason: str = "U", root: Path | None = None
) -> Plan:
    """Block an IP or a CIDR range until now + ``minutes`` (the block period of config)."""
    ip = normalise_ip(ip_text)
    if ip is None:
        raise BadInput(f"bad IP {ip_text.strip()!r}: use an IPv4 or IPv6 address or a CIDR range")
    reason = reason.strip().upper()
    if reason not in REASONS:
        raise BadInput(f"bad reason code {reason!r}: use one of {', '.join(REASONS)}")
    check_writable(path)

    def step(target: str) -> StepResult:
        current = check_writable(path)
        expires = datetime.now().replace(microsecond=0) + timedelta(minutes=minutes)
        entry = TarpitEntry(ip, expires, reason)
        old = [e for e in current.entries if e.ip == ip]
        _save(path, [e for e in current.entries if e.ip != ip] + [entry])
        undo = [_record(path, "tarpit-remove", entry)] + [
            _record(path, "tarpit-add", e) for e in old
        ]
        return StepResult(target, "done", f"blocked until {expires:%Y-%m-%d %H:%M}", undo)

    return Plan(
        action="tarpit add",
        targets=(ip,),
        summary=f"Block {ip} for {minutes:g} minutes (reason {reason}: {REASONS[reason]})",
        cli=_cli(f"add {shlex.quote(ip)} --reason {reason}", root),
        step=step,
        undoable=True,
    )


def remove_plan(
    path: Path, ips: list[str] | None, *, expired_only: bool = False, root: Path | None = None
) -> Plan:
    """Remove the given IPs (``None``: every entry, or every expired one). The file is
    rewritten once for the whole plan; each IP reports its own result."""
    current = check_writable(path)
    now = datetime.now()
    if ips is None:
        chosen = [e.ip for e in current.entries if not expired_only or e.expired(now)]
        words = "remove-expired" if expired_only else "remove-all"
    else:
        chosen = []
        for text in ips:
            ip = normalise_ip(text)
            if ip is None:
                raise BadInput(f"bad IP {text.strip()!r}")
            chosen.append(ip)
        words = "remove " + " ".join(shlex.quote(i) for i in chosen)
    targets = tuple(dict.fromkeys(chosen))
    done: dict[str, TarpitEntry | None] = {}

    def step(target: str) -> StepResult:
        undo: list[UndoRecord] = []
        if not done:  # the first step rewrites the file once for every target
            fresh = check_writable(path)
            wanted = set(targets)
            keep = [e for e in fresh.entries if e.ip not in wanted]
            removed = [e for e in fresh.entries if e.ip in wanted]
            done.update(dict.fromkeys(targets))
            done.update({e.ip: e for e in removed})
            if removed:
                _save(path, keep)
                # one record puts every removed entry back in one rewrite
                lines = [format_entry(e) for e in removed]
                undo = [{"op": "tarpit-add-many", "file": str(path), "lines": lines}]
        if done.get(target) is None:
            return StepResult(target, "gone", f"{target} is not tarpitted (any more)", undo)
        return StepResult(target, "done", "removed", undo)

    label = {"remove-expired": "expired ", "remove-all": ""}.get(words, "")
    return Plan(
        action=f"tarpit {words.split()[0]}",
        targets=targets,
        summary=f"Remove {len(targets)} {label}tarpitted IP(s) from {path.name}",
        cli=_cli(words, root),
        step=step,
        undoable=True,
    )


# --- what an IP did (from the SMTP log) ---------------------------------------------------

_BLOCKED = re.compile(r"Intrusion prevention: IP blocked \((\w)\)")
_CLOCK = re.compile(r"\b\d\d:\d\d:\d\d\b")


@dataclass(frozen=True)
class Activity:
    """An IP's lines in the SMTP log and what they add up to."""

    ip: str
    lines: tuple[str, ...]
    connections: int  # sessions (thread ids) the IP opened
    rejected: int  # lines where the server refused it (5xx)
    blocked_at: str | None  # the clock time of the last "IP blocked" line
    reason: str | None  # its reason letter


def activity(catalog: Catalog, ip: str, *, days: int = 2) -> Activity:
    """The SMTP log lines of ``ip`` over the newest ``days`` logs (its own sessions, and
    lines that name it), summed up. A network (CIDR) matches nothing here."""
    from iwtui.icewarp.logs.lines import parse_line
    from iwtui.icewarp.logs.search import grep_days

    if "/" in ip:
        return Activity(ip, (), 0, 0, None, None)
    exact = re.compile(rf"(?<![\w.:]){re.escape(ip)}(?![\w.:])")
    found = [ln for ln in grep_days(catalog, "smtp", ip, days=days, limit=20000) if exact.search(ln)]  # fmt: skip
    threads: set[str] = set()
    rejected = 0
    blocked_at = reason = None
    for raw in found:
        line = parse_line(raw)
        if line.who == ip and line.thread:
            threads.add(line.thread)
        if ">>> 5" in line.message:
            rejected += 1
        m = _BLOCKED.search(line.message)
        if m:
            clock = _CLOCK.search(raw)
            blocked_at = clock.group(0) if clock else None
            reason = m.group(1)
    return Activity(ip, tuple(found), len(threads), rejected, blocked_at, reason)


_BLOCK_LINE = re.compile(
    r"(?P<ip>\S+)\s+\[[0-9A-Fa-f]+\].*?Intrusion prevention: IP blocked \((?P<reason>\w)\)"
    r"(?:, expires (?P<expires>\S+))?"
)


def enrich(f: TarpitFile, catalog: Catalog, *, days: int = 2) -> TarpitFile:
    """For a file of unknown layout (IPs only), the expiry and reason of each IP from the
    newest "IP blocked" line of the SMTP log (spec section 3); others stay unknown. A
    readable file is returned as it is."""
    if f.layout != EXTRACTED or not f.entries:
        return f
    from iwtui.icewarp.logs.search import grep_days

    known: dict[str, tuple[datetime | None, str]] = {}
    for raw in grep_days(catalog, "smtp", "Intrusion prevention: IP blocked", days=days, limit=100_000):  # fmt: skip
        m = _BLOCK_LINE.match(raw)
        if m and (ip := normalise_ip(m.group("ip"))):
            expires = delphi.parse_iso_or_delphi(m.group("expires") or "")
            known[ip] = (expires, m.group("reason").upper())
    entries = tuple(TarpitEntry(e.ip, *known[e.ip]) if e.ip in known else e for e in f.entries)
    note = "unrecognised layout, read-only (IPs extracted; expiry and reason from the SMTP log where it names the IP)"  # fmt: skip
    return TarpitFile(f.path, f.layout, entries, note if known else f.problem)
