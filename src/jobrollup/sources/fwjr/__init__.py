"""CMS framework job reports (FWJR): one report a line, one job record a report.

The definition only: no Spark here. The Spark normaliser is `normalise.py` (rules in
docs/job-records.md), the synthetic dumps come from `generate.py`, and the errors of a report's
steps are extracted by the clustering job (`jobrollup.errors.job.fwjr_errors`).
"""

from __future__ import annotations

from jobrollup.sources import Source

SCOPE_KEYS = ("workflow", "task", "host", "site", "jobstate", "jobtype",
              "acquisitionEra", "exitCode", "exitStep")

# group -> metric -> how the values of several cmsRun steps make the job's value.
METRICS: dict[str, dict[str, str]] = {
    "cpu": {
        "TotalJobCPU": "sum", "TotalJobTime": "sum", "TotalEventCPU": "sum", "TotalLoopCPU": "sum",
        "TotalInitTime": "sum", "TotalInitCPU": "sum", "AvgEventCPU": "sum", "AvgEventTime": "sum",
        "MaxEventCPU": "max", "MaxEventTime": "max", "NumberOfThreads": "max", "NumberOfStreams": "max",
        "MinEventCPU": "min", "MinEventTime": "min",
        "EventThroughput": "mean",
    },
    "memory": {"PeakValueRss": "max", "PeakValueVsize": "max"},
    "storage": {
        "readTotalMB": "sum", "readTotalSecs": "sum", "writeTotalMB": "sum", "writeTotalSecs": "sum",
        "readNumOps": "sum", "readMaxMSec": "max",
        "readAveragekB": "mean", "readCachePercentageOps": "mean", "readMBSec": "mean",
        "readPercentageOps": "mean",
    },
}

REJECT_REASONS = ("too_large", "malformed_json", "wrong_type", "missing_ts", "bad_ts", "unreadable_file")

UNITS = {
    "count": "jobs", "events": "events", "failure_rate": "% of jobs",
    **{f"cpu.{m}": "s" for m in METRICS["cpu"]},
    "cpu.AvgEventCPU": "s/event", "cpu.AvgEventTime": "s/event", "cpu.EventThroughput": "events/s",
    "cpu.NumberOfThreads": "threads", "cpu.NumberOfStreams": "streams",
    **{f"memory.{m}": "MB" for m in METRICS["memory"]},
    "storage.readAveragekB": "kB", "storage.readCachePercentageOps": "%", "storage.readMBSec": "MB/s",
    "storage.readMaxMSec": "ms", "storage.readNumOps": "operations", "storage.readPercentageOps": "%",
    "storage.readTotalMB": "MB", "storage.readTotalSecs": "s", "storage.writeTotalMB": "MB",
    "storage.writeTotalSecs": "s",
}

SOURCE = Source(
    name="fwjr",
    collection="fwjr",
    scope_keys=SCOPE_KEYS,
    metrics=METRICS,
    counters=("events",),
    sketched=("cpu__TotalJobCPU", "cpu__TotalJobTime", "memory__PeakValueRss"),
    time_field="meta_data.ts",
    reject_reasons=REJECT_REASONS,
    reader="jobrollup.spark.readers:read_lines",
    normaliser="jobrollup.sources.fwjr.normalise:job_records",
    generator="jobrollup.sources.fwjr.generate:main",
    # Most selective first: a query's equality on the first of these goes with the index. Only
    # selective keys: every index slows every write and delete, an index on a key of a few
    # values (jobstate, jobtype, exitCode) saves few reads, and views answer those questions.
    indexed_keys=("task", "workflow", "site"),
    integer_keys=("exitCode",),
    error_scope=("site", "exitCode", "step"),
    error_extractor="jobrollup.errors.job:fwjr_errors",
    failure_key="jobstate",
    success_values=("success",),
    units=UNITS,
)
