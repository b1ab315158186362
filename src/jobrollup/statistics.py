"""Mergeable statistics, as stored in documents: no Spark here.

Per metric we keep what merges exactly across buckets and tiers: n (jobs with a value), sum,
min, max and the sum of squares. Means and deviations are computed when read, never stored,
so no later tier ever averages averages. The Spark side that computes them from job records
is jobrollup.spark.aggregate.
"""

from __future__ import annotations

from collections import Counter

STATISTICS = ("n", "sum", "min", "max", "sumsq")

# Metrics that also get a percentile sketch: a DDSketch-style log histogram, where a value
# v > 0 is counted in bin ceil(log(v) / log(GAMMA)) and 0 in `zeros`. Sketches merge by adding
# counts, so p50/p90/p99 stay answerable at every tier within (GAMMA - 1) / (GAMMA + 1) = 1%.
SKETCH_GAMMA = 1.02


def merge(into: dict, other: dict) -> dict:
    """Merge two {n, sum, min, max, sumsq[, sketch]} statistics: counts and sums add, extremes
    extend, sketch bins add. A sketch survives only when both sides have one: half a sketch
    would give wrong percentiles."""
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


def merge_into(into: dict | None, other: dict) -> dict:
    """`merge(into, other)` in place (into is a statistic this fold owns; None starts one from a
    copy of `other`): the same values, in the same order of additions, without a new dict per
    step. `other` is never changed."""
    if into is None:
        into = dict(other)
        if "sketch" in other:
            into["sketch"] = {**other["sketch"], "bins": dict(other["sketch"]["bins"])}
        return into
    into["n"] += other["n"]
    into["sum"] += other["sum"]
    into["min"] = min(into["min"], other["min"])
    into["max"] = max(into["max"], other["max"])
    into["sumsq"] += other["sumsq"]
    if "sketch" in into:
        if "sketch" in other:
            mine, theirs = into["sketch"], other["sketch"]
            bins = mine["bins"]
            for index, count in theirs["bins"].items():
                bins[index] = bins.get(index, 0) + count
            mine["zeros"] += theirs["zeros"]
        else:
            del into["sketch"]
    return into


def sketch(bins: list[int], zeros: int) -> dict:
    """The stored form of a sketch from the bin index of every positive value."""
    # Counted by the bin's number, named as text once per bin: a view's bucket holds a bin for
    # every one of its jobs (millions in a night), and two str() per bin were a tenth of an
    # executor's time building documents. Counter counts in C, but costs more on short lists.
    if len(bins) > 32:
        counts = Counter(bins)
    else:
        counts = {}
        for index in bins:
            counts[index] = counts.get(index, 0) + 1
    return {"gamma": SKETCH_GAMMA, "zeros": int(zeros), "bins": {str(index): count for index, count in counts.items()}}
