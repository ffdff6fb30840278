"""``iwtui doctor``: per area, was it found, where, what was recognised and what was not."""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from iwtui.icewarp.install import Install
from iwtui.icewarp.logs.names import parse_name
from iwtui.icewarp.queue import folders as queues
from iwtui.icewarp.spam import lists as spam
from iwtui.icewarp.spam import tarpit

AREAS = (
    "queues",
    "logs",
    "spam_database",
    "quarantine_files",
    "greylist",
    "tarpit",
    "mailboxes",
)
MAX_ACCOUNTS = 5000  # bound the mailbox walk on big servers
MAX_LOG_FILES = 20000


@dataclass(frozen=True)
class AreaReport:
    found: bool
    path: str
    detail: str

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _check_queues(inst: Install) -> AreaReport:
    found = inst.outgoing_dir.is_dir() or inst.incoming_dir.is_dir()
    if not found:
        return AreaReport(False, str(inst.outgoing_dir), "no outgoing or incoming queue folder")
    c = queues.counts(inst)
    parts = [f"{queues.QUEUE_TITLES[q].lower()} {c[q]}" for q in queues.QUEUE_NAMES]
    missing = [
        name
        for name, path in (
            ("retry", inst.retry_dir),
            ("incoming", inst.incoming_dir),
            ("sms", inst.sms_dir),
        )
        if not path.is_dir()
    ]
    detail = ", ".join(parts)
    moved = [
        k for k in ("outgoing", "retry", "incoming") if inst.origins.get(k, "default") != "default"
    ]
    if moved:
        detail += "; relocated by path.dat: " + ", ".join(
            f"{k} -> {getattr(inst, k + '_dir')}" for k in moved
        )
    if missing:
        detail += "; no folder yet: " + ", ".join(missing)
    return AreaReport(True, str(inst.outgoing_dir), detail)


def _check_logs(inst: Install) -> AreaReport:
    root = inst.log_dir
    if not root.is_dir():
        return AreaReport(False, str(root), "log folder not found")
    services: dict[str, int] = {}
    unknown = 0
    newest: tuple[float, str] | None = None
    seen = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            seen += 1
            if seen > MAX_LOG_FILES:
                break
            path = Path(dirpath) / name
            parsed = parse_name(path, root)
            if parsed is None:
                if name.endswith(".log"):
                    unknown += 1
                continue
            services[parsed.service] = services.get(parsed.service, 0) + 1
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if newest is None or mtime > newest[0]:
                newest = (mtime, str(path.relative_to(root)))
    if not services:
        return AreaReport(
            False, str(root), "log folder found, but no log files named <type><YYYYMMDD>.log"
        )
    listing = ", ".join(f"{s} {n}" for s, n in sorted(services.items()))
    detail = f"{sum(services.values())} log files ({listing})"
    if newest:
        detail += f"; newest {newest[1]}"
    if unknown:
        detail += f"; {unknown} .log files with unrecognised names"
    return AreaReport(True, str(root), detail)


def _check_spam(inst: Install) -> tuple[AreaReport, AreaReport, AreaReport]:
    db = inst.antispam_db
    try:
        report = spam.schema(db)
    except spam.SpamDbError as exc:
        msg = str(exc).removeprefix(f"{db}: ")
        return (
            AreaReport(False, str(db), msg),
            AreaReport(False, str(inst.mail_dir), "no spam database to list quarantined messages"),
            AreaReport(False, str(db), "no spam database, so no Greylist table"),
        )
    if report.senders:
        c = spam.list_counts(db)
        spam_rep = AreaReport(
            True,
            str(db),
            f"Senders table: quarantine {c['quarantine']}, whitelist {c['whitelist']}, "
            f"blacklist {c['blacklist']}",
        )
    else:
        spam_rep = AreaReport(
            False, str(db), "no Senders table with columns " + ", ".join(report.missing_senders)
        )

    if report.senders:
        rows = spam.quarantine_folders(db)
        with_files = 0
        for owner, folder in rows:
            qdir = spam.quarantine_dir(inst.mail_dir, owner, folder)
            if qdir is not None and qdir.is_dir():
                with_files += 1
        if rows:
            detail = f"{with_files} of {len(rows)} quarantined messages have their folder on disk"
            q_rep = AreaReport(with_files > 0, str(inst.mail_dir), detail)
        else:
            q_rep = AreaReport(False, str(inst.mail_dir), "no quarantined messages in the database")
    else:
        q_rep = AreaReport(False, str(inst.mail_dir), "Senders table not recognised")

    if report.greylist:
        n = spam.greylist_count(db)
        grey = AreaReport(True, str(db), f"Greylist table (ASSUMED layout): {n} entries")
    else:
        grey = AreaReport(
            False, str(db), "no Greylist table with columns " + ", ".join(report.missing_greylist)
        )
    return spam_rep, q_rep, grey


def _check_tarpit(inst: Install, now: datetime) -> AreaReport:
    t = tarpit.read(inst.tarpit_file)
    if t.layout == tarpit.MISSING:
        return AreaReport(False, str(t.path), t.problem or "tarpit.dat not found")
    active = len(t.active(now))
    if t.layout == tarpit.READABLE:
        detail = f"readable layout: {len(t.entries)} IPs, {active} still blocked"
    else:
        detail = f"tarpit.dat: {t.problem}; {len(t.entries)} IPs found"
    return AreaReport(True, str(t.path), detail)


def _check_mailboxes(inst: Install) -> AreaReport:
    root = inst.mail_dir
    if not root.is_dir():
        return AreaReport(False, str(root), "mail folder not found")
    domains = accounts = messages = 0
    capped = False
    try:
        domain_entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        return AreaReport(False, str(root), f"cannot list: {exc.strerror}")
    for d in domain_entries:
        if d.name.startswith(("_", ".")) or not d.is_dir():
            continue
        domains += 1
        try:
            users = list(os.scandir(d.path))
        except OSError:
            continue
        for u in users:
            if not u.is_dir():
                continue
            accounts += 1
            inbox = Path(u.path) / "inbox"
            with contextlib.suppress(OSError):
                messages += sum(1 for n in os.listdir(inbox) if n.endswith(".imap"))
            if accounts >= MAX_ACCOUNTS:
                capped = True
                break
        if capped:
            break
    if accounts == 0:
        return AreaReport(False, str(root), "no <domain>/<user>/ mailbox folders")
    more = "at least " if capped else ""
    return AreaReport(
        True,
        str(root),
        f"{more}{domains} domains, {accounts} accounts, {messages} messages in inbox folders",
    )


def run(inst: Install, now: datetime | None = None) -> dict[str, AreaReport]:
    """Check every area; never raises for what it finds on disk."""
    now = now or datetime.now()
    spam_rep, q_rep, grey = _check_spam(inst)
    return {
        "queues": _check_queues(inst),
        "logs": _check_logs(inst),
        "spam_database": spam_rep,
        "quarantine_files": q_rep,
        "greylist": grey,
        "tarpit": _check_tarpit(inst, now),
        "mailboxes": _check_mailboxes(inst),
    }
