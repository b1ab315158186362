"""bin/cluster-errors: error clusters, nightly (through spark-submit) or on a JSON-lines file."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from .. import config, exits, sources
from ..errors import file as errors_file
from ..errors.clustering import TemplateClusterer
from ..plan import plan_run
from ..spark import submit
from ..store.mongo import MongoStore
from . import checks, common
from .aggregate import describe

EXAMPLES = """\
examples:
  bin/cluster-errors --messages logs.jsonl --out clusters.jsonl      a file, nothing stored
  bin/cluster-errors --messages logs.jsonl --out out.jsonl --model var/models/errors.jsonl
                                               ... keeping the model (cluster ids) between files
  bin/cluster-errors 1 --source fwjr           yesterday's FWJR errors, day buckets, into MongoDB
  bin/cluster-errors 1 --source spack_errors --precision week
  bin/cluster-errors 1 --source fwjr --dry-run

A messages file has one JSON object per line with the text in "message" (other fields are
carried along; spack records' "pre_context"/"post_context" complete a cut "message"). The output
has one line per input line, in input order, with "cluster" and "label" added; lines that are
not JSON objects with a message, and empty or binary messages, get "cluster": null and a
"problem". A summary goes to stderr.
"""


def parse_args(argv):
    parser = common.Parser(
        prog="bin/cluster-errors", description="Cluster error messages into kinds with stable ids.",
        parents=[common.window_options(), common.connection_options(), common.spark_options()],
        epilog=common.epilog(EXAMPLES), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=Path, help="standalone mode: a JSON-lines file of messages")
    parser.add_argument("--out", type=Path, help="standalone mode: where to write the clustered lines")
    parser.add_argument("--model", type=Path, help="standalone mode: model file to start from and save to")
    parser.add_argument("--threshold", type=checks.positive_number, help="cluster distance (default: conf errors.threshold)")
    common.source_option(parser, tuple(n for n in sources.names() if sources.get(n).error_extractor),
                         "nightly mode: whose errors (default: fwjr)")
    args = parser.parse_args(argv)
    if args.messages or args.out:
        if not (args.messages and args.out):
            parser.error("--messages and --out go together")
        if args.when or args.min_date or args.max_date:
            parser.error("give either --messages/--out or WHEN, not both")
    elif args.when is None and not (args.min_date and args.max_date):
        parser.error("give --messages FILE --out FILE, or WHEN (or --min-date and --max-date)")
    else:
        common.check_window_arguments(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    return common.run(_main, argv)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    conf = config.load(args.conf_file)
    threshold = args.threshold if args.threshold is not None else conf["errors"]["threshold"]
    try:
        checks.positive_number(str(threshold))
    except argparse.ArgumentTypeError as error:
        raise exits.UsageError(f"conf [errors] threshold: {error}") from None
    if args.messages:
        return cluster_file(args.messages, args.out, args.model, threshold)
    return nightly(args, conf, threshold)


def cluster_file(source: Path, out: Path, model_path: Path | None, threshold: float) -> int:
    checks.readable_file(source, "messages file")
    checks.writable_file(out, "--out")
    if model_path:
        checks.writable_file(model_path, "--model")
        if model_path.exists():
            checks.readable_file(model_path, "model file")
    model = TemplateClusterer.load(model_path, threshold) \
        if model_path and model_path.exists() else TemplateClusterer(threshold)
    result = errors_file.cluster_file(source, out, model, progress=sys.stderr.isatty())
    if model_path:
        model.save(model_path)
    print(result.summary(out), file=sys.stderr)
    return exits.OK


# ---------------------------------------------------------------------------------------------
# nightly: spark-submit jobs/cluster_errors.py
# ---------------------------------------------------------------------------------------------

def nightly(args, conf: dict, threshold: float) -> int:
    source = sources.get(args.source or "fwjr")
    today = dt.datetime.now(dt.timezone.utc).date()
    first, last, root_from_path = common.resolve_days(args, today)
    input_root = config.resolve_path(args.input or root_from_path or config.source_root(conf, source.name))
    if args.allow_missing:
        conf["input"]["require_all_days"] = False
    plan = plan_run(first, last, args.precision, conf, source=source.name, collection=source.errors_collection,
                    input_root=input_root, rejects_dir=config.resolve_path(conf["aggregate"]["rejects_dir"]),
                    today=today, lateness_days=args.lateness)
    checks.share_setting(plan.max_reject_share, "conf [aggregate] max_reject_share")
    master, spark_conf = common.spark_settings(args, conf)
    errors_dir = config.resolve_path(conf["errors"]["errors_dir"])
    job_args = ["--plan", plan.to_json(), "--threshold", str(threshold), "--errors-dir", errors_dir]
    # Everything that can fail before Spark starts is checked here, not after the input is read.
    checks.writable_folder(plan.rejects_dir, "rejects folder", create=not args.dry_run)
    checks.writable_folder(errors_dir, "errors folder", create=not args.dry_run)
    common.check_submit_folders(create=not args.dry_run)
    app_name = f"jobrollup-cluster-errors-{source.name}-{plan.first_day}"
    if args.dry_run:
        print(describe(plan, common.mongo_uri(args.mongo_uri, conf, start_embedded=False), conf,
                       verb="cluster the errors of"))
        print(submit.dry_run("cluster_errors", job_args, master=master, spark_conf=spark_conf, app_name=app_name))
        return exits.OK
    uri = common.mongo_uri(args.mongo_uri, conf)
    with MongoStore(uri, plan.database, conf["mongo"]["timeout_ms"]) as store:
        store.ping()  # fail before Spark starts
    if config.is_local(input_root) and not os.path.isdir(config.local_path(input_root)):
        return common.fail(f"input root not found: {input_root}", exits.INPUT)
    return submit.submit("cluster_errors", job_args, master=master, spark_conf=spark_conf, app_name=app_name,
                         mongo_uri=uri, class_archive=conf["spark"].get("class_archive"))


if __name__ == "__main__":
    common.exit_now(main())
