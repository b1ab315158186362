#!/usr/bin/env python
"""What the input hardening costs a normal night (issue 19): the read-and-count pass of the
aggregation with and without the line facts (size limit, invalid UTF-8, byte-order mark), and
the listing of the input folders (operating-system walk with file identities and an open probe,
against Hadoop's listFiles).

    .venv/bin/python bench/bench_input.py [--jobs 200000] [--files 200] [--rounds 3] [--workdir var/bench-input]

The two read variants run alternately in one SparkSession (local[2]) over the same generated
files, `--rounds` times each; the table gives each variant's median seconds and the ratio.
Unreadable files cost nothing here: they are handled only when Spark fails on one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import time
from pathlib import Path

import harness  # noqa: F401  (src/ on sys.path, Spark environment)

from jobrollup.plan import day_folder
from jobrollup.sources.fwjr import generate, normalise
from jobrollup.spark import readers

DAY = dt.date(2026, 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=200, help="files of the listing test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", default="var/bench-input")
    args = parser.parse_args()
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    root = work / "fwjr"
    generate.generate(root, DAY, 1, args.jobs, seed=3, files_per_day=4, workers=2)
    many = work / "many"
    folder = Path(day_folder(str(many), DAY))
    folder.mkdir(parents=True)
    for i in range(args.files):
        (folder / f"f{i:05d}.jsonl").write_text("{}\n")

    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    files = readers.list_files(spark, [day_folder(str(root), DAY)])

    def count(with_facts: bool) -> float:
        started = time.monotonic()
        lines = readers.read_lines(spark, files)
        if with_facts:
            lines = readers.with_line_facts(lines, 16 * 1024 * 1024, 65536)
        jobs = normalise.job_records(lines)
        jobs.groupBy("reject_reason", "invalid_utf8").count().collect()
        return time.monotonic() - started

    count(True)  # warm-up
    times = {False: [], True: []}
    for _ in range(args.rounds):
        for variant in (False, True):
            times[variant].append(count(variant))

    def listing(hadoop: bool) -> float:
        started = time.monotonic()
        if hadoop:
            path, fs = readers._filesystem(spark, str(folder))
            it = fs.listFiles(path, True)
            while it.hasNext():
                it.next()
        else:
            readers.list_files(spark, [str(folder)])
        return time.monotonic() - started

    listing(True), listing(False)
    hadoop = statistics.median(listing(True) for _ in range(args.rounds))
    local = statistics.median(listing(False) for _ in range(args.rounds))
    before, after = statistics.median(times[False]), statistics.median(times[True])
    print(f"read+normalise+count of {args.jobs:,} reports in {files.count} files, median of {args.rounds}:")
    print(f"  without line facts  {before:7.2f} s")
    print(f"  with line facts     {after:7.2f} s   ratio {after / before:.3f}")
    print(f"listing {args.files} files, median of {args.rounds}:")
    print(f"  Hadoop listFiles    {hadoop * 1000:7.1f} ms")
    print(f"  list_files (walk, identities, open probe)  {local * 1000:7.1f} ms")
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
