"""The error-clustering job: extract errors (Spark), normalise and count templates (Spark),
cluster the distinct templates (river, on the driver), load clusters and counts (MongoDB, file).

Sources:
- fwjr:  every `steps[].errors[]` of a report: `details` is the message; exitCode, site and step
         are its scope. Its time is the report's `meta_data.ts`.
- spack_errors: error records as bin/import-spack writes them (JSON lines with package, hash,
         ts, text and its contexts), read by jobrollup.sources.spack_errors.normalise, the parser
         the aggregation of the spack_errors source uses too; the package is the scope.

What a run writes, for its window (whole buckets at its precision), as the aggregation does:
- `error_templates`: every template ever seen -> its cluster, in learning order. This registry
  is the model's state: the next run replays it, so cluster ids stay stable night after night.
- `error_clusters`:  one document per cluster: label (the template that opened it), examples,
  first and last seen, templates, counts per source and precision and the busiest values of
  each scope key.
- `<source>_errors`: counts per (bucket, cluster, scope) - what `bin/query --errors` reads.
- `<source>_error_assignments`: every error of the window with its template and cluster.
- a JSON-lines file of the same assignments under `<errors_dir>/<source>/<window>/`.
Rewriting a window replaces its documents (run_id, then stale ones removed), so a re-run or a
run after a killed one leaves each error counted once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field

from pyspark import StorageLevel, cloudpickle
from pyspark.sql import DataFrame, SparkSession, Window as W
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .. import error_counts
from ..exits import RunRefused, WindowBusy
from ..plan import Plan
from ..sources import Source
from ..sources.fwjr import normalise as fwjr_normalise
from ..spark import job, readers
from ..spark.aggregate import in_window
from ..spark.aggregate_job import input_folders
from ..spark.session import spark_session
from ..store.mongo import ALL_TIME, MongoStore, utcnow
from ..tiers import Window, next_start
from . import messages
from .clustering import DEFAULT_THRESHOLD, TemplateClusterer

log = logging.getLogger("jobrollup")

LOCK_SOURCE = error_counts.LOCK_SOURCE   # runs journal: one clustering run at a time (the registry)
TOP_VALUES = 20                  # busiest values of each scope key kept on a cluster document


def template_id(template: str) -> str:
    return hashlib.sha1(template.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Extract
# ---------------------------------------------------------------------------------------------

def fwjr_errors(spark: SparkSession, files: readers.InputFiles) -> DataFrame:
    """FWJR dump files -> one row per error (`kind` "error": ts, message, site,
    exitCode, step), one per report ("report", to count the input) and one per line that is not
    a valid report ("reject", with `reject_reason`)."""
    parsed = fwjr_normalise.parse_reports(readers.read_lines(spark, files))
    nothing = F.lit(None).cast("string")

    def row(kind: str, ts, message=nothing, site=nothing, exit_code=nothing, step=nothing,
            reason=nothing, line=nothing):
        return F.struct(F.lit(kind).alias("kind"), ts.alias("ts"), message.alias("message"), site.alias("site"),
                        exit_code.alias("exitCode"), step.alias("step"), reason.alias("reject_reason"),
                        line.alias("rejected_line"))

    def site_of(step):
        site = F.trim(step["site"])
        return F.when(~site.startswith("{") & ~site.startswith("[") & (site != ""), step["site"])

    ts = F.timestamp_seconds(F.expr("try_cast(report.meta_data.ts AS double)"))
    errors = F.flatten(F.transform(F.coalesce(F.col("report.steps"), F.array()), lambda s: F.transform(
        F.coalesce(s["errors"], F.array()),
        lambda e: row("error", ts, e["details"], site_of(s), F.trim(e["exitCode"]), s["name"]))))
    # One row per line parsed once, exploded: the reject, or the report and its errors.
    rows = (F.when(F.col("reject_reason").isNotNull(),
                   F.array(row("reject", F.lit(None).cast("timestamp"), reason=F.col("reject_reason"),
                               line=F.col("value"))))
            .otherwise(F.concat(F.array(row("report", ts)), errors)))
    return (parsed.select("file", F.explode(rows).alias("r"))
            .select("r.kind", "r.ts", "r.message", "r.site", "r.exitCode", "r.step", "file", "r.reject_reason",
                    "r.rejected_line"))


# The UDF is jobrollup.messages' own function, pickled by value: executors run it without
# needing the jobrollup package (plain Python and its `re` are enough).
cloudpickle.register_pickle_by_value(messages)
with warnings.catch_warnings():  # the type hints are not pandas UDF hints: plain UDFs are meant
    warnings.simplefilter("ignore", UserWarning)
    _normalise_udf = F.udf(messages.normalise, T.StructType([
        T.StructField("template", T.StringType()), T.StructField("problem", T.StringType())]))


# ---------------------------------------------------------------------------------------------
# Transform
# ---------------------------------------------------------------------------------------------

def with_templates(errors: DataFrame) -> DataFrame:
    """Adds `template` (null for empty and binary messages) and `problem` to each error."""
    normalised = errors.withColumn("_n", _normalise_udf(F.col("message")))
    return normalised.select(*[c for c in errors.columns], F.col("_n.template").alias("template"),
                             F.col("_n.problem").alias("problem"))


def template_counts(errors: DataFrame) -> DataFrame:
    """Distinct templates with their count and one example message (the shortest, then the
    first in text order, so the same input gives the same example)."""
    return (errors.where((F.col("kind") == "error") & F.col("template").isNotNull())
            .groupBy("template")
            .agg(F.count(F.lit(1)).alias("count"),
                 F.min(F.struct(F.length("message").alias("n"), F.substring("message", 1, 2000).alias("text")))
                 .getField("text").alias("example")))


def bucket_start(ts, precision: str):
    """The UTC bucket start of a timestamp column (hour, day, ISO week, calendar month)."""
    unit = {"hour": "hour", "day": "day", "week": "week", "month": "month"}[precision]
    return F.date_trunc(unit, ts)


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------

@dataclass
class ClusterRunResult:
    run_id: str
    counts: dict
    new_templates: int = 0
    new_clusters: int = 0
    clusters_seen: int = 0
    documents: dict = field(default_factory=dict)
    assignments_path: str | None = None
    rejects_path: str | None = None
    timings: dict = field(default_factory=dict)


def load_model(store: MongoStore, threshold: float = DEFAULT_THRESHOLD) -> TemplateClusterer:
    """The model as the registry left it: the templates replayed in their learning order."""
    rows, saved = store.error_registry()
    return TemplateClusterer.from_state(rows, threshold, saved)


EPOCH = dt.datetime(1970, 1, 1)


def _with_times(row: dict) -> dict:
    for key in ("bucket", "first", "last", "ts"):
        if row.get(key) is not None:
            row[key] = EPOCH + dt.timedelta(seconds=int(row[key]))
    return row



def run(spark: SparkSession, plan: Plan, store: MongoStore, *, threshold: float = DEFAULT_THRESHOLD,
        errors_dir: str = "var/errors") -> ClusterRunResult:
    """Cluster the errors of `plan`'s window (a Plan whose source defines an error extractor)."""
    source = plan.definition
    window = plan.window
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started - sum(v for k, v in timings.items()), 3)

    store.ping()
    folders, missing_days = input_folders(spark, plan)
    files = readers.list_files(spark, folders)
    for path, problem in files.unreadable:  # named here and in `runs` (inputs.files), not read
        log.warning("unreadable input left out: %s (%s)", path, problem)
    store.ensure_error_indexes(source)
    store.ensure_indexes(error_counts.definition(source))   # and the ledger of the counts
    # The cleanup rolls the counts up: never rewrite them under it (it skips windows of live
    # clustering runs in turn).
    cleaning = store.live_runs(source.name, "cleanup", *ALL_TIME)
    if cleaning:
        raise WindowBusy(f"cleanup run {cleaning[0]['_id']} of {source.name} is rolling up its error counts; "
                         "run again when it has finished")
    errors = None
    with store.journal(LOCK_SOURCE, error_counts.clustering_job(source), Window("*", *ALL_TIME),
                       {"plan": json.loads(plan.to_json()),
                        "inputs": {"folders": folders, "files": files.as_dict()}}) as entry:
        run_id = entry.run_id
        try:
            errors = source.load("error_extractor")(spark, files)
            errors = with_templates(errors).withColumn(
                "in_window", in_window(F.col("ts"), window))
            errors = errors.persist(StorageLevel.MEMORY_AND_DISK)
            counts = _tally(errors)
            lap("read")
            entry.fields["records"] = counts
            rejects_path = None
            if counts["rejected"] or counts["problems"]:
                rejects_path = f"{plan.rejects_dir.rstrip('/')}/{source.name}_errors/{run_id}"
                _write_set_aside(errors, rejects_path)
            share = counts["rejected"] / counts["inputs"] if counts["inputs"] else 0.0
            if share > plan.max_reject_share:
                entry.fields["rejects"] = rejects_path
                raise RunRefused(f"{counts['rejected']} of {counts['inputs']} input records unreadable ({share:.1%}, "
                                 f"more than max_reject_share {plan.max_reject_share:.1%}); see {rejects_path}")
            # empty and binary messages have no template: counted and set aside above, not clustered
            valid = errors.where((F.col("kind") == "error") & F.col("in_window") & F.col("template").isNotNull())

            # the driver: distinct templates -> clusters
            distinct = {row["template"]: (row["count"], row["example"]) for row in template_counts(valid).collect()}
            model = load_model(store, threshold)
            clusters_before = set(model.clusters)
            new = model.learn_many({t: c for t, (c, _) in distinct.items()},
                                   {t: e for t, (_, e) in distinct.items()})
            _save_templates(store, model, new, source.name)
            lap("cluster")

            # Spark again: every error gets its cluster through a broadcast of the small map
            mapping = spark.createDataFrame([(t, model.cluster_of(t)) for t in distinct],
                                            "template string, cluster long")
            assigned = valid.join(F.broadcast(mapping), "template", "left").withColumn(
                "bucket", bucket_start(F.col("ts"), plan.precision))
            keys = list(source.error_scope)
            # times travel as epoch seconds: collect() would turn timestamps into local time
            per_bucket = [_with_times(row.asDict()) for row in (
                assigned.groupBy("bucket", "cluster", *keys)
                .agg(F.count(F.lit(1)).alias("count"), F.unix_timestamp(F.min("ts")).alias("first"),
                     F.unix_timestamp(F.max("ts")).alias("last"))
                .withColumn("bucket", F.unix_timestamp("bucket")).collect())]
            written = _write_counts(store, plan, run_id, per_bucket, keys, missing_days)
            assignments_path = f"{errors_dir.rstrip('/')}/{source.name}/{plan.precision}-{window.start:%Y%m%dT%H}"
            _write_assignments_file(assigned, keys, assignments_path)
            written_assignments = _write_assignments(store, plan, run_id, assigned, keys)
            touched = sorted({row["cluster"] for row in per_bucket})
            _update_clusters(store, model, source, plan.precision, touched, per_bucket)
            lap("write")
            documents = {"counts": written, "assignments": written_assignments}
            result = ClusterRunResult(run_id, counts, len(new), len(set(model.clusters) - clusters_before),
                                      len(touched), documents, assignments_path, rejects_path, timings)
            entry.fields.update(documents=documents, timings=timings,
                                clusters={"new_templates": result.new_templates,
                                          "new_clusters": result.new_clusters, "seen": result.clusters_seen})
        finally:
            if errors is not None:
                errors.unpersist()
    return result


