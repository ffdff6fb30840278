"""Intrusion prevention: the tarpitted IPs of ``<config>/tarpit.dat`` (spec section 3).

The real layout is not public. iwtui's readable form (ASSUMED) is one record a line::

    <ip or cidr>\t<expires: Delphi date-time or ISO 8601>\t<reason code letter>

Anything else is read tolerantly, the way IceWarp's own support script does it: drop the
non-printable bytes and pick out every IP or CIDR string. Such a file is never written.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from iwtui.icewarp import delphi

REASONS: dict[str, str] = {
    "C": "Tarpitting invoked via Content Filters",
    "I": "IP blocked for exceeding connections in one minute",
    "M": "IP blocked for delivering oversized message",
    "R": "IP blocked for exceeding RSET command count",
    "D": "IP blocked for being listed on DNSBL",
    "A": 'The account that this message was sent to was a "tarpit" account so the sending IP '
    "is tarpitted",
    "P": "IP blocked for exceeding unknown user delivery count",
    "Y": "IP blocked for relaying",
    "S": "IP blocked for exceeding spam score in a message",
    "U": "IP blocked manually via console",
    "L": "IP blocked for too many failed login attempts",
}

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
