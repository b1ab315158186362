"""Ad hoc questions answered from the tiered documents in MongoDB.

A question is a `Query`: a UTC span, filters on scope keys, metrics, and group-by axes (scope
keys and at most one time axis). `answer(store, query)` returns a pandas DataFrame, one row per
group, with what it used in `frame.attrs` (the span, the tiers per sub-range, unknown ranges,
notes).

How a span is answered
  1. The bucket ledger (`<collection>_buckets`) says which buckets of which tier are held; only
     `held` buckets count. A held bucket without documents is zero jobs; a range that no tier
     holds is unknown (reported, never taken for zero).
  2. `plan_coverage` picks, for every part of the span, exactly one held bucket: the choice
     leaves as little of the span unanswered as possible, then reaches as little past the span
     as possible, then uses the finest tiers. No range is ever counted twice.
  3. A coarse bucket cannot be split. When the span starts or ends inside the only bucket that
     holds that range, the span is widened to the whole bucket (`partial="widen"`, the
     default, reported in the notes and in attrs["span"]) or the question is refused with the
     bucket named (`partial="refuse"`). A time axis makes its rows whole buckets of the axis
     the same way.
  4. A time axis can only be built from tiers that nest in it (hour -> day -> week,
     day -> month); when part of the span is held only by a coarser or non-nesting tier, the
     question is refused with the range and the tier named, instead of inventing values.
  5. One aggregation pipeline per contiguous sub-range of one tier runs in MongoDB (first
     $match on the index prefix, then the other filters, then $group); the partial results
     merge exactly (counts and sums add, extremes extend). A mean is sum / n of the merged
     statistics, a standard deviation comes from sumsq.

Pipeline builders (`match_stages`, `group_stage`, `pipelines`) and the planner are pure
functions; `held_buckets`, `run_segments` and `answer` do the I/O.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import os
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable

import pandas as pd

from .records import METRICS, SCOPE_KEYS
from .sinks import INDEXES, buckets_collection
from .tiers import PRECISIONS, ceil, floor, next_start

# -- vocabulary ------------------------------------------------------------------------------

BASIC_METRICS = ("count", "events", "failure_rate")
STATISTICS = ("mean", "min", "max", "sum", "n", "std", "p50", "p90", "p99")
PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}
DEFAULT_STATISTICS = ("mean",)
PARTIAL_POLICIES = ("widen", "refuse")
TIME_PREFIX = "time:"

# Scope keys with an index (precision, key, start_date): an equality on one of them goes into
# the first $match with the index prefix, the most selective key first.
_INDEXED = {index[1][0].split(".", 1)[1] for index in INDEXES if len(index) == 3}
INDEXED_KEYS = tuple(k for k in ("task", "workflow", "site", "acquisitionEra", "exitCode", "jobtype", "jobstate")
                     if k in _INDEXED)

# Which time axes a tier can be summed into exactly (tiers nest hour -> day -> week and
# day -> month; a week is not part of any month).
AXES_OF_TIER = {"hour": ("hour", "day", "week", "month"), "day": ("day", "week", "month"),
                "week": ("week",), "month": ("month",)}
RANK = {p: i for i, p in enumerate(PRECISIONS)}

UNITS = {
    "count": "jobs", "events": "events", "failure_rate": "% of jobs",
    **{f"cpu.{m}": "s" for m in METRICS["cpu"]},
    "cpu.AvgEventCPU": "s/event", "cpu.AvgEventTime": "s/event", "cpu.EventThroughput": "events/s",
    "cpu.NumberOfThreads": "threads", "cpu.NumberOfStreams": "streams",
    **{f"memory.{m}": "MB" for m in METRICS["memory"]},
    "storage.readAveragekB": "kB", "storage.readCachePercentageOps": "%", "storage.readMBSec": "MB/s",
    "storage.readMaxMSec": "ms", "storage.readNumOps": "operations", "storage.readPercentageOps": "%",
    "storage.readTotalMB": "MB", "storage.readTotalSecs": "s", "storage.writeTotalMB": "MB",
    "storage.writeTotalSecs": "s",
}


class QueryError(ValueError):
    """A question that cannot be answered as asked: one line naming the problem and the choices."""


# -- the question ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Filter:
    """`key op values`: op "=" (any of values), "!=" (none of values), "~" (matches the regular
    expression values[0]), "!~" (does not match). None stands for a missing value (null)."""

    key: str
    op: str
    values: tuple

    def __str__(self) -> str:
        shown = ",".join("null" if v is None else str(v) for v in self.values)
        return f"{self.key}{self.op}{shown}"


@dataclass(frozen=True)
class Metric:
    """`count`, `events`, `failure_rate`, or a performance metric `group.metric` with statistics."""

    name: str
    statistics: tuple[str, ...] = ()

    @property
    def is_performance(self) -> bool:
        return self.name not in BASIC_METRICS

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def metric(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def field(self) -> str:
        """The name of its accumulators in a $group stage (no dots allowed there)."""
        return self.name.replace(".", "__")

    def columns(self) -> list[str]:
        return [f"{self.name}.{s}" for s in self.statistics] if self.is_performance else [self.name]

    def __str__(self) -> str:
        return f"{self.name}:{','.join(self.statistics)}" if self.is_performance else self.name


@dataclass(frozen=True)
class Query:
    """A question. `start` None means from the first held bucket; times are naive UTC, the span
    is [start, end)."""

    start: dt.datetime | None
    end: dt.datetime
    filters: tuple[Filter, ...] = ()
    metrics: tuple[Metric, ...] = (Metric("count"),)
    keys: tuple[str, ...] = ()
    time_axis: str | None = None
    partial: str = "widen"
    collection: str = "fwjr"

    def __post_init__(self):
        if self.partial not in PARTIAL_POLICIES:
            raise QueryError(f"unknown partial-bucket policy {self.partial!r}: choose one of {', '.join(PARTIAL_POLICIES)}")
        if self.time_axis is not None and self.time_axis not in PRECISIONS:
            raise QueryError(f"unknown precision {self.time_axis!r} in {TIME_PREFIX}{self.time_axis}: "
                             f"choose one of {', '.join(PRECISIONS)}")
        for key in self.keys + tuple(f.key for f in self.filters):
            if key not in SCOPE_KEYS:
                raise QueryError(_unknown_key(key))
        if len(set(self.keys)) != len(self.keys):
            raise QueryError(f"a group-by key is given twice: {', '.join(self.keys)}")
        if not self.metrics:
            raise QueryError("no metric asked: choose from " + ", ".join(BASIC_METRICS) + " or a performance metric")
        if self.start is not None and self.start >= self.end:
            raise QueryError(f"empty span: from {_show(self.start)} is not before to {_show(self.end)} (UTC)")

    @property
    def axes(self) -> list[str]:
        """The group-by columns of the answer, in order."""
        return list(self.keys) + ([self.time_axis] if self.time_axis else [])

    @property
    def columns(self) -> list[str]:
        return [c for m in self.metrics for c in m.columns()]

    def describe(self) -> dict:
        return {"collection": self.collection, "from": self.start, "to": self.end,
                "where": [str(f) for f in self.filters], "metrics": [str(m) for m in self.metrics],
                "by": list(self.keys) + ([TIME_PREFIX + self.time_axis] if self.time_axis else []),
                "partial": self.partial}


def query(*, start: str | dt.datetime | None = "7 days ago", end: str | dt.datetime = "now",
          where: Iterable[str] = (), metrics: Iterable[str] = ("count",), by: Iterable[str] = (),
          partial: str = "widen", collection: str = "fwjr", now: dt.datetime | None = None) -> Query:
    """Build a Query from the strings people type (see README "Asking questions")."""
    now = _naive(now or dt.datetime.now(dt.timezone.utc))
    begin = parse_moment(start, now, what="--from") if isinstance(start, str) else _naive(start)
    finish = parse_moment(end, now, what="--to", end=True) if isinstance(end, str) else _naive(end)
    keys, axis = parse_axes(by)
    if begin is not None and begin >= finish:
        raise QueryError(f"empty span: --from {start!s} ({_show(begin)}) is not before --to {end!s} "
                         f"(which ends {_show(finish)}, UTC)")
    return Query(start=begin, end=finish, filters=tuple(parse_where(w) for w in where),
                 metrics=parse_metrics(metrics), keys=keys, time_axis=axis, partial=partial,
                 collection=collection)


# -- parsing ---------------------------------------------------------------------------------

_WHERE = re.compile(r"^\s*([A-Za-z_.]+)\s*(!~|!=|==|=|~)(.*)$", re.S)


def canonical_key(key: str) -> str:
    key = key.strip()
    key = key[len("scope."):] if key.startswith("scope.") else key
    for known in SCOPE_KEYS:
        if key.lower() == known.lower():
            return known
    raise QueryError(_unknown_key(key))


def _unknown_key(key: str) -> str:
    close = difflib.get_close_matches(key, SCOPE_KEYS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown scope key {key!r}{hint}: choose one of {', '.join(SCOPE_KEYS)}"


def parse_where(text: str) -> Filter:
    """`key=v`, `key=v1,v2`, `key!=v[,v]`, `key~regex`, `key!~regex`; `null` is a missing value."""
    match = _WHERE.match(text)
    if not match:
        raise QueryError(f"filter {text!r}: write KEY=VALUE[,VALUE...], KEY!=VALUE[,...], KEY~REGEX or KEY!~REGEX "
                         f"with KEY one of {', '.join(SCOPE_KEYS)}")
    key, op, rest = canonical_key(match[1]), match[2], match[3]
    op = "=" if op == "==" else op
    if op in ("~", "!~"):
        try:
            re.compile(rest)
        except re.error as error:
            raise QueryError(f"invalid regular expression {rest!r} in filter {text!r}: {error}") from None
        if rest == "":
            raise QueryError(f"filter {text!r}: the regular expression is empty")
        return Filter(key, op, (rest,))
    values = tuple(_value(key, v.strip(), text) for v in rest.split(","))
    if any(v == "" for v in values):
        raise QueryError(f"filter {text!r}: an empty value (write null for a missing value)")
    return Filter(key, op, values)


def _value(key: str, text: str, where: str):
    if text.lower() == "null":
        return None
    if key == "exitCode":
        try:
            return int(text)
        except ValueError:
            raise QueryError(f"filter {where!r}: exitCode takes whole numbers (or null), not {text!r}; "
                             "use exitCode~REGEX to match digits") from None
    return text


def _all_metric_names() -> list[str]:
    return [f"{g}.{m}" for g, ms in METRICS.items() for m in ms]


def canonical_metric(name: str) -> str:
    raw = name.strip()
    text = raw[len("performance."):] if raw.lower().startswith("performance.") else raw
    for basic in BASIC_METRICS:
        if text.lower() == basic:
            return basic
    for known in _all_metric_names():
        if text.lower() == known.lower():
            return known
    group = text.split(".", 1)[0].lower()
    if group in METRICS and "." in text:
        close = difflib.get_close_matches(text, _all_metric_names(), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise QueryError(f"unknown metric {raw!r}{hint}: {group} metrics are {', '.join(METRICS[group])}")
    close = difflib.get_close_matches(text, list(BASIC_METRICS) + _all_metric_names(), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise QueryError(f"unknown metric {raw!r}{hint}: choose {', '.join(BASIC_METRICS)}, or GROUP.METRIC with "
                     f"GROUP one of {', '.join(METRICS)} (e.g. cpu.TotalJobCPU, memory.PeakValueRss, storage.readTotalMB)")


def parse_metrics(texts: Iterable[str]) -> tuple[Metric, ...]:
    """Metric specs: `count`, `failure_rate`, `cpu.TotalJobCPU` (mean), `cpu.TotalJobCPU:mean,p90`.

    Several may share one argument, separated by commas: a statistic name after a comma belongs
    to the performance metric before it (`count,cpu.TotalJobCPU:mean,p90,failure_rate`).
    """
    out: list[Metric] = []
    for text in texts:
        for token in (t.strip() for t in text.split(",")):
            if not token:
                continue
            if token.lower() in STATISTICS and ":" not in token:
                if not out or not out[-1].is_performance:
                    raise QueryError(f"statistic {token!r} must follow a performance metric, "
                                     f"e.g. cpu.TotalJobCPU:mean,{token}")
                out[-1] = replace(out[-1], statistics=_add_statistic(out[-1], token))
                continue
            name, _, stats = token.partition(":")
            metric = canonical_metric(name)
            if metric in BASIC_METRICS:
                if stats:
                    raise QueryError(f"{metric} takes no statistic (got {token!r}); statistics "
                                     f"({', '.join(STATISTICS)}) apply to performance metrics")
                out.append(Metric(metric))
                continue
            current = Metric(metric)
            for stat in (stats.split("+") if stats else []):
                current = replace(current, statistics=_add_statistic(current, stat))
            out.append(current)
    out = [m if not m.is_performance or m.statistics else replace(m, statistics=DEFAULT_STATISTICS) for m in out]
    merged: dict[str, Metric] = {}
    for m in out:  # the same metric twice: one column set
        if m.name in merged:
            merged[m.name] = replace(merged[m.name], statistics=tuple(
                dict.fromkeys(merged[m.name].statistics + m.statistics)))
        else:
            merged[m.name] = m
    return tuple(merged.values())


def _add_statistic(metric: Metric, stat: str) -> tuple[str, ...]:
    stat = stat.strip().lower()
    if stat not in STATISTICS:
        raise QueryError(f"unknown statistic {stat!r} for {metric.name}: choose from {', '.join(STATISTICS)}")
    return tuple(dict.fromkeys(metric.statistics + (stat,)))


def parse_axes(texts: Iterable[str]) -> tuple[tuple[str, ...], str | None]:
    """Group-by axes: scope keys and at most one `time:<precision>`; commas separate several."""
    keys, axis = [], None
    for text in texts:
        for token in (t.strip() for t in text.split(",")):
            if not token:
                continue
            if token.lower().startswith(TIME_PREFIX) or token.lower() == "time":
                precision = token[len(TIME_PREFIX):].strip().lower() if ":" in token else ""
                if precision not in PRECISIONS:
                    raise QueryError(f"unknown precision {precision!r} in {token!r}: write time:hour, time:day, "
                                     "time:week or time:month")
                if axis is not None and axis != precision:
                    raise QueryError(f"two time axes ({TIME_PREFIX}{axis}, {token}): give one")
                axis = precision
            else:
                key = canonical_key(token)
                if key not in keys:
                    keys.append(key)
    return tuple(keys), axis


_AGO = re.compile(r"^(\d+)\s*(hour|day|week|month)s?\s+ago$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MOMENT_HELP = ("a date (2026-06-01), a month (2026-06), a UTC datetime (2026-06-01T12:00), now, today, "
               "yesterday, this week, this month, 'N hours|days|weeks|months ago'")


def parse_moment(text: str, now: dt.datetime, *, what: str = "--from", end: bool = False) -> dt.datetime | None:
    """A moment of a span, UTC. A value naming a period (a date, a month, today, '3 days ago')
    means its start for --from and its end for --to (so `--to 2026-06-30` includes that day);
    `now` and datetimes are exact. `earliest` (--from only) is None: the first held bucket."""
    now = _naive(now)
    t = " ".join(text.strip().lower().split())

    def period(start: dt.datetime, precision: str) -> dt.datetime:
        return next_start(start, precision) if end else start

    if t == "now":
        return now
    if t in ("earliest", "beginning"):
        if end:
            raise QueryError(f"{what} {text!r}: earliest is for --from only")
        return None
    today = floor(now, "day")
    if t == "today":
        return period(today, "day")
    if t == "yesterday":
        return period(today - dt.timedelta(days=1), "day")
    if t in ("this week", "this-week"):
        return period(floor(now, "week"), "week")
    if t in ("this month", "this-month"):
        return period(floor(now, "month"), "month")
    match = _AGO.match(t)
    if match:
        amount, unit = int(match[1]), match[2]
        if unit == "hour":
            return period(floor(now, "hour") - dt.timedelta(hours=amount), "hour")
        if unit == "day":
            return period(today - dt.timedelta(days=amount), "day")
        if unit == "week":
            return period(today - dt.timedelta(weeks=amount), "day")
        year, month = divmod(today.year * 12 + today.month - 1 - amount, 12)
        last = (dt.datetime(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
        return period(today.replace(year=year, month=month + 1, day=min(today.day, last)), "day")
    try:
        if _MONTH.match(t):
            return period(dt.datetime.strptime(t, "%Y-%m"), "month")
        if _DATE.match(t):
            return period(dt.datetime.strptime(t, "%Y-%m-%d"), "day")
        if re.match(r"^\d{4}-\d{2}-\d{2}[t ]\d{1,2}", t):
            return _naive(dt.datetime.fromisoformat(t.upper().replace(" ", "T")))
    except ValueError:
        pass
    raise QueryError(f"{what} {text!r} is not a time: write {MOMENT_HELP}" + ("" if end else ", or earliest"))


# -- which buckets answer: the plan ------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    precision: str
    start: dt.datetime
    end: dt.datetime
    documents: int = 1   # documents the ledger says it holds (0: held, no jobs)


@dataclass(frozen=True)
class Segment:
    """A contiguous sub-range answered from one tier."""

    precision: str
    start: dt.datetime
    end: dt.datetime
    buckets: int
    documents: int


@dataclass
class Coverage:
    asked: tuple[dt.datetime, dt.datetime]
    span: tuple[dt.datetime, dt.datetime]          # what is answered, widened to whole buckets
    segments: list[Segment]
    unknown: list[tuple[dt.datetime, dt.datetime]]  # inside the span, held by no tier
    notes: list[str] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)  # the held buckets used, in time order


def allowed_tiers(time_axis: str | None) -> tuple[str, ...]:
    if time_axis is None:
        return PRECISIONS
    return tuple(t for t in PRECISIONS if time_axis in AXES_OF_TIER[t])


def _seconds(delta: dt.timedelta) -> float:
    return delta.total_seconds()


def cover(buckets: Iterable[Bucket], start: dt.datetime, end: dt.datetime, *, widen: bool) \
        -> tuple[list[Bucket], list[tuple[dt.datetime, dt.datetime]]]:
    """Non-overlapping held buckets answering [start, end), and the gaps left.

    A shortest path over the bucket boundaries: each bucket is an edge start -> end, each stretch
    between two neighbouring boundaries inside the span a gap edge. The cost, compared in order:
    seconds of the span left unanswered, seconds answered outside the span (only with `widen`:
    buckets crossing the span's ends), then seconds times the tier's rank (finer tiers first).
    """
    candidates = [b for b in buckets if b.start < end and b.end > start]
    if not widen:
        candidates = [b for b in candidates if b.start >= start and b.end <= end]
    points = sorted({start, end} | {b.start for b in candidates} | {b.end for b in candidates})
    inside = [p for p in points if start <= p <= end]
    next_inside = dict(zip(inside, inside[1:]))
    from_point = defaultdict(list)
    for b in candidates:
        from_point[b.start].append(b)
    best: dict[dt.datetime, tuple[tuple, dt.datetime | None, Bucket | None]] = {}
    for p in points:
        if p <= start:  # starts of buckets crossing the span's start, and the start itself
            best[p] = ((0.0, _seconds(start - p), 0.0), None, None)
    for p in points:
        if p not in best:
            continue
        cost = best[p][0]
        edges = [(b.end, (cost[0], cost[1], cost[2] + _seconds(b.end - b.start) * RANK[b.precision]), b)
                 for b in from_point[p]]
        if p in next_inside:
            q = next_inside[p]
            edges.append((q, (cost[0] + _seconds(q - p), cost[1], cost[2]), None))
        for q, c, b in edges:
            if q not in best or c < best[q][0]:
                best[q] = (c, p, b)
    sinks = [(best[q][0][0], best[q][0][1] + _seconds(q - end), best[q][0][2], q) for q in points
             if q >= end and q in best]
    q = min(sinks)[3]
    chosen, gaps = [], []
    while best[q][1] is not None:
        _, p, b = best[q]
        if b is None:
            if gaps and gaps[-1][0] == q:
                gaps[-1] = (p, gaps[-1][1])
            else:
                gaps.append((p, q))
        else:
            chosen.append(b)
        q = p
    return chosen[::-1], gaps[::-1]


def segments_of(chosen: list[Bucket], max_documents: int | None = None) -> list[Segment]:
    """Neighbouring buckets of one tier as one sub-range; with `max_documents`, a sub-range
    holds at most that many documents (per the ledger) unless one bucket alone holds more."""
    out: list[Segment] = []
    for b in chosen:
        last = out[-1] if out else None
        if last and last.precision == b.precision and last.end == b.start and \
                (max_documents is None or last.documents + b.documents <= max_documents or last.documents == 0):
            out[-1] = Segment(b.precision, last.start, b.end, last.buckets + 1, last.documents + b.documents)
        else:
            out.append(Segment(b.precision, b.start, b.end, 1, b.documents))
    return out


# One pipeline reads at most about this many documents (by the ledger): a long span runs as
# several pipelines whose results merge exactly. It bounds what the server holds at once
# (SecantusDB materialises a pipeline's input: a year of day documents in one pipeline took
# 16 GB and was killed) and costs a real MongoDB only a few round trips.
MAX_DOCUMENTS_PER_PIPELINE = 20_000


def pipeline_ranges(coverage: Coverage, max_documents: int = MAX_DOCUMENTS_PER_PIPELINE) -> list[Segment]:
    """The sub-ranges to run one pipeline each on; empty held buckets need none."""
    return [s for s in segments_of(coverage.buckets, max_documents) if s.documents > 0]


def plan_coverage(query: Query, buckets: Iterable[Bucket], start: dt.datetime | None = None) -> Coverage:
    """Which tier answers which sub-range of the query's span; refuses what cannot be exact."""
    buckets = list(buckets)
    begin = query.start if start is None else start
    asked = (begin, query.end)
    lo, hi = asked
    notes = []
    axis = query.time_axis
    if axis:
        lo, hi = floor(lo, axis), ceil(hi, axis)
        if (lo, hi) != asked:
            if query.partial == "refuse":
                raise QueryError(
                    f"the span {_show(asked[0])} .. {_show(asked[1])} does not hold whole {axis}s of the time axis: "
                    f"use {_show(lo)} .. {_show(hi)}, or let the span widen (drop --exact)")
            notes.append(f"span widened to whole {axis}s of the time axis: {_show(lo)} .. {_show(hi)}")
    usable = [b for b in buckets if b.precision in allowed_tiers(axis)]
    chosen, gaps = cover(usable, lo, hi, widen=query.partial == "widen")
    unknown, overlapping = [], []
    for g0, g1 in gaps:
        blocking = sorted((b for b in buckets if b.start < g1 and b.end > g0), key=lambda b: (RANK[b.precision], b.start))
        coarse = sorted({b.precision for b in blocking if b.precision not in allowed_tiers(axis)}, key=RANK.get)
        if axis and coarse:
            raise QueryError(
                f"{TIME_PREFIX}{axis} is finer than the data: {_show(g0)} .. {_show(g1)} is held only as "
                f"{' and '.join(coarse)} buckets, which cannot be cut into {axis}s: use "
                f"{' or '.join(TIME_PREFIX + c for c in coarse)}, or a span held by {'/'.join(allowed_tiers(axis))} buckets")
        if blocking and query.partial == "refuse":
            b = blocking[0]
            raise QueryError(
                f"{_show(g0)} .. {_show(g1)} is held only in the {b.precision} bucket "
                f"{_show(b.start)} .. {_show(b.end)}, which reaches past the span and cannot be split: "
                f"use a span of whole buckets (e.g. from {_show(b.start)} or to {_show(b.end)}), or drop --exact to widen")
        if blocking:  # held buckets overlapping each other in a way no choice can use without double counting
            overlapping.append((g0, g1))
        unknown.append((g0, g1))
    segments = segments_of(chosen)
    span = (min([lo] + [s.start for s in segments]), max([hi] + [s.end for s in segments]))
    if span[0] < lo or span[1] > hi:
        crossing = [s for s in segments if s.start < lo or s.end > hi]
        notes.append(f"span widened to whole buckets: {_show(span[0])} .. {_show(span[1])} "
                     f"({', '.join(sorted({s.precision for s in crossing}))} buckets cannot be split)")
    for g0, g1 in unknown:
        if (g0, g1) in overlapping:
            notes.append(f"unknown: {_show(g0)} .. {_show(g1)} is left out: its held buckets overlap each other "
                         "and none can be used without counting a range twice (a cleanup half-way? run bin/cleanup)")
        else:
            notes.append(f"unknown: {_show(g0)} .. {_show(g1)} is held by no tier (not aggregated yet, or deleted): "
                         "not counted, not zero")
    return Coverage(asked=asked, span=span, segments=segments, unknown=unknown, notes=notes, buckets=chosen)


# -- MongoDB pipelines (pure) ------------------------------------------------------------------

def filter_clause(f: Filter) -> dict:
    """The MongoDB condition of one filter on `scope.<key>`."""
    path = f"scope.{f.key}"
    if f.op in ("~", "!~"):
        if f.key == "exitCode":  # a number: match its decimal text
            test = {"$regexMatch": {"input": {"$toString": f"${path}"}, "regex": f.values[0]}}
            return {"$expr": test if f.op == "~" else {"$not": [test]}}
        return {path: {"$regex": f.values[0]}} if f.op == "~" else {path: {"$not": {"$regex": f.values[0]}}}
    if f.op == "=":
        return {path: f.values[0]} if len(f.values) == 1 else {path: {"$in": list(f.values)}}
    return {path: {"$ne": f.values[0]}} if len(f.values) == 1 else {path: {"$nin": list(f.values)}}


def match_stages(filters: Iterable[Filter], precision: str, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """Two $match stages: first what an index answers (the tier, the date range and one
    equality on an indexed key), then every other filter. MongoDB merges adjacent $match
    stages itself; servers with a simpler planner still use the index for the first."""
    first = {"scope.timeframe_precision": precision, "scope.start_date": {"$gte": start, "$lt": end}}
    rest = list(filters)
    for key in INDEXED_KEYS:
        hit = next((f for f in rest if f.key == key and f.op == "=" and len(f.values) == 1), None)
        if hit:
            first = {"scope.timeframe_precision": precision, f"scope.{key}": hit.values[0],
                     "scope.start_date": first["scope.start_date"]}
            rest.remove(hit)
            break
    stages = [{"$match": first}]
    if rest:
        clauses = [filter_clause(f) for f in rest]
        stages.append({"$match": clauses[0] if len(clauses) == 1 else {"$and": clauses}})
    return stages


def time_expression(segment_precision: str, axis: str):
    if segment_precision == axis:
        return "$scope.start_date"
    trunc = {"date": "$scope.start_date", "unit": axis, "timezone": "UTC"}
    if axis == "week":
        trunc["startOfWeek"] = "monday"  # ISO weeks (MongoDB's default is Sunday)
    return {"$dateTrunc": trunc}


def group_id(query: Query, segment_precision: str):
    ident = {k: f"$scope.{k}" for k in query.keys}
    if query.time_axis:
        ident["time"] = time_expression(segment_precision, query.time_axis)
    return ident or None


_NEEDS = {"mean": ("n", "sum"), "sum": ("sum",), "n": ("n",), "min": ("min",), "max": ("max",),
          "std": ("n", "sum", "sumsq"), "p50": ("n",), "p90": ("n",), "p99": ("n",)}


def needed_statistics(metric: Metric) -> list[str]:
    return list(dict.fromkeys(s for stat in metric.statistics for s in _NEEDS[stat]))


def group_stage(query: Query, segment_precision: str) -> dict:
    group: dict[str, Any] = {"_id": group_id(query, segment_precision), "count": {"$sum": "$count"}}
    names = {m.name for m in query.metrics}
    if "events" in names:
        group["events"] = {"$sum": "$events"}
    if "failure_rate" in names:
        group["failed"] = {"$sum": {"$cond": [{"$ne": ["$scope.jobstate", "success"]}, "$count", 0]}}
    for m in query.metrics:
        if not m.is_performance:
            continue
        path = f"$performance.{m.group}.{m.metric}"
        for stat in needed_statistics(m):
            op = {"min": "$min", "max": "$max"}.get(stat, "$sum")
            group[f"{m.field}__{stat}"] = {op: f"{path}.{stat}"}
        if any(s in PERCENTILES for s in m.statistics):
            group[f"{m.field}__valued"] = {"$sum": {"$cond": [{"$gt": [f"{path}.n", 0]}, 1, 0]}}
            group[f"{m.field}__nosketch"] = {"$sum": {"$cond": [
                {"$and": [{"$gt": [f"{path}.n", 0]}, {"$eq": [{"$type": f"{path}.sketch"}, "missing"]}]}, 1, 0]}}
    return {"$group": group}


def pipelines(query: Query, segment: Segment) -> list[dict]:
    return [*match_stages(query.filters, segment.precision, segment.start, segment.end),
            group_stage(query, segment.precision)]


def sketch_pipeline(query: Query, segment: Segment, metric: Metric) -> list[dict]:
    """The sketches of one metric with their group, to merge in Python (bins are keyed by index)."""
    path = f"$performance.{metric.group}.{metric.metric}.sketch"
    project = {"_id": 0, "g": group_id(query, segment.precision), "s": path}
    return [*match_stages(query.filters, segment.precision, segment.start, segment.end),
            {"$match": {f"performance.{metric.group}.{metric.metric}.sketch": {"$exists": True}}},
            {"$project": project}]


# -- merging partial results (pure) -------------------------------------------------------------

_SUMMED = ("count", "events", "failed")


def merge_rows(rows: Iterable[tuple[tuple, dict]]) -> dict[tuple, dict]:
    """Partial $group results of several pipelines -> one result per group, exactly: counts
    and sums add, minima and maxima extend."""
    merged: dict[tuple, dict] = {}
    for key, row in rows:
        into = merged.setdefault(key, {})
        for name, value in row.items():
            if value is None:
                continue
            if name not in into or into[name] is None:
                into[name] = value
            elif name.endswith("__min"):
                into[name] = min(into[name], value)
            elif name.endswith("__max"):
                into[name] = max(into[name], value)
            else:
                into[name] = into[name] + value
    return merged


def _key_of(query: Query, ident) -> tuple:
    ident = ident or {}
    return tuple(ident.get(k) for k in query.keys) + ((ident.get("time"),) if query.time_axis else ())


def derive(query: Query, merged: dict[tuple, dict], percentiles: dict | None = None) -> pd.DataFrame:
    """Merged accumulators -> the answer's columns: means from sum / n, std from sumsq."""
    percentiles = percentiles or {}
    records = []
    for key, acc in merged.items():
        record = dict(zip(query.axes, key))
        count = int(acc.get("count", 0))
        for m in query.metrics:
            if m.name == "count":
                record["count"] = count
            elif m.name == "events":
                record["events"] = int(acc.get("events", 0))
            elif m.name == "failure_rate":
                record["failure_rate"] = acc.get("failed", 0) / count if count else math.nan
            else:
                n = acc.get(f"{m.field}__n", 0) or 0
                total = acc.get(f"{m.field}__sum", 0.0) or 0.0
                for stat in m.statistics:
                    column = f"{m.name}.{stat}"
                    if stat == "n":
                        record[column] = int(n)
                    elif stat == "sum":
                        record[column] = float(total)
                    elif stat == "mean":
                        record[column] = total / n if n else math.nan
                    elif stat in ("min", "max"):
                        value = acc.get(f"{m.field}__{stat}")
                        record[column] = float(value) if value is not None and n else math.nan
                    elif stat == "std":
                        record[column] = _std(n, total, acc.get(f"{m.field}__sumsq", 0.0) or 0.0)
                    else:
                        record[column] = percentiles.get((m.name, stat), {}).get(key, math.nan)
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=query.axes + query.columns)
    for column in ("count", "events"):
        if column in frame:
            frame[column] = frame[column].astype("int64")
    for m in query.metrics:
        if m.is_performance and "n" in m.statistics:
            frame[f"{m.name}.n"] = frame[f"{m.name}.n"].astype("int64")
    for column in query.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("float64")
    if query.time_axis and not frame.empty:
        frame[query.time_axis] = pd.to_datetime(frame[query.time_axis])
    return frame


def _std(n: float, total: float, sumsq: float) -> float:
    """Sample standard deviation (n - 1) from n, sum and sum of squares."""
    if n < 2:
        return math.nan
    return math.sqrt(max(0.0, (sumsq - total * total / n) / (n - 1)))


def sort_frame(frame: pd.DataFrame, query: Query) -> pd.DataFrame:
    """Time axis: by time, then keys. Otherwise by the first metric, largest first."""
    if frame.empty:
        return frame
    if query.time_axis:
        order = [query.time_axis] + list(query.keys)
        ascending = [True] * len(order)
    else:
        first = query.columns[0]
        order = [first] + list(query.keys)
        ascending = [False] + [True] * len(query.keys)
    key = lambda s: s.map(lambda v: (v is None, str(v))) if s.dtype == object else s
    return frame.sort_values(order, ascending=ascending, key=key, na_position="last", kind="stable").reset_index(drop=True)


# -- percentiles from DDSketch-style histograms -------------------------------------------------

def merge_sketches(sketches: Iterable[dict]) -> dict | None:
    """Add the counts of log-histograms with one gamma; None when their gammas differ."""
    gamma, zeros, bins = None, 0, defaultdict(int)
    for s in sketches:
        if gamma is None:
            gamma = float(s["gamma"])
        elif not math.isclose(gamma, float(s["gamma"]), rel_tol=1e-12):
            return None
        zeros += int(s.get("zeros", 0))
        for index, n in (s.get("bins") or {}).items():
            bins[int(index)] += int(n)
    return {"gamma": gamma, "zeros": zeros, "bins": dict(bins)}


def sketch_quantile(sketch: dict, q: float) -> float:
    """The q-quantile (lower rank) of a merged sketch, within its relative accuracy
    (gamma - 1) / (gamma + 1): bin i holds values in (gamma^(i-1), gamma^i]."""
    gamma, zeros, bins = sketch["gamma"], sketch["zeros"], sketch["bins"]
    total = zeros + sum(bins.values())
    if total == 0:
        return math.nan
    rank = q * (total - 1)
    seen = zeros
    if rank < seen:
        return 0.0
    for index in sorted(bins):
        seen += bins[index]
        if rank < seen:
            return 2 * gamma ** index / (gamma + 1)
    return 2 * gamma ** max(bins) / (gamma + 1)


# -- I/O --------------------------------------------------------------------------------------

_LONGEST = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1), "week": dt.timedelta(weeks=1),
            "month": dt.timedelta(days=31)}


