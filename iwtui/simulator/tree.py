"""The initial simulated install: every file of the spec's layout, from one seed."""

from __future__ import annotations

import json
import os
import random
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import BinaryIO

from iwtui.icewarp import delphi
from iwtui.icewarp.logs.names import file_name
from iwtui.icewarp.spam import lists as spam
from iwtui.icewarp.spam import tarpit
from iwtui.simulator import data
from iwtui.simulator.render import (
    SERVICES,
    Clock,
    Counters,
    Special,
    build_templates,
    day_seconds,
    line,
    render_session,
    stamp_day,
)
from iwtui.simulator.sessions import Mail, local_address, peer_ip, remote_address, smtp_outbound

STATE_FILE = ".iwtui-simulator.json"
LOG_FOLDERS = (*SERVICES, "spamreports", "error")


@dataclass
class SimOptions:
    seed: int = 1
    days: int = 1
    log_mb: float = 2.0
    queue: int = 200
    quarantine: int = 40
    tarpit: int = 12
    start: str | None = None  # ISO date-time; default now
    time_format: str = "hms"  # or "rfc822"
    tid_digits: int = 4
    server_id: str = ""
    rotate_mb: float = 64.0
    rate: float = 20.0

    def now(self) -> datetime:
        if self.start:
            return datetime.fromisoformat(self.start).replace(tzinfo=None, microsecond=0)
        return datetime.now().replace(microsecond=0)


@dataclass
class Layout:
    root: Path
    config: Path = field(init=False)
    mail: Path = field(init=False)
    logs: Path = field(init=False)
    spam: Path = field(init=False)
    outgoing: Path = field(init=False)
    retry: Path = field(init=False)
    incoming: Path = field(init=False)
    sms: Path = field(init=False)

    def __post_init__(self) -> None:
        r = self.root
        self.config, self.mail, self.logs, self.spam = (
            r / "config",
            r / "mail",
            r / "logs",
            r / "spam",
        )
        self.outgoing = self.mail / "_outgoing"
        self.retry = self.outgoing / "retry"
        self.incoming = self.mail / "_incoming"
        self.sms = self.mail / "_sms"

    def log_file(
        self, service: str, day: date, part: int | None = None, server_id: str = ""
    ) -> Path:
        return self.logs / service / file_name(service, day, part, server_id)


