"""The import against an independent reading of the same logs (the logs engine's own
regex parser and session grouper), on SQLite and PostgreSQL."""

from __future__ import annotations

import collections
import re
import zlib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iwtui.analyzer.db import Database, connect
from iwtui.analyzer.importer import Options, import_day
from iwtui.icewarp.logs.sessions import sessions_of_file
from iwtui.simulator import data as simdata
from iwtui.simulator.tree import SimOptions, build
from tests.conftest import FIXED_START
from tests.pg import fresh_db, pg_url  # noqa: F401  (fixture)

DAY = date(2026, 1, 15)
# the simulator's phrases -> the class it means (its own table, not the analyzer's)
SIM_CLASS = {phrase.casefold(): cls for _c, _e, phrase, cls in simdata.REJECTIONS}


def expected(path: Path, day: date) -> tuple[collections.Counter[str], int]:
    """lg_Error counts and the number of refused-before-summary rows, read with the logs
    engine (parse_line + Grouper), which shares no code with the bulk parser."""
    counts: collections.Counter[str] = collections.Counter()
    refused = 0
    tarpitted: set[str] = set()
    for s in sessions_of_file("smtp", day, path):
        # the logs engine ends a session at its intrusion-prevention line; what follows on
        # that thread (the 554 and the Disconnected) is the same connection
        if not s.connected and s.thread in tarpitted:
            tarpitted.discard(s.thread)
            continue
        if any(ln.kind == "tarpit" for ln in s.lines):
            tarpitted.add(s.thread)
        sums = [ln for ln in s.lines if ln.kind == "summary"]
        for ln in sums:
            counts[str(ln.fields["result"])] += 1
        if sums:
            continue
        kinds = {ln.kind for ln in s.lines}
        replies = [ln for ln in s.lines if ln.kind in ("reply", "greylist")
                   and int(ln.fields["code"]) >= 400]  # fmt: skip
        if "tarpit" in kinds:
            cls = "TARP"
        elif replies:
            text = str(replies[0].fields["text"]).casefold()
            cls = next((c for p, c in SIM_CLASS.items() if p in text), "ERROR")
            if "greylist" in text:
                cls = "GRLST"
        elif "login_failed" in kinds or "failure" in kinds:
            cls = "ERROR"
        else:
            continue
        counts[cls] += 1
        refused += 1
    return counts, refused


def smtp_counts(db: Database, server: str = "") -> collections.Counter[str]:
    _c, rows = db.query("SELECT lg_Error, count(*) FROM smtp WHERE lg_Server = ? GROUP BY "
                        "lg_Error", (server,))  # fmt: skip
    return collections.Counter({str(e): int(n) for e, n in rows})


def test_rows_match_an_independent_count(sim_root: Path, tmp_path: Path) -> None:
    log = sim_root / "logs" / "smtp" / "s20260115.log"
    want, refused = expected(log, DAY)
    assert refused > 5 and want["OK"] > 50 and want["TARP"] > 0  # the check has teeth
    db = connect(str(tmp_path / "a.sqlite"))
    res = import_day(sim_root / "logs", DAY, db, Options())
    assert smtp_counts(db) == want
    assert res.tables["smtp"].rows == sum(want.values())
    text = log.read_text()
    assert res.tables["smtp"].rows - refused == len(
        re.findall(r"\] \S+ (?:Client session )?\*\*\* ", text)
    )
    # every summary's message id and size made it
    _c, rows = db.query("SELECT lg_MessageID, lg_Size FROM smtp WHERE lg_Error = 'OK'")
    ids = dict(rows)
    for m in re.finditer(r"\*\*\* <[^>]*>.* (\d+) \d\d:\d\d:\d\d OK (\w+)", text):
        assert ids[m.group(2)] == int(m.group(1))
    # session fields: TLS and HELO of the session that carried the summary
    _c, rows = db.query("SELECT lg_Helo, lg_TLS, lg_ClientSession FROM smtp WHERE lg_Error='OK'")
    assert any(r[1] == 1 for r in rows) and any(r[2] == 1 for r in rows)
    assert all(r[0] for r in rows if r[2] == 0)
    # POP3 logins and anti-spam verdicts
    pop = (sim_root / "logs" / "pop3" / "p20260115.log").read_text()
    _c, prow = db.query("SELECT lg_Result, count(*) FROM pop3 GROUP BY lg_Result")
    got = dict(prow)
    assert got.get("OK", 0) == pop.count(" logged in")
    assert got.get("FAILED", 0) == pop.count("Authentication failed for ")
    spam = (sim_root / "logs" / "antispam" / "a20260115.log").read_text()
    _c, srow = db.query("SELECT count(*) FROM antispam")
    assert srow[0][0] == spam.count(" action ")


