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
from ..views import View
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
    return query(jobs, lambda table: _aggregate_select(table, precision, source))


# The columns `aggregate_and_tally` adds to the rows of `aggregate_jobs`: keys, then a count.
TALLY_KEYS = ("reject_reason", "in_window", "rejected_file", "rejected_line", "rejected_bytes")
TALLY_COLUMNS = (*TALLY_KEYS, "invalid_utf8")


def aggregate_and_tally(lines: DataFrame, precision: str, source: Source, line_chars: int) -> DataFrame:
    """Every normalised line (job records with `reject_reason`, `in_window`, `rejected_line`,
    `file` and the line facts) -> one aggregation that holds, apart, what a run needs of them:

    - the rows of `aggregate_jobs` over the jobs kept (not rejected, in the window), with
      `reject_reason` null and `in_window` true;
    - one row for the jobs of other windows (`in_window` false), counted only;
    - one row per distinct rejected line (`reject_reason`, `rejected_file`, `rejected_line` cut
      to `line_chars` characters, `rejected_bytes` of the whole line), `count` times seen;
    - `invalid_utf8`: how many of a row's lines had bytes that were not UTF-8.

    One pass over the input yields the documents, the counts and the rejects file, and nothing
    holds every line: the job records used to be cached, counted, then aggregated (at 1M jobs
    the driver's peak memory was 2.9-3.8 GB against 2.3-2.6 GB now; issue 15). The values of
    lines not kept are nulled before the aggregation, so that they cost nothing there and no
    sketch collects them.
    """
    kept = "(reject_reason IS NULL AND in_window)"
    rejected = "reject_reason IS NOT NULL"
    values = [*source.scope_keys, *source.counters, *(column for _, _, column in source.metric_columns)]

    def text(table: str) -> str:
        inner = ", ".join([
            f"CASE WHEN {kept} THEN ts END AS ts",
            *(f"CASE WHEN {kept} THEN {name(c)} END AS {name(c)}" for c in values),
            "reject_reason",
            f"CASE WHEN {rejected} THEN NULL ELSE coalesce(in_window, false) END AS in_window",
            f"CASE WHEN {rejected} THEN file END AS rejected_file",
            f"CASE WHEN {rejected} THEN substring(rejected_line, 1, {int(line_chars)}) END AS rejected_line",
            f"CASE WHEN {rejected} THEN line_bytes END AS rejected_bytes",
            "invalid_utf8",
        ])
        lines_table = f"(SELECT {inner} FROM {table})"
        return _aggregate_select(lines_table, precision, source, TALLY_KEYS,
                                 ["sum(CAST(invalid_utf8 AS INT)) AS invalid_utf8"])
    return query(lines, text)


def kept_rows(tallied: DataFrame) -> DataFrame:
    """The rows of `aggregate_and_tally` that are documents: those of `aggregate_jobs` over the
    jobs kept, with its columns."""
    return tallied.where(F.col("reject_reason").isNull() & F.col("in_window")).drop(*TALLY_COLUMNS)


def _aggregate_select(table: str, precision: str, source: Source, more_keys: tuple[str, ...] = (),
                      more_aggregates: list[str] = ()) -> str:
    bucket = f"unix_seconds(date_trunc('{check_precision(precision).upper()}', ts))"
    keys = ", ".join(name(k) for k in (*source.scope_keys, *more_keys))
    aggregates = ", ".join([*(f"{of_jobs} AS {name(column)}" for column, of_jobs, _ in _statistics(source)),
                            *more_aggregates])
    return f"SELECT {bucket} AS bucket_epoch, {keys}, {aggregates} FROM {table} GROUP BY {bucket}, {keys}"


def _statistics(source: Source) -> list[tuple[str, str, str]]:
    """Every aggregated column: (name, SQL aggregate over the job records, SQL aggregate that
    merges rows of it), the second over the job's value, the third over the column itself."""
    def merged(column: str, statistic: str, how: str) -> str:
        return f"{how}({name(f'{column}__{statistic}')})"

    out = [("count", "count(1)", "sum(`count`)"),
           *[(c, f"sum(coalesce({name(c)}, 0))", f"sum({name(c)})") for c in source.counters]]
    for _, _, column in source.metric_columns:
        value = name(column)
        out += [(f"{column}__n", f"count({value})", merged(column, "n", "sum")),
                (f"{column}__sum", f"sum({value})", merged(column, "sum", "sum")),
                (f"{column}__min", f"min({value})", merged(column, "min", "min")),
                (f"{column}__max", f"max({value})", merged(column, "max", "max")),
                (f"{column}__sumsq", f"sum({value} * {value})", merged(column, "sumsq", "sum"))]
        if column in source.sketched:
            bin_of = f"CAST(ceil(ln({value}) / {math.log(SKETCH_GAMMA)!r}D) AS INT)"
            out += [(f"{column}__bins", f"collect_list(CASE WHEN {value} > 0 THEN {bin_of} END)",
                     f"flatten(collect_list({name(f'{column}__bins')}))"),
                    (f"{column}__zeros", f"count(CASE WHEN {value} = 0 THEN 1 END)", merged(column, "zeros", "sum"))]
    return out


