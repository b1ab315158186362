"""Mergeable statistics: job records -> one row per (bucket, scope).

Per metric we keep what merges exactly across buckets and tiers: n (jobs with a value), sum,
min, max and the sum of squares. Means and deviations are computed when read, never stored,
so no later tier ever averages averages.
"""

from __future__ import annotations

import math

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .records import METRIC_COLUMNS, SCOPE_KEYS
from .tiers import check_precision

STATISTICS = ("n", "sum", "min", "max", "sumsq")

# Metrics that also get a percentile sketch: a DDSketch-style log histogram, where a value
# v > 0 is counted in bin ceil(log(v) / log(GAMMA)) and 0 in `zeros`. Sketches merge by adding
# counts, so p50/p90/p99 stay answerable at every tier within (GAMMA - 1) / (GAMMA + 1) = 1%.
SKETCH_GAMMA = 1.02
SKETCHED = ("cpu__TotalJobCPU", "cpu__TotalJobTime", "memory__PeakValueRss")


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
        if column in SKETCHED:
            statistics += [
                F.collect_list(F.when(value > 0, F.ceil(F.log(value) / math.log(SKETCH_GAMMA)).cast("int")))
                .alias(f"{column}__bins"),
                F.count(F.when(value == 0, F.lit(1))).alias(f"{column}__zeros"),
            ]
    return (
        jobs.groupBy(F.unix_seconds(bucket).alias("bucket_epoch"), *SCOPE_KEYS)
        .agg(F.count(F.lit(1)).alias("count"),
             F.sum(F.coalesce(F.col("events"), F.lit(0))).alias("events"),
             *statistics)
    )


def merge(into: dict, other: dict) -> dict:
    """Merge two {n, sum, min, max, sumsq[, sketch]} statistics: counts and sums add, extremes
    extend, sketch bins add. A sketch survives only when both sides have one: half a sketch
    would give wrong percentiles."""
    merged = {
        "n": into["n"] + other["n"],
        "sum": into["sum"] + other["sum"],
        "min": min(into["min"], other["min"]),
        "max": max(into["max"], other["max"]),
        "sumsq": into["sumsq"] + other["sumsq"],
    }
    if "sketch" in into and "sketch" in other:
        bins = dict(into["sketch"]["bins"])
        for index, count in other["sketch"]["bins"].items():
            bins[index] = bins.get(index, 0) + count
        merged["sketch"] = {"gamma": into["sketch"]["gamma"], "zeros": into["sketch"]["zeros"] + other["sketch"]["zeros"],
                            "bins": bins}
    return merged


def sketch(bins: list[int], zeros: int) -> dict:
    """The stored form of a sketch from the bin index of every positive value."""
    counts: dict[str, int] = {}
    for index in bins:
        counts[str(index)] = counts.get(str(index), 0) + 1
    return {"gamma": SKETCH_GAMMA, "zeros": int(zeros), "bins": counts}
