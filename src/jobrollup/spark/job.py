"""The side of every job that runs under spark-submit (jobs/*.py): one harness.

The command (bin/aggregate, bin/cluster-errors, bin/cleanup --spark) plans the run and submits
it with its plan as JSON (`--plan`) and a `--status-file`; the MongoDB URI travels in the
environment, never on the command line. The harness parses that, sets up logging, the session
and the store, runs the job's body, and turns every known failure into its exit code and one
`error:` line, written to the status file so that the command prints it last (the JVM's own
messages reach stderr after the Python driver's).

Bodies do not stop their SparkSession: the JVM's shutdown hook stops it as soon as the Python
driver ends. PySpark's own `stop()` first waits for its accumulator server, which polls once a
second: about 1 s of every run (0.8-1.0 s measured; issue 15).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Callable

from pymongo.errors import PyMongoError

from .. import exits
from ..config import ENV_MONGO_URI
from ..exits import RunRefused
from ..store import mongo


def run(prog: str, argv: list[str] | None, body: Callable[[argparse.Namespace, str], str],
        add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
        failures: tuple[type[BaseException], ...] = ()) -> int:
    """Run `body(args, mongo_uri)`, which returns the summary to print; returns the exit code.
    `failures` are the job's own errors that end it with exit code 1 and their one line."""
    parser = argparse.ArgumentParser(prog=prog, description="A jobrollup Spark job (submitted by bin/*).")
    parser.add_argument("--plan", required=True, help="the run as JSON, as the submitting command wrote it")
    parser.add_argument("--status-file", help="where to write the one-line reason of a failure")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s jobrollup %(levelname)s %(message)s",
                        stream=sys.stderr)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    uri = os.environ.get(ENV_MONGO_URI)
    if not uri:
        return _fail(args.status_file, exits.INPUT, f"{ENV_MONGO_URI} is not set: the job does not know where MongoDB is")
    try:
        summary = body(args, uri)
    except RunRefused as error:
        return _fail(args.status_file, exits.REFUSED, f"run refused: {error}")
    except (exits.UsageError, exits.MongoUnavailable, exits.WindowBusy) as error:
        return _fail(args.status_file, exits.code_of(error), error)
    except failures as error:
        return _fail(args.status_file, exits.FAILED, error)
    except PyMongoError as error:  # met outside a store's failures(): classified without its count
        failure = mongo.failure(error, uri)
        return _fail(args.status_file, exits.code_of(failure), failure)
    print(summary, flush=True)
    return exits.OK


def _fail(status_file: str | None, code: int, error) -> int:
    line = f"error: {error}"
    if status_file:
        with open(status_file, "w") as handle:
            handle.write(line)
    else:
        print(line, file=sys.stderr, flush=True)
    return code
