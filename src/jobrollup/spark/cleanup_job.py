"""The cleanup under spark-submit (bin/cleanup --spark): coarse buckets built in parallel by
Spark executors (cleanup.SparkCleanup). Its plan is what bin/cleanup decided: the source, the
database, the retention, the moment it counts from and whether it is a dry run."""

from __future__ import annotations

import datetime as dt
import json

from .. import cleanup, sources
from ..store.mongo import MongoStore
from . import job
from .session import spark_session


def main(argv: list[str] | None = None) -> int:
    def body(args, uri: str) -> str:
        plan = json.loads(args.plan)
        spark = spark_session("jobrollup-cleanup")
        spark.sparkContext.setLogLevel("WARN")
        now = dt.datetime.fromisoformat(plan["now"]) if plan["now"] else None
        with MongoStore(uri, plan["database"], plan["mongo_timeout_ms"]) as store, store.failures():
            store.ping()
            work = cleanup.SparkCleanup(spark, uri, plan["database"], store, sources.get(plan["source"]),
                                        plan["retention"], now=now, dry_run=plan["dry_run"])
            reports = work.run()
        return cleanup.summary(reports, plan["dry_run"], work.run_id)
    return job.run("jobs/cleanup.py", argv, body, failures=(cleanup.VerificationError,))
