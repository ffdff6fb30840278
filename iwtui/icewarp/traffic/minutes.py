"""Minute numbers: ``date.toordinal() * 1440 + minute of the day``, local time as in the
logs (the store's, the scan's and the queries' unit; a module of its own so that a query
loads no scanner)."""

from __future__ import annotations

from datetime import date, timedelta


def minute_time(minute: int) -> str:
    """ISO local time of an absolute minute number (day ordinal * 1440 + minute of day)."""
    d = date.fromordinal(minute // 1440)
    hm = minute % 1440
    return f"{d.isoformat()}T{hm // 60:02d}:{hm % 60:02d}:00"


def day_of(minute: int) -> date:
    return date.fromordinal(minute // 1440)


def minute_of(d: date, hour: int = 0, minute: int = 0) -> int:
    return d.toordinal() * 1440 + hour * 60 + minute


def plus_days(d: date, n: int) -> date:
    return d + timedelta(days=n)
