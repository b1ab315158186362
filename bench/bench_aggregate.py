#!/usr/bin/env python
"""Benchmark the aggregation job (spark.aggregate_job.run) against a DuckDB query over the
same files.

    .venv/bin/python bench/bench_aggregate.py [--jobs 1000000] [--days 4] [--precision day]
        [--format jsonl] [--workdir var/bench] [--keep-data] [--keep-mongo]
        [--driver-memory 6g] [--master 'local[*]']

1. generates the input with jobrollup.sources.fwjr.generate (reused when its manifest shows
   the same parameters and generator source, and an earlier run kept it with --keep-data);
2. starts (or reuses) the embedded SecantusDB server of <workdir>/mongo, fresh database;
3. runs a small warm-up aggregation, then times aggregate_job.run over the whole generated span
   in an in-process SparkSession, sampling peak memory (this Python process, the driver JVM);
4. times a DuckDB query over the same files that computes what Spark computes: the same
   rejects (as far as SQL expresses them), job records by the rules of docs/job-records.md
   (the cmsRun steps combined per metric, sentinels and non-finite values dropped) and
   count, events and n/sum/min/max/sumsq of all 27 metrics per (bucket, scope), and the
   percentile sketches of the sketched metrics (their bins and zeros); checks it
   against what Spark wrote to MongoDB, per bucket and (unless --no-check-groups) group by
   group, and prints the agreement;
5. prints a table: engine, wall and CPU seconds (user + sys of the JVM, Python and DuckDB),
   rows/s and the Spark / DuckDB ratios; its last two lines are the ratios of the goals
   (without the time blocked in MongoDB writes, and the whole run).

Only one run per workdir at a time (a lock file); apart from Spark's scratch space, nothing
outside <workdir> is written, and only a MongoDB server this run started is stopped. What the
benchmarks share (sampling, the server, the data, Spark driven in-process) is in harness.py.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import math
import os
import shutil
import signal
import sys
import time
import uuid
from pathlib import Path

import psutil

import harness  # first: it puts src/ on sys.path (bench/ is there as the script's folder)
from harness import ROOT, mib, phase, say
from jobrollup import config, sources
from jobrollup.plan import Plan
from jobrollup.spark import aggregate_job
from jobrollup.statistics import SKETCH_GAMMA

FWJR = sources.get("fwjr")


# ---------------------------------------------------------------------------------------------
# DuckDB: the same counts and sums in SQL
# ---------------------------------------------------------------------------------------------

METRIC_COLUMNS = FWJR.metric_columns            # (group, metric, job-record column)
SKETCHED = [(g, m, col) for g, m, col in METRIC_COLUMNS if col in FWJR.sketched]   # with a percentile sketch
STATISTICS = ("n", "sum", "min", "max", "sumsq")
# How DuckDB combines the values of a job's cmsRun steps, per rule of sources/fwjr METRICS.
LIST_RULES = {"sum": "list_sum", "max": "list_max", "min": "list_min", "mean": "list_avg"}

PERFORMANCE_TYPE = "STRUCT(" + ", ".join(
    f"{group} STRUCT(" + ", ".join(f"{m} VARCHAR" for m in metrics) + ")"
    for group, metrics in FWJR.metrics.items()) + ")"
STEP_TYPE = ("STRUCT(name VARCHAR, site VARCHAR, errors STRUCT(exitCode VARCHAR)[], "
             f"output STRUCT(acquisitionEra VARCHAR, events VARCHAR)[], performance {PERFORMANCE_TYPE})")

MACROS = [
    # a JSON number or a string holding a decimal number, when finite (records._finite)
    "CREATE OR REPLACE MACRO fin(x) AS CASE WHEN isfinite(TRY_CAST(trim(x) AS DOUBLE)) "
    "THEN TRY_CAST(trim(x) AS DOUBLE) END",
    # an integral number (or a string holding one) within the 32-bit range (records._integer)
    "CREATE OR REPLACE MACRO intcode(x) AS CASE WHEN fin(x) = floor(fin(x)) "
    "THEN TRY_CAST(fin(x) AS INTEGER) END",
    # a measurement: finite and not a sentinel (-1 "inf", -2 "-nan")
    "CREATE OR REPLACE MACRO measured(x) AS CASE WHEN fin(x) NOT IN (-1, -2) THEN fin(x) END",
]


def sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def duckdb_source(files: list[str], fmt: str) -> str:
    """One row per non-blank line: meta_data leaves as text, task, steps as JSON, and whether
    DuckDB could read the line at all (malformed JSON, a line that is not an object: not)."""
    if fmt == "parquet":
        return (f"SELECT meta_data.host AS host, meta_data.jobtype AS jobtype, "
                f"meta_data.jobstate AS jobstate, CAST(meta_data.ts AS VARCHAR) AS ts, task, "
                f"to_json(steps) AS steps_json, true AS readable FROM read_parquet({sql_list(files)})")
    columns = ("{'meta_data': 'STRUCT(host VARCHAR, jobtype VARCHAR, jobstate VARCHAR, ts VARCHAR)', "
               "'task': 'VARCHAR', 'steps': 'JSON'}")
    return (f"SELECT meta_data.host AS host, meta_data.jobtype AS jobtype, meta_data.jobstate AS jobstate, "
            f"meta_data.ts AS ts, task, steps AS steps_json, "
            f"(meta_data IS NOT NULL OR task IS NOT NULL OR steps IS NOT NULL) AS readable "
            f"FROM read_json({sql_list(files)}, format='newline_delimited', ignore_errors=true, "
            f"columns={columns})")


def duckdb_query(files: list[str], fmt: str, precision: str, window_start: int, window_end: int,
                 sketches: bool = True) -> str:
    """What aggregate_job computes, in SQL: rejects, job records (docs/job-records.md: scope
    keys, events, the 27 metrics combined over the cmsRun steps) and n/sum/min/max/sumsq of
    every metric per (status, bucket, scope); with `sketches`, the percentile sketch of every
    sketched metric too (`<column>__bins`: the bin of every value, `<column>__zeros`)."""
    job_metrics = ",\n    ".join(
        f"{LIST_RULES[FWJR.metrics[g][m]]}(list_filter(list_transform(cms, lambda s: "
        f"measured(s.performance.{g}.{m})), lambda v: v IS NOT NULL)) AS {col}"
        for g, m, col in METRIC_COLUMNS)
    statistics = ",\n       ".join(
        f"count({col}) AS {col}__n, sum({col}) AS {col}__sum, min({col}) AS {col}__min, "
        f"max({col}) AS {col}__max, sum({col} * {col}) AS {col}__sumsq"
        for _, _, col in METRIC_COLUMNS)
    if sketches:
        statistics += "".join(f",\n       {sketch}" for sketch in sketch_aggregates())
    return f"""
