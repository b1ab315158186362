"""The job's performance metrics from its cmsRun steps (docs/job-records.md): Spark expressions.

Almost every report has one or two cmsRun steps, so the first UNROLLED_STEPS are read by
position, which Spark compiles into the job's generated code; only a report with more steps
goes through the higher-order functions (transform/filter/aggregate), which Spark interprets
row by row and which were about half of the normaliser's time. Both give the same numbers, bit
for bit: the values in step order, the first of equal extremes, sums from 0.0.

The expressions are SQL text: the JVM parses each projection in one call, where the same tree
built with pyspark.sql.functions takes hundreds of calls from Python to the JVM per metric
(seconds of every run before any record is read).
"""

from __future__ import annotations

# Reports with more cmsRun steps than this take the interpreted path. Each unrolled step adds
# 27 value expressions to the generated code: more would cost compile time on every run.
UNROLLED_STEPS = 2
SENTINELS = "-1.0D, -2.0D"  # -1 stands for "inf", -2 for "-nan": not measurements


def _counted(value: str) -> str:
    """SQL: whether a double counts as a measurement (finite, not a sentinel)."""
    return f"(NOT isnan({value}) AND abs({value}) != double('Infinity') AND NOT {value} IN ({SENTINELS}))"


def step_values(cms_steps: str, group: str, metric: str) -> list[str]:
    """SQL: the metric's counted value of each of the first UNROLLED_STEPS cmsRun steps (null
    when the step is not there, or its value does not count); `cms_steps` names the array column,
    whose metrics are doubles (normalise.parse_reports)."""
    values = []
    for i in range(UNROLLED_STEPS):
        value = f"get({cms_steps}, {i}).performance.{group}.{metric}"
        values.append(f"CASE WHEN {_counted(value)} THEN {value} END")
    return values


def combined(cms_steps: str, values: list[str], group: str, metric: str, rule: str) -> str:
    """SQL: the job's value, `rule` over `values` (columns of step_values, by name) when the
    report has at most UNROLLED_STEPS cmsRun steps, else over all of them."""
    return (f"CASE WHEN size({cms_steps}) <= {UNROLLED_STEPS} THEN {_unrolled(values, rule)} "
            f"ELSE {_interpreted(cms_steps, group, metric, rule)} END")


def _unrolled(values: list[str], rule: str) -> str:
    if rule == "max":   # greatest/least skip nulls and keep the first of equals, as array_max/min do
        return f"greatest({', '.join(values)})" if len(values) > 1 else values[0]
    if rule == "min":
        return f"least({', '.join(values)})" if len(values) > 1 else values[0]
    n = " + ".join(f"CASE WHEN {v} IS NOT NULL THEN 1 ELSE 0 END" for v in values)
    # x + 0.0 is x for every x the sum can hold (it starts from 0.0, so never -0.0): a missing
    # value adds nothing, and the sum is the interpreted one's to the bit.
    total = "0.0D" + "".join(f" + coalesce({v}, 0.0D)" for v in values)
    if rule == "sum":
        return f"CASE WHEN ({n}) > 0 THEN {total} END"
    if rule == "mean":
        return f"CASE WHEN ({n}) > 0 THEN ({total}) / ({n}) END"
    raise ValueError(f"unknown combine rule {rule!r}")


def _interpreted(cms_steps: str, group: str, metric: str, rule: str) -> str:
    values = (f"filter(transform({cms_steps}, s -> s.performance.{group}.{metric}), "
              f"v -> {_counted('v')})")
    if rule == "max":
        return f"array_max({values})"
    if rule == "min":
        return f"array_min({values})"
    totals = "named_struct('sum', 0.0D, 'n', 0), (acc, v) -> named_struct('sum', acc.sum + v, 'n', acc.n + 1)"
    if rule == "sum":
        return f"aggregate({values}, {totals}, acc -> CASE WHEN acc.n > 0 THEN acc.sum END)"
    if rule == "mean":
        return f"aggregate({values}, {totals}, acc -> CASE WHEN acc.n > 0 THEN acc.sum / acc.n END)"
    raise ValueError(f"unknown combine rule {rule!r}")
