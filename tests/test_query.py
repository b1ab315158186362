"""Ad hoc queries (jobrollup.queries, bin/query) against pandas over the raw generated records.

The documents come from the real aggregation (Spark) and the real cleanup; the expected
answers are computed with pandas straight from the job records of tests/reference.py, never
from the documents. After the cleanup the store holds, for December 2025 .. January 10 2026:

    month  2025-12                  (its days and three of its weeks rolled up and dropped)
    week   2025-12-22 .. 12-29      (kept: younger than the week retention)
    day    2025-12-29 .. 2026-01-09 (Jan 8 rolled up from its hours)
    hour   2026-01-09 .. 2026-01-11
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import plan_for, write_conf

import reference
from jobrollup import cleanup, sources
from jobrollup import query as queries
from jobrollup.cli import query as query_cli
from jobrollup.query import Bucket, QueryError
from jobrollup.sources.fwjr import generate
from jobrollup.spark import aggregate_job
from jobrollup.store.mongo import MongoStore
from jobrollup.tiers import Window, next_start

FWJR = sources.get("fwjr")

D, T = dt.date, dt.datetime
ROOT = Path(__file__).resolve().parents[1]
NOW = T(2026, 1, 11)
RETENTION = {"hour": "2 days", "day": "1 week", "week": "2 weeks", "month": "forever"}
CPU = "cpu.TotalJobCPU"


# -- data: raw records (pandas) and the tiered documents (Spark + cleanup) ----------------------

@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("query") / "fwjr"
    generate.generate(root, D(2025, 12, 1), 42, 40, seed=21, malformed_share=0.0, late_share=0.05, workers=2)
    records, _ = reference.read_lines(root)
    frame = pd.DataFrame.from_records(records)
    frame["time"] = pd.to_datetime(frame["ts"].map(math.floor), unit="s")
    frame["events"] = frame["events"].fillna(0).astype("int64")
    return root, frame


@pytest.fixture(scope="module")
def tiered(spark, mongo_server, conf, raw):
    root, _ = raw
    store = MongoStore(mongo_server.uri, f"q_{uuid.uuid4().hex[:12]}")
    for first, last, precision in ((D(2025, 12, 1), D(2026, 1, 7), "day"), (D(2026, 1, 8), D(2026, 1, 10), "hour")):
        aggregate_job.run(spark, plan_for(conf, root, first, last, precision), store)
    cleanup.Cleanup(store, FWJR, RETENTION, now=NOW).run()
    yield store
    store.client.drop_database(store.db.name)
    store.close()


def held(store) -> dict:
    out = {}
    for e in store.db.fwjr_buckets.find({"state": "held"}):
        out.setdefault(e["precision"], []).append(e["start"])
    return {p: (min(s), max(s), len(s)) for p, s in out.items()}


def ask(store, now=NOW, **kwargs):
    return queries.answer(store, queries.query(now=now, **kwargs))


# -- the expected answers, from the records ------------------------------------------------------

def within(frame, start, end):
    return frame[(frame["time"] >= start) & (frame["time"] < end)]


def expected(frame: pd.DataFrame, by: list[str]) -> dict:
    """{group: {count, events, failure_rate, cpu statistics}} computed by pandas."""
    out = {}
    groups = frame.groupby(by, dropna=False) if by else [((), frame)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        key = tuple(None if isinstance(k, float) and math.isnan(k) else k for k in key)
        cpu = part[CPU].dropna()
        out[key] = {"count": len(part), "events": int(part["events"].sum()),
                    "failure_rate": float((part["jobstate"] != "success").mean()),
                    f"{CPU}.n": len(cpu), f"{CPU}.sum": float(cpu.sum()),
                    f"{CPU}.mean": float(cpu.mean()) if len(cpu) else math.nan,
                    f"{CPU}.min": float(cpu.min()) if len(cpu) else math.nan,
                    f"{CPU}.max": float(cpu.max()) if len(cpu) else math.nan,
                    f"{CPU}.std": float(cpu.std(ddof=1)) if len(cpu) > 1 else math.nan}
    return out


def got(answer: pd.DataFrame, by: list[str]) -> dict:
    out = {}
    for row in answer.to_dict("records"):
        key = tuple(row.pop(k) for k in by)
        key = tuple(k.to_pydatetime() if isinstance(k, pd.Timestamp) else k for k in key)
        out[key] = row
    return out


def assert_same(answer: pd.DataFrame, want: dict, by: list[str]):
    have = got(answer, by)
    assert set(have) == set(want), f"groups differ: extra {set(have) - set(want)}, missing {set(want) - set(have)}"
    for key, row in have.items():
        for column, value in row.items():
            if column in want[key]:
                expect = want[key][column]
                if isinstance(expect, float) and math.isnan(expect):
                    assert math.isnan(value), (key, column, value)
                else:
                    assert value == pytest.approx(expect, rel=1e-7, abs=1e-9), (key, column, value, expect)


ALL = ["count", "events", "failure_rate", f"{CPU}:mean,min,max,sum,n,std"]


# -- across tiers --------------------------------------------------------------------------------

def test_the_cleanup_left_four_tiers(tiered):
    assert held(tiered) == {
        "month": (T(2025, 12, 1), T(2025, 12, 1), 1),
        "week": (T(2025, 12, 22), T(2025, 12, 22), 1),
        "day": (T(2025, 12, 29), T(2026, 1, 8), 11),
        "hour": (T(2026, 1, 9), T(2026, 1, 10, 23), 48),
    }


def test_a_span_across_week_day_and_hour_tiers_equals_pandas(tiered, raw):
    _, frame = raw
    answer = ask(tiered, start="2025-12-22", end="2026-01-10", where=[], metrics=ALL, by=["site"])
    tiers = [(t["precision"], t["start"], t["end"]) for t in answer.attrs["tiers"]]
    assert tiers == [("week", T(2025, 12, 22), T(2025, 12, 29)), ("day", T(2025, 12, 29), T(2026, 1, 9)),
                     ("hour", T(2026, 1, 9), T(2026, 1, 11))]
    assert answer.attrs["span"] == [T(2025, 12, 22), T(2026, 1, 11)] and answer.attrs["unknown"] == []
    assert_same(answer, expected(within(frame, T(2025, 12, 22), T(2026, 1, 11)), ["site"]), ["site"])


def test_the_whole_range_takes_the_month_and_counts_nothing_twice(tiered, raw):
    _, frame = raw
    answer = ask(tiered, start="2025-12-01", end="2026-01-10", metrics=ALL, by=["jobtype", "jobstate"])
    assert [t["precision"] for t in answer.attrs["tiers"]] == ["month", "day", "hour"]  # the week lies in the month
    part = within(frame, T(2025, 12, 1), T(2026, 1, 11))
    assert answer["count"].sum() == len(part)
    assert_same(answer, expected(part, ["jobtype", "jobstate"]), ["jobtype", "jobstate"])


def test_percentiles_across_month_day_and_hour_tiers_are_within_one_percent(tiered, raw):
    # The sketches were written by the aggregation and merged by the cleanup into the month.
    _, frame = raw
    answer = ask(tiered, start="2025-12-01", end="2026-01-10", metrics=[f"{CPU}:p50,p90,p99"], by=["jobtype"])
    assert [t["precision"] for t in answer.attrs["tiers"]] == ["month", "day", "hour"]
    part = within(frame, T(2025, 12, 1), T(2026, 1, 11))
    alpha = 0.02 / 2.02  # (gamma - 1) / (gamma + 1)
    checked = 0
    for row in answer.to_dict("records"):
        values = part[part["jobtype"] == row["jobtype"]][CPU].dropna().to_numpy()
        if len(values) == 0:  # job types without a cmsRun step report no CPU time
            assert all(math.isnan(row[f"{CPU}.{name}"]) for name in ("p50", "p90", "p99"))
            continue
        checked += 1
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            assert row[f"{CPU}.{name}"] == pytest.approx(np.quantile(values, q, method="lower"), rel=alpha * 1.0001)
    assert checked >= 3


def test_a_span_starting_inside_the_month_is_widened_or_refused(tiered, raw):
    _, frame = raw
    answer = ask(tiered, start="2025-12-10", end="2026-01-02", by=["jobtype"], metrics=["count"])
    assert answer.attrs["span"] == [T(2025, 12, 1), T(2026, 1, 3)]
    assert any("widened to whole buckets: 2025-12-01" in n and "month" in n for n in answer.attrs["notes"])
    assert_same(answer, expected(within(frame, T(2025, 12, 1), T(2026, 1, 3)), ["jobtype"]), ["jobtype"])
    with pytest.raises(QueryError, match=r"held only in the month bucket 2025-12-01 \.\. 2026-01-01.*--exact"):
        ask(tiered, start="2025-12-10", end="2026-01-02", by=["jobtype"], partial="refuse")
    # whole buckets are fine with --exact; a datetime inside a day bucket is not
    assert ask(tiered, start="2025-12-22", end="2026-01-02", partial="refuse")["count"].sum() == \
        len(within(frame, T(2025, 12, 22), T(2026, 1, 3)))
    with pytest.raises(QueryError, match=r"day bucket 2026-01-02 \.\. 2026-01-03"):
        ask(tiered, start="2025-12-22", end="2026-01-02T12:00", partial="refuse")


def test_a_time_axis_finer_than_the_data_is_refused(tiered):
    with pytest.raises(QueryError, match=r"time:day is finer than the data: 2025-12-22 \.\. 2025-12-29 is held only as week and month buckets"):
        ask(tiered, start="2025-12-22", end="2026-01-10", by=["time:day"])
    with pytest.raises(QueryError, match=r"held only as month buckets"):
        ask(tiered, start="2025-12-01", end="2026-01-10", by=["time:week"])
    with pytest.raises(QueryError, match=r"time:hour is finer than the data: 2026-01-08 \.\. 2026-01-09 is held only as day"):
        ask(tiered, start="2026-01-08", end="2026-01-10", by=["time:hour"])


def test_time_axes_from_mixed_tiers_equal_pandas(tiered, raw):
    _, frame = raw
    weeks = ask(tiered, start="2025-12-22", end="2026-01-10", by=["time:week"], metrics=ALL)
    assert [t["precision"] for t in weeks.attrs["tiers"]] == ["week", "day", "hour"]
    part = within(frame, T(2025, 12, 22), T(2026, 1, 11)).assign(week=lambda f: f["time"].dt.to_period("W-SUN").dt.start_time)
    assert_same(weeks, expected(part, ["week"]), ["week"])
    assert any("week 2026-01-05 is only partly held" in n for n in weeks.attrs["notes"])  # Jan 11 is unknown
    months = ask(tiered, start="2025-12", end="2026-01", by=["time:month", "jobstate"], metrics=["count", "failure_rate"])
    assert [t["precision"] for t in months.attrs["tiers"]] == ["month", "day", "hour"]
    assert months.attrs["unknown"] == [[T(2026, 1, 11), T(2026, 2, 1)]]
    part = within(frame, T(2025, 12, 1), T(2026, 1, 11)).assign(month=lambda f: f["time"].dt.to_period("M").dt.start_time)
    assert_same(months, expected(part, ["month", "jobstate"]), ["month", "jobstate"])


def test_held_buckets_without_jobs_are_zero_and_unknown_ranges_are_not(tiered, raw):
    _, frame = raw
    rare = within(frame, T(2025, 12, 29), T(2026, 1, 11))["site"].value_counts().index[-1]  # most days without jobs
    answer = ask(tiered, start="2025-12-29", end="2026-01-14", where=[f"site={rare}"], by=["time:day"],
                 metrics=["count", "failure_rate"])
    days = [T(2025, 12, 29) + dt.timedelta(days=i) for i in range(13)]
    assert list(answer["day"]) == days  # Jan 11 .. 14 are unknown: no row, not a zero
    part = within(frame[frame["site"] == rare], T(2025, 12, 29), T(2026, 1, 11))
    counts = part.groupby(part["time"].dt.floor("D")).size()
    assert list(answer["count"]) == [int(counts.get(d, 0)) for d in days]
    assert 0 in list(answer["count"])
    assert answer.attrs["unknown"] == [[T(2026, 1, 11), T(2026, 1, 15)]]
    assert any(n.startswith("unknown: 2026-01-11 .. 2026-01-15") for n in answer.attrs["notes"])


# -- filters -------------------------------------------------------------------------------------

def matches(series, pattern):
    return series.map(lambda v: isinstance(v, str) and __import__("re").search(pattern, v) is not None)


@pytest.mark.parametrize("where, keep", [
    (["site~^T2_"], lambda f: matches(f["site"], "^T2_")),
    (["site!~^T2_"], lambda f: ~matches(f["site"], "^T2_")),            # jobs without a site are kept
    (["site!=T2_CH_CERN,T1_US_FNAL"], lambda f: ~f["site"].isin(["T2_CH_CERN", "T1_US_FNAL"])),
    (["site=null"], lambda f: f["site"].isna()),
    (["exitCode=8001,8021", "jobstate!=success"], lambda f: f["exitCode"].isin([8001, 8021]) & (f["jobstate"] != "success")),
    (["exitCode~^(80|50)"], lambda f: f["exitCode"].astype(str).str.match("^(80|50)")),
    (["jobtype=Production", "acquisitionEra~(?i)summer", "acquisitionEra!~UL18"],
     lambda f: (f["jobtype"] == "Production") & matches(f["acquisitionEra"], "(?i)summer") & ~matches(f["acquisitionEra"], "UL18")),
])
def test_filters_equal_pandas(tiered, raw, where, keep):
    _, frame = raw
    answer = ask(tiered, start="2025-12-22", end="2026-01-10", where=where, metrics=ALL, by=["jobstate"])
    part = within(frame, T(2025, 12, 22), T(2026, 1, 11))
    part = part[keep(part).astype(bool)]
    assert len(part) > 0
    assert_same(answer, expected(part, ["jobstate"]), ["jobstate"])


def test_the_first_match_uses_an_index(tiered):
    q = queries.query(start="2025-12-29", end="2026-01-05", where=["jobtype=Production", "site=T2_US_Nebraska"],
                      now=NOW)
    stages = queries.match_stages(q.filters, "day", T(2025, 12, 29), T(2026, 1, 5), q.source)
    assert stages[0]["$match"] == {"scope.timeframe_precision": "day", "scope.site": "T2_US_Nebraska",
                                   "scope.start_date": {"$gte": T(2025, 12, 29), "$lt": T(2026, 1, 5)}}
    assert stages[1]["$match"] == {"scope.jobtype": "Production"}
    plan = tiered.db.command("explain", {"aggregate": "fwjr", "pipeline": stages, "cursor": {}})
    assert "IXSCAN" in json.dumps(plan, default=str)


# -- suggestions and exit codes ------------------------------------------------------------------

def test_suggest_lists_every_value_with_its_jobs_and_exit_code_descriptions(tiered, raw, tmp_path):
    _, frame = raw
    part = within(frame, T(2025, 12, 29), T(2026, 1, 11))
    part = part[matches(part["site"], "^T1_")]
    q = queries.query(start="2025-12-29", end="2026-01-10", where=["site~^T1_"], now=NOW)
    values = queries.suggest(tiered, q, "exitcode")
    assert dict(zip(values["exitCode"], values["count"])) == part["exitCode"].value_counts().to_dict()
    assert list(values["count"]) == sorted(values["count"], reverse=True)
    names = tmp_path / "codes.json"
    names.write_text(json.dumps({"_comment": "test", "0": "success", "8001": "CMSSW other exception"}))
    described = queries.describe_exit_codes(values, queries.load_exit_codes(names))
    rows = dict(zip(described["exitCode"], described["description"]))
    assert rows[0] == "success" and rows[8001] == "CMSSW other exception"
    unknown = [c for c in rows if c not in (0, 8001)]
    assert unknown and all(rows[c] == queries.UNKNOWN_CODE for c in unknown)  # listed, not dropped
    eras = queries.suggest(tiered, q, "acquisitionEra")
    assert dict(zip(eras["acquisitionEra"], eras["count"])) == part["acquisitionEra"].value_counts(dropna=False).rename(
        lambda v: None if isinstance(v, float) else v).to_dict()


@pytest.fixture
def cli_conf(tiered, tmp_path):
    return str(write_conf(tmp_path / "jobrollup.toml", {"mongo": {"database": tiered.db.name}}))


def test_command_suggest_table_json_csv_and_plot(tiered, raw, cli_conf, mongo_uri, tmp_path, capsys, monkeypatch):
    _, frame = raw
    base = ["--mongo-uri", mongo_uri, "--conf", cli_conf, "--now", "2026-01-11T00:00:00"]
    names = tmp_path / "codes.json"
    names.write_text(json.dumps({"8001": "CMSSW other exception"}))
    monkeypatch.setenv("JOBROLLUP_EXIT_CODES", str(names))
    assert query_cli.main(base + ["--from", "2025-12-29", "--suggest", "exitCode"]) == 0
    out = capsys.readouterr().out
    assert "day 2025-12-29 .. 2026-01-09 (11 buckets)" in out and "hour 2026-01-09 .. 2026-01-11 (48 buckets)" in out
    line = next(l for l in out.splitlines() if l.lstrip().startswith("8001 "))
    assert "CMSSW other exception" in line
    assert any(l.lstrip().startswith("0 ") and "unknown (not in the dictionary)" in l for l in out.splitlines())

    assert query_cli.main(base + ["--from", "2025-12-22", "--to", "2026-01-10", "--by", "site", "-m", "count,failure_rate",
                                  "--format", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    part = within(frame, T(2025, 12, 22), T(2026, 1, 11))
    assert sum(r["count"] for r in answer["rows"]) == len(part)
    assert [t["precision"] for t in answer["tiers"]] == ["week", "day", "hour"]

    assert query_cli.main(base + ["--from", "2025-12-22", "--to", "2026-01-10", "--by", "time:week", "-m",
                                  f"count,{CPU}:mean", "--format", "csv", "--plot", str(tmp_path / "weeks.png")]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == f"week,count,{CPU}.mean" and len(lines) == 4
    assert lines[1].startswith("2025-12-22T00:00:00,")
    assert "note: week 2026-01-05 is only partly held" in captured.err
    assert (tmp_path / "weeks.png").stat().st_size > 10_000

    assert query_cli.main(base + ["--from", "2025-12-29", "--by", "site,jobtype", "-m", "failure_rate",
                                  "--plot", str(tmp_path / "heat.png")]) == 0
    assert (tmp_path / "heat.png").stat().st_size > 10_000
    capsys.readouterr()

    assert query_cli.main(base + ["--from", "2025-12-10", "--exact"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: 2025-12-10 .. 2025-12-22 is held only in the month bucket 2025-12-01 .. 2026-01-01")
    assert query_cli.main(base + ["--from", "2025-12-22", "--by", "time:day"]) == 2
    assert "is held only as week and month buckets" in capsys.readouterr().err


def test_bad_queries_and_an_unreachable_mongodb_through_bin_query(tmp_path):
    command = str(ROOT / "bin" / "query")
    done = subprocess.run([command, "-w", "sight=T1_US_FNAL", "--by", "site"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("error: unknown scope key 'sight' (did you mean site?): choose one of workflow, task, host, "
                           "site, jobstate, jobtype, acquisitionEra, exitCode, exitStep\n")
    done = subprocess.run([command, "--by", "site", "--mongo-uri", "mongodb://127.0.0.1:9/"],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "JOBROLLUP_CONF": ""})
    assert done.returncode == 4 and done.stderr.startswith("error: MongoDB at 127.0.0.1:9 is unreachable")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("arguments, message", [
    (["-m", "cpu.TotalJobCPUs"], "unknown metric 'cpu.TotalJobCPUs' (did you mean cpu.TotalJobCPU?): cpu metrics are"),
    (["-m", "latency"], "unknown metric 'latency': choose count, events, failure_rate, success_rate, or GROUP.METRIC"),
    (["-m", "cpu.TotalJobCPU:avg"], "unknown statistic 'avg' for cpu.TotalJobCPU: choose from mean, min, max"),
    (["-w", "site~T2_(CH"], "invalid regular expression 'T2_(CH' in filter 'site~T2_(CH': missing )"),
    (["-w", "exitCode=80x1"], "filter 'exitCode=80x1': exitCode takes whole numbers (or null), not '80x1'"),
    (["--by", "time:fortnight"], "unknown precision 'fortnight' in 'time:fortnight': write time:hour, time:day"),
    (["--from", "2026-02-01", "--to", "2026-01-01"], "empty span: --from 2026-02-01 (2026-02-01) is not before --to 2026-01-01"),
    (["--from", "soon"], "--from 'soon' is not a time: write a date (2026-06-01)"),
    (["--by", "site,jobtype,time:day", "--plot", "x.png"], "--plot draws a time axis with at most one key"),
])
def test_bad_queries_name_the_problem_and_the_choices(arguments, message, capsys):
    assert query_cli.main(arguments + ["--mongo-uri", "mongodb://127.0.0.1:9/"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + message) and err.count("\n") == 1


# -- the planner alone ---------------------------------------------------------------------------

def buckets(precision, first, count):
    out, start = [], first
    for _ in range(count):
        end = next_start(start, precision)
        out.append(Bucket(precision, start, end))
        start = end
    return out


def test_the_planner_takes_the_finest_tier_and_never_a_range_twice():
    # a cleanup killed half-way: Jan 5's hours 00-05 still held, the rest retired, the day held
    held_ = buckets("hour", T(2026, 1, 5), 6) + buckets("day", T(2026, 1, 5), 3) + buckets("hour", T(2026, 1, 7), 24)
    chosen, gaps = queries.cover(held_, T(2026, 1, 5), T(2026, 1, 8), widen=True)
    assert [(b.precision, b.start) for b in chosen] == [("day", T(2026, 1, 5)), ("day", T(2026, 1, 6))] + \
        [("hour", T(2026, 1, 7, h)) for h in range(24)] and gaps == []
    # months and a week straddling them: the months, exactly; the week only where no month is held
    held_ = buckets("month", T(2026, 1, 1), 2) + buckets("week", T(2026, 1, 26), 2)
    chosen, gaps = queries.cover(held_, T(2026, 1, 1), T(2026, 3, 1), widen=True)
    assert [(b.precision, b.start) for b in chosen] == [("month", T(2026, 1, 1)), ("month", T(2026, 2, 1))]
    chosen, gaps = queries.cover(held_, T(2026, 1, 1), T(2026, 2, 9), widen=True)
    assert [(b.precision, b.start) for b in chosen] == [("month", T(2026, 1, 1)), ("month", T(2026, 2, 1))]
    chosen, gaps = queries.cover(held_, T(2026, 1, 26), T(2026, 2, 9), widen=False)
    assert [(b.precision, b.start) for b in chosen] == [("week", T(2026, 1, 26)), ("week", T(2026, 2, 2))]
    # nothing held: all of it unknown
    assert queries.cover([], T(2026, 1, 1), T(2026, 1, 2), widen=True) == ([], [(T(2026, 1, 1), T(2026, 1, 2))])



def test_a_coarser_bucket_written_after_the_finer_ones_answers_for_them():
    def at(held, minute):
        return [replace(b, written_at=T(2026, 1, 6, 3, minute)) for b in held]
    hours, day = buckets("hour", T(2026, 1, 5), 24), buckets("day", T(2026, 1, 5), 1)
    asked = lambda held, end=T(2026, 1, 6): [(b.precision, b.start) for b in
                                              queries.cover(held, T(2026, 1, 5), end, widen=True)[0]]
    every_hour = [("hour", T(2026, 1, 5, h)) for h in range(24)]
    # the day run came last: it saw the newest input and is one bucket instead of 24
    assert asked(at(hours, 0) + at(day, 5)) == [("day", T(2026, 1, 5))]
    # one hour re-run after the day: the hours are the newest computation
    assert asked(at(hours[:23], 0) + at(hours[23:], 9) + at(day, 5)) == every_hour
    # no times in the ledger (older entries): the finest tier, as before
    assert asked(hours + day) == every_hour
    # a span that holds only part of the day is not widened for it
    assert asked(at(hours, 0) + at(day, 5), T(2026, 1, 5, 12)) == every_hour[:12]
    # a week written after its days answers for them, the days around it stay
    days, week = buckets("day", T(2026, 1, 4), 9), buckets("week", T(2026, 1, 5), 1)
    chosen, gaps = queries.cover(at(days, 0) + at(week, 1), T(2026, 1, 4), T(2026, 1, 13), widen=True)
    assert [(b.precision, b.start) for b in chosen] == [("day", T(2026, 1, 4)), ("week", T(2026, 1, 5)),
                                                        ("day", T(2026, 1, 12))] and gaps == []


# -- percentiles ---------------------------------------------------------------------------------

GAMMA = 1.02


def sketch(values):
    bins = {}
    for v in values:
        index = str(math.ceil(math.log(v) / math.log(GAMMA)))
        bins[index] = bins.get(index, 0) + 1
    return {"gamma": GAMMA, "zeros": 0, "bins": bins}


def test_percentiles_come_from_merged_sketches_or_are_said_to_be_missing(store):
    rng = np.random.default_rng(3)
    values = {}
    docs = []
    for day in range(3):
        start = T(2026, 3, 2) + dt.timedelta(days=day)
        for site in ("T1_A", "T2_B"):
            v = rng.lognormal(8, 1, size=50 + 10 * day)
            values.setdefault(site, []).extend(v)
            docs.append({"_id": f"{site}{day}", "scope": {**{k: None for k in reference.SCOPE_KEYS}, "site": site,
                                                          "jobstate": "success", "exitCode": 0, "start_date": start,
                                                          "end_date": start + dt.timedelta(days=1), "timeframe_precision": "day"},
                         "count": len(v), "events": 0, "run_id": "r",
                         "performance": {"cpu": {"TotalJobCPU": {"n": len(v), "sum": float(v.sum()), "min": float(v.min()),
                                                                 "max": float(v.max()), "sumsq": float((v * v).sum()),
                                                                 "sketch": sketch(v)}}}})
    store.replace_documents("fwjr", docs)
    window = Window("day", T(2026, 3, 2), T(2026, 3, 5))
    totals = {}
    for doc in docs:
        tally = totals.setdefault(doc["scope"]["start_date"], {"count": 0, "events": 0, "documents": 0})
        tally["count"] += doc["count"]
        tally["documents"] += 1
    store.mark_buckets(FWJR, window, totals, "r", "test")
    q = queries.query(start="2026-03-02", end="2026-03-04", by=["site"], metrics=[f"{CPU}:mean,p50,p90,p99"], now=T(2026, 4, 1))
    answer = queries.answer(store, q)
    alpha = (GAMMA - 1) / (GAMMA + 1)
    assert sorted(answer["site"]) == ["T1_A", "T2_B"]
    for row in answer.to_dict("records"):
        v = np.array(values[row["site"]])
        assert row[f"{CPU}.mean"] == pytest.approx(v.mean(), rel=1e-9)
        for name, p in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            assert row[f"{CPU}.{name}"] == pytest.approx(np.quantile(v, p, method="lower"), rel=alpha * 1.0001)
    store.db.fwjr.update_one({"_id": "T2_B1"}, {"$unset": {"performance.cpu.TotalJobCPU.sketch": 1}})
    answer = queries.answer(store, q)
    assert answer[f"{CPU}.p90"].isna().all() and answer[f"{CPU}.mean"].notna().all()
    assert any(n.startswith(f"{CPU} has no percentiles stored: 1 of the 6 documents used carry no sketch")
               for n in answer.attrs["notes"])


def test_long_spans_run_as_several_pipelines_with_the_same_answer(tiered, raw):
    _, frame = raw
    q = queries.query(start="2025-12-29", end="2026-01-10", by=["site"], metrics=ALL, now=NOW)
    one = queries.answer(tiered, q, use_views=False)     # the documents: a view holds fewer
    many = queries.answer(tiered, q, max_documents=60, use_views=False)
    assert one.attrs["pipelines_run"] == 2 and many.attrs["pipelines_run"] > 8
    assert_same(many, expected(within(frame, T(2025, 12, 29), T(2026, 1, 11)), ["site"]), ["site"])
    pd.testing.assert_frame_equal(one, many, check_exact=False, rtol=1e-12)


def test_the_demo_shows_what_was_written(tiered, capsys):
    """bin/demo's last step asks through the same library as bin/query (one of the README's
    two commands: it must keep working)."""
    from jobrollup.cli import demo

    demo.show(tiered, "mongodb://example")
    out = capsys.readouterr().out
    jobs = queries.answer(tiered, queries.query(start="2026-01-01", end="2026-01-01", now=NOW))["count"].sum()
    assert f"Jobs held on 2026-01-01 in {tiered.db.name}.fwjr: {jobs:,}" in out
    assert "Busiest sites" in out and "Most frequent exit codes of failed jobs" in out
    assert "Last run:" in out


@pytest.mark.parametrize("kwargs", [
    dict(start="2025-12-29", by=["site"], metrics=["count", "failure_rate"]),
    dict(start="2026-01-09", by=["time:hour", "site"], metrics=["count", "failure_rate"]),
    dict(start="2025-12-22", to="2026-01-10", by=["jobtype", "exitStep"], metrics=[f"{CPU}:mean,min,p90"]),
    dict(start="2026-01-05", by=["time:day"], metrics=["failure_rate", "events"]),
    dict(start="2026-01-09", by=["host"], where=["site~^T2_"], metrics=["failure_rate"]),
    dict(start="2026-01-09", by=["site"], where=["site=nowhere"]),
])
def test_tables_and_json_printed_without_pandas_equal_the_frames(tiered, kwargs):
    """bin/query prints text-keyed answers from their rows, sorted in Python: what it prints is
    what the frame prints (ties of the first metric, NaN rates, null keys, empty answers)."""
    kwargs = dict(kwargs)
    end = kwargs.pop("to", "now")
    start = kwargs.pop("start")
    q = queries.query(start=None if start == "earliest" else start, end=end, now=NOW, **kwargs)
    rows = queries.answer_rows(tiered, q)
    assert rows.plain()
    frame, table = rows.frame(), rows.table()
    assert len(table) == len(frame)
    assert query_cli.render_table(table, len(table)) == query_cli.render_table(frame, len(frame))
    assert query_cli.render_json(table.head(7)) == query_cli.render_json(frame.head(7))
    assert query_cli.render_json(table) == query_cli.render_json(frame)


def test_bin_query_starts_without_pandas():
    """Importing pandas was most of bin/query's start: a table or JSON answer never needs it."""
    done = subprocess.run([os.sys.executable, "-c", "import sys, jobrollup.cli.query; print('pandas' in sys.modules)"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, check=True)
    assert done.stdout.strip() == "False"
