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
    return hashlib.sha1(json.dumps(key, separators=(",", ":")).encode()).hexdigest()


def to_document(row: dict[str, Any], source: Source, precision: str, run_id: str,
                keys: tuple[str, ...] | None = None) -> dict:
    """One row of spark.aggregate.aggregate_jobs (or of a view, over `keys`) -> the MongoDB document."""
    keys = source.scope_keys if keys is None else keys
    start = EPOCH + dt.timedelta(seconds=int(row["bucket_epoch"]))
    scope = {k: row[k] for k in keys}
    performance: dict[str, dict] = {}
    for group, metric, column in source.metric_columns:
        n = row[f"{column}__n"]
        if n:
            stats = {s: (int(n) if s == "n" else float(row[f"{column}__{s}"])) for s in STATISTICS}
            if f"{column}__bins" in row:
                stats["sketch"] = sketch(row[f"{column}__bins"], row[f"{column}__zeros"])
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


def to_documents(rows: Iterable, source: Source, precision: str, run_id: str,
                 keys: tuple[str, ...] | None = None) -> Iterator[dict]:
    for row in rows:
        yield to_document(row.asDict() if hasattr(row, "asDict") else row, source, precision, run_id, keys)
