from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iwtui.cli import main
from iwtui.icewarp import doctor
from iwtui.icewarp.actions import ActionGate, Plan, trash_step


def _journaled_delete(state: Path, tmp_path: Path) -> Path:
    q = tmp_path / "q"
    q.mkdir()
    f = q / "A1.tmp"
    f.write_bytes(b"mail")
    gate = ActionGate(state, read_only=False)
    gate.execute(
        Plan(
            "queue.delete",
            ("A1",),
            "Delete 1 message",
            "iwtui queue delete A1",
            trash_step(gate, "outgoing", {"A1": f}),
            undoable=True,
        )
    )
    assert not f.exists()
    # undo touches only the install's folders and the state dir: tmp_path is the install
    cfg = Path(os.environ["IWTUI_CONFIG"])
    cfg.write_text(cfg.read_text() + f"root: {tmp_path}\n")
    return f


def test_undo_asks_refuses_without_terminal_and_acts_with_yes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    f = _journaled_delete(tmp_path / "state", tmp_path)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert main(["undo"]) == 1
    assert "no terminal to confirm" in capsys.readouterr().err and not f.exists()
    assert main(["undo", "--dry-run"]) == 0
    assert "dry run: would undo Delete 1 message" in capsys.readouterr().out and not f.exists()
    assert main(["undo", "--read-only", "--yes"]) == 1
    assert "read-only" in capsys.readouterr().err and not f.exists()
    assert main(["undo", "--yes"]) == 0
    assert f.read_bytes() == b"mail"
    assert main(["undo", "--yes"]) == 2  # nothing left to undo
    assert main(["journal", "--json"]) == 0
    out = capsys.readouterr().out
    entries = json.loads(out[out.index("[") :])
    assert [e["action"] for e in entries] == ["queue.delete", "undo"]
    assert entries[1]["undoes"] == entries[0]["id"]


def test_undo_asks_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _journaled_delete(tmp_path / "state", tmp_path)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["undo"]) == 1 and not f.exists()
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert main(["undo"]) == 0 and f.exists()


def test_config_command_says_where_values_come_from(
    isolated_config: Path, sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated_config.write_text(
        isolated_config.read_text() + "refresh_seconds: 7\nkeymap:\n  app.quit: ctrl+q\n"
    )
    assert main(["config", "--root", str(sim_root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config"]["refresh_seconds"] == {"value": 7.0, "from": str(isolated_config)}
    assert data["config"]["root"]["from"] == "command line"
    assert data["config"]["theme"]["from"] == "default"
    assert data["install"]["outgoing"] == [str(sim_root / "mail/_outgoing"), "default"]
    assert main(["keys"]) == 0
    assert "ctrl+q" in capsys.readouterr().out


def test_bad_config_is_one_line_exit_2(
    isolated_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated_config.write_text("colour: blue\n")
    assert main(["config"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'colour'" in err and str(isolated_config) in err


def test_unexpected_errors_are_one_line_unless_debug(
    sim_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*a: object, **k: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(doctor, "run", broken)
    assert main(["doctor", "--root", str(sim_root)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RuntimeError" in err and "--debug" in err
    with pytest.raises(RuntimeError):
        main(["doctor", "--root", str(sim_root), "--debug"])


def test_status_uses_the_header_counts(sim_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--root", str(sim_root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sum(data["queues"].values()) == 60
    assert data["spam"]["quarantine"] == 12
    assert data["tarpit"] == {"active": 0, "total": 9, "note": None}


def test_status_names_what_is_missing_and_exits_1(
    tmp_path: Path, sim_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14: `status` on an empty root printed zeros with exit 0."""
    empty = tmp_path / "empty"
    (empty / "config").mkdir(parents=True)
    assert main(["status", "--root", str(empty)]) == 1
    err = capsys.readouterr().err
    assert "not found in this install: queues, spam database, tarpit.dat" in err
    assert main(["status", "--root", str(empty), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["missing"] == [
        "queues",
        "spam database",
        "tarpit.dat",
    ]
    (sim_root / "spam" / "antispam.db").unlink()
    assert main(["status", "--root", str(sim_root), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["missing"] == ["spam database"]


def test_bad_arguments_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "iwtui", "doctor", "--no-such-flag"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
