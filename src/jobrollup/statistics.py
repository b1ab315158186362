"""Mergeable statistics, as stored in documents: no Spark here.

Per metric we keep what merges exactly across buckets and tiers: n (jobs with a value), sum,
min, max and the sum of squares. Means and deviations are computed when read, never stored,
so no later tier ever averages averages. The Spark side that computes them from job records
is jobrollup.spark.aggregate.
"""

from __future__ import annotations

STATISTICS = ("n", "sum", "min", "max", "sumsq")

# Metrics that also get a percentile sketch: a DDSketch-style log histogram, where a value
# v > 0 is counted in bin ceil(log(v) / log(GAMMA)) and 0 in `zeros`. Sketches merge by adding
# counts, so p50/p90/p99 stay answerable at every tier within (GAMMA - 1) / (GAMMA + 1) = 1%.
SKETCH_GAMMA = 1.02


# What a document keeps of one job's value (n == 1): min, max and sumsq are sum, sum and sum²,
# so they are left out (about half of a one-job document); readers take them from `sum`.
IMPLIED_BY_ONE = ("min", "max", "sumsq")


def stored(stats: dict) -> dict:
    """A statistic as documents keep it: without what n == 1 implies (see IMPLIED_BY_ONE)."""
    if stats["n"] == 1:
        return {k: v for k, v in stats.items() if k not in IMPLIED_BY_ONE}
    return stats


def full(stats: dict) -> dict:
    """A stored statistic with min, max and sumsq, whether or not the document left them out."""
    if "min" in stats:
        return stats
    value = stats["sum"]
    return {**stats, "min": value, "max": value, "sumsq": value * value}


def merge(into: dict, other: dict) -> dict:
    """Merge two {n, sum, min, max, sumsq[, sketch]} statistics (stored ones too): counts and
    sums add, extremes extend, sketch bins add. A sketch survives only when both sides have
    one: half a sketch would give wrong percentiles."""
    into, other = full(into), full(other)
    merged = {
        "n": into["n"] + other["n"],
        "sum": into["sum"] + other["sum"],
        "min": min(into["min"], other["min"]),
        "max": max(into["max"], other["max"]),
        "sumsq": into["sumsq"] + other["sumsq"],
    }
    if "sketch" in into and "sketch" in other:
        bins = dict(into["sketch"]["bins"])
        for index, count in other["sketch"]["bins"].items():
            bins[index] = bins.get(index, 0) + count
        merged["sketch"] = {"gamma": into["sketch"]["gamma"], "zeros": into["sketch"]["zeros"] + other["sketch"]["zeros"],
                            "bins": bins}
    return merged


def sketch(bins: list[int], zeros: int) -> dict:
    """The stored form of a sketch from the bin index of every positive value."""
    counts: dict[str, int] = {}
    for index in bins:
        counts[str(index)] = counts.get(str(index), 0) + 1
    return {"gamma": SKETCH_GAMMA, "zeros": int(zeros), "bins": counts}
