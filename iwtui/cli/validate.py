"""One rule for bad input (issue 14), for every command.

- Counts (``--max``, ``--limit``, ``--days``, ...) are ASCII digits, 0 to ``MAX_COUNT``;
  numbers (``--rate``, ...) are finite and within their range. Else exit 2, one line.
- Ids are ASCII: row ids are digits (``١٢`` is not 12), queue ids ASCII names,
  optionally ``queue/ID`` (``retry/ABC123``, ``priority_2/ABC123``) to choose between
  items of the same id in two queues; an ambiguous id names its candidates.
- An id that does not exist when the plan is built is bad input (exit 2, the ids named,
  nothing done); "already gone" is only for an id that existed then and vanished before
  its step. A read-only refusal comes first (exit 1).
- No-ops are said as such ("already whitelisted") and write nothing (exit 0).

Argument types raise ``argparse.ArgumentTypeError`` (the parser prints one line, exit 2:
:class:`iwtui.cli.options.Parser`); the checks after parsing raise ``BadInput``.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterable, Sequence

from iwtui.errors import BadInput

MAX_COUNT = 1_000_000_000  # more rows than any list holds; fits SQLite's integer
MAX_ROW_ID = 2**63 - 1  # SQLite's largest rowid
_DIGITS = re.compile(r"[0-9]{1,19}")
# a queue item's id is its file name up to the first dot (matched exactly: a crafted
# name with spaces or escapes must stay deletable); `QUEUE/` may name its queue
QUEUE_LABELS = ("outgoing", "priority", *(f"priority_{n}" for n in range(5)), "retry",
                "incoming", "mda", "sms")  # fmt: skip


def count(text: str) -> int:
    """An argparse type: a whole number from 0 to MAX_COUNT, ASCII digits only."""
    if not _DIGITS.fullmatch(text.strip()) or int(text) > MAX_COUNT:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a count: use a whole number from 0 to {MAX_COUNT}"
        )
    return int(text)


def count_upto(high: int) -> Callable[[str], int]:
    """An argparse type: a count from 0 to ``high`` (days: a date must stay a date)."""

    def parse(text: str) -> int:
        value = count(text)
        if value > high:
            raise argparse.ArgumentTypeError(
                f"{text!r} is too large: use a whole number from 0 to {high}"
            )
        return value

    return parse


MAX_DAYS = 36_500  # a hundred years: any retention, any span of logs


def number(low: float, high: float, *, low_open: bool = True) -> Callable[[str], float]:
    """An argparse type: a finite number in (low, high] (or [low, high])."""

    def parse(text: str) -> float:
        try:
            value = float(text) if text.isascii() else math.nan
        except ValueError:
            value = math.nan
        bad = not math.isfinite(value) or value > high
        bad = bad or (value <= low if low_open else value < low)
        if bad:
            side = "more than" if low_open else "at least"
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number {side} {low:g} and at most {high:g}"
            )
        return value

    return parse


def row_ids(values: Iterable[str]) -> list[int]:
    """The row ids of spam lists and greylist: ASCII digits; a number larger than any row
    id cannot name a row (bad input, named)."""
    out: list[int] = []
    for v in values:
        if not v.isascii() or not v.isdigit():
            raise BadInput(f"bad id {v!r}: ids are the numbers `list` shows (ASCII digits)")
        if len(v) > 19 or int(v) > MAX_ROW_ID:
            raise BadInput(f"no row {v}: larger than any row id")
        out.append(int(v))
    return list(dict.fromkeys(out))


def queue_ids(values: Iterable[str]) -> list[tuple[str | None, str]]:
    """(queue label or None, id) for each ``ID`` or ``QUEUE/ID``: ASCII, matched exactly
    (no normalisation); a file name holds no ``/``, so the first one splits."""
    out: list[tuple[str | None, str]] = []
    for v in values:
        queue, sep, ident = v.partition("/")
        if not sep:
            queue, ident = "", v
        if not v.isascii() or not ident or "/" in ident or "\0" in ident or (sep and queue not in QUEUE_LABELS):  # fmt: skip
            raise BadInput(
                f"bad id {v!r}: use the id `queue list` shows, or QUEUE/ID (retry/ABC123;"
                f" queues: {', '.join(QUEUE_LABELS)})"
            )
        out.append((queue or None, ident))
    return list(dict.fromkeys(out))


def require_known(unknown: Sequence[str], what: str, hint: str = "") -> None:
    """Bad input naming every unknown id (nothing is done)."""
    if unknown:
        more = f" ({hint})" if hint else ""
        raise BadInput(f"no {what} {', '.join(unknown)}{more}; nothing was changed")


def unique(matches: dict[str, list[str]], what: str) -> None:
    """Bad input naming the candidates of every id that names more than one thing."""
    for ident, candidates in matches.items():
        if len(candidates) > 1:
            raise BadInput(
                f"{what} {ident} is ambiguous: {' and '.join(candidates)}; name one of them"
            )


def refuse_first(args: argparse.Namespace, action: str) -> None:
    """A read-only refusal (exit 1) comes before a check of the ids: what is refused is
    refused whatever the ids."""
    from iwtui.cli.common import context

    context(args).gate().check(action)
