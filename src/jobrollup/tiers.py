"""Time tiers: buckets of an hour, a day, an ISO week or a calendar month, always in UTC.

Datetimes here are naive and mean UTC (as pymongo returns BSON dates). A bucket is
[start, end): start inclusive, end exclusive. Coarser buckets are exact unions of finer ones
along hour -> day -> week and day -> month; a week does not nest in a month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator

PRECISIONS = ("hour", "day", "week", "month")

# The one table of nesting: which coarser tiers are exact unions of a tier's buckets (a week
# straddling two months is part of neither, so months are built from days, never weeks).
# The cleanup rolls a tier up into these; a query sums a tier into any tier reachable from it.
NESTS_IN = {"hour": ("day",), "day": ("week", "month"), "week": (), "month": ()}


def sums_into(tier: str) -> tuple[str, ...]:
    """The tier itself and every coarser tier its buckets add up to exactly, finest first."""
    reached, todo = {tier}, [tier]
    while todo:
        for coarser in NESTS_IN[todo.pop()]:
            if coarser not in reached:
                reached.add(coarser)
                todo.append(coarser)
    return tuple(p for p in PRECISIONS if p in reached)


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    return precision


def floor(moment: dt.datetime, precision: str) -> dt.datetime:
    """The start of the bucket holding `moment`."""
    moment = _naive_utc(moment)
    if precision == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if precision == "day":
        return day
    if precision == "week":
        return day - dt.timedelta(days=day.weekday())  # ISO weeks start on Monday
    if precision == "month":
        return day.replace(day=1)
    raise ValueError(check_precision(precision))


def next_start(start: dt.datetime, precision: str) -> dt.datetime:
    """The start of the bucket after the one starting at `start`."""
    if precision == "hour":
        return start + dt.timedelta(hours=1)
    if precision == "day":
        return start + dt.timedelta(days=1)
    if precision == "week":
        return start + dt.timedelta(weeks=1)
    if precision == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    raise ValueError(check_precision(precision))


def ceil(moment: dt.datetime, precision: str) -> dt.datetime:
    start = floor(moment, precision)
    return start if start == _naive_utc(moment) else next_start(start, precision)


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


@dataclass(frozen=True)
class Window:
    """The whole buckets of one precision that a run rewrites: [start, end)."""

    precision: str
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def covering(cls, first_day: dt.date, last_day: dt.date, precision: str) -> "Window":
        """The smallest run of whole buckets that holds the days first_day..last_day.

        A precision coarser than the span widens it: a week run for one day rewrites the whole
        ISO week, so that no run replaces a bucket with part of its data.
        """
        check_precision(precision)
        if last_day < first_day:
            raise ValueError(f"empty span: {first_day} is after {last_day}")
        start = floor(day_start(first_day), precision)
        end = ceil(day_start(last_day + dt.timedelta(days=1)), precision)
        return cls(precision, start, end)

    def buckets(self) -> Iterator[dt.datetime]:
        start = self.start
        while start < self.end:
            yield start
            start = next_start(start, self.precision)

    def days(self) -> list[dt.date]:
        """The calendar days the window covers."""
        first, count = self.start.date(), (self.end - self.start).days
        return [first + dt.timedelta(days=i) for i in range(count)]

    def as_dict(self) -> dict:
        return {"precision": self.precision, "start": self.start, "end": self.end}
