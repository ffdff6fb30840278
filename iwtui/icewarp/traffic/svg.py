"""A chart of one or more series as a standalone SVG (Save As Image, ``--svg``).

Plain SVG 1.1 (lines, text), no scripts, every text escaped; opens in any browser."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from iwtui.icewarp.traffic.query import Series
from iwtui.units import nice_top

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")


def _human(v: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= size:
            return f"{v / size:.1f}{unit}"
    return f"{v:g}"


def render(series: Sequence[Series], title: str, width: int = 960, height: int = 420) -> str:
    left, right, top, bottom = 70, 20, 40, 60 + 18 * len(series)
    pw, ph = width - left - right, height - top - bottom
    n = max((len(s.points) for s in series), default=0)
    ymax = nice_top(max((p.v for s in series for p in s.points), default=0), least=1.0)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="24" font-size="16">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>',
    ]
    for i in range(5):
        y = top + ph - ph * i / 4
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" '
                   'stroke="#eee"/>')  # fmt: skip
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{escape(_human(ymax * i / 4))}</text>")  # fmt: skip
    if series and n:
        pts = series[0].points
        for i in range(0, n, max(1, n // 6)):
            x = left + pw * i / max(1, n - 1)
            label = pts[i].t.replace("T", " ")[:16]
            out.append(f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">'
                       f"{escape(label)}</text>")  # fmt: skip
    for k, s in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        coords = " ".join(
            f"{left + pw * i / max(1, n - 1):.1f},{top + ph - ph * p.v / ymax:.1f}"
            for i, p in enumerate(s.points)
        )
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                   f'points="{coords}"/>')  # fmt: skip
        peak = s.peak
        legend = (f"{s.service} {s.category}: total {s.total:,}, average "
                  f"{s.average():.2f}/min, peak {peak.peak if peak else 0:,}/min"
                  f"{' at ' + peak.t.replace('T', ' ')[:16] if peak else ''}")  # fmt: skip
        y = top + ph + 36 + 18 * k
        out.append(f'<rect x="{left}" y="{y - 10}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{left + 18}" y="{y}">{escape(legend)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
