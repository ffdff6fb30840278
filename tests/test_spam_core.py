"""Spam Queues core and CLI: listing with odd rows, actions and undo, locks, tarpit.dat."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from iwtui.cli import main
from iwtui.errors import BadInput, Refused
from iwtui.icewarp import delphi
from iwtui.icewarp.actions import ActionGate
from iwtui.icewarp.install import Install
from iwtui.icewarp.spam import actions as spam_actions
from iwtui.icewarp.spam import lists as spam
from iwtui.icewarp.spam import tarpit


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db)) as con:
        return con.execute(sql, args).fetchall()


def test_listing_filters_counts_and_odd_rows(sim_install: Install) -> None:
    db = sim_install.antispam_db
    odd = [  # NULLs, a text date, a date out of range, bad UTF-8, a time as HH:MM
        (None, None, 2, None, None, None, None, None),
        ("a@b.test", "x@odd.test", 2, "f1", "b.test", b"\xff\xfe bad", "garbage", "12:30"),
        ("a@b.test", "y@odd.test", 2, "f2", "b.test", "[b]x[/b]\x1b[2J", 9e12, None),
        ("a@b.test", "z@odd.test", 2, "f3", "b.test", "ok", 46000.0, "10:15:00"),
    ]
    with closing(sqlite3.connect(db)) as con:
        con.executemany(spam.INSERT_SENDER, odd)
        con.commit()
    rows, total = asyncio.run(spam.list_senders(db, "quarantine"))
    assert total == len(rows) == 12 + 4
    by_sender = {r.sender: r for r in rows}
    assert by_sender[""].created is None and by_sender[""].owner == ""
    assert by_sender["x@odd.test"].created is None and "\ufffd" in by_sender["x@odd.test"].subject
    assert by_sender["y@odd.test"].created is None
    assert by_sender["z@odd.test"].created == datetime(2025, 12, 9, 10, 15)
    rows, total = asyncio.run(spam.list_senders(db, "quarantine", sender="ODD.test", max_items=2))
    assert len(rows) == 2 and total == 3
    rows, total = asyncio.run(spam.list_senders(db, "quarantine", owner="a@b", domain="b.te"))
    assert total == 3
    # LIKE wildcards in a filter are literal
    assert asyncio.run(spam.list_senders(db, "quarantine", sender="%"))[1] == 0
    with pytest.raises(spam.SpamDbError, match="unknown list"):
        asyncio.run(spam.list_senders(db, "greylist"))


def test_missing_and_corrupt_database_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(spam.SpamDbError, match="not found"):
        asyncio.run(spam.list_senders(tmp_path / "antispam.db", "whitelist"))
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(spam.SpamDbError, match="not a readable SQLite"):
        asyncio.run(spam.list_senders(bad, "whitelist"))


def test_greylist_status_is_computed_from_config_expiry(sim_install: Install) -> None:
    db = sim_install.antispam_db
    now = datetime(2026, 1, 15, 14, 30)
    d = delphi.from_datetime
    with closing(sqlite3.connect(db)) as con:
        con.execute("DELETE FROM Greylist")
        con.executemany(spam.INSERT_GREYLIST, [
            ("fresh@x.test", "o@y.test", 0, d(now - timedelta(hours=1)), None),
            ("old@x.test", "o@y.test", 0, d(now - timedelta(hours=30)), None),
            ("ok@x.test", "o@y.test", 1, d(now - timedelta(days=3)), d(now - timedelta(days=2))),
            ("stale@x.test", "o@y.test", 1, d(now - timedelta(days=50)), d(now - timedelta(days=40))),
            (None, None, None, None, None),
        ])  # fmt: skip
        con.commit()
    exp = spam.Expiry(pending_hours=24, authorized_days=36)

    def status(**kw: str) -> dict[str, str]:
        rows, _ = asyncio.run(spam.list_greylist(db, expiry=exp, now=now, **kw))
        return {r.value: r.status for r in rows}

    assert status() == {"fresh@x.test": "pending", "old@x.test": "expired", "ok@x.test": "authorized",
                        "stale@x.test": "expired", "": "pending"}  # fmt: skip
    assert set(status(status="expired")) == {"old@x.test", "stale@x.test"}
    assert set(status(status="pending")) == {"fresh@x.test", ""}
    assert set(status(status="authorized", owner="O@Y")) == {"ok@x.test"}


def test_quarantine_actions_move_files_and_undo_restores_bytes(
    sim_install: Install, tmp_path: Path
) -> None:
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    db = sim_install.antispam_db
    rows, _ = asyncio.run(spam.list_senders(db, "quarantine"))
    held = {r.id: spam.held_files(sim_install.mail_dir, r.owner, r.folder) for r in rows}
    r1, r2, r3, r4 = [r for r in rows if held[r.id]][:4]
    before = {p: _digest(p) for r in (r1, r2, r3, r4) for p in held[r.id]}
    out_before = set(sim_install.outgoing_dir.iterdir())

    for row, action in ((r1, "deliver"), (r2, "whitelist"), (r3, "blacklist"), (r4, "delete")):
        outcome = gate.execute(spam_actions.sender_plan(gate, sim_install, "quarantine", action, [row.id]))  # fmt: skip
        assert outcome.done == 1, outcome.message()
        assert not any(p.exists() for p in held[row.id])  # never left in place
    released = set(sim_install.outgoing_dir.iterdir()) - out_before
    assert {p.name for p in released} == {p.name for r in (r1, r2) for p in held[r.id]}
    assert list((tmp_path / "state" / "trash").rglob("*.tmp"))  # blacklist and delete: trash
    lists = dict(_rows(db, "SELECT SndID, SndAuthorized FROM Senders WHERE SndID IN (?,?,?,?)",
                       r1.id, r2.id, r3.id, r4.id))  # fmt: skip
    assert lists == {r2.id: spam.WHITELIST, r3.id: spam.BLACKLIST}
    # a row already acted on is "gone", not an error
    again = gate.execute(spam_actions.sender_plan(gate, sim_install, "quarantine", "delete", [r4.id]))  # fmt: skip
    assert again.gone == 1 and again.complete
    for _ in range(4):
        gate.undo()
    assert {p: _digest(p) for p in before} == before
    assert set(sim_install.outgoing_dir.iterdir()) == out_before
    assert asyncio.run(spam.list_senders(db, "quarantine"))[1] == len(rows)
    with pytest.raises(BadInput, match="does not apply"):
        spam_actions.sender_plan(gate, sim_install, "whitelist", "deliver", [1])


def test_add_validates_sender_and_owner_and_undo(sim_install: Install, tmp_path: Path) -> None:
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    for bad_owner in ("not an owner", "user@", "@x.test", "*.example.com", ".x.test", ""):
        with pytest.raises(BadInput, match="bad owner"):
            spam_actions.add_plan(sim_install, "whitelist", "a@b.test", bad_owner)
    for bad_sender in ("", "no-at-or-dot", "two@@x.test", "a b@x.test"):
        with pytest.raises(BadInput, match="bad sender"):
            spam_actions.add_plan(sim_install, "whitelist", bad_sender, "*")
    plan = spam_actions.add_plan(sim_install, "blacklist", "Spammer@Evil.TEST", "Example.COM")
    assert "spam add --list blacklist --sender spammer@evil.test --owner example.com" in plan.cli
    gate.execute(plan)
    gate.execute(plan)  # twice: one row
    q = "SELECT SndOwner, SndAuthorized, SndDomain FROM Senders WHERE SndEmail = ?"
    assert _rows(sim_install.antispam_db, q, "spammer@evil.test") == [("example.com", 0, "example.com")]  # fmt: skip
    gate.undo()
    assert _rows(sim_install.antispam_db, q, "spammer@evil.test") == []


HOLD_LOCK = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("UPDATE Senders SET SndSubject = SndSubject WHERE SndID = 1")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
"""


