"""Views (jobrollup.views): they always agree with the documents they regroup, at every tier,
after aggregations, cleanups and killed runs; bin/query answers from the smallest that holds
the question, equal to the documents' answer.

The check regroups the stored documents in plain Python, independently of the code that wrote
the views (Spark's regroup for aggregations, cleanup.rollup for the cleanup).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict

import pytest
from helpers import plan_for

from jobrollup import cleanup, sources, views
from jobrollup import query as queries
from jobrollup.sources.fwjr import generate
from jobrollup.spark import aggregate_job
from jobrollup.store.mongo import MongoStore, view_collection
from test_cleanup import Killed, kill_after

FWJR = sources.get("fwjr")
D, T = dt.date, dt.datetime
NOW = T(2026, 1, 20)
RETENTION = {"hour": "2 days", "day": "1 week", "week": "2 weeks", "month": "forever"}


@pytest.fixture(scope="module")
def five_weeks(tmp_path_factory):
    """December 2025 (a whole month of Monday-started weeks) and the first week of 2026."""
    root = tmp_path_factory.mktemp("views") / "fwjr"
    generate.generate(root, D(2025, 12, 1), 37, 30, seed=11, malformed_share=0.0, late_share=0.05, workers=2)
    return root


def configured(conf):
    return views.configured(conf, FWJR)


# -- the independent check ----------------------------------------------------------------------

def regrouped(docs, keys) -> dict:
    """{(precision, start, key values): totals} of documents, merged in plain Python."""
    out: dict = {}
    for doc in docs:
        scope = doc["scope"]
        key = (scope["timeframe_precision"], scope["start_date"], *(scope.get(k) for k in keys))
        acc = out.setdefault(key, {"count": 0, "events": 0, "metrics": {}})
        acc["count"] += doc["count"]
        acc["events"] += doc["events"]
        for group, metrics in doc["performance"].items():
            for metric, stats in metrics.items():
                slot = acc["metrics"].setdefault(f"{group}.{metric}", {"n": 0, "sum": 0.0, "sumsq": 0.0, "min": math.inf,
                                                                       "max": -math.inf, "bins": defaultdict(int),
                                                                       "zeros": 0, "sketched": 0, "parts": 0})
                slot["n"] += stats["n"]
                slot["sum"] += stats["sum"]
                slot["sumsq"] += stats["sumsq"]
                slot["min"] = min(slot["min"], stats["min"])
                slot["max"] = max(slot["max"], stats["max"])
                slot["parts"] += 1
                if "sketch" in stats:
                    slot["sketched"] += 1
                    slot["zeros"] += stats["sketch"]["zeros"]
                    for index, n in stats["sketch"]["bins"].items():
                        slot["bins"][int(index)] += n
    return out


def assert_views_agree(store, wanted: tuple[views.View, ...], finished: bool = True) -> int:
    """Every held bucket holds every view, equal to its documents regrouped, with the ledger's
    document counts; when no run was cut short (`finished`), no view document lies outside a held
    bucket (a killed run may leave some, as it may leave documents: no query reads them).
    Returns the buckets checked."""
    held = {(e["precision"], e["start"]): e for e in store.db.fwjr_buckets.find({"state": "held"})}
    full = [d for d in store.db.fwjr.find() if (d["scope"]["timeframe_precision"], d["scope"]["start_date"]) in held]
    for view in wanted:
        view_docs = list(store.db[view_collection("fwjr", view.name)].find())
        per_bucket = defaultdict(int)
        for doc in view_docs:
            assert set(doc["scope"]) == set(view.keys) | {"start_date", "end_date", "timeframe_precision"}
            per_bucket[(doc["scope"]["timeframe_precision"], doc["scope"]["start_date"])] += 1
        if finished:
            assert set(per_bucket) <= set(held), f"view {view.name} has documents of buckets not held"
        view_docs = [d for d in view_docs if (d["scope"]["timeframe_precision"], d["scope"]["start_date"]) in held]
        for bucket, entry in held.items():
            assert entry["views"][view.name] == {"keys": list(view.keys), "documents": per_bucket.get(bucket, 0)}, \
                (view.name, bucket)
        want, got = regrouped(full, view.keys), regrouped(view_docs, view.keys)
        assert set(got) == set(want), f"view {view.name}: groups differ"
        assert len(got) == len(view_docs), f"view {view.name}: a group is held twice"
        for key, acc in want.items():
            have = got[key]
            assert (have["count"], have["events"]) == (acc["count"], acc["events"]), (view.name, key)
            assert set(have["metrics"]) == set(acc["metrics"]), (view.name, key)
            for name, stats in acc["metrics"].items():
                mine = have["metrics"][name]
                assert mine["n"] == stats["n"] and mine["min"] == stats["min"] and mine["max"] == stats["max"]
                assert math.isclose(mine["sum"], stats["sum"], rel_tol=1e-9, abs_tol=1e-9)
                assert math.isclose(mine["sumsq"], stats["sumsq"], rel_tol=1e-9, abs_tol=1e-9)
                if stats["sketched"] == stats["parts"]:   # a sketch survives where every part had one
                    assert (dict(mine["bins"]), mine["zeros"]) == (dict(stats["bins"]), stats["zeros"]), (view.name, key)
    return len(held)


def tiers_held(store) -> set:
    return {e["precision"] for e in store.db.fwjr_buckets.find({"state": "held"})}


def aggregate_all(spark, store, conf, root):
    aggregate_job.run(spark, plan_for(conf, root, D(2025, 12, 1), D(2026, 1, 4), "day"), store)
    aggregate_job.run(spark, plan_for(conf, root, D(2026, 1, 5), D(2026, 1, 6), "hour"), store)


# -- agreement -----------------------------------------------------------------------------------

def test_views_agree_with_the_documents_after_aggregations_and_cleanups(spark, store, conf, five_weeks):
    wanted = configured(conf)
    assert len(wanted) >= 2
    aggregate_all(spark, store, conf, five_weeks)
    assert tiers_held(store) == {"day", "hour"}
    assert assert_views_agree(store, wanted) == 35 + 48
    # views are much smaller than the documents they regroup
    assert all(store.db[view_collection("fwjr", v.name)].count_documents({}) < store.db.fwjr.count_documents({})
               for v in wanted)
    reports = cleanup.Cleanup(store, FWJR, RETENTION, now=NOW).run()
    assert reports["day"].built == {"week": 5, "month": 1}
    assert tiers_held(store) == {"day", "week", "month"}
    assert_views_agree(store, wanted)
    # a week run written by an aggregation over a week rolled up by the cleanup: same views
    aggregate_job.run(spark, plan_for(conf, five_weeks, D(2025, 12, 29), D(2025, 12, 29), "week"), store)
    assert_views_agree(store, wanted)


def test_a_killed_aggregation_and_its_rerun_leave_views_that_agree(spark, store, conf, five_weeks, kill_at_write):
    wanted = configured(conf)
    plan = plan_for(conf, five_weeks, D(2026, 1, 5), D(2026, 1, 5), "hour")
    plan.write_batch = 10
    aggregate_job.run(spark, plan, store)
    full_batches = math.ceil(store.db.fwjr.count_documents({}) / 10)
    calls = kill_at_write(full_batches + 2)      # dies writing the first view
    with pytest.raises(KeyboardInterrupt):
        aggregate_job.run(spark, plan, store)
    assert calls["n"] == full_batches + 2
    assert_views_agree(store, wanted)           # the earlier run's entries: their views still agree
    aggregate_job.run(spark, plan, store)
    assert_views_agree(store, wanted)


def test_a_cleanup_killed_while_writing_views_is_finished_by_the_next_run(spark, store, mongo_uri, conf, five_weeks,
                                                                          monkeypatch):
    wanted = configured(conf)
    aggregate_all(spark, store, conf, five_weeks)
    names = ["fwjr", "fwjr_buckets", "runs"] + [view_collection("fwjr", v.name) for v in wanted]
    before = {name: list(store.db[name].find()) for name in names}
    counter = kill_after(monkeypatch, 10**9)
    cleanup.Cleanup(store, FWJR, RETENTION, now=NOW).run()
    monkeypatch.undo()
    clean = {name: {d["_id"]: {k: v for k, v in d.items() if k not in ("run_id", "updated_at")}
                    for d in store.db[name].find()} for name in names[:2] + names[3:]}
    view_writes = [i + 1 for i, kind in enumerate(counter["kinds"]) if "_view_" in kind]
    assert view_writes
    # killed at writes of views (first, middle, last) and at the last write of all
    for writes in sorted({view_writes[0], view_writes[len(view_writes) // 2], view_writes[-1], counter["n"]}):
        for name, docs in before.items():
            store.db[name].delete_many({})
            if docs:
                store.db[name].insert_many(docs)
        kill_after(monkeypatch, writes)
        with pytest.raises(Killed):
            cleanup.Cleanup(store, FWJR, RETENTION, now=NOW).run()
        monkeypatch.undo()
        assert_views_agree(store, wanted, finished=False)
        cleanup.Cleanup(store, FWJR, RETENTION, now=NOW).run()
        assert_views_agree(store, wanted)
        for name, want in clean.items():
            have = {d["_id"]: {k: v for k, v in d.items() if k not in ("run_id", "updated_at")}
                    for d in store.db[name].find()}
            assert set(have) == set(want), name
