"""bin/query: answer a question from the tiered documents in MongoDB (see jobrollup.queries)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import sys

from pymongo.errors import OperationFailure, PyMongoError

from .. import config, exits, sources
from .. import query as queries
from ..exits import MongoUnavailable
from ..query import STATISTICS, QueryError
from ..query.render import render_table, when
from ..store import mongo
from ..store.mongo import MongoStore
from ..tiers import PRECISIONS
from . import checks, common

EXIT_OK, EXIT_FAILED, EXIT_QUERY, EXIT_MONGO = exits.OK, exits.FAILED, exits.INPUT, exits.MONGO
_FWJR = sources.get("fwjr")

EXAMPLES = f"""\
examples:
  bin/query --from "7 days ago" --by site -m count,failure_rate            failure rate by site, last week
  bin/query --from "this month" -w task=TASK --by exitCode,time:day         exit codes of a task per day
  bin/query --from 2026-06 --by jobtype -m cpu.TotalJobCPU:mean,p90        mean and p90 CPU time per job type
  bin/query --from earliest -w site=T1_US_FNAL --suggest acquisitionEra     which eras exist for a site
  bin/query -w 'site~^T2_' -w 'jobstate!=success' --by exitCode --limit 10  top exit codes of T2 failures
  bin/query --by time:day -m count,failure_rate --plot failures.png         a time series picture
  bin/query --source spack_builds -w package=petsc --by version,compiler_version -m success_rate --plot rates.png
                                                                            success rate per version and compiler version
  bin/query --source spack_builds --by package -m count,failure_rate --from "this week" --baseline-from "last week" \
      --sort failure_rate.change --limit 10                                 whose failure rate rose since last week
  bin/query --source spack_builds -w package=petsc --by version,compiler_version --matrix petsc.png
                                                                            build matrix: petsc.png and petsc.csv
  bin/query --errors -w site=T2_CH_CERN --from "this week" --limit 10       top error clusters at a site
  bin/query --errors --source spack_errors -w package=petsc --from earliest        error kinds of a package

filters (-w, repeatable, all must hold; values are split on commas, null is a missing value):
  KEY=V            equal            KEY=V1,V2     any of
  KEY!=V           not equal        KEY!=V1,V2    none of (jobs without a value are kept)
  KEY~REGEX        matches (unanchored; ^ and $ anchor; (?i) ignores case)
  KEY!~REGEX       does not match (jobs without a value are kept)
  KEY (fwjr): {', '.join(_FWJR.scope_keys)}; other sources: see --source

metrics (-m, repeatable or comma-separated): {', '.join(_FWJR.basic_metrics)} (failure_rate: jobs
  with jobstate other than success / jobs), GROUP.METRIC[:STAT,STAT...] with STAT one of
  {', '.join(STATISTICS)} (default mean; std is the sample standard deviation; pNN only where
  sketches are stored).
  GROUP (fwjr): {', '.join(f'{g} ({len(m)} metrics, e.g. {next(iter(m))})' for g, m in _FWJR.metrics.items())}

axes (--by, repeatable or comma-separated): scope keys and at most one time:PRECISION
  ({', '.join(PRECISIONS)}).

times (UTC): 2026-06-01, 2026-06 (a month), 2026-06-01T12:00, now, today, yesterday, this week,
  this month, '3 days ago', '12 hours ago', '2 weeks ago', '1 month ago'; --from earliest.
  A period means its start for --from and its end for --to: --to 2026-06-30 includes June 30.
  Default: --from '7 days ago' --to now.

partial buckets: a span is answered from whole buckets, one tier per sub-range, the finest held.
  When it starts or ends inside a coarser bucket (a week or month left by the cleanup), the span
  is widened to that whole bucket and the header says so; --exact refuses instead and names the
  bucket. A time axis finer than the tier holding part of the span is refused.

