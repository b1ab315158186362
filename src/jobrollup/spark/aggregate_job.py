"""The aggregation job: extract (readers), transform (records, statistics), load (sinks).

`plan_run` decides what a run does (its window, the folders it reads) without touching
Spark or MongoDB; `run` carries a plan out; `main` is the spark-submit entry point
(jobs/aggregate.py), which gets the plan as JSON from bin/aggregate.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field

from pymongo.errors import PyMongoError
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from . import documents, readers, records, statistics
from .config import ENV_MONGO_URI
from .sinks import MongoStore, MongoUnavailable, WindowBusy
from .tiers import Window

log = logging.getLogger("jobrollup")

# Exit codes of every command, for cron to alert on.
EXIT_OK = 0
EXIT_FAILED = 1        # unexpected error: see the log
EXIT_INPUT = 2         # bad arguments, missing input folder, unreadable format
EXIT_REFUSED = 3       # too many rejected lines: nothing written
EXIT_MONGO = 4         # MongoDB unreachable
EXIT_BUSY = 5          # another run is writing the same window


class RunRefused(RuntimeError):
    """The input cannot be trusted; nothing was written."""


@dataclass
class Plan:
    source: str
    collection: str
    database: str
    precision: str
    first_day: str                 # the days asked for (ISO dates), before widening
    last_day: str
    window_start: str              # whole buckets [start, end), ISO datetimes (UTC)
    window_end: str
    input_root: str
    required_folders: list[str]    # the window's own past days
    optional_folders: list[str]    # lateness days: read when present
    skipped_days: list[str] = field(default_factory=list)   # future days, not read
    max_reject_share: float = 0.05
    rejects_dir: str = "var/rejects"
    reject_line_chars: int = 65536
    require_all_days: bool = True
    write_batch: int = 1000
    mongo_timeout_ms: int = 5000

    @property
    def window(self) -> Window:
        return Window(self.precision, dt.datetime.fromisoformat(self.window_start),
                      dt.datetime.fromisoformat(self.window_end))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        return cls(**json.loads(text))


def plan_run(first_day: dt.date, last_day: dt.date, precision: str, conf: dict, *,
             input_root: str, rejects_dir: str, today: dt.date | None = None,
             lateness_days: int | None = None, max_reject_share: float | None = None) -> Plan:
    """What a run for the days first_day..last_day at `precision` reads and rewrites."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    window = Window.covering(first_day, last_day, precision)
    lateness = conf["input"]["lateness_days"] if lateness_days is None else lateness_days
    window_days = window.days()
    late_days = [window_days[-1] + dt.timedelta(days=i + 1) for i in range(lateness)]
    aggregate = conf["aggregate"]
    return Plan(
        source=aggregate["source"], collection=aggregate["collection"],
        database=conf["mongo"]["database"], precision=precision,
        first_day=first_day.isoformat(), last_day=last_day.isoformat(),
        window_start=window.start.isoformat(), window_end=window.end.isoformat(),
        input_root=input_root,
        required_folders=[readers.day_folder(input_root, d) for d in window_days if d <= today],
        optional_folders=[readers.day_folder(input_root, d) for d in late_days if d <= today],
        skipped_days=[d.isoformat() for d in window_days + late_days if d > today],
        max_reject_share=aggregate["max_reject_share"] if max_reject_share is None else max_reject_share,
        rejects_dir=rejects_dir, reject_line_chars=aggregate["reject_line_chars"],
        require_all_days=conf["input"]["require_all_days"],
        write_batch=conf["mongo"]["write_batch"], mongo_timeout_ms=conf["mongo"]["timeout_ms"],
    )


def spark_session(app_name: str = "jobrollup") -> SparkSession:
    """The session, with the settings correctness depends on fixed whatever the profile says."""
    spark = (SparkSession.builder.appName(app_name)
             .config("spark.sql.session.timeZone", "UTC")
             .getOrCreate())
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return spark


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