WITH raw AS ({duckdb_source(files, fmt)}),
typed AS (
  SELECT host, jobtype, jobstate, ts, task, readable, json_type(steps_json) AS steps_kind,
    CASE json_type(steps_json)
      WHEN 'ARRAY' THEN TRY_CAST(steps_json AS {STEP_TYPE}[])
      -- very old reports key their steps by name: values in key order, the key is the name
      WHEN 'OBJECT' THEN list_transform(map_entries(TRY_CAST(steps_json AS MAP(VARCHAR, {STEP_TYPE}))),
                                        lambda e: struct_update(e.value, name := e.key))
    END AS steps
  FROM raw
),
checked AS (
  SELECT *, fin(ts) AS ts_num,
    CASE
      WHEN NOT readable THEN 'unreadable'
      WHEN steps_kind IS NOT NULL AND steps_kind <> 'NULL' AND steps IS NULL THEN 'wrong_type'
      WHEN ts IS NULL THEN 'missing_ts'
      WHEN fin(ts) IS NULL OR fin(ts) < 946684800 OR fin(ts) >= 4102444800 THEN 'bad_ts'
    END AS reject
  FROM typed
),
jobs AS (
  SELECT reject, ts_num,
    list_filter(string_split(task, '/'), lambda p: p <> '') AS parts,
    host, jobtype, jobstate,
    list_filter(list_transform(steps, lambda s: s.site),
                lambda x: trim(x) <> '' AND NOT starts_with(x, '{{') AND NOT starts_with(x, '['))[1] AS site,
    list_filter(flatten(list_transform(steps, lambda s: list_transform(s.output, lambda o: o.acquisitionEra))),
                lambda x: x <> '')[1] AS era,
    flatten(list_transform(steps, lambda s: list_transform(s.errors,
            lambda e: {{'code': intcode(e.exitCode), 'step': s.name}}))) AS codes,
    list_filter(steps, lambda s: starts_with(s.name, 'cmsRun')) AS cms
  FROM checked
),
records AS (
  SELECT
    CASE WHEN reject IS NOT NULL THEN 'rejected'
         WHEN ts_num >= {window_start} AND ts_num < {window_end} THEN 'in_window'
         ELSE 'outside_window' END AS status,
    CASE WHEN reject IS NULL THEN
      date_trunc('{precision}', make_timestamp(CAST(trunc(ts_num * 1000000) AS BIGINT))) END AS bucket,
    parts[1] AS workflow, parts[-1] AS task, host, site, jobstate, jobtype, era AS acquisitionEra,
    coalesce(coalesce(list_filter(codes, lambda c: c.code IS NOT NULL AND c.code NOT IN (0, 99999))[1],
                      list_filter(codes, lambda c: c.code = 99999)[1]).code, 0) AS exitCode,
    coalesce(list_filter(codes, lambda c: c.code IS NOT NULL AND c.code NOT IN (0, 99999))[1],
             list_filter(codes, lambda c: c.code = 99999)[1]).step AS exitStep,
    CAST(list_max(list_filter(flatten(list_transform(cms, lambda s: list_transform(s.output, lambda o: fin(o.events)))),
                              lambda x: x >= 0 AND x = floor(x))) AS BIGINT) AS events,
    {job_metrics}
  FROM jobs
)
-- the scope of reports that are not aggregated (rejected, other windows) is not kept: one group each
SELECT status, CASE WHEN status = 'in_window' THEN bucket END AS bucket,
       {", ".join(f"CASE WHEN status = 'in_window' THEN {k} END AS {k}" for k in FWJR.scope_keys)},
       count(*) AS count, sum(coalesce(events, 0)) AS events,
       {statistics}
