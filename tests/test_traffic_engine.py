"""The traffic engine against an independent line-by-line count (tests/traffic_reference.py):
both clock formats, server-id log names, -NN rotation, a restart, a session across
midnight, incremental ingest (appends, half lines, rotation, truncation, replacement,
archives), a rebuilt store, hostile lines, helper processes, cancel, accounts."""

from __future__ import annotations

import gzip
import os
import shutil
import threading
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from iwtui.icewarp.install import Install, discover
from iwtui.icewarp.traffic import ingest as ingest_mod
from iwtui.icewarp.traffic.ingest import ingest
from iwtui.icewarp.traffic.store import Store, default_path
from iwtui.simulator.tree import SimOptions, build
from tests import test_traffic_reference as ref
from tests.conftest import FIXED_START


def _store(tmp_path: Path, name: str = "t.sqlite") -> Store:
    return Store(tmp_path / "state" / name)


def _check(install: Install, store: Store) -> None:
    counts, _acc = ref.count(install.log_dir)
    got = ref.store_counts(store.db, install.server_id)
    assert counts, "the reference found nothing: the fixture is wrong"
    assert got == counts
    assert ref.store_hours(store.db, install.server_id) == ref.hours(counts)


@pytest.fixture(scope="module")
def rfc_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rfc") / "icewarp"
    build(root, SimOptions(seed=3, days=2, start=FIXED_START, log_mb=0.2, queue=5,
                           quarantine=2, tarpit=3, time_format="rfc822", server_id="1",
                           tid_digits=8))  # fmt: skip
    return root


def test_hms_day_matches_independent_count(sim_install: Install, tmp_path: Path) -> None:
    store = _store(tmp_path)
    report = ingest(sim_install, store)
    assert report.files_read >= 4 and not report.skipped
    _check(sim_install, store)
    got = ref.store_counts(store.db)
    # the exact meanings are all present
    names = {c for _s, c, _m in got}
    assert {"serverconn", "clientconn", "msgreceived", "msgsent", "msgfailed",
            "serverdatain", "clientdataout", "logins", "quarantine"} <= names  # fmt: skip


def test_rfc822_clock_server_id_names_two_days(rfc_root: Path, tmp_path: Path) -> None:
    install = discover(rfc_root, use_tool_sh=False)
    names = [p.name for p in (install.log_dir / "smtp").iterdir()]
    assert all(n.startswith("s1") for n in names) and len(names) == 2
    first = next((install.log_dir / "smtp").iterdir()).read_text().splitlines()[0]
    assert ", " in first.split("] ", 1)[1][:6]  # an RFC 822 clock
    store = _store(tmp_path)
    ingest(install, store)
    _check(install, store)
    days = {m[:10] for _s, _c, m in ref.store_counts(store.db, install.server_id)}
    assert len(days) == 2