def test_a_write_waits_for_another_writer_then_succeeds(
    sim_install: Install, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spam, "BUSY_TIMEOUT_S", 0.2)  # the retry loop, not the timeout, waits
    db = sim_install.antispam_db
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), "2"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    t0 = time.monotonic()
    outcome = gate.execute(spam_actions.add_plan(sim_install, "whitelist", "late@x.test", "*"))
    waited = time.monotonic() - t0
    holder.wait(10)
    assert outcome.done == 1 and waited > 1.0
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert _rows(db, "SELECT count(*) FROM Senders WHERE SndEmail = 'late@x.test'") == [(1,)]
    # a lock held longer than the wait: a clear error, nothing written
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), "3"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(spam.SpamDbError, match="locked"):
        spam_actions.write(db, lambda con: con.execute("DELETE FROM Senders"), wait_s=0.5)
    holder.wait(10)
    assert _rows(db, "SELECT count(*) FROM Senders")[0][0] > 0


def test_greylist_authorize_delete_and_undo(sim_install: Install, tmp_path: Path) -> None:
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    db = sim_install.antispam_db
    before = _rows(db, "SELECT * FROM Greylist ORDER BY GLID")
    ids = [int(r[0]) for r in before[:3]]  # type: ignore[call-overload]
    gate.execute(spam_actions.greylist_plan(sim_install, "authorize", ids[:2]))
    assert {r[0] for r in _rows(db, "SELECT GLStatus FROM Greylist WHERE GLID IN (?,?)", *ids[:2])} == {1}  # fmt: skip
    gate.execute(spam_actions.greylist_plan(sim_install, "delete", ids))
    assert _rows(db, "SELECT count(*) FROM Greylist WHERE GLID IN (?,?,?)", *ids) == [(0,)]
    gate.undo()
    gate.undo()
    assert _rows(db, "SELECT * FROM Greylist ORDER BY GLID") == before