exit codes: 0 answered, 1 unexpected failure, 2 bad query, 4 MongoDB unreachable
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = common.Parser(prog="bin/query", epilog=EXAMPLES, parents=[common.connection_options()], formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Answer a question (filters, metrics, group-by axes, a UTC span) from the "
                                 "tiered aggregate documents in MongoDB.")
    parser.add_argument("--from", dest="start", default="7 days ago", metavar="WHEN", help="start of the span (default: 7 days ago)")
    parser.add_argument("--to", dest="end", default="now", metavar="WHEN", help="end of the span (default: now)")
    parser.add_argument("-w", "--where", action="append", default=[], metavar="FILTER", help="KEY=V[,V], KEY!=V, KEY~RE, KEY!~RE")
    parser.add_argument("-m", "--metric", action="append", default=[], metavar="METRIC",
                        help="count (default), events, failure_rate, GROUP.METRIC[:STATS]")
    parser.add_argument("-b", "--by", action="append", default=[], metavar="AXIS", help="scope key or time:PRECISION")
    parser.add_argument("--suggest", metavar="KEY", help="distinct values of KEY with their jobs, under the filters")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output (default: table)")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the answer into this picture")
    parser.add_argument("--matrix", metavar="FILE.png",
                        help="a build matrix of the two --by keys: success rate per cell, \"not tried\" apart "
                             "from \"fails\"; writes FILE.png and FILE.csv")
    parser.add_argument("--baseline-from", metavar="WHEN",
                        help="compare with this span: each metric now, .before (the baseline) and .change")
    parser.add_argument("--baseline-to", metavar="WHEN", help="end of the baseline span (default: the start of --from)")
    parser.add_argument("--exact", action="store_true", help="refuse a span that cuts a bucket instead of widening it")
    parser.add_argument("--sort", metavar="COLUMN", help="order rows by this column (metrics largest first)")
    parser.add_argument("--limit", type=checks.positive_count, metavar="N", help="show the first N rows")
    parser.add_argument("--errors", action="store_true",
                        help="rank error clusters (bin/cluster-errors) instead: -w on site, exitCode, step "
                             "(fwjr) or package (spack) and cluster; --by those keys")
    parser.add_argument("--source", choices=sources.names(),
                        help="which source (default: conf [aggregate] source; with --errors: fwjr)")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="with --errors: read only this tier's counts (default: every tier, each range from "
                             "the finest tier holding it, as the cleanup left them)")
    parser.add_argument("--explain", action="store_true",
                        help="print the tiers, the collection chosen (a view or the documents), the documents it "
                             "will read and the pipelines; run no aggregation")
    parser.add_argument("--no-views", dest="use_views", action="store_false",
                        help="read the documents even where a view holds the question (to compare)")
    parser.add_argument("--exit-codes", metavar="FILE", help=f"exit-code dictionary (default: ${queries.ENV_EXIT_CODES}, "
                                                            "else conf/exit_codes.json)")
    parser.add_argument("--collection", help="collection (default: the source's own)")
    parser.add_argument("--now", type=checks.moment, help=argparse.SUPPRESS)  # for tests and replays
    args = parser.parse_args(argv)
    if args.suggest and (args.metric or args.by):
        parser.error("--suggest lists the values of one key with their jobs: it takes no --metric or --by")
    return args


def main(argv: list[str] | None = None) -> int:
    return common.run(_main, argv)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    conf = config.load(args.conf_file)
    if args.errors:
        return _errors(args, conf)
    source = common.source_of(args, conf)
    collection = args.collection or ""
    now = args.now or dt.datetime.now(dt.timezone.utc)
    # The whole question is checked before MongoDB is reached: a bad query never waits for it.
    if args.suggest:
        key = queries.canonical_key(args.suggest, source)
        question = queries.query(start=args.start, end=args.end, where=args.where, by=[key],
                                 partial="refuse" if args.exact else "widen",
                                 source=source, collection=collection, now=now)
    else:
        metrics = args.metric or ["count"]
        if args.matrix:
            from ..query import matrix
            metrics = matrix.metrics_for(args.metric)
        question = queries.query(start=args.start, end=args.end, where=args.where, metrics=metrics,
                                 by=args.by, partial="refuse" if args.exact else "widen",
                                 source=source, collection=collection, now=now)
    if args.plot:
        from ..query import plots
        plots.check(question)
        checks.writable_file(args.plot, "--plot")
    if args.matrix:
        matrix.check(question)
        checks.writable_file(args.matrix, "--matrix")
    names = None
    if "exitCode" in question.keys:
        names = queries.load_exit_codes(args.exit_codes)
    baseline = None
    if args.baseline_from:
        from ..query import compare
        if args.suggest or args.plot or args.matrix:
            raise QueryError("--baseline-from compares two spans as a table: it takes no --suggest, --plot or --matrix")
        baseline = compare.baseline_of(question, args.baseline_from, args.baseline_to, now)
    sortable = question.axes + (question.columns if baseline is None else
                                [c + suffix for c in question.columns for suffix in ("", compare.BEFORE, compare.CHANGE)])
    if args.sort and args.sort not in sortable:
        raise QueryError(f"--sort {args.sort!r}: choose one of {', '.join(sortable)}")

    store = connect(args, conf)
    try:
        with _asked(store):
            if args.explain:
                print(json.dumps(queries.explain(store, question, use_views=args.use_views), indent=2,
                                 default=_json_default))
                return EXIT_OK
            if baseline is None:
                frame = queries.answer_rows(store, question, use_views=args.use_views)
            else:
                frame = compare.compare(store, question, baseline)
    finally:
        store.close()
    if isinstance(frame, queries.Rows):
        # A table or JSON of text keys is printed from the rows themselves: importing pandas
        # would be most of the command's time (bench/bench_query.py --cli).
        plain = args.format != "csv" and not (args.sort or args.plot or args.matrix or names is not None)
        frame = frame.table() if plain and frame.plain() else frame.frame()
    total = len(frame)
    if args.sort:
        ascending = args.sort in question.axes
        frame = frame.sort_values(args.sort, ascending=ascending, na_position="last", kind="stable").reset_index(drop=True)
    if args.limit:
        frame = frame.head(args.limit)
    if names is not None:
        frame = queries.describe_exit_codes(frame, names)
    if args.format == "json":
        print(render_json(frame))
    elif args.format == "csv":
        for note in frame.attrs.get("notes", []):
            print(f"note: {note}", file=sys.stderr)
        sys.stdout.write(render_csv(frame))
    else:
        print(render_table(frame, total))
    if args.plot:
        from ..query import plots
        plots.plot(frame, args.plot)
        sys.stdout.flush()
        print(f"plot written to {args.plot}", file=sys.stderr)
    if args.matrix:
        from ..query import plots
        where = ", ".join(args.where)
        png, csv_path = matrix.write(frame, args.matrix, f"Build matrix{': ' + where if where else ''}: "
                                     f"success rate by {' and '.join(question.keys)}", plots.subtitle(frame.attrs))
        sys.stdout.flush()
        print(f"matrix written to {png} and {csv_path}", file=sys.stderr)
    return EXIT_OK