def make_message(
    rng: random.Random,
    sender: str,
    recipients: list[str],
    subject: str,
    size: int,
    when: datetime,
    msgid: str,
) -> bytes:
    """An RFC 822 message as IceWarp queues it, with envelope headers first."""
    from_name = sender.split("@")[0].replace(".", " ").title()
    headers = [
        f"Return-Path: <{sender}>",
        f"X-Envelope-From: <{sender}>",
        "X-Envelope-To: " + ", ".join(f"<{r}>" for r in recipients),
        f"Received: from mail.{sender.split('@')[1]} ([{rng.randrange(1, 223)}.{rng.randrange(256)}."
        f"{rng.randrange(256)}.{rng.randrange(1, 255)}]) by mail.icewarpdemo.com (IceWarp) "
        f"with ESMTPS id {msgid}; {format_datetime(when.astimezone())}",
        f'From: "{from_name}" <{sender}>',
        "To: " + ", ".join(recipients),
        f"Subject: {subject}",
        f"Date: {format_datetime(when.astimezone())}",
        f"Message-ID: <{msgid}.{rng.randrange(10**6)}@{sender.split('@')[1]}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    head = "\r\n".join(headers).encode("utf-8", errors="replace") + b"\r\n\r\n"
    words = (
        "status",
        "report",
        "meeting",
        "invoice",
        "delivery",
        "schedule",
        "please",
        "thanks",
        "attached",
        "review",
        "budget",
        "server",
        "queue",
        "tomorrow",
        "regards",
    )
    body_len = max(40, size - len(head))
    body: list[str] = []
    n = 0
    while n < body_len:
        w = rng.choice(words)
        body.append(w)
        n += len(w) + 1
        if len(body) % 12 == 0:
            body.append("\r\n")
    return head + " ".join(body).encode() + b"\r\n"


def quarantine_row(
    owner: str, sender: str, folder: str, subject: str | None, when: datetime, created_at: object
) -> tuple[object, ...]:
    """A Senders row of a held message: the date as a whole Delphi day, the time apart."""
    return (owner, sender, spam.QUARANTINE, folder, owner.split("@")[1], subject,
            float(int(delphi.from_datetime(when))), created_at)  # fmt: skip


def _utime(path: Path, when: datetime) -> None:
    ts = when.timestamp()
    os.utime(path, (ts, ts))


def write_path_dat(root: Path, server_id: str = "") -> None:
    # 13 lines, CRLF, empty = default: the shape of a fresh install's path.dat.
    lines = [""] * 13
    lines[3] = server_id
    (root / "path.dat").write_bytes(("\r\n".join(lines) + "\r\n").encode())


def _queue_name(rng: random.Random, server_id: str, ext: str) -> str:
    return f"{server_id}{rng.getrandbits(40):010X}{ext}"


def build(root: Path, opts: SimOptions) -> dict[str, int]:
    """Write the whole tree; returns what was written (counts)."""
    rng = random.Random(opts.seed)
    now = opts.now()
    lay = Layout(root)
    for d in (
        lay.config,
        lay.spam,
        lay.retry,
        lay.incoming,
        lay.sms,
        root / "temp",
        root / "status",
        root / "groupware",
        *(lay.outgoing / f"priority_{n}" for n in range(5)),
        *(lay.logs / f for f in LOG_FOLDERS),
    ):
        d.mkdir(parents=True, exist_ok=True)
    write_path_dat(root, opts.server_id)
    counters = Counters(opts.tid_digits)
    now.date()
    specials: dict[date, list[Special]] = {}

    def special_session(session_lines: list[Special], day: date) -> None:
        specials.setdefault(day, []).extend(session_lines)

    stats: dict[str, int] = {}
    stats["mailbox_messages"] = _mailboxes(rng, lay, now)
    stats.update(_queues(rng, lay, opts, now, counters, special_session))
    stats.update(_antispam(rng, lay, opts, now))
    stats["tarpit"] = _tarpit(rng, lay, opts, now, counters, special_session)
    stats["log_bytes"] = _logs(rng, lay, opts, now, counters, specials)
    (root / STATE_FILE).write_text(
        json.dumps({"options": asdict(opts), "tid": counters.tid, "mid": counters.mid}, indent=1)
    )
    for path in (root / "path.dat", lay.config / "tarpit.dat", root / STATE_FILE):
        _utime(path, now)  # simulated time everywhere: the same seed gives the same tree
    return stats


def _mailboxes(rng: random.Random, lay: Layout, now: datetime) -> int:
    total = 0
    for domain in data.LOCAL_DOMAINS:
        for user in data.LOCAL_USERS[: 6 + len(domain) % 7]:
            box = lay.mail / domain / user
            for folder, n in (("inbox", rng.randrange(2, 9)), ("~spam", rng.randrange(0, 3))):
                (box / folder).mkdir(parents=True, exist_ok=True)
                for i in range(n):
                    when = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 30))
                    sender = remote_address(rng)
                    subject = rng.choice(data.SPAM_SUBJECTS if folder == "~spam" else data.SUBJECTS)
                    msg = make_message(
                        rng,
                        sender,
                        [f"{user}@{domain}"],
                        subject,
                        rng.randrange(800, 12000),
                        when,
                        f"MB{total:06d}",
                    )
                    path = box / folder / f"{when:%Y%m%d%H%M%S}{i:04d}.imap"
                    path.write_bytes(msg)
                    _utime(path, when)
                    total += 1
    return total


AddLines = Callable[[list[Special], date], None]


