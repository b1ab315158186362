"""From FWJR text to job records (the fwjr source's normaliser): pure DataFrame -> DataFrame.

The rules are written down in docs/job-records.md and checked against an independent
plain-Python implementation in tests/reference.py. No Python UDFs: every rule is a Spark SQL
expression, so executors need no Python code of ours and the JVM does all the work.

Every leaf of the parse schema is a string: Spark keeps the raw JSON text of any value there
(8001 and "8001" both arrive as "8001", an object as "{}"), so a leaf of the wrong type never
fails a whole report; numbers are taken with try_cast (Spark 4 runs with ANSI casts on). The
performance metrics are the exception, for speed (`parse_reports`): they are parsed as numbers
first, and as text only in the reports where that fails, with the same outcome.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ...spark import readers
from ...spark.sql_text import literal
from . import METRICS, SOURCE, step_metrics

# (group, metric, column name of the job record)
METRIC_COLUMNS = SOURCE.metric_columns

TS_MIN, TS_MAX = 946684800, 4102444800  # [2000-01-01, 2100-01-01)

_S = T.StringType()


def _performance(leaf: T.DataType) -> T.StructType:
    return T.StructType([
        T.StructField(group, T.StructType([T.StructField(m, leaf) for m in metrics]))
        for group, metrics in METRICS.items()
    ])


# The metrics as the parser reads them first (numbers), and, where that fails, as text.
_PERFORMANCE = _performance(T.DoubleType())
_PERFORMANCE_TEXT = _performance(_S)


def _step_schema(error_fields: tuple[str, ...]) -> T.StructType:
    return T.StructType([
        T.StructField("name", _S),
        T.StructField("site", _S),
        T.StructField("errors", T.ArrayType(T.StructType([T.StructField(f, _S) for f in error_fields]))),
        T.StructField("output", T.ArrayType(T.StructType([
            T.StructField("acquisitionEra", _S), T.StructField("events", _S)]))),
        T.StructField("performance", _PERFORMANCE),
    ])


STEP = _step_schema(("exitCode", "type", "details"))   # the errors job (errors.job) reads the details
# Job records read only the exit codes of a step's errors: the parser skips the rest of each
# error (its details can hold kilobytes of log) instead of copying it into every row.
RECORD_STEP = _step_schema(("exitCode",))
META = T.StructType([T.StructField(k, _S) for k in ("host", "jobtype", "jobstate", "ts")])
CORRUPT = "_corrupt"


def _report_schema(steps_type: T.DataType) -> T.StructType:
    return T.StructType([
        T.StructField("meta_data", META),
        T.StructField("task", _S),
        T.StructField("steps", steps_type),
        T.StructField(CORRUPT, _S),
    ])


_PARSE_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}


def parse_reports(lines: DataFrame, step: T.StructType = STEP) -> DataFrame:
    """Lines (`value`, `file`) -> `report` (struct, null when rejected), `reject_reason`.

    `step`: what of each step is parsed (STEP, or RECORD_STEP for the job records). Fields
    left out are skipped, whatever they hold: they never reject a line. The performance
    metrics are doubles (null where the report holds no number).
    Blank lines are dropped. The raw line stays in `value` for the rejects file, and the
    reader's line facts (size, too large, invalid UTF-8) are carried along.

    Three parses, each only of the lines the one before refused:
    - `numbers`, the metrics read as JSON numbers: the parser makes the double itself. Read as
      text, each number was written out again by the parser and parsed once more by a cast
      (1M generated reports: the aggregation run took 127-132 Spark CPU s instead of 146-147).
    - `text`, every leaf a string, where a metric is not a number ("8001", "-nan", {}): each
      metric is then the number its text holds (`_number`), as it always was.
    - `legacy`, very old reports that key their steps by name instead of listing them.
    A report `numbers` accepts is one `text` accepts with the same values: a JSON number is the
    same double either way, and the only strings the number parser takes ("NaN", "Infinity"...)
    are not finite either way, so never counted (step_metrics).

    All three are one projection, each parse bound to a lambda's parameter (`_bound`) so that
    it runs once, and only where the one before failed. The parsed report is wider than
    Spark's whole-stage code allows (spark.sql.codegen.maxFields), so each projection holding
    it copied the whole report into a row of its own: as four projections (a parse each, then
    the choice), every report was copied four times (the normaliser now takes 2-3% less CPU;
    bench/README.md, stop 36).
    """
    lines = readers.without_blank_lines(lines)
    text_step = T.StructType([T.StructField("performance", _PERFORMANCE_TEXT) if f.name == "performance" else f
                              for f in step.fields])
    fields = step.fieldNames()
    # Steps keyed by name become a list, each step with its key as its name (fields in `step`'s order).
    text_steps = f"transform(t.steps, s -> {_with_numbers('s', fields)})"
    legacy_steps = f"transform(map_entries(l.steps), e -> {_with_numbers('e.value', fields, name='e.key')})"
    legacy = _bound(_parse(_report_schema(T.MapType(_S, text_step))), "l",
                    f"CASE WHEN l IS NOT NULL AND l.{CORRUPT} IS NULL THEN {_without_corrupt('l', legacy_steps)} END")
    text = _bound(_parse(_report_schema(T.ArrayType(text_step))), "t",
                  f"CASE WHEN t.{CORRUPT} IS NULL THEN {_without_corrupt('t', text_steps)} ELSE {legacy} END")
    report = _bound(_parse(_report_schema(T.ArrayType(step))), "n",
                    f"CASE WHEN n.{CORRUPT} IS NULL THEN {_without_corrupt('n', 'n.steps')} ELSE {text} END")
    parsed = lines.selectExpr("value", "file", *readers.LINE_FACTS, f"{report} AS report")
    ts = "report.meta_data.ts"
    # Only lines that failed the parse are parsed again to tell bad JSON from a wrong type.
    reason = readers.too_large_reason().otherwise(F.expr(
        f"CASE WHEN report IS NULL THEN CASE WHEN try_parse_json(value) IS NULL THEN 'malformed_json' "
        f"ELSE 'wrong_type' END "
        f"WHEN {ts} IS NULL THEN 'missing_ts' "
        f"WHEN {_finite(ts)} IS NULL OR {_finite(ts)} < {TS_MIN} OR {_finite(ts)} >= {TS_MAX} THEN 'bad_ts' END"))
    return parsed.withColumn("reject_reason", reason)


def _parse(schema: T.StructType) -> str:
    """SQL: `value` parsed as JSON by `schema`, a malformed line in CORRUPT (_PARSE_OPTIONS).
    The schema is given as JSON: its DDL text (simpleString) is cut short past 25 fields."""
    options = ", ".join(f"{literal(k)}, {literal(v)}" for k, v in _PARSE_OPTIONS.items())
    return f"from_json(value, {literal(schema.json())}, map({options}))"


def _bound(value: str, parameter: str, body: str) -> str:
    """SQL: `body` with `parameter` standing for `value`, computed once (a CASE that names a
    parse twice would parse twice: Spark shares no subexpression between a condition and a
    value it may not reach)."""
    return f"get(transform(array({value}), {parameter} -> {body}), 0)"


def _with_numbers(step: str, fields: list[str], name: str | None = None) -> str:
    """SQL: the step `step` of a text parse with its metrics as numbers (`_number`), its other
    fields as they are (`name`: what its name is, when not its own), in the order of `fields`."""
    def value(field: str) -> str:
        if field == "name" and name is not None:
            return name
        if field == "performance":
            return "named_struct(" + ", ".join(
                f"'{group}', named_struct(" + ", ".join(
                    f"'{m}', {_number(f'{step}.performance.{group}.{m}')}" for m in metrics) + ")"
                for group, metrics in METRICS.items()) + ")"
        return f"{step}.{field}"
    return "named_struct(" + ", ".join(f"'{f}', {value(f)}" for f in fields) + ")"


def job_records(lines: DataFrame) -> DataFrame:
    """Lines (`value`, `file`) -> job records: the fwjr source's normaliser."""
    return to_job_records(parse_reports(lines, RECORD_STEP))