FROM records
GROUP BY ALL
"""


def sketch_aggregates() -> list[str]:
    """DuckDB aggregates of every sketched metric's sketch (jobrollup.statistics): the bin
    ceil(ln(v) / ln(gamma)) of every value v > 0, as a list (Spark collects them the same way,
    spark/aggregate.py; DuckDB's histogram() counting them per bin took twice the whole query's
    time), and the zeros."""
    out = []
    for _, _, column in SKETCHED:
        bin_of = f"CAST(ceil(ln({column}) / {math.log(SKETCH_GAMMA)!r}) AS INTEGER)"
        out += [f"list({bin_of}) FILTER (WHERE {column} > 0) AS {column}__bins",
                f"count(*) FILTER (WHERE {column} = 0) AS {column}__zeros"]
    return out


def run_duckdb(con, files: list[str], fmt: str, plan: Plan, threads: int, sketches: bool = True) -> dict:
    con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    for macro in MACROS:
        con.execute(macro)
    window_start = calendar.timegm(dt.datetime.fromisoformat(plan.window_start).timetuple())
    window_end = calendar.timegm(dt.datetime.fromisoformat(plan.window_end).timetuple())
    query = duckdb_query(files, fmt, plan.precision, window_start, window_end, sketches)
    began = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TABLE agg AS {query}")
    seconds = time.perf_counter() - began
    by_status = {status: (int(count), int(groups)) for status, count, groups in con.execute(
        "SELECT status, sum(count), count(*) FROM agg GROUP BY status").fetchall()}
    buckets = {bucket: {"count": int(c), "events": int(e), "cpu": float(cpu or 0.0), "groups": int(g)}
               for bucket, c, e, cpu, g in con.execute(
                   "SELECT bucket, sum(count), sum(events), sum(cpu__TotalJobCPU__sum), count(*) FROM agg "
                   "WHERE status = 'in_window' GROUP BY bucket ORDER BY bucket").fetchall()}
    return {"seconds": seconds, "by_status": by_status, "buckets": buckets}


# ---------------------------------------------------------------------------------------------
# What Spark wrote to MongoDB
# ---------------------------------------------------------------------------------------------

def mongo_buckets(db, plan: Plan) -> tuple[dict, str]:
    coll = db[plan.collection]
    match = {"scope.timeframe_precision": plan.precision}
    try:
        rows = coll.aggregate([
            {"$match": match},
            {"$group": {"_id": "$scope.start_date", "count": {"$sum": "$count"},
                        "events": {"$sum": "$events"},
                        "cpu": {"$sum": "$performance.cpu.TotalJobCPU.sum"}, "groups": {"$sum": 1}}},
        ])
        result = {row["_id"]: {"count": int(row["count"]), "events": int(row["events"]),
                               "cpu": float(row["cpu"] or 0.0), "groups": int(row["groups"])}
                  for row in rows}
        return result, "aggregate $group"
    except Exception as error:  # a server without $group: add up in Python, streaming
        say(f"   ($group failed: {str(error).splitlines()[0][:120]}; adding up in Python)")
    result: dict = {}
    projection = {"scope.start_date": 1, "count": 1, "events": 1, "performance.cpu.TotalJobCPU.sum": 1}
    for doc in coll.find(match, projection, batch_size=10000):
        b = result.setdefault(doc["scope"]["start_date"], {"count": 0, "events": 0, "cpu": 0.0, "groups": 0})
        b["count"] += doc["count"]
        b["events"] += doc["events"]
        b["cpu"] += doc.get("performance", {}).get("cpu", {}).get("TotalJobCPU", {}).get("sum", 0.0)
        b["groups"] += 1
    return result, "find + Python sums"


def _statistics_row(doc: dict) -> list:
    """A document's n/sum/min/max/sumsq of every metric, in METRIC_COLUMNS order (None when absent)."""
    performance = doc.get("performance") or {}
    row = []
    for group, metric, _ in METRIC_COLUMNS:
        stats = (performance.get(group) or {}).get(metric) or {}
        row += [stats.get(s) for s in STATISTICS]
    return row


def _sketch_row(doc: dict) -> list:
    """A document's sketch of every sketched metric, as two values each: its bins as text (the
    bin of every job in bin order, "b;b;...", "" without a sketch) and its zeros (0 without)."""
    performance = doc.get("performance") or {}
    row = []
    for group, metric, _ in SKETCHED:
        sketch = ((performance.get(group) or {}).get(metric) or {}).get("sketch") or {}
        bins = sorted((int(b), count) for b, count in (sketch.get("bins") or {}).items())
        row += [";".join(str(b) for b, count in bins for _ in range(count)), sketch.get("zeros", 0)]
    return row


