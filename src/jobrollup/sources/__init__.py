"""Sources: what each kind of dump is, as plain data that every part of the spine reads.

A source is a definition, not code paths scattered through the spine: its name and collection,
its scope keys, its metrics with the rule that combines several values of one job, the counters
summed beside `count`, its time field, its reject reasons, and where its Spark reader and
normaliser and its generator live. Pipeline, statistics, documents, store, cleanup and queries
take a `Source` and know nothing of any one source.

The Spark parts are named as "module:function" and imported only when a Spark job asks for them,
so reading a definition (bin/query, bin/cleanup, every --dry-run) never loads pyspark.

Adding a source: one new module under `jobrollup/sources/` that builds a `Source`, one line in
`_MODULES` below, and its tests.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

COMBINE_RULES = ("sum", "max", "min", "mean")
# Shares of jobs by the failure key: failed / jobs, and its complement.
RATES = ("failure_rate", "success_rate")

# name -> module defining SOURCE; imported on first use.
_MODULES = {
    "fwjr": "jobrollup.sources.fwjr",
    "spack_builds": "jobrollup.sources.spack_builds",
    "spack_errors": "jobrollup.sources.spack_errors",
}


@dataclass(frozen=True)
class Source:
    """One kind of dump. Parameters:

    name            what `--source` takes; also the run journal's `source`
    collection      the MongoDB collection of its aggregate documents (every tier in it)
    scope_keys      the keys a document is grouped by, in `_id` order (never reorder: the ids
                    of stored documents depend on it)
    metrics         group -> metric -> rule combining several values of one job (sum, max, min,
                    mean); the job record carries each as column `<group>__<metric>`
    counters        integer fields summed per document beside `count` (FWJR: events)
    sketched        metric columns that also keep a mergeable percentile sketch
    time_field      where a raw record's time is (documentation; job records carry it as `ts`)
    reject_reasons  the names a rejected line is counted under
    reader          "module:function": (spark, InputFiles) -> DataFrame of `value`, `file`
    normaliser      "module:function": lines -> job records (pure DataFrame -> DataFrame)
    generator       "module:function": the synthetic-dump command's main(argv), or None
    indexed_keys    scope keys operators filter on most, most selective first (each gets an
                    index with the time; a query puts an equality on the first into its index match)
    error_scope     the keys an error of this source is counted by in the clustering job
    error_extractor "module:function": (spark, InputFiles) -> error rows, or None
    annotator       "module:function": (spark, store, records) -> records, run by the aggregation
                    after the normaliser, for what needs the store (spack_errors: the clusters)
    errors_collection_name, error_assignments_name
                    bin/cluster-errors' collections when `<name>_errors` would be taken
    integer_keys    scope keys holding whole numbers (a filter's values are parsed as such)
    failure_key     the scope key that tells a failed job (failure rates), with success_values
    units           unit of each counter and `group.metric`, for tables and plots
    """

    name: str
    collection: str
    scope_keys: tuple[str, ...]
    metrics: dict[str, dict[str, str]]
    time_field: str
    reject_reasons: tuple[str, ...]
    normaliser: str | None = None
    reader: str = "jobrollup.spark.readers:read_lines"
    generator: str | None = None
    counters: tuple[str, ...] = ()
    sketched: tuple[str, ...] = ()
    indexed_keys: tuple[str, ...] = ()
    error_scope: tuple[str, ...] = ()
    error_extractor: str | None = None
    annotator: str | None = None
    errors_collection_name: str | None = None
    error_assignments_name: str | None = None
    integer_keys: tuple[str, ...] = ()   # scope keys whose values are whole numbers (filters parse them)
    failure_key: str | None = None  # a job failed when this scope key is not a success value
    success_values: tuple = ()
    units: dict[str, str] = field(default_factory=dict)   # metric or counter -> unit, for output

    def __post_init__(self):
        for group, metrics in self.metrics.items():
            for metric, rule in metrics.items():
                if rule not in COMBINE_RULES:
                    raise ValueError(f"source {self.name}: {group}.{metric} has unknown rule {rule!r}")
        unknown = set(self.indexed_keys) - set(self.scope_keys)
        if unknown:
            raise ValueError(f"source {self.name}: indexed keys not in the scope: {sorted(unknown)}")

    @property
    def metric_columns(self) -> list[tuple[str, str, str]]:
        """(group, metric, job-record column) of every metric, in definition order."""
        return [(g, m, f"{g}__{m}") for g, metrics in self.metrics.items() for m in metrics]

    @property
    def basic_metrics(self) -> tuple[str, ...]:
        """What a question can ask besides performance metrics: jobs, counters, failure rate."""
        return ("count", *self.counters, *(RATES if self.failure_key else ()))

    @property
    def aggregates(self) -> bool:
        """Whether the aggregation job can read this source (errors-only sources cannot)."""
        return self.normaliser is not None

    @property
    def buckets_collection(self) -> str:
        return f"{self.collection}_buckets"

    @property
    def errors_collection(self) -> str:
        return self.errors_collection_name or f"{self.name}_errors"

    @property
    def error_assignments_collection(self) -> str:
        return self.error_assignments_name or f"{self.name}_error_assignments"

    def load(self, part: str) -> Callable[..., Any]:
        """The function named by `reader`, `normaliser`, `annotator`, `generator` or `error_extractor`."""
        target = getattr(self, part)
        if not target:
            raise ValueError(f"source {self.name} has no {part}")
        module, function = target.split(":")
        return getattr(importlib.import_module(module), function)


def names() -> tuple[str, ...]:
    return tuple(_MODULES)


def aggregating_names() -> tuple[str, ...]:
    return tuple(name for name in _MODULES if get(name).aggregates)


def get(name: str) -> Source:
    """The source called `name`; ValueError with the choices otherwise."""
    if name not in _MODULES:
        raise ValueError(f"unknown source {name!r}: choose one of {', '.join(_MODULES)}")
    return importlib.import_module(_MODULES[name]).SOURCE