def test_reimport_is_idempotent_and_rollups_agree(sim_root: Path, tmp_path: Path) -> None:
    db = connect(str(tmp_path / "a.sqlite"))
    import_day(sim_root / "logs", DAY, db, Options())
    first = smtp_counts(db)
    import_day(sim_root / "logs", DAY, db, Options())
    assert smtp_counts(db) == first
    _c, rows = db.query("SELECT lg_Error, sum(msgs) FROM agg_hour GROUP BY lg_Error")
    assert collections.Counter({e: int(n) for e, n in rows}) == first


def test_helpers_and_range_stitching_give_the_same_rows(sim_root: Path, tmp_path: Path) -> None:
    one = connect(str(tmp_path / "one.sqlite"))
    many = connect(str(tmp_path / "many.sqlite"))
    import_day(sim_root / "logs", DAY, one, Options())
    res = import_day(sim_root / "logs", DAY, many,
                     Options(workers=2, split_bytes=40_000, inprocess_bytes=0))  # fmt: skip
    assert res.helpers == 2
    q = "SELECT * FROM smtp ORDER BY lg_TS, lg_ThreadID, lg_MessageID, lg_Error"
    assert one.query(q)[1] == many.query(q)[1]
    q2 = "SELECT * FROM agg_hour ORDER BY lg_Hour, lg_ClientSession, lg_Error"
    assert one.query(q2)[1] == many.query(q2)[1]


def test_rfc822_times_and_server_id_in_names(tmp_path: Path) -> None:
    root = tmp_path / "ice"
    build(root, SimOptions(seed=5, start=FIXED_START, log_mb=0.1, queue=2, quarantine=1,
                           tarpit=1, time_format="rfc822", server_id="3"))  # fmt: skip
    log = root / "logs" / "smtp" / "s320260115.log"
    assert log.is_file() and "Thu, 15 Jan 2026" in log.read_text()[:2000]
    db = connect(str(tmp_path / "a.sqlite"))
    res = import_day(root / "logs", DAY, db, Options())
    assert res.servers == ["3"]
    want, _r = expected(log, DAY)
    assert smtp_counts(db, "3") == want
    _c, rows = db.query("SELECT lg_Time FROM smtp WHERE lg_Server='3' ORDER BY lg_TS LIMIT 1")
    assert re.fullmatch(r"\d\d:\d\d:\d\d", rows[0][0])
    # an explicit server id wins over the file name's
    import_day(root / "logs", DAY, db, Options(server_id="edge"))
    assert smtp_counts(db, "edge") == want and smtp_counts(db, "3") == want


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(ln + "\n" for ln in lines))