def run(spark: SparkSession, plan: Plan, store: MongoStore, progress: bool = False) -> RunResult:
    """Carry out `plan`: read, normalise, aggregate and rewrite the window in MongoDB."""
    window = plan.window
    clock = _Clock()
    store.ping()
    folders = _input_folders(spark, plan)
    files = readers.list_files(spark, folders)
    store.ensure_indexes(plan.collection)
    run_id = store.begin_run(plan.source, "aggregate", window.as_dict(), {
        "plan": json.loads(plan.to_json()), "inputs": {"folders": folders, "files": files.as_dict()}})
    log.info("run %s: %s buckets %s .. %s from %d folders (%d files)", run_id, plan.precision,
             window.start, window.end, len(folders), files.count)
    jobs: DataFrame | None = None
    try:
        lines = readers.read_reports(spark, files)
        jobs = records.to_job_records(records.parse_reports(lines))
        jobs = jobs.withColumn("in_window", (F.col("ts") >= _utc(window.start)) & (F.col("ts") < _utc(window.end)))
        # One pass over the input feeds the counts, the rejects file and the aggregation.
        jobs = jobs.persist(StorageLevel.MEMORY_AND_DISK)
        counts = _count(jobs)
        clock.lap("read")
        store.update_run(run_id, records=counts)
        rejects_path = None
        if counts["rejected"]:
            rejects_path = f"{plan.rejects_dir.rstrip('/')}/{plan.source}/{run_id}"
            _write_rejects(jobs, rejects_path, plan.reject_line_chars)
            clock.lap("rejects")
        share = counts["rejected"] / counts["lines"] if counts["lines"] else 0.0
        if share > plan.max_reject_share:
            reason = (f"{counts['rejected']} of {counts['lines']} lines rejected ({share:.1%}, more than "
                      f"max_reject_share {plan.max_reject_share:.1%}); see {rejects_path}")
            store.finish_run(run_id, "refused", error=reason, records=counts, rejects=rejects_path,
                             timings=clock.laps)
            raise RunRefused(reason)
        rows = statistics.aggregate_jobs(
            jobs.where(F.col("reject_reason").isNull() & F.col("in_window")), plan.precision)
        docs = documents.to_documents(rows.toLocalIterator(prefetchPartitions=True), plan.precision, run_id)
        totals: dict[dt.datetime, dict] = {}
        with _progress_bar(progress, "documents") as bar:
            written = store.replace_documents(
                plan.collection, _tallied(docs, totals), batch=plan.write_batch,
                on_batch=lambda n: (bar.update(n), store.update_run(run_id)))
        removed = store.remove_stale(plan.collection, window.as_dict(), run_id)
        store.mark_buckets(plan.collection, window.as_dict(), totals, run_id, "aggregate")
        clock.lap("aggregate_and_write")
        store.finish_run(run_id, "succeeded", records=counts, documents={"written": written, "removed": removed},
                         rejects=rejects_path, timings=clock.laps)
        return RunResult(run_id, "succeeded", counts, written, removed, rejects_path, clock.laps,
                         folders, files.count)
    except RunRefused:
        raise
    except BaseException as error:  # Ctrl-C and SIGTERM too: the journal must not say "running"
        status = "failed" if isinstance(error, Exception) else "interrupted"
        try:
            store.finish_run(run_id, status, error=(str(error).splitlines() or [type(error).__name__])[0][:500],
                             timings=clock.laps)
        except Exception:  # MongoDB itself is gone: the next run finds this one dead and repairs
            pass
        raise
    finally:
        if jobs is not None:
            jobs.unpersist()


def _tallied(docs, totals: dict):
    """Pass documents through, adding up jobs, events and documents per bucket start."""
    for doc in docs:
        tally = totals.setdefault(doc["scope"]["start_date"], {"count": 0, "events": 0, "documents": 0})
        tally["count"] += doc["count"]
        tally["events"] += doc["events"]
        tally["documents"] += 1
        yield doc


def _utc(moment: dt.datetime):
    # A naive datetime literal would be read in the Python process's local time zone.
    return F.timestamp_seconds(F.lit(calendar.timegm(moment.timetuple())))


def _input_folders(spark: SparkSession, plan: Plan) -> list[str]:
    folders = []
    for folder in plan.required_folders:
        if readers.folder_exists(spark, folder):
            folders.append(folder)
        elif plan.require_all_days:
            raise readers.InputError(f"input folder missing: {folder} (use --allow-missing to aggregate without it)")
        else:
            log.warning("input folder missing, going on without it: %s", folder)
    folders += [f for f in plan.optional_folders if readers.folder_exists(spark, f)]
    return folders