def _tally(errors: DataFrame) -> dict:
    rows = errors.groupBy("kind", "problem", "in_window").count().collect()
    counts = {"inputs": 0, "rejected": 0, "errors": 0, "in_window": 0, "outside_window": 0,
              "problems": 0, "by_problem": {}}
    reports = sum(row["count"] for row in rows if row["kind"] == "report")
    for row in rows:
        n = row["count"]
        if row["kind"] == "report":
            continue
        if row["kind"] == "reject":
            counts["rejected"] += n
            continue
        counts["errors"] += n
        counts["in_window" if row["in_window"] else "outside_window"] += n
        if row["problem"]:
            counts["by_problem"][row["problem"]] = counts["by_problem"].get(row["problem"], 0) + n
            if row["problem"] in ("empty", "binary"):
                counts["problems"] += n
    # the input: reports (FWJR) or records (spack_errors), readable or not
    counts["inputs"] = (reports or counts["errors"]) + counts["rejected"]
    return counts


def _write_set_aside(errors: DataFrame, path: str) -> None:
    """Unreadable records and messages that cannot be clustered (empty, binary), for a person."""
    (errors.where((F.col("kind") == "reject")
                  | ((F.col("kind") == "error") & F.col("problem").isin("empty", "binary")))
     .select(F.coalesce("reject_reason", "problem").alias("reason"), "file",
             F.substring(F.coalesce("rejected_line", "message"), 1, 2000).alias("text"))
     .coalesce(1).write.mode("overwrite").json(path))


