"""The Account Statistics list's columns (the seed's List tab), their text and sort keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from iwtui.icewarp.accounts.stats import AccountRow
from iwtui.tui.widgets.item_table import Column
from iwtui.units import compact_bytes as size  # the cells of the amounts
from iwtui.units import compact_count as count  # and of the counts

NONE = "—"


def _most(name: str) -> Callable[[AccountRow], Any]:
    """Largest first on the first sort (the table sorts ascending)."""
    return lambda r: -getattr(r, name)


_SEPARATORS = str.maketrans("", "", "-T:. ")  # of the ISO times the store keeps


def _newest(name: str) -> Callable[[AccountRow], Any]:
    # the newest first (the table puts rows without a value last): the time's digits as
    # one number, negated; an ISO time's separators dropped in one C call (anything else:
    # its digits picked one by one)
    def key(r: AccountRow) -> Any:
        v = getattr(r, name)
        if not v:
            return None
        digits = v.translate(_SEPARATORS)
        if not digits.isdecimal() or not digits.isascii():
            digits = "".join(ch for ch in v if ch.isdigit())
        return -int(digits) if digits else None

    key.iso_field = name  # type: ignore[attr-defined]  # area.sort_all's fast path
    return key


def columns(host: Callable[[AccountRow], str | None] | None) -> list[Column[AccountRow]]:
    """``host``: the Last Host of a row (None: the column is left out, reverse lookup off).
    The seed's columns, shortened ("X #" a count, "X" its amount): the fixed ones take 86
    cells plus a space each, so that beside the navigation of a 160-column terminal
    (a table of 132 cells) the ID keeps 32 and nothing is cut; narrower terminals shrink
    them in proportion."""
    cols: list[Column[AccountRow]] = [
        Column("ID", 0, lambda r: r.account, lambda r: r.account),
        Column("Last Login", 11, lambda r: _short(r.last_login), _newest("last_login")),
        Column("Last IP", 15, lambda r: r.last_ip or NONE, lambda r: r.last_ip),
    ]
    if host is not None:
        cols.append(Column("Last Host", 18, lambda r: host(r) or NONE, lambda r: host(r)))
    cols += [
        Column("Files #", 7, lambda r: count(r.messages_count), _most("messages_count"), "right"),
        Column("Files", 5, lambda r: size(r.messages_bytes), _most("messages_bytes"), "right"),
        Column(
            "Quota",
            5,
            lambda r: NONE if r.quota_percent is None else f"{r.quota_percent:.0f}%",
            lambda r: None if r.quota_percent is None else -r.quota_percent,
            "right",
        ),
        Column("Recv #", 6, lambda r: count(r.received_count), _most("received_count"), "right"),
        Column("Recv", 5, lambda r: size(r.received_bytes), _most("received_bytes"), "right"),
        Column("Sent #", 6, lambda r: count(r.sent_count), _most("sent_count"), "right"),
        Column("Sent", 5, lambda r: size(r.sent_bytes), _most("sent_bytes"), "right"),
        Column("Out #", 6, lambda r: count(r.sent_out_count), _most("sent_out_count"), "right"),
        Column("Out", 5, lambda r: size(r.sent_out_bytes), _most("sent_out_bytes"), "right"),
        Column("Created", 10, lambda r: (r.created or NONE)[:10], _newest("created")),
    ]
    # every key but the names' puts the most or the newest first: the arrow shows that
    return [c if c.title in _RISING else replace(c, descending=True) for c in cols]


_RISING = ("ID", "Last IP", "Last Host")


def _short(v: str | None) -> str:
    """``2026-01-15T10:09:02`` -> ``01-15 10:09`` (the period gives the year)."""
    return f"{v[5:10]} {v[11:16]}" if v and len(v) >= 16 else NONE


NARROW = ("ID", "Recv #", "Recv", "Sent #", "Sent", "Out #", "Files")


def narrow(cols: list[Column[AccountRow]]) -> list[Column[AccountRow]]:
    """The columns that fit an 80-column terminal (the rest are in the export and JSON)."""
    return [c for c in cols if c.title in NARROW]
