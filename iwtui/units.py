"""Numbers for people: byte counts as the console and the CLI's text show them
(1024-based), counts in few cells, round tops for chart axes."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_bytes(n: int) -> str:
    """``512 B``, ``1.2 KiB``, ``3.4 GiB``: one decimal above a KiB."""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def compact_bytes(n: int) -> str:
    """Bytes in four cells, 3 significant digits, binary units: 512B, 1.0K, 57K, 969K, 1.2M,
    3.4G, for a narrow column: never a cut number (``1,234`` cut to ``1,2…``)."""
    if n < 1000:
        return f"{n}B"
    value = float(n)
    for unit in "KMGTP":
        value /= 1024
        if value < 9.95:
            return f"{value:.1f}{unit}"
        if value < 999.5 or unit == "P":
            return f"{value:.0f}{unit}"
    return f"{n}B"  # not reached


def compact_count(n: int) -> str:
    """A count in at most 6 cells: 99,999 in full, then 123k, 12.3M, 1.2G."""
    if n < 100_000:
        return f"{n:,}"
    if n < 999_500:
        return f"{n / 1000:.0f}k"
    if n < 999_950_000:
        return f"{n / 1e6:.1f}M"
    return f"{n / 1e9:.1f}G"


def nice_top(top: float, least: float = 4.0) -> float:
    """A round top for a chart's value axis, at least ``least``: 1, 2, 2.5, 4, 5 or 8 times
    a power of ten (its quarters are round too)."""
    if top <= least:
        return float(least)
    mag = 10 ** (len(str(int(top))) - 1)
    return float(next(m * mag for m in (1, 2, 2.5, 4, 5, 8, 10) if top <= m * mag))
