"""A question: a UTC span, filters on scope keys, metrics and group-by axes, of one source;
parsed from the strings people type. No MongoDB and no Spark here."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field, replace
from typing import Iterable

from .. import sources
from ..exits import UsageError
from ..sources import Source
from ..tiers import PRECISIONS, floor, next_start

# -- vocabulary ------------------------------------------------------------------------------

STATISTICS = ("mean", "min", "max", "sum", "n", "std", "p50", "p90", "p99")
PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}
DEFAULT_STATISTICS = ("mean",)
PARTIAL_POLICIES = ("widen", "refuse")
TIME_PREFIX = "time:"

RANK = {p: i for i, p in enumerate(PRECISIONS)}


class QueryError(UsageError):
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
        return "." in self.name   # group.metric; count, counters and failure_rate have no dot

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
    source: Source = field(default_factory=lambda: sources.get("fwjr"))
    collection: str = ""            # the source's own unless named

    def __post_init__(self):
        if not self.collection:
            object.__setattr__(self, "collection", self.source.collection)
        if self.partial not in PARTIAL_POLICIES:
            raise QueryError(f"unknown partial-bucket policy {self.partial!r}: choose one of {', '.join(PARTIAL_POLICIES)}")
        if self.time_axis is not None and self.time_axis not in PRECISIONS:
            raise QueryError(f"unknown precision {self.time_axis!r} in {TIME_PREFIX}{self.time_axis}: "
                             f"choose one of {', '.join(PRECISIONS)}")
        for key in self.keys + tuple(f.key for f in self.filters):
            if key not in self.source.scope_keys:
                raise QueryError(_unknown_key(key, self.source))
        if len(set(self.keys)) != len(self.keys):
            raise QueryError(f"a group-by key is given twice: {', '.join(self.keys)}")
        if not self.metrics:
            raise QueryError("no metric asked: choose from " + ", ".join(self.source.basic_metrics)
                             + " or a performance metric")
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
        return {"source": self.source.name, "collection": self.collection, "from": self.start, "to": self.end,
                "where": [str(f) for f in self.filters], "metrics": [str(m) for m in self.metrics],
                "by": list(self.keys) + ([TIME_PREFIX + self.time_axis] if self.time_axis else []),
                "partial": self.partial}


def query(*, start: str | dt.datetime | None = "7 days ago", end: str | dt.datetime = "now",
          where: Iterable[str] = (), metrics: Iterable[str] = ("count",), by: Iterable[str] = (),
          partial: str = "widen", source: str | Source = "fwjr", collection: str = "",
          now: dt.datetime | None = None) -> Query:
    """Build a Query from the strings people type (see README "Asking questions")."""
    source = sources.get(source) if isinstance(source, str) else source
    now = _naive(now or dt.datetime.now(dt.timezone.utc))
    begin = parse_moment(start, now, what="--from") if isinstance(start, str) else _naive(start)
    finish = parse_moment(end, now, what="--to", end=True) if isinstance(end, str) else _naive(end)
    keys, axis = parse_axes(by, source)
    if begin is not None and begin >= finish:
        raise QueryError(f"empty span: --from {start!s} ({_show(begin)}) is not before --to {end!s} "
                         f"(which ends {_show(finish)}, UTC)")
    return Query(start=begin, end=finish, filters=tuple(parse_where(w, source) for w in where),
                 metrics=parse_metrics(metrics, source), keys=keys, time_axis=axis, partial=partial,
                 source=source, collection=collection)


# -- parsing ---------------------------------------------------------------------------------

_WHERE = re.compile(r"^\s*([A-Za-z_.]+)\s*(!~|!=|==|=|~)(.*)$", re.S)


def canonical_key(key: str, source: Source) -> str:
    key = key.strip()
    key = key[len("scope."):] if key.startswith("scope.") else key
    for known in source.scope_keys:
        if key.lower() == known.lower():
            return known
    raise QueryError(_unknown_key(key, source))


def _unknown_key(key: str, source: Source) -> str:
    close = difflib.get_close_matches(key, source.scope_keys, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown scope key {key!r}{hint}: choose one of {', '.join(source.scope_keys)}"


def parse_where(text: str, source: Source) -> Filter:
    """`key=v`, `key=v1,v2`, `key!=v[,v]`, `key~regex`, `key!~regex`; `null` is a missing value."""
    match = _WHERE.match(text)
    if not match:
        raise QueryError(f"filter {text!r}: write KEY=VALUE[,VALUE...], KEY!=VALUE[,...], KEY~REGEX or KEY!~REGEX "
                         f"with KEY one of {', '.join(source.scope_keys)}")
    key, op, rest = canonical_key(match[1], source), match[2], match[3]
    op = "=" if op == "==" else op
    if op in ("~", "!~"):
        try:
            re.compile(rest)
        except re.error as error:
            raise QueryError(f"invalid regular expression {rest!r} in filter {text!r}: {error}") from None
        if rest == "":
            raise QueryError(f"filter {text!r}: the regular expression is empty")
        return Filter(key, op, (rest,))
    values = tuple(_value(key, v.strip(), text, source) for v in rest.split(","))
    if any(v == "" for v in values):
        raise QueryError(f"filter {text!r}: an empty value (write null for a missing value)")
    return Filter(key, op, values)


def _value(key: str, text: str, where: str, source: Source):
    if text.lower() == "null":
        return None
    if key in source.integer_keys:
        try:
            return int(text)
        except ValueError:
            raise QueryError(f"filter {where!r}: {key} takes whole numbers (or null), not {text!r}; "
                             f"use {key}~REGEX to match digits") from None
    return text


def _all_metric_names(source: Source) -> list[str]:
    return [f"{g}.{m}" for g, ms in source.metrics.items() for m in ms]


def canonical_metric(name: str, source: Source) -> str:
    raw = name.strip()
    text = raw[len("performance."):] if raw.lower().startswith("performance.") else raw
    basic, known_names = source.basic_metrics, _all_metric_names(source)
    for name in basic:
        if text.lower() == name:
            return name
    for known in known_names:
        if text.lower() == known.lower():
            return known
    group = text.split(".", 1)[0].lower()
    if group in source.metrics and "." in text:
        close = difflib.get_close_matches(text, known_names, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise QueryError(f"unknown metric {raw!r}{hint}: {group} metrics are {', '.join(source.metrics[group])}")
    close = difflib.get_close_matches(text, list(basic) + known_names, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    examples = ", ".join(f"{g}.{next(iter(ms))}" for g, ms in source.metrics.items())
    raise QueryError(f"unknown metric {raw!r}{hint}: choose {', '.join(basic)}, or GROUP.METRIC with "
                     f"GROUP one of {', '.join(source.metrics)} (e.g. {examples})")


def parse_metrics(texts: Iterable[str], source: Source) -> tuple[Metric, ...]:
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
            metric = canonical_metric(name, source)
            if metric in source.basic_metrics:
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


def parse_axes(texts: Iterable[str], source: Source) -> tuple[tuple[str, ...], str | None]:
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
                key = canonical_key(token, source)
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
    if t in ("last week", "last-week"):
        return period(floor(floor(now, "week") - dt.timedelta(days=1), "week"), "week")
    if t in ("last month", "last-month"):
        return period(floor(floor(now, "month") - dt.timedelta(days=1), "month"), "month")
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
