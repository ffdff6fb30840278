"""`iwtui --version` and `--help` import no area module; each command imports only its
own; the static command table and top-level help agree with what the modules register."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import iwtui
from iwtui import cli
from iwtui.cli.options import lists, writes


def _registered() -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for module in ("shell", *cli.AREA_MODULES):
        sub = argparse.ArgumentParser().add_subparsers()

        def add(name, func, help_, module=module, sub=sub):  # type: ignore[no-untyped-def]
            found[name] = (module, help_)
            return sub.add_parser(name)

        importlib.import_module(f"iwtui.cli.{module}").register(add, lists, writes)
    return found


def test_the_command_table_matches_the_modules() -> None:
    assert _registered() == cli.COMMANDS


def test_top_help_names_every_option_of_the_parser() -> None:
    parser = cli.build_parser(None)
    strings = {s for a in parser._actions for s in a.option_strings}
    shown = {w.strip(",") for o, _h in cli.TOP_OPTIONS for w in o.split() if w.startswith("-")}
    assert strings == shown
    text = cli.top_help()
    assert all(c in text for c in cli.COMMANDS)


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"iwtui {iwtui.__version__}"
    assert cli.main(["--help"]) == 0
    assert "queue" in capsys.readouterr().out


def _loaded_after(args: list[str]) -> set[str]:
    code = (
        "import sys\nfrom iwtui.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "print(','.join(m for m in sys.modules if m.startswith('iwtui') or m == 'argparse'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.strip().splitlines()[-1].split(","))


def test_version_and_help_load_nothing_else() -> None:
    for args in (["--version"], ["--help"]):
        assert _loaded_after(args) <= {"iwtui", "iwtui.cli", "iwtui.errors"}, args


def test_a_command_loads_only_its_own_module() -> None:
    loaded = _loaded_after(["--root", "/nonexistent", "spam", "--help"])
    assert "iwtui.cli.spam" in loaded
    assert not {"iwtui.cli.queue", "iwtui.cli.logs", "iwtui.tui.app"} & loaded


def test_a_listing_loads_no_action_gate(sim_root: Path) -> None:
    """`queue list` (a script's first line out soon) imports neither the gate nor the spam
    database's modules: the commands that act import them."""
    loaded = _loaded_after(["queue", "list", "--jsonl", "--max", "1", "--root", str(sim_root)])
    assert "iwtui.icewarp.queue.scanning" in loaded
    assert not {"iwtui.icewarp.actions", "iwtui.icewarp.queue.actions",
                "iwtui.icewarp.spam.actions", "iwtui.icewarp.spam.lists"} & loaded  # fmt: skip


def test_an_unknown_command_lists_the_real_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["nosuch"])
    assert exc.value.code == 2
    assert "'queue'" in capsys.readouterr().err