def _save_templates(store: MongoStore, model: TemplateClusterer, new: dict[str, int], source: str) -> None:
    """Register the new templates (idempotent: keyed by the template's hash)."""
    if not new:
        return
    now = utcnow()
    seq_of = {t: i for i, t in enumerate(model.order)}
    store.register_templates([{"_id": template_id(t), "template": t, "cluster": c, "seq": seq_of[t],
                               "first_source": source, "created_at": now} for t, c in new.items()])


def _scope_doc(plan, start: dt.datetime, cluster: int, keys, row) -> dict:
    return {"source": plan.source, "cluster": cluster, **{k: row[k] for k in keys},
            "start_date": start, "end_date": next_start(start, plan.precision),
            "timeframe_precision": plan.precision}


def _write_counts(store: MongoStore, plan, run_id: str, rows, keys, missing_days=()) -> dict:
    """The counts of the window, then (last, as the aggregation does) their bucket ledger:
    every bucket of the window, empty ones too, so the cleanup and the queries tell an hour
    without errors from an hour nobody clustered."""
    docs, tallies = [], {}
    for row in rows:
        start = row["bucket"]
        scope = _scope_doc(plan, start, row["cluster"], keys, row)
        docs.append({"_id": error_counts.count_id(plan.precision, start, row["cluster"], [row[k] for k in keys]),
                     "scope": scope, "cluster": row["cluster"],
                     "count": int(row["count"]), "first_seen": row["first"], "last_seen": row["last"],
                     "run_id": run_id})
        tally = tallies.setdefault(start, {"count": 0, "documents": 0})
        tally["count"] += int(row["count"])
        tally["documents"] += 1
    name = plan.definition.errors_collection
    written = store.replace_documents(name, docs, batch=plan.write_batch)
    removed = store.remove_stale(name, plan.window, run_id)
    store.mark_buckets(error_counts.definition(plan.definition), plan.window, tallies, run_id, "cluster-errors",
                       missing_days=[dt.date.fromisoformat(d) for d in missing_days])
    return {"written": written, "removed": removed}


