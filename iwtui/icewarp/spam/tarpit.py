"""Intrusion prevention: the tarpitted IPs of ``<config>/tarpit.dat`` (spec section 3).

The real layout is not public. iwtui's readable form (ASSUMED) is one record a line::

    <ip or cidr>\t<expires: Delphi date-time or ISO 8601>\t<reason code letter>

Anything else is read tolerantly, the way IceWarp's own support script does it: drop the
non-printable bytes and pick out every IP or CIDR string. Such a file is never written.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import shlex
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from iwtui.data.codes import TARPIT_REASONS as REASONS
from iwtui.errors import BadInput, Refused
from iwtui.icewarp import delphi, files
from iwtui.icewarp.actions import Plan, StepResult, UndoRecord, cli_line, register_undo
from iwtui.icewarp.moves import fsync_dir, write_temp

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
        data = files.read_small(path, TARPIT_LIMIT)
    except FileNotFoundError:
        return TarpitFile(path, MISSING, ())
    except files.Unsafe as exc:  # a link, a FIFO, too large: never read, never written
        return TarpitFile(path, MISSING, (), str(exc))
    except OSError as exc:
        return TarpitFile(path, MISSING, (), f"cannot read {path}: {exc.strerror}")
    return _parse(path, data)


def _parse(path: Path, data: bytes) -> TarpitFile:
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
#
# Every write is a rewrite: read the file through a no-follow descriptor, apply the change
# to its records (comment and blank lines stay where they are), write a temp file with the
# old file's owner and mode, and rename it over the file only if the file is still the one
# read (inode, size, mtime); otherwise start again on the new content. iwtui's writers
# queue on a lock of the config folder; a writer appending through a descriptor opened
# before the rename (or between our read and the rename) is caught by reading the old
# inode after it: its lines are appended to the new file.

TARPIT_LIMIT = 64 * 1024 * 1024
RETRIES = 50
LATE_APPEND_S = 0.02  # how long after a rename we look for late appends to the old file
T = TypeVar("T")
# (drop this entry?, entries to add, the caller's result) from the entries read
Change = Callable[[list[TarpitEntry]], tuple[Callable[[TarpitEntry], bool], list[TarpitEntry], T]]


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


@dataclass
class _Snapshot:
    data: bytes
    st: os.stat_result | None  # None: the file does not exist
    fd: int | None  # the descriptor read (kept open to see late appends)
    used: int = 0  # the bytes rewritten (whole lines); the rest is carried over


def _snapshot(path: Path) -> _Snapshot:
    try:
        fd, st = files.open_fd(path)
    except FileNotFoundError:
        return _Snapshot(b"", None, None)
    except files.Unsafe as exc:
        raise Refused(f"{exc}; nothing was changed") from None
    data = files.read_fd(fd, TARPIT_LIMIT + 1)
    if len(data) > TARPIT_LIMIT:
        os.close(fd)
        raise Refused(f"{path}: over {TARPIT_LIMIT:,} bytes; nothing was changed")
    return _Snapshot(data, st, fd)


def _may_replace(path: Path, st: os.stat_result | None) -> bool:
    """Whether ``path`` is still the file read: the same inode, not shrunk, not changed
    in place. A file that only grew was appended to: those lines are carried over from
    the old inode after the rename (:func:`_carry_appends`)."""
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return st is None
    if st is None or not stat.S_ISREG(now.st_mode) or now.st_ino != st.st_ino:
        return False
    if now.st_size < st.st_size:
        return False
    return now.st_size > st.st_size or now.st_mtime_ns == st.st_mtime_ns


def _render(text: str, drop: Callable[[TarpitEntry], bool], add: list[TarpitEntry]) -> str:
    out: list[str] = []
    for raw in text.splitlines(keepends=True):
        line = raw.strip()
        if line and not line.startswith("#"):
            parsed = parse_readable(line)
            if parsed and drop(parsed[0]):
                continue
        out.append(raw if raw.endswith("\n") else raw + "\n")
    return "".join(out) + "".join(format_entry(e) for e in add)


@contextlib.contextmanager
def _writers_lock(folder: Path) -> Iterator[None]:
    """iwtui's writers of this folder's tarpit.dat, one at a time (flock of the folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _commit(path: Path, data: bytes, entries: list[TarpitEntry], snap: _Snapshot) -> bool:
    """Rename ``data`` over ``path`` if it is still the file read; False when another
    writer changed it meanwhile. ``entries``: what the file now holds."""
    like = snap.st
    if like is None:
        with contextlib.suppress(OSError):
            like = os.stat(path.parent)  # a new file: the config folder's owner
    tmp = write_temp(path.parent, path.name, data, mode=0o644,
                     like=None if like is None or snap.st is None else like)  # fmt: skip
    try:
        if snap.st is None and like is not None:
            with contextlib.suppress(OSError):
                os.chown(tmp, like.st_uid, like.st_gid)
        if not _may_replace(path, snap.st):
            return False
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_dir(path.parent)
    return True


def rewrite(path: Path, change: Change[T]) -> T:
    """Apply ``change`` to the records of ``path`` (see the comment above); its result."""
    with _writers_lock(path.parent):
        for _ in range(RETRIES):
            snap = _snapshot(path)
            try:
                # a last line without its newline may be a writer's line half written: it
                # is carried over from the old inode after the rename, whole
                snap.used = snap.data.rfind(b"\n") + 1
                body = snap.data[: snap.used]
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError:
                    text = "\0"
                entries = parse_readable(text) if b"\x00" not in snap.data else None
                if entries is None:
                    raise Refused(f"{path}: unrecognised layout, so iwtui does not write it (the file is untouched)")  # fmt: skip
                drop, add, result = change(entries)
                new = _render(text, drop, add)
                final = [e for e in entries if not drop(e)] + add
                if new.encode() == body:
                    return result
                if not _commit(path, new.encode("utf-8"), final, snap):
                    continue  # replaced or rewritten since read: again, on the new content
                _carry_appends(path, snap)
                return result
            finally:
                if snap.fd is not None:
                    os.close(snap.fd)
    raise Refused(f"{path}: changed by another writer {RETRIES} times while iwtui wrote it")


def _carry_appends(path: Path, snap: _Snapshot) -> None:
    """Lines another writer appended to the file we read (between our read and rename,
    or through a descriptor it opened before the rename) are on the old inode: append
    them, as they are, to the file now at ``path``."""
    if snap.fd is None:
        return
    offset = snap.used
    quiet = False
    while True:
        size = os.fstat(snap.fd).st_size
        tail = os.pread(snap.fd, size - offset, offset) if size > offset else b""
        whole = tail[: tail.rfind(b"\n") + 1]  # whole lines; a line being written waits
        if whole:
            _append(path, whole)
            offset += len(whole)
            quiet = False
            continue
        if quiet:
            if tail:  # a last line that never got its newline: kept, completed
                _append(path, tail + b"\n")
            return
        quiet = True
        time.sleep(LATE_APPEND_S)  # one more look: a writer between its open and write


def _append(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _record(path: Path, op: str, entry: TarpitEntry) -> UndoRecord:
    return {"op": op, "file": str(path), "line": format_entry(entry)}


def _entry_of(record: UndoRecord) -> TarpitEntry:
    entry = parse_readable(str(record.get("line", "")))
    if not entry:
        raise ValueError("bad tarpit undo record")
    return entry[0]


@register_undo("tarpit-add")
def _undo_add(record: UndoRecord) -> None:
    """Put a removed entry back (unless the IP was blocked again meanwhile)."""
    entry = _entry_of(record)
    rewrite(Path(record["file"]), lambda es: (_never, [] if any(e.ip == entry.ip for e in es) else [entry], None))  # fmt: skip


@register_undo("tarpit-add-many")
def _undo_add_many(record: UndoRecord) -> None:
    """Put removed entries back in one rewrite (an IP blocked again meanwhile keeps its
    new entry)."""
    entries = parse_readable("".join(record["lines"]))
    if entries is None:
        raise ValueError("bad tarpit undo record")

    def change(current: list[TarpitEntry]) -> tuple[Callable[[TarpitEntry], bool], list[TarpitEntry], None]:  # fmt: skip
        have = {e.ip for e in current}
        return _never, [e for e in entries if e.ip not in have], None

    rewrite(Path(record["file"]), change)


@register_undo("tarpit-remove")
def _undo_remove(record: UndoRecord) -> None:
    """Take an added entry out again."""
    entry = _entry_of(record)
    rewrite(Path(record["file"]), lambda es: (lambda e: e == entry, [], None))


@register_undo("tarpit-remove-ip")
def _undo_remove_ip(record: UndoRecord) -> None:
    """Take out the entry of an IP an interrupted add may have written (tentative)."""
    ip = str(record.get("ip", ""))
    rewrite(Path(record["file"]), lambda es: (lambda e: e.ip == ip, [], None))


def _never(_entry: TarpitEntry) -> bool:
    return False


def _cli(words: str, root: Path | None) -> str:
    return cli_line(f"tarpit {words}", root)


# A range wider than this (IPv4 /0-/7, IPv6 /0-/15: a sixteenth of the Internet or more,
# 0.0.0.0/0 and ::/0 all of it) is a typo more often than a wish: it needs ``force``.
WIDEST_PREFIX = {4: 8, 6: 16}


def wide_range(ip_text: str) -> str | None:
    """Why blocking ``ip_text`` needs a second thought (a range wider than /8 or /32),
    or None; the CLI asks for ``--force``, the console for the same values again."""
    ip = normalise_ip(ip_text)
    if ip is None:
        return None
    net = ipaddress.ip_network(ip)
    if net.prefixlen >= WIDEST_PREFIX[net.version]:
        return None
    return f"{ip} blocks {net.num_addresses:,} addresses (wider than /{WIDEST_PREFIX[net.version]})"


def add_plan(
    path: Path, ip_text: str, minutes: float, reason: str = "U", root: Path | None = None,
    *, force: bool = False,
) -> Plan:  # fmt: skip
    """Block an IP or a CIDR range until now + ``minutes`` (the block period of config)."""
    ip = normalise_ip(ip_text)
    if ip is None:
        raise BadInput(f"bad IP {ip_text.strip()!r}: use an IPv4 or IPv6 address or a CIDR range")
    too_wide = wide_range(ip)
    wide = too_wide is not None
    if too_wide and not force:
        raise BadInput(f"{too_wide}: pass --force if that is meant")
    reason = reason.strip().upper()
    if reason not in REASONS:
        raise BadInput(f"bad reason code {reason!r}: use one of {', '.join(REASONS)}")
    before = check_writable(path)

    def step(target: str) -> StepResult:
        expires = datetime.now().replace(microsecond=0) + timedelta(minutes=minutes)
        entry = TarpitEntry(ip, expires, reason)

        def change(es: list[TarpitEntry]) -> tuple[Callable[[TarpitEntry], bool], list[TarpitEntry], list[TarpitEntry]]:  # fmt: skip
            return (lambda e: e.ip == ip), [entry], [e for e in es if e.ip == ip]

        old = rewrite(path, change)
        # replayed newest first: take the new entry out, then put the old ones back
        undo = [_record(path, "tarpit-add", e) for e in old] + [
            _record(path, "tarpit-remove", entry)
        ]
        return StepResult(target, "done", f"blocked until {expires:%Y-%m-%d %H:%M}", undo)

    intent = [_record(path, "tarpit-add", e) for e in before.entries if e.ip == ip] + [
        {"op": "tarpit-remove-ip", "file": str(path), "ip": ip}
    ]
    return Plan(
        action="tarpit add",
        targets=(ip,),
        summary=f"Block {ip} for {minutes:g} minutes (reason {reason}: {REASONS[reason]})",
        cli=_cli(f"add {shlex.quote(ip)} --reason {reason}" + (" --force" if wide else ""), root),
        step=step,
        undoable=True,
        intent={ip: intent},
        batch=1,
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
            wanted = set(targets)

            def change(es: list[TarpitEntry]) -> tuple[Callable[[TarpitEntry], bool], list[TarpitEntry], list[TarpitEntry]]:  # fmt: skip
                return (lambda e: e.ip in wanted), [], [e for e in es if e.ip in wanted]

            removed = rewrite(path, change)
            done.update(dict.fromkeys(targets))
            done.update({e.ip: e for e in removed})
            if removed:
                # one record puts every removed entry back in one rewrite
                lines = [format_entry(e) for e in removed]
                undo = [{"op": "tarpit-add-many", "file": str(path), "lines": lines}]
        if done.get(target) is None:
            return StepResult(target, "gone", f"{target} is not tarpitted (any more)", undo)
        return StepResult(target, "done", "removed", undo)

    # written ahead: the entries the rewrite will take out (a kill -9 after the rename
    # and before the journal line is undone from this)
    ahead = [format_entry(e) for e in current.entries if e.ip in set(targets)]
    intent = {targets[0]: [{"op": "tarpit-add-many", "file": str(path), "lines": ahead}]} if targets and ahead else {}  # fmt: skip
    label = {"remove-expired": "expired ", "remove-all": ""}.get(words, "")
    listed = {e.ip: e for e in current.entries}

    def describe(ip: str) -> str:
        e = listed.get(ip)
        if e is None:
            return f"{ip} (not tarpitted now)"
        until = f"{e.expires:%Y-%m-%d %H:%M}" if e.expires else "no expiry"
        return f"{ip}  {e.reason_text}, until {until}" + (" (expired)" if e.expired(now) else "")

    return Plan(
        action=f"tarpit {words.split()[0]}",
        targets=targets,
        summary=f"Remove {len(targets)} {label}tarpitted IP(s) from {path.name}",
        cli=_cli(words, root),
        step=step,
        undoable=True,
        intent=intent,
        describe=describe,
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
