"""Live mode: the simulated server keeps working.

Lines are appended at ``rate`` per second across interleaved sessions; logs rotate by size
(``-NN``) and at midnight; accepted mail lands in the queues, gets delivered, deferred to
retry, delivered locally into mailboxes; anti-spam quarantines, greylists and tarpits.
Everything IceWarp would do to the tree, done the way IceWarp would do it (queue files
appear whole, tarpit.dat is replaced atomically, the database sees short transactions).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO

from iwtui.icewarp import delphi
from iwtui.icewarp.actions import atomic_write
from iwtui.icewarp.spam import lists as spam
from iwtui.icewarp.spam import tarpit
from iwtui.simulator import data
from iwtui.simulator.render import Clock, Counters, line
from iwtui.simulator.sessions import (
    MID,
    Event,
    Mail,
    Session,
    any_session,
    local_address,
    remote_address,
    smtp_outbound,
)
from iwtui.simulator.tree import (
    STATE_FILE,
    Layout,
    SimOptions,
    _queue_name,
    make_message,
    quarantine_row,
)

TICK_S = 0.05
TARPIT_PREFIX = "Intrusion prevention: IP blocked ("
CHURN_S = 1.0
# The backlog a demo keeps, so there is always something to triage: the queues drain
# only while above these (a few hundred items), and first attempts fail more often while
# the retry queue is short of its share.
BACKLOG_OUTGOING = 150
BACKLOG_RETRY = 60


@dataclass
class Running:
    session: Session
    tid: str
    mid: str
    events: deque[Event] = field(default_factory=deque)


class LogWriter:
    """Appends to the current file of each service; rotates by size and at midnight."""

    def __init__(self, layout: Layout, opts: SimOptions) -> None:
        self.layout, self.opts = layout, opts
        self.limit = int(opts.rotate_mb * 1024 * 1024) if opts.rotate_mb > 0 else 0
        self.files: dict[str, tuple[date, int | None, IO[bytes]]] = {}

    def _current_part(self, service: str, day: date) -> int | None:
        """The newest existing part of the day: resume where a previous run stopped."""
        folder = self.layout.log_file(service, day, None, self.opts.server_id).parent
        base = self.layout.log_file(service, day, None, self.opts.server_id).stem
        parts = []
        with contextlib.suppress(OSError):
            for name in os.listdir(folder):
                if name.startswith(base + "-") and name.endswith(".log"):
                    with contextlib.suppress(ValueError):
                        parts.append(int(name[len(base) + 1 : -4]))
        return max(parts) if parts else None

    def write(self, service: str, day: date, text: str) -> None:
        blob = text.encode("utf-8")
        entry = self.files.get(service)
        if entry is None or entry[0] != day:
            if entry is not None:
                entry[2].close()  # midnight: the new day starts a new file
            part = self._current_part(service, day)
            entry = self._open(service, day, part)
        _day, part, fh = entry
        if self.limit and fh.tell() + len(blob) > self.limit and fh.tell() > 0:
            fh.close()
            entry = self._open(service, day, (part or 0) + 1)
            fh = entry[2]
        fh.write(blob)

    def _open(
        self, service: str, day: date, part: int | None
    ) -> tuple[date, int | None, IO[bytes]]:
        path = self.layout.log_file(service, day, part, self.opts.server_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "ab")  # noqa: SIM115 - kept open across ticks
        self.files[service] = (day, part, fh)
        return self.files[service]

    def flush(self) -> None:
        for _d, _p, fh in self.files.values():
            fh.flush()

    def close(self) -> None:
        for _d, _p, fh in self.files.values():
            fh.close()
        self.files.clear()


class LiveSimulator:
    def __init__(self, root: Path, opts: SimOptions) -> None:
        self.root, self.opts = root, opts
        self.layout = Layout(root)
        self.rng = random.Random(opts.seed * 104729 + 17)
        state = self._load_state()
        self.counters = Counters(
            opts.tid_digits, state.get("tid", 0x5000), state.get("mid", 27_000_000)
        )
        self.logs = LogWriter(self.layout, opts)
        self.running: list[Running] = []
        self.lines = 0
        self.target_concurrency = max(4, int(opts.rate / 6))
        self.tarpit_minutes = 60

    def _load_state(self) -> dict[str, int]:
        try:
            raw = json.loads((self.root / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {}
        return {k: int(v) for k, v in raw.items() if k in ("tid", "mid")}

    def save_state(self) -> None:
        path = self.root / STATE_FILE
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            raw = {}
        raw.update({"tid": self.counters.tid, "mid": self.counters.mid})
        atomic_write(path, json.dumps(raw, indent=1).encode())

    # --- lines -------------------------------------------------------------------------

    def _start(self, session: Session) -> None:
        run = Running(session, self.counters.next_tid(), self.counters.next_mid())
        run.events.extend(session.events)
        self.running.append(run)

    def _emit(self, now: datetime) -> None:
        while len(self.running) < self.target_concurrency:
            self._start(any_session(self.rng))
        run = self.running[self.rng.randrange(len(self.running))]
        ev = run.events.popleft()
        expires = (now + timedelta(minutes=self.tarpit_minutes)).isoformat(timespec="seconds")
        text = ev.text.replace(MID, run.mid).replace("\x00E", expires)
        clock = self._clock(now)
        self.logs.write(ev.service, now.date(), line(ev.who, ev.pad, run.tid, clock.now(now), text))
        self.lines += 1
        self._react(ev, text, now)
        if not run.events:
            self.running.remove(run)
            self._finished(run, now)

    def _clock(self, now: datetime) -> Clock:
        clock = getattr(self, "_clock_cache", None)
        if clock is None or clock.day != now.date():
            clock = Clock(now.date(), self.opts.time_format)
            self._clock_cache = clock
        return clock

    def _react(self, ev: Event, text: str, now: datetime) -> None:
        """What a line means for the rest of the tree (quarantine, greylist, tarpit)."""
        if ev.service == "antispam" and text.endswith("action QUARANTINE"):
            parts = text.split("'")
            if len(parts) >= 4:
                self.quarantine(parts[1].strip("<>"), parts[3].strip("<>"), now)
        elif "Greylisted" in text:
            self._greylist(ev.who.strip(), now)
        elif text.startswith(TARPIT_PREFIX):
            self.tarpit(ev.who.strip(), text[len(TARPIT_PREFIX)], now)

    def _finished(self, run: Running, now: datetime) -> None:
        mail = run.session.mail
        if mail is None or run.session.kind != "accepted":
            return
        if mail.remote:
            self.enqueue(mail, now, run.mid)
        else:
            self._incoming(mail, now, run.mid)

    # --- queues ------------------------------------------------------------------------

    def _write_item(self, folder: Path, ext: str, mail: Mail, now: datetime, mid: str) -> Path:
        payload = make_message(
            self.rng,
            mail.sender,
            mail.recipients,
            mail.subject or self.rng.choice(data.SUBJECTS),
            mail.size,
            now,
            mid,
        )
        path = folder / _queue_name(self.rng, self.opts.server_id, ext)
        atomic_write(path, payload)
        return path

    def enqueue(self, mail: Mail, now: datetime, mid: str) -> None:
        folder = self.layout.outgoing
        if self.rng.random() < 0.25:
            folder = folder / f"priority_{self.rng.randrange(5)}"
        self._write_item(folder, ".tmp", mail, now, mid)

    def _incoming(self, mail: Mail, now: datetime, mid: str) -> None:
        self._write_item(self.layout.incoming, ".dat", mail, now, mid)

    def _files(self, folder: Path, suffix: str = "") -> list[Path]:
        try:
            names = sorted(
                n for n in os.listdir(folder) if not n.startswith(".") and n.endswith(suffix)
            )
        except OSError:
            return []
        return [folder / n for n in names if (folder / n).is_file()]

    def churn(self, now: datetime) -> None:
        """A second of queue work: deliver, defer, retry, hand incoming mail to the MDA.
        The outgoing and retry queues keep a steady backlog (BACKLOG_*)."""
        budget = max(1, int(self.opts.rate / 15))
        outgoing = self._files(self.layout.outgoing)
        for n in range(5):
            outgoing += self._files(self.layout.outgoing / f"priority_{n}")
        self.rng.shuffle(outgoing)
        retry = self._files(self.layout.retry)
        short_of_retries = len(retry) < BACKLOG_RETRY
        if len(outgoing) > BACKLOG_OUTGOING:
            for path in outgoing[:budget]:
                self._attempt(path, now, retry=False, defer=0.4 if short_of_retries else 0.1)
        if len(retry) > BACKLOG_RETRY and self.rng.random() < 0.3:
            self._attempt(self.rng.choice(retry), now, retry=True)
        # MDA: incoming .dat -> .tm$.tm$ (being processed) -> the user's inbox.
        for path in self._files(self.layout.incoming, ".tm$.tm$")[:budget]:
            self._deliver_local(path, now)
        for path in self._files(self.layout.incoming, ".dat")[:budget]:
            with contextlib.suppress(OSError):
                os.rename(path, path.with_name(path.name[:-4] + ".tm$.tm$"))
        sms = self._files(self.layout.sms)
        if self.rng.random() < 0.05:
            body = (
                f"SMS\r\n{now:%Y-%m-%d %H:%M:%S}\r\n+4207{self.rng.randrange(10**7, 10**8)}\r\n"
                f"{local_address(self.rng)}\r\nServer alert\r\n"
            )
            atomic_write(
                self.layout.sms / _queue_name(self.rng, self.opts.server_id, ".sms"), body.encode()
            )
        elif sms and self.rng.random() < 0.05:
            with contextlib.suppress(OSError):
                sms[0].unlink()
        if self.rng.random() < 0.1:
            self._expire_tarpit(now)

    def _attempt(self, path: Path, now: datetime, *, retry: bool, defer: float = 0.1) -> None:
        head = b""
        with contextlib.suppress(OSError), open(path, "rb") as fh:
            head = fh.read(4096)
        sender, rcpts = _envelope(head)
        mail = Mail(
            sender or local_address(self.rng),
            rcpts or [remote_address(self.rng)],
            len(head),
            "",
            True,
        )
        ok = self.rng.random() >= (0.5 if retry else defer)
        session = smtp_outbound(
            self.rng, mail, fail="ok" if ok else self.rng.choice(("connect", "reply"))
        )
        self._start(session)
        if session.kind == "delivered":
            with contextlib.suppress(OSError):
                path.unlink()  # IceWarp delivered it
        elif not retry:
            with contextlib.suppress(OSError):
                os.rename(path, self.layout.retry / path.name)

    def _deliver_local(self, path: Path, now: datetime) -> None:
        head = b""
        with contextlib.suppress(OSError), open(path, "rb") as fh:
            head = fh.read(4096)
        _sender, rcpts = _envelope(head)
        for rcpt in rcpts[:1]:
            user, _, domain = rcpt.partition("@")
            inbox = self.layout.mail / domain / user / "inbox"
            if inbox.is_dir():
                with contextlib.suppress(OSError):
                    os.rename(
                        path, inbox / f"{now:%Y%m%d%H%M%S}{self.rng.randrange(10000):04d}.imap"
                    )
                    return
        with contextlib.suppress(OSError):
            path.unlink()

    # --- anti-spam ---------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.layout.spam / "antispam.db", timeout=5.0)

    def quarantine(self, sender: str, owner: str, now: datetime) -> None:
        folder = f"{now:%Y%m%d%H%M%S}{self.rng.randrange(1000):03d}"
        qdir = spam.quarantine_dir(self.layout.mail, owner, folder)
        if qdir is None:
            return
        subject = self.rng.choice(data.SPAM_SUBJECTS)
        msg = make_message(
            self.rng, sender, [owner], subject, self.rng.randrange(900, 9000), now, folder
        )
        atomic_write(qdir / f"{folder}.tmp", msg)
        secs = now.hour * 3600 + now.minute * 60 + now.second
        with contextlib.suppress(sqlite3.Error), contextlib.closing(self._db()) as con, con:
            con.execute(
                spam.INSERT_SENDER, quarantine_row(owner, sender, folder, subject, now, secs)
            )
            # Users release or delete old quarantine items: keep the list from growing forever.
            n = con.execute("SELECT count(*) FROM Senders WHERE SndAuthorized = 2").fetchone()[0]
            if n > max(60, self.opts.quarantine * 1.5):
                con.execute(
                    "DELETE FROM Senders WHERE SndID = (SELECT min(SndID) FROM Senders WHERE SndAuthorized = 2)"
                )

    def _greylist(self, ip: str, now: datetime) -> None:
        with contextlib.suppress(sqlite3.Error), contextlib.closing(self._db()) as con, con:
            con.execute(
                spam.INSERT_GREYLIST,
                (
                    ip,
                    local_address(self.rng),
                    0,
                    delphi.from_datetime(now),
                    delphi.from_datetime(now),
                ),
            )

    def tarpit(self, ip: str, reason: str, now: datetime) -> None:
        current = tarpit.read(self.layout.config / "tarpit.dat")
        if not current.writable or tarpit.normalise_ip(ip) is None:
            return
        entries = [e for e in current.entries if e.ip != ip]
        entries.append(tarpit.TarpitEntry(ip, now + timedelta(minutes=self.tarpit_minutes), reason))
        atomic_write(current.path, "".join(tarpit.format_entry(e) for e in entries).encode())

    def _expire_tarpit(self, now: datetime) -> None:
        current = tarpit.read(self.layout.config / "tarpit.dat")
        if not current.writable:
            return
        keep = [e for e in current.entries if not e.expired(now - timedelta(minutes=10))]
        if len(keep) != len(current.entries):
            atomic_write(current.path, "".join(tarpit.format_entry(e) for e in keep).encode())

    # --- the loop ----------------------------------------------------------------------

    def run(
        self,
        duration: float | None = None,
        stop: threading.Event | None = None,
        *,
        exit_with_parent: bool = False,
    ) -> int:
        """Run until ``duration`` seconds passed or ``stop`` is set; returns lines written.
        ``exit_with_parent``: also stop when the process that started us is gone (the demo
        must never leave a simulator writing into /tmp after an SSH hangup)."""
        stop = stop or threading.Event()
        parent = os.getppid()
        started = last_churn = time.monotonic()
        emitted_target = 0.0
        try:
            while not stop.is_set():
                tick = time.monotonic()
                if duration is not None and tick - started >= duration:
                    break
                if exit_with_parent and os.getppid() != parent:
                    break
                now = datetime.now().replace(microsecond=0)
                emitted_target += self.opts.rate * TICK_S
                while self.lines < int(emitted_target):
                    self._emit(now)
                self.logs.flush()
                if tick - last_churn >= CHURN_S:
                    last_churn = tick
                    self.churn(now)
                stop.wait(max(0.0, TICK_S - (time.monotonic() - tick)))
        finally:
            self.logs.close()
            self.save_state()
        return self.lines


def _envelope(head: bytes) -> tuple[str, list[str]]:
    sender, rcpts = "", []
    for raw in head.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = raw.decode("utf-8", "replace").partition(":")
        if name.lower() == "x-envelope-from":
            sender = value.strip().strip("<>")
        elif name.lower() == "x-envelope-to":
            rcpts += [v.strip().strip("<>") for v in value.split(",") if v.strip()]
    return sender, rcpts
