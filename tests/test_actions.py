from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from iwtui.errors import BadInput, Refused
from iwtui.icewarp import actions
from iwtui.icewarp.actions import ActionGate, Plan, trash_step


def _files(tmp_path: Path, n: int = 3) -> dict[str, Path]:
    q = tmp_path / "queue"
    q.mkdir()
    out = {}
    for i in range(n):
        p = q / f"MSG{i}.tmp"
        p.write_bytes(os.urandom(200) + f"message {i}".encode())
        out[p.stem] = p
    return out


def _plan(gate: ActionGate, paths: dict[str, Path]) -> Plan:
    return Plan(
        action="queue.delete",
        targets=actions.targets_of(paths),
        summary=f"Delete {len(paths)} messages",
        cli="iwtui queue delete " + " ".join(paths),
        step=trash_step(gate, "outgoing", paths),
        undoable=True,
    )


def test_read_only_refuses_and_touches_nothing(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    gate = ActionGate(tmp_path / "state", read_only=True)
    before = {k: p.read_bytes() for k, p in paths.items()}
    with pytest.raises(Refused, match="read-only"):
        gate.execute(_plan(gate, paths))
    assert {k: p.read_bytes() for k, p in paths.items()} == before
    assert not gate.journal_path.exists()
    with pytest.raises(Refused):
        gate.undo()


def test_delete_moves_to_trash_journals_and_undo_restores_bytes(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    before = {k: p.read_bytes() for k, p in paths.items()}
    gate = ActionGate(tmp_path / "state", read_only=False, user="tester", roots=[tmp_path])
    outcome = gate.execute(_plan(gate, paths))
    assert outcome.done == 3 and outcome.complete
    assert not any(p.exists() for p in paths.values())
    trashed = list((tmp_path / "state" / "trash").rglob("*.tmp"))
    assert len(trashed) == 3
    entry = gate.entries()[-1]
    assert entry["user"] == "tester" and entry["action"] == "queue.delete"
    assert entry["cli"].startswith("iwtui queue delete MSG0")
    assert sorted(entry["done"]) == sorted(paths)
    undo = gate.undo()
    assert undo.done == 3
    assert {k: p.read_bytes() for k, p in paths.items()} == before
    assert gate.undoable() == []
    with pytest.raises(Refused, match="nothing to undo"):
        gate.undo()


def test_a_vanished_target_is_gone_not_an_error(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[tmp_path])
    plan = _plan(gate, paths)  # the snapshot the user confirmed ...
    paths["MSG1"].unlink()  # ... then IceWarp delivered one of them
    outcome = gate.execute(plan)
    assert (outcome.done, outcome.gone, outcome.failed) == (2, 1, 0)
    assert "1 already delivered" in outcome.message(gone_word="already delivered")
    assert gate.entries()[-1]["gone"] == ["MSG1"]


def test_undo_never_overwrites(tmp_path: Path) -> None:
    paths = _files(tmp_path, 1)
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[tmp_path])
    gate.execute(_plan(gate, paths))
    paths["MSG0"].write_bytes(b"a new file with the same name")
    outcome = gate.undo()
    assert outcome.failed == 1 and "exists" in outcome.results[0].detail
    assert paths["MSG0"].read_bytes() == b"a new file with the same name"


def test_cross_device_move_copies_then_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "a.tmp"
    src.write_bytes(b"payload")
    real_rename = os.rename
    calls = {"n": 0}

    def rename(a: object, b: object) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.EXDEV, "cross-device link")
        real_rename(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)
    dst = tmp_path / "trash" / "a.tmp"
    actions.move_file(src, dst)
    assert dst.read_bytes() == b"payload" and not src.exists()
    assert not list((tmp_path / "trash").glob(".*"))


def test_atomic_write_leaves_no_temp_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    target = folder / "tarpit.dat"
    target.write_bytes(b"old")

    def boom(a: object, b: object) -> None:
        raise OSError(errno.EIO, "disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        actions.atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in folder.iterdir()) == ["tarpit.dat"]


def test_empty_selection_is_bad_input(tmp_path: Path) -> None:
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[tmp_path])
    with pytest.raises(BadInput):
        gate.execute(_plan(gate, {}))


def test_damaged_journal_lines_are_skipped(tmp_path: Path) -> None:
    paths = _files(tmp_path, 1)
    gate = ActionGate(tmp_path / "state", read_only=False, roots=[tmp_path])
    gate.execute(_plan(gate, paths))
    with open(gate.journal_path, "a") as fh:
        fh.write('{"half": \n\x00garbage\n')
    assert len(gate.entries()) == 1
    assert gate.undo().done == 1
