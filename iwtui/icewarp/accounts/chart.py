"""Save As Image for the Account Statistics chart: a horizontal bar chart as SVG (one bar
per account, the chosen category), plus the same points as CSV. Text is escaped."""

from __future__ import annotations

import csv
import io
from xml.sax.saxutils import escape

from iwtui.icewarp.accounts.stats import AccountRow

CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("received_count", "Received #", "count"),
    ("received_bytes", "Received", "bytes"),
    ("sent_count", "Sent #", "count"),
    ("sent_bytes", "Sent", "bytes"),
    ("sent_out_count", "Sent Out #", "count"),
    ("sent_out_bytes", "Sent Out", "bytes"),
    ("messages_count", "Files #", "count"),
    ("messages_bytes", "Files", "bytes"),
)


def top(rows: list[AccountRow], field: str, n: int) -> list[tuple[str, int]]:
    """The ``n`` accounts with the most of ``field`` (ties A-Z), zeros left out."""
    got = sorted(((r.account, int(getattr(r, field))) for r in rows), key=lambda x: (-x[1], x[0]))
    return [(a, v) for a, v in got if v][:n]


def svg(title: str, bars: list[tuple[str, int]], unit: str) -> str:
    width, left, bar_h, gap, top_y = 900, 280, 18, 6, 40
    height = top_y + len(bars) * (bar_h + gap) + 20
    most = max((v for _, v in bars), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(bars):
        y = top_y + i * (bar_h + gap)
        w = int((width - left - 120) * value / most)
        shown = f"{value:,} B" if unit == "bytes" else f"{value:,}"
        parts += [
            f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{escape(label)}</text>',
            f'<rect x="{left}" y="{y}" width="{max(w, 1)}" height="{bar_h}" fill="#2a7fbf"/>',
            f'<text x="{left + w + 6}" y="{y + 13}">{escape(shown)}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def csv_text(field: str, bars: list[tuple[str, int]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["account", field])
    w.writerows(bars)
    return buf.getvalue()
