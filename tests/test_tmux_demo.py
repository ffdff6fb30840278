"""End to end: `iwtui demo` in a real tmux pane, read as a user would read it."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, check=False, timeout=30
    ).stdout


def _screen(session: str) -> str:
    return _tmux("capture-pane", "-p", "-t", session)


def _start(session: str, cmd: str) -> None:
    """A detached 160x48 pane. Under pytest the environment carries COLUMNS=80 and
    LINES=24, which the pane would inherit and which win over the pty's real size."""
    cmd = f"env -u COLUMNS -u LINES sh -c {shlex.quote(cmd)}"
    _tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "48", cmd)
    _tmux("set-option", "-t", session, "window-size", "manual")
    _tmux("resize-window", "-t", session, "-x", "160", "-y", "48")


def _demo_root(tmp_path: Path) -> Path:
    found = sorted(tmp_path.glob("iwtui-demo-*"))
    assert len(found) == 1, found
    return found[0]


def _wait(session: str, pattern: str, timeout: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, _screen(session))
        if m:
            return m
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never appeared; screen was:\n{_screen(session)}")


def test_demo_runs_live_in_tmux_and_cleans_up(isolated_config: Path, tmp_path: Path) -> None:
    session = f"iwtui-test-{uuid.uuid4().hex[:8]}"
    done = tmp_path / "exit-code"
    cmd = (
        f"IWTUI_CONFIG={isolated_config} TMPDIR={tmp_path} {sys.executable} -m iwtui demo --rate 200; "
        f"echo $? > {done}"
    )
    _start(session, cmd)
    try:
        started = time.monotonic()
        header = _wait(session, r"Outgoing (\d+)\s+Priority (\d+)\s+Retry (\d+)", timeout=30)
        first_counts = header.groups()
        startup = time.monotonic() - started
        _wait(session, r"\d+ shown", timeout=30)  # the Message Queue listed its items
        screen = _screen(session)
        demo_root = _demo_root(tmp_path)
        assert demo_root.is_dir()
        assert demo_root.name in screen, screen
        assert "1 Message Queue" in screen and "9 Volume" in screen and " shown" in screen
        # Live: the simulator delivers and queues mail; the header follows.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = re.search(r"Outgoing (\d+)\s+Priority (\d+)\s+Retry (\d+)", _screen(session))
            if m and m.groups() != first_counts:
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"counts never moved from {first_counts}")
        _tmux("send-keys", "-t", session, "7")
        _wait(session, r"History \(last 100 per service", timeout=30)
        _tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 15
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert done.exists() and done.read_text().strip() == "0"
        assert not demo_root.exists(), "the demo folder must be removed on exit"
        print(f"demo start to first counts: {startup:.2f} s")
    finally:
        _tmux("kill-session", "-t", session)


def test_demo_cleans_up_when_the_terminal_hangs_up(isolated_config: Path, tmp_path: Path) -> None:
    """An SSH session that drops: the pane's processes get SIGHUP. The demo must remove
    its folder and must not leave the simulator writing into it."""
    session = f"iwtui-test-{uuid.uuid4().hex[:8]}"
    cmd = f"IWTUI_CONFIG={isolated_config} TMPDIR={tmp_path} {sys.executable} -m iwtui demo"
    _start(session, cmd)
    try:
        _wait(session, r"Outgoing \d+", timeout=30)
        demo_root = _demo_root(tmp_path)
        assert demo_root.is_dir()
    finally:
        _tmux("kill-session", "-t", session)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        alive = subprocess.run(
            ["pgrep", "-f", f"simulate {demo_root}"], capture_output=True, timeout=30
        ).stdout
        if not demo_root.exists() and not alive.strip():
            break
        time.sleep(0.2)
    assert not demo_root.exists(), "demo folder left behind after hangup"
    alive = subprocess.run(
        ["pgrep", "-f", f"simulate {demo_root}"], capture_output=True, timeout=30
    ).stdout
    assert not alive.strip(), "simulator still running after hangup"
