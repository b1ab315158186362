"""Answering a question: run the pipelines of its coverage and merge them exactly.

A question is a `Query` (jobrollup.query.question): a UTC span, filters on scope keys, metrics,
and group-by axes (scope keys and at most one time axis) of one source. `answer(store, query)`
returns a pandas DataFrame, one row per group, with what it used in `frame.attrs` (the span, the
tiers per sub-range, unknown ranges, notes).

How a span is answered
  1. The bucket ledger (`<collection>_buckets`) says which buckets of which tier are held; only
     `held` buckets count. A held bucket without documents is zero jobs; a range that no tier
     holds is unknown (reported, never taken for zero).
  2. `plan_coverage` (jobrollup.query.coverage) picks, for every part of the span, exactly one
     held bucket: the choice leaves as little of the span unanswered as possible, then reaches
     as little past the span as possible, then uses the finest tiers, except where a coarser
     bucket inside the span was written after the finer ones it holds (it saw the newest input
     and holds fewer documents). No range is ever counted twice.
  3. A coarse bucket cannot be split. When the span starts or ends inside the only bucket that
     holds that range, the span is widened to the whole bucket (`partial="widen"`, the
     default, reported in the notes and in attrs["span"]) or the question is refused with the
     bucket named (`partial="refuse"`). A time axis makes its rows whole buckets of the axis
     the same way.
  4. A time axis can only be built from tiers that nest in it (tiers.sums_into); when part of
     the span is held only by a coarser or non-nesting tier, the question is refused with the
     range and the tier named, instead of inventing values.
  5. One aggregation pipeline per contiguous sub-range of one tier runs in MongoDB
     (jobrollup.query.pipelines); the partial results merge exactly (counts and sums add,
     extremes extend). A mean is sum / n of the merged statistics, a standard deviation comes
     from sumsq.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Iterable

from ..sources import Source
from ..tiers import PRECISIONS, ceil, floor
from ..views import View
from .coverage import (MAX_DOCUMENTS_PER_PIPELINE, Bucket, Coverage, Segment, axis_buckets,
                       pipeline_ranges, plan_coverage)
from . import views
from .pipelines import pipelines, sketch_pipeline
from .question import PERCENTILES, Metric, Query, _show, canonical_key

if TYPE_CHECKING:   # pandas is imported where a frame is made: it is most of bin/query's start
    import pandas as pd

# -- merging partial results (pure) -------------------------------------------------------------

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
    return to_frame(query, derive_records(query, merged, percentiles))


def derive_records(query: Query, merged: dict[tuple, dict], percentiles: dict | None = None) -> list[dict]:
    """`derive` as plain records (column -> value), one per group, in no order."""
    percentiles = percentiles or {}
    records = []
    for key, acc in merged.items():
        record = dict(zip(query.axes, key))
        count = int(acc.get("count", 0))
        for m in query.metrics:
            if m.name == "count":
                record["count"] = count
            elif m.name in query.source.counters:
                record[m.name] = int(acc.get(m.name, 0))
            elif m.name == "failure_rate":
                record["failure_rate"] = acc.get("failed", 0) / count if count else math.nan
            elif m.name == "success_rate":
                record["success_rate"] = 1 - acc.get("failed", 0) / count if count else math.nan
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
    return records


def to_frame(query: Query, records: list[dict]) -> pd.DataFrame:
    """Records of `derive_records` as the answer's DataFrame, with its column types."""
    import pandas as pd
    frame = pd.DataFrame.from_records(records, columns=query.axes + query.columns)
    for column in ("count", *query.source.counters):
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


def held_buckets(store, source: Source, start: dt.datetime, end: dt.datetime) -> list[Bucket]:
    """Held buckets of every tier overlapping [start, end), from the ledger (index precision, start)."""
    out = []
    for precision in PRECISIONS:
        for e in store.ledger(source, precision, start - _LONGEST[precision], end,
                              {"start": 1, "end": 1, "state": 1, "documents": 1, "views": 1, "updated_at": 1}):
            if e.get("state") == "held" and e["end"] > start:
                held_views = tuple((View.from_entry(name, v), int(v["documents"]))
                                   for name, v in sorted((e.get("views") or {}).items()))
                out.append(Bucket(precision, e["start"], e["end"], int(e.get("documents", 1)), held_views,
                                  e.get("updated_at")))
    return out


