"""Per-account totals over a period, read from month totals kept beside ``account_day``.

The traffic ingest writes ``account_day`` (one row per server, day and account; see
``traffic.accounts_feed`` for the definitions). Summing a month of it (50,000 accounts,
~500,000 rows) costs SQLite about a second, so Account Statistics keeps, in the same store:

- ``account_month`` (server, month ``YYYY-MM``, account): the month's sums and newest
  ``last_*`` (``last_ip`` the IP of the newest login), the same shape as ``account_day``;
- ``account_month_info`` (server, month): the first and last day that has rows, and
  ``dirty`` when the month must be summed again from its days.

SQLite triggers on ``account_day`` keep them up to date as the ingest writes, in the same
transaction (nothing in the traffic engine knows of them): an inserted row is added to its
month; an updated row that only grew (the ingest's upsert: counts added, ``last_*`` newer)
adds the difference; any other update, and a delete (a log file taken back), marks the month
dirty, and the next reader that needs the whole month sums it again from ``account_day``.
(``INSERT OR REPLACE`` over an existing row fires no delete trigger: the traffic store never
does it.) The triggers are created on first use; until then, and whenever they are missing
or of another version, every month is marked dirty.

A period takes from ``account_month`` each month it covers whole (every day of that month
that has rows), and sums ``account_day`` only for the days of the months it cuts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

VERSION = "1"

# the columns of account_day and account_month after the key, in this order
NUMBERS = ("received_count", "received_bytes", "sent_count", "sent_bytes", "sent_out_count",
           "sent_out_bytes")  # fmt: skip
TIMES = ("last_sent", "last_received", "last_login")
TRIGGERS = ("account_month_ins", "account_month_grow", "account_month_upd", "account_month_del")

# (received_count, received_bytes, sent_count, sent_bytes, sent_out_count, sent_out_bytes,
#  last_sent, last_received, last_login, last_ip)
Totals = tuple[int, int, int, int, int, int, str | None, str | None, str | None, str | None]

_TABLES = """
CREATE TABLE IF NOT EXISTS account_month(
    server TEXT, month TEXT, account TEXT,
    received_count INTEGER, received_bytes INTEGER, sent_count INTEGER, sent_bytes INTEGER,
    sent_out_count INTEGER, sent_out_bytes INTEGER,
    last_sent TEXT, last_received TEXT, last_login TEXT, last_ip TEXT,
    PRIMARY KEY(server, month, account)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS account_month_info(
    server TEXT, month TEXT, lo TEXT, hi TEXT, dirty INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(server, month)) WITHOUT ROWID;
"""


def _newest(col: str, value: str) -> str:
    return f"{col} = coalesce(max({col}, {value}), {col}, {value})"


def _ip(login: str, ip: str) -> str:
    # the IP goes with the newest login (a tie: the later write), as in account_day
    return (f"last_ip = CASE WHEN {login} IS NOT NULL AND (last_login IS NULL OR"
            f" {login} >= last_login) THEN {ip} ELSE last_ip END")  # fmt: skip


_ADD = ",\n    ".join(
    [f"{c} = {c} + excluded.{c}" for c in NUMBERS]
    + [_newest(c, f"excluded.{c}") for c in TIMES[:2]]
    + [_ip("excluded.last_login", "excluded.last_ip"), _newest("last_login", "excluded.last_login")]
)
_GROW = ",\n    ".join(
    [f"{c} = {c} + coalesce(new.{c}, 0) - coalesce(old.{c}, 0)" for c in NUMBERS]
    + [_newest(c, f"new.{c}") for c in TIMES[:2]]
    + [_ip("new.last_login", "new.last_ip"), _newest("last_login", "new.last_login")]
)
# an update that only grew the row: same key, every last_* kept or newer
_GREW = " AND ".join(
    ["new.server IS old.server", "new.day IS old.day", "new.account IS old.account"]
    + [f"(old.{c} IS NULL OR coalesce(new.{c} >= old.{c}, 0))" for c in TIMES]
)
_MONTH = "substr(new.day, 1, 7)"
_KEY = f"server = new.server AND month = {_MONTH} AND account = new.account"


def _dirty(row: str) -> str:
    return (f"INSERT INTO account_month_info VALUES({row}.server, substr({row}.day, 1, 7),"
            f" {row}.day, {row}.day, 1) ON CONFLICT DO UPDATE SET dirty = 1,"
            " lo = min(lo, excluded.lo), hi = max(hi, excluded.hi);")  # fmt: skip


_TRIGGERS = f"""
CREATE TRIGGER account_month_ins AFTER INSERT ON account_day BEGIN
  INSERT INTO account_month VALUES(new.server, {_MONTH}, new.account,
    {", ".join(f"coalesce(new.{c}, 0)" for c in NUMBERS)},
    new.last_sent, new.last_received, new.last_login, new.last_ip)
  ON CONFLICT DO UPDATE SET
    {_ADD};
  INSERT INTO account_month_info VALUES(new.server, {_MONTH}, new.day, new.day, 0)
  ON CONFLICT DO UPDATE SET lo = min(lo, excluded.lo), hi = max(hi, excluded.hi);
END;
CREATE TRIGGER account_month_grow AFTER UPDATE ON account_day WHEN {_GREW} BEGIN
  UPDATE account_month SET
    {_GROW}
  WHERE {_KEY};
END;
CREATE TRIGGER account_month_upd AFTER UPDATE ON account_day WHEN NOT ({_GREW}) BEGIN
  {_dirty("old")}
  {_dirty("new")}
END;
CREATE TRIGGER account_month_del AFTER DELETE ON account_day BEGIN
  {_dirty("old")}
END;
"""


def _installed(db: sqlite3.Connection) -> bool:
    names = {r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='account_day'")}  # fmt: skip
    if not names.issuperset(TRIGGERS):
        return False
    row = db.execute("SELECT value FROM meta WHERE key='account_month'").fetchone()
    return bool(row) and row[0] == VERSION


def install(db: sqlite3.Connection) -> None:
    """Create the month tables and the triggers (again, when missing or of another
    version); every month is then dirty. Its own transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for name in TRIGGERS:
            db.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in _TABLES.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("DELETE FROM account_month")
        db.execute("DELETE FROM account_month_info")
        db.execute(
            "INSERT INTO account_month_info SELECT server, substr(day, 1, 7), min(day),"
            " max(day), 1 FROM account_day GROUP BY server, substr(day, 1, 7)"
        )
        for statement in _TRIGGERS.split("END;"):
            if statement.strip():
                db.execute(statement + "END;")
        db.execute("INSERT OR REPLACE INTO meta VALUES('account_month', ?)", (VERSION,))
    except BaseException:
        db.rollback()
        raise
    db.commit()


def rebuild(db: sqlite3.Connection, server: str, month: str) -> None:
    """Sum one month again from its days (its own transaction)."""
    first, last = f"{month}-01", f"{month}-31"
    sums, args = _query([], [(server, first, last)])
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM account_month WHERE server=? AND month=?", (server, month))
        db.execute(f"INSERT INTO account_month SELECT ?, ?, * FROM ({sums})",
                   [server, month, *args])  # fmt: skip
        db.execute("DELETE FROM account_month_info WHERE server=? AND month=?", (server, month))
        db.execute(
            "INSERT INTO account_month_info SELECT server, ?, min(day), max(day), 0"
            " FROM account_day WHERE server=? AND day >= ? AND day <= ? GROUP BY server",
            (month, server, first, last),
        )
    except BaseException:
        db.rollback()
        raise
    db.commit()


def _parts(db: sqlite3.Connection, lo: str, hi: str, *, again: bool
           ) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:  # fmt: skip
    """The months the period covers whole (server, month), and the day ranges of the months
    it cuts (server, first day, last day). ``again``: a dirty month covered whole is summed
    again first."""
    whole: list[tuple[str, str]] = []
    cut: list[tuple[str, str, str]] = []
    for server, month, first, last, dirty in db.execute(
        "SELECT server, month, lo, hi, dirty FROM account_month_info WHERE month >= ?"
        " AND month <= ? ORDER BY server, month",
        (lo[:7], hi[:7]),
    ).fetchall():
        if again and dirty and lo <= first and last <= hi:
            try:
                rebuild(db, server, month)
            except sqlite3.Error:
                pass  # read-only or busy: its days are summed instead
            else:
                row = db.execute(
                    "SELECT lo, hi, dirty FROM account_month_info WHERE server=? AND month=?",
                    (server, month),
                ).fetchone()
                if row is None:
                    continue  # no rows left
                first, last, dirty = row
        if not dirty and lo <= first and last <= hi:
            whole.append((server, month))
        else:
            cut.append((server, max(lo, f"{month}-01"), min(hi, f"{month}-31")))
    return whole, cut


_COLS = ", ".join(NUMBERS)
_DAY_LI = "last_login || char(1) || coalesce(last_ip, '')"


def _query(whole: list[tuple[str, str]], cut: list[tuple[str, str, str]]) -> tuple[str, list[Any]]:
    if len(whole) == 1 and not cut:
        return (f"SELECT account, {_COLS}, last_sent, last_received, last_login, last_ip"
                " FROM account_month WHERE server=? AND month=?", list(whole[0]))  # fmt: skip
    parts: list[str] = []
    args: list[Any] = []
    for key in whole:
        parts.append(f"SELECT account, {_COLS}, last_sent, last_received, {_DAY_LI} AS li"
                     " FROM account_month WHERE server=? AND month=?")  # fmt: skip
        args += key
    for days in cut:
        parts.append(f"SELECT account, {_COLS}, last_sent, last_received, {_DAY_LI} AS li"
                     " FROM account_day WHERE server=? AND day >= ? AND day <= ?")  # fmt: skip
        args += days
    sums = ", ".join(f"coalesce(sum({c}), 0)" for c in NUMBERS)
    return (
        f"SELECT account, {sums}, max(last_sent), max(last_received),"
        " nullif(substr(max(li), 1, instr(max(li), char(1)) - 1), ''),"
        " nullif(substr(max(li), instr(max(li), char(1)) + 1), '')"
        f" FROM ({' UNION ALL '.join(parts)}) GROUP BY account",
        args,
    )


def ready(db: sqlite3.Connection) -> bool:
    """The month tables and triggers are there (created now when missing); False when
    they cannot be (a read-only store)."""
    try:
        if not _installed(db):
            install(db)
    except sqlite3.Error:
        return False
    return True


def day_range(db: sqlite3.Connection) -> tuple[str, str] | None:
    """The first and last day the store has account rows for."""
    if not ready(db):
        row = db.execute("SELECT min(day), max(day) FROM account_day").fetchone()
        return (row[0], row[1]) if row and row[0] else None
    days: list[str] = []
    for server, month, lo, hi, dirty in db.execute(
        "SELECT server, month, lo, hi, dirty FROM account_month_info"
    ).fetchall():
        if dirty:  # its bounds may be wider than its rows now
            lo, hi = db.execute(
                "SELECT min(day), max(day) FROM account_day WHERE server=? AND day >= ?"
                " AND day <= ?",
                (server, f"{month}-01", f"{month}-31"),
            ).fetchone()
        if lo:
            days += (lo, hi)
    return (min(days), max(days)) if days else None


def account_totals(db: sqlite3.Connection, lo: str, hi: str) -> dict[str, Totals]:
    """account -> its totals over ``lo``..``hi`` (ISO days, both included), every server
    of the store: the same numbers as ``traffic.accounts_feed.account_totals``."""
    if not ready(db):
        return _from_days(db, lo, hi)  # read-only store: the days, the slow way
    _parts(db, lo, hi, again=True)  # dirty months summed again (their own transactions)
    db.execute("BEGIN")  # then one snapshot: the months' bounds and their rows agree
    try:
        whole, cut = _parts(db, lo, hi, again=False)
        if not whole and not cut:
            return {}
        sql, args = _query(whole, cut)
        return {r[0]: r[1:] for r in db.execute(sql, args)}
    finally:
        db.commit()


def _from_days(db: sqlite3.Connection, lo: str, hi: str) -> dict[str, Totals]:
    sql, args = _query([], [(s, lo, hi) for (s,) in _servers(db)])
    return {r[0]: r[1:] for r in db.execute(sql, args)} if args else {}


def _servers(db: sqlite3.Connection) -> Iterable[tuple[str]]:
    return db.execute("SELECT DISTINCT server FROM account_day").fetchall()
