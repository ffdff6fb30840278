from __future__ import annotations

import hashlib
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from iwtui.icewarp.install import discover
from iwtui.icewarp.logs.names import parse_name
from iwtui.icewarp.queue import folders as queues
from iwtui.icewarp.spam import lists as spam
from iwtui.icewarp.spam import tarpit
from iwtui.simulator.live import LiveSimulator
from iwtui.simulator.tree import STATE_FILE, SimOptions, build

from .conftest import FIXED_START

LINE = re.compile(
    r"^(\S+)\s+\[([0-9A-F]{4}|[0-9A-F]{8})\] (\d\d:\d\d:\d\d|\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}) "
)


def _fingerprint(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "antispam.db":
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
            out[str(p.relative_to(root)) + ":mtime"] = str(int(p.stat().st_mtime))
    with closing(sqlite3.connect(root / "spam" / "antispam.db")) as con:
        out["db"] = repr(con.execute("SELECT * FROM Senders ORDER BY SndID").fetchall()) + repr(
            con.execute("SELECT * FROM Greylist ORDER BY GLID").fetchall()
        )
    return out


def _opts(seed: int = 11, **kw: object) -> SimOptions:
    base: dict[str, object] = dict(
        seed=seed, start=FIXED_START, log_mb=0.1, queue=30, quarantine=6, tarpit=5
    )
    base.update(kw)
    return SimOptions(**base)  # type: ignore[arg-type]


def test_same_seed_same_tree(tmp_path: Path) -> None:
    build(tmp_path / "a", _opts(days=2))
    build(tmp_path / "b", _opts(days=2))
    build(tmp_path / "c", _opts(seed=12, days=2))
    fa, fb, fc = (_fingerprint(tmp_path / x) for x in "abc")
    assert fa == fb
    assert fa != fc


def test_layout_matches_the_spec(sim_root: Path) -> None:
    inst = discover(sim_root, use_tool_sh=False)
    raw = (sim_root / "path.dat").read_bytes()
    assert raw.count(b"\r\n") == 13 and b"\n" not in raw.replace(b"\r\n", b"")
    counts = queues.counts(inst)
    assert sum(counts.values()) == 60
    assert all(counts[q] > 0 for q in ("outgoing", "priority", "retry", "incoming", "mda", "sms"))
    assert list(inst.incoming_dir.glob("*.dat")) and list(inst.incoming_dir.glob("*.tm$.tm$"))
    # Queue files are messages with envelope headers.
    item = next(inst.outgoing_dir.glob("*.tmp")).read_bytes()
    assert (
        item.startswith(b"Return-Path: <") and b"X-Envelope-To: <" in item and b"\r\n\r\n" in item
    )
    # Mailboxes: <mail>/<domain>/<user>/inbox/*.imap, names begin with the year.
    imap = list(inst.mail_dir.glob("*/*/inbox/*.imap"))
    assert imap and all(re.match(r"^20\d\d", p.name) for p in imap)
    # Every quarantine row has its file.
    rows = spam.quarantine_folders(inst.antispam_db)
    assert len(rows) == 12
    for owner, folder in rows:
        qdir = spam.quarantine_dir(inst.mail_dir, owner, folder)
        assert qdir is not None and list(qdir.glob("*.tmp"))
    assert spam.schema(inst.antispam_db).senders and spam.schema(inst.antispam_db).greylist
    t = tarpit.read(inst.tarpit_file)
    assert t.layout == tarpit.READABLE and len(t.entries) == 9
    assert any(":" in e.ip for e in t.entries)  # an IPv6 entry
    logs = [parse_name(p, inst.log_dir) for p in inst.log_dir.rglob("*.log")]
    assert all(n is not None for n in logs)
    assert {n.service for n in logs if n} >= {
        "smtp",
        "pop3",
        "imap",
        "antispam",
        "flow",
        "performance",
        "spamreports",
    }


def test_log_lines_have_the_spec_shape_and_share_threads(sim_root: Path) -> None:
    smtp = (sim_root / "logs/smtp/s20260115.log").read_text()
    flow = (sim_root / "logs/flow/q20260115.log").read_text()
    for line in smtp.splitlines():
        assert LINE.match(line), line
    assert re.search(r"\*\*\* <\S+> <\S+>.* \d+ \d+ \d\d:\d\d:\d\d OK [A-Z]{3}\d{5}$", smtp, re.M)
    assert "User unknown; rejecting" in smtp or "Unknown user; rejecting" in smtp
    assert "Greylisted, please try again later" in smtp
    assert "Client session" in smtp and "Intrusion prevention: IP blocked (" in smtp
    assert "Forwarded mails older than" in smtp
    # The seed's mail-flow example: the same thread at the same time in SMTP and flow logs.
    m = re.search(r"^SYSTEM \[([0-9A-F]+)\] (\S+) HandleLocalMail Begin$", flow, re.M)
    assert m is not None
    assert re.search(rf"\[{m.group(1)}\] {m.group(2)} Start of mail processing", smtp)
    report = (sim_root / "logs/spamreports/r20260115.log").read_text().splitlines()[0]
    assert re.match(r"^Challenge \[0001\] \d\d:\d\d:\d\d \d+\.\d{6} \d+ \d+ \d+ \d+$", report)


def test_retry_items_have_matching_client_failures(sim_root: Path) -> None:
    inst = discover(sim_root, use_tool_sh=False)
    smtp = (sim_root / "logs/smtp/s20260115.log").read_text()
    retry = list(inst.retry_dir.iterdir())
    assert retry
    for item in retry:
        head = item.read_text(errors="replace").split("\r\n\r\n")[0]
        sender = re.search(r"^X-Envelope-From: <(.+?)>", head, re.M)
        assert sender is not None
        failures = re.findall(
            rf"Client session \*\*\* <{re.escape(sender.group(1))}> <\S+> 1 (\d+) \S+ (CNC|ERROR)",
            smtp,
        )
        assert failures, f"no client failure logged for {item.name}"
        assert any(int(size) == item.stat().st_size for size, _ in failures)


def test_other_time_format_and_thread_width(tmp_path: Path) -> None:
    build(tmp_path / "r", _opts(time_format="rfc822", tid_digits=8))
    text = (tmp_path / "r/logs/smtp/s20260115.log").read_text()
    first = text.splitlines()[0]
    assert re.match(r"^\S+\s+\[[0-9A-F]{8}\] Thu, 15 Jan 2026 \d\d:\d\d:\d\d \+0100 ", first), first


def test_size_target_is_met(tmp_path: Path) -> None:
    build(tmp_path / "s", _opts(log_mb=3))
    size = (tmp_path / "s/logs/smtp/s20260115.log").stat().st_size
    assert 2.7e6 < size < 3.6e6


def test_live_mode_appends_rotates_and_churns(tmp_path: Path) -> None:
    root = tmp_path / "live"
    opts = _opts(rate=600, rotate_mb=0.05, queue=40, start=None)
    build(root, opts)
    inst = discover(root, use_tool_sh=False)
    before = queues.counts(inst)
    lines = LiveSimulator(root, opts).run(duration=2.5)
    assert lines >= 1000
    parts = sorted(p.name for p in (root / "logs/smtp").iterdir())
    assert any("-01" in p for p in parts), parts  # rotated by size
    for p in (root / "logs/smtp").iterdir():
        data = p.read_text()
        assert data.endswith("\n")
        for line in data.splitlines():
            assert LINE.match(line), line
    assert queues.counts(inst) != before
    t = tarpit.read(inst.tarpit_file)
    assert t.layout == tarpit.READABLE  # replaced atomically, never half-written
    assert (root / STATE_FILE).exists()


def test_simulate_refuses_a_non_simulated_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from iwtui.cli import main

    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "important.txt").write_text("keep")
    assert main(["simulate", str(tmp_path / "real"), "--once"]) == 2
    assert "refusing" in capsys.readouterr().err
    assert (tmp_path / "real" / "important.txt").read_text() == "keep"


def test_live_queues_keep_a_steady_backlog(tmp_path: Path) -> None:
    """Issue 14.8: after ten minutes of the demo its outgoing, priority and retry queues
    were empty. Ten minutes of queue work (600 churns, no time passing for log lines)
    leave a backlog of each, with deferrals."""
    from datetime import datetime

    from iwtui.simulator import live

    root = tmp_path / "live"
    opts = _opts(rate=25, queue=300, start=None)
    build(root, opts)
    inst = discover(root, use_tool_sh=False)
    sim = LiveSimulator(root, opts)
    for _ in range(600):
        sim.churn(datetime.now().replace(microsecond=0))
        sim._emit(datetime.now().replace(microsecond=0))  # new mail arrives meanwhile
    counts = queues.counts(inst)
    waiting = counts["outgoing"] + sum(v for k, v in counts.items() if k.startswith("priority"))
    assert waiting >= live.BACKLOG_OUTGOING * 0.6, counts
    assert counts["retry"] >= live.BACKLOG_RETRY * 0.5, counts
    assert any(v for k, v in counts.items() if k.startswith("priority")), counts
