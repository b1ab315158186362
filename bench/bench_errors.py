#!/usr/bin/env python
"""Error clustering: quality against Drain3 on labelled sets, and speed on 1M messages.

    .venv/bin/python bench/bench_errors.py                   # both parts
    .venv/bin/python bench/bench_errors.py --skip-speed      # quality only (about a minute)
    .venv/bin/python bench/bench_errors.py --messages 200000 # a smaller speed run
    .venv/bin/python bench/bench_errors.py --skip-quality --skip-speed --memory 100000,1000000

Quality: each labelled set is written as a JSON-lines file and clustered by the real command
(`bin/cluster-errors --messages FILE --out FILE`: its two-pass code,
jobrollup.errors.file.cluster_file, called in-process); in the same run the Drain3
template miner (PyPI drain3, default settings) clusters the same messages, and so does Drain3 fed
with our masked templates, and "masks only" (one cluster per distinct template). Printed per set:
grouping accuracy (share of messages whose cluster holds exactly their true group) and adjusted
Rand index. Sets:
- generated: messages drawn from known templates with random parameters
  (jobrollup.errors.samples, 20,000 messages, seed 11, not the seeds the threshold was tuned on);
- spack: real spack build errors, hand-labelled (tests/data/spack-errors/labelled.jsonl.gz,
  made by bench/label_spack_errors.py);
- the wide dev set of system-log styles (jobrollup.errors.devset, 19 systems, 2,000 lines each,
  seed 0), per system against Drain3: the table of bench/bench_devset.py.

Speed: --messages messages (generated kinds mixed with the real spack lines, one in five) go
through the same code; printed: seconds, messages per second (wall clock and CPU time of this
process: on a shared machine the CPU time is the fairer "one core" figure), peak RSS of this
process, and a reference loop's time to compare machines; Drain3's time on the same messages is
printed beside it as a reference.

Memory (--memory SIZES): the dev set's lines (fixed templates) repeated to each size, through the
same code in a process of its own: peak RSS must not grow with the number of messages (it grows
with the number of distinct templates, which the registry holds, as in the speed run).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from jobrollup.errors import messages, samples as error_samples  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
import bench_devset  # noqa: E402
from jobrollup.errors.clustering import DEFAULT_THRESHOLD, grouping_accuracy  # noqa: E402

SPACK_SET = ROOT / "tests" / "data" / "spack-errors" / "labelled.jsonl.gz"


def spack_rows() -> list[dict]:
    with gzip.open(SPACK_SET, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


# the same two runs as the dev-set table: the real two-pass code, and Drain3 with default settings
ours, drain3 = bench_devset.ours, bench_devset.drain3


def quality(name: str, rows: list[dict], workdir: Path, threshold: float) -> list[tuple]:
    truth = [row["group"] for row in rows]
    texts = [row["message"] for row in rows]
    templates = [messages.normalise(text)[0] for text in texts]
    results = []
    for method, run in [("jobrollup (masks, patterns, DBSTREAM)", lambda: ours(rows, workdir, threshold)),
                        ("masks only", lambda: templates),
                        ("Drain3 (default)", lambda: drain3(texts)),
                        ("Drain3 on our masked templates", lambda: drain3(templates))]:
        started = time.perf_counter()
        predicted = run()
        seconds = time.perf_counter() - started
        results.append((name, method, grouping_accuracy(truth, predicted),
                        adjusted_rand_score(truth, predicted), len(set(predicted)), seconds))
    print(f"\n{name}: {len(rows):,} messages, {len(set(truth))} true groups")
    print(f"  {'method':34s} {'grouping acc.':>13s} {'ARI':>7s} {'clusters':>8s} {'seconds':>8s}")
    for _, method, accuracy, ari, clusters, seconds in results:
        print(f"  {method:34s} {accuracy:13.4f} {ari:7.4f} {clusters:8d} {seconds:8.2f}")
    return results


_SPEED_CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from jobrollup.errors.clustering import TemplateClusterer
from jobrollup.errors.file import cluster_file
def peak_mb():  # VmHWM: the peak of this program (ru_maxrss would count the parent's, from before exec)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started, cpu = time.perf_counter(), time.process_time()
result = cluster_file(Path(sys.argv[2]), Path(sys.argv[3]), TemplateClusterer(float(sys.argv[4])))
print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                  "peak_mb": peak_mb(),
                  "summary": result.summary(Path(sys.argv[3]))}))
"""


