"""The job's performance metrics from its cmsRun steps (docs/job-records.md): Spark expressions.

Almost every report has one or two cmsRun steps, so the first UNROLLED_STEPS are read by
position (F.get), which Spark compiles into the job's generated code; only a report with more
steps goes through the higher-order functions (F.transform/F.filter/F.aggregate), which Spark
interprets row by row and which were about half of the normaliser's time. Both give the same
numbers, bit for bit: the values in step order, the first of equal extremes, sums from 0.0.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

# Reports with more cmsRun steps than this take the interpreted path. Each unrolled step adds
# 27 value expressions to the generated code: more would cost compile time on every run.
UNROLLED_STEPS = 2
SENTINELS = (-1.0, -2.0)  # -1 stands for "inf", -2 for "-nan": not measurements


def number(text: Column) -> Column:
    """The value as a double when it is a number or a string holding one; else null."""
    return F.trim(text).try_cast("double")


def is_finite(value: Column) -> Column:
    return ~F.isnan(value) & (F.abs(value) != float("inf"))


def measurement(text: Column) -> Column:
    """A metric's value of one step when it counts (finite, not a sentinel); else null."""
    value = number(text)
    return F.when(is_finite(value) & ~value.isin(*SENTINELS), value)


def step_values(cms_steps: Column, group: str, metric: str) -> list[Column]:
    """The metric's counted value of each of the first UNROLLED_STEPS cmsRun steps (null when
    the step is not there, or its value does not count)."""
    return [measurement(F.get(cms_steps, i)["performance"][group][metric]) for i in range(UNROLLED_STEPS)]


def combined(cms_steps: Column, values: list[Column], group: str, metric: str, rule: str) -> Column:
    """The job's value: `rule` over `values` (step_values, possibly computed in an earlier
    projection) when the report has at most UNROLLED_STEPS cmsRun steps, else over all of them."""
    return F.when(F.size(cms_steps) <= UNROLLED_STEPS, _unrolled(values, rule)).otherwise(
        _interpreted(cms_steps, group, metric, rule))


def _unrolled(values: list[Column], rule: str) -> Column:
    if rule == "max":   # greatest/least skip nulls and keep the first of equals, as array_max/min do
        return F.greatest(*values) if len(values) > 1 else values[0]
    if rule == "min":
        return F.least(*values) if len(values) > 1 else values[0]
    n = sum((F.when(v.isNotNull(), F.lit(1)).otherwise(F.lit(0)) for v in values[1:]),
            F.when(values[0].isNotNull(), F.lit(1)).otherwise(F.lit(0)))
    # x + 0.0 is x for every x the sum can hold (it starts from 0.0, so never -0.0): a missing
    # value adds nothing, and the sum is the interpreted one's to the bit.
    total = F.lit(0.0)
    for v in values:
        total = total + F.coalesce(v, F.lit(0.0))
    if rule == "sum":
        return F.when(n > 0, total)
    if rule == "mean":
        return F.when(n > 0, total / n)
    raise ValueError(f"unknown combine rule {rule!r}")


def _interpreted(cms_steps: Column, group: str, metric: str, rule: str) -> Column:
    # Each value is parsed once: these expressions are large, and Java methods are limited to 64 KB.
    values = F.filter(
        F.transform(cms_steps, lambda s: number(s["performance"][group][metric])),
        lambda v: is_finite(v) & ~v.isin(*SENTINELS))
    if rule == "max":
        return F.array_max(values)
    if rule == "min":
        return F.array_min(values)
    empty = F.struct(F.lit(0.0).alias("sum"), F.lit(0).alias("n"))
    totals = lambda acc, v: F.struct((acc["sum"] + v).alias("sum"), (acc["n"] + 1).alias("n"))
    if rule == "sum":
        return F.aggregate(values, empty, totals, lambda acc: F.when(acc["n"] > 0, acc["sum"]))
    if rule == "mean":
        return F.aggregate(values, empty, totals, lambda acc: F.when(acc["n"] > 0, acc["sum"] / acc["n"]))
    raise ValueError(f"unknown combine rule {rule!r}")
