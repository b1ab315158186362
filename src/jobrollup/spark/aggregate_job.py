"""The aggregation job: extract (readers), transform (the source's normaliser, aggregate), load
(the store). `run` carries a plan (jobrollup.plan) out; `main` is the spark-submit entry point
(jobs/aggregate.py), which gets the plan as JSON from bin/aggregate.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .. import views
from ..exits import InputError, RunRefused
from ..plan import Plan
from ..store.mongo import MongoStore, view_collection
from ..tiers import Window
from . import job, readers, write
from .aggregate import aggregate_and_tally, in_window, kept_rows
from .session import spark_session

log = logging.getLogger("jobrollup")
# How often the driver shows life in the journal while the executors write (LEASE is 15 min).
HEARTBEAT_S = 60.0


@dataclass
class RunResult:
    run_id: str
    status: str
    counts: dict
    written: int = 0
    removed: int = 0
    rejects_path: str | None = None
    timings: dict = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    files: int = 0
    views: dict = field(default_factory=dict)   # view name -> {written, removed}
    writes: dict = field(default_factory=dict)  # partitions written by executors, their seconds in MongoDB
    inputs: dict = field(default_factory=dict)    # skipped and unreadable paths, missing days


def run(spark: SparkSession, plan: Plan, store: MongoStore) -> RunResult:
    """Carry out `plan`: read, normalise, aggregate and rewrite the window in MongoDB (the
    executors write the documents: Spark's stage progress shows the writes)."""
    source = plan.definition
    window = plan.window
    clock = _Clock()
    store.ping()
    folders, missing_days = input_folders(spark, plan)
    files = readers.list_files(spark, folders)
    wanted_views = views.from_plan(plan.views)
    store.ensure_indexes(source, wanted_views, plan.collection)
    inputs = {"folders": folders, "missing_days": missing_days, "files": files.as_dict()}
    details = {"plan": json.loads(plan.to_json()), "inputs": inputs}
    with store.journal(plan.source, "aggregate", window, details) as entry:
        log.info("run %s: %s buckets %s .. %s from %d folders (%d files)", entry.run_id, plan.precision,
                 window.start, window.end, len(folders), files.count)
        # Finding stale documents reads the whole window back (18.9 s of a 1M-job run into the
        # embedded server). A window that holds nothing now can hold nothing stale after the
        # writes: the journal keeps every other writer out of it until this run ends.
        collections = [plan.collection, *(view_collection(plan.collection, view.name) for view in wanted_views)]
        held_before = {name for name in collections if store.has_documents(name, window)}
        try:
            tallied, counts, unreadable = _read_and_aggregate(spark, plan, files, store)
            if unreadable:
                inputs["files"]["unreadable"] = unreadable
                entry.update(**{"inputs.files.unreadable": unreadable})
            clock.lap("read_and_aggregate")
            entry.update(records=counts)
            rejects_path = None
            if counts["rejected"]:
                rejects_path = f"{plan.rejects_dir.rstrip('/')}/{plan.source}/{entry.run_id}"
            share = counts["rejected"] / counts["lines"] if counts["lines"] else 0.0
            if share > plan.max_reject_share:
                _write_rejects(spark, tallied, rejects_path, unreadable)   # the refusal points at them
                entry.fields.update(rejects=rejects_path, timings=clock.laps)
                raise RunRefused(f"{counts['rejected']} of {counts['lines']} lines rejected ({share:.1%}, more than "
                                 f"max_reject_share {plan.max_reject_share:.1%}); see {rejects_path}")
            rows = kept_rows(tallied)
            # The executors write the documents and views; the driver only waits (and keeps the
            # run's heartbeat) until every partition has succeeded. The rejects file is written
            # meanwhile (a small job of its own, 0.4-0.6 s of the sample day): a failure there
            # fails the run before its ledger entry, as a failed write does.
            with _heartbeat(store, entry.run_id), ThreadPoolExecutor(1, thread_name_prefix="jobrollup-rejects") as aside:
                rejects = aside.submit(_write_rejects, spark, tallied, rejects_path, unreadable) if rejects_path else None
                out = write.write(rows, store, plan.write_batch, source, plan.precision, entry.run_id,
                                  plan.collection, wanted_views, tasks=plan.write_tasks, held=held_before)
                if rejects is not None:
                    rejects.result()
            written = out.documents
            clock.lap("write")
            removed = _remove_stale(store, plan.collection, window, entry.run_id, held_before)
            view_counts = {}
            for view in wanted_views:   # a view without rows (an empty window) is still rewritten: emptied
                view_counts[view.name] = {"written": out.views[view.name], "removed": _remove_stale(
                    store, view_collection(plan.collection, view.name), window, entry.run_id, held_before)}
            clock.lap("remove_stale")
            view_tallies = {view.name: (view, out.view_documents[view.name]) for view in wanted_views}
            # One ledger entry covers the documents and their views: until it is written, the
            # window is not held by this run (a kill before leaves it for the next run to repair).
            store.mark_buckets(source, window, out.totals, entry.run_id, "aggregate", view_tallies,
                               missing_days=[dt.date.fromisoformat(d) for d in missing_days])
            writes = {"partitions": out.partitions, "at_once": out.at_once, "seconds_in_mongodb": round(out.write_s, 3)}
            entry.fields.update(documents={"written": written, "removed": removed}, rejects=rejects_path,
                                views=view_counts, writes=writes)
        finally:
            entry.fields["timings"] = clock.laps
    return RunResult(entry.run_id, "succeeded", counts, written, removed, rejects_path, clock.laps,
                     folders, files.count - len([u for u in unreadable if not u["at_listing"]]),
                     views=view_counts, inputs=inputs, writes=writes)


def _remove_stale(store: MongoStore, collection: str, window: Window, run_id: str, held_before: set[str]) -> int:
    """Delete what earlier runs left in the window and this run did not write again."""
    return store.remove_stale(collection, window, run_id) if collection in held_before else 0


def _read_and_aggregate(spark: SparkSession, plan: Plan, files: readers.InputFiles,
                        store: MongoStore) -> tuple[DataFrame, dict, list[dict]]:
    """Read, normalise and aggregate the files in one pass (`aggregate.aggregate_and_tally`),
    checkpointed, with the counts and the files set aside.

    The rows are checkpointed, not persisted: they feed the counts, the rejects file, the
    documents and the views, and the SQL text that regroups the views (spark.sql_text) does not
    find persisted rows (Spark aggregated the jobs again for every view, seen in its event log).
    A local checkpoint is read as it is: blocks on the executors, memory then disk (an executor
    lost mid-run fails the run, which the next run repairs like any other).

    A file Spark fails to read is set aside (reason `unreadable_file`, one rejected line each)
    and the read starts again without it, plus what of it could be read: the normal path pays
    nothing for this, a night with k bad files reads k + 1 times.
    """
    source = plan.definition
    unreadable = [{"path": p, "error": e, "lines_read": 0, "at_listing": True} for p, e in files.unreadable]
    failed: list[tuple[str, bool]] = []   # (path, is parquet) of files that failed in Spark
    while True:
        try:
            lines = source.load("reader")(spark, files)
            for path, parquet in failed:
                lines = lines.unionByName(readers.readable_part(spark, path, parquet))
            lines = readers.with_line_facts(lines, plan.max_report_bytes, plan.reject_line_chars)
            jobs = source.load("normaliser")(lines)
            if source.annotator:   # what needs the store (spack_errors: the error clusters)
                jobs = source.load("annotator")(spark, store, jobs)
            jobs = jobs.withColumn("in_window", in_window(F.col("ts"), plan.window))
            tallied = aggregate_and_tally(jobs, plan.precision, source, plan.reject_line_chars)
            tallied = tallied.localCheckpoint(eager=True)
            counts = _count(tallied)
            break
        except Exception as error:
            found = readers.failed_file(error)
            path = next((p for p in files.all if found and readers.same_file(p, found[0])), None)
            if path is None:
                raise
            log.warning("unreadable input file set aside: %s (%s)", path, found[1])
            failed.append((path, path in files.parquet))
            unreadable.append({"path": path, "error": found[1], "lines_read": None, "at_listing": False})
            files = files.without({path})
    if failed:  # how much of each failed file was read: one small job over those files alone
        parts = [readers.readable_part(spark, path, parquet) for path, parquet in failed]
        read = parts[0]
        for part in parts[1:]:
            read = read.unionByName(part)
        per_file = {row["file"]: row["count"] for row in read.groupBy("file").count().collect()}
        for entry in unreadable:
            if entry["lines_read"] is None:
                entry["lines_read"] = sum(n for f, n in per_file.items() if readers.same_file(f, entry["path"]))
    if unreadable:
        by_reason = counts["rejected_by_reason"]
        by_reason[readers.UNREADABLE_FILE] = by_reason.get(readers.UNREADABLE_FILE, 0) + len(unreadable)
        counts["rejected"] += len(unreadable)
        counts["lines"] += len(unreadable)
    counts["unreadable_files"] = len(unreadable)
    return tallied, counts, unreadable


def input_folders(spark: SparkSession, plan: Plan) -> tuple[list[str], list[str]]:
    """The plan's folders that are there, and the days (ISO dates) of the window's own folders
    that are not; a missing day stops the run unless the plan allows it."""
    folders, missing = [], []
    for folder in plan.required_folders:
        if readers.folder_exists(spark, folder):
            folders.append(folder)
        elif plan.require_all_days:
            raise InputError(f"input folder missing: {folder} (use --allow-missing to go on without it)")
        else:
            log.warning("input folder missing, going on without it (its days stay unknown): %s", folder)
            missing.append(dt.date(*map(int, folder.rstrip("/").rsplit("/", 3)[-3:])).isoformat())
    folders += [f for f in plan.optional_folders if readers.folder_exists(spark, f)]
    return folders, missing


def _count(tallied: DataFrame) -> dict:
    """The lines read, by what became of them, from the rows of `aggregate_and_tally`."""
    rows = (tallied.groupBy("reject_reason", "in_window")
            .agg(F.sum("count").alias("count"), F.sum("invalid_utf8").alias("invalid_utf8")).collect())
    by_reason: dict[str, int] = {}
    in_window = outside = invalid_utf8 = 0
    for row in rows:
        invalid_utf8 += row["invalid_utf8"] or 0
        if row["reject_reason"]:
            by_reason[row["reject_reason"]] = by_reason.get(row["reject_reason"], 0) + row["count"]
        elif row["in_window"]:
            in_window += row["count"]
        else:
            outside += row["count"]
    rejected = sum(by_reason.values())
    return {"lines": in_window + outside + rejected, "in_window": in_window,
            "outside_window": outside, "rejected": rejected, "rejected_by_reason": by_reason,
            "invalid_utf8": invalid_utf8}


def _write_rejects(spark: SparkSession, tallied: DataFrame, path: str, unreadable: list[dict]) -> None:
    """Rejected lines (cut to the plan's reject_line_chars, saying so, with the size of the
    whole line), as often as each was seen, and unreadable files, one JSON object a line,
    sorted by file and line."""
    line = F.col("rejected_line")
    rows = (tallied.where(F.col("reject_reason").isNotNull())
            .select(F.col("reject_reason").alias("reason"), F.col("rejected_file").alias("file"), line.alias("line"),
                    F.col("rejected_bytes").alias("bytes"), (F.col("rejected_bytes") > F.octet_length(line)).alias("cut"),
                    F.explode(F.array_repeat(F.lit(0), F.col("count").cast("int"))).alias("_seen"))
            .drop("_seen"))
    if unreadable:
        files = spark.createDataFrame(
            [(readers.UNREADABLE_FILE, u["path"],
              f"{u['error']}; {u['lines_read'] or 0} lines before the failure were read", None, False)
             for u in unreadable],
            "reason string, file string, line string, bytes long, cut boolean")
        rows = rows.unionByName(files)
    rows.repartition(1).sortWithinPartitions("file", "line").write.mode("overwrite").json(path)


class _Clock:
    def __init__(self):
        self.start = self.last = time.monotonic()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = round(now - self.last, 3)
        self.laps["total"] = round(now - self.start, 3)
        self.last = now


@contextmanager
def _heartbeat(store: MongoStore, run_id: str, every_s: float = HEARTBEAT_S):
    """Show the run alive in the journal while the driver waits for the executors' writes: a
    run silent for the lease is taken as dead by a run on another host."""
    stop = threading.Event()

    def beat():
        while not stop.wait(every_s):
            try:
                store.update_run(run_id)
            except Exception as error:   # the writes themselves will say what is wrong
                log.warning("could not update the run's heartbeat: %s", str(error).splitlines()[0][:200])
    thread = threading.Thread(target=beat, name="jobrollup-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def summary(plan: Plan, result: RunResult) -> str:
    c, t = result.counts, result.timings
    reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(c["rejected_by_reason"].items())) or "none"
    share = c["rejected"] / c["lines"] if c["lines"] else 0.0
    rate = c["lines"] / t["total"] if t.get("total") else 0.0
    lines = [
        f"jobrollup aggregate: {plan.source} at {plan.precision} precision, days {plan.first_day} .. {plan.last_day}",
        f"  window     {plan.window_start} .. {plan.window_end} UTC (whole {plan.precision} buckets)",
        f"  input      {len(result.folders)} folders, {result.files} files under {plan.input_root}"
        + (f"; not yet there: {', '.join(plan.skipped_days)}" if plan.skipped_days else ""),
        *_input_problems(result.inputs),
        f"  reports    {c['lines']:,} lines: {c['in_window']:,} in the window, "
        f"{c['outside_window']:,} of other windows, {c['rejected']:,} rejected ({share:.2%}: {reasons})"
        + (f"; {c['invalid_utf8']:,} with invalid UTF-8 (replaced by U+FFFD)" if c.get("invalid_utf8") else ""),
        f"  documents  {result.written:,} written, {result.removed:,} stale removed, in {plan.database}.{plan.collection}",
    ]
    if result.views:
        lines.append("  views      " + ", ".join(f"{name} {n['written']:,}" for name, n in result.views.items())
                     + " documents written")
    if result.rejects_path:
        lines.append(f"  rejects    {result.rejects_path}")
    lines.append(f"  time       {t.get('total', 0):.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in t.items() if k != 'total')}), "
                 f"{rate:,.0f} lines/s")
    lines.append(f"  run        {result.run_id} {result.status}")
    return "\n".join(lines)


def _input_problems(inputs: dict) -> list[str]:
    """Summary lines naming what of the input was not read, and why (at most 5 paths each)."""
    out = []
    if inputs.get("missing_days"):
        out.append(f"  missing    no input for {', '.join(inputs['missing_days'])}: recorded as no data, not as 0 jobs")
    files = inputs.get("files", {})
    unreadable = files.get("unreadable", [])
    if unreadable:
        shown = "; ".join(f"{u['path']} ({u['error']}{_lines_read(u)})" for u in unreadable[:5])
        out.append(f"  unreadable {len(unreadable)} set aside as unreadable_file: {shown}"
                   + (" ..." if len(unreadable) > 5 else ""))
    skipped = files.get("skipped", [])
    if skipped:
        shown = "; ".join(f"{s['path']} ({s['why']})" for s in skipped[:5])
        out.append(f"  skipped    {len(skipped)} not read: {shown}" + (" ..." if len(skipped) > 5 else ""))
    return out


def _lines_read(entry: dict) -> str:
    return f", {entry['lines_read']:,} lines read before it failed" if entry.get("lines_read") else ""


def main(argv: list[str] | None = None) -> int:
    """Entry point under spark-submit: `jobs/aggregate.py --plan JSON`."""
    def body(args, uri: str) -> str:
        plan = Plan.from_json(args.plan)
        spark = spark_session(f"jobrollup-aggregate-{plan.precision}-{plan.first_day}")
        spark.sparkContext.setLogLevel("WARN")
        with MongoStore(uri, plan.database, plan.mongo_timeout_ms) as store, store.failures():
            result = run(spark, plan, store)
        return summary(plan, result)
    return job.run("jobs/aggregate.py", argv, body)
