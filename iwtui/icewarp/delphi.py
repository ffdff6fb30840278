"""Delphi date-times, as IceWarp stores them: days since 1899-12-30, time as a fraction.

``SndCreatedAt`` (spec section 3) has an ASSUMED encoding: a day fraction, seconds since
midnight, or ``HH:MM:SS``. All readers here are tolerant: a value they cannot read gives
None, never an exception.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1899, 12, 30)
_HMS = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def to_datetime(value: object) -> datetime | None:
    """A Delphi date-time (float days) as a naive local datetime, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        days = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(days) or not (-1_000_000 < days < 3_000_000):
        return None
    try:
        return EPOCH + timedelta(days=days)
    except OverflowError:
        return None


def from_datetime(when: datetime) -> float:
    """A naive local datetime (or an aware one, converted to local) as Delphi days."""
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    return (when - EPOCH) / timedelta(days=1)


def time_of_day(value: object) -> timedelta | None:
    """``SndCreatedAt``: a day fraction (< 1), seconds since midnight, or ``HH:MM[:SS]``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if isinstance(value, str):
        m = _HMS.match(value)
        if m:
            h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            if h < 24 and mi < 60 and s < 60:
                return timedelta(hours=h, minutes=mi, seconds=s)
            return None
    try:
        num = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(num) or num < 0:
        return None
    if num < 1:
        return timedelta(days=num)
    if num < 86400:
        return timedelta(seconds=num)
    return None


def combine(date_value: object, time_value: object = None) -> datetime | None:
    """``SndCreatedOn`` plus ``SndCreatedAt``; the date alone when the time is unreadable."""
    when = to_datetime(date_value)
    if when is None:
        return None
    extra = time_of_day(time_value)
    if extra is not None and when.time() == datetime.min.time():
        when = when + extra
    return when


def parse_iso_or_delphi(text: str) -> datetime | None:
    """An expiry as written in tarpit.dat: ISO 8601 or a Delphi number. Naive local."""
    text = text.strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return to_datetime(text)
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    return when


def utc_now_naive_local() -> datetime:
    """Now, as a naive local datetime (the form every reader here returns)."""
    return datetime.now(UTC).astimezone().replace(tzinfo=None)
