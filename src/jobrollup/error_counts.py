"""The error counts of bin/cluster-errors (`<source>_errors`) as tiered documents like the
aggregates: a bucket ledger of their own (`<errors collection>_buckets`), rolled up by the
cleanup with the same rules, read across tiers by `bin/query --errors`.

An error-count document: `{_id, scope: {source, cluster, <error scope keys>, start_date,
end_date, timeframe_precision}, cluster, count, first_seen, last_seen, run_id}`. Counts add;
first and last seen take the minimum and maximum. Its `_id` is `count_id`: the same for a
bucket rolled up by the cleanup as for that bucket clustered at its precision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

from .sources import Source

# The runs journal: the clustering runs one at a time over the registry, under this source
# name, with job `cluster-errors-<source>` and a window of all time (jobrollup.errors.job).
LOCK_SOURCE = "error-clusters"
# Fields merged by an extreme instead of a sum.
EXTREMES = {"first_seen": min, "last_seen": max}


def clustering_job(source: Source) -> str:
    return f"cluster-errors-{source.name}"


def definition(source: Source) -> Source:
    """`source`'s error counts, shaped as a Source for the ledger, the cleanup and the queries:
    the errors collection, scope `source, cluster, <error scope>`, no counters nor metrics."""
    return dataclasses.replace(source, collection=source.errors_collection,
                               scope_keys=("source", "cluster", *source.error_scope), metrics={}, counters=(),
                               sketched=(), indexed_keys=(), integer_keys=(), error_scope=())


def count_id(precision: str, start: dt.datetime, cluster, values: list) -> str:
    """The `_id` of the count of `cluster` with these error-scope values in one bucket."""
    key = json.dumps([precision, start.isoformat(), cluster] + list(values))
    return hashlib.sha1(key.encode()).hexdigest()


def document_id(errors: Source, precision: str, start: dt.datetime, scope: dict) -> str:
    """`count_id` from a document's scope (`errors` is a `definition`)."""
    return count_id(precision, start, scope.get("cluster"), [scope.get(k) for k in errors.scope_keys[2:]])
