"""The Spark normaliser of FWJR reports against tests/reference.py, record for record.

Awkward reports made at random (a fixed seed): zero to seven steps of which any may be a
cmsRun step, so that both ways the metrics are combined are taken (the first steps read by
position, and the higher-order functions for reports with more cmsRun steps); sentinels,
non-finite values, strings holding numbers, values of the wrong type, missing groups and
metrics, steps keyed by name. Every field must be the reference's to the bit.
"""

from __future__ import annotations

import json
import random

from pyspark.sql import functions as F

import reference
from jobrollup.sources.fwjr import METRICS, SOURCE
from jobrollup.sources.fwjr import step_metrics
from jobrollup.sources.fwjr.normalise import job_records

TS = 1767225600
NAMES = ["cmsRun1", "cmsRun2", "cmsRun3", "cmsRun12", "stageOut1", "logArch1", "CMSRUN1", None]
VALUES = [5, 2.5, 0, 0.0, -0.0, -3, 1e308, 7.25, "5", " 2.5 ", "1e3", "-0", -1, -2, -1.0, "-1", "-2.0",
          "nan", "inf", "", "abc", True, None, {}, [3], "1e999", float("nan"), float("inf"), -float("inf")]
# Only what the parser reads as numbers (NaN and Infinity included): reports parsed once.
NUMBERS = [5, 2.5, 0, 0.0, -0.0, -3, 1e308, 7.25, -1, -2, -1.0, None, 2 ** 64 + 1, 5e-324, 0.1,
           float("nan"), float("inf"), -float("inf")]
FIELDS = ("workflow", "task", "host", "site", "jobstate", "jobtype", "acquisitionEra", "exitCode", "exitStep",
          "events")


def _step(rng: random.Random, cms_share: float, values: list = VALUES) -> dict:
    name = rng.choice(NAMES[:4]) if rng.random() < cms_share else rng.choice(NAMES[4:])
    performance = {}
    for group, metrics in METRICS.items():
        if rng.random() < 0.1:
            continue                           # a missing group
        performance[group] = {m: rng.choice(values) for m in metrics if rng.random() < 0.8}
    step = {"site": rng.choice(["T2_CH_CERN", "", {}]), "performance": performance,
            "errors": [_error(rng)] if rng.random() < 0.3 else [],
            "output": [{"events": rng.choice([10, "20", -1, 3.5, None]), "acquisitionEra": "Era"}]}
    if name is not None:
        step["name"] = name
    return step


def _error(rng: random.Random) -> dict:
    """An error of a step: its code, and fields the job records skip (the parser is not given
    them), of any type and size: they must never change a record or reject a line."""
    error = {"exitCode": rng.choice([0, 8001, "8020", 99999, None])}
    if rng.random() < 0.5:
        error["details"] = rng.choice(["Job has exceeded maxWallTime\n" * 400, {"trace": [1, {"a": "b"}]}, [1, 2],
                                       3.5, None, ""])
        error["type"] = rng.choice(["PerformanceKill", 7, {}, None])
    return error


def _reports(seed: int = 15, count: int = 240, values: list = VALUES) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        steps = [_step(rng, 0.7, values) for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4, 7]))]
        report = {"meta_data": {"ts": TS + i, "host": "agent1", "jobtype": "Processing",
                                "jobstate": rng.choice(["success", "jobfailed"])},
                  "task": "/WF/Task"}
        if i % 9 == 0:    # very old reports: steps keyed by name (names then unique)
            report["steps"] = {f"{s.get('name') or 'step'}_{k}" if k else (s.get("name") or "step"): s
                               for k, s in enumerate(steps)}
        elif i % 13 != 0:
            report["steps"] = steps
        lines.append(json.dumps(report, allow_nan=True))
    # Equal extremes (the first is kept: -0.0 or 0.0), sums that overflow or round.
    for values in ([0.0, -0.0], [-0.0, 0.0], [3.0, 3.0, -0.0], [1e308, 1e308], [0.1, 0.2, 0.3], [-0.0, 0.0, 0.0]):
        steps = [{"name": f"cmsRun{i + 1}", "performance": {g: {m: v for m in metrics} for g, metrics in METRICS.items()}}
                 for i, v in enumerate(values)]
        lines.append(json.dumps({"meta_data": {"ts": TS}, "steps": steps}))
    return lines


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return repr(a) == repr(b)        # bit for bit: -0.0 is not 0.0 here
    return a == b and type(a) is type(b)


def test_reports_with_one_to_many_cmsrun_steps_match_the_reference(spark):
    _check_against_the_reference(spark, _reports())


def test_reports_whose_metrics_are_all_numbers_match_the_reference(spark):
    """The reports the parser takes at its first try (metrics read as numbers, not as text),
    with numbers written as no JSON library writes them: past a double's range, an exponent
    in capitals, more digits than a double holds."""
    lines = _reports(seed=16, count=120, values=NUMBERS)
    steps = [{"name": "cmsRun1", "performance": {"cpu": {"TotalJobCPU": 0, "MaxEventCPU": 0, "MinEventCPU": 0}}}]
    template = json.dumps({"meta_data": {"ts": TS}, "steps": steps})
    for literal in ("1E400", "-1e400", "123456789012345678901234567890", "0.30000000000000004441", "1E-400", "-0"):
        lines.append(template.replace(": 0", f": {literal}"))
    _check_against_the_reference(spark, lines)


def _check_against_the_reference(spark, lines: list[str]) -> None:
    cms_counts = [sum(1 for name, _ in reference._steps(json.loads(one)) if reference._is_cmsrun(name))
                  for one in lines]
    assert max(cms_counts) > step_metrics.UNROLLED_STEPS and 0 in cms_counts  # both paths taken
    frame = spark.createDataFrame([(one, "test.jsonl") for one in lines], "value string, file string")
    records = job_records(frame).withColumn("ts_micros", F.unix_micros("ts")).collect()
    assert len(records) == len(lines)
    for one, row in zip(lines, records):   # a projection keeps the order of one partition's rows
        assert row["reject_reason"] is None, one
        expected = reference.normalise(reference.parse_line(one))
        got = {f: row[f] for f in FIELDS}
        got.update({f"{g}.{m}": row[name] for g, m, name in SOURCE.metric_columns})
        assert row["ts_micros"] == round(expected["ts"] * 1e6), one
        differs = {k: (got[k], expected[k]) for k in got if not _same(got[k], expected[k])}
        assert not differs, f"{differs} in {one}"
