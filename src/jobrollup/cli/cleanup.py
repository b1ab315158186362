"""bin/cleanup: downsample old tiers (see jobrollup.cleanup for the rules)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys

from .. import cleanup, config, exits, sources
from ..exits import UsageError
from ..spark import submit
from ..store.mongo import MongoStore
from . import checks, common

EXAMPLES = """\
examples:
  bin/cleanup                       roll up and drop what conf [retention] says has expired
  bin/cleanup --dry-run             print what would be rolled up and deleted, per tier
  bin/cleanup --retention hour="3 days" --retention day="12 weeks"
  bin/cleanup --source fwjr --spark --master yarn  build coarse buckets in parallel on Spark executors

A verification that fails (coarse buckets that do not add up to their fine ones; nothing fine
is deleted for that bucket) ends with exit code 1.
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = common.Parser(prog="bin/cleanup", epilog=common.epilog(EXAMPLES),
                                     parents=[common.connection_options(), common.spark_options()],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Roll old fine buckets up into coarser tiers, then delete them.")
    common.source_option(parser, sources.aggregating_names())
    parser.add_argument("--dry-run", action="store_true", help="plan and count, write nothing")
    parser.add_argument("--retention", action="append", default=[], metavar="TIER=DURATION",
                        help="override conf [retention], e.g. hour='2 days' or month=forever")
    parser.add_argument("--now", type=checks.moment, help=argparse.SUPPRESS)  # for tests and replays
    parser.add_argument("--spark", action="store_true",
                        help="submit jobs/cleanup.py: coarse buckets are built in parallel by Spark executors")
    return parser.parse_args(argv)


def retention_of(args, conf: dict) -> dict[str, str]:
    """conf [retention] with --retention over it, every duration checked up front."""
    retention = dict(conf.get("retention", {}))
    for item in args.retention:
        tier, sep, value = item.partition("=")
        if not sep or tier not in ("hour", "day", "week", "month"):
            raise UsageError(f"--retention takes TIER=DURATION with TIER hour|day|week|month, got {item!r}")
        retention[tier] = value
    for value in retention.values():
        try:
            cleanup.horizon(value, dt.datetime(2026, 1, 1))
        except cleanup.RetentionError as error:
            raise UsageError(str(error)) from None
    return retention


def main(argv: list[str] | None = None) -> int:
    return common.run(_main, argv)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s jobrollup %(levelname)s %(message)s", stream=sys.stderr)
    conf = config.load(args.conf_file)
    retention = retention_of(args, conf)
    source = common.source_of(args, conf)
    master, spark_conf = common.spark_settings(args, conf)
    if args.spark:
        common.check_submit_folders(create=not args.dry_run)
    uri = common.mongo_uri(args.mongo_uri, conf)
    store = MongoStore(uri, conf["mongo"]["database"], conf["mongo"]["timeout_ms"])
    try:
        store.ping()
        if args.spark:  # hand over to spark-submit; the URI travels in the environment
            store.close()
            plan = cleanup.spark_plan(source.name, conf["mongo"]["database"], retention, args.now, args.dry_run,
                                      conf["mongo"]["timeout_ms"])
            return submit.submit("cleanup", ["--plan", plan], master=master, app_name="jobrollup-cleanup",
                                 spark_conf=spark_conf, archives=conf["spark"].get("executor_archives", []),
                                 mongo_uri=uri, class_archive=conf["spark"].get("class_archive"))
        job = cleanup.Cleanup(store, source, retention, now=args.now, dry_run=args.dry_run)
        try:
            with store.failures():
                reports = job.run()
        except cleanup.VerificationError as error:
            return common.fail(error, exits.FAILED)
    finally:
        store.close()
    print(cleanup.summary(reports, args.dry_run, job.run_id))
    return exits.OK

if __name__ == "__main__":
    common.exit_now(main())