def _count(jobs: DataFrame) -> dict:
    rows = jobs.groupBy("reject_reason", "in_window").count().collect()
    by_reason: dict[str, int] = {}
    in_window = outside = 0
    for row in rows:
        if row["reject_reason"]:
            by_reason[row["reject_reason"]] = by_reason.get(row["reject_reason"], 0) + row["count"]
        elif row["in_window"]:
            in_window += row["count"]
        else:
            outside += row["count"]
    rejected = sum(by_reason.values())
    return {"lines": in_window + outside + rejected, "in_window": in_window,
            "outside_window": outside, "rejected": rejected, "rejected_by_reason": by_reason}


def _write_rejects(jobs: DataFrame, path: str, line_chars: int) -> None:
    (jobs.where(F.col("reject_reason").isNotNull())
     .select(F.col("reject_reason").alias("reason"), "file",
             F.substring("rejected_line", 1, line_chars).alias("line"))
     .coalesce(1).write.mode("overwrite").json(path))


class _Clock:
    def __init__(self):
        self.start = self.last = time.monotonic()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = round(now - self.last, 3)
        self.laps["total"] = round(now - self.start, 3)
        self.last = now


def _progress_bar(enabled: bool, unit: str):
    from tqdm import tqdm
    return tqdm(unit=f" {unit}", desc="writing", file=sys.stderr, mininterval=1.0, disable=not enabled)


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
        f"  reports    {c['lines']:,} lines: {c['in_window']:,} in the window, "
        f"{c['outside_window']:,} of other windows, {c['rejected']:,} rejected ({share:.2%}: {reasons})",
        f"  documents  {result.written:,} written, {result.removed:,} stale removed, in {plan.database}.{plan.collection}",
    ]
    if result.rejects_path:
        lines.append(f"  rejects    {result.rejects_path}")
    lines.append(f"  time       {t.get('total', 0):.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in t.items() if k != 'total')}), "
                 f"{rate:,.0f} lines/s")
    lines.append(f"  run        {result.run_id} {result.status}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point under spark-submit: `jobs/aggregate.py --plan JSON`."""
    parser = argparse.ArgumentParser(prog="jobs/aggregate.py", description="Run one aggregation plan (see bin/aggregate).")
    parser.add_argument("--plan", required=True, help="the plan as JSON, as bin/aggregate writes it")
    parser.add_argument("--progress", action="store_true", help="show a progress bar while writing")
    parser.add_argument("--status-file", help="write the one-line reason of a failure here for the caller "
                                              "to print last (the JVM's own messages come after ours)")
    args = parser.parse_args(argv)
    global _status_file
    _status_file = args.status_file
    logging.basicConfig(level=logging.INFO, format="%(asctime)s jobrollup %(levelname)s %(message)s",
                        stream=sys.stderr)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    plan = Plan.from_json(args.plan)
    uri = os.environ.get(ENV_MONGO_URI)
    if not uri:
        print(f"error: {ENV_MONGO_URI} is not set: the job does not know where MongoDB is", file=sys.stderr)
        return EXIT_INPUT
    spark = spark_session(f"jobrollup-aggregate-{plan.precision}-{plan.first_day}")
    spark.sparkContext.setLogLevel("WARN")
    store = MongoStore(uri, plan.database, plan.mongo_timeout_ms)
    try:
        result = run(spark, plan, store, progress=args.progress)
    except readers.InputError as error:
        return _fail(EXIT_INPUT, error)
    except RunRefused as error:
        return _fail(EXIT_REFUSED, f"run refused: {error}")
    except MongoUnavailable as error:
        return _fail(EXIT_MONGO, error)
    except WindowBusy as error:
        return _fail(EXIT_BUSY, error)
    except PyMongoError as error:
        return _fail(EXIT_MONGO, f"MongoDB failed during the run, the window will be repaired by the next run: "
                                 f"{str(error).splitlines()[0][:200]}")
    finally:
        store.close()
    print(summary(plan, result), flush=True)
    spark.stop()
    return EXIT_OK


_status_file: str | None = None


def _fail(code: int, error) -> int:
    line = f"error: {error}"
    if _status_file:
        with open(_status_file, "w") as handle:
            handle.write(line)
    else:
        print(line, file=sys.stderr, flush=True)
    return code
