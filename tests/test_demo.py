"""`iwtui demo` keeps its journal and trash inside its own folder (issue 14.8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iwtui.cli import main


def test_demo_state_lives_and_dies_with_the_demo_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def fake_run_app(inst: Any, loaded: Any, *, demo: bool = False) -> int:
        seen["root"] = Path(inst.root)
        seen["state"] = loaded.config.state_path()
        assert (seen["root"] / "path.dat").exists() or (seen["root"] / "mail").is_dir()
        return 0

    monkeypatch.setattr("iwtui.tui.app.run_app", fake_run_app)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["demo", "--rate", "1"]) == 0
    folder = seen["root"].parent
    assert seen["state"].parent == folder  # beside the simulated install
    assert not str(seen["state"]).startswith(str(tmp_path / "xdg-state"))
    assert not folder.exists()  # removed on exit, journal and trash with it
