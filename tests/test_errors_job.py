"""The nightly error-clustering job (jobrollup.errors) against a plain-Python tally of the
same reports: every error counted once per (bucket, cluster, scope), re-runs and killed runs."""

from __future__ import annotations

import datetime as dt
import glob
import gzip
import json
import math
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from helpers import plan_for, write_conf

from jobrollup import sources
from jobrollup.errors import job as errors, messages
from jobrollup.sources.fwjr import generate
from jobrollup.store.mongo import MongoStore
from jobrollup.tiers import floor

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fwjr_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("fwjr-errors")
    generate.generate(root, dt.date(2026, 2, 27), 3, 600, seed=5, malformed_share=0.01, workers=1)
    return root


def errors_plan(conf, root, source, day, precision="day", **changes):
    """The plan of a clustering run: every day of the window required, as bin/cluster-errors does."""
    return plan_for(conf, root, day, precision=precision, source=source,
                    collection=sources.get(source).errors_collection,
                    require_all_days=True, rejects_dir=str(Path(root).parent / f"rejects-{source}"), **changes)


def cluster(spark, store, plan, tmp_path):
    return errors.run(spark, plan, store, errors_dir=str(tmp_path / "errors"))


# -- the independent tally -----------------------------------------------------------------------

def usable_report(line: str):
    """(time, steps) of a line the job reads as a report, None for a line it rejects: not JSON,
    not an object, no numeric meta_data.ts, or steps neither a list nor a by-name object."""
    try:
        report = json.loads(line)
    except ValueError:
        return None
    meta = report.get("meta_data") if isinstance(report, dict) else None
    try:
        seconds = float(meta.get("ts")) if isinstance(meta, dict) else math.nan
    except (TypeError, ValueError):   # no ts, or not a number
        return None
    if not math.isfinite(seconds):
        return None
    steps = report.get("steps") or []
    if isinstance(steps, dict):  # old reports key their steps by name
        steps = [dict(step, name=name) for name, step in steps.items()]
    if not isinstance(steps, list):
        return None
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds), steps


def fwjr_errors_by_hand(plan):
    """(ts, message, site, exitCode, step) of every error in the plan's window, read with json."""
    found = []
    window = plan.window
    for folder in plan.required_folders + plan.optional_folders:
        for path in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
            for line in open(path, encoding="utf-8"):
                report = usable_report(line)
                if report is None or not (window.start <= report[0] < window.end):
                    continue
                ts, steps = report
                for step in steps:
                    site = step.get("site")
                    site = site if isinstance(site, str) and site.strip() else None
                    for error in step.get("errors") or []:
                        code = error.get("exitCode")
                        found.append((ts, error.get("details"), site,
                                      None if code is None else str(code).strip(), step.get("name")))
    return found


def tally(found, precision, cluster_of, keys):
    counts = Counter()
    for ts, message, *scope in found:
        template = messages.normalise(message)[0]
        if template is None:
            continue
        counts[(floor(ts, precision), cluster_of[template], *scope)] += 1
    return counts


def stored_counts(store, source, precision, keys):
    counts = Counter()
    for doc in store.db[sources.get(source).errors_collection].find({"scope.timeframe_precision": precision}):
        key = (doc["scope"]["start_date"], doc["cluster"], *[doc["scope"][k] for k in keys])
        assert key not in counts
        counts[key] = doc["count"]
    return counts


def cluster_map(store):
    return {d["template"]: d["cluster"] for d in store.db.error_templates.find()}


# -- FWJR --------------------------------------------------------------------------------------

