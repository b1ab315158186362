"""Job records -> one row per (bucket, scope): a pure DataFrame -> DataFrame transformation.

What is computed per metric is what merges exactly (jobrollup.statistics): n, sum, min, max,
sumsq, and the bins of a percentile sketch for the source's sketched metrics.
"""

from __future__ import annotations

import calendar
import math

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..sources import Source
from ..statistics import SKETCH_GAMMA
from ..tiers import Window, check_precision


def in_window(ts: Column, window: Window) -> Column:
    """Whether a timestamp falls in [window.start, window.end)."""
    return (ts >= _utc(window.start)) & (ts < _utc(window.end))


def _utc(moment) -> Column:
    # A naive datetime literal would be read in the Python process's local time zone.
    return F.timestamp_seconds(F.lit(calendar.timegm(moment.timetuple())))


def aggregate_jobs(jobs: DataFrame, precision: str, source: Source) -> DataFrame:
    """Job records -> rows of `bucket_epoch` (UTC seconds), the scope keys, count, the source's
    counters and `<group>__<metric>__<statistic>` columns.

    The bucket is the record's own time truncated in the session time zone, which the
    session builder fixes to UTC (Spark's WEEK truncation starts on Monday, as ISO weeks do).
    """
    unit = check_precision(precision).upper()
    bucket = F.date_trunc(unit, F.col("ts"))
    statistics = []
    for _, _, column in source.metric_columns:
        value = F.col(column)
        statistics += [
            F.count(value).alias(f"{column}__n"),
            F.sum(value).alias(f"{column}__sum"),
            F.min(value).alias(f"{column}__min"),
            F.max(value).alias(f"{column}__max"),
            F.sum(value * value).alias(f"{column}__sumsq"),
        ]
        if column in source.sketched:
            statistics += [
                F.collect_list(F.when(value > 0, F.ceil(F.log(value) / math.log(SKETCH_GAMMA)).cast("int")))
                .alias(f"{column}__bins"),
                F.count(F.when(value == 0, F.lit(1))).alias(f"{column}__zeros"),
            ]
    return (
        jobs.groupBy(F.unix_seconds(bucket).alias("bucket_epoch"), *source.scope_keys)
        .agg(F.count(F.lit(1)).alias("count"),
             *[F.sum(F.coalesce(F.col(c), F.lit(0))).alias(c) for c in source.counters],
             *statistics)
    )


def regroup(rows: DataFrame, keys: tuple[str, ...], source: Source) -> DataFrame:
    """Rows of `aggregate_jobs` -> the same rows over fewer scope keys (a view, jobrollup.views),
    merged as every tier merges: counts, counters, n, sum and sumsq add, extremes extend, sketch
    bins add. Equal to `aggregate_jobs` grouped by `keys` alone, without reading the jobs again."""
    statistics = []
    for _, _, column in source.metric_columns:
        statistics += [F.sum(f"{column}__n").alias(f"{column}__n"), F.sum(f"{column}__sum").alias(f"{column}__sum"),
                       F.min(f"{column}__min").alias(f"{column}__min"), F.max(f"{column}__max").alias(f"{column}__max"),
                       F.sum(f"{column}__sumsq").alias(f"{column}__sumsq")]
        if column in source.sketched:
            statistics += [F.flatten(F.collect_list(f"{column}__bins")).alias(f"{column}__bins"),
                           F.sum(f"{column}__zeros").alias(f"{column}__zeros")]
    return (rows.groupBy("bucket_epoch", *keys)
            .agg(F.sum("count").alias("count"), *[F.sum(c).alias(c) for c in source.counters], *statistics))


def regroup_views(rows: DataFrame, views: dict[str, tuple[str, ...]], source: Source) -> DataFrame:
    """Every view's rows in one DataFrame (one Spark job to collect them all): `regroup` per view,
    with a `view` column naming it and the keys it leaves out as nulls. A union keeps its
    inputs' partitions in order, so the rows come view after view."""
    parts = []
    for name, keys in views.items():
        part = regroup(rows, keys, source).withColumn("view", F.lit(name))
        for key in source.scope_keys:
            if key not in keys:
                part = part.withColumn(key, F.lit(None).cast(rows.schema[key].dataType))
        parts.append(part)
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out
