"""Account Statistics' month totals (``accounts.totals``) against the day rows they roll up
(``traffic.accounts_feed.account_totals``, a plain GROUP BY over ``account_day``): after
the first read, after the traffic store's own writes (upserts of a growing day, a file
taken back, an update that is not a growth), for periods that cover months whole, cut
them, cross them; and the real ingest feeding both with the triggers in place."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from iwtui.icewarp.accounts import totals
from iwtui.icewarp.install import Install
from iwtui.icewarp.traffic.accounts_feed import account_totals as by_days
from iwtui.icewarp.traffic.ingest import ingest
from iwtui.icewarp.traffic.store import Store

ACCOUNTS = [f"u{i}@d{i % 3}.test" for i in range(12)]
SERVERS = ["", "node2"]
FIRST = date(2025, 12, 20)  # 50 days: Dec 20 .. Feb 7
PERIODS = [
    ("2025-12-01", "2025-12-31"),  # December whole
    ("2026-01-01", "2026-01-31"),  # January whole
    ("2026-01-01", "2026-01-30"),  # January cut by a day
    ("2026-01-05", "2026-01-12"),  # inside a month
    ("2025-12-25", "2026-02-03"),  # across three months, two of them cut
    ("2025-12-20", "2026-02-07"),  # every day
    ("2025-01-01", "2027-12-31"),  # wider than the data
    ("2026-01-15", "2026-01-15"),  # one day
    ("2026-03-01", "2026-03-31"),  # no data
]


def _rows(rng: random.Random, n: int, salt: int) -> dict[tuple[str, str], list[object]]:
    """(day, account) -> the ingest's row (counts, last_sent, last_received, last_login,
    last_ip); times unique (no ties for the IP to choose between)."""
    out: dict[tuple[str, str], list[object]] = {}
    for _ in range(n):
        d = FIRST + timedelta(days=rng.randrange(50))
        account = rng.choice(ACCOUNTS)
        sec = rng.randrange(86400 // 4) * 4 + salt
        t = f"{d.isoformat()}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
        login = t if rng.random() < 0.6 else None
        out[(d.isoformat(), account)] = [
            rng.randrange(5), rng.randrange(9000), rng.randrange(4), rng.randrange(7000),
            rng.randrange(3), rng.randrange(5000),
            t if rng.random() < 0.7 else None, t if rng.random() < 0.7 else None,
            login, f"10.{salt}.{rng.randrange(256)}.{rng.randrange(256)}" if login else None,
        ]  # fmt: skip
    return out


def _reference(store: Store, lo: str, hi: str) -> dict[str, totals.Totals]:
    return {
        a: (t.received_count, t.received_bytes, t.sent_count, t.sent_bytes, t.sent_out_count,
            t.sent_out_bytes, t.last_sent, t.last_received, t.last_login, t.last_ip)
        for a, t in by_days(store, lo, hi).items()
    }  # fmt: skip


def _check(store: Store) -> None:
    for lo, hi in PERIODS:
        assert totals.account_totals(store.db, lo, hi) == _reference(store, lo, hi), (lo, hi)
    days = store.db.execute("SELECT min(day), max(day) FROM account_day").fetchone()
    assert totals.day_range(store.db) == (tuple(days) if days[0] else None)


def _add(store: Store, file_id: int, server: str, rows: dict[tuple[str, str], list[object]]
         ) -> None:  # fmt: skip
    with store.transaction() as db:
        store.add_accounts(db, file_id, server, rows)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "t.sqlite")


def test_month_totals_equal_the_day_rows_through_the_stores_writes(store: Store) -> None:
    rng = random.Random(12)
    _add(store, 1, "", _rows(rng, 300, 1))
    _add(store, 2, "node2", _rows(rng, 150, 2))
    _check(store)  # the first read: triggers created, months summed from their days
    info = store.db.execute("SELECT month, dirty FROM account_month_info WHERE server=''")
    assert dict(info.fetchall()) == {"2025-12": 0, "2026-01": 0, "2026-02": 0}
    # the period that covers January's days whole reads January from account_month
    whole, cut = totals._parts(store.db, "2026-01-01", "2026-01-31", again=False)
    assert ("", "2026-01") in whole and not any(c[1].startswith("2026-01") for c in cut)

    _add(store, 3, "", _rows(rng, 200, 3))  # the same days again: upserts that grow rows
    _add(store, 4, "", _rows(rng, 100, 0))  # and rows with older times than the day's
    dirty = store.db.execute("SELECT count(*) FROM account_month_info WHERE dirty").fetchone()
    assert dirty[0] == 0  # growth is rolled up as it is written
    _check(store)

    with store.transaction() as db:  # file 1 taken back (truncated, replaced)
        store.forget_file(db, 1, "")
    assert store.db.execute("SELECT count(*) FROM account_month_info WHERE dirty").fetchone()[0]
    _check(store)

    with store.db:  # an update that is not a growth: a login moved back, an IP changed
        store.db.execute(
            "UPDATE account_day SET last_login = '2025-12-20T00:00:01', last_ip = 'x'"
            " WHERE rowid IN (SELECT rowid FROM account_day WHERE last_login IS NOT NULL"
            " LIMIT 5)"
        )
        store.db.execute("UPDATE account_day SET received_count = received_count + 7")
        store.db.execute("DELETE FROM account_day WHERE account = ?", (ACCOUNTS[3],))
    _check(store)


def test_missing_or_old_triggers_are_made_again(store: Store) -> None:
    rng = random.Random(5)
    _add(store, 1, "", _rows(rng, 200, 1))
    _check(store)
    store.db.execute("DROP TRIGGER account_month_ins")  # e.g. an older iwtui wrote since
    _add(store, 2, "", _rows(rng, 100, 2))
    _check(store)
    with store.db:
        store.db.execute("UPDATE meta SET value = 'old' WHERE key = 'account_month'")
    _check(store)


def test_read_only_store_sums_the_days(store: Store, tmp_path: Path) -> None:
    _add(store, 1, "", _rows(random.Random(3), 200, 1))
    store.close()
    ro = Store(tmp_path / "t.sqlite", readonly=True)
    for lo, hi in PERIODS:
        assert totals.account_totals(ro.db, lo, hi) == _reference(ro, lo, hi)


def test_ingest_feeds_the_month_totals(sim_install: Install, tmp_path: Path) -> None:
    """The real ingest over the simulator's logs, the triggers already there (a first
    listing before any log was read), then log lines appended and read."""
    store = Store(tmp_path / "s.sqlite")
    assert totals.account_totals(store.db, "2026-01-01", "2026-01-31") == {}
    ingest(sim_install, store)
    days = totals.day_range(store.db)
    assert days is not None
    month = days[1][:7]
    for lo, hi in [(days[0], days[1]), (f"{month}-01", f"{month}-31"), (days[1], days[1])]:
        got = totals.account_totals(store.db, lo, hi)
        assert got == _reference(store, lo, hi) and got
    log = max((sim_install.log_dir / "smtp").glob("*.log"))
    with open(log, "a") as fh:
        fh.write("10.0.0.1        [7777] 23:59:58 *** <new.one@acme-corp.test>"
                 " <john.doe@acme-corp.test> 1 321 00:00:01 OK NEW\n")  # fmt: skip
    ingest(sim_install, store)
    got = totals.account_totals(store.db, days[0], days[1])
    assert got == _reference(store, days[0], days[1])
    assert got["new.one@acme-corp.test"][2:4] == (1, 321)
