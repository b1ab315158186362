"""Tests of the synthetic FWJR generator (no Spark)."""

import collections
import datetime as dt
import gzip
import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # runs from a checkout without installing the package
    sys.path.insert(0, str(REPO / "src"))

from jobrollup.sources.fwjr import generate as gen  # noqa: E402

DAY = dt.date(2021, 11, 5)
DAY_START = int(dt.datetime(2021, 11, 5, tzinfo=dt.timezone.utc).timestamp())
TS_LOW = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc).timestamp()
TS_HIGH = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc).timestamp()


def reject_reason(line: str):
    """An independent reading of the reject rules of docs/job-records.md (None: accepted)."""
    try:
        report = json.loads(line)
    except ValueError:
        return "malformed_json"
    if not isinstance(report, dict) or not isinstance(report.get("meta_data", {}), dict):
        return "wrong_type"
    steps = report.get("steps", [])
    if not isinstance(steps, (list, dict)):
        return "wrong_type"
    for step in steps.values() if isinstance(steps, dict) else steps:
        if not isinstance(step, dict):
            return "wrong_type"
        if not all(isinstance(group, dict) for group in step.get("performance", {}).values()):
            return "wrong_type"
        for key in ("errors", "output"):
            if not isinstance(step.get(key, []), list) or \
                    not all(isinstance(x, dict) for x in step.get(key, [])):
                return "wrong_type"
    ts = report.get("meta_data", {}).get("ts")
    if ts is None:
        return "missing_ts"
    if isinstance(ts, str):
        try:
            ts = float(ts.strip())
        except ValueError:
            return "bad_ts"
    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not TS_LOW <= ts < TS_HIGH:
        return "bad_ts"
    return None


@pytest.fixture(scope="module")
def big_day():
    """A few thousand jobs with generous shares, shared by the share tests."""
    lines, summary = gen.generate_day(DAY, 4000, seed=3, late_share=0.1, malformed_share=0.05)
    reports = [json.loads(line) for line in lines if reject_reason(line) is None]
    return lines, summary, reports


def step_list(report):
    steps = report["steps"]
    return [{"name": name, **step} for name, step in steps.items()] \
        if isinstance(steps, dict) else steps


def metric_values(reports):
    for report in reports:
        for step in step_list(report):
            if step["name"].startswith("cmsRun"):
                for group in ("cpu", "memory", "storage"):
                    yield step["performance"][group]


# --- determinism -----------------------------------------------------------------------------

def test_same_seed_same_lines_other_seed_other_lines():
    first, summary = gen.generate_day(DAY, 300, seed=1, malformed_share=0.02)
    again, summary_again = gen.generate_day(DAY, 300, seed=1, malformed_share=0.02)
    other, _ = gen.generate_day(DAY, 300, seed=2, malformed_share=0.02)
    assert first == again and summary == summary_again
    assert first != other
    assert len(first) == summary["reports"] == 300


def test_day_is_a_prefix_of_a_bigger_day():
    small, _ = gen.generate_day(DAY, 100, seed=5)
    big, _ = gen.generate_day(DAY, 200, seed=5)
    assert big[:100] == small


def test_day_identical_alone_or_with_neighbours(tmp_path):
    gen.generate(tmp_path / "three", DAY - dt.timedelta(days=1), 3, 200, seed=4, workers=1)
    gen.generate(tmp_path / "alone", DAY, 1, 200, seed=4, workers=1)
    relative = Path("2021/11/05/fwjr-00000.jsonl")
    alone = (tmp_path / "alone" / relative).read_bytes()
    assert (tmp_path / "three" / relative).read_bytes() == alone
    lines, _ = gen.generate_day(DAY, 200, seed=4, malformed_share=0.01)
    assert alone.decode() == "\n".join(lines) + "\n"


def test_workers_do_not_change_the_files(tmp_path):
    one = gen.generate(tmp_path / "one", DAY, 2, 150, seed=6, workers=1)
    two = gen.generate(tmp_path / "two", DAY, 2, 150, seed=6, workers=2)
    assert one == two
    for path in sorted((tmp_path / "one").rglob("*.jsonl")):
        twin = tmp_path / "two" / path.relative_to(tmp_path / "one")
        assert twin.read_bytes() == path.read_bytes()


def test_a_threaded_caller_gets_spawned_workers_and_the_same_files(tmp_path):
    # a Spark driver runs threads: forking it could deadlock, so the pool spawns instead
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert gen._pool_context().get_start_method() == "spawn"
        spawned = gen.generate(tmp_path / "spawned", DAY, 2, 100, seed=6, workers=2)
    finally:
        stop.set()
    alone = gen.generate(tmp_path / "alone", DAY, 2, 100, seed=6, workers=1)
    assert spawned == alone
    for path in (tmp_path / "alone").rglob("*.jsonl"):
        twin = tmp_path / "spawned" / path.relative_to(tmp_path / "alone")
        assert twin.read_bytes() == path.read_bytes()


