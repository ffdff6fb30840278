"""SVG screenshots that read cleanly as pictures.

Rich writes each styled run of a line as one ``<text>`` element with an ``x`` and a
``textLength``, spaces as ``&#160;``. SVG renderers (browsers, librsvg) lay such a run
out from its first visible glyph, so a run that begins with spaces is drawn where the
spaces begin: ``○ not following`` and ``  smtp`` came out as ``○ not followingsmtp``.
:func:`unglue` moves the leading spaces out of every run (the run starts where its text
starts, with its length cut to match), so every word stands in its own cell.
"""

from __future__ import annotations

import html
import re

_TEXT = re.compile(
    r'(<text\b[^>]*?\bx=")([0-9.]+)("[^>]*?\btextLength=")([0-9.]+)("[^>]*>)([^<]*)(</text>)'
)
_LEAD = "&#160;"


def _cells(content: str) -> int:
    return len(html.unescape(content))


def _fix(m: re.Match[str]) -> str:
    head, x, mid, length, tail, content, end = m.groups()
    n = 0
    while content.startswith(_LEAD, n * len(_LEAD)):
        n += 1
    if not n:
        return m.group(0)
    cells = _cells(content)
    if n >= cells:
        return ""  # only spaces: the background is drawn by its own rect
    per = float(length) / cells
    rest = content[n * len(_LEAD) :]
    return f"{head}{float(x) + per * n:g}{mid}{float(length) - per * n:g}{tail}{rest}{end}"


def unglue(svg: str) -> str:
    """``svg`` with no text run that begins with spaces."""
    return _TEXT.sub(_fix, svg)
