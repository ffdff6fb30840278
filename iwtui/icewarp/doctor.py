"""``iwtui doctor``: per area, was it found, where, what was recognised and what was not.

It also says what iwtui refuses to read: queue folders, mailboxes and quarantine folders
that are symbolic links (never followed), log-named FIFOs, devices and links, and a
LocalServerID that is not a plain name."""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from iwtui.icewarp import files
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
    links = queues.linked_spots(inst)
    if links:
        detail += "; not read (symbolic link, never followed): " + ", ".join(
            sorted({f"{s.queue} {link}" for s, link in links})
        )
    if inst.problems:
        detail += "; " + "; ".join(inst.problems)
    return AreaReport(True, str(inst.outgoing_dir), detail)


def _check_logs(inst: Install) -> AreaReport:
    root = inst.log_dir
    if not root.is_dir():
        return AreaReport(False, str(root), "log folder not found")
    services: dict[str, int] = {}
    unknown = 0
    refused: list[str] = []
    newest: tuple[float, str] | None = None
    seen = 0
    for dirpath, dirs, names in os.walk(root):
        refused += [f"{Path(dirpath, d).relative_to(root)}/ (a symbolic link)"
                    for d in dirs if not files.is_real_dir(Path(dirpath, d))]  # fmt: skip
        for name in names:
            seen += 1
            if seen > MAX_LOG_FILES:
                break
            path = Path(dirpath) / name
            parsed = parse_name(path, root)
            if parsed is None:
                if name.endswith(".log"):
                    unknown += 1
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                refused.append(f"{path.relative_to(root)} ({files.kind(st)})")
                continue
            services[parsed.service] = services.get(parsed.service, 0) + 1
            mtime = st.st_mtime
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
    if refused:
        detail += "; not read (not a regular file): " + ", ".join(refused[:10])
        detail += f" and {len(refused) - 10} more" if len(refused) > 10 else ""
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
        linked: list[str] = []
        for owner, folder in rows:
            qdir = spam.quarantine_dir(inst.mail_dir, owner, folder)
            if qdir is None:
                continue
            link = queues.linked(qdir, inst.mail_dir)
            if link is not None:
                linked.append(str(link))
            elif qdir.is_dir():
                with_files += 1
        if rows:
            detail = f"{with_files} of {len(rows)} quarantined messages have their folder on disk"
            if linked:
                detail += f"; {len(linked)} not followed (symbolic link): " + ", ".join(
                    sorted(set(linked))[:5]
                )
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
    linked: list[str] = []
    for d in domain_entries:
        if d.name.startswith(("_", ".")):
            continue
        if d.is_symlink():
            linked.append(d.name)
            continue
        if not d.is_dir():
            continue
        domains += 1
        try:
            users = list(os.scandir(d.path))
        except OSError:
            continue
        for u in users:
            if u.is_symlink():
                linked.append(f"{d.name}/{u.name}")
                continue
            if not u.is_dir():
                continue
            accounts += 1
            inbox = Path(u.path) / "inbox"
            if not files.is_real_dir(inbox):
                if inbox.is_symlink():
                    linked.append(f"{d.name}/{u.name}/inbox")
                continue
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
    detail = f"{more}{domains} domains, {accounts} accounts, {messages} messages in inbox folders"
    if linked:
        detail += f"; not followed (symbolic link): {', '.join(linked[:10])}"
        detail += f" and {len(linked) - 10} more" if len(linked) > 10 else ""
    return AreaReport(True, str(root), detail)


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