def _queues(
    rng: random.Random,
    lay: Layout,
    opts: SimOptions,
    now: datetime,
    counters: Counters,
    special_session: AddLines,
) -> dict[str, int]:
    n = opts.queue
    shares = {"outgoing": 0.55, "priority": 0.15, "retry": 0.15, "incoming": 0.08, "mda": 0.04}
    made = dict.fromkeys((*shares, "sms"), 0)
    plan = [q for q, share in shares.items() for _ in range(round(n * share))]
    plan += ["sms"] * max(0, n - len(plan))
    rng.shuffle(plan)
    clock = Clock(now.date(), opts.time_format)
    for queue in plan[:n]:
        sender = local_address(rng) if queue != "incoming" else remote_address(rng)
        rcpts = [
            remote_address(rng) for _ in range(1 if rng.random() < 0.85 else rng.randrange(2, 4))
        ]
        if queue in ("incoming", "mda"):
            rcpts = [local_address(rng)]
        size = int(rng.lognormvariate(8.0, 1.0)) + 600
        age = timedelta(
            seconds=rng.randrange(5, 600) if queue != "retry" else rng.randrange(900, 3 * 86400)
        )
        when = now - age
        subject = rng.choice(data.SUBJECTS)
        if queue == "sms":
            folder, name = lay.sms, _queue_name(rng, opts.server_id, ".sms")
            body = (
                f"SMS\r\n{when:%Y-%m-%d %H:%M:%S}\r\n+4207{rng.randrange(10**7, 10**8)}\r\n{sender}\r\n"
                f"{subject}\r\n"
            )
            payload = body.encode("utf-8")
        else:
            folder = {
                "outgoing": lay.outgoing,
                "priority": lay.outgoing / f"priority_{rng.randrange(5)}",
                "retry": lay.retry,
                "incoming": lay.incoming,
                "mda": lay.incoming,
            }[queue]
            ext = {"incoming": ".dat", "mda": ".tm$.tm$"}.get(queue, ".tmp")
            name = _queue_name(rng, opts.server_id, ext)
            msgid = counters.next_mid()
            payload = make_message(rng, sender, rcpts, subject, size, when, msgid)
        path = folder / name
        path.write_bytes(payload)
        _utime(path, when)
        made[queue] += 1
        if queue == "retry":
            # The last delivery attempt: a client session that failed for this message.
            earliest = max(when, datetime.combine(now.date(), datetime.min.time()))
            window = max(1, int((now - earliest).total_seconds()))
            attempt = earliest + timedelta(seconds=rng.randrange(window))
            mail = Mail(sender, rcpts, len(payload), subject, True)
            fail = rng.choice(("connect", "reply", "reply", "dns"))
            session = smtp_outbound(rng, mail, fail=fail)
            special_session(render_session(session, attempt, clock, counters), attempt.date())
    return {f"queue_{k}": v for k, v in made.items()}


def _antispam(rng: random.Random, lay: Layout, opts: SimOptions, now: datetime) -> dict[str, int]:
    db = lay.spam / "antispam.db"
    if db.exists():
        db.unlink()
    q = opts.quarantine
    with closing(sqlite3.connect(db)) as con:
        con.executescript(spam.SCHEMA)
        rows: list[tuple[object, ...]] = []
        for i in range(q):
            when = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 14))
            owner = local_address(rng)
            sender = rng.choice(data.SPAM_SENDERS) if rng.random() < 0.7 else remote_address(rng)
            folder = f"{when:%Y%m%d}{i:05d}"
            subject: str | None = rng.choice(data.SPAM_SUBJECTS)
            created_at: object = (when - datetime.combine(when.date(), datetime.min.time())).seconds
            if i % 17 == 5:
                subject = None  # odd rows on purpose: a NULL subject ...
            if i % 13 == 7:
                created_at = when.strftime("%H:%M:%S")  # ... and a textual time
            rows.append(quarantine_row(owner, sender, folder, subject, when, created_at))
            qdir = spam.quarantine_dir(lay.mail, owner, folder)
            assert qdir is not None
            qdir.mkdir(parents=True, exist_ok=True)
            msg = make_message(
                rng,
                sender,
                [owner],
                subject or "(no subject)",
                rng.randrange(900, 9000),
                when,
                f"QR{i:06d}",
            )
            (qdir / f"{folder}.tmp").write_bytes(msg)
            _utime(qdir / f"{folder}.tmp", when)
        for status, count in (
            (spam.WHITELIST, int(q * 0.6) + 3),
            (spam.BLACKLIST, int(q * 0.4) + 2),
        ):
            for _ in range(count):
                when = now - timedelta(days=rng.randrange(0, 400), minutes=rng.randrange(1440))
                owner = rng.choice(("*", rng.choice(data.LOCAL_DOMAINS), local_address(rng)))
                sender = (
                    remote_address(rng)
                    if status == spam.WHITELIST
                    else rng.choice(data.SPAM_SENDERS)
                )
                domain = owner.split("@")[-1] if owner != "*" else ""
                rows.append(
                    (owner, sender, status, None, domain, None, delphi.from_datetime(when), None)
                )
        con.executemany(
            spam.INSERT_SENDER,
            rows,
        )
        grey = []
        for _ in range(max(5, q)):
            when = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 50))
            ip = peer_ip(rng, (62, 81, 185, 193))
            value = rng.choice((ip, remote_address(rng), f"{remote_address(rng)}|{ip}"))
            status = 1 if rng.random() < 0.5 else 0
            grey.append(
                (
                    value,
                    local_address(rng),
                    status,
                    delphi.from_datetime(when),
                    delphi.from_datetime(when + timedelta(minutes=rng.randrange(0, 90))),
                )
            )
        con.executemany(
            spam.INSERT_GREYLIST,
            grey,
        )
        con.commit()
    return {"quarantine": q, "greylist": len(grey)}


