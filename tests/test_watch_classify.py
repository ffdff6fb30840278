"""Watcher events to areas: the most specific folder wins, a sibling folder whose name
starts the same is not inside, tarpit.dat is its own area, iwtui's temp files are none."""

from __future__ import annotations

from pathlib import Path

import pytest

from iwtui.icewarp import watch
from iwtui.icewarp.install import Install
from iwtui.icewarp.watch import Area, Classifier, classify


def test_events_map_to_their_areas(sim_install: Install) -> None:
    inst = sim_install
    area_of = Classifier(inst)
    cases = {
        inst.outgoing_dir / "x.tmp": Area.QUEUES,
        inst.retry_dir / "sub" / "y.dat": Area.QUEUES,
        inst.spam_dir / "antispam.db": Area.SPAM,
        inst.config_dir / "tarpit.dat": Area.TARPIT,
        inst.config_dir / "other.dat": Area.CONFIG,
        inst.log_dir / "smtp" / "s20260115.log": Area.LOGS,
        inst.log_dir: Area.LOGS,
        inst.log_dir.parent / (inst.log_dir.name + "2") / "a.log": None,  # a sibling
        inst.root / "elsewhere.txt": None,
        inst.outgoing_dir / ".m1.iwtui-tmp": None,  # ours, before its rename
    }
    for path, want in cases.items():
        assert area_of(str(path)) == want, path
        assert classify(inst, path) == want, path


def test_a_nested_folder_wins_over_its_parent(
    sim_install: Install, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outer, inner = tmp_path / "spool", tmp_path / "spool" / "logs"
    monkeypatch.setattr(watch, "_folders", lambda inst: [(outer, Area.QUEUES), (inner, Area.LOGS)])
    area_of = watch.Classifier(sim_install)
    assert area_of(str(inner / "smtp" / "a.log")) == Area.LOGS
    assert area_of(str(outer / "b.tmp")) == Area.QUEUES
    assert area_of(str(tmp_path / "spool2" / "b.tmp")) is None