def no_data_notes(store, source: Source, coverage: Coverage) -> list[str]:
    """A note for each unknown range whose buckets were aggregated without their input (the
    ledger's `missing` state): no data, which is not zero jobs."""
    notes = []
    for e in store.ledger_in_state(source, "missing"):
        if any(e["start"] < g1 and e["end"] > g0 for g0, g1 in coverage.unknown):
            notes.append(f"no data: {e['precision']} {_show(e['start'])} .. {_show(e['end'])}: the input of "
                         f"{', '.join(e.get('missing_days', []))} was missing when run {e.get('run_id')} "
                         "aggregated it (unknown, not zero jobs)")
    return notes


def run_segments(store, query: Query, ranges: list[Segment]) -> tuple[dict[tuple, dict], int]:
    """Run one pipeline per range; the merged accumulators and how many pipelines ran."""
    rows = [(_key_of(query, row.pop("_id")), row)
            for segment in ranges for row in store.aggregate(query.collection, pipelines(query, segment))]
    return merge_rows(rows), len(ranges)


def run_percentiles(store, query: Query, segments: list[Segment], merged: dict[tuple, dict]) \
        -> tuple[dict, list[str]]:
    """{(metric, pNN): {group key: value}} for metrics whose documents all carry a sketch."""
    out, notes = {}, []
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
            for row in store.aggregate(query.collection, sketch_pipeline(query, segment, m)):
                sketches[_key_of(query, row.get("g"))].append(row["s"])
        for key, parts in sketches.items():
            sketch = merge_sketches(parts)
            if sketch is None:
                notes.append(f"{m.name}: sketches with different gamma cannot merge: {', '.join(wanted)} left empty")
                break
            for stat in wanted:
                out.setdefault((m.name, stat), {})[key] = sketch_quantile(sketch, PERCENTILES[stat])
    return out, notes


def fill_time_axis(query: Query, merged: dict[tuple, dict], coverage: Coverage) -> list[str]:
    """With only a time axis, every held axis bucket gets a row: a held bucket without
    documents is zero jobs. Unknown ones get none. Returns notes."""
    whole, partial = axis_buckets(coverage, query.time_axis)
    if not query.keys:
        for bucket in whole + partial:
            merged.setdefault((bucket,), {"count": 0})
    return [f"{query.time_axis} {_show(b)} is only partly held (part of it is unknown)" for b in partial]


class Rows:
    """An answer before it becomes a DataFrame: its records (one per group, in no order) and
    what was used (`attrs`). bin/query prints most answers from these without importing pandas
    (most of its start): `plain()` says when the rows' sorted order needs no pandas, and
    `table()` gives them sorted as `frame()` would, with the few members the renderers read
    (`columns`, `attrs`, `itertuples`, `head`, `len`). `frame()` is the answer's DataFrame."""

    def __init__(self, query: Query, records: list[dict], attrs: dict, labels: dict | None = None):
        self.query, self.records, self.attrs, self.labels = query, records, attrs, labels
        self.columns = query.axes + query.columns + (["label"] if labels is not None else [])

    def frame(self) -> pd.DataFrame:
        frame = sort_frame(to_frame(self.query, self.records), self.query)
        if self.labels is not None:   # error clusters are read by their label
            frame["label"] = [self.labels.get(int(c), "") if c == c and c is not None else "" for c in frame["cluster"]]
        frame.attrs.update(self.attrs)
        return frame

    def plain(self) -> bool:
        """True when every key value is text or null: then a frame sorts them as text, and
        `table` sorts the same way (numbers and other types: ask `frame`)."""
        return self.labels is None and all(isinstance(r[k], str) or r[k] is None
                                           for r in self.records for k in self.query.keys)

    def table(self) -> "Rows":
        """The rows sorted as `sort_frame` sorts plain rows (time axis: by time, then keys;
        otherwise by the first metric, largest first and NaN last, then keys); text keys
        compare as text, nulls last."""
        assert self.plain()
        text = lambda r: tuple((r[k] is None, "None" if r[k] is None else r[k]) for k in self.query.keys)
        if self.query.time_axis:
            order = lambda r: (r[self.query.time_axis], *text(r))
        else:
            first = self.query.columns[0]
            order = lambda r: ((r[first] != r[first], 0, *text(r)) if r[first] != r[first]
                               else (False, -r[first], *text(r)))
        return Rows(self.query, sorted(self.records, key=order), self.attrs)

    def head(self, n: int) -> "Rows":
        return Rows(self.query, self.records[:n], self.attrs, self.labels)

    def itertuples(self, index: bool = False):
        return (tuple(r.get(c) for c in self.columns) for r in self.records)

    def __len__(self) -> int:
        return len(self.records)


