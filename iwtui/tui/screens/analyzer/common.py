"""What the Log Analyzer tabs share: the session's settings, result tables with columns
known only at run time, a small bar chart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text

from iwtui.analyzer.render import cell
from iwtui.analyzer.settings import Settings
from iwtui.icewarp.install import Install
from iwtui.tui.widgets.item_table import Column, ItemTable


@dataclass
class Shared:
    """The analyzer's settings for this console session (edits here are not written to
    the config: put them under ``analyzer:`` to keep them)."""

    install: Install
    state_dir: Path
    settings: Settings

    @property
    def url(self) -> str:
        return self.settings.db_url(self.state_dir)


Row = tuple[int, tuple[Any, ...]]  # (row number, values): the number keeps keys unique


def result_table(columns: list[str], rows: list[tuple[Any, ...]], id: str) -> ItemTable[Row]:
    """A virtual table for rows whose columns are only known now."""

    def col(i: int, title: str) -> Column[Row]:
        numeric = bool(rows) and all(isinstance(r[i], (int, float)) or r[i] is None
                                     for r in rows[:200])  # fmt: skip
        width = 0 if i == 0 and len(columns) < 6 else max(6, min(28, len(title) + 2))
        if rows:  # the widest value of the first rows (a number's too: never cut)
            width = max(width, min(28, max(len(cell(r[i])) for r in rows[:200]) + (not numeric)))
        return Column(
            title,
            width if i else 0,
            lambda r: cell(r[1][i]),
            lambda r: (r[1][i] is None, r[1][i] if r[1][i] is not None else 0),
            "right" if numeric else "left",
        )

    cols = [col(i, t) for i, t in enumerate(columns)] or [
        Column("(no columns)", 0, lambda r: "", lambda r: 0)
    ]
    table: ItemTable[Row] = ItemTable(cols, key=lambda r: r[0], id=id, own_order=True)
    return table


def numbered(rows: list[tuple[Any, ...]], start: int = 0) -> list[Row]:
    return [(start + i, r) for i, r in enumerate(rows)]


def bar_chart(columns: list[str], rows: list[tuple[Any, ...]], chart: tuple[int, int] | None,
              width: int = 34, limit: int = 24, highlight: list[int] | None = None) -> Text:  # fmt: skip
    """Horizontal bars: one per row (the first ``limit``), label and value columns."""
    out = Text()
    if chart is None or not rows:
        return out
    li, vi = chart
    vals = [(cell(r[li])[:14], r[vi]) for r in rows[:limit] if isinstance(r[vi], (int, float))]
    if not vals:
        return out
    top = max(float(v) for _l, v in vals) or 1.0
    hi = set(highlight or [])
    out.append(f"{columns[vi]}\n", style="bold")
    for n, (label, v) in enumerate(vals):
        n_cells = round(width * float(v) / top)
        out.append(f"{label:<14} ")
        out.append("█" * n_cells, style="bold yellow" if n in hi else "cyan")
        out.append(f" {cell(v)}\n")
    return out
