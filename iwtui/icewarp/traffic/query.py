"""Reading the store: a counter's series over a period in steps, and a service's statistics.

Times are local as in the logs (naive). Every step of the range is present, zeros
included; ``v`` is the step's total, ``avg`` its average per minute and ``peak`` its busiest
minute. Hour and day steps aligned on their boundaries come from the rollups; any other
step is summed from the minute rows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from iwtui.icewarp.traffic import counters as counters_mod
from iwtui.icewarp.traffic.minutes import minute_time
from iwtui.icewarp.traffic.store import Store

STEPS = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}
PERIODS = {"day": 1, "week": 7, "month": 30, "year": 365}
DEFAULT_STEP = {"day": 3600, "week": 3600, "month": 86400, "year": 86400}


# Plain classes with __slots__, not dataclasses: creating a dataclass costs ~0.7 ms of a
# command's start-up each (``charts show`` with nothing new is mostly start-up).


class Point:
    __slots__ = ("avg", "peak", "t", "v")

    def __init__(self, t: str, v: int, avg: float, peak: int) -> None:
        self.t = t  # start of the step, ISO local
        self.v = v  # the step's total
        self.avg = avg  # per minute
        self.peak = peak  # the busiest minute of the step

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.t, self.v, self.avg, self.peak) == (
            other.t, other.v, other.avg, other.peak)  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Point(t={self.t!r}, v={self.v!r}, avg={self.avg!r}, peak={self.peak!r})"


class Series:
    __slots__ = ("category", "end", "points", "service", "start", "step_s")

    def __init__(self, service: str, category: str, step_s: int, start: datetime,
                 end: datetime, points: list[Point] | None = None) -> None:  # fmt: skip
        self.service = service
        self.category = category
        self.step_s = step_s
        self.start = start
        self.end = end
        self.points: list[Point] = [] if points is None else points

    def __repr__(self) -> str:
        return (f"Series({self.service!r}, {self.category!r}, {self.step_s}, {self.start!r}, "
                f"{self.end!r}, <{len(self.points)} points>)")  # fmt: skip

    @property
    def total(self) -> int:
        return sum(p.v for p in self.points)

    @property
    def peak(self) -> Point | None:
        best = max(self.points, key=lambda p: p.peak, default=None)
        return best if best is not None and best.peak > 0 else None

    def average(self, now: datetime | None = None) -> float:
        """Per minute over the range (up to ``now`` when the range reaches past it)."""
        end = min(self.end, now) if now is not None else self.end
        minutes = max(1.0, (end - self.start).total_seconds() / 60)
        return self.total / minutes

    def as_json(self) -> dict[str, object]:
        return {
            "service": self.service,
            "category": self.category,
            "step_s": self.step_s,
            "points": [
                {"t": p.t, "v": p.v, "avg": round(p.avg, 3), "peak": p.peak} for p in self.points
            ],
        }


def minute_number(when: datetime) -> int:
    return when.date().toordinal() * 1440 + when.hour * 60 + when.minute


def from_minute(minute: int) -> datetime:
    return datetime.fromisoformat(minute_time(minute))


def period_range(period: str, day: date) -> tuple[datetime, datetime]:
    """``day``: that date; ``week``/``month``/``year``: the 7/30/365 days ending with it."""
    end = datetime.combine(day + timedelta(days=1), datetime.min.time())
    return end - timedelta(days=PERIODS[period]), end


def auto_step(start: datetime, end: datetime, most: int = 1500) -> int:
    span = (end - start).total_seconds()
    return next((s for s in (60, 300, 3600) if span / s <= most), 86400)


def series(store: Store, server: str, service: str, category: str, start: datetime,
           end: datetime, step_s: int) -> Series:  # fmt: skip
    """The counter over [start, end) in steps of ``step_s``. A range that reaches into
    minutes already thinned (older than the store's minute window) and asks for steps
    finer than an hour, or not on hour boundaries, is answered in hours from the hour
    rollups (its start moved back to the hour): the returned series' ``step_s`` and
    ``start`` say so."""
    lo, hi = minute_number(start), minute_number(end)
    if (end - start).total_seconds() % 60 or end.second or start.second:
        hi += 1  # a partial last minute counts whole
    width = step_s // 60
    rolled = step_s in (3600, 86400) and lo % width == 0 and (hi - lo) % width == 0
    if not rolled and lo < store.minutes_from():
        step_s, width = max(step_s, 3600), max(width, 60)
        lo -= lo % 60
        hi = lo + -(-(hi - lo) // width) * width
        start = from_minute(lo)
    out = Series(service, category, step_s, start, end)
    sums: dict[int, list[int]] = {}
    if step_s in (3600, 86400) and lo % width == 0 and (hi - lo) % width == 0:
        for t, total, peak in store.rollups(server, service, category, step_s, lo, hi):
            sums[t] = [int(total), int(peak)]
    elif lo < store.minutes_from():  # hours summed into the steps (all on hour boundaries)
        for t, total, peak in store.rollups(server, service, category, 3600, lo, hi):
            acc = sums.setdefault(lo + (t - lo) // width * width, [0, 0])
            acc[0] += total
            acc[1] = max(acc[1], peak)
    else:
        for minute, value in store.minutes(server, service, category, lo, hi):
            k = lo + (minute - lo) // width * width
            acc = sums.setdefault(k, [0, 0])
            acc[0] += value
            acc[1] = max(acc[1], value)
    t = lo
    while t < hi:
        total, peak = sums.get(t, (0, 0))
        span = min(width, hi - t)
        out.points.append(Point(minute_time(t), total, total / span, peak))
        t += width
    return out


class CounterStats:
    __slots__ = ("name", "peak", "peak_t", "per_minute", "title", "total", "unit")

    def __init__(self, name: str, title: str, unit: str, total: int, per_minute: float,
                 peak: int, peak_t: str | None) -> None:  # fmt: skip
        self.name, self.title, self.unit = name, title, unit
        self.total, self.per_minute, self.peak, self.peak_t = total, per_minute, peak, peak_t


class ServiceStats:
    __slots__ = ("counters", "service", "since", "since_start_line")

    def __init__(self, service: str, since: str, since_start_line: bool,
                 counters: list[CounterStats]) -> None:  # fmt: skip
        self.service = service
        self.since = since
        self.since_start_line = since_start_line  # since the newest start line of the day
        self.counters = counters

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"since": self.since}
        for c in self.counters:
            out[c.name] = c.total
        out["per_minute"] = {c.name: round(c.per_minute, 3) for c in self.counters}
        out["peak"] = {c.name: {"t": c.peak_t, "v": c.peak} for c in self.counters}
        out["since_start_line"] = self.since_start_line
        return out


def stats(store: Store, server: str, service: str, day: date,
          now: datetime | None = None) -> ServiceStats:  # fmt: skip
    """The counters since the service's newest start line of ``day``, else since midnight;
    each with its rate per minute (over the minutes elapsed) and its peak minute."""
    starts = store.starts(service, day.isoformat())
    midnight = datetime.combine(day, datetime.min.time())
    since = datetime.fromisoformat(starts[-1]) if starts else midnight
    end = midnight + timedelta(days=1)
    upto = min(end, now) if now is not None else end
    minutes = max(1.0, (upto - since).total_seconds() / 60)
    totals = store.totals(server, service, minute_number(since), minute_number(end))
    out = []
    for c in counters_mod.counters_of(service):
        total, peak, at = totals.get(c.name, (0, 0, -1))
        out.append(CounterStats(c.name, c.title, c.unit, total, total / minutes, peak,
                                minute_time(at) if at >= 0 else None))  # fmt: skip
    return ServiceStats(service, since.isoformat(timespec="seconds"), bool(starts), out)
