"""The traffic store: one embedded SQLite file per install in iwtui's state dir.

Tables (minutes are numbers: ``date.toordinal() * 1440 + minute of the day``, local time as
in the logs; ``server`` is the install's LocalServerID or ""):

- ``files``: every log file read, by path: identity (device, inode, hash of its first
  bytes), the offset read up to (after the last complete line), the parser state
  between two reads (clock wrap, open sessions).
- ``minute_file`` (file, service, counter, minute) -> value: what each file gave, so a
  truncated or replaced file can be taken back and read again without double counting.
- ``minute`` (server, service, counter, minute) -> value: the sum over files (charts read it).
- ``rollup`` (server, service, counter, step_s 3600|86400, t) -> total, peak: hours and
  days with the sum and the busiest minute (mailgraph/RRD style), for long periods.
- Thinning: minute rows older than the newest :data:`MINUTE_DAYS` days are deleted once
  their hours are rolled up (``meta`` ``minutes_from`` says from which minute they are
  kept); what each file gave to those hours stays in ``hour_file`` (file, service,
  counter, hour) -> total, busiest minute, so a file can still be taken back.
- ``starts``: service start lines (Statistics counts "since the service started").
- ``account_file`` / ``account_day``: per-account daily aggregates (issue 12 reads
  ``account_day``; see ``accounts_feed``).

WAL mode and a busy timeout: the console reads while a CLI ingests. Writes are short
transactions, one per ingested file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iwtui.icewarp.traffic.counters import ALL_NAMES

if TYPE_CHECKING:
    from hashlib import sha1
else:
    try:  # CPython's own SHA-1: hashlib loads OpenSSL (~2.5 ms of a command's start-up)
        from _sha1 import sha1
    except ImportError:  # pragma: no cover - other interpreters
        from hashlib import sha1

# 2: the ``ignored`` table; 3: ``hour_file`` (minutes thinned); 4: ``msgvirus`` from the
# anti-virus log (the SMTP summaries' ``AV`` became ``msgvirusrejected``)
SCHEMA_VERSION = "4"
# every counter name, listed in the queries that read a range of minutes of all counters:
# the primary key (server, service, counter, minute) then serves the minute range of each
# (without it SQLite reads every minute row of the service: ~0.2 ms a hour in place of
# ~100 ms with a month of a busy server's minutes, once a second while following)
_IN_COUNTERS = f"counter IN ({','.join(repr(n) for n in ALL_NAMES)})"
# Minute rows are kept for the newest MINUTE_DAYS days of the store (the newest day and
# the 34 before it: a month chart at any step has its minutes); older ones are thinned
# into the hourly and daily rollups, which keep each hour's total and busiest minute.
MINUTE_DAYS = 35
BUSY_MS = 5000
ACCOUNT_FIELDS = ("received_count", "received_bytes", "sent_count", "sent_bytes",
                  "sent_out_count", "sent_out_bytes", "last_sent", "last_received",
                  "last_login", "last_ip")  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, logical TEXT NOT NULL,
    service TEXT NOT NULL, day TEXT NOT NULL, server TEXT NOT NULL,
    dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER,
    head_len INTEGER, head_hash TEXT, offset INTEGER NOT NULL DEFAULT 0,
    state TEXT, gz INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS files_logical ON files(logical);
CREATE TABLE IF NOT EXISTS minute_file(
    file_id INTEGER, service TEXT, counter TEXT, minute INTEGER, value INTEGER,
    PRIMARY KEY(file_id, service, counter, minute)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS minute(
    server TEXT, service TEXT, counter TEXT, minute INTEGER, value INTEGER,
    PRIMARY KEY(server, service, counter, minute)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup(
    server TEXT, service TEXT, counter TEXT, step_s INTEGER, t INTEGER,
    total INTEGER, peak INTEGER,
    PRIMARY KEY(server, service, counter, step_s, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hour_file(
    file_id INTEGER, service TEXT, counter TEXT, hour INTEGER, total INTEGER, peak INTEGER,
    PRIMARY KEY(file_id, service, counter, hour)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ignored(path TEXT PRIMARY KEY, log_dir TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS starts(
    file_id INTEGER, service TEXT, t TEXT, PRIMARY KEY(file_id, service, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS account_file(
    file_id INTEGER, server TEXT, day TEXT, account TEXT,
    received_count INTEGER, received_bytes INTEGER, sent_count INTEGER, sent_bytes INTEGER,
    sent_out_count INTEGER, sent_out_bytes INTEGER,
    last_sent TEXT, last_received TEXT, last_login TEXT, last_ip TEXT,
    PRIMARY KEY(file_id, day, account)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS account_day(
    server TEXT, day TEXT, account TEXT,
    received_count INTEGER, received_bytes INTEGER, sent_count INTEGER, sent_bytes INTEGER,
    sent_out_count INTEGER, sent_out_bytes INTEGER,
    last_sent TEXT, last_received TEXT, last_login TEXT, last_ip TEXT,
    PRIMARY KEY(server, day, account));
"""