@pytest.mark.parametrize("precision", ["day", "hour"])
def test_fwjr_error_counts_match_a_tally_by_hand(spark, store, conf, fwjr_data, tmp_path, precision):
    plan = errors_plan(conf, fwjr_data, "fwjr", dt.date(2026, 2, 28), precision)
    result = cluster(spark, store, plan, tmp_path)
    found = fwjr_errors_by_hand(plan)
    keys = sources.get("fwjr").error_scope
    expected = tally(found, precision, cluster_map(store), keys)
    assert stored_counts(store, "fwjr", precision, keys) == expected
    assert result.counts["in_window"] == len(found) > 100
    assert result.counts["rejected"] > 0                           # the generator's malformed lines
    # every error once in the assignments, in MongoDB and in the file
    assert store.db.fwjr_error_assignments.count_documents({}) == len(found)
    lines = [json.loads(line) for path in glob.glob(os.path.join(result.assignments_path, "*.json.gz"))
             for line in gzip.open(path, "rt")]
    assert len(lines) == len(found) and all(row["cluster"] for row in lines)
    # cluster documents: counts per source and precision add up, labels are templates
    clusters = list(store.db.error_clusters.find())
    assert sum(c["counts"]["fwjr"][precision] for c in clusters) == len(found)
    assert all(c["label"] and c["examples"] and c["first_seen"] <= c["last_seen"] for c in clusters)


def test_rerun_gives_the_same_documents_and_ids(spark, store, conf, fwjr_data, tmp_path):
    plan = errors_plan(conf, fwjr_data, "fwjr", dt.date(2026, 2, 28))
    cluster(spark, store, plan, tmp_path)
    first = {d["_id"]: {k: v for k, v in d.items() if k != "run_id"} for d in store.db.fwjr_errors.find()}
    templates = cluster_map(store)
    again = cluster(spark, store, plan, tmp_path)
    assert again.new_templates == 0 and again.new_clusters == 0
    assert {d["_id"]: {k: v for k, v in d.items() if k != "run_id"} for d in store.db.fwjr_errors.find()} == first
    assert cluster_map(store) == templates
    assert store.db.fwjr_error_assignments.count_documents({}) == sum(d["count"] for d in first.values())


def test_a_killed_run_then_a_rerun_counts_nothing_twice(spark, store, conf, fwjr_data, tmp_path, monkeypatch,
                                                        kill_at_write):
    plan = errors_plan(conf, fwjr_data, "fwjr", dt.date(2026, 2, 28), write_batch=50)
    kill_at_write(3)
    with pytest.raises(KeyboardInterrupt):
        cluster(spark, store, plan, tmp_path)
    monkeypatch.undo()
    assert store.db.runs.find_one({"status": "interrupted"})
    cluster(spark, store, plan, tmp_path)
    keys = sources.get("fwjr").error_scope
    expected = tally(fwjr_errors_by_hand(plan), "day", cluster_map(store), keys)
    assert stored_counts(store, "fwjr", "day", keys) == expected
    assert store.db.fwjr_error_assignments.count_documents({}) == sum(expected.values())


def test_cluster_ids_stay_from_night_to_night(spark, store, conf, fwjr_data, tmp_path):
    cluster(spark, store, errors_plan(conf, fwjr_data, "fwjr", dt.date(2026, 2, 27)), tmp_path)
    night1 = cluster_map(store)
    labels1 = {d["_id"]: d["label"] for d in store.db.error_clusters.find()}
    second = cluster(spark, store, errors_plan(conf, fwjr_data, "fwjr", dt.date(2026, 2, 28)), tmp_path)
    night2 = cluster_map(store)
    assert {t: night2[t] for t in night1} == night1
    assert {d["_id"]: d["label"] for d in store.db.error_clusters.find() if d["_id"] in labels1} == labels1
    assert second.new_templates == len(night2) - len(night1)


