"""MongoDB aggregation pipelines for a question over one sub-range of one tier (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from ..sources import Source
from .coverage import Segment
from .question import PERCENTILES, Filter, Metric, Query


def failed_expression(source: Source) -> dict:
    """True for a document of failed jobs: its failure key holds no success value."""
    key = f"$scope.{source.failure_key}"
    if len(source.success_values) == 1:
        return {"$ne": [key, source.success_values[0]]}
    return {"$not": [{"$in": [key, list(source.success_values)]}]}


# -- MongoDB pipelines (pure) ------------------------------------------------------------------

def filter_clause(f: Filter, integer_keys: Iterable[str] = ()) -> dict:
    """The MongoDB condition of one filter on `scope.<key>`."""
    path = f"scope.{f.key}"
    if f.op in ("~", "!~"):
        if f.key in integer_keys:  # a number: match its decimal text
            test = {"$regexMatch": {"input": {"$toString": f"${path}"}, "regex": f.values[0]}}
            return {"$expr": test if f.op == "~" else {"$not": [test]}}
        return {path: {"$regex": f.values[0]}} if f.op == "~" else {path: {"$not": {"$regex": f.values[0]}}}
    if f.op == "=":
        return {path: f.values[0]} if len(f.values) == 1 else {path: {"$in": list(f.values)}}
    return {path: {"$ne": f.values[0]}} if len(f.values) == 1 else {path: {"$nin": list(f.values)}}


def match_stages(filters: Iterable[Filter], precision: str, start: dt.datetime, end: dt.datetime,
                 source: Source) -> list[dict]:
    """Two $match stages: first what an index answers (the tier, the date range and one
    equality on an indexed key), then every other filter. MongoDB merges adjacent $match
    stages itself; servers with a simpler planner still use the index for the first."""
    first = {"scope.timeframe_precision": precision, "scope.start_date": {"$gte": start, "$lt": end}}
    rest = list(filters)
    for key in source.indexed_keys:
        hit = next((f for f in rest if f.key == key and f.op == "=" and len(f.values) == 1), None)
        if hit:
            first = {"scope.timeframe_precision": precision, f"scope.{key}": hit.values[0],
                     "scope.start_date": first["scope.start_date"]}
            rest.remove(hit)
            break
    stages = [{"$match": first}]
    if rest:
        clauses = [filter_clause(f, source.integer_keys) for f in rest]
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
    for counter in query.source.counters:
        if counter in names:
            group[counter] = {"$sum": f"${counter}"}
    if names & {"failure_rate", "success_rate"}:
        group["failed"] = {"$sum": {"$cond": [failed_expression(query.source), "$count", 0]}}
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
    return [*match_stages(query.filters, segment.precision, segment.start, segment.end, query.source),
            group_stage(query, segment.precision)]


def sketch_pipeline(query: Query, segment: Segment, metric: Metric) -> list[dict]:
    """The sketches of one metric with their group, to merge in Python (bins are keyed by index)."""
    path = f"$performance.{metric.group}.{metric.metric}.sketch"
    project = {"_id": 0, "g": group_id(query, segment.precision), "s": path}
    return [*match_stages(query.filters, segment.precision, segment.start, segment.end, query.source),
            {"$match": {f"performance.{metric.group}.{metric.metric}.sketch": {"$exists": True}}},
            {"$project": project}]