def held_buckets(store, collection: str, start: dt.datetime, end: dt.datetime) -> list[Bucket]:
    """Held buckets of every tier overlapping [start, end), from the ledger (index precision, start)."""
    ledger = store.db[buckets_collection(collection)]
    out = []
    for precision in PRECISIONS:
        for e in ledger.find({"precision": precision, "start": {"$gte": start - _LONGEST[precision], "$lt": end}},
                             {"start": 1, "end": 1, "state": 1, "documents": 1}):
            if e.get("state") == "held" and e["end"] > start:
                out.append(Bucket(precision, e["start"], e["end"], int(e.get("documents", 1))))
    return out


def earliest_held(store, collection: str) -> dt.datetime | None:
    ledger = store.db[buckets_collection(collection)]
    starts = [e["start"] for p in PRECISIONS
              for e in ledger.find({"precision": p, "state": "held"}, {"start": 1}).sort("start", 1).limit(1)]
    return min(starts) if starts else None


def run_segments(store, query: Query, ranges: list[Segment]) -> tuple[dict[tuple, dict], int]:
    """Run one pipeline per range; the merged accumulators and how many pipelines ran."""
    coll = store.db[query.collection]
    rows = [(_key_of(query, row.pop("_id")), row)
            for segment in ranges for row in coll.aggregate(pipelines(query, segment), allowDiskUse=True)]
    return merge_rows(rows), len(ranges)


