"""``iwtui.cli.replay``: a warm ``charts show`` answered from its last run, and every change
that must make the next run a full one (issue 11, the warm figure)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from iwtui import config
from iwtui.cli import main, replay
from iwtui.icewarp.traffic import ingest as ingest_mod
from iwtui.icewarp.traffic import query

DAY = "2026-01-15"


def _show(root: Path, *extra: str) -> list[str]:
    return ["charts", "show", "--root", str(root), "--service", "smtp", "--category",
            "serverconn", "--date", DAY, "--json", *extra]  # fmt: skip


class Spy:
    """Counts the full runs (the store brought up to date) of ``charts show``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = ingest_mod.ingest

        def counted(*a: Any, **k: Any) -> Any:
            self.calls += 1
            return real(*a, **k)

        monkeypatch.setattr(ingest_mod, "ingest", counted)


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _total(out: str) -> int:
    return sum(p["v"] for p in json.loads(out)[0]["points"])


def _entries(state: Path) -> list[Path]:
    d = state / "traffic" / "answers"
    return sorted(d.iterdir()) if d.is_dir() else []


def test_the_same_command_again_is_replayed(sim_root: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    spy = Spy(monkeypatch)
    first = _run(capsys, _show(sim_root))
    assert spy.calls == 1 and len(_entries(tmp_path / "state")) == 1
    assert _run(capsys, _show(sim_root)) == first
    assert spy.calls == 1  # nothing read, no store opened
    monkeypatch.setenv("IWTUI_NO_REPLAY", "1")
    assert _run(capsys, _show(sim_root)) == first
    assert spy.calls == 2
    monkeypatch.delenv("IWTUI_NO_REPLAY")
    assert _run(capsys, [*_show(sim_root), "--step", "5m"]) != first  # another command line
    assert spy.calls == 3


def _append_connection(root: Path) -> None:
    log = next((root / "logs" / "smtp").glob(f"s{DAY.replace('-', '')}*.log"))
    with log.open("a") as fh:
        fh.write("192.0.2.9       [7F7F] 13:59:01 Connected\n")


def _new_log(root: Path) -> None:
    (root / "logs" / "smtp" / "s20260116.log").write_text("192.0.2.9       [7F7E] 00:00:01 Connected\n")  # fmt: skip


CHANGES = {
    "a line appended": _append_connection,
    "a new log file": _new_log,
    "path.dat changed": lambda root: (root / "path.dat").write_text("\n" * 9 + "srv2\n"),
    "tool.sh appeared": lambda root: (root / "tool.sh").write_text("#!/bin/sh\n"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_in_the_install_makes_a_full_run(change: str, sim_root: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    spy = Spy(monkeypatch)
    first = _run(capsys, _show(sim_root))
    time.sleep(0.01)  # (a different modification time on any file system clock)
    CHANGES[change](sim_root)
    second = _run(capsys, _show(sim_root))
    assert spy.calls == 2, "replayed after a change"
    monkeypatch.setenv("IWTUI_NO_REPLAY", "1")
    assert second == _run(capsys, _show(sim_root))  # the full run's answer
    if change == "a line appended":
        assert _total(second) == _total(first) + 1


def test_config_date_and_code_are_part_of_the_answer(sim_root: Path, tmp_path: Path,
                                                     isolated_config: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    spy = Spy(monkeypatch)
    _run(capsys, _show(sim_root))
    isolated_config.write_text(isolated_config.read_text() + "# an edit\n")
    _run(capsys, _show(sim_root))
    assert spy.calls == 2
    _run(capsys, _show(sim_root))
    assert spy.calls == 2
    monkeypatch.setattr(replay, "_today", lambda: "2026-01-16 +0000")  # midnight passed
    _run(capsys, _show(sim_root))
    assert spy.calls == 3
    code = tmp_path / "code"
    code.mkdir()
    (code / "mod.py").write_text("x = 1\n")
    monkeypatch.setattr(replay, "CODE_DIRS", [str(code)])
    _run(capsys, _show(sim_root))
    _run(capsys, _show(sim_root))
    assert spy.calls == 4
    time.sleep(0.01)
    (code / "mod.py").write_text("x = 2\n")  # iwtui upgraded or edited
    _run(capsys, _show(sim_root))
    assert spy.calls == 5
    monkeypatch.chdir(tmp_path)  # a relative --root would name another folder
    _run(capsys, _show(sim_root))
    assert spy.calls == 6


def test_what_is_not_kept(sim_root: Path, tmp_path: Path, isolated_config: Path,
                          capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    state = tmp_path / "state"
    _run(capsys, _show(sim_root, "--svg", str(tmp_path / "c.svg")))  # a file written too
    assert _entries(state) == []
    tool = sim_root / "tool.sh"  # folders asked of tool.sh: its answer may change
    tool.write_text("#!/bin/sh\nexit 1\n")
    tool.chmod(0o755)
    isolated_config.write_text(f"state_dir: {state}\ntool_sh: true\nwatch: false\n")
    _run(capsys, _show(sim_root))
    assert _entries(state) == []
    tool.unlink()
    real = query.series

    def growing(*a: Any, **k: Any) -> Any:  # the log grows while the command runs
        _append_connection(sim_root)
        return real(*a, **k)

    monkeypatch.setattr(query, "series", growing)
    _run(capsys, _show(sim_root))
    assert _entries(state) == []
    monkeypatch.setattr(query, "series", real)
    _run(capsys, _show(sim_root))
    assert len(_entries(state)) == 1


def test_a_planted_or_broken_answer_is_not_replayed(sim_root: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    spy = Spy(monkeypatch)
    first = _run(capsys, _show(sim_root))
    (entry,) = _entries(tmp_path / "state")
    good = entry.read_bytes()
    elsewhere = tmp_path / "planted"
    elsewhere.write_bytes(good.replace(b'"v": 0', b'"v": 7'))
    variants = {
        "a link": lambda: entry.symlink_to(elsewhere),
        "a FIFO": lambda: os.mkfifo(entry),
        "garbage": lambda: entry.write_bytes(b"\0\1\n" * 50),
        "cut short": lambda: entry.write_bytes(good[: len(good) // 2]),
        "another key": lambda: entry.write_bytes(good.replace(b"serverconn", b"serverconX", 1)),
    }
    for name, plant in variants.items():
        entry.unlink()
        plant()
        calls = spy.calls
        t0 = time.monotonic()
        assert _run(capsys, _show(sim_root)) == first, name
        assert spy.calls == calls + 1 and time.monotonic() - t0 < 20, name
        entry.unlink(missing_ok=True)
        entry.write_bytes(good)


@pytest.mark.parametrize("text", [
    "", "# nothing\n", "state_dir: /srv/st\n", "state_dir: ~/st\nwatch: false\n",
    "state_dir: '/q/st'\n", 'state_dir: "/q"\n', "state_dir: /a # note\n", "state_dir:\n",
    "theme: nord\nstate_dir: /srv/x y\n", "analyzer:\n  state_dir: /nested\n",
    "state_dir: /a\nstate_dir: /b\n", "state_dir: &x /a\n", "state_dir: !!str /a\n",
    "state_dir: /a: b\n", "state_dir: /a:\n", "state_dir: ~\n",
])  # fmt: skip
def test_the_lean_reading_of_the_config_agrees_or_abstains(text: str, tmp_path: Path) -> None:
    """Where the replay's own reading of the config names a state folder, the config's
    reader names the same one (else a run would keep answers where no replay looks: the
    full run checks this too before it keeps one, so a wrong reading costs a replay only)."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    env = {**os.environ, "IWTUI_CONFIG": str(cfg)}
    assert replay.config_file([], env) == str(cfg) == str(config.config_path(env)[0])
    assert replay.config_file(["x", "--config", "~/o.yaml"], env) == os.path.expanduser("~/o.yaml")
    assert replay.config_file(["--config=/o.yaml"], env) == "/o.yaml"
    lean = replay.state_dir(text, env)
    if lean is not None:
        assert lean == str(config.load(env).config.state_path()), text


def test_a_replayed_run_is_start_up_only(sim_root: Path, isolated_config: Path) -> None:
    argv = _show(sim_root)
    code = (
        "import sys, os\nfrom iwtui.cli import main\n"
        f"sys.stdout = open(os.devnull, 'w')\nrc = main({argv!r})\nsys.stdout = sys.__stdout__\n"
        "print(rc, ','.join(sorted(sys.modules)))"
    )
    env = {**os.environ, "IWTUI_CONFIG": str(isolated_config)}
    env.pop("IWTUI_NO_REPLAY", None)
    run = [sys.executable, "-c", code]
    subprocess.run(run, env=env, capture_output=True, check=True)  # the full run
    out = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    rc, _, names = out.strip().splitlines()[-1].partition(" ")
    loaded = set(names.split(","))
    assert rc == "0" and "iwtui.cli.replay" in loaded
    unwanted = {"argparse", "pathlib", "dataclasses", "typing", "json", "sqlite3", "datetime",
                "re", "iwtui.config", "iwtui.cli.common", "iwtui.icewarp.traffic.store"}  # fmt: skip
    assert not unwanted & loaded, sorted(unwanted & loaded)


def test_the_console_feed_writing_the_store_meanwhile_changes_nothing(
    sim_root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer depends on the logs, not on the store's file: another process ingesting
    the same logs (the console) leaves the replayed answer right."""
    from iwtui.icewarp.install import discover
    from iwtui.icewarp.traffic.store import Store, default_path

    first = _run(capsys, _show(sim_root))
    inst = discover(sim_root, use_tool_sh=False)
    state = Path(str(config.load().config.state_path()))
    done = threading.Event()

    def other() -> None:
        with Store(default_path(inst, state)) as store:
            ingest_mod.ingest(inst, store)
        done.set()

    t = threading.Thread(target=other)
    t.start()
    t.join(30)
    assert done.is_set()
    spy = Spy(monkeypatch)
    assert _run(capsys, _show(sim_root)) == first and spy.calls == 0