def check_groups(con, db, plan: Plan, buckets, sketches: bool = True) -> dict:
    """Every (bucket, scope) group: DuckDB's count, events and n/sum/min/max/sumsq of every
    metric (with `sketches`: and the sketches' bins and zeros) against the stored document's.
    Counts, events, n and sketches must be equal; the others within a relative 1e-9 (the two
    engines add in different orders)."""
    import pandas as pd

    coll = db[plan.collection]
    statistic_columns = [f"{col}__{s}" for _, _, col in METRIC_COLUMNS for s in STATISTICS]
    sketched = [col for _, _, col in SKETCHED] if sketches else []
    sketch_columns = [f"{col}__{part}" for col in sketched for part in ("bins", "zeros")]
    columns = ["bucket", *FWJR.scope_keys, "count", "events", *statistic_columns, *sketch_columns]
    projection = {"scope": 1, "count": 1, "events": 1, "performance": 1, "_id": 0}
    chunks, rows = [], []

    def flush():
        if rows:
            chunks.append(pd.DataFrame(rows, columns=columns))
            rows.clear()

    for bucket in buckets:  # one query per bucket: the server materialises every match
        query = {"scope.timeframe_precision": plan.precision, "scope.start_date": bucket}
        for doc in coll.find(query, projection, batch_size=10000):
            s = doc["scope"]
            rows.append([s["start_date"], *[s.get(k) for k in FWJR.scope_keys], doc["count"], doc["events"],
                         *_statistics_row(doc), *(_sketch_row(doc) if sketches else [])])
            if len(rows) >= 100_000:
                flush()
    flush()
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)
    frame["exitCode"] = frame["exitCode"].astype("Int64")
    for key in FWJR.scope_keys:
        if key != "exitCode":
            frame[key] = frame[key].astype("object")
    for column in statistic_columns:
        frame[column] = frame[column].astype("Int64" if column.endswith("__n") else "float64")
    con.register("mongo_frame", frame)
    con.execute("CREATE OR REPLACE TABLE mongo_docs AS SELECT * FROM mongo_frame")
    con.unregister("mongo_frame")
    keys = ["bucket", *FWJR.scope_keys]
    on = " AND ".join(f"d.{k} IS NOT DISTINCT FROM m.{k}" for k in keys)

    def differs(column: str) -> str:
        if column.endswith("__n"):   # a metric no job reported is left out of the document
            return f"coalesce(d.{column}, 0) <> coalesce(m.{column}, 0)"
        # DuckDB gives null (no values) where the document has no such metric
        return (f"(d.{column} IS NULL) <> (m.{column} IS NULL) OR abs(d.{column} - m.{column}) "
                f"> 1e-9 * greatest(abs(d.{column}), abs(m.{column}), 1e-300)")

    def bins_text(column: str) -> str:   # DuckDB's list of bins as _sketch_row writes them
        return f"coalesce(array_to_string(list_sort(d.{column}), ';'), '')"

    checks = {"count": "d.count <> m.count", "events": "d.events <> m.events",
              **{c: differs(c) for c in statistic_columns},
              **{f"{c}__bins": f"{bins_text(f'{c}__bins')} <> m.{c}__bins" for c in sketched},
              **{f"{c}__zeros": f"d.{c}__zeros <> m.{c}__zeros" for c in sketched}}
    found = con.execute(f"""
        SELECT count(*) FILTER (WHERE m.count IS NULL), count(*) FILTER (WHERE d.count IS NULL),
               {", ".join(f"count(*) FILTER (WHERE d.count IS NOT NULL AND m.count IS NOT NULL AND ({c}))"
                          for c in checks.values())}
        FROM (SELECT * FROM agg WHERE status = 'in_window') d FULL OUTER JOIN mongo_docs m ON {on}
    """).fetchone()
    only_duckdb, only_mongo, differing = found[0], found[1], dict(zip(checks, found[2:]))
    example = None
    if only_duckdb or only_mongo or differing["count"]:
        example = con.execute(f"""
            SELECT d.bucket, d.workflow, d.task, d.site, d.acquisitionEra, d.exitCode, d.exitStep, d.count,
                   m.bucket, m.workflow, m.task, m.site, m.acquisitionEra, m.exitCode, m.exitStep, m.count
            FROM (SELECT * FROM agg WHERE status = 'in_window') d FULL OUTER JOIN mongo_docs m ON {on}
            WHERE m.count IS NULL OR d.count IS NULL OR d.count <> m.count LIMIT 3""").fetchall()
    return {"documents": len(frame), "only_duckdb": only_duckdb, "only_mongo": only_mongo,
            "differing": differing, "compared": len(checks), "example": example}


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Benchmark aggregate_job.run (Spark -> MongoDB) against DuckDB on generated FWJR data.")
    parser.add_argument("--jobs", type=int, default=1_000_000, help="jobs to generate in all (default 1,000,000)")
    parser.add_argument("--days", type=int, default=4, help="days they are spread over (default 4)")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=harness.DEFAULT_START,
                        help=f"first day (default {harness.DEFAULT_START})")
    parser.add_argument("--precision", choices=["hour", "day", "week", "month"], default="day")
    parser.add_argument("--format", dest="fmt", choices=["jsonl", "jsonl.gz", "parquet"], default="jsonl")
    parser.add_argument("--files-per-day", type=int, default=1, help="input files per day folder (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench",
                        help="data, MongoDB server and rejects go here (default var/bench)")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep the input this run generated (reused next time) and the benchmark databases")
    parser.add_argument("--keep-mongo", action="store_true",
                        help="leave the embedded MongoDB server of <workdir>/mongo running")
    parser.add_argument("--driver-memory", default="6g", help="spark.driver.memory (default 6g)")
    parser.add_argument("--master", default="local[*]", help="Spark master (default local[*])")
    parser.add_argument("--max-partition-bytes", help="override spark.sql.files.maxPartitionBytes")
    parser.add_argument("--warmup-jobs", type=int, default=2000,
                        help="jobs of the warm-up run, over the same days (default 2000)")
    parser.add_argument("--duckdb-threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--check-groups", action=argparse.BooleanOptionalAction, default=True,
                        help="compare every (bucket, scope) group with its MongoDB document: count, events "
                             "and n/sum/min/max/sumsq of every metric, and the sketches (default: on)")
    parser.add_argument("--sketches", action=argparse.BooleanOptionalAction, default=True,
                        help="DuckDB also computes the percentile sketches Spark computes, and the check "
                             "compares them (default: on; --no-sketches gives the reference of stop 35 "
                             "and before, which left them out)")
    parser.add_argument("--conf", type=Path, default=ROOT / "conf" / "jobrollup.toml")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.days < 1 or args.files_per_day < 1 or args.warmup_jobs < 1:
        parser.error("--jobs, --days, --files-per-day and --warmup-jobs must be at least 1")
    args.workdir = args.workdir.resolve()
    return args