def run_percentiles(store, query: Query, segments: list[Segment], merged: dict[tuple, dict]) \
        -> tuple[dict, list[str]]:
    """{(metric, pNN): {group key: value}} for metrics whose documents all carry a sketch."""
    out, notes = {}, []
    coll = store.db[query.collection]
    for m in query.metrics:
        wanted = [s for s in m.statistics if s in PERCENTILES]
        if not m.is_performance or not wanted:
            continue
        used = sum(acc.get(f"{m.field}__valued", 0) for acc in merged.values())
        missing = sum(acc.get(f"{m.field}__nosketch", 0) for acc in merged.values())
        if missing:
            notes.append(f"{m.name} has no percentiles stored: {missing:,} of the {used:,} documents used carry no "
                         f"sketch (only n, sum, min, max, sumsq); {', '.join(wanted)} left empty")
            continue
        sketches = defaultdict(list)
        for segment in segments:
            for row in coll.aggregate(sketch_pipeline(query, segment, m), allowDiskUse=True):
                sketches[_key_of(query, row.get("g"))].append(row["s"])
        for key, parts in sketches.items():
            sketch = merge_sketches(parts)
            if sketch is None:
                notes.append(f"{m.name}: sketches with different gamma cannot merge: {', '.join(wanted)} left empty")
                break
            for stat in wanted:
                out.setdefault((m.name, stat), {})[key] = sketch_quantile(sketch, PERCENTILES[stat])
    return out, notes