def test_empty_window_and_bad_messages(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    day = root / "2026" / "03" / "10"
    day.mkdir(parents=True)
    ts = dt.datetime(2026, 3, 10, 12).timestamp()

    def report(details, code="8001"):
        return json.dumps({"meta_data": {"ts": ts, "jobstate": "jobfailed"}, "task": "/w/t",
                           "steps": [{"name": "cmsRun1", "site": "T2_CH_CERN",
                                      "errors": [{"exitCode": code, "details": details}]}]})

    lines = [report(""), report("\x00\x01\x02\x03\x04\x05garbage"), report("y" * 2_000_000),
             report("Job has exceeded maxRSS: 2000 MB", " 50660 "), report(None)]
    (day / "a.jsonl").write_text("\n".join(lines) + "\n")
    (root / "2026" / "03" / "11").mkdir(parents=True)
    plan = errors_plan(conf, root, "fwjr", dt.date(2026, 3, 10))
    result = cluster(spark, store, plan, tmp_path)
    assert result.counts["by_problem"] == {"empty": 2, "binary": 1, "truncated": 1}
    assert result.counts["in_window"] == 5
    docs = list(store.db.fwjr_errors.find())
    assert sorted((d["scope"]["exitCode"], d["count"]) for d in docs) == [("50660", 1), ("8001", 1)]
    set_aside = [json.loads(line) for path in glob.glob(os.path.join(result.rejects_path, "*.json"))
                 for line in open(path)]
    assert sorted(row["reason"] for row in set_aside) == ["binary", "empty", "empty"]
    # a window with no errors at all clears what an earlier run left there
    (day / "a.jsonl").write_text("")
    again = cluster(spark, store, plan, tmp_path)
    assert again.counts["errors"] == 0 and store.db.fwjr_errors.count_documents({}) == 0


# -- spack_errors: clustered, then aggregated, in tests/test_spack_builds.py ---------------------------


# -- the commands -------------------------------------------------------------------------------

@pytest.mark.e2e
def test_cluster_errors_command_and_query(fwjr_data, tmp_path, mongo_uri):
    database = f"ce_{os.getpid()}_{tmp_path.name[-6:]}".replace("-", "_")
    write_conf(tmp_path / "conf.toml", {"mongo": {"database": database},
                                        "errors": {"errors_dir": str(tmp_path / "errors")},
                                        "aggregate": {"rejects_dir": str(tmp_path / "rejects")}})
    env = dict(os.environ, JOBROLLUP_CONF=str(tmp_path / "conf.toml"), JOBROLLUP_MONGO_URI=mongo_uri)
    done = subprocess.run([str(ROOT / "bin" / "cluster-errors"), "2026-02-28", "--input", str(fwjr_data)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "jobrollup cluster-errors: fwjr at day precision" in done.stdout
    store = MongoStore(mongo_uri, database)
    try:
        site = store.db.fwjr_errors.find_one({"scope.site": {"$ne": None}})["scope"]["site"]
        expected = Counter()
        for doc in store.db.fwjr_errors.find():
            if doc["scope"]["site"] == site:
                expected[doc["cluster"]] += doc["count"]
        shown = subprocess.run([str(ROOT / "bin" / "query"), "--errors", "-w", f"site={site}", "--from", "2026-02-28",
                                "--to", "2026-02-28", "--format", "json"], env=env, capture_output=True, text=True)
        assert shown.returncode == 0, shown.stderr
        assert {row["cluster"]: row["errors"] for row in json.loads(shown.stdout)} == dict(expected)
        table = subprocess.run([str(ROOT / "bin" / "query"), "--errors", "--from", "2026-02-28", "--to", "2026-02-28",
                                "--limit", "3"], env=env, capture_output=True, text=True)
        assert table.returncode == 0 and "error clusters of fwjr errors" in table.stdout
        bad = subprocess.run([str(ROOT / "bin" / "query"), "--errors", "-w", "jobtype=x"], env=env,
                             capture_output=True, text=True)
        assert bad.returncode == 2 and "unknown key 'jobtype'" in bad.stderr
    finally:
        store.client.drop_database(database)
        store.close()


# -- error counts across tiers: rolled up by the cleanup, answered from every tier ----------------

def test_error_counts_roll_up_and_answer_across_tiers(spark, store, conf, fwjr_data, tmp_path):
    """February clustered at day precision (idle days held empty), March 1 at hour precision;
    `bin/query --errors` over Feb 1 .. Mar 1 reads days and hours, then, after a cleanup a
    year later, the month of February and the day of March 1 (hours rolled into it) - each
    answer equal to a plain-Python count of the errors of the reports."""
    from helpers import hold_empty_days

    from jobrollup import cleanup
    from jobrollup.query import errors as queries

    fwjr = sources.get("fwjr")
    hold_empty_days(fwjr_data, dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    days = plan_for(conf, fwjr_data, dt.date(2026, 2, 1), dt.date(2026, 2, 28), "day", collection=fwjr.errors_collection,
                    require_all_days=True, rejects_dir=str(tmp_path / "rejects"))
    hours = errors_plan(conf, fwjr_data, "fwjr", dt.date(2026, 3, 1), "hour")
    cluster(spark, store, days, tmp_path)
    cluster(spark, store, hours, tmp_path)
    found_days, found_hours = fwjr_errors_by_hand(days), fwjr_errors_by_hand(hours)
    assert found_days and found_hours
    keys = fwjr.error_scope
    clusters = cluster_map(store)

    def by_cluster_and_site(found):
        want = Counter()
        for (_, cluster_id, site, *_), n in tally(found, "day", clusters, keys).items():
            want[(cluster_id, site)] += n
        return want

    want = by_cluster_and_site(found_days + found_hours)

    def asked():
        frame = queries.error_clusters(store, source="fwjr", start="2026-02-01", end="2026-03-01", by=["site"],
                                       now=dt.datetime(2027, 4, 1))
        return {(r.cluster, r.site): r.errors for r in frame.itertuples()}, frame.attrs

    got, attrs = asked()
    assert got == want and attrs["tiers"] == ["hour", "day"] and not attrs["unknown"]
    assignments = lambda: Counter((d["scope"]["timeframe_precision"], d["scope"]["start_date"])
                                  for d in store.db[fwjr.error_assignments_collection].find({}, {"scope": 1}))
    held = assignments()
    assert sum(held.values()) == len(found_days) + len(found_hours)
    # a year later: hours -> a day, days -> weeks and months, weeks a year old dropped
    reports = cleanup.Cleanup(store, fwjr, RETENTION, now=dt.datetime(2027, 4, 1)).run()
    counts = reports["fwjr_errors hour"]
    assert counts.built == {"day": 1} and counts.retired == 24
    assert reports["fwjr_errors day"].built == {"week": 4, "month": 1}
    assert stored_counts(store, "fwjr", "hour", keys) == Counter()
    assert stored_counts(store, "fwjr", "month", keys) == tally(found_days, "month", clusters, keys)
    assert stored_counts(store, "fwjr", "day", keys) == {
        k: n for k, n in tally(found_days + found_hours, "day", clusters, keys).items()
        if k[0] in (dt.datetime(2026, 2, 1), dt.datetime(2026, 3, 1))}   # Feb 1's week lacks its January days
    got, attrs = asked()
    assert got == want and attrs["tiers"] == ["day", "month"] and not attrs["unknown"]
    ledger = Counter((e["precision"], e["state"]) for e in store.db.fwjr_errors_buckets.find())
    assert ledger == {("day", "held"): 2, ("day", "rolled_up"): 27, ("hour", "rolled_up"): 24,
                      ("week", "held"): 1, ("week", "rolled_up"): 3, ("month", "held"): 1}
    # an error's assignment goes with the bucket that counts it: kept in the 2 days still held
    assert assignments() == {k: n for k, n in held.items() if k[0] == "day" and k[1].day == 1}
    # first and last seen stay the extremes of the errors they count
    for doc in store.db.fwjr_errors.find({"scope.timeframe_precision": "month"}):
        assert doc["first_seen"] <= doc["last_seen"] and doc["first_seen"] >= dt.datetime(2026, 2, 1)
    # a re-run changes nothing
    again = cleanup.Cleanup(store, fwjr, RETENTION, now=dt.datetime(2027, 4, 1)).run()
    assert not any(r.built or r.retired for r in again.values())


RETENTION = {"hour": "2 days", "day": "8 weeks", "week": "1 year", "month": "forever"}
