"""bin/cleanup: downsample old tiers (see jobrollup.cleanup for the rules)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys

from pymongo.errors import PyMongoError

from .. import cleanup, config, embedded, submit
from . import mongo_uri
from ..sinks import MongoStore, MongoUnavailable, WindowBusy

EXAMPLES = """\
examples:
  bin/cleanup                       roll up and drop what conf [retention] says has expired
  bin/cleanup --dry-run             print what would be rolled up and deleted, per tier
  bin/cleanup --retention hour="3 days" --retention day="12 weeks"
  bin/cleanup --spark --master yarn  build coarse buckets in parallel on Spark executors

exit codes: 0 done, 1 a verification failed (nothing fine deleted for that bucket) or an
unexpected failure, 2 bad arguments, 4 MongoDB unreachable, 5 another cleanup is running
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/cleanup", epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Roll old fine buckets up into coarser tiers, then delete them.")
    parser.add_argument("--dry-run", action="store_true", help="plan and count, write nothing")
    parser.add_argument("--retention", action="append", default=[], metavar="TIER=DURATION",
                        help="override conf [retention], e.g. hour='2 days' or month=forever")
    parser.add_argument("--now", type=dt.datetime.fromisoformat, help=argparse.SUPPRESS)  # for tests and replays
    parser.add_argument("--mongo-uri", help=f"MongoDB URI (default: ${config.ENV_MONGO_URI}, conf, else embedded)")
    parser.add_argument("--conf", dest="conf_file", help="configuration file")
    parser.add_argument("--spark", action="store_true",
                        help="submit jobs/cleanup.py: coarse buckets are built in parallel by Spark executors")
    parser.add_argument("--profile", help="Spark deployment profile of conf [spark.profiles], with --spark")
    parser.add_argument("--master", help="Spark master with --spark, overriding the profile's")
    parser.add_argument("--in-spark", action="store_true", help=argparse.SUPPRESS)  # set by jobs/cleanup.py
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s jobrollup %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        conf = config.load(args.conf_file)
        retention = dict(conf.get("retention", {}))
        for item in args.retention:
            tier, sep, value = item.partition("=")
            if not sep or tier not in ("hour", "day", "week", "month"):
                raise cleanup.RetentionError(f"--retention takes TIER=DURATION with TIER hour|day|week|month, got {item!r}")
            retention[tier] = value
        for value in retention.values():
            cleanup.horizon(value, dt.datetime(2026, 1, 1))  # validate every duration up front
    except (config.ConfigError, cleanup.RetentionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        master, spark_conf = config.spark_settings(conf, args.profile, args.master)
        uri = mongo_uri(args.mongo_uri, conf)
    except config.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except embedded.EmbeddedMongoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 4
    try:
        store = MongoStore(uri, conf["mongo"]["database"], conf["mongo"]["timeout_ms"])
        store.ping()
    except (embedded.EmbeddedMongoError, MongoUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 4
    if args.spark:  # hand over to spark-submit; the URI travels in the environment
        store.close()
        job_argv = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--spark"]
        cmd = submit.command("cleanup", [*job_argv, "--in-spark"], master=master, app_name="jobrollup-cleanup",
                             spark_conf=spark_conf, archives=conf["spark"].get("executor_archives", []),
                             py_files=submit.package_zip(config.resolve_path("var/dist")))
        return submit.run(cmd, submit.environment(uri, master), with_status=False)
    options = dict(now=args.now, dry_run=args.dry_run, source=conf["aggregate"]["source"])
    if args.in_spark:
        from pyspark.sql import SparkSession
        spark = SparkSession.builder.appName("jobrollup-cleanup").getOrCreate()
        job = cleanup.SparkCleanup(spark, uri, conf["mongo"]["database"], store,
                                   conf["aggregate"]["collection"], retention, **options)
    else:
        job = cleanup.Cleanup(store, conf["aggregate"]["collection"], retention, **options)
    try:
        reports = job.run()
    except WindowBusy as error:
        print(f"error: {error}", file=sys.stderr)
        return 5
    except cleanup.VerificationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except PyMongoError as error:
        print(f"error: MongoDB failed during the cleanup; the next run finishes the work: {str(error).splitlines()[0][:200]}",
              file=sys.stderr)
        return 4
    finally:
        store.close()
    print(cleanup.summary(reports, args.dry_run, job.run_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
