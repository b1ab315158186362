"""The cleanup job: roll-ups equal aggregations from the raw reports; faults lose and double nothing."""

from __future__ import annotations

import datetime as dt
import math
import random
import subprocess
from pathlib import Path

import pytest
from helpers import plan_for, reference_documents
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo.collection import Collection

import reference
from jobrollup import cleanup, sources
from jobrollup.sources.fwjr import generate
from jobrollup.spark import aggregate_job
from jobrollup.store.mongo import MongoStore, utcnow

FWJR = sources.get("fwjr")
from jobrollup.tiers import Window, floor

D = dt.date
T = dt.datetime
RETENTION = {"hour": "2 days", "day": "8 weeks", "week": "1 year", "month": "forever"}


# -- helpers --------------------------------------------------------------------------------

def aggregate(spark, store, conf, root, first, last, precision, **changes):
    return aggregate_job.run(spark, plan_for(conf, root, first, last, precision, **changes), store)


def docs_of(store, precision):
    return {d["_id"]: d for d in store.db.fwjr.find({"scope.timeframe_precision": precision})}


def assert_same_documents(got: dict, want: dict):
    """Equal documents but for run_id; float statistics to the last few bits."""
    assert set(got) == set(want), f"{len(set(got) - set(want))} extra, {len(set(want) - set(got))} missing"
    for key, doc in got.items():
        other = want[key]
        assert doc["scope"] == other["scope"] and doc["count"] == other["count"] and doc["events"] == other["events"]
        assert doc["performance"].keys() == other["performance"].keys()
        for group, metrics in doc["performance"].items():
            assert metrics.keys() == other["performance"][group].keys()
            for metric, stats in metrics.items():
                for name, value in stats.items():
                    if name == "sketch":
                        assert value == other["performance"][group][metric][name]
                    else:
                        assert math.isclose(value, other["performance"][group][metric][name], rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture(scope="module")
def two_months(tmp_path_factory):
    """Dumps over a year change: December 2025 and January 2026, a few hundred jobs a day."""
    root = tmp_path_factory.mktemp("cleanup") / "fwjr"
    generate.generate(root, D(2025, 12, 1), 62, 60, seed=5, malformed_share=0.0, late_share=0.05, workers=2)
    return root


@pytest.fixture
def second_store(mongo_uri):
    import uuid
    store = MongoStore(mongo_uri, f"t_{uuid.uuid4().hex[:12]}")
    yield store
    store.client.drop_database(store.db.name)
    store.close()


# -- roll-ups equal the aggregation of the raw reports ---------------------------------------

def reference_tier(result, precision: str, start: T, end: T) -> dict:
    """The `precision` documents of [start, end) as the independent reference computes them from
    the reports the run behind `result` read (the same late records included)."""
    records, _ = reference.read_lines(result.folders)
    return reference.aggregate(records, precision, (start, end))


def test_hours_rolled_into_days_equal_a_day_aggregation(spark, store, conf, two_months):
    result = aggregate(spark, store, conf, two_months, D(2025, 12, 30), D(2026, 1, 2), "hour")
    reports = cleanup.Cleanup(store, FWJR, RETENTION, now=T(2026, 1, 10)).run()
    assert reports["hour"].built["day"] == 4 and reports["hour"].retired == 96
    assert docs_of(store, "hour") == {}
    reference.assert_documents_equal(list(docs_of(store, "day").values()),
                                     reference_tier(result, "day", T(2025, 12, 30), T(2026, 1, 3)))
    states = {e["state"] for e in store.db.fwjr_buckets.find({"precision": "hour"})}
    assert states == {"rolled_up"}


def test_days_rolled_into_weeks_and_months_equal_their_aggregations(spark, store, conf, two_months):
    result = aggregate(spark, store, conf, two_months, D(2025, 12, 1), D(2026, 1, 31), "day")
    reports = cleanup.Cleanup(store, FWJR, RETENTION, now=T(2026, 6, 1)).run()
    # Dec 1 2025 is a Monday: weeks Dec 1 .. Jan 25 are whole; Jan 26 - Feb 1 lacks Feb 1.
    assert reports["day"].built == {"month": 2, "week": 8}
    assert reports["day"].skipped == {"not every day of the week is held": 1}
    remaining = sorted({d["scope"]["start_date"] for d in docs_of(store, "day").values()})
    assert remaining[0] >= T(2026, 1, 26)  # kept: their week could not be built
    months = list(docs_of(store, "month").values())
    want_months = reference_tier(result, "month", T(2025, 12, 1), T(2026, 2, 1))
    reference.assert_documents_equal(months, want_months)
    reference.assert_documents_equal(list(docs_of(store, "week").values()),
                                     reference_tier(result, "week", T(2025, 12, 1), T(2026, 1, 26)))
    # The straddling week Dec 29 - Jan 4 is in the week tier once, and in no month twice.
    assert sum(d["count"] for d in months) == sum(v["count"] for v in want_months.values()) > 0


def test_dry_run_reports_the_work_and_writes_nothing(spark, store, conf, two_months):
    aggregate(spark, store, conf, two_months, D(2026, 1, 1), D(2026, 1, 2), "hour")
    before = (docs_of(store, "hour"), list(store.db.fwjr_buckets.find()))
    planned = cleanup.Cleanup(store, FWJR, RETENTION, now=T(2026, 1, 10), dry_run=True).run()
    assert (docs_of(store, "hour"), list(store.db.fwjr_buckets.find())) == before
    done = cleanup.Cleanup(store, FWJR, RETENTION, now=T(2026, 1, 10)).run()
    assert (planned["hour"].built, planned["hour"].retired, planned["hour"].deleted) == \
           (done["hour"].built, done["hour"].retired, done["hour"].deleted) == ({"day": 2}, 48, len(before[0]))
    text = cleanup.summary(planned, True, "dry-run")
    assert "would build 2 day bucket(s)" in text and f"deleting {len(before[0]):,} documents" in text


def test_rerunning_the_cleanup_changes_nothing(spark, store, conf, two_months):
    aggregate(spark, store, conf, two_months, D(2026, 1, 5), D(2026, 1, 6), "hour")
    cleanup.Cleanup(store, FWJR, RETENTION, now=T(2026, 1, 10)).run()
    after = docs_of(store, "day")
    again = cleanup.Cleanup(store, FWJR, RETENTION, now=T(2026, 1, 10)).run()
    assert docs_of(store, "day") == after and again["hour"].retired == 0 and not again["hour"].built


def test_a_window_being_aggregated_is_left_alone(spark, store, conf, two_months):
    aggregate(spark, store, conf, two_months, D(2026, 1, 7), D(2026, 1, 7), "hour")
    store.db.runs.insert_one({"_id": "live", "source": "fwjr", "job": "aggregate", "status": "running",
                              "window": {"precision": "day", "start": T(2026, 1, 7), "end": T(2026, 1, 8)},
                              "started_at": utcnow(), "heartbeat_at": utcnow(), "host": "elsewhere", "pid": 1})
    reports = cleanup.Cleanup(store, FWJR, RETENTION, now=T(2026, 1, 20)).run()
    assert reports["hour"].skipped == {"an aggregation is writing it": 1} and reports["hour"].retired == 0
    assert len(docs_of(store, "hour")) > 0


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so no handler of ours tidies up."""


def kill_after(monkeypatch, writes: int):
    """Make the `writes`-th MongoDB write from now on never happen, and stop the job there."""
    counter = {"n": 0, "kinds": []}
    for name in ("bulk_write", "insert_many", "delete_many", "update_one", "update_many", "insert_one", "replace_one"):
        real = getattr(Collection, name)

        def wrapped(self, *args, _real=real, _name=name, **kwargs):
            if self.name != "runs":
                counter["n"] += 1
                counter["kinds"].append(f"{self.name}.{_name}")
                if counter["n"] >= writes:
                    raise Killed()
            return _real(self, *args, **kwargs)
        monkeypatch.setattr(Collection, name, wrapped)
    return counter


def test_a_cleanup_killed_anywhere_is_finished_by_the_next_run(spark, store, second_store, conf, two_months, monkeypatch):
    aggregate(spark, store, conf, two_months, D(2026, 1, 12), D(2026, 1, 13), "hour")
    before = {name: list(store.db[name].find()) for name in ("fwjr", "fwjr_buckets", "runs")}
    for name, docs in before.items():        # the same start in a second database, cleaned up unkilled
        second_store.db[name].insert_many(docs)
    writes_of_a_whole_run = kill_after(monkeypatch, 10**9)      # counts, never kills
    cleanup.Cleanup(second_store, FWJR, RETENTION, now=T(2026, 1, 20)).run()
    monkeypatch.undo()
    total = writes_of_a_whole_run["n"]
    # every kind of write a cleanup makes is among those killed below
    assert {"fwjr.insert_many", "fwjr.delete_many", "fwjr_buckets.bulk_write", "fwjr_buckets.update_many"} \
        <= set(writes_of_a_whole_run["kinds"]), writes_of_a_whole_run["kinds"]
    clean = {precision: docs_of(second_store, precision) for precision in ("hour", "day", "week", "month")}
    killed_at = []
    for writes in range(1, total + 1):       # every write of the run, each from the same start
        for name, docs in before.items():
            store.db[name].delete_many({})
            store.db[name].insert_many(docs)
        counter = kill_after(monkeypatch, writes)
        with pytest.raises(Killed):
            cleanup.Cleanup(store, FWJR, RETENTION, now=T(2026, 1, 20)).run()
        monkeypatch.undo()
        killed_at.append(counter["n"])
        assert_answerable_and_exact(store, raw_counts_from(second_store))
        cleanup.Cleanup(store, FWJR, RETENTION, now=T(2026, 1, 20)).run()     # the next run finishes
        assert_answerable_and_exact(store, raw_counts_from(second_store))
        for precision, want in clean.items():     # as a clean run left them, to the last count
            assert_same_documents(docs_of(store, precision), want)
    assert killed_at == list(range(1, total + 1))    # every write was reached, and killed


def raw_counts_from(store) -> dict:
    """Jobs per hour, taken from a store where every hour is held (a clean reference run)."""
    return {e["start"]: e["count"] for e in store.db.fwjr_buckets.find({"precision": "hour"})}


def assert_answerable_and_exact(store, hourly: dict, aggregated_hours: set | None = None):
    """Every held bucket holds exactly the jobs of its span; every aggregated hour is in one.

    With both, any query that takes each sub-range from one tier is exact: nothing is lost
    and nothing is counted twice.
    """
    held = list(store.db.fwjr_buckets.find({"state": "held"}))
    per_bucket = {(row["_id"]["p"], row["_id"]["s"]): row["count"] for row in store.db.fwjr.aggregate([
        {"$group": {"_id": {"p": "$scope.timeframe_precision", "s": "$scope.start_date"}, "count": {"$sum": "$count"}}}])}
    for entry in held:
        want = sum(n for hour, n in hourly.items() if entry["start"] <= hour < entry["end"])
        got = per_bucket.get((entry["precision"], entry["start"]), 0)
        assert got == want == entry["count"], f"{entry['_id']}: documents {got}, ledger {entry['count']}, raw {want}"
    hours = aggregated_hours if aggregated_hours is not None else set(hourly)
    spans = sorted((e["start"], e["end"]) for e in held)
    for hour in hours:
        assert any(start <= hour < end for start, end in spans), f"{hour} is held by no tier"


# -- property: random aggregations and cleanups, with kills -----------------------------------

SITES = ["T1_US_FNAL", "T2_CH_CERN", "T2_DE_DESY"]
START = T(2027, 12, 20)           # a year change, ISO week 2028-W01 (Jan 3), and the leap day 2028-02-29
SPAN_DAYS = 80


def fake_aggregate(store, records, precision, first: D, days: int, run_id: str):
    """What an aggregation run writes, computed by the independent reference (no Spark), so
    that hypothesis can try many sequences."""
    window = Window.covering(first, first + dt.timedelta(days=days - 1), precision)
    docs, totals = reference_documents(records, window, run_id)
    store.replace_documents("fwjr", docs, batch=3)
    store.remove_stale("fwjr", window, run_id)
    store.mark_buckets(FWJR, window, totals, run_id, "aggregate")
    return window


def make_records(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ts = (START + dt.timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))).replace(tzinfo=dt.timezone.utc).timestamp()
        rep = {"meta_data": {"host": "a", "jobtype": "Processing", "jobstate": rng.choice(["success", "jobfailed"]),
                             "ts": ts},
               "task": f"/wf{rng.randrange(2)}/t", "steps": [{
                   "name": "cmsRun1", "site": rng.choice(SITES),
                   "errors": [{"exitCode": rng.choice([8001, "50660"])}] if rng.random() < 0.3 else [],
                   "output": [{"events": rng.randrange(1000)}],
                   "performance": {"cpu": {"TotalJobCPU": rng.choice([-1, rng.uniform(1, 1e4)])}, "memory": {}, "storage": {}}}]}
        out.append(reference.normalise(rep))
    return out


operation = st.one_of(
    st.tuples(st.just("aggregate"), st.sampled_from(["hour", "day", "week", "month"]),
              st.integers(0, SPAN_DAYS - 1), st.integers(1, 12), st.none() | st.integers(1, 40)),
    st.tuples(st.just("cleanup"), st.integers(0, SPAN_DAYS + 400), st.none() | st.integers(1, 60)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), operations=st.lists(operation, min_size=1, max_size=7))
def test_any_sequence_of_runs_and_kills_keeps_every_range_exact(mongo_uri, seed, n, operations):
    import uuid
    from pytest import MonkeyPatch

    store = MongoStore(mongo_uri, f"h_{uuid.uuid4().hex[:12]}")
    records = make_records(seed, n)
    hourly: dict[T, int] = {}
    for rec in records:
        hour = floor(T(1970, 1, 1) + dt.timedelta(seconds=int(rec["ts"])), "hour")
        hourly[hour] = hourly.get(hour, 0) + 1
    aggregated: set[T] = set()
    try:
        for number, op in enumerate(operations):
            kill = op[-1]
            patch = MonkeyPatch()
            if kill:
                kill_after(patch, kill)
            try:
                if op[0] == "aggregate":
                    _, precision, offset, days, _ = op
                    first = (START + dt.timedelta(days=offset)).date()
                    window = fake_aggregate(store, records, precision, first, days, f"r{number:03d}")
                    hour = window.start
                    while hour < window.end:
                        aggregated.add(hour)
                        hour += dt.timedelta(hours=1)
                else:
                    _, days_after, _ = op
                    cleanup.Cleanup(store, FWJR, RETENTION,
                                    now=START + dt.timedelta(days=days_after)).run()
            except Killed:
                pass
            finally:
                patch.undo()
            assert_answerable_and_exact(store, hourly, aggregated)
        cleanup.Cleanup(store, FWJR, RETENTION, now=START + dt.timedelta(days=SPAN_DAYS + 800)).run()
        assert_answerable_and_exact(store, hourly, aggregated)
        assert store.db.fwjr_buckets.count_documents({"state": "retiring"}) == 0
    finally:
        store.client.drop_database(store.db.name)
        store.close()


def test_cleanup_command_dry_run(mongo_uri, tmp_path):
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([str(root / "bin" / "cleanup"), "--dry-run", "--mongo-uri", mongo_uri,
                           "--retention", "hour=1 day"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("jobrollup cleanup (dry run: nothing written)")
    done = subprocess.run([str(root / "bin" / "cleanup"), "--retention", "hour=soon"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("error: retention 'soon'")
