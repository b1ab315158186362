"""The shape of an aggregate document in MongoDB (see docs/job-records.md), for any source.

Documents are keyed by a deterministic `_id` from (precision, bucket start, scope values), so
writing the same bucket again replaces the document instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Iterable, Iterator

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
    keys = source.scope_keys if keys is None else keys
    start = EPOCH + dt.timedelta(seconds=int(row["bucket_epoch"]))
    scope = {k: row[k] for k in keys}
    performance: dict[str, dict] = {}
    for group, metric, n_column, float_columns, bins, zeros in _columns(source):
        n = row[n_column]
        if n:
            stats = {"n": int(n)}
            for statistic, column in float_columns:
                stats[statistic] = float(row[column])
            if bins in row:
                stats["sketch"] = sketch(row[bins], row[zeros])
            performance.setdefault(group, {})[metric] = stats
    doc_scope = dict(scope, start_date=start, end_date=next_start(start, precision),
                     timeframe_precision=precision)
    return {
        "_id": document_id(source, precision, start, scope, keys),
        "scope": doc_scope,
        "count": int(row["count"]),
        **{c: int(row[c]) for c in source.counters},
        "performance": performance,
        "run_id": run_id,
    }


def _columns(source: Source) -> tuple:
    """Per metric, the row's column names `to_document` reads: (group, metric, n column,
    ((statistic, column) of the other statistics), bins column, zeros column). Formatting them
    for every row was half of the executors' time building documents."""
    held = _COLUMNS.get(id(source))
    if held is None or held[0] is not source:   # a Source holds dicts: not hashable
        held = _COLUMNS[id(source)] = (source, tuple(
            (group, metric, f"{column}__n", tuple((s, f"{column}__{s}") for s in STATISTICS if s != "n"),
             f"{column}__bins", f"{column}__zeros") for group, metric, column in source.metric_columns))
    return held[1]


_COLUMNS: dict[int, tuple[Source, tuple]] = {}


def to_documents(rows: Iterable, source: Source, precision: str, run_id: str,
                 keys: tuple[str, ...] | None = None) -> Iterator[dict]:
    for row in rows:
        yield to_document(row.asDict() if hasattr(row, "asDict") else row, source, precision, run_id, keys)