# additive upsert of an account row; last_* keep the newest; the IP goes with the login
_ACC_SET = """
    received_count = received_count + excluded.received_count,
    received_bytes = received_bytes + excluded.received_bytes,
    sent_count = sent_count + excluded.sent_count,
    sent_bytes = sent_bytes + excluded.sent_bytes,
    sent_out_count = sent_out_count + excluded.sent_out_count,
    sent_out_bytes = sent_out_bytes + excluded.sent_out_bytes,
    last_sent = coalesce(max(last_sent, excluded.last_sent), last_sent, excluded.last_sent),
    last_received = coalesce(max(last_received, excluded.last_received), last_received,
                             excluded.last_received),
    last_ip = CASE WHEN excluded.last_login IS NOT NULL
                    AND (last_login IS NULL OR excluded.last_login >= last_login)
              THEN excluded.last_ip ELSE last_ip END,
    last_login = coalesce(max(last_login, excluded.last_login), last_login, excluded.last_login)
"""


def sha1_hex(data: bytes) -> str:
    return sha1(data).hexdigest()


def default_path(install: Any, state_dir: Path) -> Path:
    """``<state_dir>/traffic/<sha1 of the resolved install root, 12 hex>.sqlite``."""
    root = Path(install.root).resolve()
    key = sha1_hex(str(root).encode("utf-8", "surrogateescape"))[:12]
    return Path(state_dir) / "traffic" / f"{key}.sqlite"


class FileRecord:
    """A row of ``files`` (a plain class, not a dataclass: start-up)."""

    __slots__ = ("day", "dev", "gz", "head_hash", "head_len", "id", "ino", "logical",
                 "mtime_ns", "offset", "path", "server", "service", "size", "state")  # fmt: skip

    def __init__(self, id: int, path: str, logical: str, service: str, day: str, server: str,
                 dev: int, ino: int, size: int, mtime_ns: int, head_len: int, head_hash: str,
                 offset: int, state: str | None, gz: bool) -> None:  # fmt: skip
        self.id, self.path, self.logical, self.service = id, path, logical, service
        self.day, self.server, self.dev, self.ino, self.size = day, server, dev, ino, size
        self.mtime_ns, self.head_len, self.head_hash = mtime_ns, head_len, head_hash
        self.offset, self.state, self.gz = offset, state, gz


