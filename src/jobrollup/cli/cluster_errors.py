"""bin/cluster-errors: error clusters, nightly (through spark-submit) or on a JSON-lines file."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from .. import config, embedded, messages, submit
from ..clustering import TemplateClusterer
from ..pipeline import EXIT_INPUT, EXIT_MONGO, EXIT_OK, plan_run
from ..sinks import MongoStore, MongoUnavailable
from ..tiers import PRECISIONS
from . import mongo_uri as resolve_mongo_uri
from .aggregate import UsageError, _date, _key_values, describe, resolve_days

EXAMPLES = """\
examples:
  bin/cluster-errors --messages logs.jsonl --out clusters.jsonl      a file, nothing stored
  bin/cluster-errors --messages logs.jsonl --out out.jsonl --model var/models/errors.jsonl
                                               ... keeping the model (cluster ids) between files
  bin/cluster-errors 1 --source fwjr           yesterday's FWJR errors, day buckets, into MongoDB
  bin/cluster-errors 1 --source spack --precision week
  bin/cluster-errors 1 --source fwjr --dry-run

A messages file has one JSON object per line with the text in "message" (other fields are
carried along; spack records' "pre_context"/"post_context" complete a cut "message"). The output
has one line per input line, in input order, with "cluster" and "label" added; lines that are
not JSON objects with a message, and empty or binary messages, get "cluster": null and a
"problem". A summary goes to stderr.

exit codes: 0 done, 1 unexpected failure, 2 bad arguments or input, 3 refused (too much
unreadable input), 4 MongoDB unreachable, 5 another clustering run is live
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="bin/cluster-errors", description="Cluster error messages into kinds with stable ids.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("when", nargs="?", help="nightly mode: YYYY-MM-DD, days ago, or an input day folder")
    parser.add_argument("--messages", type=Path, help="standalone mode: a JSON-lines file of messages")
    parser.add_argument("--out", type=Path, help="standalone mode: where to write the clustered lines")
    parser.add_argument("--model", type=Path, help="standalone mode: model file to start from and save to")
    parser.add_argument("--threshold", type=float, help="cluster distance (default: conf errors.threshold)")
    parser.add_argument("--source", choices=("fwjr", "spack"), default="fwjr", help="nightly mode: which dumps")
    parser.add_argument("--precision", choices=PRECISIONS, default="day")
    parser.add_argument("--min-date", type=_date)
    parser.add_argument("--max-date", type=_date)
    parser.add_argument("--input", help="source root holding YYYY/MM/DD/ folders")
    parser.add_argument("--mongo-uri")
    parser.add_argument("--profile")
    parser.add_argument("--master")
    parser.add_argument("--conf", dest="conf_file")
    parser.add_argument("--lateness", type=int)
    parser.add_argument("--allow-missing", action="store_true")
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    if args.messages or args.out:
        if not (args.messages and args.out):
            parser.error("--messages and --out go together")
        if args.when or args.min_date or args.max_date:
            parser.error("give either --messages/--out or WHEN, not both")
    elif args.when is None and not (args.min_date and args.max_date):
        parser.error("give --messages FILE --out FILE, or WHEN (or --min-date and --max-date)")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        conf = config.load(args.conf_file)
        threshold = args.threshold if args.threshold is not None else conf["errors"]["threshold"]
        if args.messages:
            return cluster_file(args.messages, args.out, args.model, threshold)
        return nightly(args, conf, threshold)
    except (UsageError, config.ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT


def cluster_file(source: Path, out: Path, model_path: Path | None, threshold: float) -> int:
    if not source.is_file():
        print(f"error: messages file not found: {source}", file=sys.stderr)
        return exits.INPUT
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
    today = dt.datetime.now(dt.timezone.utc).date()
    first, last, root_from_path = resolve_days(args, today)
    default_root = conf["input"]["root"] if args.source == "fwjr" else conf["errors"]["spack_root"]
    input_root = config.resolve_path(args.input or root_from_path or default_root)
    if args.allow_missing:
        conf["input"]["require_all_days"] = False
    plan = plan_run(first, last, args.precision, conf, input_root=input_root,
                    rejects_dir=config.resolve_path(conf["aggregate"]["rejects_dir"]), today=today,
                    lateness_days=args.lateness)
    plan = dataclasses.replace(plan, source=args.source, collection=f"{args.source}_errors")
    master, spark_conf = config.spark_settings(conf, args.profile, args.master)
    spark_conf.update(_key_values(args.spark_conf))
    if not sys.stderr.isatty():
        spark_conf["spark.ui.showConsoleProgress"] = "false"
    job_args = ["--plan", plan.to_json(), "--threshold", str(threshold),
                "--errors-dir", config.resolve_path(conf["errors"]["errors_dir"])]
    dist = config.resolve_path("var/dist")
    app_name = f"jobrollup-cluster-errors-{args.source}-{plan.first_day}"
    uri = config.mongo_uri(args.mongo_uri, conf)
    if args.dry_run:
        cmd = submit.command("cluster_errors", job_args, master=master, spark_conf=spark_conf,
                             app_name=app_name, py_files=os.path.join(dist, "jobrollup.zip"))
        print(describe(plan, uri, conf).replace("plan: aggregate", "plan: cluster the errors of"))
        print("spark-submit command:\n  " + submit.printable(cmd))
        return EXIT_OK
    try:
        uri = resolve_mongo_uri(args.mongo_uri, conf)
        store = MongoStore(uri, plan.database, conf["mongo"]["timeout_ms"])
        try:
            store.ping()
        finally:
            store.close()
    except (MongoUnavailable, embedded.EmbeddedMongoError) as error:  # fail before Spark starts
        print(f"error: {error}", file=sys.stderr)
        return EXIT_MONGO
    if config.is_local(input_root) and not os.path.isdir(config.local_path(input_root)):
        print(f"error: input root not found: {input_root}", file=sys.stderr)
        return EXIT_INPUT
    cmd = submit.command("cluster_errors", job_args, master=master, spark_conf=spark_conf,
                         app_name=app_name, py_files=submit.package_zip(dist))
    return submit.run(cmd, submit.environment(uri, master))


if __name__ == "__main__":
    sys.exit(main())