def _tarpit(
    rng: random.Random,
    lay: Layout,
    opts: SimOptions,
    now: datetime,
    counters: Counters,
    special_session: AddLines,
) -> int:
    entries = []
    clock = Clock(now.date(), opts.time_format)
    for i in range(opts.tarpit):
        ip = peer_ip(rng, (45, 80, 91, 103, 141, 176, 185, 194))
        if i % 9 == 8:
            ip = f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}"
        reason = data.TARPIT_REASONS[i % len(data.TARPIT_REASONS)]
        blocked = now - timedelta(minutes=rng.randrange(1, 180))
        expires = blocked + timedelta(minutes=60)
        entries.append(tarpit.TarpitEntry(ip, expires, reason))
        if blocked.date() == now.date():
            tid = counters.next_tid()
            text = f"Intrusion prevention: IP blocked ({reason}), expires {expires.isoformat(timespec='seconds')}"
            sec = blocked.hour * 3600 + blocked.minute * 60 + blocked.second
            special_session(
                [Special(sec, "smtp", line(ip, True, tid, clock.at(sec), text))], blocked.date()
            )
    (lay.config / "tarpit.dat").write_text("".join(tarpit.format_entry(e) for e in entries))
    return len(entries)


def _logs(
    rng: random.Random,
    lay: Layout,
    opts: SimOptions,
    now: datetime,
    counters: Counters,
    specials: dict[date, list[Special]],
) -> int:
    templates = build_templates(random.Random(opts.seed * 7919 + 1), 384)
    total = 0
    for back in range(opts.days - 1, -1, -1):
        day = now.date() - timedelta(days=back)
        clock = Clock(day, opts.time_format)
        first, last = day_seconds(day, now)
        extra = list(specials.get(day, []))
        # Midnight forwarding lines (seed, "Example - Forwarding Logs") and hourly
        # anti-spam report lines (seed, "Example - Anti-Spam Report Log").
        for j, days_old in enumerate((20, 30)):
            sec = 232 + j * 6
            if sec <= last:
                src, dst = local_address(rng), remote_address(rng)
                extra.append(
                    Special(
                        sec,
                        "smtp",
                        line(
                            "SYSTEM",
                            False,
                            "0000",
                            clock.at(sec),
                            f"Forwarded mails older than {days_old} days from '{src}' to '{dst}'",
                        ),
                    )
                )
        for hour in range(0, last // 3600 + 1):
            sec = hour * 3600 + 42
            if sec <= last:
                report = (
                    f"{rng.uniform(0.2, 2.5):.6f} {rng.randrange(1, 40)} {rng.randrange(0, 3)} "
                    f"{rng.randrange(0, 500)} {rng.randrange(0, 80)}"
                )
                extra.append(
                    Special(
                        sec, "spamreports", line("Challenge", False, "0001", clock.at(sec), report)
                    )
                )
        writer = DayWriter(lay, day, opts.server_id)
        buf: dict[str, list[str]] = {}
        smtp_bytes = int(opts.log_mb * 1024 * 1024)
        stamp_day(templates, rng, clock, first, last, smtp_bytes, counters, extra, buf, writer)
        writer(buf)
        total += writer.close(datetime.combine(day, datetime.min.time()) + timedelta(seconds=last))
    return total


class DayWriter:
    """Buffers of rendered lines -> one file per service for one day."""

    def __init__(self, lay: Layout, day: date, server_id: str) -> None:
        self.lay, self.day, self.server_id = lay, day, server_id
        self.handles: dict[str, BinaryIO] = {}
        self.written = 0

    def __call__(self, buf: dict[str, list[str]]) -> None:
        for service, parts in buf.items():
            if not parts:
                continue
            fh = self.handles.get(service)
            if fh is None:
                path = self.lay.log_file(service, self.day, None, self.server_id)
                path.parent.mkdir(parents=True, exist_ok=True)
                fh = self.handles[service] = open(path, "wb", buffering=1 << 20)  # noqa: SIM115
            blob = "".join(parts).encode("utf-8")
            fh.write(blob)
            self.written += len(blob)
            parts.clear()

    def close(self, mtime: datetime) -> int:
        """Close every file, give it the day's last simulated second; bytes written."""
        for service, fh in self.handles.items():
            fh.close()
            _utime(self.lay.log_file(service, self.day, None, self.server_id), mtime)
        return self.written