def regroup_views(rows: DataFrame, views: tuple[View, ...], source: Source,
                  first: str | None = None) -> DataFrame:
    """Every view's rows in one DataFrame: the rows regrouped on each view's keys, merged as
    every tier merges (`_statistics`), with a `view` column naming it and the keys and metrics
    it leaves out as nulls (a metric with a null `n` is not stored); `first` names the rows
    themselves, put ahead of the views, in the columns' order of `rows`.

    One aggregation regroups every view (`_views_select`: GROUPING SETS), so one shuffle and one
    generated aggregation serve them all: as one aggregation per view, the sample day's four
    views were four shuffle jobs of about 0.5 CPU s each, most of it building their code
    (issue 15). Its rows come view after view within each partition (SORT BY), so a writer
    writes a view's documents in whole batches."""
    merges = {column: merged for column, _, merged in _statistics(source)}
    types = {f.name: f.dataType.simpleString() for f in rows.schema.fields}

    def union(table: str) -> str:
        parts = [f"SELECT {literal(first)} AS `view`, * FROM {table}"] if first is not None else []
        if views:
            parts.append(_views_select(rows.columns, views, source, merges, types, table))
        return " UNION ALL ".join(f"({part})" for part in parts)
    return query(rows, union)


def _left_out(view: View, source: Source) -> set[str]:
    """The metric columns (`_statistics`' prefixes) `view` does not keep."""
    if view.metrics is None:
        return set()
    return {column for group, metric, column in source.metric_columns if f"{group}.{metric}" not in view.metrics}


def _views_select(columns: list[str], views: tuple[View, ...], source: Source, merges: dict[str, str],
                  types: dict[str, str], table: str) -> str:
    """SQL: rows of `aggregate_jobs` (their `columns`) -> every view's rows, as `aggregate_jobs`
    grouped by the view's keys alone, without reading the jobs again: one GROUPING SETS
    aggregation, a set per distinct key list (views with the same keys share its rows, named by
    a lateral explode), the other keys and the metrics a view leaves out as nulls of their
    `types`, labelled `view`, in the order of `columns` (a UNION ALL matches columns by
    position), sorted by `view` within each partition."""
    scope = [k for k in source.scope_keys if any(k in view.keys for view in views)]
    names_of: dict[tuple[str, ...], list[str]] = {}
    for view in views:
        names_of.setdefault(view.keys, []).append(view.name)

    def grouped_as(keys: tuple[str, ...]) -> str:   # a row of this grouping set: grouped on exactly `keys`
        return " AND ".join(f"grouping({name(k)}) = {0 if k in keys else 1}" for k in scope) or "true"
    label = ("CASE " + " ".join(f"WHEN {grouped_as(keys)} THEN array({', '.join(map(literal, names))})"
                                for keys, names in names_of.items()) + " END")
    inner = ["bucket_epoch", *(name(k) for k in scope), f"{label} AS `_views`"]
    inner += [f"{merges[c]} AS {name(c)}" for c in columns if c in merges]
    sets = ", ".join("(" + ", ".join(name(k) for k in keys) + ")" for keys in names_of)
    grouped = (f"SELECT {', '.join(inner)} FROM {table} "
               f"GROUP BY bucket_epoch, GROUPING SETS ({sets})")

    left_out = {view.name: _left_out(view, source) for view in views}
    out = ["`view`"]
    for column in columns:
        if column == "bucket_epoch":
            out.append(name(column))
        elif column in source.scope_keys:
            out.append(name(column) if column in scope else f"CAST(NULL AS {types[column]}) AS {name(column)}")
        else:
            dropped = [v for v, metrics in left_out.items() if column.rsplit("__", 1)[0] in metrics]
            out.append(f"CASE WHEN `view` IN ({', '.join(map(literal, dropped))}) THEN CAST(NULL AS {types[column]}) "
                       f"ELSE {name(column)} END AS {name(column)}" if dropped else name(column))
    return (f"SELECT {', '.join(out)} FROM ({grouped}) LATERAL VIEW explode(`_views`) AS `view` "
            f"SORT BY `view`")