def axis_buckets(coverage: Coverage, axis: str) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """(axis buckets wholly held, axis buckets partly held) over the coverage's segments."""
    known: dict[dt.datetime, float] = defaultdict(float)
    for s in coverage.segments:
        moment = s.start
        while moment < s.end:
            bucket = floor(moment, axis)
            stop = min(next_start(bucket, axis), s.end)
            known[bucket] += _seconds(stop - moment)
            moment = stop
    whole, partial = [], []
    for bucket, seconds in sorted(known.items()):
        (whole if seconds >= _seconds(next_start(bucket, axis) - bucket) else partial).append(bucket)
    return whole, partial


def fill_time_axis(query: Query, merged: dict[tuple, dict], coverage: Coverage) -> list[str]:
    """With only a time axis, every held axis bucket gets a row: a held bucket without
    documents is zero jobs. Unknown ones get none. Returns notes."""
    whole, partial = axis_buckets(coverage, query.time_axis)
    if not query.keys:
        for bucket in whole + partial:
            merged.setdefault((bucket,), {"count": 0})
    return [f"{query.time_axis} {_show(b)} is only partly held (part of it is unknown)" for b in partial]


def answer(store, query: Query, max_documents: int = MAX_DOCUMENTS_PER_PIPELINE) -> pd.DataFrame:
    """The answer to `query`, one row per group; `frame.attrs` holds what was used:
    asked and answered span, tiers per sub-range, unknown ranges, notes, pipelines run."""
    start = query.start
    if start is None:
        start = earliest_held(store, query.collection)
        if start is None or start >= query.end:
            frame = derive(query, {})
            frame.attrs.update(_attrs(query, Coverage((None, query.end), (None, query.end), [], [],
                                      [f"nothing is held in {buckets_collection(query.collection)} before "
                                       f"{_show(query.end)}: run bin/aggregate first"]), 0))
            return frame
    lo, hi = (floor(start, query.time_axis), ceil(query.end, query.time_axis)) if query.time_axis else (start, query.end)
    buckets = held_buckets(store, query.collection, lo, hi)
    coverage = plan_coverage(query, buckets, start)
    ranges = pipeline_ranges(coverage, max_documents)
    merged, ran = run_segments(store, query, ranges)
    percentiles, notes = run_percentiles(store, query, ranges, merged)
    coverage.notes.extend(notes)
    if query.time_axis:
        coverage.notes.extend(fill_time_axis(query, merged, coverage))
    frame = sort_frame(derive(query, merged, percentiles), query)
    frame.attrs.update(_attrs(query, coverage, ran))
    if query.time_axis:
        whole, partial = axis_buckets(coverage, query.time_axis)
        frame.attrs["axis_buckets"] = sorted(whole + partial)
    return frame


