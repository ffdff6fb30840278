"""Timing helpers: every figure is a median of runs made side by side with its baseline.

Every iwtui process a bench starts runs with its bytecode cached, as an installed iwtui
has it (pip compiles it): PYTHONDONTWRITEBYTECODE, which this machine's environment sets,
is removed and the bytecode kept in a folder of its own (PYTHONPYCACHEPREFIX). With it,
each run compiled every module it imports again (30-60 ms a command) against a grep that
is already compiled.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault(
    "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "iwtui-bench-pycache")
)


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def shell(cmd: str) -> Callable[[], object]:
    return lambda: subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)


def compare(name: str, ours: Callable[[], object], base: Callable[[], object], base_name: str,
            runs: int = 3) -> tuple[float, float]:  # fmt: skip
    """Alternate ours/baseline runs; print medians and the ratio."""
    a, b = [], []
    for _ in range(runs):
        a.append(timed(ours))
        b.append(timed(base))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{name:<44} {ma:8.3f} s   {base_name:<34} {mb:8.3f} s   ratio {ma / mb:6.2f}x")
    return ma, mb


def simulated_tree(name: str, *simulate_args: str) -> Path:
    """A simulated install under the temp folder, built once and reused across runs
    (``iwtui simulate --once --fresh`` with these arguments)."""
    cache = Path(tempfile.gettempdir()) / f"iwtui-bench-{name}"
    if not (cache / ".done").exists():
        subprocess.run([sys.executable, "-m", "iwtui", "simulate", str(cache), "--once", "--fresh", *simulate_args],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        (cache / ".done").touch()
    return cache


def bare_textual_app(line: str) -> str:
    """The source of a bare Textual app that shows one line: the floor any Textual
    program pays, the baseline of the console's start-up and idle figures."""
    return (
        "from textual.app import App\n"
        "from textual.widgets import Static\n"
        "class A(App):\n"
        "    def compose(self):\n"
        f"        yield Static({line!r})\n"
        "A().run()\n"
    )