def _terminate(signum, frame):
    # SIGTERM / SIGHUP: unwind through the finally blocks (Spark, MongoDB, the run journal).
    raise SystemExit(f"bench_aggregate: terminated by signal {signal.Signals(signum).name}")


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = harness.java_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    import duckdb  # fail early when missing

    conf = config.load(args.conf)
    workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    lock = harness.lock_workdir(workdir, "bench_aggregate")
    if lock is None:
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    sampler = harness.MemorySampler()
    sampler.start()
    progress = True
    jobs_per_day = math.ceil(args.jobs / args.days)
    first, last = args.start, args.start + dt.timedelta(days=args.days - 1)
    say(f"jobrollup benchmark: {args.jobs:,} jobs over {args.days} days ({first} .. {last}), "
        f"{args.precision} precision, {args.fmt}, workdir {workdir}")
    say(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.1f} GiB RAM; "
        f"python {sys.version.split()[0]}")

    # 1. input ---------------------------------------------------------------------------------
    phase("1. input data")
    sampler.set_phase("generate")
    params = harness.data_params(first, args.days, jobs_per_day, args.fmt, args.files_per_day, args.seed)
    began = time.perf_counter()
    data_root, manifest, reused = harness.ensure_data(workdir, harness.data_name(params), params, progress)
    totals = manifest["totals"]
    say(f"{'reused' if reused else 'generated'} {data_root} "
        f"({'generated in ' + str(manifest['seconds']) + ' s earlier' if reused else f'{time.perf_counter() - began:.1f} s'}): "
        f"{totals['reports']:,} lines ({jobs_per_day:,}/day; {totals['malformed']:,} malformed, "
        f"{totals['late']:,} late), {totals['files']} files, {totals['bytes'] / 1e9:.2f} GB")
    if jobs_per_day * args.days != args.jobs:
        say(f"note: {args.jobs:,} jobs do not split evenly over {args.days} days: {jobs_per_day * args.days:,} generated")
    # The warm-up covers the same days (its own folder and database): the window bounds are
    # literals in Spark's generated code, so only the same window reuses the compiled classes.
    warm_params = harness.data_params(first, args.days, max(1, args.warmup_jobs // args.days), args.fmt, 1,
                                      args.seed + 1)
    warm_root, _, warm_reused = harness.ensure_data(workdir, harness.data_name(warm_params, "warmup"), warm_params, False)
    # Without --keep-data, remove at the end what this run generated (input an earlier run kept stays).
    generated = [name for name, was_reused in ((harness.data_name(params), reused),
                                                (harness.data_name(warm_params, "warmup"), warm_reused))
                 if not was_reused]

    # 2. MongoDB -------------------------------------------------------------------------------
    phase("2. embedded MongoDB")
    mongo_folder = workdir / "mongo"
    server, started_mongo = harness.start_server(mongo_folder)
    sampler.mongo_pid = server.pid
    database = f"bench_{dt.datetime.now():%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:6]}"
    say(f"{'started' if started_mongo else 'reusing'} SecantusDB pid {server.pid} at {server.uri} "
        f"(folder {mongo_folder}); database {database}")

    spark = None
    stores: list[harness.TimedStore] = []
    keep_db = args.keep_data
    exit_code = 0
    try:
        # 3. Spark -----------------------------------------------------------------------------
        phase("3. Spark")
        sampler.set_phase("spark-startup")
        began = time.perf_counter()
        try:
            spark, settings = harness.spark_session(args, conf, [str(data_root)])
        except Exception as error:
            if "JAVA_GATEWAY_EXITED" in str(error) or "Java gateway" in str(error):
                print(f"error: Spark could not start its JVM ({error}); check Java (JAVA_HOME, java -version)",
                      file=sys.stderr)
                return 2
            raise
        startup_s = time.perf_counter() - began
        spark_cores = spark.sparkContext.defaultParallelism
        jvm_heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
        say(f"SparkSession {spark.version} ({args.master}, {spark.sparkContext.defaultParallelism} cores) "
            f"in {startup_s:.1f} s; JVM max heap {jvm_heap / 2**30:.2f} GiB "
            f"(spark.driver.memory {settings['spark.driver.memory']}), "
            f"shuffle partitions {spark.conf.get('spark.sql.shuffle.partitions')}, "
            f"maxPartitionBytes {spark.conf.get('spark.sql.files.maxPartitionBytes')}")

        sampler.set_phase("spark-warmup")
        warm_store = harness.TimedStore(server.uri, f"{database}_warmup", conf["mongo"]["timeout_ms"])
        stores.append(warm_store)
        warm_plan = harness.make_plan(conf, warm_root, first, last, args.precision,
                              workdir / "rejects", f"{database}_warmup")
        began = time.perf_counter()
        warm = aggregate_job.run(spark, warm_plan, warm_store)
        say(f"warm-up: {warm.counts['lines']:,} lines -> {warm.written:,} documents in "
            f"{time.perf_counter() - began:.1f} s (timings {warm.timings}) [not part of the results]")

        sampler.set_phase("spark-run")
        store = harness.TimedStore(server.uri, database, conf["mongo"]["timeout_ms"])
        stores.append(store)
        plan = harness.make_plan(conf, data_root, first, last, args.precision, workdir / "rejects", database)
        say(f"plan: days {plan.first_day} .. {plan.last_day}, window {plan.window_start} .. {plan.window_end}, "
            f"{len(plan.required_folders)} required + {len(plan.optional_folders)} lateness folders")
        cpu_before, load_before = sampler.cpu_seconds(), os.getloadavg()[0]
        began = time.perf_counter()
        result = aggregate_job.run(spark, plan, store)
        spark_wall = time.perf_counter() - began
        cpu_after, load_after = sampler.cpu_seconds(), os.getloadavg()[0]
        spark_cpu_s = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
        spark_load = (load_before, load_after)
        say(aggregate_job.summary(plan, result))
        partitions = spark.read.text(harness.input_files(result.folders)).rdd.getNumPartitions() \
            if args.fmt != "parquet" else None
        sampler.set_phase("after-spark")
        spark.stop()
        spark = None

        # 4. DuckDB ----------------------------------------------------------------------------
        phase("4. DuckDB")
        sampler.set_phase("duckdb")
        files = harness.input_files(result.folders)
        con = duckdb.connect()
        cpu_before, load_before = sampler.cpu_seconds(), os.getloadavg()[0]
        duck = run_duckdb(con, files, args.fmt, plan, args.duckdb_threads, args.sketches)
        cpu_after, load_after = sampler.cpu_seconds(), os.getloadavg()[0]
        duck_cpu_s = cpu_after["python"] - cpu_before["python"]
        duck_load = (load_before, load_after)
        sampler.set_phase("check")
        d_in = duck["by_status"].get("in_window", (0, 0))
        d_out = duck["by_status"].get("outside_window", (0, 0))
        d_rej = duck["by_status"].get("rejected", (0, 0))
        d_lines = d_in[0] + d_out[0] + d_rej[0]
        say(f"DuckDB {duckdb.__version__}, {args.duckdb_threads} threads, {len(files)} files, "
            f"{'with' if args.sketches else 'without'} the sketches: "
            f"{duck['seconds']:.1f} s; {d_lines:,} lines: {d_in[0]:,} in the window ({d_in[1]:,} groups), "
            f"{d_out[0]:,} of other windows, {d_rej[0]:,} unreadable or rejected")

        # check ---------------------------------------------------------------------------------
        phase("check: DuckDB against the documents Spark wrote")
        checker = harness.check_client(server.uri)
        began = time.perf_counter()
        mongo, how = mongo_buckets(checker[database], plan)
        c = result.counts
        agree = True

        def compare(label, spark_value, duck_value, exact=True):
            nonlocal agree
            same = spark_value == duck_value if exact else \
                abs(spark_value - duck_value) <= 1e-9 * max(abs(spark_value), abs(duck_value), 1.0)
            agree &= same
            diff = "" if same else f"   DIFFERENT by {duck_value - spark_value:+,}"
            say(f"   {label:<40} spark {spark_value:>16,}   duckdb {duck_value:>16,}{diff}")

        say(f"MongoDB side read with {how} in {time.perf_counter() - began:.1f} s")
        compare("lines read", c["lines"], d_lines)
        compare("jobs in the window", c["in_window"], d_in[0])
        compare("jobs of other windows", c["outside_window"], d_out[0])
        compare("rejected lines", c["rejected"], d_rej[0])
        compare("sum of count over documents", sum(b["count"] for b in mongo.values()), d_in[0])
        compare("documents = (bucket, scope) groups", result.written, d_in[1])
        compare("events", sum(b["events"] for b in mongo.values()),
                sum(b["events"] for b in duck["buckets"].values()))
        spark_cpu = sum(b["cpu"] for b in mongo.values())
        duck_cpu = sum(b["cpu"] for b in duck["buckets"].values())
        cpu_same = abs(spark_cpu - duck_cpu) <= 1e-9 * max(abs(spark_cpu), 1.0)
        agree &= cpu_same
        say(f"   {'cpu.TotalJobCPU sum (rel. tol. 1e-9)':<40} spark {spark_cpu:>16,.2f}   duckdb {duck_cpu:>16,.2f}"
            f"{'' if cpu_same else f'   DIFFERENT by {duck_cpu - spark_cpu:+,.4f}'}")
        say(f"   per {args.precision} bucket (count / events / groups):")
        for bucket in sorted(set(mongo) | set(duck["buckets"])):
            m = mongo.get(bucket, {"count": 0, "events": 0, "groups": 0})
            d = duck["buckets"].get(bucket, {"count": 0, "events": 0, "groups": 0})
            same = (m["count"], m["events"], m["groups"]) == (d["count"], d["events"], d["groups"])
            agree &= same
            say(f"     {bucket:%Y-%m-%d %H:%M}  spark {m['count']:>10,} / {m['events']:>16,} / {m['groups']:>9,}"
                f"   duckdb {d['count']:>10,} / {d['events']:>16,} / {d['groups']:>9,}   {'ok' if same else 'DIFFERENT'}")
        if args.check_groups:
            began = time.perf_counter()
            try:
                groups = check_groups(con, checker[database], plan, sorted(mongo), args.sketches)
            except Exception as error:  # the benchmark's figures matter more than this check
                agree = False
                say(f"   every group: the check failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
            else:
                bad = {k: v for k, v in groups["differing"].items() if v}
                same = not (groups["only_duckdb"] or groups["only_mongo"] or bad)
                agree &= same
                say(f"   every group ({groups['documents']:,} documents, {time.perf_counter() - began:.1f} s): "
                    f"{groups['only_duckdb']:,} only in DuckDB, {groups['only_mongo']:,} only in MongoDB; "
                    f"of {groups['compared']} values per group (count, events, n/sum/min/max/sumsq of "
                    f"{len(METRIC_COLUMNS)} metrics"
                    + (f", bins and zeros of {len(FWJR.sketched)} sketches) " if args.sketches else ") ")
                    + (f"these differ: {bad}" if bad else "none differs")
                    + (f"; e.g. {groups['example']}" if groups["example"] else ""))
        checker.close()
        say(f"AGREEMENT: {'yes, exactly' if agree else 'NO (see DIFFERENT / failed above)'}")
        if not agree:
            exit_code = 1
        con.close()

        # 5. results ----------------------------------------------------------------------------
        t = result.timings
        lines, jobs = c["lines"], c["in_window"]
        # The executors write in parallel: their seconds blocked in MongoDB, summed over the
        # partitions, over the cores writing at once, is the wall time the writes held the run.
        cores = os.cpu_count() or 1
        writers = max(1, min(result.writes.get("at_once", 1), spark_cores))
        write_s = result.writes.get("seconds_in_mongodb", 0.0) / writers
        all_docs = result.written + sum(v["written"] for v in result.views.values())
        write_lap = t.get("write", 0.0)
        spark_total = t["total"]
        spark_no_write = spark_total - write_s
        read_s = t.get("read_and_aggregate", 0.0) + t.get("rejects", 0.0)
        peaks = sampler.peaks.get("spark-run", {})
        duck_peaks = sampler.peaks.get("duckdb", {})
        phase("results")
        say(f"input lines            {lines:,} ({totals['bytes'] / 1e9:.2f} GB in {len(files)} files"
            + (f", {partitions} Spark input partitions" if partitions else "") + ")")
        say(f"jobs aggregated        {jobs:,} (in the window; {c['outside_window']:,} reports of other windows "
            f"skipped, {c['rejected']:,} lines rejected)")
        say(f"documents written      {result.written:,} ({result.removed:,} stale removed)")
        say(f"Spark startup          {startup_s:.1f} s; warm-up run {warm.timings.get('total', 0):.1f} s "
            f"on {warm.counts['lines']:,} lines (excluded below)")
        say(f"Spark run wall time    {spark_total:.1f} s = " +
            " + ".join(f"{k} {v:.1f} s" for k, v in t.items() if k != "total")
            + f"   (aggregate_job.run returned after {spark_wall:.1f} s)")
        say(f"  inside write: the executors, {result.writes.get('partitions', 0)} partitions, were "
            f"blocked {result.writes.get('seconds_in_mongodb', 0.0):.1f} s in MongoDB writes (summed; "
            f"{write_s:.1f} s over {writers} writing at once); {store.remove_s:.1f} s removing stale documents "
            f"(before reading: {store.setup_s:.1f} s of MongoDB ping, indexes, run journal)")
        say(f"MongoDB writes         {all_docs:,} documents (documents and views) in the write lap "
            f"{write_lap:.1f} s: {all_docs / write_lap if write_lap else 0:,.0f} documents/s, "
            f"{all_docs / write_lap / writers if write_lap else 0:,.0f} per writing core ({writers}); "
            f"{all_docs / result.writes['seconds_in_mongodb'] if result.writes.get('seconds_in_mongodb') else 0:,.0f} "
            f"documents per second blocked in MongoDB per writer")
        say(f"jobs per second        {jobs / spark_total:,.0f} jobs/s with the MongoDB writes; "
            f"{jobs / spark_no_write:,.0f} jobs/s without the time spent blocked in MongoDB writes "
            f"({spark_no_write:.1f} s)")
        say(f"peak memory, Spark run driver JVM {mib(peaks.get('jvm', 0))}, Python {mib(peaks.get('python', 0))}, "
            f"together {mib(peaks.get('total', 0))} (MongoDB server {mib(peaks.get('mongo', 0))}, not included)")
        say(f"CPU used, Spark run    JVM {spark_cpu_s['jvm']:,.0f} s + Python {spark_cpu_s['python']:,.0f} s "
            f"(+ MongoDB server {spark_cpu_s['mongo']:,.0f} s) in {spark_wall:,.0f} s wall on {cores} cores; "
            f"1-min load average {spark_load[0]:.1f} before, {spark_load[1]:.1f} after")
        say(f"CPU used, DuckDB       {duck_cpu_s:,.1f} s in {duck['seconds']:,.1f} s wall; "
            f"1-min load average {duck_load[0]:.1f} before, {duck_load[1]:.1f} after")
        if max(spark_load + duck_load) > cores:
            say(f"note: the load average passed the {cores} cores: other processes on this machine competed "
                f"for the CPU and the times above are slower than on an idle machine")
        say(f"peak memory, DuckDB    Python process (DuckDB runs in it) {mib(duck_peaks.get('python', 0))}")
        say("peak memory by phase   " + "; ".join(
            f"{name}: py {mib(p['python'])} jvm {mib(p['jvm'])} total {mib(p['total'])}"
            for name, p in sampler.peaks.items() if name != "start"))
        say("")
        spark_cpu_total = spark_cpu_s["jvm"] + spark_cpu_s["python"]
        spark_cpu_no_write = spark_cpu_total   # the executors' pymongo CPU is in their Python workers
        rows = [
            ("Spark: aggregate_job.run, all (read and aggregate, rejects, views + MongoDB write)", spark_total, spark_cpu_total),
            ("Spark: the same minus time blocked in MongoDB writes", spark_no_write, spark_cpu_no_write),
            ("Spark: read + normalise + aggregate + count (laps read_and_aggregate + rejects)", read_s, None),
            ("DuckDB: read + normalise + group (count, events, n/sum/min/max/sumsq of "
             f"{len(METRIC_COLUMNS)} metrics{f', {len(FWJR.sketched)} sketches' if args.sketches else ''})",
             duck["seconds"], duck_cpu_s),
        ]
        width = max(len(r[0]) for r in rows)
        say(f"{'engine':<{width}}  {'wall s':>8}  {'CPU s':>8}  {'rows/s':>9}  {'jobs/s':>9}  "
            f"{'x DuckDB wall':>13}  {'x DuckDB CPU':>12}")
        for name, seconds, cpu in rows:
            say(f"{name:<{width}}  {seconds:>8.1f}  {cpu if cpu is not None else float('nan'):>8.1f}  "
                f"{lines / seconds:>9,.0f}  {jobs / seconds:>9,.0f}  {seconds / duck['seconds']:>13.2f}  "
                f"{cpu / duck_cpu_s if cpu is not None else float('nan'):>12.2f}")
        say("rows/s = input lines / wall seconds; jobs/s = jobs aggregated (in the window) / wall seconds. "
            "CPU s = user + sys of the JVM and this Python process (DuckDB runs in it), MongoDB server excluded; "
            f"the JVM's includes its Python workers (documents, pymongo) while they live. Load average during the Spark run {spark_load[0]:.1f} -> "
            f"{spark_load[1]:.1f}, during DuckDB {duck_load[0]:.1f} -> {duck_load[1]:.1f} on {cores} cores.")
        say(f"ratio Spark without MongoDB writes / DuckDB: {spark_cpu_no_write / duck_cpu_s:.2f} in CPU seconds, "
            f"{spark_no_write / duck['seconds']:.2f} in wall seconds (goal: 3)")
        say(f"ratio Spark whole run / DuckDB: {spark_cpu_total / duck_cpu_s:.2f} in CPU seconds, "
            f"{spark_total / duck['seconds']:.2f} in wall seconds (goal: 5)")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        step = harness.cleanup_step
        step("stop the memory sampler", sampler.stop)
        if spark is not None:
            step("stop Spark", spark.stop)
        for store in stores:
            if not keep_db:
                step(f"drop database {store.db.name}", lambda s=store: s.client.drop_database(s.db.name))
            step("close a MongoDB client", store.close)
        if started_mongo and not args.keep_mongo:
            step("stop the embedded MongoDB server", lambda: harness.stop_server(mongo_folder))
        if not args.keep_data:
            for name in generated:
                harness.remove_data(workdir, name)
            shutil.rmtree(workdir / "rejects", ignore_errors=True)
            say(f"removed {'the input this run generated, ' if generated else ''}the rejects and the benchmark "
                f"databases (--keep-data keeps them)")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
