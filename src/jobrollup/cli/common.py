"""What every command shares: the options (argparse parents), the day arguments, the MongoDB
URI, the Spark settings and the one-line failures. Commands stay thin: parse, call the library,
print; `run` turns every foreseeable failure into its exit code and one `error:` line."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import sys
from typing import Callable

from pymongo.errors import PyMongoError

from .. import config, exits, sources
from ..exits import MongoUnavailable, RunRefused, UsageError, WindowBusy
from ..store import embedded, mongo
from ..tiers import PRECISIONS
from . import checks

Parser = checks.Parser  # every command's parser: refusals in one line

_DAY_PATH = re.compile(r"^(?P<root>.*?)/?(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/?$")


def source_option(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None,
                  help_text: str = "which source (default: conf [aggregate] source)") -> None:
    parser.add_argument("--source", choices=names or sources.names(), help=help_text)


def connection_options() -> argparse.ArgumentParser:
    """--mongo-uri and --conf: every command that reaches MongoDB."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--mongo-uri", help=f"MongoDB URI (default: ${config.ENV_MONGO_URI}, conf, else the embedded server)")
    parent.add_argument("--conf", dest="conf_file", help="configuration file (default: conf/jobrollup.toml)")
    return parent


def spark_options() -> argparse.ArgumentParser:
    """--profile, --master and --spark-conf: every command that submits a Spark job."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--profile", help="Spark deployment profile of conf [spark.profiles] (default: conf spark.profile)")
    parent.add_argument("--master", help="Spark master, overriding the profile's")
    parent.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark setting")
    return parent


def window_options() -> argparse.ArgumentParser:
    """WHEN or --min-date/--max-date, the precision, the input and its lateness: the commands
    that plan a run over days of input (bin/aggregate, bin/cluster-errors)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("when", nargs="?",
                        help="YYYY-MM-DD, a number of days ago (0 today, 1 yesterday, UTC), or an input day folder")
    parent.add_argument("--precision", choices=PRECISIONS, default="day", help="bucket size (default: day)")
    parent.add_argument("--min-date", type=day_argument, help="first day of a span (with --max-date)")
    parent.add_argument("--max-date", type=day_argument, help="last day of a span")
    parent.add_argument("--input", help="source root holding YYYY/MM/DD/ folders (default: conf [sources.<name>] root)")
    parent.add_argument("--lateness", type=checks.count, help="days after the window whose folders may hold late reports")
    parent.add_argument("--allow-missing", action="store_true", help="go on when a day folder of the window is missing")
    parent.add_argument("--dry-run", action="store_true", help="print the plan and the spark-submit command, run nothing")
    return parent


day_argument = checks.day


def check_window_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.when is None and not (args.min_date and args.max_date):
        parser.error("give WHEN, or both --min-date and --max-date")
    if args.when is not None and (args.min_date or args.max_date):
        parser.error("give either WHEN or --min-date/--max-date, not both")
    if args.lateness is not None and args.lateness < 0:
        parser.error("--lateness must be 0 or more")


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


def source_of(args, conf: dict) -> sources.Source:
    try:
        return sources.get(getattr(args, "source", None) or conf["aggregate"]["source"])
    except ValueError as error:
        raise UsageError(str(error)) from None


def mongo_uri(explicit: str | None, conf: dict, *, start_embedded: bool = True) -> str | None:
    """The one URI resolution of every command: --mongo-uri, then config.mongo_uri (environment,
    URI file, conf); when none gives one, the embedded server, started if needed (or None when
    `start_embedded` is false: a dry run only describes it). Raises config.ConfigError or
    embedded.EmbeddedMongoError with a one-line reason, UsageError for a malformed URI."""
    uri = config.mongo_uri(explicit, conf)
    if uri:
        mongo.check_uri(uri)
    if uri or not start_embedded:
        return uri
    return embedded.ensure_running(config.resolve_path(conf["mongo"]["embedded_dir"])).uri


def check_submit_folders(*, create: bool = True) -> None:
    """The folders spark-submit needs on this machine: the package zip's and the temporary one
    (the job's status file)."""
    import tempfile

    checks.writable_folder(config.resolve_path("var/dist"), "package folder", create=create)
    checks.writable_folder(tempfile.gettempdir(), "temporary folder", create=create)


def spark_settings(args, conf: dict, input_bytes: int | None = None) -> tuple[str, dict[str, str]]:
    """(master, settings) of the profile for an input of about `input_bytes` (None: unknown;
    config.spark_settings), with --spark-conf over it; no progress bars in logs."""
    master, settings = config.spark_settings(conf, args.profile, args.master, input_bytes)
    for item in args.spark_conf:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--spark-conf takes KEY=VALUE, got {item!r}")
        settings[key] = value
    if not sys.stderr.isatty():  # cron logs: no carriage-return progress bars
        settings["spark.ui.showConsoleProgress"] = "false"
    return master, settings


def run(main: Callable[[list[str] | None], int], argv: list[str] | None) -> int:
    """Run a command's `main(argv)`: every foreseeable failure ends it with its exit code and one
    `error:` line; only a bug (anything else) shows a traceback, with exit code 1."""
    try:
        return main(argv)
    except (UsageError, config.ConfigError) as error:
        return fail(error, exits.INPUT)
    except RunRefused as error:
        return fail(error, exits.REFUSED)
    except (MongoUnavailable, embedded.EmbeddedMongoError) as error:
        return fail(error, exits.MONGO)
    except WindowBusy as error:
        return fail(error, exits.BUSY)
    except PyMongoError as error:  # met outside a store's failures(): the store still words it
        failure = mongo.failure(error, "")
        return fail(failure, exits.code_of(failure))
    except BrokenPipeError:  # bin/query ... | head: the reader has all it wanted
        # stdout goes to /dev/null so that the interpreter's last flush fails no more (Python docs, "SIGPIPE")
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exits.OK
    except KeyboardInterrupt:
        return fail("interrupted", 130)


def exit_now(code: int) -> None:
    """End the process with `code` as soon as its output is out. pymongo's monitor threads sleep
    in half-second steps and Python's exit waits for them, which was half a second of every
    bin/query answer (issue 16). The end of the commands that talk to MongoDB and hand Spark
    work to spark-submit (aggregate, cleanup, cluster-errors, query): their work is done in this
    process or a child it waited for. Not for a Spark driver, which stops Spark at exit, nor for
    commands with worker pools of their own."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):   # the reader went away, or the stream is closed
            pass
    logging.shutdown()
    os._exit(code)


def fail(error, code: int) -> int:
    """The one line a refusal ends with."""
    print(f"error: {error}", file=sys.stderr, flush=True)
    return code


def epilog(examples: str) -> str:
    return examples.rstrip() + "\n\n" + exits.epilog_line() + "\n"
