"""From FWJR text to job records (the fwjr source's normaliser): pure DataFrame -> DataFrame.

The rules are written down in docs/job-records.md and checked against an independent
plain-Python implementation in tests/reference.py. No Python UDFs: every rule is a Spark SQL
expression, so executors need no Python code of ours and the JVM does all the work.

Every leaf of the parse schema is a string: Spark keeps the raw JSON text of any value there
(8001 and "8001" both arrive as "8001", an object as "{}"), so a leaf of the wrong type never
fails a whole report; numbers are taken with try_cast (Spark 4 runs with ANSI casts on).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ...spark import readers
from . import METRICS, SOURCE, step_metrics

# (group, metric, column name of the job record)
METRIC_COLUMNS = SOURCE.metric_columns

TS_MIN, TS_MAX = 946684800, 4102444800  # [2000-01-01, 2100-01-01)

_S = T.StringType()
_PERFORMANCE = T.StructType([
    T.StructField(group, T.StructType([T.StructField(m, _S) for m in metrics]))
    for group, metrics in METRICS.items()
])
STEP = T.StructType([
    T.StructField("name", _S),
    T.StructField("site", _S),
    T.StructField("errors", T.ArrayType(T.StructType([
        T.StructField("exitCode", _S), T.StructField("type", _S), T.StructField("details", _S)]))),
    T.StructField("output", T.ArrayType(T.StructType([
        T.StructField("acquisitionEra", _S), T.StructField("events", _S)]))),
    T.StructField("performance", _PERFORMANCE),
])
META = T.StructType([T.StructField(k, _S) for k in ("host", "jobtype", "jobstate", "ts", "fwjr_id")])
CORRUPT = "_corrupt"


def _report_schema(steps_type: T.DataType) -> T.StructType:
    return T.StructType([
        T.StructField("meta_data", META),
        T.StructField("task", _S),
        T.StructField("steps", steps_type),
        T.StructField(CORRUPT, _S),
    ])


REPORT = _report_schema(T.ArrayType(STEP))
# Very old reports key their steps by name instead of listing them.
LEGACY_REPORT = _report_schema(T.MapType(_S, STEP))
_PARSE_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}


def parse_reports(lines: DataFrame) -> DataFrame:
    """Lines (`value`, `file`) -> `report` (struct, null when rejected), `reject_reason`.

    Blank lines are dropped. The raw line stays in `value` for the rejects file, and the
    reader's line facts (size, too large, invalid UTF-8) are carried along.
    """
    lines = readers.ensure_line_facts(lines.where(F.trim(F.col("value")) != ""))
    modern = F.from_json("value", REPORT, _PARSE_OPTIONS)
    legacy = F.from_json("value", LEGACY_REPORT, _PARSE_OPTIONS)
    parsed = lines.select("value", "file", *readers.LINE_FACTS, modern.alias("modern"))
    # The legacy parse runs only for the few lines the modern one refused.
    parsed = parsed.withColumn(
        "legacy", F.when(F.col(f"modern.{CORRUPT}").isNotNull(), legacy))
    modern_ok = F.col(f"modern.{CORRUPT}").isNull()
    legacy_ok = F.col("legacy").isNotNull() & F.col(f"legacy.{CORRUPT}").isNull()
    report = (F.when(modern_ok, _drop_corrupt(F.col("modern"), F.col("modern.steps")))
              .when(legacy_ok, _drop_corrupt(F.col("legacy"), _steps_from_map(F.col("legacy.steps")))))
    ts = F.col("report.meta_data.ts")
    ts_number = _finite(ts)
    # Only lines that failed the parse are parsed again to tell bad JSON from a wrong type.
    reason = (
        readers.too_large_reason()
        .when(F.col("report").isNull(),
               F.when(F.expr("try_parse_json(value)").isNull(), F.lit("malformed_json"))
               .otherwise(F.lit("wrong_type")))
        .when(ts.isNull(), F.lit("missing_ts"))
        .when(ts_number.isNull() | (ts_number < TS_MIN) | (ts_number >= TS_MAX), F.lit("bad_ts"))
    )
    return (parsed.select("value", "file", *readers.LINE_FACTS, report.alias("report"))
            .withColumn("reject_reason", reason))


def job_records(lines: DataFrame) -> DataFrame:
    """Lines (`value`, `file`) -> job records: the fwjr source's normaliser."""
    return to_job_records(parse_reports(lines))


def _drop_corrupt(report: Column, steps: Column) -> Column:
    return F.struct(report["meta_data"].alias("meta_data"), report["task"].alias("task"),
                    steps.alias("steps"))


