#!/usr/bin/env python
"""Benchmark the fixed cost (issue 15, goal 3): `bin/aggregate` over one day of the README's
sample, as a user runs it, Spark's start-up included.

    .venv/bin/python bench/bench_day.py [--runs 5] [--day 2026-01-01] [--precision day]
        [--held] [--workdir var/bench-day] [--keep-mongo]

The sample is bin/demo's (var/sample/fwjr, 40,000 lines a day: run bin/demo first). Each run
is the command alone, timed from launch to exit: the database is emptied before it, untimed
(the nightly case: the window held nothing). `--held`
also times, taking turns, runs into a database that already holds the day (a re-run: every
document is replaced). Printed per run: wall seconds, CPU seconds of the command and all its
processes (the embedded MongoDB server apart), input lines per wall second, the peak memory of
the command's processes together (sampled), and the run's own laps; then the medians, and as
the last line the median wall time against the goal of 20 s.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

import harness  # first: it puts src/ on sys.path
from harness import ROOT, mib, process_tree, rss, say
from jobrollup import config

GOAL_S = 20.0
DATABASE = "bench_day"
SAMPLE = ROOT / "var" / "sample" / "fwjr"   # bin/demo generates it (README: two commands)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each kind (default 5)")
    parser.add_argument("--day", default="2026-01-01", help="the sample day aggregated (default 2026-01-01)")
    parser.add_argument("--precision", choices=["hour", "day", "week", "month"], default="day")
    parser.add_argument("--held", action="store_true", help="also time runs into a database holding the day")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench-day")
    parser.add_argument("--keep-mongo", action="store_true", help="leave the embedded server running")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    args.workdir = args.workdir.resolve()
    return args


def children_cpu() -> float:
    """User + system CPU seconds of every finished child process and their waited-for descendants
    (bin/aggregate -> spark-submit's JVM -> the Python driver and its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(command: list[str], sample_s: float = 0.2) -> dict:
    """Run `command` to its end: wall and CPU seconds, input lines per wall second, the peak of
    its processes' resident memory taken together (sampled every `sample_s`), its laps."""
    cpu_before, began = children_cpu(), time.perf_counter()
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        peak = 0
        output: list[str] = []
        reader = threading.Thread(target=lambda: output.append(proc.stdout.read()), daemon=True)
        reader.start()
        tree_of = psutil.Process(proc.pid)
        while proc.poll() is None:
            peak = max(peak, sum(rss(p) for p in process_tree(tree_of)))
            time.sleep(sample_s)
        reader.join()
    wall = time.perf_counter() - began
    text = "".join(output)
    if proc.returncode != 0:
        sys.stderr.write(text)
        raise SystemExit(f"error: {' '.join(command)} exited with {proc.returncode}")
    laps = re.search(r"^\s*time\s+(.*)$", text, re.MULTILINE)
    lines = re.search(r"^\s*reports\s+([\d,]+) lines", text, re.MULTILINE)
    lines_read = int(lines.group(1).replace(",", "")) if lines else 0
    return {"wall": wall, "cpu": children_cpu() - cpu_before, "laps": laps.group(1) if laps else "?",
            "rows_per_s": lines_read / wall, "peak": peak}


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = harness.java_problem()
    if problem:
        raise SystemExit(f"error: {problem}")
    if not (SAMPLE / args.day.replace("-", "/")).is_dir():
        print(f"error: no sample day {args.day} under {SAMPLE}: run bin/demo first (it generates the sample)",
              file=sys.stderr)
        return 2
    args.workdir.mkdir(parents=True, exist_ok=True)
    lock = harness.lock_workdir(args.workdir, "bench_day")
    if lock is None:
        return 2
    with lock:
        server, started = harness.start_server(args.workdir / "mongo")
        conf = config.load(ROOT / "conf" / "jobrollup.toml")
        conf["mongo"]["embedded_dir"] = str(args.workdir / "mongo")
        conf_path = harness.conf_file(conf, args.workdir / "jobrollup.toml", database=DATABASE,
                                      rejects_dir=args.workdir / "rejects")
        command = [str(ROOT / "bin" / "aggregate"), args.day, f"--precision={args.precision}",
                   "--input", str(SAMPLE), "--conf", str(conf_path)]
        client = harness.check_client(server.uri)
        try:
            say(f"command: {' '.join(command)}")
            say("warm-up run (not counted: the first local run may save the JVM's class archive)")
            client.drop_database(DATABASE)
            timed_run(command)
            kinds = ["emptied", "held"] if args.held else ["emptied"]
            results: dict[str, list[dict]] = {kind: [] for kind in kinds}
            for number in range(1, args.runs + 1):
                for kind in kinds:
                    if kind == "emptied":
                        client.drop_database(DATABASE)
                    result = timed_run(command)
                    results[kind].append(result)
                    say(f"run {number} into a database {kind + ':':8s} {result['wall']:5.1f} s wall, "
                        f"{result['cpu']:5.1f} CPU s, {result['rows_per_s']:,.0f} lines/s, "
                        f"peak {mib(result['peak'])}   ({result['laps']})")
            say()
            for kind, runs in results.items():
                walls = [r["wall"] for r in runs]
                say(f"{kind:8s} median {statistics.median(walls):5.1f} s wall ({min(walls):.1f}-{max(walls):.1f}), "
                    f"median {statistics.median(r['cpu'] for r in runs):.1f} CPU s, "
                    f"{statistics.median(r['rows_per_s'] for r in runs):,.0f} lines/s, "
                    f"peak memory {mib(max(r['peak'] for r in runs))} over {len(runs)} runs")
            median = statistics.median(r["wall"] for r in results["emptied"])
            say(f"sample day, bin/aggregate into an emptied database: median {median:.1f} s wall "
                f"(goal: {GOAL_S:.0f} s or less)")
        finally:
            client.drop_database(DATABASE)
            client.close()
            shutil.rmtree(args.workdir / "rejects", ignore_errors=True)   # every run's rejected lines
            if started and not args.keep_mongo:
                harness.stop_server(args.workdir / "mongo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