def test_midnight_session_is_split_and_both_halves_marked(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    ip = "81.2.3.4        "
    _write(logs / "smtp" / "s20260114.log", [
        f"{ip}[0A01] 23:59:58 Connected",
        f"{ip}[0A01] 23:59:58 <<< EHLO mail.late.org",
        f"{ip}[0A01] 23:59:59 <<< MAIL From:<a@late.org>",
        f"{ip}[0B02] 23:59:59 Connected",
        f"{ip}[0B02] 23:59:59 *** <x@y.org> <u@icewarpdemo.com> 1 900 00:00:00 OK AAA00001",
        "SYSTEM          [0B02] 23:59:59 Disconnected",
    ])  # fmt: skip
    _write(logs / "smtp" / "s20260115.log", [
        f"{ip}[0A01] 00:00:01 <<< RCPT To:<u@icewarpdemo.com>",
        f"{ip}[0A01] 00:00:02 *** <a@late.org> <u@icewarpdemo.com> 1 1234 00:00:01 OK AAA00002",
        "SYSTEM          [0A01] 00:00:03 Disconnected",
    ])  # fmt: skip
    db = connect(str(tmp_path / "a.sqlite"))
    for d in (date(2026, 1, 14), date(2026, 1, 15)):
        import_day(logs, d, db, Options(raw=True))
    _c, rows = db.query("SELECT lg_Date, lg_ThreadID, lg_Midnight, lg_Error, lg_MessageID, "
                        "lg_Log FROM smtp ORDER BY lg_Date, lg_ThreadID")  # fmt: skip
    assert [r[:5] for r in rows] == [
        ("2026-01-14", "0A01", 1, "INCPLT", None),
        ("2026-01-14", "0B02", 0, "OK", "AAA00001"),
        ("2026-01-15", "0A01", 2, "OK", "AAA00002"),
    ]
    assert zlib.decompress(rows[0][5]).decode().endswith("<<< MAIL From:<a@late.org>")
    # a report joins the halves: same server and thread, the next day, 1 -> 2
    _c, joined = db.query(
        "SELECT a.lg_Helo, b.lg_MessageID FROM smtp a JOIN smtp b ON a.lg_Server = b.lg_Server "
        "AND a.lg_ThreadID = b.lg_ThreadID AND a.lg_Midnight = 1 AND b.lg_Midnight = 2"
    )
    assert joined == [("mail.late.org", "AAA00002")]


def test_two_servers_share_one_database(sim_root: Path, tmp_path: Path) -> None:
    db = connect(str(tmp_path / "a.sqlite"))
    import_day(sim_root / "logs", DAY, db, Options(server_id="one"))
    import_day(sim_root / "logs", DAY, db, Options(server_id="two"))
    import_day(sim_root / "logs", DAY, db, Options(server_id="one"))
    a, b = smtp_counts(db, "one"), smtp_counts(db, "two")
    assert a == b and sum(a.values()) > 100
    _c, rows = db.query("SELECT count(DISTINCT lg_Server) FROM agg_hour")
    assert rows[0][0] == 2


def test_retention_runs_the_users_sql_first(sim_root: Path, tmp_path: Path) -> None:
    db = connect(str(tmp_path / "a.sqlite"))
    old = date(2026, 1, 1)
    src = sim_root / "logs" / "smtp" / "s20260115.log"
    (sim_root / "logs" / "smtp" / "s20260101.log").write_bytes(src.read_bytes())
    import_day(sim_root / "logs", old, db, Options(logs=("smtp",)))
    db.execute("CREATE TABLE archive (day TEXT, msgs INTEGER)")
    sql = ("INSERT INTO archive SELECT lg_Date, count(*) FROM smtp GROUP BY lg_Date; "
           "INSERT INTO archive VALUES ('marker;with semicolon', 0)")  # fmt: skip
    # without keep_days the SQL is not run
    import_day(sim_root / "logs", DAY, db, Options(logs=("smtp",), pre_delete_sql=sql))
    assert db.query("SELECT count(*) FROM archive")[1] == [(0,)]
    res = import_day(sim_root / "logs", DAY, db,
                     Options(logs=("smtp",), keep_days=7, pre_delete_sql=sql))  # fmt: skip
    assert res.deleted_old > 0
    _c, days = db.query("SELECT DISTINCT lg_Date FROM smtp")
    assert days == [("2026-01-15",)]
    _c, arch = db.query("SELECT day, msgs FROM archive ORDER BY day")
    assert ("2026-01-01", res.tables["smtp"].rows) in [(d, n) for d, n in arch]
    assert arch[-1] == ("marker;with semicolon", 0)
    _c, agg = db.query("SELECT count(*) FROM agg_hour WHERE lg_Date = '2026-01-01'")
    assert agg == [(0,)]


def test_empty_first(sim_root: Path, tmp_path: Path) -> None:
    db = connect(str(tmp_path / "a.sqlite"))
    import_day(sim_root / "logs", DAY, db, Options(server_id="old"))
    import_day(sim_root / "logs", DAY, db, Options(server_id="new", empty_first=True))
    _c, rows = db.query("SELECT DISTINCT lg_Server FROM smtp")
    assert rows == [("new",)]


def test_fifo_and_links_are_never_read(sim_root: Path, tmp_path: Path) -> None:
    import os

    logs = sim_root / "logs"
    os.mkfifo(logs / "smtp" / "s20260110.log")
    (logs / "pop3" / "p20260110.log").symlink_to("/etc/passwd")
    db = connect(str(tmp_path / "a.sqlite"))
    res = import_day(logs, date(2026, 1, 10), db, Options())
    assert res.tables["smtp"].rows == 0 and res.tables["pop3"].rows == 0


def test_same_rows_on_sqlite_and_postgresql(sim_root: Path, tmp_path: Path,
                                            pg_url: str) -> None:  # noqa: F811  # fmt: skip
    lite = connect(str(tmp_path / "a.sqlite"))
    pg = connect(fresh_db(pg_url, "same_rows"))
    assert pg.engine == "postgresql"
    for db in (lite, pg):
        import_day(sim_root / "logs", DAY, db, Options(raw=True))
        import_day(sim_root / "logs", DAY, db, Options(raw=True))  # idempotent there too
    for table, order in (("smtp", "lg_TS, lg_ThreadID, lg_Error, lg_MessageID"),
                         ("pop3", "lg_TS, lg_ThreadID"), ("antispam", "lg_TS, lg_ThreadID, "
                          "lg_ToAccount"), ("agg_top", "dim, name")):  # fmt: skip
        q = f"SELECT * FROM {table} ORDER BY {order}"
        a, b = lite.query(q), pg.query(q)
        assert a[0] == b[0]
        got = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in b[1]]
        assert sorted(got, key=repr) == sorted(a[1], key=repr), table
    # the helper path (COPY) lands the same rows
    pg2 = connect(fresh_db(pg_url, "same_rows_copy"))
    import_day(sim_root / "logs", DAY, pg2, Options(split_bytes=50_000, inprocess_bytes=0))
    q = "SELECT lg_Error, count(*), sum(lg_Size) FROM smtp GROUP BY lg_Error ORDER BY lg_Error"
    assert pg2.query(q)[1] == [tuple(r) for r in lite.query(q)[1]]


