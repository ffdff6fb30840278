"""Traffic Charts and Statistics: charts categories, charts show, stats (issue 11)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from iwtui.cli.common import Add


def register(
    add: Add,
    lists: Callable[[argparse.ArgumentParser], None],
    writes: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Being built (see the issue): no commands yet."""