class Store:
    """A connection to one install's traffic store (created on first use)."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            uri = f"file:{self.path}?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000,
                                      check_same_thread=False)  # fmt: skip
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, check_same_thread=False)
        self.db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        if not readonly:
            self.db.execute("PRAGMA synchronous=NORMAL")
            version = self._version()
            if version != SCHEMA_VERSION:  # new, or older: the tables it lacks
                # (WAL is a property of the file: set once, not on every open)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.executescript(_SCHEMA)
                if version is not None and version.isdigit() and int(version) < 4:
                    self._virus_from_av_log()
                self.db.execute("INSERT OR REPLACE INTO meta VALUES('schema', ?)",
                                (SCHEMA_VERSION,))  # fmt: skip
                self.db.commit()

    def _virus_from_av_log(self) -> None:
        """A store of schema 1-3: its ``msgvirus`` rows came from the SMTP summaries (now
        ``msgvirusrejected``), and its anti-virus logs were read for nothing: they are
        forgotten, to be read again by the next ingest."""
        db = self.db
        for table in ("minute_file", "minute", "rollup", "hour_file"):
            db.execute(f"UPDATE {table} SET counter='msgvirusrejected' WHERE counter='msgvirus'")
        for file_id, server in db.execute(
            "SELECT id, server FROM files WHERE service='antivirus'").fetchall():  # fmt: skip
            touched = self.forget_file(db, file_id, server)
            db.execute("DELETE FROM files WHERE id=?", (file_id,))
            self.rebuild_rollups(db, server, touched)

    def _version(self) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError:
            return None
        return str(row[0]) if row else None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    # -- files -------------------------------------------------------------------------

    def files(self) -> dict[str, FileRecord]:
        rows = self.db.execute(
            "SELECT id, path, logical, service, day, server, dev, ino, size, mtime_ns,"
            " head_len, head_hash, offset, state, gz FROM files"
        ).fetchall()
        out = {}
        for r in rows:
            rec = out[r[1]] = FileRecord(*r)
            rec.gz = bool(rec.gz)
        return out

    def identities(self) -> dict[str, tuple[int, int, int, int]]:
        """path -> (device, inode, size, mtime_ns) as last seen: the warm check (a stat of
        each log compared with these; the full records only for the files that differ)."""
        return {r[0]: r[1:] for r in self.db.execute(
            "SELECT path, dev, ino, size, mtime_ns FROM files")}  # fmt: skip

    def records(self, paths: Iterable[str]) -> dict[str, FileRecord]:
        """The full records (with their parser state) of these paths."""
        out = {}
        for path in paths:
            r = self.db.execute(
                "SELECT id, path, logical, service, day, server, dev, ino, size, mtime_ns,"
                " head_len, head_hash, offset, state, gz FROM files WHERE path=?",
                (path,),
            ).fetchone()
            if r is not None:
                rec = out[r[1]] = FileRecord(*r)
                rec.gz = bool(rec.gz)
        return out

    def ignored(self, log_dir: str) -> set[str]:
        """Paths under ``log_dir`` whose names are not logs iwtui counts (mail flow,
        performance, errors, not a log name): remembered so that a warm check parses no
        name. Kept for one log folder and one iwtui version; any other clears them."""
        self._ignored_for(log_dir)
        return {r[0] for r in self.db.execute("SELECT path FROM ignored")}

    def add_ignored(self, log_dir: str, paths: Iterable[str]) -> None:
        self._ignored_for(log_dir)
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO ignored VALUES(?, ?)",
                           [(p, log_dir) for p in paths])  # fmt: skip

    def _ignored_for(self, log_dir: str) -> None:
        from iwtui import __version__

        key = f"{__version__}|{log_dir}"
        row = self.db.execute("SELECT value FROM meta WHERE key='ignored_for'").fetchone()
        if row is None or row[0] != key:
            with self.transaction() as db:
                db.execute("DELETE FROM ignored")
                db.execute("INSERT OR REPLACE INTO meta VALUES('ignored_for', ?)", (key,))

    def logicals(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT logical FROM files")}

    def save_file(self, db: sqlite3.Connection, rec: FileRecord) -> int:
        values = (rec.path, rec.logical, rec.service, rec.day, rec.server, rec.dev, rec.ino,
                  rec.size, rec.mtime_ns, rec.head_len, rec.head_hash, rec.offset, rec.state,
                  int(rec.gz))  # fmt: skip
        if rec.id:
            db.execute(
                "UPDATE files SET path=?, logical=?, service=?, day=?, server=?, dev=?, ino=?,"
                " size=?, mtime_ns=?, head_len=?, head_hash=?, offset=?, state=?, gz=?"
                " WHERE id=?",
                (*values, rec.id),
            )
            return rec.id
        cur = db.execute(
            "INSERT INTO files(path, logical, service, day, server, dev, ino, size, mtime_ns,"
            " head_len, head_hash, offset, state, gz) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            values,
        )
        rec.id = int(cur.lastrowid or 0)
        return rec.id

    def touch_file(self, rec: FileRecord) -> None:
        """Nothing new, but the size/mtime seen changed (e.g. a half line was added)."""
        with self.transaction() as db:
            self.save_file(db, rec)

    def forget_file(
        self, db: sqlite3.Connection, file_id: int, server: str
    ) -> set[tuple[str, int]]:
        """Take back everything a file gave (it was truncated or replaced). Returns the
        (service, hour number) pairs whose rollups must be rebuilt."""
        rows = db.execute(
            "SELECT service, counter, minute, value FROM minute_file WHERE file_id=?", (file_id,)
        ).fetchall()
        db.executemany(
            "UPDATE minute SET value = value - ? WHERE server=? AND service=? AND counter=?"
            " AND minute=?",
            [(v, server, s, c, m) for s, c, m, v in rows],
        )
        db.execute("DELETE FROM minute WHERE value = 0 AND server=?", (server,))
        db.execute("DELETE FROM minute_file WHERE file_id=?", (file_id,))
        # hours whose minutes were thinned: their totals lose what the file gave (their
        # busiest minute cannot be taken back: it stays, at most the hour's new total)
        hours = db.execute(
            "SELECT service, counter, hour, total FROM hour_file WHERE file_id=?", (file_id,)
        ).fetchall()
        db.executemany(
            "UPDATE rollup SET total = total - ?, peak = min(peak, total - ?) WHERE server=?"
            " AND service=? AND counter=? AND step_s=3600 AND t=?",
            [(v, v, server, s, c, h * 60) for s, c, h, v in hours],
        )
        db.execute("DELETE FROM rollup WHERE total <= 0 AND step_s=3600 AND server=?", (server,))
        db.execute("DELETE FROM hour_file WHERE file_id=?", (file_id,))
        db.execute("DELETE FROM starts WHERE file_id=?", (file_id,))
        days = [r[0] for r in db.execute(
            "SELECT DISTINCT day FROM account_file WHERE file_id=?", (file_id,))]  # fmt: skip
        db.execute("DELETE FROM account_file WHERE file_id=?", (file_id,))
        for day in days:
            self._rebuild_account_day(db, server, day)
        return {(s, m // 60) for s, _c, m, _v in rows} | {(s, h) for s, _c, h, _v in hours}

    def _rebuild_account_day(self, db: sqlite3.Connection, server: str, day: str) -> None:
        db.execute("DELETE FROM account_day WHERE server=? AND day=?", (server, day))
        db.execute(
            "INSERT INTO account_day SELECT server, day, account, sum(received_count),"
            " sum(received_bytes), sum(sent_count), sum(sent_bytes), sum(sent_out_count),"
            " sum(sent_out_bytes), max(last_sent), max(last_received), max(last_login), NULL"
            " FROM account_file WHERE server=? AND day=? GROUP BY account",
            (server, day),
        )
        db.execute(
            "UPDATE account_day SET last_ip = (SELECT f.last_ip FROM account_file f"
            " WHERE f.server = account_day.server AND f.day = account_day.day"
            " AND f.account = account_day.account AND f.last_login = account_day.last_login"
            " LIMIT 1) WHERE server=? AND day=? AND last_login IS NOT NULL",
            (server, day),
        )

    # -- adding what a file gave ---------------------------------------------------------

    def add_counts(self, db: sqlite3.Connection, file_id: int, server: str, service: str,
                   counts: dict[str, dict[int, int]]) -> None:  # fmt: skip
        unknown = set(counts) - set(ALL_NAMES)
        if unknown:  # (the range queries list the names: a counter must be one of them)
            raise ValueError(f"counters not in counters.ALL_NAMES: {sorted(unknown)}")
        rows = [(c, m, v) for c, by_minute in counts.items() for m, v in by_minute.items() if v]
        start = self.minutes_from(db)
        if start and any(m < start for _c, m, _v in rows):
            self._add_thinned(db, file_id, server, service, [r for r in rows if r[1] < start])
            rows = [r for r in rows if r[1] >= start]
        db.executemany(
            "INSERT INTO minute_file VALUES(?,?,?,?,?) ON CONFLICT DO UPDATE"
            " SET value = value + excluded.value",
            [(file_id, service, c, m, v) for c, m, v in rows],
        )
        db.executemany(
            "INSERT INTO minute VALUES(?,?,?,?,?) ON CONFLICT DO UPDATE"
            " SET value = value + excluded.value",
            [(server, service, c, m, v) for c, m, v in rows],
        )

    def _add_thinned(self, db: sqlite3.Connection, file_id: int, server: str, service: str,
                     rows: list[tuple[str, int, int]]) -> None:  # fmt: skip
        """Counts of minutes already thinned (a file read after its day left the minute
        window): added to its hours directly. The hour's busiest minute becomes the larger
        of the stored one and this file's (the other files' minutes are gone)."""
        hours: dict[tuple[str, int], list[int]] = {}
        for c, m, v in rows:
            acc = hours.setdefault((c, m // 60), [0, 0])
            acc[0] += v
            acc[1] = max(acc[1], v)
        values = [(c, h, total, peak) for (c, h), (total, peak) in hours.items()]
        db.executemany(
            "INSERT INTO hour_file VALUES(?,?,?,?,?,?) ON CONFLICT DO UPDATE"
            " SET total = total + excluded.total, peak = max(peak, excluded.peak)",
            [(file_id, service, c, h, total, peak) for c, h, total, peak in values],
        )
        db.executemany(
            "INSERT INTO rollup VALUES(?,?,?,3600,?,?,?) ON CONFLICT DO UPDATE"
            " SET total = total + excluded.total, peak = max(peak, excluded.peak)",
            [(server, service, c, h * 60, total, peak) for c, h, total, peak in values],
        )

    def minutes_from(self, db: sqlite3.Connection | None = None) -> int:
        """The first minute whose minute rows are kept (0: none thinned yet)."""
        row = (db or self.db).execute(
            "SELECT value FROM meta WHERE key='minutes_from'").fetchone()  # fmt: skip
        return int(row[0]) if row else 0

    def thin(self, db: sqlite3.Connection, newest_day: int | None = None,
             days: int = MINUTE_DAYS) -> int:  # fmt: skip
        """Minute rows older than the newest ``days`` days of the store (the newest
        minute's day, or tomorrow if that is later, and the ``days - 1`` before it) go: what each file gave to their hours
        is kept in ``hour_file``, the hours and days in ``rollup`` (already built from
        them). Returns the first minute kept (0: nothing to thin). ``newest_day``
        (an ordinal): the newest day an ingest just wrote, instead of the store's newest
        minute (a scan of the whole table: the console ingests every second)."""
        if newest_day is None:
            newest = db.execute("SELECT max(minute) FROM minute").fetchone()[0]
            if newest is None:
                return 0
            newest_day = int(newest) // 1440
        # a date in the future (a wrong clock, a file named so) thins nothing of the present
        from datetime import date

        newest_day = min(newest_day, date.today().toordinal() + 1)
        start = (newest_day - days + 1) * 1440
        if start <= self.minutes_from(db):
            return 0
        old = db.execute("SELECT min(minute) FROM minute WHERE minute < ?", (start,)).fetchone()
        if old[0] is not None:
            db.execute(
                "INSERT INTO hour_file SELECT file_id, service, counter, minute / 60, sum(value),"
                " max(value) FROM minute_file WHERE minute < ? GROUP BY file_id, service,"
                " counter, minute / 60 ON CONFLICT DO UPDATE"
                " SET total = total + excluded.total, peak = max(peak, excluded.peak)",
                (start,),
            )
            db.execute("DELETE FROM minute_file WHERE minute < ?", (start,))
            db.execute("DELETE FROM minute WHERE minute < ?", (start,))
        db.execute("INSERT OR REPLACE INTO meta VALUES('minutes_from', ?)", (str(start),))
        return start

    def add_starts(self, db: sqlite3.Connection, file_id: int, service: str,
                   starts: Iterable[str]) -> None:  # fmt: skip
        db.executemany(
            "INSERT OR IGNORE INTO starts VALUES(?,?,?)", [(file_id, service, t) for t in starts]
        )

    def add_accounts(self, db: sqlite3.Connection, file_id: int, server: str,
                     rows: dict[tuple[str, str], list[Any]]) -> None:  # fmt: skip
        values = [(server, day, account, *row) for (day, account), row in rows.items()]
        db.executemany(
            f"INSERT INTO account_file VALUES({file_id},?,?,?,?,?,?,?,?,?,?,?,?,?)"
            f" ON CONFLICT DO UPDATE SET {_ACC_SET}",
            values,
        )
        db.executemany(
            f"INSERT INTO account_day VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)"
            f" ON CONFLICT DO UPDATE SET {_ACC_SET}",
            values,
        )

    def rebuild_rollups(self, db: sqlite3.Connection, server: str,
                        touched: Iterable[tuple[str, int]]) -> None:  # fmt: skip
        """Rebuild the touched (service, hour number = minute // 60) hours from the minute
        table, then their days from the hours (a day's peak is its busiest hour's peak)."""
        days: set[tuple[str, int]] = set()
        start = self.minutes_from(db)
        for service, hour in sorted(set(touched)):
            lo = hour * 60
            if lo < start:  # thinned: its hour row is kept up to date by itself
                days.add((service, hour // 24))
                continue
            db.execute(
                "DELETE FROM rollup WHERE server=? AND service=? AND step_s=3600 AND t=?",
                (server, service, lo),
            )
            db.execute(
                "INSERT INTO rollup SELECT server, service, counter, 3600, ?, sum(value),"
                f" max(value) FROM minute WHERE server=? AND service=? AND {_IN_COUNTERS}"
                " AND minute >= ? AND minute < ? AND value != 0 GROUP BY counter",
                (lo, server, service, lo, lo + 60),
            )
            days.add((service, hour // 24))
        for service, day in sorted(days):
            lo = day * 1440
            db.execute(
                "DELETE FROM rollup WHERE server=? AND service=? AND step_s=86400 AND t=?",
                (server, service, lo),
            )
            db.execute(
                "INSERT INTO rollup SELECT server, service, counter, 86400, ?, sum(total),"
                f" max(peak) FROM rollup WHERE server=? AND service=? AND {_IN_COUNTERS}"
                " AND step_s=3600 AND t >= ? AND t < ? GROUP BY counter",
                (lo, server, service, lo, lo + 1440),
            )

    # -- reading -------------------------------------------------------------------------

    def minutes(self, server: str, service: str, counter: str, lo: int, hi: int
                ) -> list[tuple[int, int]]:  # fmt: skip
        return self.db.execute(
            "SELECT minute, value FROM minute WHERE server=? AND service=? AND counter=?"
            " AND minute >= ? AND minute < ? ORDER BY minute",
            (server, service, counter, lo, hi),
        ).fetchall()

    def rollups(self, server: str, service: str, counter: str, step_s: int, lo: int, hi: int
                ) -> list[tuple[int, int, int]]:  # fmt: skip
        return self.db.execute(
            "SELECT t, total, peak FROM rollup WHERE server=? AND service=? AND counter=?"
            " AND step_s=? AND t >= ? AND t < ? ORDER BY t",
            (server, service, counter, step_s, lo, hi),
        ).fetchall()

    def starts(self, service: str, day: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT t FROM starts WHERE service=? AND t >= ? AND t < ? ORDER BY t",
            (service, f"{day}T", f"{day}U"))]  # fmt: skip

    def services(self, server: str) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT DISTINCT service FROM rollup WHERE server=? AND step_s=86400", (server,)
            )
        ]

    def totals(
        self, server: str, service: str, lo: int, hi: int
    ) -> dict[str, tuple[int, int, int]]:
        """counter -> (total, peak minute value, peak minute) over [lo, hi). Where the
        minutes were thinned, from the hour rollups: [lo, hi) widened to whole hours there,
        and the peak minute is the start of the busiest minute's hour."""
        out: dict[str, tuple[int, int, int]] = {}
        start = self.minutes_from()
        if lo < start:
            for counter, t, total, peak in self.db.execute(
                "SELECT counter, t, total, peak FROM rollup WHERE server=? AND service=?"
                f" AND {_IN_COUNTERS} AND step_s=3600 AND t >= ? AND t < ? ORDER BY t",
                (server, service, lo - lo % 60, min(hi, start)),
            ):
                got = out.get(counter, (0, 0, -1))
                best = (peak, t) if peak > got[1] else (got[1], got[2])
                out[counter] = (got[0] + int(total), int(best[0]), int(best[1]))
            lo = start
            if lo >= hi:
                return out
        for counter, total, peak, minute in self.db.execute(
            "SELECT counter, sum(value), max(value), minute FROM minute WHERE server=?"
            f" AND service=? AND {_IN_COUNTERS} AND minute >= ? AND minute < ? GROUP BY counter",
            (server, service, lo, hi),
        ):
            got = out.get(counter, (0, 0, -1))
            best = (peak, minute) if peak > got[1] else (got[1], got[2])
            out[counter] = (got[0] + int(total), int(best[0]), int(best[1]))
        return out