def answer(store, query: Query, max_documents: int = MAX_DOCUMENTS_PER_PIPELINE,
           use_views: bool = True) -> pd.DataFrame:
    """The answer to `query`, one row per group; `frame.attrs` holds what was used:
    asked and answered span, tiers per sub-range, unknown ranges, notes, pipelines run, and the
    view read (the smallest that holds the question, jobrollup.query.views) with its documents."""
    return answer_rows(store, query, max_documents, use_views).frame()


def answer_rows(store, query: Query, max_documents: int = MAX_DOCUMENTS_PER_PIPELINE,
                use_views: bool = True) -> Rows:
    """`answer` before its DataFrame is made (see Rows)."""
    start = query.start
    if start is None:
        start = store.earliest_held(query.source)
        if start is None or start >= query.end:
            return Rows(query, [], _attrs(query, Coverage((None, query.end), (None, query.end), [], [],
                                          [f"nothing is held in {query.source.buckets_collection} before "
                                           f"{_show(query.end)}: run bin/aggregate first"]), 0))
    lo, hi = (floor(start, query.time_axis), ceil(query.end, query.time_axis)) if query.time_axis else (start, query.end)
    buckets = held_buckets(store, query.source, lo, hi)
    coverage = plan_coverage(query, buckets, start)
    coverage.notes.extend(no_data_notes(store, query.source, coverage))
    choice = views.choose(query, coverage.buckets, use_views)
    reading = replace(query, collection=choice.collection)
    ranges = pipeline_ranges(replace(coverage, buckets=choice.buckets), max_documents)
    merged, ran = run_segments(store, reading, ranges)
    percentiles, notes = run_percentiles(store, reading, ranges, merged)
    coverage.notes.extend(notes)
    if query.time_axis:
        coverage.notes.extend(fill_time_axis(query, merged, coverage))
    records = derive_records(query, merged, percentiles)
    labels = None
    if "cluster" in query.keys and records:   # error clusters are read by their label
        labels = store.cluster_labels(sorted({int(r["cluster"]) for r in records
                                              if r["cluster"] == r["cluster"] and r["cluster"] is not None}))
    attrs = _attrs(query, coverage, ran, choice)
    if query.time_axis:
        whole, partial = axis_buckets(coverage, query.time_axis)
        attrs["axis_buckets"] = sorted(whole + partial)
    return Rows(query, records, attrs, labels)


def explain(store, query: Query, use_views: bool = True) -> dict:
    """The plan and the pipelines `answer` would run, without running them: the tiers, the
    collection chosen (a view or the documents) and the documents it will read."""
    start = query.start if query.start is not None else store.earliest_held(query.source) or query.end
    lo, hi = (floor(start, query.time_axis), ceil(query.end, query.time_axis)) if query.time_axis else (start, query.end)
    coverage = plan_coverage(query, held_buckets(store, query.source, lo, hi), start)
    choice = views.choose(query, coverage.buckets, use_views)
    out = _attrs(query, coverage, 0, choice)
    reading = replace(query, collection=choice.collection)
    out["pipelines"] = [pipelines(reading, s) for s in pipeline_ranges(replace(coverage, buckets=choice.buckets))]
    return out


def suggest(store, query: Query, key: str, use_views: bool = True) -> pd.DataFrame:
    """Distinct values of `key` with their job counts under the query's filters, most jobs first."""
    key = canonical_key(key, query.source)
    asked = replace(query, keys=(key,), time_axis=None, metrics=(Metric("count"),))
    return answer(store, asked, use_views=use_views)


def _attrs(query: Query, coverage: Coverage, ran: int, choice: "views.Choice | None" = None) -> dict:
    read = {} if choice is None else {"read": {"view": choice.view, "collection": choice.collection,
                                              "documents": choice.documents, "documents_without_views": choice.full_documents,
                                              "why": choice.reason}}
    return {**read,
        "query": query.describe(),
        "asked": list(coverage.asked), "span": list(coverage.span),
        "tiers": [asdict(s) for s in coverage.segments],
        "unknown": [list(u) for u in coverage.unknown],
        "notes": list(coverage.notes), "pipelines_run": ran,
        "time_axis": query.time_axis, "keys": list(query.keys), "columns": query.columns,
    }