def explain(store, query: Query) -> dict:
    """The plan and the pipelines `answer` would run, without running them."""
    start = query.start if query.start is not None else earliest_held(store, query.collection) or query.end
    lo, hi = (floor(start, query.time_axis), ceil(query.end, query.time_axis)) if query.time_axis else (start, query.end)
    coverage = plan_coverage(query, held_buckets(store, query.collection, lo, hi), start)
    out = _attrs(query, coverage, 0)
    out["pipelines"] = [pipelines(query, s) for s in pipeline_ranges(coverage)]
    return out


def suggest(store, query: Query, key: str) -> pd.DataFrame:
    """Distinct values of `key` with their job counts under the query's filters, most jobs first."""
    key = canonical_key(key)
    asked = replace(query, keys=(key,), time_axis=None, metrics=(Metric("count"),))
    return answer(store, asked)


def _attrs(query: Query, coverage: Coverage, ran: int) -> dict:
    return {
        "query": query.describe(),
        "asked": list(coverage.asked), "span": list(coverage.span),
        "tiers": [asdict(s) for s in coverage.segments],
        "unknown": [list(u) for u in coverage.unknown],
        "notes": list(coverage.notes), "pipelines_run": ran,
        "time_axis": query.time_axis, "keys": list(query.keys), "columns": query.columns,
    }