# --- content ---------------------------------------------------------------------------------

def test_summary_matches_the_lines(big_day):
    lines, summary, reports = big_day
    malformed = [line for line in lines if reject_reason(line) is not None]
    late = [r for r in reports if r["meta_data"]["ts"] < DAY_START]
    assert summary == {"reports": 4000, "malformed": len(malformed), "late": len(late)}


def test_shares_roughly_respected(big_day):
    lines, summary, reports = big_day
    assert 0.04 < summary["malformed"] / 4000 < 0.06
    assert 0.08 < summary["late"] / len(reports) < 0.12
    states = collections.Counter(r["meta_data"]["jobstate"] for r in reports)
    assert set(states) == {"success", "jobfailed", "submitfailed"}
    assert 0.8 < states["success"] / len(reports) < 0.9
    assert set(r["meta_data"]["jobtype"] for r in reports) == set(gen.JOBTYPES)
    assert 5 <= sum(":" in r["task"] for r in reports) <= 80          # ~1% CRAB
    assert 1 <= sum(isinstance(r["steps"], dict) for r in reports) <= 30  # ~0.2% old form


def test_metric_anomaly_shares(big_day):
    values = [value for group in metric_values(big_day[2]) for value in group.values()]
    # every cmsRun step with measurements has 27 metric slots; ~2% of them are left empty
    slots = 27 * sum(1 for report in big_day[2] for step in step_list(report)
                     if step["name"].startswith("cmsRun") and step["performance"]["cpu"])
    assert 0.02 < sum(v in (-1, -2) for v in values) / slots < 0.04
    assert 0.01 < 1 - len(values) / slots < 0.03
    assert 0.005 < sum(isinstance(v, str) for v in values) / slots < 0.015
    assert all(isinstance(v, (int, float)) or math.isfinite(float(v)) for v in values)


def test_failures_and_exit_codes(big_day):
    reports = big_day[2]
    failed = [r for r in reports if r["meta_data"]["jobstate"] != "success"]
    codes = [error["exitCode"] for r in failed for step in step_list(r)
             for error in step["errors"]]
    assert 0.2 < sum(isinstance(code, str) for code in codes) / len(codes) < 0.4
    first_codes = [[int(e["exitCode"]) for s in step_list(r) for e in s["errors"]] for r in failed]
    assert any(c[0] == 99999 and len(c) > 1 and c[1] != 99999 for c in first_codes)
    assert any(c == [99999] for c in first_codes)
    assert {int(code) for code in codes} <= {8001, 8020, 8021, 8028, 50660, 50661, 50664, 60450,
                                            61300, 71304, 11003, 40, 80, 86, 99303, 99999}
    assert any(step["site"] == {} for r in failed for step in step_list(r))
    assert any(step["name"] in ("JobKilled", "NoJobReport", "PerformanceError")
               for r in failed for step in step_list(r))


