"""Mergeable statistics: job records -> one row per (bucket, scope).

Per metric we keep what merges exactly across buckets and tiers: n (jobs with a value), sum,
min, max and the sum of squares. Means and deviations are computed when read, never stored,
so no later tier ever averages averages.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .records import METRIC_COLUMNS, SCOPE_KEYS
from .tiers import check_precision

STATISTICS = ("n", "sum", "min", "max", "sumsq")


def aggregate_jobs(jobs: DataFrame, precision: str) -> DataFrame:
    """Job records -> rows of `bucket_epoch` (UTC seconds), the scope keys, count, events and
    `<group>__<metric>__<statistic>` columns.

    The bucket is the report's own time truncated in the session time zone, which the
    session builder fixes to UTC (Spark's WEEK truncation starts on Monday, as ISO weeks do).
    """
    unit = check_precision(precision).upper()
    bucket = F.date_trunc(unit, F.col("ts"))
    statistics = []
    for _, _, column in METRIC_COLUMNS:
        value = F.col(column)
        statistics += [
            F.count(value).alias(f"{column}__n"),
            F.sum(value).alias(f"{column}__sum"),
            F.min(value).alias(f"{column}__min"),
            F.max(value).alias(f"{column}__max"),
            F.sum(value * value).alias(f"{column}__sumsq"),
        ]
    return (
        jobs.groupBy(F.unix_seconds(bucket).alias("bucket_epoch"), *SCOPE_KEYS)
        .agg(F.count(F.lit(1)).alias("count"),
             F.sum(F.coalesce(F.col("events"), F.lit(0))).alias("events"),
             *statistics)
    )


def merge(into: dict, other: dict) -> dict:
    """Merge two {n, sum, min, max, sumsq} statistics: counts and sums add, extremes extend."""
    return {
        "n": into["n"] + other["n"],
        "sum": into["sum"] + other["sum"],
        "min": min(into["min"], other["min"]),
        "max": max(into["max"], other["max"]),
        "sumsq": into["sumsq"] + other["sumsq"],
    }