def _readable(path: Path, now: datetime) -> None:
    entries = [
        tarpit.TarpitEntry("192.0.2.1", now + timedelta(minutes=30), "I"),
        tarpit.TarpitEntry("192.0.2.2", now - timedelta(minutes=5), "L"),
        tarpit.TarpitEntry("2001:db8::/32", now - timedelta(hours=1), "U"),
    ]
    path.write_text("".join(tarpit.format_entry(e) for e in entries))


def test_tarpit_add_remove_expired_all_and_undo(sim_install: Install, tmp_path: Path) -> None:
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    path = sim_install.tarpit_file
    _readable(path, datetime.now())
    original = path.read_bytes()
    for bad in ("300.1.1.1", "10.0.0.0/33", "2001:db8::g", "example.com", ""):
        with pytest.raises(BadInput, match="bad IP"):
            tarpit.add_plan(path, bad, 60)
    with pytest.raises(BadInput, match="reason"):
        tarpit.add_plan(path, "10.0.0.1", 60, "Q")
    gate.execute(tarpit.add_plan(path, "10.1.2.0/24", 60))
    gate.execute(tarpit.add_plan(path, "2001:DB8:0:0::1", 60))
    ips = {e.ip for e in tarpit.read(path).entries}
    assert {"10.1.2.0/24", "2001:db8::1"} <= ips
    plan = tarpit.remove_plan(path, None, expired_only=True)
    assert set(plan.targets) == {"192.0.2.2", "2001:db8::/32"} and "remove-expired" in plan.cli
    gate.execute(plan)
    assert {e.ip for e in tarpit.read(path).entries} == ips - set(plan.targets)
    everything = gate.execute(tarpit.remove_plan(path, None))
    assert everything.done == 3 and tarpit.read(path).entries == ()
    for _ in range(4):
        gate.undo()
    # every entry back, each with its own expiry and reason (the order may differ)
    assert sorted(path.read_text().splitlines()) == sorted(original.decode().splitlines())