def _without_corrupt(report: str, steps: str) -> str:
    return f"named_struct('meta_data', {report}.meta_data, 'task', {report}.task, 'steps', {steps})"


def to_job_records(parsed: DataFrame) -> DataFrame:
    """Parsed reports -> one job record per report (see docs/job-records.md).

    Rejected lines stay, with `reject_reason` and the raw `rejected_line`, so that one pass
    over the input yields both (spark.aggregate.aggregate_and_tally). Do not filter on
    `reject_reason` before that: a filter pushed below this projection would copy the JSON
    parse into every expression.

    The expressions are SQL text, as in step_metrics: built with pyspark.sql.functions, these
    projections took some 3,400 calls from Python to the JVM, a second or two of every run.
    """
    steps = "coalesce(report.steps, array())"
    cms_steps = f"filter({steps}, s -> startswith(s.name, 'cmsRun'))"
    task_parts = "filter(split(report.task, '/'), p -> p != '')"
    codes = (f"flatten(transform({steps}, s -> transform(coalesce(s.errors, array()), "
             f"e -> named_struct('code', {_integer('e.exitCode')}, 'step', s.name))))")
    real = f"get(filter({codes}, c -> c.code IS NOT NULL AND NOT c.code IN (0, 99999)), 0)"
    placeholder = f"get(filter({codes}, c -> c.code = 99999), 0)"
    chosen = f"coalesce({real}, {placeholder})"
    said_zero = f"exists({codes}, c -> c.code = 0)"
    # 0 only where the report says so (a 0 code, or a successful job); otherwise unknown (null)
    exit_code = (f"coalesce(({chosen}).code, "
                 f"CASE WHEN {said_zero} OR report.meta_data.jobstate = 'success' THEN 0 END)")
    sites = (f"filter(transform({steps}, s -> s.site), "
             "x -> trim(x) != '' AND NOT startswith(x, '{') AND NOT startswith(x, '['))")
    eras = (f"filter(flatten(transform({steps}, s -> transform(coalesce(s.output, array()), "
            "o -> o.acquisitionEra))), x -> x != '')")
    step_events = (f"flatten(transform({cms_steps}, s -> transform(coalesce(s.output, array()), "
                   f"o -> {_finite('o.events')})))")
    events = f"array_max(filter({step_events}, x -> x >= 0 AND x = floor(x)))"

    jobs = parsed.selectExpr(
        "reject_reason",
        "CASE WHEN reject_reason IS NOT NULL THEN value END AS rejected_line",
        "file", *readers.LINE_FACTS,
        f"timestamp_seconds({_finite('report.meta_data.ts')}) AS ts",
        f"get({task_parts}, 0) AS workflow",
        f"get({task_parts}, size({task_parts}) - 1) AS task",
        "report.meta_data.host AS host",
        f"get({sites}, 0) AS site",
        "report.meta_data.jobstate AS jobstate",
        "report.meta_data.jobtype AS jobtype",
        f"get({eras}, 0) AS acquisitionEra",
        f"{exit_code} AS exitCode",
        f"({chosen}).step AS exitStep",
        f"CAST({events} AS BIGINT) AS events",
        f"{cms_steps} AS _cms_steps",
    )
    records = [c for c in jobs.columns if c != "_cms_steps"]
    # Two more projections, which Spark keeps apart because their columns are used several
    # times: the cmsRun filter above runs once per report, and each step's value once.
    values = {name: step_metrics.step_values("_cms_steps", g, m) for g, m, name in METRIC_COLUMNS}
    value_columns = {name: [f"_{name}_{i}" for i in range(len(vs))] for name, vs in values.items()}
    jobs = jobs.selectExpr("*", *[f"{v} AS {c}" for name, vs in values.items() for v, c in zip(vs, value_columns[name])])
    return jobs.selectExpr(
        *records,
        *[f"{step_metrics.combined('_cms_steps', value_columns[name], g, m, METRICS[g][m])} AS {name}"
          for g, m, name in METRIC_COLUMNS],
    )


def _number(text: str) -> str:
    """SQL: the value as a double when it is a number or a string holding one; else null."""
    return f"try_cast(trim({text}) AS DOUBLE)"


def _finite(text: str) -> str:
    """SQL: a JSON number or a string holding a decimal number, when finite; else null."""
    number = _number(text)
    return f"CASE WHEN NOT isnan({number}) AND abs({number}) != double('Infinity') THEN {number} END"


def _integer(text: str) -> str:
    """SQL: an integral number, or a string holding one; else null."""
    number = _finite(text)
    return f"CASE WHEN {number} = floor({number}) THEN try_cast({number} AS INT) END"
