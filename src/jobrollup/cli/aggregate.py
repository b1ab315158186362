"""bin/aggregate: plan a run, make sure MongoDB answers, and submit jobs/aggregate.py."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys

from .. import config, embedded, submit
from ..pipeline import EXIT_INPUT, EXIT_MONGO, Plan, plan_run
from ..sinks import MongoStore, MongoUnavailable, redact
from ..tiers import PRECISIONS

EXAMPLES = """\
examples:
  bin/aggregate 1 --precision=hour            yesterday (UTC), hourly buckets
  bin/aggregate 2026-11-20 --precision=day    one day
  bin/aggregate 0 --precision=week            the whole ISO week holding today
  bin/aggregate --min-date 2026-10-01 --max-date 2026-10-31 --precision=day
  bin/aggregate /data/fwjr/2026/11/20         the day of an input folder (root taken from the path)
  bin/aggregate 1 --profile yarn --input hdfs:///cms/wmarchive/fwjr
  bin/aggregate 1 --master spark://head:7077 --input hdfs:///cms/wmarchive/fwjr
  bin/aggregate 1 --dry-run                   print the plan and the spark-submit command

exit codes: 0 done, 1 unexpected failure, 2 bad arguments or input, 3 refused (too many
rejected lines, nothing written), 4 MongoDB unreachable, 5 another run writes this window
"""

class UsageError(ValueError):
    """Bad arguments or configuration: one line, exit code 2."""


_DAY_PATH = re.compile(r"^(?P<root>.*?)/?(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/?$")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bin/aggregate",
        description="Aggregate FWJR dumps into tiered documents in MongoDB (through spark-submit).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("when", nargs="?",
                        help="YYYY-MM-DD, a number of days ago (0 today, 1 yesterday, UTC), or an input day folder")
    parser.add_argument("--precision", choices=PRECISIONS, default="day", help="bucket size (default: day)")
    parser.add_argument("--min-date", type=_date, help="first day of a span (with --max-date)")
    parser.add_argument("--max-date", type=_date, help="last day of a span")
    parser.add_argument("--input", help="source root holding YYYY/MM/DD/ folders (default: conf input.root)")
    parser.add_argument("--mongo-uri", help=f"MongoDB URI (default: ${config.ENV_MONGO_URI}, conf, else the embedded server)")
    parser.add_argument("--profile", help="Spark deployment profile of conf [spark.profiles] (default: conf spark.profile)")
    parser.add_argument("--master", help="Spark master, overriding the profile's")
    parser.add_argument("--conf", dest="conf_file", help="configuration file (default: conf/jobrollup.toml)")
    parser.add_argument("--lateness", type=int, help="days after the window whose folders may hold late reports")
    parser.add_argument("--allow-missing", action="store_true", help="go on when a day folder of the window is missing")
    parser.add_argument("--max-reject-share", type=float, help="refuse the run above this share of rejected lines")
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark setting")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the spark-submit command, run nothing")
    args = parser.parse_args(argv)
    if args.when is None and not (args.min_date and args.max_date):
        parser.error("give WHEN, or both --min-date and --max-date")
    if args.when is not None and (args.min_date or args.max_date):
        parser.error("give either WHEN or --min-date/--max-date, not both")
    if args.lateness is not None and args.lateness < 0:
        parser.error("--lateness must be 0 or more")
    return args


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def resolve_days(args, today: dt.date) -> tuple[dt.date, dt.date, str | None]:
    """(first day, last day, input root taken from a folder argument or None)."""
    if args.when is None:
        if args.max_date < args.min_date:
            raise UsageError(f"--min-date {args.min_date} is after --max-date {args.max_date}")
        return args.min_date, args.max_date, None
    when = args.when
    if re.fullmatch(r"\d{1,4}", when):
        day = today - dt.timedelta(days=int(when))
        return day, day, None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", when):
        try:
            day = dt.date.fromisoformat(when)
        except ValueError:
            raise UsageError(f"not a date (YYYY-MM-DD): {when!r}") from None
        return day, day, None
    match = _DAY_PATH.match(when.rstrip("/"))
    if not match:
        raise UsageError(f"WHEN must be YYYY-MM-DD, a number of days ago, or a ROOT/YYYY/MM/DD folder: {when!r}")
    try:
        day = dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        raise UsageError(f"not a date in folder {when!r}") from None
    return day, day, match["root"] or "."


def resolve_mongo_uri(args, conf: dict) -> str | None:
    """The URI to use; None means the embedded server."""
    return config.mongo_uri(args.mongo_uri, conf)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except (UsageError, config.ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    conf = config.load(args.conf_file)
    today = dt.datetime.now(dt.timezone.utc).date()
    first, last, root_from_path = resolve_days(args, today)
    input_root = config.resolve_path(args.input or root_from_path or conf["input"]["root"])
    if args.allow_missing:
        conf["input"]["require_all_days"] = False
    plan = plan_run(first, last, args.precision, conf, input_root=input_root,
                    rejects_dir=config.resolve_path(conf["aggregate"]["rejects_dir"]), today=today,
                    lateness_days=args.lateness, max_reject_share=args.max_reject_share)
    master, spark_conf = config.spark_settings(conf, args.profile, args.master)
    spark_conf.update(_key_values(args.spark_conf))
    interactive = sys.stderr.isatty()
    if not interactive:  # cron logs: no carriage-return progress bars
        spark_conf["spark.ui.showConsoleProgress"] = "false"
    job_args = ["--plan", plan.to_json()] + (["--progress"] if interactive else [])
    dist = config.resolve_path("var/dist")
    mongo_uri = resolve_mongo_uri(args, conf)

    if args.dry_run:
        cmd = submit.command("aggregate", job_args, master=master, spark_conf=spark_conf,
                             app_name=_app_name(plan), py_files=os.path.join(dist, "jobrollup.zip"))
        print(describe(plan, mongo_uri, conf))
        print("spark-submit command:")
        print("  " + submit.printable(cmd))
        return 0

    if mongo_uri is None:
        try:
            mongo_uri = embedded.ensure_running(config.resolve_path(conf["mongo"]["embedded_dir"])).uri
        except embedded.EmbeddedMongoError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_MONGO
    store = MongoStore(mongo_uri, plan.database, conf["mongo"]["timeout_ms"])
    try:
        store.ping()  # fail before Spark starts, not after reading the input
    except MongoUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_MONGO
    finally:
        store.close()
    if config.is_local(input_root):  # fail before Spark starts; the job checks other URIs itself
        missing = [f for f in plan.required_folders if not os.path.isdir(config.local_path(f))]
        if not os.path.isdir(config.local_path(input_root)):
            print(f"error: input root not found: {input_root}", file=sys.stderr)
            return EXIT_INPUT
        if missing and plan.require_all_days:
            print(f"error: input folder missing: {missing[0]}"
                  f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''} "
                  "(use --allow-missing to aggregate without it)", file=sys.stderr)
            return EXIT_INPUT

    cmd = submit.command("aggregate", job_args, master=master, spark_conf=spark_conf,
                         app_name=_app_name(plan), py_files=submit.package_zip(dist))
    return submit.run(cmd, submit.environment(mongo_uri, master))


def _app_name(plan: Plan) -> str:
    return f"jobrollup-aggregate-{plan.precision}-{plan.first_day}"


def _key_values(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--spark-conf takes KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def describe(plan: Plan, mongo_uri: str | None, conf: dict) -> str:
    where = redact(mongo_uri) if mongo_uri else (
        f"embedded SecantusDB under {config.resolve_path(conf['mongo']['embedded_dir'])} (started if needed)")
    lines = [
        f"plan: aggregate {plan.source} at {plan.precision} precision for {plan.first_day} .. {plan.last_day}",
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
    sys.exit(main())
