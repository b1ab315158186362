"""bin/aggregate: plan a run, make sure MongoDB answers, and submit jobs/aggregate.py."""

from __future__ import annotations

import argparse
import datetime as dt
import os

from .. import config, dump_files, exits, sources
from ..plan import Plan, plan_run
from ..spark import submit
from ..store.mongo import MongoStore, redact
from . import checks, common

EXAMPLES = """\
examples:
  bin/aggregate 1 --precision=hour            yesterday (UTC), hourly buckets
  bin/aggregate 2026-11-20 --precision=day    one day
  bin/aggregate 0 --precision=week            the whole ISO week holding today
  bin/aggregate --min-date 2026-10-01 --max-date 2026-10-31 --precision=day
  bin/aggregate /data/fwjr/2026/11/20         the day of an input folder (root taken from the path)
  bin/aggregate 1 --source fwjr --profile yarn --input hdfs:///cms/wmarchive/fwjr
  bin/aggregate 1 --master spark://head:7077 --input hdfs:///cms/wmarchive/fwjr
  bin/aggregate 1 --dry-run                   print the plan and the spark-submit command
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = common.Parser(
        prog="bin/aggregate", parents=[common.window_options(), common.connection_options(), common.spark_options()],
        description="Aggregate dumps of one source into tiered documents in MongoDB (through spark-submit).",
        epilog=common.epilog(EXAMPLES), formatter_class=argparse.RawDescriptionHelpFormatter)
    common.source_option(parser, sources.aggregating_names())
    parser.add_argument("--max-reject-share", type=checks.share, metavar="SHARE",
                        help="refuse the run above this share (0..1) of rejected lines")
    args = parser.parse_args(argv)
    common.check_window_arguments(parser, args)
    return args


# The embedded server is one process: one writer and the server share a small machine's cores best.
EMBEDDED_WRITE_TASKS = 1


def main(argv: list[str] | None = None) -> int:
    return common.run(_main, argv)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    conf = config.load(args.conf_file)
    source = common.source_of(args, conf)
    today = dt.datetime.now(dt.timezone.utc).date()
    first, last, root_from_path = common.resolve_days(args, today)
    input_root = config.resolve_path(args.input or root_from_path or config.source_root(conf, source.name))
    if args.allow_missing:
        conf["input"]["require_all_days"] = False
    plan = plan_run(first, last, args.precision, conf, source=source.name, input_root=input_root,
                    rejects_dir=config.resolve_path(conf["aggregate"]["rejects_dir"]), today=today,
                    lateness_days=args.lateness, max_reject_share=args.max_reject_share)
    checks.share_setting(plan.max_reject_share, "conf [aggregate] max_reject_share")
    checks.count_setting(plan.write_tasks, "conf [mongo] write_tasks")
    if not config.mongo_uri(args.mongo_uri, conf):   # the embedded server: one writer (conf [mongo] write_tasks)
        plan.write_tasks = EMBEDDED_WRITE_TASKS
    master, spark_conf = common.spark_settings(
        args, conf, dump_files.input_size([*plan.required_folders, *plan.optional_folders]))
    job_args = ["--plan", plan.to_json()]   # in a terminal, Spark's stage progress shows the read and the writes
    app_name = f"jobrollup-aggregate-{plan.precision}-{plan.first_day}"
    # Everything that can fail before Spark starts is checked here, not after the input is read.
    checks.writable_folder(plan.rejects_dir, "rejects folder", create=not args.dry_run)
    common.check_submit_folders(create=not args.dry_run)

    if args.dry_run:
        print(describe(plan, common.mongo_uri(args.mongo_uri, conf, start_embedded=False), conf))
        print(submit.dry_run("aggregate", job_args, master=master, spark_conf=spark_conf, app_name=app_name))
        return exits.OK

    mongo_uri = common.mongo_uri(args.mongo_uri, conf)
    with MongoStore(mongo_uri, plan.database, conf["mongo"]["timeout_ms"]) as store:
        store.ping()  # fail before Spark starts, not after reading the input
    problem = local_input_problem(plan, "aggregate")
    if problem:
        return common.fail(problem, exits.INPUT)
    return submit.submit("aggregate", job_args, master=master, spark_conf=spark_conf, app_name=app_name,
                         mongo_uri=mongo_uri, archives=conf["spark"].get("executor_archives", []),
                         class_archive=conf["spark"].get("class_archive"))


def local_input_problem(plan: Plan, verb: str) -> str | None:
    """A missing local input root or day folder, found before Spark starts (the job checks
    other URIs itself)."""
    if not config.is_local(plan.input_root):
        return None
    if not os.path.isdir(config.local_path(plan.input_root)):
        return f"input root not found: {plan.input_root}"
    missing = [f for f in plan.required_folders if not os.path.isdir(config.local_path(f))]
    if missing and plan.require_all_days:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        return f"input folder missing: {missing[0]}{more} (use --allow-missing to {verb} without it)"
    return None


def describe(plan: Plan, mongo_uri: str | None, conf: dict, verb: str = "aggregate") -> str:
    where = redact(mongo_uri) if mongo_uri else (
        f"embedded SecantusDB under {config.resolve_path(conf['mongo']['embedded_dir'])} (started if needed)")
    lines = [
        f"plan: {verb} {plan.source} at {plan.precision} precision for {plan.first_day} .. {plan.last_day}",
        f"  rewrites   {plan.window_start} .. {plan.window_end} UTC in {plan.database}.{plan.collection}",
        "  reads      " + ("\n             ".join(_folder_state(f, True) for f in plan.required_folders) or "nothing"),
    ]
    if plan.optional_folders:
        lines.append("  late       " + "\n             ".join(_folder_state(f, False) for f in plan.optional_folders))
    if plan.skipped_days:
        lines.append(f"  future     {', '.join(plan.skipped_days)} (not read)")
    lines.append(f"  refuses    above {plan.max_reject_share:.1%} rejected lines")
    lines.append(f"  MongoDB    {where}")
    return "\n".join(lines)


def _folder_state(folder: str, required: bool) -> str:
    if not config.is_local(folder):
        return f"{folder}"
    exists = os.path.isdir(config.local_path(folder))
    return f"{folder} ({'present' if exists else 'MISSING' if required else 'not there yet'})"


if __name__ == "__main__":
    common.exit_now(main())
