from __future__ import annotations

import json
from pathlib import Path

import pytest

from iwtui.cli import main
from iwtui.icewarp import doctor
from iwtui.icewarp.install import discover


def test_doctor_finds_every_area_of_a_simulated_tree(
    sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--root", str(sim_root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report) == list(doctor.AREAS)
    for area, rep in report.items():
        assert set(rep) == {"found", "path", "detail"}
        assert rep["found"] is True, (area, rep)
    assert "quarantine 12" in report["spam_database"]["detail"]
    assert "12 of 12" in report["quarantine_files"]["detail"]
    assert "readable layout: 9 IPs" in report["tarpit"]["detail"]


def test_doctor_on_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["doctor", "--root", str(empty), "--json"]) == 1
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert all(rep["found"] is False for rep in report.values())
    assert "MySQL" in report["spam_database"]["detail"]
    assert "Traceback" not in out.err


def test_doctor_text_output_and_missing_root(
    tmp_path: Path, sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--root", str(sim_root)]) == 0
    text = capsys.readouterr().out
    assert "ok      queues" in text and "install root:" in text
    assert main(["doctor", "--root", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("iwtui: ") and "Traceback" not in err


def test_binary_tarpit_is_reported_read_only(sim_root: Path) -> None:
    path = sim_root / "config" / "tarpit.dat"
    blob = b"\x01\x00\x00\x0210.1.2.3\x00\xff\xfe192.168.7.7\x00\x00\x9c2001:db8::5\x00"
    path.write_bytes(blob)
    rep = doctor.run(discover(sim_root, use_tool_sh=False))["tarpit"]
    assert rep.found and "unrecognised layout, read-only" in rep.detail and "3 IPs" in rep.detail
    assert path.read_bytes() == blob


def test_corrupt_and_foreign_spam_database(sim_root: Path) -> None:
    db = sim_root / "spam" / "antispam.db"
    db.write_bytes(b"this is not sqlite at all" * 100)
    report = doctor.run(discover(sim_root, use_tool_sh=False))
    assert not report["spam_database"].found
    assert "not a readable SQLite database" in report["spam_database"].detail
    import sqlite3

    db.unlink()
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE Other (x)")
    report = doctor.run(discover(sim_root, use_tool_sh=False))
    assert (
        not report["spam_database"].found and "no Senders table" in report["spam_database"].detail
    )
    assert not report["greylist"].found


def test_relocated_queues_are_reported(sim_root: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved-retry"
    (sim_root / "mail/_outgoing/retry").rename(moved)
    lines = [""] * 13
    lines[8] = str(moved)
    (sim_root / "path.dat").write_bytes("\r\n".join(lines).encode())
    rep = doctor.run(discover(sim_root, use_tool_sh=False))["queues"]
    assert f"retry -> {moved}" in rep.detail
