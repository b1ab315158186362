"""The shape of an aggregate document in MongoDB (see docs/job-records.md), for any source.

Documents are keyed by a deterministic `_id` from (precision, bucket start, scope values), so
writing the same bucket again replaces the document instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from typing import Any, Callable, Iterable, Iterator, Sequence

from .sources import Source
from .statistics import STATISTICS, sketch
from .tiers import next_start

EPOCH = dt.datetime(1970, 1, 1)


def document_id(source: Source, precision: str, start: dt.datetime, scope: dict,
                keys: tuple[str, ...] | None = None) -> str:
    """`keys`: the scope keys of a view (jobrollup.views); the source's whole scope by default."""
    key = [precision, start.isoformat()] + [scope.get(k) for k in (source.scope_keys if keys is None else keys)]
    return hashlib.sha1(_ID_TEXT.encode(key).encode()).hexdigest()


# json.dumps(key, separators=(",", ":")), without building an encoder for every document
_ID_TEXT = json.JSONEncoder(separators=(",", ":"))


def to_document(row: dict[str, Any], source: Source, precision: str, run_id: str,
                keys: tuple[str, ...] | None = None) -> dict:
    """One row of spark.aggregate.aggregate_jobs (or of a view, over `keys`) -> the MongoDB document."""
    return document_maker(tuple(row), source, precision, run_id, keys)(tuple(row.values()))


def document_maker(columns: Sequence[str], source: Source, precision: str, run_id: str,
                   keys: tuple[str, ...] | None = None) -> Callable[[Sequence], dict]:
    """`to_document` for many rows with the same `columns`, each given as its values in that
    order (a Spark Row is a tuple of them). Every column's position is found once, not per row:
    a Row finds a name by searching its ~150 fields, and `Row.asDict` built a dict of them for
    every row, about a fifth of an executor's time building documents (issue 15)."""
    keys = source.scope_keys if keys is None else keys
    at = {column: i for i, column in enumerate(columns)}
    bucket_at, count_at = at["bucket_epoch"], at["count"]
    keys_at = tuple((key, at[key]) for key in keys)
    counters_at = tuple((counter, at[counter]) for counter in source.counters)
    metrics_at = tuple((group, metric, at[n], tuple((s, at[column]) for s, column in floats),
                        at.get(bins), at.get(zeros))
                       for group, metric, n, floats, bins, zeros in _columns(source))
    bounds: dict[int, tuple[dt.datetime, dt.datetime]] = {}   # bucket epoch -> (start, end): few per partition

    def make(values: Sequence) -> dict:
        values = tuple(values)   # Row's own [i] is a Python method; a tuple's is not (the same tuple when given one)
        epoch = int(values[bucket_at])
        start_end = bounds.get(epoch)
        if start_end is None:
            start = EPOCH + dt.timedelta(seconds=epoch)
            start_end = bounds[epoch] = (start, next_start(start, precision))
        start, end = start_end
        scope = {key: values[i] for key, i in keys_at}
        performance: dict[str, dict] = {}
        for group, metric, n_at, floats_at, bins_at, zeros_at in metrics_at:
            n = values[n_at]
            if n:
                stats = {"n": int(n)}
                for statistic, i in floats_at:
                    stats[statistic] = float(values[i])
                if bins_at is not None:
                    stats["sketch"] = sketch(values[bins_at], values[zeros_at])
                performance.setdefault(group, {})[metric] = stats
        doc_scope = dict(scope, start_date=start, end_date=end, timeframe_precision=precision)
        return {
            "_id": document_id(source, precision, start, scope, keys),
            "scope": doc_scope,
            "count": int(values[count_at]),
            **{counter: int(values[i]) for counter, i in counters_at},
            "performance": performance,
            "run_id": run_id,
        }
    return make


def _columns(source: Source) -> tuple:
    """Per metric, the row's column names a document reads: (group, metric, n column,
    ((statistic, column) of the other statistics), bins column, zeros column)."""
    held = _COLUMNS.get(id(source))
    if held is None or held[0] is not source:   # a Source holds dicts: not hashable
        held = _COLUMNS[id(source)] = (source, tuple(
            (group, metric, f"{column}__n", tuple((s, f"{column}__{s}") for s in STATISTICS if s != "n"),
             f"{column}__bins", f"{column}__zeros") for group, metric, column in source.metric_columns))
    return held[1]


_COLUMNS: dict[int, tuple[Source, tuple]] = {}


def to_documents(rows: Iterable, source: Source, precision: str, run_id: str,
                 keys: tuple[str, ...] | None = None) -> Iterator[dict]:
    """`to_document` of every row: Spark Rows (read by position) or dicts, all with the columns
    of the first one (the rows of one DataFrame)."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    is_row = hasattr(first, "__fields__")
    make = document_maker(first.__fields__ if is_row else tuple(first), source, precision, run_id, keys)
    for row in itertools.chain((first,), rows):
        yield make(row if is_row else tuple(row.values()))