def _steps_from_map(steps: Column) -> Column:
    return F.transform(F.map_entries(steps), lambda e: e["value"].withField("name", e["key"]))


def to_job_records(parsed: DataFrame) -> DataFrame:
    """Parsed reports -> one job record per report (see docs/job-records.md).

    Rejected lines stay, with `reject_reason` and the raw `rejected_line`, so that one pass
    over the input yields both (spark.aggregate.aggregate_and_tally). Do not filter on
    `reject_reason` before that: a filter pushed below this projection would copy the JSON
    parse into every expression.
    """
    r = F.col("report")
    steps = F.coalesce(r["steps"], F.array())
    cms_steps = F.filter(steps, lambda s: s["name"].startswith("cmsRun"))
    task_parts = F.filter(F.split(r["task"], "/"), lambda p: p != "")

    codes = F.flatten(F.transform(steps, lambda s: F.transform(
        F.coalesce(s["errors"], F.array()),
        lambda e: F.struct(_integer(e["exitCode"]).alias("code"), s["name"].alias("step")))))
    real = F.get(F.filter(codes, lambda c: c["code"].isNotNull() & ~c["code"].isin(0, 99999)), 0)
    placeholder = F.get(F.filter(codes, lambda c: c["code"] == 99999), 0)
    chosen = F.coalesce(real, placeholder)
    said_zero = F.exists(codes, lambda c: c["code"] == 0)
    # 0 only where the report says so (a 0 code, or a successful job); otherwise unknown (null)
    exit_code = F.coalesce(chosen["code"], F.when(said_zero | (r["meta_data"]["jobstate"] == "success"), F.lit(0)))

    sites = F.filter(F.transform(steps, lambda s: s["site"]),
                     lambda x: (F.trim(x) != "") & ~x.startswith("{") & ~x.startswith("["))
    eras = F.filter(F.flatten(F.transform(steps, lambda s: F.transform(
        F.coalesce(s["output"], F.array()), lambda o: o["acquisitionEra"]))), lambda x: x != "")
    step_events = F.flatten(F.transform(cms_steps, lambda s: F.transform(
        F.coalesce(s["output"], F.array()), lambda o: _finite(o["events"]))))
    events = F.array_max(F.filter(step_events, lambda x: (x >= 0) & (x == F.floor(x))))

    jobs = parsed.select(
        "reject_reason",
        F.when(F.col("reject_reason").isNotNull(), F.col("value")).alias("rejected_line"),
        "file", *readers.LINE_FACTS,
        F.timestamp_seconds(_finite(r["meta_data"]["ts"])).alias("ts"),
        F.get(task_parts, 0).alias("workflow"),
        F.get(task_parts, F.size(task_parts) - 1).alias("task"),
        r["meta_data"]["host"].alias("host"),
        F.get(sites, 0).alias("site"),
        r["meta_data"]["jobstate"].alias("jobstate"),
        r["meta_data"]["jobtype"].alias("jobtype"),
        F.get(eras, 0).alias("acquisitionEra"),
        exit_code.alias("exitCode"),
        chosen["step"].alias("exitStep"),
        events.cast("long").alias("events"),
        cms_steps.alias("_cms_steps"),
    )
    records = [c for c in jobs.columns if c != "_cms_steps"]
    # Two more projections, which Spark keeps apart because their columns are used several
    # times: the cmsRun filter above runs once per report, and each step's value once.
    values = {name: step_metrics.step_values("_cms_steps", g, m) for g, m, name in METRIC_COLUMNS}
    value_columns = {name: [f"_{name}_{i}" for i in range(len(vs))] for name, vs in values.items()}
    jobs = jobs.select("*", *[v.alias(c) for name, vs in values.items() for v, c in zip(vs, value_columns[name])])
    return jobs.select(
        *records,
        *[step_metrics.combined("_cms_steps", value_columns[name], g, m, METRICS[g][m]).alias(name)
          for g, m, name in METRIC_COLUMNS],
    )


def _number(text: Column) -> Column:
    """The value as a double when it is a number or a string holding one; else null."""
    return F.trim(text).try_cast("double")


def _is_finite(number: Column) -> Column:
    return ~F.isnan(number) & (F.abs(number) != float("inf"))


def _finite(text: Column) -> Column:
    """A JSON number or a string holding a decimal number, when finite; else null."""
    number = _number(text)
    return F.when(_is_finite(number), number)


def _integer(text: Column) -> Column:
    """An integral number, or a string holding one; else null."""
    number = _finite(text)
    return F.when(number == F.floor(number), number.try_cast("int"))