def _errors(args, conf) -> int:
    """bin/query --errors: the top error clusters of a span."""
    args.source = args.source or "fwjr"
    if args.metric or args.suggest or args.plot or args.matrix or args.explain:
        raise QueryError("--errors ranks clusters by their errors: it takes -w, --by, --from/--to, --limit, --format")
    now = args.now or dt.datetime.now(dt.timezone.utc)
    store = connect(args, conf)
    try:
        with _asked(store):
            frame = queries.error_clusters(store, source=args.source, start=args.start, end=args.end,
                                           where=args.where, by=args.by, precision=args.precision, now=now)
    finally:
        store.close()
    total = len(frame)
    if args.limit:
        frame = frame.head(args.limit)
    if args.format == "json":
        print(frame.to_json(orient="records", date_format="iso"))
    elif args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        first, last = frame.attrs["span"]
        filters = ", ".join(frame.attrs["filters"]) or "none"
        tiers = "/".join(frame.attrs["tiers"]) or "no"
        print(f"error clusters of {args.source} errors, {when(first)} .. {when(last)} UTC "
              f"({tiers} counts), filters: {filters}: {frame.attrs['errors']:,} errors in {total} rows")
        for note in frame.attrs["notes"]:
            print(f"note: {note}")
        if frame.empty:
            print("(no errors)")
        for row in frame.itertuples(index=False):
            row = row._asdict()
            split = "".join(f" {k}={row[k]}" for k in frame.columns[1:-5])
            print(f"  {row['errors']:>9,} {row['share']:6.1%}  cluster {row['cluster']:<5}{split}  {row['label'][:120]}")
    return EXIT_OK


@contextlib.contextmanager
def _asked(store: MongoStore):
    """A query the server refuses (a regular expression it cannot compile, ...) is a bad query
    (exit 2); every other MongoDB failure is the store's one line (exit 4)."""
    try:
        yield
    except OperationFailure as error:
        if error.code in (mongo.UNAUTHORIZED, mongo.AUTHENTICATION_FAILED):
            raise store.failure(error) from None
        raise QueryError(f"MongoDB refused the query: {_first_line(error)}") from None
    except PyMongoError as error:
        raise store.failure(error) from None


def connect(args, conf) -> MongoStore:
    uri = common.mongo_uri(args.mongo_uri, conf)  # as bin/aggregate: option, environment, URI file, conf, embedded
    store = MongoStore(uri, conf["mongo"]["database"], conf["mongo"]["timeout_ms"])
    try:
        store.ping()
    except MongoUnavailable:
        store.close()
        raise
    return store


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().isoformat()
    if hasattr(value, "item"):
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return value


def render_json(frame) -> str:
    meta = dict(frame.attrs)
    meta.pop("axis_buckets", None)
    rows = [{c: _clean(v) for c, v in zip(frame.columns, row)} for row in frame.itertuples(index=False)]
    return json.dumps({**meta, "rows": rows}, indent=2, default=_json_default)


def render_csv(frame) -> str:
    out = frame.copy()
    axis = frame.attrs.get("time_axis")
    if axis and axis in out:
        out[axis] = [_clean(v) for v in out[axis]]
    return out.to_csv(index=False, lineterminator="\n")


def _first_line(error: Exception) -> str:
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text.split(" (configured timeouts")[0].split(", Timeout:")[0][:200]


if __name__ == "__main__":
    common.exit_now(main())
