#!/usr/bin/env python
"""Benchmark the aggregation's MongoDB writes alone: the same aggregated rows written by one
driver process (documents built and written in sequence, as before issue 15) and by the Spark
executors (spark.write: one connection per partition, in parallel), into the embedded server.

    .venv/bin/python bench/bench_writes.py [--jobs 20000] [--precision hour] [--rounds 2]
        [--partitions 4] [--workdir var/bench] [--master 'local[*]']

The input is generated (reused from <workdir>/data), read and aggregated once, persisted; then
each round writes every document into a fresh database both ways, alternating, so that other
load on the machine falls on both. Printed per way: documents/s, documents/s per writing core
(the cores writing at once: 1 for the driver; min(partitions, cores) for the executors), and the
MongoDB server's CPU seconds per 1,000 documents, and the peak memory of this process with its
JVM and of the server while writing. Also printed: the mean BSON size of a document
as stored and as it was before a metric of one job was stored as n and sum alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import bson
import psutil

import harness  # first: it puts src/ on sys.path
from harness import ROOT, mib, say
from jobrollup import config, documents
from jobrollup.spark import aggregate_job, readers, write
from jobrollup.spark.aggregate import kept_rows
from jobrollup.store.mongo import MongoStore


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs in the one generated day (default 20,000)")
    parser.add_argument("--precision", choices=["hour", "day"], default="hour")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=4, help="partitions of the rows the executors write")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--max-partition-bytes", default=None)
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()
    return args


def server_cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def main(argv=None) -> int:
    args = parse_args(argv)
    conf = config.load(ROOT / "conf" / "jobrollup.toml")
    args.workdir.mkdir(parents=True, exist_ok=True)
    lock = harness.lock_workdir(args.workdir, "bench_writes")
    if lock is None:
        return 2
    day = harness.DEFAULT_START
    params = harness.data_params(day, 1, args.jobs, "jsonl", 1, 0)
    root, _, _ = harness.ensure_data(args.workdir, harness.data_name(params), params, False)
    server, started = harness.start_server(args.workdir / "mongo")
    sampler = harness.MemorySampler()
    sampler.mongo_pid = server.pid
    sampler.start()
    spark, _ = harness.spark_session(args, conf, [str(root)])
    cores = spark.sparkContext.defaultParallelism
    databases = []
    try:
        database = f"writes_{uuid.uuid4().hex[:8]}"
        plan = harness.make_plan(conf, root, day, day, args.precision, args.workdir / "rejects", database)
        plan.views = {}
        source = plan.definition
        with MongoStore(server.uri, database) as store:
            tallied, counts, _ = aggregate_job._read_and_aggregate(
                spark, plan, readers.list_files(spark, [str(root / f"{day:%Y/%m/%d}")]), store)
        rows = kept_rows(tallied)
        rows = rows.repartition(args.partitions).persist()
        total = rows.count()
        say(f"{counts['in_window']:,} jobs -> {total:,} documents at {args.precision} precision; "
            f"{cores} Spark cores, {args.partitions} partitions; load average {os.getloadavg()[0]:.1f}")

        sample = list(documents.to_documents(rows.limit(2000).collect(), source, plan.precision, "r"))
        stored = sum(len(bson.encode(d)) for d in sample) / len(sample)
        jobs_per_doc = sum(d["count"] for d in sample) / len(sample)
        say(f"bytes per document (BSON, mean of {len(sample):,}, {jobs_per_doc:.2f} jobs each): {stored:,.0f}")

        results: dict[str, list[tuple[float, float]]] = {"driver": [], "executors": []}
        for round_number in range(1, args.rounds + 1):
            for way in ("driver", "executors"):
                name = f"{database}_{way}_{round_number}"
                databases.append(name)
                sampler.set_phase(way)
                with MongoStore(server.uri, name) as target:
                    cpu0, began = server_cpu(server.pid), time.perf_counter()
                    if way == "driver":   # as before: documents built and written by this one process
                        docs = documents.to_documents(rows.toLocalIterator(prefetchPartitions=True), source,
                                                      plan.precision, "r")
                        written = target.replace_documents(source.collection, docs, batch=plan.write_batch)
                    else:
                        written = write.write(rows, target, plan.write_batch, source, plan.precision, "r",
                                              source.collection, {}).documents
                    seconds = time.perf_counter() - began
                    cpu = server_cpu(server.pid) - cpu0
                sampler.set_phase("between")
                assert written == total, (way, written, total)
                results[way].append((seconds, cpu))
                writers = 1 if way == "driver" else min(args.partitions, cores)
                say(f"round {round_number} {way:<9} {written:,} documents in {seconds:.1f} s: "
                    f"{written / seconds:,.0f} documents/s, {written / seconds / writers:,.0f} per writing core "
                    f"({writers}); server CPU {1000 * cpu / written:.2f} s per 1,000; load average "
                    f"{os.getloadavg()[0]:.1f}")
        for way, runs in results.items():
            best = min(s for s, _ in runs)
            writers = 1 if way == "driver" else min(args.partitions, cores)
            peaks = sampler.peaks.get(way, {})
            say(f"best {way:<9} {total / best:,.0f} documents/s, {total / best / writers:,.0f} per writing core ({writers}); "
                f"peak memory while writing: this process and its JVM {mib(peaks.get('total', 0))}, "
                f"MongoDB server {mib(peaks.get('mongo', 0))}")
    finally:
        sampler.stop()
        for name in databases:
            with MongoStore(server.uri, name) as store:
                store.client.drop_database(name)
        spark.stop()
        if started:
            harness.stop_server(args.workdir / "mongo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
