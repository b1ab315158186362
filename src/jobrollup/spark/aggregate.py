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
from .sql_text import literal, name, query


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
    bucket = f"unix_seconds(date_trunc('{check_precision(precision).upper()}', ts))"
    keys = ", ".join(name(k) for k in source.scope_keys)
    outputs = [("count(1)", "count"), *[(f"sum(coalesce({name(c)}, 0))", c) for c in source.counters]]
    for _, _, column in source.metric_columns:
        value = name(column)
        outputs += [(f"count({value})", f"{column}__n"), (f"sum({value})", f"{column}__sum"),
                    (f"min({value})", f"{column}__min"), (f"max({value})", f"{column}__max"),
                    (f"sum({value} * {value})", f"{column}__sumsq")]
        if column in source.sketched:
            bin_of = f"CAST(ceil(ln({value}) / {math.log(SKETCH_GAMMA)!r}D) AS INT)"
            outputs += [(f"collect_list(CASE WHEN {value} > 0 THEN {bin_of} END)", f"{column}__bins"),
                        (f"count(CASE WHEN {value} = 0 THEN 1 END)", f"{column}__zeros")]
    aggregates = ", ".join(f"{expression} AS {name(column)}" for expression, column in outputs)
    return query(jobs, lambda table: f"SELECT {bucket} AS bucket_epoch, {keys}, {aggregates} "
                                     f"FROM {table} GROUP BY {bucket}, {keys}")


def regroup_views(rows: DataFrame, views: dict[str, tuple[str, ...]], source: Source,
                  first: str | None = None) -> DataFrame:
    """Every view's rows in one DataFrame (one Spark job to collect them all): the rows regrouped
    on each view's keys (`_regroup_select`), with a `view` column naming it and the keys it
    leaves out as nulls; `first` names the rows themselves, put ahead of the views. A union
    keeps its inputs' partitions in order, so the rows come view after view. One SQL text:
    Spark analyses the union once (spark.sql_text)."""

    def union(table: str) -> str:
        parts = [f"SELECT {literal(first)} AS `view`, * FROM {table}"] if first is not None else []
        parts += [_regroup_select(rows, keys, source, table, view) for view, keys in views.items()]
        return " UNION ALL ".join(f"({part})" for part in parts)
    return query(rows, union)


def _regroup_select(rows: DataFrame, keys: tuple[str, ...], source: Source, table: str, view: str) -> str:
    """SQL: rows of `aggregate_jobs` -> the same rows over fewer scope keys (a view,
    jobrollup.views), merged as every tier merges: counts, counters, n, sum and sumsq add,
    extremes extend, sketch bins add; equal to `aggregate_jobs` grouped by `keys` alone, without
    reading the jobs again; labelled `view`, the keys left out as nulls, in the column order of
    `rows` (a UNION ALL matches columns by position)."""
    merge = {"count": "sum", **{c: "sum" for c in source.counters}}
    for _, _, column in source.metric_columns:
        merge.update({f"{column}__n": "sum", f"{column}__sum": "sum", f"{column}__min": "min",
                      f"{column}__max": "max", f"{column}__sumsq": "sum", f"{column}__zeros": "sum",
                      f"{column}__bins": "flatten_collect"})
    types = {f.name: f.dataType.simpleString() for f in rows.schema.fields}
    columns = [f"{literal(view)} AS `view`"]
    for column in rows.columns:
        quoted = name(column)
        if column == "bucket_epoch" or column in keys:
            columns.append(quoted)
        elif column in source.scope_keys:
            columns.append(f"CAST(NULL AS {types[column]}) AS {quoted}")
        elif merge[column] == "flatten_collect":
            columns.append(f"flatten(collect_list({quoted})) AS {quoted}")
        else:
            columns.append(f"{merge[column]}({quoted}) AS {quoted}")
    group = ", ".join(name(c) for c in ("bucket_epoch", *keys))
    return f"SELECT {', '.join(columns)} FROM {table} GROUP BY {group}"