def _assignment_rows(assigned: DataFrame, keys) -> DataFrame:
    """Every error with a key that is the same on every run over the same input: identical
    errors are told apart by their rank among themselves."""
    identity = F.sha1(F.to_json(F.struct("file", "ts", "message", *keys)))
    return (assigned.withColumn("_identity", identity)
            .withColumn("_copy", F.row_number().over(W.partitionBy("_identity").orderBy("_identity")))
            .select(F.concat_ws("#", "_identity", F.col("_copy").cast("string")).alias("id"),
                    F.unix_timestamp("ts").alias("ts"), F.unix_timestamp("bucket").alias("bucket"), "cluster", F.sha1(F.encode("template", "utf-8")).alias("template_id"),
                    "template", *keys, "file", "problem",
                    F.substring("message", 1, 500).alias("message")))


def _write_assignments_file(assigned: DataFrame, keys, path: str) -> None:
    (_assignment_rows(assigned, keys).drop("bucket")
     .withColumn("ts", F.date_format(F.timestamp_seconds("ts"), "yyyy-MM-dd'T'HH:mm:ss'Z'"))
     .orderBy("ts", "id")
     .write.mode("overwrite").option("compression", "gzip").json(path))


def _write_assignments(store: MongoStore, plan, run_id: str, assigned: DataFrame, keys) -> dict:
    def documents():
        for spark_row in _assignment_rows(assigned, keys).toLocalIterator(prefetchPartitions=True):
            row = _with_times(spark_row.asDict())
            yield {"_id": row["id"], "ts": row["ts"], "cluster": row["cluster"], "template_id": row["template_id"],
                   **{k: row[k] for k in keys}, "file": row["file"], "problem": row["problem"],
                   "scope": {"timeframe_precision": plan.precision, "start_date": row["bucket"]},
                   "run_id": run_id}
    name = plan.definition.error_assignments_collection
    written = store.replace_documents(name, documents(), batch=plan.write_batch)
    removed = store.remove_stale(name, plan.window, run_id)
    return {"written": written, "removed": removed}


