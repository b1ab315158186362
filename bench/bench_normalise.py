"""The fwjr normaliser and the aggregation it feeds, without MongoDB: where the Spark CPU goes.

    bench/bench_normalise.py --data var/bench/data/<folder> [--small var/bench/data/<warm-up folder>]

Prints, for a small input run twice in one session (the fixed cost: building and analysing the
plan, code generation, then the same again warm) and for the whole --data input:
  normalise   read + parse + job records, into a no-op sink
  one pass    read + parse + job records + aggregate_and_tally, checkpointed, and the counts:
              what aggregate_job._read_and_aggregate does before the writes
each from building the DataFrame in Python to the end of the Spark job
with wall seconds and the JVM's CPU seconds, then the peak memory of the JVM and this process.
--save writes the job records (Parquet) and
--compare checks them against a saved copy, row for row and bit for bit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import harness  # noqa: F401  (src/ on the path, Spark environment)
import psutil

from pyspark.sql import functions as F

from jobrollup.sources.fwjr import SOURCE
import importlib
from jobrollup.spark import readers
from jobrollup.spark.aggregate import aggregate_and_tally
from jobrollup.spark.aggregate_job import _count


def jvm(spark) -> psutil.Process:
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    return psutil.Process(pid)


def cpu(proc) -> float:
    return harness.cpu_used(harness.process_tree(proc))


def records(spark, folder: str, normaliser):
    files = readers.list_files(spark, [folder])
    lines = readers.with_line_facts(readers.read_lines(spark, files), 4 << 20, 4096)
    return normaliser(lines)


def timed(proc, action):
    wall, used = time.perf_counter(), cpu(proc)
    result = action()
    wall, used = time.perf_counter() - wall, cpu(proc) - used
    return result, wall, used


def one_run(spark, proc, folder: str, label: str, precision: str, normaliser) -> tuple[dict, object]:
    def normalise():   # building the DataFrame counts: Python asks the JVM to analyse each step
        records(spark, folder, normaliser).write.format("noop").mode("overwrite").save()

    def one_pass():
        jobs = records(spark, folder, normaliser).withColumn("in_window", F.lit(True))
        return _count(aggregate_and_tally(jobs, precision, SOURCE, 4096).localCheckpoint(eager=True))

    _, n_wall, n_cpu = timed(proc, normalise)
    counts, a_wall, a_cpu = timed(proc, one_pass)
    lines = counts["lines"]
    print(f"{label:<12} {lines:>9,} lines  normalise {n_wall:6.1f} s wall {n_cpu:6.1f} s CPU"
          f" ({lines / n_wall:8,.0f} lines/s)  one pass {a_wall:6.1f} s wall {a_cpu:6.1f} s CPU", flush=True)
    return counts, records(spark, folder, normaliser)


def load(target: str):
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder of FWJR dumps (the whole run)")
    parser.add_argument("--small", help="folder of a small input, run twice first (fixed cost)")
    parser.add_argument("--precision", default="day")
    parser.add_argument("--repeat", type=int, default=1, help="runs over --data (the first warms the JIT)")
    parser.add_argument("--normaliser", action="append",
                        help="module:function of a normaliser (give several to take them in turn, "
                             "each run); default the fwjr source's")
    parser.add_argument("--save", help="write the job records of the last run here (Parquet)")
    parser.add_argument("--compare", help="check the job records of the last run against these (Parquet)")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--driver-memory", default="6g")
    args = parser.parse_args(argv)
    args.workdir = Path("var/bench").resolve()
    args.max_partition_bytes = None
    normalisers = [(t, load(t)) for t in args.normaliser or [SOURCE.normaliser]]
    began = time.perf_counter()
    sampler = harness.MemorySampler()
    sampler.set_phase("whole")
    sampler.start()
    spark, _ = harness.spark_session(args, {}, [args.data])
    proc = jvm(spark)
    print(f"Spark start-up {time.perf_counter() - began:.1f} s; load {psutil.getloadavg()}", flush=True)
    for name, normaliser in normalisers:
        print(name, flush=True)
        if args.small:
            for label in ("small cold", "small warm"):
                one_run(spark, proc, args.small, label, args.precision, normaliser)
    for run in range(args.repeat):
        for name, normaliser in normalisers:
            _, jobs = one_run(spark, proc, args.data, f"whole {run + 1}", args.precision, normaliser)
            print(f"    ({name}; load {psutil.getloadavg()[0]:.1f})", flush=True)
    if args.save:
        jobs.write.mode("overwrite").parquet(args.save)
    if args.compare:
        saved = spark.read.parquet(args.compare)
        # As text: Java prints a double so that it reads back to the same bits (-0.0, NaN too).
        as_text = lambda frame: frame.select(*[F.col(c).cast("string").alias(c) for c in saved.columns])
        missing = as_text(saved).exceptAll(as_text(jobs)).count()
        extra = as_text(jobs).exceptAll(as_text(saved)).count()
        print(f"compare with {args.compare}: {missing} rows only there, {extra} rows only here"
              f" ({'identical' if missing == extra == 0 else 'DIFFERENT'})", flush=True)
        if missing or extra:
            return 1
    sampler.stop()
    peaks = sampler.peaks.get("whole", {})
    print(f"peak memory: JVM {harness.mib(peaks.get('jvm', 0))}, this process {harness.mib(peaks.get('python', 0))}, "
          f"together {harness.mib(peaks.get('total', 0))}", flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