@pytest.mark.parametrize("bad", [{"keep_days": 0}, {"logs": ["imap"]}, {"nope": 1},
                                 {"mail": {"to": ["not an address"]}}, {"raw": "yes"}])  # fmt: skip
def test_settings_refuse_bad_values(bad: dict[str, object]) -> None:
    from iwtui.analyzer.settings import parse
    from iwtui.errors import ConfigError

    with pytest.raises(ConfigError, match="analyzer"):
        parse(bad)


def test_settings_defaults_and_values(tmp_path: Path) -> None:
    from iwtui.analyzer.settings import parse

    s = parse({"server_id": 7, "logs": "smtp,pop3", "keep_days": 30,
               "pre_delete_sql": ["DELETE FROM x;", "SELECT 1"],
               "mail": {"from": "a@b.c", "to": "x@y.z, u@v.w", "reports": ["grand-totals"]}})  # fmt: skip
    assert s.server_id == "7" and s.logs == ("smtp", "pop3") and s.keep_days == 30
    assert s.pre_delete_sql == "DELETE FROM x;\nSELECT 1"
    assert s.mail.to == ("x@y.z", "u@v.w")
    assert parse(None).db_url(tmp_path) == str(tmp_path / "analyzer.sqlite")


def test_a_big_load_builds_the_indexes_after_the_rows(sim_root: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A table that receives at least ``rebuild_rows`` rows, and at least as many as it
    holds, is loaded without its secondary indexes, built again in the same transaction;
    a fuller table keeps them; a failed import leaves them in place."""
    from iwtui.analyzer import store
    from iwtui.analyzer.db import CACHE_KB, SORT_RUN_KB
    from iwtui.analyzer.schema import INDEXES

    smtp_idx = [n for n, t, _c in INDEXES if t == "smtp"]
    db = connect(str(tmp_path / "a.sqlite"))
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)

    def indexes() -> set[str]:
        return {str(r[0]) for r in db.query("SELECT name FROM sqlite_master WHERE type='index'")[1]}

    import_day(sim_root / "logs", DAY, db, Options(server_id="one", rebuild_rows=1))
    drops = [s for s in seen if s.startswith("DROP INDEX")]
    assert {f"DROP INDEX IF EXISTS {n}" for n in smtp_idx} <= set(drops)
    assert {n for n, _t, _c in INDEXES} <= indexes()
    # each index is sorted in small runs by helper threads (Database.index_builds), and
    # the connection gets its own cache back after the build
    cache = None
    for s in seen:
        if s.startswith("PRAGMA cache_size="):
            cache = s
        elif s.startswith("CREATE INDEX"):
            assert cache == f"PRAGMA cache_size=-{SORT_RUN_KB}", s
    assert cache == f"PRAGMA cache_size=-{CACHE_KB}"
    assert db.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KB
    assert db.execute("PRAGMA threads").fetchone()[0] == 0
    plan = db.query("EXPLAIN QUERY PLAN SELECT * FROM smtp WHERE lg_MessageID = 'x'")[1]
    assert "smtp_mid" in repr(plan)
    # the same rows as a load that kept its indexes
    ref = connect(str(tmp_path / "b.sqlite"))
    import_day(sim_root / "logs", DAY, ref, Options(server_id="one", rebuild_rows=10**9))
    q = "SELECT * FROM smtp ORDER BY lg_TS, lg_ThreadID, lg_MessageID, lg_Error"
    assert db.query(q)[1] == ref.query(q)[1]
    # a second server of the same size: still rebuilt; a third into a fuller table: kept
    import_day(sim_root / "logs", DAY, db, Options(server_id="two", rebuild_rows=1))
    seen.clear()
    import_day(sim_root / "logs", DAY, db, Options(server_id="three", rebuild_rows=1))
    assert not [s for s in seen if s.startswith("DROP INDEX IF EXISTS smtp")]
    # a failure after the drop rolls back to the indexed table
    db.execute("DELETE FROM smtp WHERE lg_Server <> 'one'")

    def boom(*_a: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "rollup_rows", boom)
    seen.clear()
    with pytest.raises(RuntimeError, match="disk full"):
        import_day(sim_root / "logs", DAY, db, Options(server_id="four", rebuild_rows=1))
    assert [s for s in seen if s.startswith("DROP INDEX IF EXISTS smtp")]
    assert {n for n, _t, _c in INDEXES} <= indexes()
    assert smtp_counts(db, "four") == collections.Counter()


def test_postgresql_big_load_rebuilds_its_indexes(sim_root: Path, tmp_path: Path,
                                                  pg_url: str) -> None:  # noqa: F811  # fmt: skip
    from iwtui.analyzer.schema import INDEXES

    pg = connect(fresh_db(pg_url, "rebuild"))
    lite = connect(str(tmp_path / "a.sqlite"))
    for db in (pg, lite):
        import_day(sim_root / "logs", DAY, db, Options(rebuild_rows=1, inprocess_bytes=0,
                                                       split_bytes=50_000))  # fmt: skip
    _c, rows = pg.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    assert {n for n, _t, _c in INDEXES} <= {str(r[0]) for r in rows}
    # the build's sort memory was for its transaction only
    default = pg.query("SELECT reset_val FROM pg_settings WHERE name = 'maintenance_work_mem'")
    assert pg.query("SELECT setting FROM pg_settings WHERE name = 'maintenance_work_mem'")[1] \
        == default[1]  # fmt: skip
    assert smtp_counts(pg) == smtp_counts(lite) and sum(smtp_counts(pg).values()) > 100


@pytest.mark.parametrize("row", [
    ("a\tb", None, 1, "c\\d", "e\nf", "g\rh", "i\x00j", 2.5, True, "\\N", ""),
    ("plain", None, 0, -3, 1.25, "", "x" * 300),
    (b"\x00\\x", None, "ok"),
    ("ok", b"zz"),
])  # fmt: skip
def test_copy_line_is_copy_text_field_by_field(row: tuple[object, ...]) -> None:
    from iwtui.analyzer.worker import copy_line, copy_text

    assert copy_line(row) == "\t".join(map(copy_text, row))


_PIECES = st.sampled_from([
    b"81.2.3.4 ", b"SYSTEM ", b"", b"x[", b"[1A05]", b"[1a05ABCD]", b"[1A05A]", b"[ZZZZ]", b" ",
    b"00:00:03", b"0:00:03", b"000:00:03", b".123", b".1234", b" +0100", b" -01", b"Thu, 15 Jan 2026 ",
    b"Client session ", b"Connected", b"Connecting to ", b"Disconnected", b"<<< EHLO x", b">>> 5",
    b"<<< 4", b"*** <a@b> <c@d> 1 2 00:00:01 OK M1", b"TLS conn", b"User u logged in", b"\n",
    b"\xff", b"... while issuing", b"Could not", b"Intrusion prevention",
])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=40))
def test_possessive_interest_regex_finds_what_the_plain_one_finds(parts: list[bytes]) -> None:
    """scan_fast.INTEREST (possessive quantifiers) against the same pattern without them,
    on text made of the pieces of a line in any order."""
    from iwtui.analyzer.scan_fast import INTEREST, REFERENCE

    text = b"".join(parts)
    ref = re.compile(REFERENCE)
    assert [(m.span(), m.groups()) for m in INTEREST.finditer(text)] == [
        (m.span(), m.groups()) for m in ref.finditer(text)
    ]


_SPAM_LINES = [
    "127.0.0.1       [1A07] 00:00:02 AGO1 '<p@seznam.cz>' '<j@ice.com>' 1 score 0.62 reason "
    "[SpamAssassin=0.20] action PASS",
    "127.0.0.1       [00001A07] 00:00:02 AGO2 'p@x.cz' '<<j@ice.com>>' 2 score -1 reason [] action "
    "REJECT tail",
    "127.0.0.1       [1A07] 0:00:02 AGO3 '<a@b>' '<c@d>' 1 score 1.5 reason [x] action PASS",
    "127.0.0.1       [1A07] 00:00:02.123 AGO4 '<a@b>' '<c@d>' 1 score 1.5 reason [x] action PASS",
    "127.0.0.1       [1A07] 00:00:02 -AGO5 '<a@b>' '<c@d>' 1 score 1.5 reason [x] action PASS",
    "čeština        [1A07] 00:00:02 AGO6 '<a@b>' '<c@d>' 1 score 1.5 reason [x] action PASS",
    "127.0.0.1 [1A07] Thu, 15 Jan 2026 00:00:02 +0100 AGO7 '<a@b>' '<c@d>' 1 score 2 reason [x] "
    "action QUARANTINE",
    "127.0.0.1       [1A07] 00:00:02 AGO8 '<a action b>' '<c@d>' 1 score 1.5 reason [x] action PASS",
    "127.0.0.1       [1A07] 00:00:02 no verdict here",
    "x" * 90 + " [1A07] 00:00:02 AGO9 '<a@b>' '<c@d>' 1 score 1.5 reason [x] action PASS",
]


@pytest.mark.parametrize("extra", [None, *range(len(_SPAM_LINES))])
def test_antispam_block_regex_gives_the_line_by_line_rows(extra: int | None) -> None:
    """Plain verdict lines go through one regex over the block; any other line that names
    an action sends the whole block line by line; both give the same rows."""
    from iwtui.analyzer.parse import LineParser

    lines = _SPAM_LINES[:2] * 3 + ([_SPAM_LINES[extra]] if extra is not None else [])
    data = ("\n".join(lines) + "\n").encode()
    fast = LineParser("antispam", "2026-01-15", "s", {"antispam": []})
    slow = LineParser("antispam", "2026-01-15", "s", {"antispam": []})
    slow._spam_block = lambda _d: False  # type: ignore[method-assign]
    fast.feed(data)
    slow.feed(data)
    assert fast.out == slow.out and fast.lines == slow.lines == len(lines)
    assert fast.rollup.spam == slow.rollup.spam
    assert len(fast.out["antispam"]) >= 6


def test_small_read_blocks_give_the_same_rows(sim_root: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Blocks cut at the last whole line (the cut line is read again with the next block,
    not copied), sessions spanning blocks: the rows of one big block."""
    from iwtui.analyzer import worker

    one = connect(str(tmp_path / "one.sqlite"))
    import_day(sim_root / "logs", DAY, one, Options())
    monkeypatch.setattr(worker, "BLOCK", 4096)
    small = connect(str(tmp_path / "small.sqlite"))
    res = import_day(sim_root / "logs", DAY, small, Options())
    assert res.helpers == 0  # in-process: the patched block size is the one read with
    for t in ("smtp", "pop3", "antispam", "agg_hour", "agg_top"):
        q = f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5, 6"
        assert one.query(q)[1] == small.query(q)[1], t


def test_a_record_shaped_text_inside_a_line_is_not_an_event(tmp_path: Path) -> None:
    """An address in a reply holding ``[9999] 10:00:02 Connected`` (an attacker's text)
    stays part of its line: no session 9999, no fake summary counted."""
    logs = tmp_path / "logs"
    ip = "81.2.3.4        "
    fake = "[9999] 10:00:02 Connected"
    _write(logs / "smtp" / "s20260115.log", [
        f"{ip}[0A01] 10:00:01 Connected",
        f"{ip}[0A01] 10:00:01 <<< DATA x{fake}",
        f"{ip}[0A01] 10:00:01 >>> 250 2.1.5 <a{fake}@b.org> [9999] 10:00:02 *** <e@f.org> "
        "<g@h.org> 1 999999 00:00:00 OK FAKE0001",
        f"{ip}[0A01] 10:00:02 *** <a@late.org> <u@icewarpdemo.com> 1 1234 00:00:01 OK AAA00002",
        "SYSTEM          [0A01] 10:00:03 Disconnected",
    ])  # fmt: skip
    db = connect(str(tmp_path / "a.sqlite"))
    import_day(logs, date(2026, 1, 15), db, Options())
    _c, rows = db.query("SELECT lg_ThreadID, lg_Error, lg_MessageID, lg_Size FROM smtp")
    assert rows == [("0A01", "OK", "AAA00002", 1234)]