def test_report_shape(big_day):
    reports = big_day[2]
    names = collections.Counter(step["name"] for r in reports for step in step_list(r))
    assert {"cmsRun1", "cmsRun2", "stageOut1", "logArch1", "upload1", "logCollect1"} <= set(names)
    for report in reports:
        assert set(report["meta_data"]) >= {"agent_ver", "fwjr_id", "host", "jobtype",
                                            "jobstate", "ts"}
        assert len(report["wmaid"]) == 32 and report["wmats"] >= DAY_START
        for step in step_list(report):
            if not step["name"].startswith("cmsRun"):
                assert not any(step["performance"].values())
    assert len({r["wmaid"] for r in reports}) == len(reports)
    assert len({r["meta_data"]["host"] for r in reports}) == 5
    assert 30 <= len({s["site"] for r in reports for s in step_list(r)
                      if isinstance(s["site"], str)}) <= 50
    eras = {o["acquisitionEra"] for r in reports for s in step_list(r) for o in s["output"]}
    assert 15 <= len(eras - {None}) <= 25
    assert len({r["task"].split("/")[1] for r in reports if r["task"].startswith("/")}) > 300
    hours = {int(r["meta_data"]["ts"]) // 3600 % 24 for r in reports}
    assert hours == set(range(24))


# --- malformed and late ----------------------------------------------------------------------

def test_every_valid_line_parses_with_a_ts_and_malformed_lines_are_rejected(big_day):
    lines, summary, _ = big_day
    reasons = collections.Counter(reject_reason(line) for line in lines)
    assert reasons[None] == 4000 - summary["malformed"]
    assert set(reasons) - {None} == set(gen.MALFORMED_KINDS.values())
    assert all("\n" not in line and "\r" not in line and line.strip() for line in lines)
    assert all(len(line.splitlines()) == 1 for line in lines)


def test_late_reports_lie_in_the_day_before(big_day):
    _, summary, reports = big_day
    day_ts = [r["meta_data"]["ts"] for r in reports]
    late = [ts for ts in day_ts if ts < DAY_START]
    assert all(DAY_START - 86400 <= ts < DAY_START for ts in late)
    assert all(DAY_START <= ts < DAY_START + 86400 for ts in day_ts if ts >= DAY_START)
    assert len(late) == summary["late"]
    assert any(isinstance(ts, float) for ts in day_ts)


# --- writing ---------------------------------------------------------------------------------

def test_write_reports_verbatim_lines_and_chunks(tmp_path):
    items = ["{truncated", {"meta_data": {"ts": 1}}, "[1, 2]", {"x": 2}, "ok"]
    paths = gen.write_reports(tmp_path / "new", items, lines_per_file=2)
    assert [Path(p).name for p in paths] == ["fwjr-00000.jsonl", "fwjr-00001.jsonl",
                                             "fwjr-00002.jsonl"]
    text = "".join(Path(p).read_text() for p in paths)
    assert text.splitlines() == ["{truncated", '{"meta_data":{"ts":1}}', "[1, 2]", '{"x":2}', "ok"]
    json_path, = gen.write_reports(tmp_path, [{"a": 1}], fmt="json", name="x")
    assert json_path.endswith("x.json")


def test_jsonl_gz_is_readable_with_gzip(tmp_path):
    totals = gen.generate(tmp_path, DAY, 1, 200, seed=2, fmt="jsonl.gz", workers=1)
    path = tmp_path / "2021/11/05/fwjr-00000.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines == gen.generate_day(DAY, 200, seed=2, malformed_share=0.01)[0]
    assert totals["files"] == 1 and totals["bytes"] == path.stat().st_size


def test_parquet_round_trip(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    totals = gen.generate(tmp_path, DAY, 1, 600, seed=8, fmt="parquet", malformed_share=0.05,
                          files_per_day=2, workers=1)
    lines, summary = gen.generate_day(DAY, 600, seed=8, malformed_share=0.05)
    valid = [json.loads(line) for line in lines if reject_reason(line) is None]
    files = sorted((tmp_path / "2021/11/05").glob("*.parquet"))
    assert [f.name for f in files] == ["fwjr-00000.parquet", "fwjr-00001.parquet"]
    table = pq.read_table(files[0]).to_pylist() + pq.read_table(files[1]).to_pylist()
    assert totals["malformed"] == 0 and totals["late"] == summary["late"]
    assert len(table) == totals["reports"] == len(valid) == 600 - summary["malformed"]
    assert [row["wmaid"] for row in table] == [r["wmaid"] for r in valid]
    steps = [step for row in table for step in row["steps"]]
    assert all(step["name"] for step in steps)  # old dict-form steps got their names
    assert all(isinstance(e["exitCode"], str) for s in steps for e in s["errors"])
    assert any(step["site"] is None for step in steps)
    cpu = [s["performance"]["cpu"] for s in steps if s["name"].startswith("cmsRun")]
    assert all(v is None or isinstance(v, float) for group in cpu for v in group.values())


def test_parquet_skips_malformed_lines(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    lines, summary = gen.generate_day(DAY, 300, seed=9, malformed_share=0.2)
    path, = gen.write_reports(tmp_path, lines, fmt="parquet")
    assert pq.read_metadata(path).num_rows == 300 - summary["malformed"]


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        gen.write_reports(tmp_path, [], fmt="avro")
    with pytest.raises(ValueError):
        gen.generate(tmp_path, DAY, 1, 10, late_share=1.5)


# --- command line ----------------------------------------------------------------------------

def test_main_prints_a_summary(tmp_path, capsys):
    code = gen.main([str(tmp_path), "--start", "2021-11-05", "--days", "2", "--jobs-per-day", "50",
                     "--files-per-day", "2", "--workers", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "100 reports" in out and "4 files" in out and "reports/s" in out
    assert len(list(tmp_path.rglob("*.jsonl"))) == 4


def test_bin_generate_runs_in_the_projects_environment():
    # bin/generate runs through bin/_python (the project's .venv), never the system python3,
    # so that --format parquet finds pyarrow
    assert "bin/_python" in (REPO / "bin" / "generate").read_text()
    result = subprocess.run([str(REPO / "bin" / "generate"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--jobs-per-day" in result.stdout
    assert "examples:" in result.stdout