def _split(path: Path, parts: int) -> list[Path]:
    """Cut a day log into ``-NN`` rotation parts at line boundaries (as IceWarp rotates)."""
    data = path.read_bytes()
    out = []
    at = 0
    for i in range(parts):
        cut = len(data) if i == parts - 1 else data.index(b"\n", len(data) * (i + 1) // parts) + 1
        name = path if i == 0 else path.with_name(f"{path.stem}-{i:02d}.log")
        out.append(name)
        name.write_bytes(data[at:cut])
        at = cut
    return out


def test_rotation_parts(sim_install: Install, tmp_path: Path) -> None:
    smtp = next((sim_install.log_dir / "smtp").iterdir())
    parts = _split(smtp, 3)
    assert [p.name[-7:] for p in parts][1:] == ["-01.log", "-02.log"]
    store = _store(tmp_path)
    ingest(sim_install, store)
    _check(sim_install, store)


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


def _mini(tmp_path: Path) -> Install:
    root = tmp_path / "mini"
    (root / "logs" / "smtp").mkdir(parents=True)
    return discover(root, use_tool_sh=False)


def _srv(ip: str, tid: str, t: str, msg: str) -> str:
    return f"{ip:<15} [{tid}] {t} {msg}"


def test_restart_and_session_across_midnight(tmp_path: Path) -> None:
    install = _mini(tmp_path)
    smtp = install.log_dir / "smtp"
    _write(smtp / "s20261123.log", [
        _srv("SYSTEM", "0000", "00:00:01", "SMTP Service started"),
        _srv("1.2.3.4", "00A1", "08:00:00", "Connected"),
        _srv("1.2.3.4", "00A1", "08:00:02", "*** <a@x.com> <b@y.org> 1 100 00:00:01 OK M1"),
        _srv("SYSTEM", "0000", "12:00:00", "SMTP Service started"),
        _srv("1.2.3.4", "00A2", "12:00:30", "Connected, local IP=10.0.0.1"),
        _srv("1.2.3.4", "00A2", "12:00:31", "*** <a@x.com> <b@y.org> <c@y.org> 2 50 00:00:01 OK M2"),
        _srv("5.6.7.8", "00A3", "23:59:58", "Connected"),
        _srv("5.6.7.8", "00A3", "23:59:59", "<<< MAIL From:<m@n.org>"),
    ])  # fmt: skip
    _write(smtp / "s20261124.log", [
        _srv("5.6.7.8", "00A3", "00:00:03", "*** <m@n.org> <b@y.org> 1 700 00:00:05 OK M3"),
        _srv("5.6.7.8", "00A3", "00:00:04", "Disconnected"),
    ])  # fmt: skip
    store = _store(tmp_path)
    ingest(install, store)
    _check(install, store)
    got = ref.store_counts(store.db)
    assert got[("smtp", "serverconn", "2026-11-23T23:59")] == 1
    assert got[("smtp", "msgreceived", "2026-11-24T00:00")] == 1
    assert got[("smtp", "serverconn", "2026-11-23T12:00")] == 1  # with ", local IP=..."
    assert store.starts("smtp", "2026-11-23") == ["2026-11-23T00:00:01", "2026-11-23T12:00:00"]


def test_start_line_after_midnight_in_a_later_piece(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A start line written past midnight, in a piece after the one where the clock went
    back, is dated by its own line (the next day), whatever the pieces."""
    monkeypatch.setattr(ingest_mod, "PIECE", 120)
    monkeypatch.setattr(ingest_mod, "PARALLEL_MIN", 1)
    install = _mini(tmp_path)
    _write(install.log_dir / "smtp" / "s20261123.log", [
        _srv("1.2.3.4", "00A1", "23:59:58", "Connected"),
        _srv("1.2.3.4", "00A1", "23:59:59", "<<< QUIT"),
        _srv("1.2.3.4", "00A2", "00:00:01", "Connected"),
        *[_srv("1.2.3.4", "00A2", "00:00:02", "<<< NOOP") for _ in range(6)],
        _srv("SYSTEM", "0000", "00:00:03", "SMTP Service started"),
    ])  # fmt: skip
    store = _store(tmp_path)
    ingest(install, store, helpers=1)
    _check(install, store)
    assert store.starts("smtp", "2026-11-24") == ["2026-11-24T00:00:03"]
    assert store.starts("smtp", "2026-11-23") == []


# A thread id is reused: its first session is greylisted (twice, in two reads: counted
# once), its second connects in one read and is greylisted in the next.
_REUSED = [
    [_srv("1.2.3.4", "00AA", "10:00:00", "Connected"),
     _srv("1.2.3.4", "00AA", "10:00:01", ">>> 451 4.7.1 Greylisted, try again later")],
    [_srv("1.2.3.4", "00AA", "10:00:30", ">>> 451 4.7.1 Greylisted, try again later")],
    [_srv("5.6.7.8", "00AA", "10:01:00", "Connected"),
     _srv("5.6.7.8", "00AA", "10:01:01", "<<< EHLO mail.example.test")],
    [_srv("5.6.7.8", "00AA", "10:02:01", ">>> 451 4.7.1 Greylisted, try again later"),
     _srv("5.6.7.8", "00AA", "10:02:02", ">>> 451 4.7.1 Greylisted, try again later")],
]  # fmt: skip


def test_reused_thread_id_starts_a_new_session_in_every_merge() -> None:
    """Once per session per filter, with the second session's events in a later piece:
    merged in order, and composed first (an archive's blocks), as one scan counts."""
    from iwtui.icewarp.traffic import scan

    day = date(2026, 11, 23)
    blocks = ["".join(line + "\n" for line in b).encode() for b in _REUSED]
    whole = scan.scan(b"".join(blocks), scan.new_part(day))
    assert sum(whole["counts"]["greylisting"].values()) == 2
    into = scan.new_part(day)
    for b in blocks:
        scan.merge(into, scan.scan(b, scan.new_part(day)))
    assert into["counts"]["greylisting"] == whole["counts"]["greylisting"]
    for split in (1, 2, 3):  # blocks [0:split] and [split:] composed apart, then merged
        left, right = scan.new_part(day), scan.new_part(day)
        for b in blocks[:split]:
            scan.merge(left, scan.scan(b, scan.new_part(day)), compose=True)
        for b in blocks[split:]:
            scan.merge(right, scan.scan(b, scan.new_part(day)), compose=True)
        scan.merge(left, right)
        assert left["counts"]["greylisting"] == whole["counts"]["greylisting"], split


def test_reused_thread_id_across_live_reads(tmp_path: Path) -> None:
    """The same, with each block appended to the log and ingested (the live path: the
    file's saved state carries the sessions' filters from one read to the next)."""
    install = _mini(tmp_path)
    log = install.log_dir / "smtp" / "s20261123.log"
    store = _store(tmp_path)
    log.write_text("")
    for block in _REUSED:
        with log.open("a") as fh:
            fh.write("".join(line + "\n" for line in block))
        ingest(install, store)
    _check(install, store)
    got = ref.store_counts(store.db)
    assert got[("smtp", "greylisting", "2026-11-23T10:00")] == 1
    assert got[("smtp", "greylisting", "2026-11-23T10:02")] == 1


def test_clock_past_midnight_inside_one_file(tmp_path: Path) -> None:
    install = _mini(tmp_path)
    _write(install.log_dir / "smtp" / "s20261123.log", [
        _srv("1.2.3.4", "00A1", "23:59:59", "Connected"),
        _srv("1.2.3.4", "00A2", "00:00:01", "Connected"),
    ])  # fmt: skip
    store = _store(tmp_path)
    ingest(install, store)
    _check(install, store)
    assert ("smtp", "serverconn", "2026-11-24T00:00") in ref.store_counts(store.db)


HOSTILE = [
    _srv("1.2.3.4", "0A01", "10:00:00", "Connected"),
    _srv("1.2.3.4", "0A01", "10:00:01", "<<< RCPT To:<x [0A09] 10:00:01 Connected"),
    _srv(
        "1.2.3.4",
        "0A01",
        "10:00:01",
        "<<< Subject: [0A09] 10:00:01 *** <a@b> <c@d> 1 9 00:00:01 OK",
    ),
    _srv("1.2.3.4", "0A01", "10:00:02", ">>> 250 ok \x1b[31m[red]markup[/red]\x07"),
    "garbage without a head Connected",
    "[0A09] 10:00:03 Connected",
    "x" * 70000,
    _srv("1.2.3.4", "0A01", "99:99:99", "Connected"),
    _srv("1.2.3.4", "0A01", "10:00:04", "*** <a@b> <c@d> x y 00:00:01 OK"),
    _srv("1.2.3.4", "0A01", "10:00:04", "*** <a@b> <c@d> 1 5 00:00:01 OK ID extra tokens"),
    _srv("1.2.3.4", "0A01", "10:00:05", "*** <\x1b]0;pwn\x07@b> <c@d> 1 5 00:00:01 OK M9"),
    _srv("1.2.3.4", "0A01", "10:00:06", "User \xe9\u202e@b logged in"),
    _srv("1.2.3.4", "0A01", "10:00:07", "Connected\r"),
    _srv("1.2.3.4", "0A01", "10:00:08", "*** <a@b> <c@d> 1 5 00:00:01 UNK"),
    _srv("1.2.3.4", "0A01", "10:00:08", "*** <a@b> <c@d> 1 5 00:00:01 UNK"),
    _srv("1.2.3.4", "0A01", "10:00:09", "*** <a@b> <c@d> 1 5 00:00:01 DNSBL"),
    _srv("1.2.3.4", "0A01", "10:00:09", "*** <a@b> <c@d> 1 5 00:00:01 DNSBL"),
    # summaries read from the right whatever the spaces before the count; no sender: none
    _srv("1.2.3.4", "0A01", "10:00:10", "*** <a@b>\t<c@d>  <e@d> 1 7 00:00:01 OK M10"),
    _srv("1.2.3.4", "0A01", "10:00:10", "***  1 7 00:00:01 OK M11"),
    _srv("1.2.3.4", "0A01", "10:00:10", "***  1 7 00:00:01 ERR"),
    _srv("1.2.3.4", "0A01", "10:00:10", "*** <a@b> 2 7 00:00:01 OK"),
    # a head the search finds but the line pattern refuses; text after a line that counts
    _srv("1.2.3.4", "0A01", "10:00:11", "Client session Connected [0A02] 10:00:11 Connected"),
    "1.2.3.\x0b4       [0A01] 10:00:11 Connected",
]


def test_hostile_lines(tmp_path: Path) -> None:
    install = _mini(tmp_path)
    path = install.log_dir / "smtp" / "s20261123.log"
    _write(path, HOSTILE)
    with path.open("ab") as fh:
        fh.write(
            b"\xff\xfe\x00 binary \x00\n" + _srv("1.2.3.4", "0A01", "10:00:10", "Conn").encode()
        )
    store = _store(tmp_path)
    ingest(install, store)
    _check(install, store)
    got = ref.store_counts(store.db)
    assert got[("smtp", "serverconn", "2026-11-23T10:00")] == 2
    assert got[("smtp", "msgdns", "2026-11-23T10:00")] == 1  # once per session per filter
    assert got[("smtp", "msgrejected", "2026-11-23T10:00")] == 4
    assert got[("smtp", "msgreceived", "2026-11-23T10:00")] == 4  # not the one in a Subject
    assert "clientconn" not in {c for _s, c, _m in got}


def test_incremental_appends_rotation_truncation_replacement(sim_install: Install,
                                                             tmp_path: Path) -> None:  # fmt: skip
    smtp_dir = sim_install.log_dir / "smtp"
    full = next(smtp_dir.iterdir())
    data = full.read_bytes()
    store = _store(tmp_path)
    # 1. a third of the day, ending in half a line
    cut = data.index(b"\n", len(data) // 3) + 20
    full.write_bytes(data[:cut])
    ingest(sim_install, store)
    _check(sim_install, store)
    # 2. appended: the half line is finished, more lines follow
    with full.open("ab") as fh:
        fh.write(data[cut : len(data) * 2 // 3])
    ingest(sim_install, store)
    _check(sim_install, store)
    # nothing new: nothing read
    again = ingest(sim_install, store)
    assert again.files_read == 0 and again.bytes_read == 0 and not again.changed
    # 3. rotation: the rest goes into -01
    with full.open("ab") as fh:
        rest = len(data) * 2 // 3
        nl = data.index(b"\n", rest) + 1
        fh.write(data[rest:nl])
    (smtp_dir / (full.stem + "-01.log")).write_bytes(data[nl:])
    ingest(sim_install, store)
    _check(sim_install, store)
    # 4. truncation: the -01 part is cut short (and regrows a little)
    part = smtp_dir / (full.stem + "-01.log")
    with part.open("r+b") as fh:
        fh.truncate(0)
        fh.write(data[nl : nl + 5000])
    r = ingest(sim_install, store)
    assert str(part) in r.reread
    _check(sim_install, store)
    # 5. replacement: another file under the same name (atomic rename)
    other = tmp_path / "other.log"
    other.write_bytes(data[: len(data) // 2][: data.rindex(b"\n", 0, len(data) // 2) + 1])
    os.replace(other, full)
    r = ingest(sim_install, store)
    assert str(full) in r.reread
    _check(sim_install, store)
    # a store deleted and rebuilt gives the same numbers
    fresh = _store(tmp_path, "fresh.sqlite")
    ingest(sim_install, fresh)
    assert ref.store_counts(fresh.db) == ref.store_counts(store.db)
    assert ref.store_hours(fresh.db) == ref.store_hours(store.db)
    q = "SELECT * FROM account_day ORDER BY server, day, account"
    assert fresh.db.execute(q).fetchall() == store.db.execute(q).fetchall()


def test_archive_of_a_read_file_is_skipped_and_read_when_alone(sim_install: Install,
                                                               tmp_path: Path) -> None:  # fmt: skip
    store = _store(tmp_path)
    ingest(sim_install, store)
    before = ref.store_counts(store.db)
    pop3 = next((sim_install.log_dir / "pop3").iterdir())
    gz = pop3.with_name(pop3.name + ".gz")
    gz.write_bytes(gzip.compress(pop3.read_bytes()))
    pop3.unlink()
    ingest(sim_install, store)
    assert ref.store_counts(store.db) == before  # archived, not counted twice
    fresh = _store(tmp_path, "fresh.sqlite")
    ingest(sim_install, fresh)  # the archive alone is read
    assert ref.store_counts(fresh.db) == before


def test_links_fifos_and_devices_are_not_read(sim_install: Install, tmp_path: Path) -> None:
    smtp_dir = sim_install.log_dir / "smtp"
    secret = tmp_path / "outside.log"
    secret.write_text(_srv("1.2.3.4", "0001", "10:00:00", "Connected") + "\n")
    (smtp_dir / "s20260101.log").symlink_to(secret)
    (smtp_dir / "s20260102.log").symlink_to("/dev/zero")
    os.mkfifo(smtp_dir / "s20260103.log")
    store = _store(tmp_path)
    done = threading.Event()
    out: list[ingest_mod.IngestReport] = []

    def run() -> None:
        out.append(ingest(sim_install, store))
        done.set()

    th = threading.Thread(target=run)
    th.start()
    assert done.wait(20), "ingest hung on a FIFO or a device"
    assert len(out[0].skipped) == 3
    assert not any(m.startswith("2026-01-01") for _s, _c, m in ref.store_counts(store.db))


def test_helpers_and_pieces_agree(sim_install: Install, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Small pieces in helper processes (merge across piece boundaries: sessions and
    filters straddling them) give what one process gives."""
    monkeypatch.setattr(ingest_mod, "PIECE", 40_000)
    monkeypatch.setattr(ingest_mod, "PARALLEL_MIN", 1)
    store = _store(tmp_path)
    r = ingest(sim_install, store, helpers=2, in_process=False)
    assert r.helpers == 2
    _check(sim_install, store)
    progress: list[tuple[int, int]] = []
    fresh = _store(tmp_path, "inproc.sqlite")
    ingest(sim_install, fresh, helpers=1, progress=lambda d, t: progress.append((d, t)))
    assert ref.store_counts(fresh.db) == ref.store_counts(store.db)
    assert progress[-1][0] == progress[-1][1] and len(progress) > 5


def test_cancel_keeps_finished_files_and_resumes(sim_install: Install, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(ingest_mod, "PIECE", 40_000)
    cancel = threading.Event()
    store = _store(tmp_path)
    r = ingest(sim_install, store, cancel=cancel, progress=lambda d, t: cancel.set())
    assert r.cancelled
    ingest(sim_install, store)
    _check(sim_install, store)


def test_accounts_match_summary_lines(sim_install: Install, tmp_path: Path) -> None:
    from iwtui.icewarp.traffic.accounts_feed import account_totals

    store = _store(tmp_path)
    ingest(sim_install, store)
    _counts, expected = ref.count(sim_install.log_dir)
    rows = store.db.execute(
        "SELECT day, account, received_count, received_bytes, sent_count, sent_bytes,"
        " sent_out_count, sent_out_bytes, last_sent, last_received, last_login, last_ip"
        " FROM account_day"
    ).fetchall()
    got = {(r[0], r[1]): list(r[2:]) for r in rows}
    assert got == expected
    assert any(v[4] for v in got.values()) and any(v[8] for v in got.values())
    day = "2026-01-15"
    totals = account_totals(store, day, day)
    for (d, account), row in expected.items():
        if d == day:
            assert totals[account].received_count == row[0]
            assert totals[account].sent_out_bytes == row[5]


def test_default_path_keyed_by_root(sim_install: Install, tmp_path: Path) -> None:
    p = default_path(sim_install, tmp_path)
    assert p.parent == tmp_path / "traffic" and p.suffix == ".sqlite" and len(p.stem) == 12
    link = tmp_path / "link"
    link.symlink_to(sim_install.root)
    assert default_path(discover(link, use_tool_sh=False), tmp_path) == p
    store = Store(p)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_copy_of_tree_is_independent(sim_root: Path, tmp_path: Path) -> None:
    """Two installs (two roots) never share a store."""
    other = tmp_path / "other"
    shutil.copytree(sim_root, other, symlinks=True)
    a = default_path(discover(sim_root, use_tool_sh=False), tmp_path)
    b = default_path(discover(other, use_tool_sh=False), tmp_path)
    assert a != b


def test_warm_check_stats_only_and_still_sees_every_change(sim_install: Install, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """With nothing new, an ingest parses no log name and reads no file (names known not
    to count, such as the mail-flow log, are remembered); a new file, a changed one and a
    new file next to an ignored one are still found by their stat."""
    from iwtui.icewarp.logs import names

    store = _store(tmp_path)
    ingest(sim_install, store)
    flow = sim_install.log_dir / "flow"
    assert any(flow.iterdir())  # a log that is not read: remembered as such
    assert str(next(flow.iterdir())) in store.ignored(str(sim_install.log_dir))
    calls: list[Path] = []
    real = names.parse_name
    monkeypatch.setattr(names, "parse_name", lambda p, r=None: calls.append(p) or real(p, r))
    opened: list[object] = []
    real_open = ingest_mod._open
    monkeypatch.setattr(ingest_mod, "_open", lambda p: opened.append(p) or real_open(p))
    again = ingest(sim_install, store)
    assert not calls and not opened and again.files_seen >= 4 and not again.changed
    # a new day's SMTP log, a new file in the flow folder, an append: all seen
    smtp = next((sim_install.log_dir / "smtp").iterdir())
    new = smtp.with_name("s20260116.log")
    new.write_text(_srv("1.2.3.4", "0001", "10:00:00", "Connected") + "\n")
    (flow / "q20260116.log").write_text("x\n")
    with smtp.open("ab") as fh:
        fh.write((_srv("1.2.3.4", "0002", "23:59:00", "Connected") + "\n").encode())
    r = ingest(sim_install, store)
    assert sorted(p.name for p in calls) == sorted([new.name, "q20260116.log", smtp.name])
    assert r.files_read == 2
    _check(sim_install, store)
    calls.clear()
    ingest(sim_install, store)
    assert not calls


def test_ignored_names_are_per_log_folder(sim_install: Install, tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add_ignored(str(sim_install.log_dir), ["/x/y.log"])
    assert store.ignored(str(sim_install.log_dir)) == {"/x/y.log"}
    assert store.ignored("/another/logs") == set()  # another folder: forgotten
    assert store.ignored(str(sim_install.log_dir)) == set()


def test_store_of_schema_1_gains_the_new_tables(sim_install: Install, tmp_path: Path) -> None:
    path = tmp_path / "state" / "old.sqlite"
    store = Store(path)
    store.db.execute("DROP TABLE ignored")
    store.db.execute("DROP TABLE hour_file")
    store.db.execute("UPDATE meta SET value='1' WHERE key='schema'")
    store.db.commit()
    store.close()
    store = Store(path)
    ingest(sim_install, store)
    _check(sim_install, store)
    assert store.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == ("4",)


def _busy_day(rng: Any, day: str) -> list[str]:
    """A day of server and client sessions at random minutes (some minutes busy)."""
    lines = []
    for hour in sorted(rng.sample(range(24), 6)):
        for minute in sorted(rng.choices(range(60), k=rng.randrange(3, 12))):
            t = f"{hour:02d}:{minute:02d}:{rng.randrange(60):02d}"
            tid = f"{rng.randrange(65536):04X}"
            client = rng.random() < 0.3
            who = "Client session " if client else ""
            result = rng.choice(["OK", "OK", "OK", "DNSBL", "CNC"])
            lines += [_srv("1.2.3.4", tid, t, f"{who}Connected"),
                      _srv("1.2.3.4", tid, t, f"{who}*** <a@x.com> <b@y.org> 1 "
                           f"{rng.randrange(100, 9000)} 00:00:01 {result} M{tid}")]  # fmt: skip
    return lines


def _days(first: date, n: int) -> list[str]:
    return [(first + timedelta(days=i)).strftime("%Y%m%d") for i in range(n)]


def test_minutes_older_than_the_window_are_thinned_into_rollups(tmp_path: Path) -> None:
    """42 days of logs: minute rows are kept for the newest 35 days only; every hour and
    day (totals and busiest minute) still equals the independent count, a month and a
    year chart read it from the rollups, a 5-minute chart of a thinned day comes in hours,
    Statistics of a thinned day are right; a store fed day by day (thinning as it goes)
    equals a store rebuilt in one go; a thinned file replaced is taken back exactly."""
    import random

    from iwtui.icewarp.traffic import query
    from iwtui.icewarp.traffic.store import MINUTE_DAYS

    rng = random.Random(5)
    install = _mini(tmp_path)
    smtp = install.log_dir / "smtp"
    days = _days(date(2026, 3, 1), 42)
    step = _store(tmp_path, "daily.sqlite")
    for i, d in enumerate(days):
        _write(smtp / f"s{d}.log", _busy_day(rng, d))
        if i % 5 == 4 or i == len(days) - 1:
            ingest(install, step)  # fed as the days come: thinned as it goes
    counts, _acc = ref.count(install.log_dir)
    newest = date(2026, 4, 11)
    kept_from = (newest - timedelta(days=MINUTE_DAYS - 1)).isoformat()
    got = ref.store_counts(step.db)
    assert got == {k: v for k, v in counts.items() if k[2][:10] >= kept_from}
    assert min(k[2] for k in counts) < kept_from  # some days were thinned
    assert step.db.execute("SELECT count(*) FROM minute_file WHERE minute < ?",
                           (date.fromisoformat(kept_from).toordinal() * 1440,)).fetchone() == (0,)  # fmt: skip
    assert ref.store_hours(step.db) == ref.hours(counts)
    peaks: dict[tuple[str, str, str], int] = {}
    for (s, c, m), v in counts.items():
        peaks[(s, c, m[:13])] = max(peaks.get((s, c, m[:13]), 0), v)
    stored_peaks = {(s, c, query.minute_time(t)[:13]): p for s, c, t, p in step.db.execute(
        "SELECT service, counter, t, peak FROM rollup WHERE step_s=3600")}  # fmt: skip
    assert stored_peaks == peaks
    # month and year charts, a thinned day at 5 minutes, Statistics of a thinned day
    per_day: Counter[str] = Counter()
    for (_s, c, m), v in counts.items():
        if c == "serverconn":
            per_day[m[:10]] += v
    for period in ("month", "year"):
        start, end = query.period_range(period, newest)
        chart = query.series(step, "", "smtp", "serverconn", start, end, 86400)
        want_days = {d: v for d, v in per_day.items() if d >= start.date().isoformat()}
        assert {p.t[:10]: p.v for p in chart.points if p.v} == want_days
        assert len(want_days) == (30 if period == "month" else 42)
    old = date(2026, 3, 2)
    start = datetime(2026, 3, 2, 0, 0)
    five = query.series(step, "", "smtp", "serverconn", start, start + timedelta(days=1), 300)
    assert five.step_s == 3600 and len(five.points) == 24
    assert {p.t[:13]: p.v for p in five.points if p.v} == {
        m: v for (s, c, m), v in ref.hours(counts).items()
        if c == "serverconn" and m.startswith("2026-03-02")}  # fmt: skip
    st = query.stats(step, "", "smtp", old, datetime(2026, 4, 11, 12))
    day_counts = {k: v for k, v in counts.items() if k[2].startswith("2026-03-02")}
    for c in st.counters:
        values = [v for (_s, name, _m), v in day_counts.items() if name == c.name]
        assert c.total == sum(values) and c.peak == max(values, default=0), c.name
    # a store rebuilt in one go equals the one fed day by day
    fresh = _store(tmp_path, "fresh.sqlite")
    ingest(install, fresh)
    for q in ("SELECT * FROM minute ORDER BY 1, 2, 3, 4", "SELECT * FROM rollup ORDER BY 1, 2, 3, 4, 5",
              "SELECT f.path, h.service, h.counter, h.hour, h.total, h.peak FROM hour_file h"
              " JOIN files f ON f.id = h.file_id ORDER BY 1, 2, 3, 4"):  # fmt: skip
        assert fresh.db.execute(q).fetchall() == step.db.execute(q).fetchall(), q
    # a thinned day's file replaced by another: taken back, read again, no double count
    other = tmp_path / "other.log"
    _write(other, _busy_day(random.Random(99), days[1]))
    os.replace(other, smtp / f"s{days[1]}.log")
    r = ingest(install, step)
    assert str(smtp / f"s{days[1]}.log") in r.reread
    counts, _acc = ref.count(install.log_dir)
    assert ref.store_hours(step.db) == ref.hours(counts)
    days_total = {(s, c, query.minute_time(t)[:10]): v for s, c, t, v in step.db.execute(
        "SELECT service, counter, t, total FROM rollup WHERE step_s=86400")}  # fmt: skip
    want: Counter[tuple[str, str, str]] = Counter()
    for (s, c, m), v in counts.items():
        want[(s, c, m[:10])] += v
    assert days_total == dict(want)


def test_a_date_in_the_future_thins_nothing_of_the_present(tmp_path: Path) -> None:
    install = _mini(tmp_path)
    smtp = install.log_dir / "smtp"
    yesterday = date.today() - timedelta(days=1)
    _write(smtp / f"s{yesterday:%Y%m%d}.log", [_srv("1.2.3.4", "0001", "10:00:00", "Connected")])
    _write(smtp / "s20991231.log", [_srv("1.2.3.4", "0001", "10:00:00", "Connected")])
    store = _store(tmp_path)
    ingest(install, store)
    got = ref.store_counts(store.db)
    assert got == {("smtp", "serverconn", f"{yesterday}T10:00"): 1,
                   ("smtp", "serverconn", "2099-12-31T10:00"): 1}  # fmt: skip
    assert ref.store_hours(store.db) == ref.hours(ref.count(install.log_dir)[0])


AV_LINES = [
    _srv("SYSTEM", "0001", "00:00:05", "Anti-virus engine started"),  # the engine's own
    _srv("1.2.3.4", "0A01", "10:00:01", "ABC123 'a@x.com' 'b@y.org' Eicar-Test-Signature"),
    _srv("1.2.3.4", "0A01", "10:00:30", "ABC123 'a@x.com' 'c@y.org' Eicar-Test-Signature"),
    _srv("1.2.3.4", "0a01", "10:00:40", "lower-case thread: the same session"),
    _srv("1.2.3.4", "0A01", "10:01:02", "DEF456 'a@x.com' 'b@y.org' W32.Worm"),
    _srv("5.6.7.8", "0B02", "10:00:50", "GHI789 'z@x.com' 'b@y.org' Trojan.X"),
    _srv("5.6.7.8", "0B03", "10:00:50", "<<< a message that starts with arrows"),
    "garbage [0C01] 10:00:55 a WHO that is a word [0C02] 10:00:55 a head inside a message",
    "[0C03] 10:00:55 no WHO",
    _srv("5.6.7.8", "0C04", "10:00:56", "") + "\r",  # an empty message
    _srv("5.6.7.8", "0C05", "99:99:99", "a bad clock"),
]


def test_antivirus_log_counts_msgvirus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The anti-virus log (spec 5.1, ``antivirus/``, type ``v``): every line with a head
    (spec 5.2) whose WHO is not SYSTEM is a virus found, once per thread a minute, as
    SMTP's ``msgvirus``; the same against the independent count, in small pieces, after
    an append to the same thread and minute, and with RFC 822 clocks."""
    install = _mini(tmp_path)
    av = install.log_dir / "antivirus" / "v20261123.log"
    _write(av, AV_LINES)
    _write(install.log_dir / "smtp" / "s20261123.log", [
        _srv("1.2.3.4", "0A01", "10:00:00", "Connected"),
        _srv("1.2.3.4", "0A01", "10:00:02", "*** <a@x.com> <b@y.org> 1 9 00:00:01 AV M1"),
    ])  # fmt: skip
    store = _store(tmp_path)
    ingest(install, store)
    _check(install, store)
    got = ref.store_counts(store.db)
    assert got[("smtp", "msgvirus", "2026-11-23T10:00")] == 4  # 0A01, 0B02, 0B03, 0C01
    assert got[("smtp", "msgvirus", "2026-11-23T10:01")] == 1
    assert got[("smtp", "msgvirusrejected", "2026-11-23T10:00")] == 1  # the SMTP summary
    assert sum(v for (_s, c, _m), v in got.items() if c == "msgvirus") == 5
    # appended: the same thread in the same minute counts no more; a new minute does
    with av.open("a") as fh:
        fh.write(_srv("1.2.3.4", "0A01", "10:01:59", "again") + "\n")
        fh.write(_srv("1.2.3.4", "0A01", "10:02:00", "later") + "\n")
    ingest(install, store)
    _check(install, store)
    assert ref.store_counts(store.db)[("smtp", "msgvirus", "2026-11-23T10:02")] == 1
    # small pieces in a helper: once per thread a minute across their boundaries
    monkeypatch.setattr(ingest_mod, "PIECE", 120)
    monkeypatch.setattr(ingest_mod, "PARALLEL_MIN", 1)
    pieces = _store(tmp_path, "pieces.sqlite")
    ingest(install, pieces, helpers=1)
    assert ref.store_counts(pieces.db) == ref.store_counts(store.db)
    # RFC 822 clocks
    rfc = _mini(tmp_path / "rfc")
    _write(rfc.log_dir / "antivirus" / "v20261123.log", [
        "1.2.3.4 [0A01] Mon, 23 Nov 2026 10:00:01 +0100 ABC 'a@x.com' 'b@y.org' Eicar",
        "1.2.3.4 [0A01] Mon, 23 Nov 2026 10:00:09 +0100 ABC 'a@x.com' 'c@y.org' Eicar",
        "1.2.3.4 [0A02] Tue, 24 Nov 2026 00:00:09 +0100 DEF 'a@x.com' 'c@y.org' Eicar",
    ])  # fmt: skip
    s2 = _store(tmp_path, "rfc.sqlite")
    ingest(rfc, s2)
    _check(rfc, s2)
    assert ref.store_counts(s2.db) == {("smtp", "msgvirus", "2026-11-23T10:00"): 1,
                                       ("smtp", "msgvirus", "2026-11-24T00:00"): 1}  # fmt: skip


def test_store_of_schema_3_counts_viruses_from_the_av_log(tmp_path: Path) -> None:
    """A store written before the anti-virus log was read: its ``msgvirus`` (from the SMTP
    summaries) becomes ``msgvirusrejected`` and its anti-virus logs are read again."""
    from iwtui.icewarp.traffic.store import FileRecord

    install = _mini(tmp_path)
    _write(install.log_dir / "smtp" / "s20261123.log", [
        _srv("1.2.3.4", "0A01", "10:00:00", "Connected"),
        _srv("1.2.3.4", "0A01", "10:00:02", "*** <a@x.com> <b@y.org> 1 9 00:00:01 AV M1"),
    ])  # fmt: skip
    path = tmp_path / "state" / "old.sqlite"
    store = Store(path)
    ingest(install, store)
    av = install.log_dir / "antivirus" / "v20261123.log"
    _write(av, AV_LINES)
    st = av.stat()
    with store.transaction() as db:  # as a schema-3 store left them
        for table in ("minute_file", "minute", "rollup"):
            db.execute(f"UPDATE {table} SET counter='msgvirus' WHERE counter='msgvirusrejected'")
        store.save_file(db, FileRecord(0, str(av), "antivirus||2026-11-23|", "antivirus",
                                       "2026-11-23", "", st.st_dev, st.st_ino, st.st_size,
                                       st.st_mtime_ns, 0, "", st.st_size, None, False))  # fmt: skip
        db.execute("UPDATE meta SET value='3' WHERE key='schema'")
    store.close()
    store = Store(path)
    ingest(install, store)
    _check(install, store)
    got = ref.store_counts(store.db)
    assert got[("smtp", "msgvirusrejected", "2026-11-23T10:00")] == 1
    assert got[("smtp", "msgvirus", "2026-11-23T10:00")] == 4


def test_range_queries_use_the_whole_key(sim_install: Install, tmp_path: Path) -> None:
    """Every read of a range of the minute or rollup rows (an ingest's rollup rebuild,
    Statistics, a chart) searches the primary key with its counter, so the cost of the
    console's ingest each second does not grow with the minutes kept."""
    from iwtui.icewarp.traffic import query

    store = _store(tmp_path)
    ingest(sim_install, store)
    seen: list[str] = []
    store.db.set_trace_callback(seen.append)
    smtp = next((sim_install.log_dir / "smtp").iterdir())
    with smtp.open("ab") as fh:
        fh.write((_srv("1.2.3.4", "0002", "23:59:00", "Connected") + "\n").encode())
    ingest(sim_install, store)
    day = date(2026, 1, 15)
    query.stats(store, "", "smtp", day)
    start, end = query.period_range("day", day)
    query.series(store, "", "smtp", "serverconn", start, end, 300)
    store.db.set_trace_callback(None)
    ranges = [q for q in seen if q.lstrip().upper().startswith(("SELECT", "INSERT INTO ROLLUP"))
              and ("FROM minute " in q or "FROM rollup " in q) and ">=" in q]  # fmt: skip
    assert len(ranges) >= 4
    for q in ranges:
        plan = " ".join(str(r) for r in store.db.execute("EXPLAIN QUERY PLAN " + q).fetchall())
        assert "counter=?" in plan, (q, plan)


def test_a_counter_must_be_known(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(ValueError), store.transaction() as db:
        store.add_counts(db, 1, "", "smtp", {"nosuchcounter": {1: 1}})