def speed(n: int, workdir: Path, threshold: float, with_drain3: bool) -> None:
    rng = random.Random(5)
    real = [row["message"] for row in spack_rows()]
    source, out = workdir / "speed.jsonl", workdir / "speed-out.jsonl"
    print(f"\nspeed: writing {n:,} messages ...", flush=True)
    generated = error_samples.labelled(n, seed=12)
    with open(source, "w", encoding="utf-8") as handle:
        for i, row in enumerate(generated):
            text = rng.choice(real) if i % 5 == 0 else row["message"]
            handle.write(json.dumps({"message": text, "id": i}) + "\n")
    size = source.stat().st_size
    print(f"  input {size / 1e6:,.0f} MB; clustering with bin/cluster-errors ...", flush=True)
    del generated, real
    # in a process of its own, so that its peak memory is its own (not the generator's)
    done = subprocess.run([sys.executable, "-c", _SPEED_CHILD, str(ROOT / "src"), str(source), str(out),
                           str(threshold)], capture_output=True, text=True, check=True)
    measured = json.loads(done.stdout)
    seconds, cpu, peak = measured["seconds"], measured["cpu"], measured["peak_mb"]
    print("  " + measured["summary"])
    print(f"  jobrollup: {seconds:.1f} s, {n / seconds:,.0f} messages/s (read, normalise, cluster, write); "
          f"CPU {cpu:.1f} s, {n / cpu:,.0f} messages per CPU second; peak RSS of the process {peak:,.0f} MB")
    loop = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    print(f"  reference: a Python loop of 10 million additions takes {time.process_time() - loop:.2f} CPU s here "
          f"(to compare this machine with another)")
    if with_drain3:
        with open(source, encoding="utf-8") as handle:
            texts = [json.loads(line)["message"] for line in handle]
        started = time.perf_counter()
        drain3(texts)
        d3 = time.perf_counter() - started
        print(f"  Drain3 on the same messages (in memory, no I/O): {d3:.1f} s, {n / d3:,.0f} messages/s; "
              f"jobrollup / Drain3 time {seconds / d3:.2f}")


def memory(sizes: list[int], workdir: Path, threshold: float) -> None:
    """Peak memory against the number of messages when the templates are fixed: the dev set's
    lines (22 systems x 2,000, seed 0) repeated to each size, each size in a process of its own."""
    from jobrollup.errors import devset
    lines = [row["message"] for system in devset.all_systems() for row in devset.labelled(system, 2000, 0)]
    print(f"\nmemory: the dev set's {len(lines):,} lines repeated")
    for n in sizes:
        source, out = workdir / "memory.jsonl", workdir / "memory-out.jsonl"
        with open(source, "w", encoding="utf-8") as handle:
            for i in range(n):
                handle.write(json.dumps({"message": lines[i % len(lines)]}) + "\n")
        done = subprocess.run([sys.executable, "-c", _SPEED_CHILD, str(ROOT / "src"), str(source), str(out),
                               str(threshold)], capture_output=True, text=True, check=True)
        measured = json.loads(done.stdout)
        print(f"  {n:>10,} messages: peak RSS {measured['peak_mb']:,.0f} MB, CPU {measured['cpu']:.1f} s, "
              f"{n / measured['cpu']:,.0f} messages per CPU second")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages for the speed run")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--no-drain3-speed", action="store_true", help="do not time Drain3 on the speed set")
    parser.add_argument("--memory", help="sizes, e.g. 100000,1000000: peak memory on the dev set's lines repeated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-errors-") as tmp:
        workdir = Path(tmp)
        if not args.skip_quality:
            quality("generated", error_samples.labelled(20_000, seed=11), workdir, args.threshold)
            quality("spack (real, hand-labelled)", spack_rows(), workdir, args.threshold)
            print()
            bench_devset.table(2000, 0, args.threshold)
        if not args.skip_speed:
            speed(args.messages, workdir, args.threshold, not args.no_drain3_speed)
        if args.memory:
            memory([int(n) for n in args.memory.split(",")], workdir, args.threshold)
    print(f"\nmachine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
