"""The core never imports Textual: proven in a fresh interpreter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import iwtui.analyzer
import iwtui.cli
import iwtui.data
import iwtui.icewarp
import iwtui.simulator


def _modules() -> list[str]:
    names = []
    # the CLI too: its modules load Textual only inside the commands that draw a screen
    for pkg in (iwtui.icewarp, iwtui.analyzer, iwtui.simulator, iwtui.data, iwtui.cli):
        names.append(pkg.__name__)
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
    return names


def test_core_packages_do_not_load_textual() -> None:
    modules = _modules()
    assert "iwtui.icewarp.install" in modules and "iwtui.icewarp.actions" in modules
    assert {"iwtui.icewarp.queue.actions", "iwtui.icewarp.spam.tarpit", "iwtui.cli.queue"} <= set(
        modules
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "import iwtui.cli, iwtui.config\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"textual loaded by the core: {out.stdout}"


def test_the_check_would_notice_textual() -> None:
    # Guard against a check that cannot fail: the TUI package does load Textual.
    code = "import sys, iwtui.tui.app\nprint('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