def _update_clusters(store: MongoStore, model: TemplateClusterer, source: Source, precision: str,
                     touched: list[int], rows) -> None:
    """Cluster documents: identity from the model, counts recomputed from `<source>_errors`
    (so a re-run replaces, never adds), first/last seen widened with $min/$max."""
    if not touched:
        return
    seen: dict[int, tuple] = {}
    for row in rows:
        first, last = seen.get(row["cluster"], (row["first"], row["last"]))
        seen[row["cluster"]] = (min(first, row["first"]), max(last, row["last"]))
    totals: dict[int, int] = Counter()
    by: dict[int, dict[str, Counter]] = {}
    for first in range(0, len(touched), 500):
        chunk = touched[first:first + 500]
        for doc in store.error_counts(source, clusters=chunk, fields={"cluster": 1, "count": 1, "scope": 1}):
            if doc["scope"]["timeframe_precision"] != precision:
                continue
            totals[doc["cluster"]] += doc["count"]
            for key in source.error_scope:
                value = doc["scope"].get(key)
                by.setdefault(doc["cluster"], {}).setdefault(key, Counter())["null" if value is None else str(value)] += doc["count"]
    templates = Counter(model.of_template.values())
    now = utcnow()
    updates = []
    for cluster_id in touched:
        found = model.clusters[cluster_id]
        top = {key: dict(counter.most_common(TOP_VALUES)) for key, counter in by.get(cluster_id, {}).items()}
        updates.append((cluster_id, {
            "$set": {"label": found.label, "examples": found.examples[:3], "templates": templates[cluster_id],
                     f"counts.{source.name}.{precision}": int(totals[cluster_id]), f"by.{source.name}": top,
                     "updated_at": now},
            "$min": {"first_seen": seen[cluster_id][0]},
            "$max": {"last_seen": seen[cluster_id][1]},
        }))
    store.update_clusters(updates)


# ---------------------------------------------------------------------------------------------
# spark-submit entry point (jobs/cluster_errors.py); bin/cluster-errors builds the plan
# ---------------------------------------------------------------------------------------------

def summary(plan, result: ClusterRunResult) -> str:
    c = result.counts
    problems = ", ".join(f"{k} {v:,}" for k, v in sorted(c["by_problem"].items())) or "none"
    return "\n".join([
        f"jobrollup cluster-errors: {plan.source} at {plan.precision} precision, days {plan.first_day} .. {plan.last_day}",
        f"  window     {plan.window_start} .. {plan.window_end} UTC",
        f"  input      {c['inputs']:,} records: {c['errors']:,} errors ({c['in_window']:,} in the window), "
        f"{c['rejected']:,} unreadable; message problems: {problems}",
        f"  clusters   {result.clusters_seen:,} seen, {result.new_clusters:,} new; {result.new_templates:,} new templates",
        f"  documents  counts {result.documents['counts']['written']:,} written / "
        f"{result.documents['counts']['removed']:,} stale removed in {plan.definition.errors_collection}; "
        f"assignments {result.documents['assignments']['written']:,} in {plan.definition.error_assignments_collection}",
        f"  file       {result.assignments_path}",
        *( [f"  set aside  {result.rejects_path}"] if result.rejects_path else []),
        f"  time       {', '.join(f'{k} {v:.1f} s' for k, v in result.timings.items())}",
        f"  run        {result.run_id}",
    ])


def main(argv: list[str] | None = None) -> int:
    """Entry point under spark-submit: `jobs/cluster_errors.py --plan JSON --threshold T`."""
    def arguments(parser) -> None:
        parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
        parser.add_argument("--errors-dir", default="var/errors")

    def body(args, uri: str) -> str:
        plan = Plan.from_json(args.plan)
        spark = spark_session(f"jobrollup-cluster-errors-{plan.source}-{plan.first_day}")
        spark.sparkContext.setLogLevel("WARN")
        with MongoStore(uri, plan.database, plan.mongo_timeout_ms) as store, store.failures():
            result = run(spark, plan, store, threshold=args.threshold, errors_dir=args.errors_dir)
        return summary(plan, result)
    return job.run("jobs/cluster_errors.py", argv, body, arguments)