# -- exit codes ----------------------------------------------------------------------------------

ENV_EXIT_CODES = "JOBROLLUP_EXIT_CODES"
UNKNOWN_CODE = "unknown (not in the dictionary)"


def load_exit_codes(path: str | os.PathLike | None = None) -> dict[int, str]:
    """The exit-code dictionary: `path`, else $JOBROLLUP_EXIT_CODES, else conf/exit_codes.json."""
    from . import config

    path = path or os.environ.get(ENV_EXIT_CODES) or config.project_home() / "conf" / "exit_codes.json"
    try:
        with open(path) as handle:
            raw = json.load(handle)
    except (OSError, ValueError) as error:
        raise QueryError(f"exit-code dictionary {path} is unreadable: {error}") from None
    out = {}
    for code, text in raw.items():
        try:
            out[int(code)] = str(text)
        except ValueError:
            continue  # "_comment" and the like
    return out


def describe_exit_codes(frame: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """A `description` column right after `exitCode`; codes missing from the dictionary are
    listed as unknown, never dropped."""
    if "exitCode" not in frame.columns or "description" in frame.columns:
        return frame
    out = frame.copy()
    out.insert(out.columns.get_loc("exitCode") + 1, "description",
               [UNKNOWN_CODE if c is None or (isinstance(c, float) and math.isnan(c)) or int(c) not in names
                else names[int(c)] for c in out["exitCode"]])
    out.attrs = frame.attrs
    return out


# -- helpers ---------------------------------------------------------------------------------

def _naive(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def _show(moment: dt.datetime | None) -> str:
    if moment is None:
        return "earliest"
    if moment == floor(moment, "day"):
        return f"{moment:%Y-%m-%d}"
    if moment == floor(moment, "hour") or moment.second == 0:
        return f"{moment:%Y-%m-%d %H:%M}"
    return f"{moment:%Y-%m-%d %H:%M:%S}"


# -- error clusters (bin/query --errors) -------------------------------------------------------

ERROR_KEYS = {"fwjr": ("site", "exitCode", "step"), "spack": ("package",)}


def parse_error_where(text: str, source: str) -> Filter:
    """A filter on an error count's scope: the keys of its source, or `cluster`. Values are
    compared as text (exit codes are stored as the reports wrote them)."""
    keys = ERROR_KEYS[source] + ("cluster",)
    match = _WHERE.match(text)
    if not match:
        raise QueryError(f"filter {text!r}: write KEY=VALUE[,VALUE...], KEY!=VALUE[,...], KEY~REGEX or KEY!~REGEX "
                         f"with KEY one of {', '.join(keys)}")
    key = next((k for k in keys if k.lower() == match[1].strip().lower()), None)
    if key is None:
        raise QueryError(f"unknown key {match[1]!r} for {source} errors: choose one of {', '.join(keys)}")
    op = "=" if match[2] == "==" else match[2]
    rest = match[3]
    if op in ("~", "!~"):
        try:
            re.compile(rest)
        except re.error as error:
            raise QueryError(f"invalid regular expression {rest!r} in filter {text!r}: {error}") from None
        return Filter(key, op, (rest,))
    values = tuple(None if v.strip().lower() == "null" else v.strip() for v in rest.split(","))
    if any(v == "" for v in values):
        raise QueryError(f"filter {text!r}: an empty value (write null for a missing value)")
    return Filter(key, op, values)


def _holds(f: Filter, value) -> bool:
    text = None if value is None else str(value)
    if f.op == "=":
        return text in f.values
    if f.op == "!=":
        return text not in f.values
    found = text is not None and re.search(f.values[0], text) is not None
    return found if f.op == "~" else not found


def error_clusters(store, *, source: str = "fwjr", start="7 days ago", end="now", where=(), by=(),
                   precision: str = "day", now: dt.datetime | None = None) -> pd.DataFrame:
    """Error clusters ranked by their errors in the span, under the filters: one row per
    cluster (and per value of each `by` key), with the cluster's label, count, share of the
    span's matching errors, and first/last time seen in the span. Counts come from the
    `<source>_errors` documents of one precision (those of `bin/cluster-errors --precision`)."""
    if source not in ERROR_KEYS:
        raise QueryError(f"unknown error source {source!r}: choose one of {', '.join(ERROR_KEYS)}")
    if precision not in PRECISIONS:
        raise QueryError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    filters = [parse_error_where(w, source) for w in where]
    by = [b.strip() for item in by for b in item.split(",") if b.strip()]
    for key in by:
        if key not in ERROR_KEYS[source]:
            raise QueryError(f"--by {key!r}: error clusters split by {', '.join(ERROR_KEYS[source])}")
    now = now or dt.datetime.now(dt.timezone.utc)
    first = parse_moment(start, now) if not isinstance(start, dt.datetime) else _naive(start)
    last = parse_moment(end, now, what="--to", end=True) if not isinstance(end, dt.datetime) else _naive(end)
    first = first or dt.datetime(1970, 1, 1)
    if last <= first:
        raise QueryError(f"empty span: --from {_show(first)} is not before --to {_show(last)}")
    # The indexed window only; the filters are applied here (the embedded server drops its
    # index when a regular expression or $in sits beside the date range).
    rows: dict[tuple, dict] = {}
    total = 0
    for doc in store.db[f"{source}_errors"].find(
            {"scope.timeframe_precision": precision, "scope.start_date": {"$gte": first, "$lt": last}},
            {"scope": 1, "cluster": 1, "count": 1, "first_seen": 1, "last_seen": 1}):
        scope = doc["scope"]
        if not all(_holds(f, doc["cluster"] if f.key == "cluster" else scope.get(f.key)) for f in filters):
            continue
        key = (doc["cluster"],) + tuple(scope.get(k) for k in by)
        row = rows.setdefault(key, {"count": 0, "first_seen": doc["first_seen"], "last_seen": doc["last_seen"]})
        row["count"] += doc["count"]
        row["first_seen"] = min(row["first_seen"], doc["first_seen"])
        row["last_seen"] = max(row["last_seen"], doc["last_seen"])
        total += doc["count"]
    labels = {d["_id"]: d.get("label", "") for d in store.db["error_clusters"].find(
        {"_id": {"$in": sorted({k[0] for k in rows})}}, {"label": 1})} if rows else {}
    records = [{"cluster": key[0], **dict(zip(by, key[1:])), "errors": row["count"],
                "share": row["count"] / total if total else 0.0, "first_seen": row["first_seen"],
                "last_seen": row["last_seen"], "label": labels.get(key[0], "")}
               for key, row in rows.items()]
    frame = pd.DataFrame(records, columns=["cluster", *by, "errors", "share", "first_seen", "last_seen", "label"])
    frame = frame.sort_values(["errors", "cluster"], ascending=[False, True], kind="stable").reset_index(drop=True)
    frame.attrs.update({"span": (first, last), "source": source, "precision": precision,
                        "filters": [str(f) for f in filters], "errors": total})
    return frame
