"""Reports as text tables, CSV and HTML (the CLI and the e-mailed statistics share them).
Values from the logs are made inert for a terminal (``safe_text``) or escaped (HTML)."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

from iwtui.analyzer.reports import Report
from iwtui.icewarp.logs.lines import safe_text


def cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (bytes, memoryview)):
        return f"<{len(bytes(v))} bytes>"
    return safe_text(str(v), limit=200)


def text_table(columns: list[str], rows: list[tuple[Any, ...]], highlight: list[int] | None = None,
               bar: tuple[int, int] | None = None) -> str:  # fmt: skip
    """Columns padded to their widest cell; numbers right-aligned; ``*`` marks
    highlighted rows; ``bar`` (label, value column) adds a small bar chart column."""
    cells = [[cell(v) for v in r] for r in rows]
    head = [safe_text(c) for c in columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(head)]
    numeric = [all(isinstance(r[i], (int, float)) or r[i] is None for r in rows) for i in
               range(len(columns))]  # fmt: skip
    hi = set(highlight or [])
    top = 0
    if bar is not None and rows:
        top = max((int(r[bar[1]] or 0) for r in rows if isinstance(r[bar[1]], (int, float))),
                  default=0)  # fmt: skip

    def line(vals: list[str], mark: str, extra: str) -> str:
        parts = [v.rjust(w) if numeric[i] else v.ljust(w)
                 for i, (v, w) in enumerate(zip(vals, widths, strict=True))]  # fmt: skip
        return (mark + "  ".join(parts) + extra).rstrip()

    out = [line(head, "  ", ""), line(["-" * w for w in widths], "  ", "")]
    for n, (r, vals) in enumerate(zip(rows, cells, strict=True)):
        extra = ""
        if top and bar is not None and isinstance(r[bar[1]], (int, float)):
            extra = "  " + "#" * max(0, round(20 * float(r[bar[1]]) / top))
        out.append(line(vals, "* " if n in hi else "  ", extra))
    return "\n".join(out)


def report_text(rep: Report) -> str:
    body = text_table(rep.columns, rep.rows, rep.highlight, rep.chart)
    note = f"\n{safe_text(rep.note)}" if rep.note else ""
    return f"{rep.title}\n{'=' * len(rep.title)}\n{body}{note}\n"


def report_csv(rep: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(rep.columns)
    for r in rep.rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()


def report_html(rep: Report) -> str:
    e = html.escape
    hi = set(rep.highlight)
    head = "".join(f"<th>{e(c)}</th>" for c in rep.columns)
    rows = []
    for n, r in enumerate(rep.rows):
        style = ' style="background:#fff3b0"' if n in hi else ""
        tds = "".join(
            f'<td style="text-align:{"right" if isinstance(v, (int, float)) else "left"}">'
            f"{e(cell(v))}</td>"
            for v in r
        )
        rows.append(f"<tr{style}>{tds}</tr>")
    note = f"<p>{e(rep.note)}</p>" if rep.note else ""
    return (f"<h2>{e(rep.title)}</h2><table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">"
            f"<tr>{head}</tr>{''.join(rows)}</table>{note}")  # fmt: skip
