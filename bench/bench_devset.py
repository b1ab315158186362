#!/usr/bin/env python
"""Error grouping on the wide development set (jobrollup.errors.devset) against Drain3.

    PYTHONPATH=src .venv/bin/python bench/bench_devset.py            # 2,000 lines a system, seed 0
    PYTHONPATH=src .venv/bin/python bench/bench_devset.py --seed 1 --lines 4000
    PYTHONPATH=src .venv/bin/python bench/bench_devset.py --seeds 0-4  # each seed, then means per system

Each system's messages are written as a JSON-lines file and clustered by the real two-pass code
of `bin/cluster-errors --messages` (jobrollup.errors.file.cluster_file, a fresh model each
system, default threshold); in the same run Drain3 (PyPI drain3, default settings, a fresh miner
each system) clusters the same messages. Printed per system: grouping accuracy and adjusted Rand
index of both, and the means. The project's own sets (generated kinds, hand-labelled spack) are
printed by bench/bench_errors.py. With --seeds, the
mean of each system over the seeds follows, with the seeds where it is below Drain3.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from jobrollup.errors import devset  # noqa: E402
from jobrollup.errors.clustering import DEFAULT_THRESHOLD, TemplateClusterer, grouping_accuracy  # noqa: E402
from jobrollup.errors.file import cluster_file  # noqa: E402


def ours(rows: list[dict], workdir: Path, threshold: float = DEFAULT_THRESHOLD) -> list:
    source, out = workdir / "devset.jsonl", workdir / "devset-out.jsonl"
    with open(source, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({"message": row["message"]}) + "\n")
    cluster_file(source, out, TemplateClusterer(threshold))
    with open(out, encoding="utf-8") as handle:
        return [json.loads(line)["cluster"] for line in handle]


def drain3(texts: list[str]) -> list:
    from drain3 import TemplateMiner
    logging.getLogger("drain3").setLevel(logging.ERROR)
    miner = TemplateMiner()
    return [miner.add_log_message(text)["cluster_id"] for text in texts]


def table(lines: int, seed: int, threshold: float = DEFAULT_THRESHOLD, out=sys.stdout) -> list[tuple]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-devset-") as tmp:
        for system in devset.all_systems():
            rows = devset.labelled(system, lines, seed)
            truth = [row["group"] for row in rows]
            started = time.perf_counter()
            mine = ours(rows, Path(tmp), threshold)
            seconds = time.perf_counter() - started
            theirs = drain3([row["message"] for row in rows])
            results.append((system, len(set(truth)), grouping_accuracy(truth, mine), adjusted_rand_score(truth, mine),
                            grouping_accuracy(truth, theirs), adjusted_rand_score(truth, theirs),
                            len(set(mine)), len(set(theirs)), seconds))
    print(f"dev set: {lines:,} lines a system, seed {seed}, threshold {threshold}", file=out)
    print(f"  {'system':10s} {'kinds':>5s} | {'GA ours':>7s} {'ARI ours':>8s} | {'GA Drain3':>9s} {'ARI Drain3':>10s}"
          f" | {'clusters':>8s} {'Drain3':>6s}", file=out)
    for system, kinds, ga, ari, dga, dari, nc, dnc, _ in results:
        flag = "  <-- below Drain3" if ga < dga else ""
        print(f"  {system:10s} {kinds:5d} | {ga:7.4f} {ari:8.4f} | {dga:9.4f} {dari:10.4f} | {nc:8d} {dnc:6d}{flag}",
              file=out)
    n = len(results)
    print(f"  {'mean':10s} {'':5s} | {sum(r[2] for r in results) / n:7.4f} {sum(r[3] for r in results) / n:8.4f} | "
          f"{sum(r[4] for r in results) / n:9.4f} {sum(r[5] for r in results) / n:10.4f}", file=out)
    return results


def mean_table(lines: int, seeds: list[int], threshold: float = DEFAULT_THRESHOLD, out=sys.stdout) -> None:
    """Each seed's table, then per system the mean over the seeds and the seeds below Drain3."""
    runs = {seed: table(lines, seed, threshold, out) for seed in seeds}
    print(f"\nmean over seeds {','.join(map(str, seeds))}", file=out)
    print(f"  {'system':10s} | {'GA ours':>7s} {'ARI ours':>8s} | {'GA Drain3':>9s} {'ARI Drain3':>10s} | below Drain3 on seeds",
          file=out)
    systems = [r[0] for r in runs[seeds[0]]]
    columns = []
    for k, system in enumerate(systems):
        rows = [runs[seed][k] for seed in seeds]
        means = [sum(r[c] for r in rows) / len(rows) for c in (2, 3, 4, 5)]
        columns.append(means)
        below = ",".join(str(seed) for seed, r in zip(seeds, rows) if r[2] < r[4])
        print(f"  {system:10s} | {means[0]:7.4f} {means[1]:8.4f} | {means[2]:9.4f} {means[3]:10.4f} | {below}", file=out)
    n = len(columns)
    print(f"  {'mean':10s} | {sum(c[0] for c in columns) / n:7.4f} {sum(c[1] for c in columns) / n:8.4f} | "
          f"{sum(c[2] for c in columns) / n:9.4f} {sum(c[3] for c in columns) / n:10.4f} |", file=out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="several seeds, e.g. 0-4 or 0,3,7: each table, then the means per system")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()
    if args.seeds:
        seeds = []
        for part in args.seeds.split(","):
            first, _, last = part.partition("-")
            seeds.extend(range(int(first), int(last or first) + 1))
        mean_table(args.lines, seeds, args.threshold)
    else:
        table(args.lines, args.seed, args.threshold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
