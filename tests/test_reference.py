"""The rules of docs/job-records.md, one by one, checked against tests/reference.py.

These tests double as executable documentation of the rules: each builds a tiny report that
shows one rule. `report(...)` gives a valid minimal report to start from.
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
import math
import random

import pytest

try:
    from tests import reference as ref
except ImportError:  # tests/ is not importable as a package: pytest put tests/ on sys.path
    import reference as ref

METRICS, SCOPE_KEYS, SKETCHED = ref.METRICS, ref.SCOPE_KEYS, ref.SKETCHED
aggregate, assert_documents_equal = ref.aggregate, ref.assert_documents_equal
bucket_end, bucket_start, documents_key = ref.bucket_end, ref.bucket_start, ref.documents_key
normalise, parse_line, read_lines, read_parquet = (ref.normalise, ref.parse_line, ref.read_lines,
                                                   ref.read_parquet)

TS = 1767225600  # 2026-01-01T00:00:00Z, a Thursday


def report(steps=None, ts=TS, task="/WF_A/TaskOne/Sub", **meta):
    meta_data = {"ts": ts, "host": "agent1", "jobtype": "Processing", "jobstate": "success"}
    meta_data.update(meta)
    r = {"meta_data": meta_data, "task": task}
    if steps is not None:
        r["steps"] = steps
    return r


def line(obj) -> str:
    return json.dumps(obj)


def record(r: dict) -> dict:
    """normalise() of a report that must pass parse_line()."""
    parsed = parse_line(json.dumps(r, allow_nan=True))
    assert isinstance(parsed, dict), parsed
    return normalise(parsed)


def cmsrun(name="cmsRun1", **perf):
    """A cmsRun step with performance values given as group__metric=value."""
    groups: dict = {"cpu": {}, "memory": {}, "storage": {}, "multicore": {}}
    for k, v in perf.items():
        g, m = k.split("__")
        groups.setdefault(g, {})[m] = v
    return {"name": name, "site": "T2_CH_CERN", "errors": [], "output": [],
            "performance": groups}


# ---------------------------------------------------------------------------------------------
# The public constants


def test_metric_table_matches_doc():
    assert sum(len(m) for m in METRICS.values()) == 27
    assert set(METRICS) == {"cpu", "memory", "storage"}
    assert METRICS["cpu"]["AvgEventCPU"] == "sum"
    assert METRICS["cpu"]["NumberOfStreams"] == "max"
    assert METRICS["cpu"]["MinEventTime"] == "min"
    assert METRICS["cpu"]["EventThroughput"] == "mean"
    assert METRICS["memory"] == {"PeakValueRss": "max", "PeakValueVsize": "max"}
    assert METRICS["storage"]["readNumOps"] == "sum"
    assert METRICS["storage"]["readMaxMSec"] == "max"
    assert {m for m, r in METRICS["storage"].items() if r == "mean"} == {
        "readAveragekB", "readCachePercentageOps", "readMBSec", "readPercentageOps"}
    assert SCOPE_KEYS == ["workflow", "task", "host", "site", "jobstate", "jobtype",
                          "acquisitionEra", "exitCode", "exitStep"]


def test_record_has_every_field():
    rec = record(report([cmsrun()]))
    assert set(rec) == {"ts", "events", *SCOPE_KEYS} | {
        f"{g}.{m}" for g, ms in METRICS.items() for m in ms}


# ---------------------------------------------------------------------------------------------
# Rejects


@pytest.mark.parametrize("text", ["", "   ", "\t\r", "\r\n"])
def test_blank_lines_are_skipped(text):
    assert parse_line(text) is None


@pytest.mark.parametrize("text", ["{", "{'a': 1}", "nul", "{\"a\": 1} x", "[1,]", b"\xff{}"])
def test_malformed_json(text):
    assert parse_line(text) == "malformed_json"


@pytest.mark.parametrize("text", ["[]", "[{}]", "3", "null", '"s"', "true"])
def test_json_that_is_not_an_object_is_wrong_type(text):
    assert parse_line(text) == "wrong_type"


@pytest.mark.parametrize("mutate", [
    lambda r: r.update(meta_data="x"),
    lambda r: r.update(meta_data=[r["meta_data"]]),
    lambda r: r.update(steps="cmsRun1"),
    lambda r: r.update(steps=3),
    lambda r: r.update(steps=True),
    lambda r: r.update(steps=[1]),
    lambda r: r.update(steps=["cmsRun1"]),
    lambda r: r.update(steps=[[cmsrun()]]),
    lambda r: r.update(steps={"cmsRun1": 3}),                 # old form, a step not an object
    lambda r: r["steps"][0]["performance"].update(cpu=[]),
    lambda r: r["steps"][0]["performance"].update(memory=5),
    lambda r: r["steps"][0]["performance"].update(multicore=[]),  # every group is checked
    lambda r: r["steps"][0].update(performance=[]),              # performance itself too
    lambda r: r["steps"][0].update(errors={}),
    lambda r: r["steps"][0].update(errors="8001"),
    lambda r: r["steps"][0].update(output={"events": 3}),
    lambda r: r["steps"][0].update(errors=[8001]),
    lambda r: r["steps"][0].update(output=["file.root"]),
    lambda r: r["steps"].append({"name": "stageOut1", "errors": [{"exitCode": 1}, "x"]}),
])
def test_structural_fields_of_the_wrong_type(mutate):
    r = report([cmsrun()])
    mutate(r)
    assert parse_line(line(r)) == "wrong_type"


@pytest.mark.parametrize("mutate", [
    lambda r: r.update(steps=None),
    lambda r: r.update(steps=[None, cmsrun()]),
    lambda r: r.update(steps={}),
    lambda r: r.update(steps=[]),
    lambda r: r["steps"][0].update(performance=None),
    lambda r: r["steps"][0]["performance"].update(cpu=None),
    lambda r: r["steps"][0].update(errors=None, output=None),
    lambda r: r["steps"][0].update(errors=[None], output=[None]),
    lambda r: r["steps"][0].update(input="not checked"),        # input[] is not structural
    lambda r: r["steps"][0]["performance"]["cpu"].update(TotalJobCPU=[1]),  # a value, not a group
])
def test_null_is_absent_not_wrong_type(mutate):
    r = report([cmsrun()])
    mutate(r)
    assert isinstance(parse_line(line(r)), dict)


def test_wrong_type_comes_before_missing_ts():
    r = report("x")
    del r["meta_data"]["ts"]
    assert parse_line(line(r)) == "wrong_type"


@pytest.mark.parametrize("mutate", [
    lambda r: r.pop("meta_data"),
    lambda r: r.update(meta_data=None),
    lambda r: r.update(meta_data={}),
    lambda r: r["meta_data"].pop("ts"),
    lambda r: r["meta_data"].update(ts=None),
])
def test_missing_ts(mutate):
    r = report([cmsrun()])
    mutate(r)
    assert parse_line(line(r)) == "missing_ts"


@pytest.mark.parametrize("ts", [
    True, False, "abc", "", " ", [], {}, [TS], "nan", "inf", "1_767_225_600", "0x69000000",
    "1767225600s", 946684799, 946684799.999, 4102444800, 4102444800.0, -TS, 0,
    "4102444800",
])
def test_bad_ts(ts):
    assert parse_line(line(report([cmsrun()], ts=ts))) == "bad_ts"


@pytest.mark.parametrize("text", ['{"meta_data": {"ts": NaN}}', '{"meta_data": {"ts": Infinity}}',
                                  '{"meta_data": {"ts": 1e999}}'])
def test_non_finite_ts_is_bad_ts(text):
    assert parse_line(text) == "bad_ts"


@pytest.mark.parametrize("ts, expected", [
    (TS, float(TS)),
    (TS + 0.25, TS + 0.25),
    (str(TS), float(TS)),
    (f" {TS}.5 ", TS + 0.5),        # a numeric string, whitespace trimmed
    ("1.7672256e9", 1767225600.0),
    (946684800, 946684800.0),       # 2000-01-01 is inside
    (4102444799.5, 4102444799.5),   # 2100-01-01 is not
    (float(TS), float(TS)),
])
def test_good_ts(ts, expected):
    rec = record(report([cmsrun()], ts=ts))
    assert rec["ts"] == expected and isinstance(rec["ts"], float)


# ---------------------------------------------------------------------------------------------
# workflow, task, host, jobtype, jobstate


@pytest.mark.parametrize("task, workflow, last", [
    ("/WF_A/TaskOne/Sub", "WF_A", "Sub"),
    ("/WF_A/TaskOne", "WF_A", "TaskOne"),
    ("//WF_A//TaskOne//", "WF_A", "TaskOne"),
    ("/WF_A", "WF_A", "WF_A"),
    ("123:abc", "123:abc", "123:abc"),    # CRAB
    ("/", None, None),
    ("", None, None),
    (None, None, None),
    (42, None, None),
])
def test_workflow_and_task(task, workflow, last):
    rec = record(report([cmsrun()], task=task))
    assert (rec["workflow"], rec["task"]) == (workflow, last)


def test_absent_task():
    r = report([cmsrun()])
    del r["task"]
    rec = record(r)
    assert rec["workflow"] is None and rec["task"] is None


def test_host_jobtype_jobstate_come_from_meta_data():
    rec = record(report([cmsrun()], host="vocms0255", jobtype="Merge", jobstate="jobfailed"))
    assert (rec["host"], rec["jobtype"], rec["jobstate"]) == ("vocms0255", "Merge", "jobfailed")
    r = report([cmsrun()])
    del r["meta_data"]["host"]
    r["meta_data"]["jobtype"] = None
    r["meta_data"]["jobstate"] = 3  # not a string: null
    rec = record(r)
    assert (rec["host"], rec["jobtype"], rec["jobstate"]) == (None, None, None)


# ---------------------------------------------------------------------------------------------
# site


def test_site_is_first_non_empty_string():
    steps = [{"name": "JobKilled", "site": {}}, {"name": "x", "site": ""},
             {"name": "y", "site": None}, {"name": "z"}, {"name": "w", "site": ["T1"]},
             {"name": "v", "site": {"name": "T2_XX"}},
             {"name": "cmsRun1", "site": "T2_CH_CERN"}, {"name": "stageOut1", "site": "T1_US_FNAL"}]
    assert record(report(steps))["site"] == "T2_CH_CERN"


def test_site_unknown():
    assert record(report([{"name": "cmsRun1", "site": {}}]))["site"] is None
    assert record(report([]))["site"] is None
    assert record(report())["site"] is None


def test_site_from_any_step_not_only_cmsrun():
    steps = [{"name": "logArch1", "site": "T1_US_FNAL_Disk"}, {"name": "cmsRun1", "site": "T2"}]
    assert record(report(steps))["site"] == "T1_US_FNAL_Disk"


# ---------------------------------------------------------------------------------------------
# acquisitionEra


def test_acquisition_era_first_non_empty_over_steps_then_outputs():
    steps = [
        {"name": "cmsRun1", "output": [{"acquisitionEra": ""}, {"acquisitionEra": None}, {}]},
        {"name": "stageOut1", "output": [{"acquisitionEra": 7}, {"acquisitionEra": "Run2024A"},
                                         {"acquisitionEra": "Run2024B"}]},
        {"name": "cmsRun2", "output": [{"acquisitionEra": "Run2024C"}]},
    ]
    assert record(report(steps))["acquisitionEra"] == "Run2024A"
    assert record(report([{"name": "cmsRun1", "output": []}]))["acquisitionEra"] is None


# ---------------------------------------------------------------------------------------------
# exitCode, exitStep


def errs(name, *codes):
    return {"name": name, "errors": [{"exitCode": c, "type": "t"} for c in codes]}


@pytest.mark.parametrize("steps, code, step", [
    ([], 0, None),                                               # no code at all
    ([errs("cmsRun1")], 0, None),
    ([errs("cmsRun1", 0)], 0, None),                             # only 0: no exit step
    ([errs("cmsRun1", 8001)], 8001, "cmsRun1"),
    ([errs("cmsRun1", "8001")], 8001, "cmsRun1"),                # a string
    ([errs("cmsRun1", " 8020 ")], 8020, "cmsRun1"),              # spaces trimmed
    ([errs("cmsRun1", 8001.0)], 8001, "cmsRun1"),                # integral number
    ([errs("cmsRun1", 8001.5, 8028)], 8028, "cmsRun1"),          # 8001.5 is no code
    ([errs("cmsRun1", "8001.0", 8028)], 8001, "cmsRun1"),        # the string "8001.0" is a code
    ([errs("cmsRun1", 2 ** 31, 8028)], 8028, "cmsRun1"),          # beyond int32: no code
    ([errs("cmsRun1", True, 50660)], 50660, "cmsRun1"),          # true is not 1
    ([errs("cmsRun1", None, "x", "", {}, [1], 60450)], 60450, "cmsRun1"),
    ([errs("cmsRun1", 0, 99999, 8021)], 8021, "cmsRun1"),        # 0 and 99999 give way
    ([errs("cmsRun1", 99999), errs("stageOut1", 60450)], 60450, "stageOut1"),
    ([errs("cmsRun1", 99999), errs("stageOut1", 0)], 99999, "cmsRun1"),
    ([errs("logArch1", 0), errs("cmsRun1", 99999), errs("x", 99999)], 99999, "cmsRun1"),
    ([errs("cmsRun1", 8001, 8020), errs("cmsRun2", 50664)], 8001, "cmsRun1"),  # first wins
    ([errs("NoJobReport", -1)], -1, "NoJobReport"),               # negative integers are codes
    ([errs("cmsRun1", "+71304")], 71304, "cmsRun1"),
    ([errs("cmsRun1", 2 ** 70, 11003)], 11003, "cmsRun1"),       # beyond int64: no code
])
def test_exit_code(steps, code, step):
    rec = record(report(steps))
    assert (rec["exitCode"], rec["exitStep"]) == (code, step)
    assert type(rec["exitCode"]) is int


def test_exit_code_floats_from_json_text():
    r = parse_line('{"meta_data": {"ts": %d}, "steps": [{"name": "s", "errors": '
                   '[{"exitCode": 8.001e3}, {"exitCode": NaN}]}]}' % TS)
    assert normalise(r)["exitCode"] == 8001


def test_exit_step_of_a_step_without_a_name():
    rec = record(report([{"errors": [{"exitCode": 8001}]}]))
    assert (rec["exitCode"], rec["exitStep"]) == (8001, None)


# ---------------------------------------------------------------------------------------------
# events


def outs(name, *events):
    return {"name": name, "output": [{"events": e} for e in events]}


@pytest.mark.parametrize("steps, events", [
    ([], None),
    ([outs("cmsRun1")], None),
    ([outs("cmsRun1", 100, 250, 30)], 250),                     # output modules: max, not sum
    ([outs("cmsRun1", 100), outs("cmsRun2", 100)], 100),        # chained steps: max, not sum
    ([outs("cmsRun1", 100), outs("stageOut1", 900)], 100),      # only cmsRun steps
    ([outs("stageOut1", 900)], None),
    ([outs("cmsRun1", 0)], 0),                                  # zero is a value
    ([outs("cmsRun1", -1, -5)], None),                          # non-negative only
    ([outs("cmsRun1", "500", 20)], 500),                        # a string holding a number counts
    ([outs("cmsRun1", "abc", 20)], 20),                         # other strings do not
    ([outs("cmsRun1", True, None, {}, 20)], 20),
    ([outs("cmsRun1", 40.0)], 40),
    ([outs("cmsRun1", 40.5, 3)], 3),                            # not a whole number of events
])
def test_events(steps, events):
    rec = record(report(steps))
    assert rec["events"] == events
    assert rec["events"] is None or type(rec["events"]) is int


# ---------------------------------------------------------------------------------------------
# performance


def test_metrics_combine_over_cmsrun_steps_by_their_rule():
    steps = [
        cmsrun("cmsRun1", cpu__TotalJobCPU=10, cpu__MaxEventCPU=3, cpu__MinEventCPU=0.5,
               cpu__EventThroughput=2, memory__PeakValueRss=1000, storage__readMBSec=1),
        cmsrun("cmsRun2", cpu__TotalJobCPU=5.5, cpu__MaxEventCPU=7, cpu__MinEventCPU=0.25,
               cpu__EventThroughput=4, memory__PeakValueRss=800, storage__readMBSec=4),
        cmsrun("cmsRun3", cpu__EventThroughput=9),
    ]
    rec = record(report(steps))
    assert rec["cpu.TotalJobCPU"] == 15.5
    assert rec["cpu.MaxEventCPU"] == 7.0
    assert rec["cpu.MinEventCPU"] == 0.25
    assert rec["cpu.EventThroughput"] == 5.0       # (2 + 4 + 9) / 3
    assert rec["memory.PeakValueRss"] == 1000.0
    assert rec["storage.readMBSec"] == 2.5         # cmsRun3 has no value: it takes no part
    assert rec["cpu.TotalJobTime"] is None         # no value anywhere: null, not 0
    assert all(isinstance(v, float) for k, v in rec.items() if "." in k and v is not None)


def test_only_steps_named_cmsrun_carry_metrics():
    steps = [cmsrun("stageOut1", cpu__TotalJobCPU=100), cmsrun("CMSRUN1", cpu__TotalJobCPU=100),
             cmsrun("xcmsRun1", cpu__TotalJobCPU=100), cmsrun("cmsRun", cpu__TotalJobCPU=1),
             cmsrun("cmsRun12", cpu__TotalJobCPU=2)]
    assert record(report(steps))["cpu.TotalJobCPU"] == 3.0


@pytest.mark.parametrize("value, expected", [
    (5, 5.0), (0, 0.0), (-3, -3.0), ("5", 5.0), (" 2.5 ", 2.5), ("1e3", 1000.0), (".5", 0.5),
    (-1, None), (-2, None), (-1.0, None), ("-1", None), ("-2.0", None),
    ("nan", None), ("-nan", None), ("inf", None), ("", None), ("abc", None), ("1_0", None),
    (True, None), (None, None), ({}, None), ([3], None), ("1e999", None),
])
def test_metric_value(value, expected):
    rec = record(report([cmsrun(cpu__TotalJobCPU=value)]))
    assert rec["cpu.TotalJobCPU"] == expected


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_metric_values_do_not_count(literal):
    text = ('{"meta_data": {"ts": %d}, "steps": [{"name": "cmsRun1", "performance": '
            '{"cpu": {"TotalJobCPU": %s}}}, {"name": "cmsRun2", "performance": '
            '{"cpu": {"TotalJobCPU": 4}}}]}' % (TS, literal))
    assert normalise(parse_line(text))["cpu.TotalJobCPU"] == 4.0


def test_groups_not_kept_are_ignored():
    step = cmsrun()
    step["performance"]["cmssw"] = {"TotalJobCPU": 99, "cpu": {"TotalJobCPU": 99}}
    step["performance"]["multicore"] = {"TotalJobCPU": 99}
    step["performance"]["cpu"]["NotAMetric"] = 1
    rec = record(report([step]))
    assert rec["cpu.TotalJobCPU"] is None and "cpu.NotAMetric" not in rec


# ---------------------------------------------------------------------------------------------
# Old reports: steps as an object


def test_steps_as_object_in_key_order_keys_are_names():
    steps = {
        "logArch1": {"site": {}, "errors": [{"exitCode": 99999}]},
        "cmsRun1": {"name": "ignored", "site": "T2_IT_Bari",
                    "errors": [{"exitCode": "8020"}], "output": [{"events": 7}],
                    "performance": {"cpu": {"TotalJobCPU": 2}}},
        "stageOut1": {"site": "T1_US_FNAL", "errors": [{"exitCode": 60450}],
                      "output": [{"events": 99, "acquisitionEra": "Era1"}],
                      "performance": {"cpu": {"TotalJobCPU": 50}}},
    }
    rec = record(report(steps))
    assert rec["site"] == "T2_IT_Bari"
    assert (rec["exitCode"], rec["exitStep"]) == (8020, "cmsRun1")
    assert rec["events"] == 7 and rec["cpu.TotalJobCPU"] == 2.0
    assert rec["acquisitionEra"] == "Era1"


def test_steps_as_object_null_step_is_skipped():
    rec = record(report({"cmsRun1": None, "cmsRun2": {"output": [{"events": 3}]}}))
    assert rec["events"] == 3


# ---------------------------------------------------------------------------------------------
# Buckets


def utc(*args):
    return dt.datetime(*args)


def epoch(moment: dt.datetime) -> float:
    return (moment - dt.datetime(1970, 1, 1)).total_seconds()


def test_new_year_2026_is_a_thursday():
    ts = epoch(utc(2026, 1, 1, 13, 45, 10))
    assert bucket_start(ts, "hour") == utc(2026, 1, 1, 13)
    assert bucket_start(ts, "day") == utc(2026, 1, 1)
    assert bucket_start(ts, "week") == utc(2025, 12, 29)          # Monday
    assert bucket_start(ts, "month") == utc(2026, 1, 1)
    assert bucket_end(utc(2025, 12, 29), "week") == utc(2026, 1, 5)
    # the last second of 2025 is still in the same ISO week, but in the previous month
    last = epoch(utc(2025, 12, 31, 23, 59, 59))
    assert bucket_start(last, "week") == utc(2025, 12, 29)
    assert bucket_start(last, "month") == utc(2025, 12, 1)
    assert bucket_end(utc(2025, 12, 1), "month") == utc(2026, 1, 1)


def test_leap_day_2028():
    ts = epoch(utc(2028, 2, 29, 23, 59, 59))
    assert bucket_start(ts, "day") == utc(2028, 2, 29)
    assert bucket_end(utc(2028, 2, 29), "day") == utc(2028, 3, 1)
    assert bucket_start(ts, "hour") == utc(2028, 2, 29, 23)
    assert bucket_end(utc(2028, 2, 29, 23), "hour") == utc(2028, 3, 1)
    assert bucket_start(ts, "week") == utc(2028, 2, 28)           # a Monday
    assert bucket_start(ts, "month") == utc(2028, 2, 1)
    assert bucket_end(utc(2028, 2, 1), "month") == utc(2028, 3, 1)
    assert bucket_start(epoch(utc(2028, 3, 1)), "month") == utc(2028, 3, 1)


@pytest.mark.parametrize("start, end", [
    (utc(2026, 1, 1), utc(2026, 2, 1)), (utc(2026, 2, 1), utc(2026, 3, 1)),
    (utc(2027, 2, 1), utc(2027, 3, 1)), (utc(2026, 4, 1), utc(2026, 5, 1)),
    (utc(2026, 12, 1), utc(2027, 1, 1)),
])
def test_month_ends(start, end):
    assert bucket_end(start, "month") == end
    assert bucket_start(epoch(end) - 0.5, "month") == start
    assert bucket_start(epoch(end), "month") == end


def test_start_inclusive_end_exclusive_and_fractions_floor():
    b = epoch(utc(2026, 3, 2))  # a Monday
    for p in ("hour", "day", "week"):
        assert bucket_start(b, p) == utc(2026, 3, 2)
    assert bucket_start(b, "month") == utc(2026, 3, 1)
    assert bucket_start(b - 1e-6, "hour") == utc(2026, 3, 1, 23)
    assert bucket_start(b - 1e-6, "week") == utc(2026, 2, 23)
    assert bucket_start(b + 3599.999999, "hour") == utc(2026, 3, 2)


def test_weeks_start_on_monday_for_every_weekday():
    monday = utc(2026, 3, 2)
    for i in range(7):
        assert bucket_start(epoch(monday + dt.timedelta(days=i, hours=23)), "week") == monday


def test_unknown_precision():
    with pytest.raises(ValueError):
        bucket_start(TS, "year")
    with pytest.raises(ValueError):
        aggregate([], "minute")


# ---------------------------------------------------------------------------------------------
# Aggregation


def test_aggregate_small():
    r1 = report([{**cmsrun(cpu__TotalJobCPU=10, memory__PeakValueRss=100),
                  "output": [{"events": 5}]}], ts=TS + 10, task=None)
    r2 = report([{**cmsrun(cpu__TotalJobCPU=30), "output": [{"events": 7}]}],
                ts=TS + 3000, task=None)
    r3 = report([{**cmsrun(), "output": []}], ts=TS + 3599, task=None)     # no events, no metric
    r4 = report([cmsrun(cpu__TotalJobCPU=1)], ts=TS + 3600, task=None)    # next hour
    records = [record(r) for r in (r1, r2, r3, r4)]
    hour = aggregate(records, "hour")
    scope = (None, None, "agent1", "T2_CH_CERN", "success", "Processing", None, 0, None)
    k0 = (utc(2026, 1, 1, 0), utc(2026, 1, 1, 1), "hour", *scope)
    k1 = (utc(2026, 1, 1, 1), utc(2026, 1, 1, 2), "hour", *scope)
    assert set(hour) == {k0, k1}
    # 1.02**116 < 10 <= 1.02**117, 1.02**171 < 30 <= 1.02**172, 1.02**232 < 100 <= 1.02**233;
    # 1 = 1.02**0 falls in bin 0.
    assert hour[k0] == {"count": 3, "events": 12, "performance": {
        "cpu": {"TotalJobCPU": {"n": 2, "sum": 40.0, "min": 10.0, "max": 30.0, "sumsq": 1000.0,
                                "sketch": {"gamma": 1.02, "zeros": 0, "bins": {"117": 1, "172": 1}}}},
        "memory": {"PeakValueRss": {"n": 1, "sum": 100.0, "min": 100.0, "max": 100.0,
                                    "sumsq": 10000.0,
                                    "sketch": {"gamma": 1.02, "zeros": 0, "bins": {"233": 1}}}}}}
    assert hour[k1] == {"count": 1, "events": 0, "performance": {
        "cpu": {"TotalJobCPU": {"n": 1, "sum": 1.0, "min": 1.0, "max": 1.0, "sumsq": 1.0,
                                "sketch": {"gamma": 1.02, "zeros": 0, "bins": {"0": 1}}}}}}
    week = aggregate(records, "week")
    assert list(week) == [(utc(2025, 12, 29), utc(2026, 1, 5), "week", *scope)]
    assert next(iter(week.values()))["count"] == 4


def test_aggregate_scope_separates_and_nulls_group_together():
    a = record(report([{"name": "cmsRun1", "site": {}}], task="/W/T"))
    b = record(report([{"name": "cmsRun1", "site": {}}], task="/W/T"))
    c = record(report([{"name": "cmsRun1", "site": "T2_A"}], task="/W/T"))
    d = record(report([errs("cmsRun1", 8001)], task="/W/T"))
    out = aggregate([a, b, c, d], "day")
    counts = {(k[6], k[10]): v["count"] for k, v in out.items()}   # (site, exitCode)
    assert counts == {(None, 0): 2, (None, 8001): 1, ("T2_A", 0): 1}
    assert all(v["performance"] == {} for v in out.values())


def test_aggregate_window():
    recs = [record(report([], ts=TS + s)) for s in (-1, 0, 86399, 86400)]
    out = aggregate(recs, "hour", (utc(2026, 1, 1), utc(2026, 1, 2)))
    assert sum(v["count"] for v in out.values()) == 2
    assert {k[0] for k in out} == {utc(2026, 1, 1, 0), utc(2026, 1, 1, 23)}
    assert aggregate(recs, "day", (utc(2030, 1, 1), utc(2030, 1, 2))) == {}


def _random_records(seed: int, n: int) -> list[dict]:
    rnd = random.Random(seed)
    keys = [f"{g}.{m}" for g, ms in METRICS.items() for m in ms]
    out = []
    for _ in range(n):
        rec = {
            "ts": TS + rnd.uniform(-10 * 86400, 40 * 86400),
            "workflow": rnd.choice(["W1", "W2", None]), "task": rnd.choice(["T1", None]),
            "host": rnd.choice(["h1", "h2"]), "site": rnd.choice(["S1", "S2", None]),
            "jobstate": "success", "jobtype": rnd.choice(["Merge", None]),
            "acquisitionEra": rnd.choice([None, "E"]),
            "exitCode": rnd.choice([0, 0, 8001, 99999]), "exitStep": rnd.choice([None, "cmsRun1"]),
            "events": rnd.choice([None, rnd.randrange(1000)]),
        }
        for k in keys:
            rec[k] = rnd.choice([None, rnd.uniform(-5, 1e4)])
        out.append(rec)
    return out


def _naive_aggregate(records, precision):
    """A plain loop: the obvious way, to check the pandas groupby (dropna, NaN keys, ...)."""
    out: dict = {}
    for r in records:
        start = bucket_start(r["ts"], precision)
        key = (start, bucket_end(start, precision), precision, *(r[k] for k in SCOPE_KEYS))
        doc = out.setdefault(key, {"count": 0, "events": 0, "performance": {}})
        doc["count"] += 1
        doc["events"] += r["events"] or 0
        for g, ms in METRICS.items():
            for m in ms:
                v = r[f"{g}.{m}"]
                if v is None:
                    continue
                s = doc["performance"].setdefault(g, {}).setdefault(
                    m, {"n": 0, "sum": 0.0, "min": math.inf, "max": -math.inf, "sumsq": 0.0})
                s["n"] += 1
                s["sum"] += v
                s["sumsq"] += v * v
                s["min"] = min(s["min"], v)
                s["max"] = max(s["max"], v)
                if f"{g}.{m}" in SKETCHED:  # the log histogram, bin by bin
                    sk = s.setdefault("sketch", {"gamma": 1.02, "zeros": 0, "bins": {}})
                    if v == 0:
                        sk["zeros"] += 1
                    elif v > 0:
                        i = 0
                        while 1.02 ** i < v:      # smallest i with v <= 1.02**i ...
                            i += 1
                        while 1.02 ** (i - 1) >= v:  # ... from either side
                            i -= 1
                        sk["bins"][str(i)] = sk["bins"].get(str(i), 0) + 1
    return out


def _as_documents(expected: dict) -> list[dict]:
    docs = []
    for key, v in expected.items():
        scope = dict(zip(SCOPE_KEYS, key[3:]))
        scope.update(start_date=key[0], end_date=key[1], timeframe_precision=key[2])
        docs.append({"_id": repr(key), "scope": scope, "count": v["count"], "events": v["events"],
                     "performance": copy.deepcopy(v["performance"]), "run_id": "r1"})
    return docs


@pytest.mark.parametrize("precision", ["hour", "day", "week", "month"])
def test_aggregate_matches_a_plain_loop(precision):
    records = _random_records(7, 1500)
    expected = aggregate(records, precision)
    assert sum(v["count"] for v in expected.values()) == len(records)
    assert_documents_equal(_as_documents(_naive_aggregate(records, precision)), expected)


# ---------------------------------------------------------------------------------------------
# Reading files


def test_read_lines_plain_and_gzip(tmp_path):
    good = line(report([{**cmsrun(cpu__TotalJobCPU=1), "errors": [{"exitCode": "8001"}]}]))
    (tmp_path / "a.jsonl").write_text("\n".join([good, "", "  ", "{", "[1]", good]) + "\n")
    with gzip.open(tmp_path / "b.json.gz", "wt") as f:
        f.write(good + "\r\n" + line(report([], ts=None)) + "\n" + line(report([], ts="x")))
    records, rejects = read_lines([tmp_path / "a.jsonl", str(tmp_path / "b.json.gz")])
    assert len(records) == 3 and all(r["exitCode"] == 8001 for r in records)
    assert rejects == {"malformed_json": 1, "wrong_type": 1, "missing_ts": 1, "bad_ts": 1}
    # a directory stands for its JSON files
    assert len(read_lines(tmp_path)[0]) == 3


def test_read_lines_invalid_utf8(tmp_path):
    # the byte is replaced by U+FFFD, as Spark's text reader does: then ts is no number
    (tmp_path / "a.jsonl").write_bytes(b'{"meta_data": {"ts": "\xff"}}\n')
    assert read_lines(tmp_path / "a.jsonl") == ([], {"bad_ts": 1})


@pytest.mark.parametrize("steps, jobstate, code", [
    ([], "jobfailed", None),                         # a failed job without a code: unknown
    ([errs("cmsRun1", "x", 8001.5)], "jobfailed", None),   # codes that cannot be read
    ([errs("cmsRun1", 0)], "jobfailed", 0),          # the report says 0
    ([], "success", 0),                              # a successful job exits 0
    ([], None, None),
])
def test_exit_code_unknown_unless_said(steps, jobstate, code):
    rec = record(report(steps, jobstate=jobstate))
    assert rec["exitCode"] == code and rec["exitStep"] is None


def test_read_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [
        report([{**cmsrun(cpu__TotalJobCPU=2.0), "errors": [{"exitCode": "8001"}],
                 "output": [{"events": 10, "acquisitionEra": "E"}]},
                {**cmsrun("stageOut1"), "errors": [{"exitCode": "60450"}],
                 "output": [{"events": None, "acquisitionEra": None}]}]),
        report([{**cmsrun(cpu__TotalJobCPU=None), "errors": [],
                 "output": [{"events": None, "acquisitionEra": None}]}], ts=TS + 1),
    ]
    for r in rows:  # Parquet cannot hold a struct without fields: give every group one
        for step in r["steps"]:
            for g in ("cpu", "memory", "storage", "multicore"):
                step["performance"][g].setdefault("TotalJobCPU" if g == "cpu" else "x", None)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "x.parquet")
    recs = read_parquet([tmp_path / "x.parquet"])
    assert [(r["exitCode"], r["exitStep"], r["events"], r["cpu.TotalJobCPU"], r["acquisitionEra"])
            for r in recs] == [(8001, "cmsRun1", 10, 2.0, "E"), (0, None, None, None, None)]
    assert recs == [record(rows[0]), record(rows[1])]


# ---------------------------------------------------------------------------------------------
# Comparing with documents


def _sample_expected():
    return aggregate(_random_records(3, 300), "day")


def test_documents_key():
    doc = {"scope": {"workflow": "W", "task": "T", "host": "h", "site": None, "jobstate": "s",
                     "jobtype": "j", "acquisitionEra": None, "exitCode": 8001,
                     "exitStep": "cmsRun1", "start_date": utc(2026, 1, 1),
                     "end_date": utc(2026, 1, 2), "timeframe_precision": "day"}}
    assert documents_key(doc) == (utc(2026, 1, 1), utc(2026, 1, 2), "day", "W", "T", "h", None,
                                  "s", "j", None, 8001, "cmsRun1")
    aware = copy.deepcopy(doc)
    aware["scope"]["start_date"] = dt.datetime(2026, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert documents_key(aware)[0] == utc(2026, 1, 1)


def test_assert_documents_equal_tolerates_last_bits():
    expected = _sample_expected()
    docs = _as_documents(expected)
    for d in docs:
        for g in d["performance"].values():
            for s in g.values():
                s["sum"] *= 1 + 1e-13
                s["sumsq"] *= 1 - 1e-13
    assert_documents_equal(docs, expected)
    # a document without performance equals one with performance: {}
    only = {k: v for k, v in expected.items() if v["performance"] == {}}
    assert_documents_equal([{k: v for k, v in d.items() if k != "performance"}
                            for d in _as_documents(only)], only)


def test_assert_documents_equal_reports_differences():
    expected = _sample_expected()
    docs = _as_documents(expected)
    docs.pop(0)
    docs[0]["count"] += 1
    docs[1]["scope"]["site"] = "ELSEWHERE"
    docs[2]["scope"]["exitCode"] = float(docs[2]["scope"]["exitCode"])
    perf = next(d for d in docs[3:] if d["performance"])
    group = next(iter(perf["performance"].values()))
    next(iter(group.values()))["sum"] += 1.0
    with pytest.raises(AssertionError) as err:
        assert_documents_equal(docs, expected)
    text = str(err.value)
    assert "expected documents missing" in text and "not expected" in text
    assert "count=" in text and "site='ELSEWHERE'" in text
    assert "is neither an int nor null" in text and "sum=" in text


def test_assert_documents_equal_reports_metric_presence():
    expected = _sample_expected()
    docs = _as_documents(expected)
    d = next(d for d in docs if d["performance"])
    g = next(iter(d["performance"]))
    d["performance"][g]["Bogus"] = {"n": 1, "sum": 1.0, "min": 1.0, "max": 1.0, "sumsq": 1.0}
    with pytest.raises(AssertionError, match="Bogus should be absent"):
        assert_documents_equal(docs, expected)
    docs = _as_documents(expected)
    d = next(d for d in docs if d["performance"])
    d["performance"].pop(next(iter(d["performance"])))
    with pytest.raises(AssertionError, match="missing"):
        assert_documents_equal(docs, expected)


def test_reference_shares_no_code_with_the_implementation():
    source = open(ref.__file__).read()
    assert "jobrollup" not in source.replace("src/jobrollup", "")