def test_binary_tarpit_dat_is_read_but_never_written(
    sim_install: Install, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = sim_install.tarpit_file
    path.write_bytes(b"\x00\x01\x02192.0.2.55\x00\x00\xff10.9.8.0/24\x00\x00" + bytes(range(256)) + b"2001:db8::7\x00")  # fmt: skip
    digest = _digest(path)
    f = tarpit.read(path)
    assert f.layout == tarpit.EXTRACTED and {"192.0.2.55", "10.9.8.0/24", "2001:db8::7"} <= {e.ip for e in f.entries}  # fmt: skip
    for build in (lambda: tarpit.add_plan(path, "10.0.0.1", 60), lambda: tarpit.remove_plan(path, None),
                  lambda: tarpit.remove_plan(path, ["192.0.2.55"])):  # fmt: skip
        with pytest.raises(Refused, match="unrecognised layout"):
            build()
    # the SMTP log names one of them: its expiry and reason come from there
    from iwtui.icewarp.logs import catalog

    smtp = catalog.scan(sim_install.log_dir).days_of("smtp")[0].files[-1].path
    with open(smtp, "a") as fh:
        fh.write("192.0.2.55       [0A1B] 10:11:12 Intrusion prevention: IP blocked (D), expires 2030-01-02T03:04:05\n")  # fmt: skip
    code, out, _ = _run(capsys, "tarpit", "list", "--root", str(sim_install.root), "--json")
    listed = {r["ip"]: r for r in json.loads(out)}
    assert code == 0 and {"192.0.2.55", "10.9.8.0/24"} <= set(listed)
    assert listed["192.0.2.55"]["expires"] == "2030-01-02T03:04:05" and listed["192.0.2.55"]["reason"] == "D"  # fmt: skip
    assert listed["10.9.8.0/24"]["expires"] is None and listed["10.9.8.0/24"]["reason"] is None
    code, _, err = _run(capsys, "tarpit", "remove-all", "--root", str(sim_install.root), "--yes")
    assert code == 1 and "unrecognised layout" in err
    assert _digest(path) == digest


def test_cli_json_rows_and_read_only_refusals(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ("--root", str(sim_root))
    code, out, _ = _run(capsys, "spam", "list", "--list", "quarantine", "--json", *root)
    rows = json.loads(out)
    assert code == 0 and len(rows) == 12
    assert {"id", "list", "sender", "owner", "domain", "subject", "created"} <= set(rows[0])
    code, out, _ = _run(capsys, "greylist", "list", "--json", *root)
    assert code == 0 and {"id", "value", "owner", "status", "created"} <= set(json.loads(out)[0])
    code, out, _ = _run(capsys, "tarpit", "list", "--json", *root)
    assert code == 0 and {"ip", "expires", "reason", "reason_text"} <= set(json.loads(out)[0])
    db, tp = sim_root / "spam" / "antispam.db", sim_root / "config" / "tarpit.dat"
    before = (_digest(db), _digest(tp))
    qid = str(rows[0]["id"])
    for argv in (
        ("spam", "add", "--list", "whitelist", "--sender", "a@b.test", "--owner", "*"),
        ("spam", "deliver", qid), ("spam", "whitelist", qid), ("spam", "blacklist", qid),
        ("spam", "delete", qid), ("greylist", "authorize", "1"), ("greylist", "delete", "1"),
        ("tarpit", "add", "10.0.0.1"), ("tarpit", "remove", "10.0.0.1"),
        ("tarpit", "remove-expired"), ("tarpit", "remove-all"),
    ):  # fmt: skip
        code, _, err = _run(capsys, *argv, *root, "--read-only", "--yes")
        assert code == 1 and "read-only" in err, argv
    assert (_digest(db), _digest(tp)) == before
    code, _, err = _run(capsys, "spam", "delete", "x1", *root, "--yes")
    assert code == 2 and "bad id" in err
    code, out, _ = _run(capsys, "spam", "delete", qid, *root, "--dry-run")
    assert code == 0 and "dry run" in out and (_digest(db), _digest(tp)) == before


def test_remove_all_of_thousands_is_one_rewrite_and_one_undo(
    sim_install: Install, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[sim_install.root])
    path = sim_install.tarpit_file
    later = datetime.now() + timedelta(hours=1)
    entries = [tarpit.TarpitEntry(f"10.{n // 250}.{n % 250}.1", later, "I") for n in range(3000)]
    path.write_text("".join(tarpit.format_entry(e) for e in entries))
    original = path.read_text()
    writes: list[int] = []
    real = tarpit._commit  # the one rename of a rewrite (was _save before issue 9)
    monkeypatch.setattr(tarpit, "_commit", lambda p, data, es, snap: (writes.append(len(es)), real(p, data, es, snap))[1])  # fmt: skip
    outcome = gate.execute(tarpit.remove_plan(path, None))
    assert outcome.done == 3000 and writes == [0] and tarpit.read(path).entries == ()
    gate.undo()
    assert writes == [0, 3000] and path.read_text() == original


def test_owners_come_from_the_mail_store(sim_install: Install) -> None:
    found = spam.owners(sim_install.mail_dir)
    domains = {d.name for d in sim_install.mail_dir.iterdir() if "." in d.name}
    assert found[0] == "*" and domains <= set(found)
    assert not any(o.startswith("_") for o in found)  # the queue folders are not owners
    users = [o for o in found if "@" in o]
    assert users and all((sim_install.mail_dir / o.split("@")[1] / o.split("@")[0]).is_dir() for o in users)  # fmt: skip
    assert spam.owners(sim_install.mail_dir / "missing") == ["*"]
