"""Views (jobrollup.views): they always agree with the documents they regroup, at every tier,
after aggregations, cleanups and killed runs; bin/query answers from the smallest that holds
the question, equal to the documents' answer.

The check regroups the stored documents in plain Python, independently of the code that wrote
the views (Spark's regroup for aggregations, cleanup.rollup for the cleanup).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import executor_faults
import pandas as pd
import pytest
from helpers import bucket_totals, plan_for

from jobrollup import cleanup, sources, views
from jobrollup import query as queries
from jobrollup.sources.fwjr import generate
from jobrollup.spark import aggregate_job
from jobrollup.store.mongo import view_collection
from test_cleanup import Killed, fake_aggregate, kill_after, make_records

FWJR = sources.get("fwjr")
D, T = dt.date, dt.datetime
NOW = T(2027, 3, 20)
RETENTION = {"hour": "2 days", "day": "1 week", "week": "forever", "month": "forever"}


@pytest.fixture(scope="session")
def conf(conf_with_views):
    """Here the runs write the shipped views (elsewhere tests leave them out), and one more that
    keeps some metrics: a sketched one and one without a sketch (the shipped `site` keeps none)."""
    import copy

    with_partial = copy.deepcopy(conf_with_views)
    with_partial["sources"]["fwjr"]["views"]["site_cpu"] = {
        "keys": ["site", "jobtype"], "metrics": ["storage.readTotalMB", "cpu.TotalJobCPU"]}
    return with_partial


@pytest.fixture(scope="module")
def february(tmp_path_factory):
    """February 2027: starts on a Monday, so its 28 days are four whole ISO weeks and a month."""
    root = tmp_path_factory.mktemp("views") / "fwjr"
    generate.generate(root, D(2027, 2, 1), 30, 15, seed=11, malformed_share=0.0, late_share=0.05, workers=2)
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
            assert entry["views"][view.name] == {**view.as_entry(), "documents": per_bucket.get(bucket, 0)}, \
                (view.name, bucket)
        want, got = regrouped(full, view.keys), regrouped(view_docs, view.keys)
        for acc in want.values():   # a view keeps only its metrics, and every one of them
            acc["metrics"] = {name: stats for name, stats in acc["metrics"].items() if view.holds_metric(name)}
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
    aggregate_job.run(spark, plan_for(conf, root, D(2027, 2, 1), D(2027, 2, 28), "day"), store)
    aggregate_job.run(spark, plan_for(conf, root, D(2027, 3, 1), D(2027, 3, 1), "hour"), store)


# -- agreement -----------------------------------------------------------------------------------

def test_views_agree_with_the_documents_after_aggregations_and_cleanups(spark, store, conf, february):
    wanted = configured(conf)
    assert {v.metrics for v in wanted} >= {None, (), ("cpu.TotalJobCPU", "storage.readTotalMB")}
    aggregate_all(spark, store, conf, february)
    assert tiers_held(store) == {"day", "hour"}
    assert assert_views_agree(store, wanted) == 28 + 24
    # views are smaller than the documents they regroup
    assert all(store.db[view_collection("fwjr", v.name)].count_documents({}) < store.db.fwjr.count_documents({})
               for v in wanted)
    # a view keeping no metric stores none
    assert all(d["performance"] == {} for d in store.db[view_collection("fwjr", "site")].find())
    reports = cleanup.Cleanup(store, FWJR, RETENTION, now=NOW).run()
    assert reports["hour"].built == {"day": 1} and reports["day"].built == {"week": 4, "month": 1}
    assert tiers_held(store) == {"day", "week", "month"}
    assert assert_views_agree(store, wanted) == 1 + 4 + 1


def test_a_killed_aggregation_and_its_rerun_leave_views_that_agree(spark, store, conf, february, monkeypatch,
                                                                    tmp_path):
    wanted = configured(conf)
    plan = plan_for(conf, february, D(2027, 3, 2), D(2027, 3, 2), "hour")
    plan.write_batch = 5
    aggregate_job.run(spark, plan, store)
    counter = executor_faults.arm(monkeypatch, tmp_path / "writes")
    aggregate_job.run(spark, plan, store)
    monkeypatch.undo()
    kinds = counter.kinds
    # the documents and the views are written together by the executors: die at the first view write
    first_view_write = next(i for i, kind in enumerate(kinds, 1) if kind.startswith("fwjr_view_"))
    counter = executor_faults.arm(monkeypatch, tmp_path / "killed", kill_at=first_view_write)
    with pytest.raises(Exception) as killed:
        aggregate_job.run(spark, plan, store)
    monkeypatch.undo()
    assert executor_faults.was_killed(killed.value, executor_faults.ExecutorKilled)
    assert counter.n >= first_view_write
    assert assert_views_agree(store, wanted) == 24   # the earlier run's entries: their views still agree
    aggregate_job.run(spark, plan, store)
    assert assert_views_agree(store, wanted) == 24


# -- the cleanup killed anywhere in its view writes (no Spark: records through the reference) ------

def reference_aggregate(store, records, precision, first, days, run_id, wanted):
    """What an aggregation writes, from the independent reference, with its views regrouped."""
    window = fake_aggregate(store, records, precision, first, days, run_id)
    docs = list(store.db.fwjr.find({"scope.timeframe_precision": precision,
                                    "scope.start_date": {"$gte": window.start, "$lt": window.end}}))
    held_views = {}
    for view in wanted:
        view_docs = cleanup.rollup(docs, FWJR, precision, run_id, view.keys, metrics=view.metrics)
        collection = view_collection("fwjr", view.name)
        store.db[collection].delete_many({"scope.timeframe_precision": precision,
                                          "scope.start_date": {"$gte": window.start, "$lt": window.end}})
        if view_docs:
            store.db[collection].insert_many(view_docs)
        per_bucket = defaultdict(int)
        for doc in view_docs:
            per_bucket[doc["scope"]["start_date"]] += 1
        held_views[view.name] = (view, per_bucket)
    store.mark_buckets(FWJR, window, bucket_totals(docs), run_id, "aggregate", held_views)


@pytest.fixture
def reference_tiers(store, conf):
    """Hours, days and a month over a year change, written from the reference, views included."""
    wanted = configured(conf)
    records = make_records(7, 300)
    reference_aggregate(store, records, "day", D(2027, 12, 20), 45, "r1", wanted)
    reference_aggregate(store, records, "hour", D(2028, 2, 3), 2, "r2", wanted)
    return wanted, records


def test_a_cleanup_killed_while_writing_views_is_finished_by_the_next_run(store, reference_tiers, monkeypatch):
    wanted, _ = reference_tiers
    now = T(2028, 3, 20)
    names = ["fwjr", "fwjr_buckets", "runs"] + [view_collection("fwjr", v.name) for v in wanted]
    before = {name: list(store.db[name].find()) for name in names}
    counter = kill_after(monkeypatch, 10**9)
    cleanup.Cleanup(store, FWJR, RETENTION, now=now).run()
    monkeypatch.undo()
    assert_views_agree(store, wanted)
    assert tiers_held(store) == {"day", "week", "month"}
    clean = {name: set(d["_id"] for d in store.db[name].find()) for name in names if name != "runs"}
    view_writes = [i + 1 for i, kind in enumerate(counter["kinds"]) if "_view_" in kind]
    assert view_writes
    # killed at the first, a middle and the last write of a view, and at the last write of all
    for writes in sorted({view_writes[0], view_writes[len(view_writes) // 2], view_writes[-1], counter["n"]}):
        for name, docs in before.items():
            store.db[name].delete_many({})
            if docs:
                store.db[name].insert_many(docs)
        kill_after(monkeypatch, writes)
        with pytest.raises(Killed):
            cleanup.Cleanup(store, FWJR, RETENTION, now=now).run()
        monkeypatch.undo()
        assert_views_agree(store, wanted, finished=False)
        cleanup.Cleanup(store, FWJR, RETENTION, now=now).run()
        assert_views_agree(store, wanted)
        assert {name: set(d["_id"] for d in store.db[name].find()) for name in clean} == clean


# -- planning: the smallest view that holds the question -------------------------------------------

QUESTIONS = [
    # (where, by, metrics, the view expected)
    ([], ["site"], ["count", "failure_rate"], "site"),
    (["site~^T2_"], ["site"], ["failure_rate"], "site"),
    (["site~^T2_"], ["exitCode"], ["count"], "site_exit"),
    # `site` keeps no metric: a question about one reads the smallest view that keeps it
    ([], ["site"], ["failure_rate", "cpu.TotalJobCPU:mean,p50"], "site_exit"),
    ([], ["jobtype"], ["cpu.TotalJobCPU:mean,min,max,n,std,p50"], "jobtype"),
    (["site=T1_US_FNAL"], ["acquisitionEra", "time:week"], ["count", "events"], "site_jobtype_era"),
    (["host~a"], ["site"], ["count"], None),                     # host is in no view
    ([], ["exitStep"], ["count"], None),
]


@pytest.mark.parametrize("where,by,metrics,view", QUESTIONS)
def test_answers_from_views_equal_answers_from_the_documents(store, reference_tiers, where, by, metrics, view):
    cleanup.Cleanup(store, FWJR, RETENTION, now=T(2028, 3, 20)).run()
    question = queries.query(start="2027-12-01", end="2028-03-01", where=where, by=by, metrics=metrics,
                             now=T(2028, 3, 20))
    with_views = queries.answer(store, question)
    without = queries.answer(store, question, use_views=False)
    assert with_views.attrs["read"]["view"] == view and without.attrs["read"]["view"] is None
    pd.testing.assert_frame_equal(with_views, without, check_exact=False, rtol=1e-9)
    assert with_views.attrs["tiers"] == without.attrs["tiers"] and len(with_views) > 0
    plan = queries.explain(store, question)
    read = plan["read"]
    assert read["view"] == view and read["documents_without_views"] == without.attrs["read"]["documents"]
    held = store.db.fwjr_buckets.find({"state": "held"})
    if view:
        assert read["collection"] == f"fwjr_view_{view}" and read["documents"] < read["documents_without_views"]
        assert all(p[0]["$match"] for p in plan["pipelines"])
    assert read["documents"] == sum(
        (e["views"][view]["documents"] if view else e["documents"]) for e in held
        if any(t["start"] <= e["start"] < t["end"] and t["precision"] == e["precision"] for t in plan["tiers"]))


def test_explain_through_bin_query_names_the_view_and_its_documents(store, reference_tiers, mongo_uri, capsys):
    from jobrollup.cli import query as query_cli
    from helpers import write_conf
    import json, os
    cleanup.Cleanup(store, FWJR, RETENTION, now=T(2028, 3, 20)).run()
    conf_file = write_conf(__import__("pathlib").Path(os.environ.get("TMPDIR", "/tmp")) / f"{store.db.name}.toml",
                           {"mongo": {"database": store.db.name}})
    args = ["--conf", str(conf_file), "--mongo-uri", mongo_uri, "--from", "2027-12-01", "--to", "2028-03-01",
            "--by", "site", "-m", "failure_rate", "--now", "2028-03-20T00:00"]
    assert query_cli.main(args + ["--explain"]) == 0
    read = json.loads(capsys.readouterr().out)["read"]
    assert read["view"] == "site" and read["documents"] > 0
    assert query_cli.main(args) == 0
    assert f"read    view site: {read['documents']:,} documents" in capsys.readouterr().out


def test_each_collection_keeps_only_the_indexes_its_keys_want(store, conf):
    """Documents index the selective keys; a view only those it holds. An index an earlier
    version made and no longer wanted (here on jobstate) is dropped: it slows every write."""
    stale = [("scope.timeframe_precision", 1), ("scope.jobstate", 1), ("scope.start_date", 1)]
    store.db[FWJR.collection].create_index(stale)
    store.db[FWJR.collection].create_index([("run_id", 1)])      # not ours: left alone
    wanted = configured(conf)
    store.ensure_indexes(FWJR, wanted)

    def scope_keys_indexed(collection):
        return {tuple(k.removeprefix("scope.") for k, _ in info["key"]) for name, info in
                store.db[collection].index_information().items() if name != "_id_"}

    window = ("timeframe_precision", "start_date")
    assert scope_keys_indexed(FWJR.collection) == {window, ("run_id",)} | {
        ("timeframe_precision", key, "start_date") for key in FWJR.indexed_keys}
    for view in wanted:
        assert scope_keys_indexed(view_collection(FWJR.collection, view.name)) == {window} | {
            ("timeframe_precision", key, "start_date") for key in FWJR.indexed_keys if key in view.keys}
    assert "site" in FWJR.indexed_keys and any("site" not in v.keys for v in wanted)   # the test sees both cases


def test_a_view_name_is_data_not_sql(spark):
    """The views are regrouped by one SQL text: names with quotes and braces stay names."""
    from pyspark.sql import types as Ty

    from jobrollup.spark.aggregate import aggregate_jobs, regroup_views

    metric = FWJR.metric_columns[0][2]
    text = {"exitCode": Ty.IntegerType()}
    schema = Ty.StructType([Ty.StructField("ts", Ty.TimestampType()),
                            *[Ty.StructField(k, text.get(k, Ty.StringType())) for k in FWJR.scope_keys],
                            Ty.StructField("events", Ty.LongType()),
                            *[Ty.StructField(c, Ty.DoubleType()) for _, _, c in FWJR.metric_columns]])
    sites = ["T2_A", "T2_B", "T2_A", "T1_C", "T2_A"]
    records = []
    for hour, site in enumerate(sites):
        scope = {k: f"{k}-{hour}" for k in FWJR.scope_keys} | {"site": site, "exitCode": hour}
        records.append((T(2027, 1, 1, hour), *[scope[k] for k in FWJR.scope_keys], 10 * hour,
                        *[float(hour) if c == metric else None for _, _, c in FWJR.metric_columns]))
    rows = aggregate_jobs(spark.createDataFrame(records, schema), "day", FWJR)
    odd = "o'clock {frame} `x`\\"
    out = regroup_views(rows, (views.View(odd, ("site",)),), FWJR, first="").collect()
    assert [r["view"] for r in out].count("") == len(sites)       # one row per job: every scope differs
    by_site = {r["site"]: r for r in out if r["view"] == odd}
    assert set(by_site) == set(sites)
    for site in set(sites):
        hours = [h for h, s in enumerate(sites) if s == site]
        got = by_site[site]
        assert (got["count"], got["events"], got[f"{metric}__sum"], got[f"{metric}__max"]) == \
            (len(hours), sum(10 * h for h in hours), float(sum(hours)), float(max(hours)))
        assert got["host"] is None and got["exitCode"] is None


def test_a_view_keeps_only_its_metrics_in_spark(spark):
    """Spark's regroup leaves the metrics a view does not keep as nulls: the document has none
    of them, and the metrics it keeps are those of the view that keeps all."""
    from pyspark.sql import types as Ty

    from jobrollup import documents
    from jobrollup.spark.aggregate import aggregate_jobs, regroup_views

    records = [(T(2027, 1, 1, hour), *[f"{k}-{hour % 2}" for k in FWJR.scope_keys], hour,
                *[float(hour + i) for i in range(len(FWJR.metric_columns))]) for hour in range(6)]
    schema = Ty.StructType([Ty.StructField("ts", Ty.TimestampType()),
                            *[Ty.StructField(k, Ty.StringType()) for k in FWJR.scope_keys],
                            Ty.StructField("events", Ty.LongType()),
                            *[Ty.StructField(c, Ty.DoubleType()) for _, _, c in FWJR.metric_columns]])
    rows = aggregate_jobs(spark.createDataFrame(records, schema), "day", FWJR)
    kept = ("cpu.TotalJobCPU", "storage.readTotalMB")
    wanted = (views.View("all", ("site",)), views.View("some", ("site",), kept), views.View("none", ("site",), ()))
    docs = {}
    for row in regroup_views(rows, wanted, FWJR).collect():
        doc = documents.to_document(row.asDict(), FWJR, "day", "r", ("site",))
        docs[(row["view"], doc["scope"]["site"])] = doc
    assert {site for _, site in docs} == {"site-0", "site-1"}
    for site in ("site-0", "site-1"):
        everything = docs[("all", site)]["performance"]
        assert sum(len(m) for m in everything.values()) == len(FWJR.metric_columns)
        assert docs[("some", site)]["performance"] == views.trim_performance(everything, kept)
        assert sorted(f"{g}.{m}" for g, ms in docs[("some", site)]["performance"].items() for m in ms) == list(kept)
        assert docs[("none", site)]["performance"] == {}
        assert len({docs[(v, site)]["count"] for v in ("all", "some", "none")}) == 1


def test_views_regrouped_in_spark_tell_a_null_value_from_a_key_left_out(spark):
    """All views are regrouped by one GROUPING SETS aggregation: a group whose key is null (a job
    without a site) must stay its own group, apart from the rows where the key is left out,
    in every view, and two views with the same keys get the same rows. Checked against plain
    Python over the same job records."""
    from pyspark.sql import types as Ty

    from jobrollup.spark.aggregate import aggregate_jobs, regroup_views

    metric = FWJR.metric_columns[0][2]
    schema = Ty.StructType([Ty.StructField("ts", Ty.TimestampType()),
                            *[Ty.StructField(k, Ty.IntegerType() if k == "exitCode" else Ty.StringType())
                              for k in FWJR.scope_keys],
                            Ty.StructField("events", Ty.LongType()),
                            *[Ty.StructField(c, Ty.DoubleType()) for _, _, c in FWJR.metric_columns]])
    records = []
    for i in range(40):
        scope = {k: f"{k}-{i}" for k in FWJR.scope_keys}
        scope |= {"site": [None, "T2_A", "T1_B"][i % 3], "jobstate": [None, "success", "failed", "success"][i % 4],
                  "exitCode": [None, 0, 8001][i % 3]}
        records.append((T(2027, 1, 1 + i % 2, i % 24), *[scope[k] for k in FWJR.scope_keys], i,
                        *[float(i) if c == metric else None for _, _, c in FWJR.metric_columns]))
    wanted = (views.View("by_site", ("site",)), views.View("by_state", ("jobstate",)),
              views.View("site_state", ("site", "jobstate")), views.View("same_site", ("site",)),
              views.View("exits", ("jobstate", "exitCode")))
    rows = aggregate_jobs(spark.createDataFrame(records, schema), "day", FWJR)
    got = defaultdict(dict)
    for row in regroup_views(rows, wanted, FWJR).collect():
        view = next(v for v in wanted if v.name == row["view"])
        assert all(row[k] is None for k in FWJR.scope_keys if k not in view.keys)
        key = (row["bucket_epoch"], *(row[k] for k in view.keys))
        assert key not in got[view.name], f"two rows of {view.name} for {key}"
        got[view.name][key] = (row["count"], row["events"], row[f"{metric}__sum"])
    names = [k for k in FWJR.scope_keys]
    for view in wanted:
        expected = defaultdict(lambda: [0, 0, 0.0])
        for record in records:
            scope = dict(zip(names, record[1:1 + len(names)]))
            day = T(record[0].year, record[0].month, record[0].day, tzinfo=dt.timezone.utc)
            totals = expected[(int(day.timestamp()), *(scope[k] for k in view.keys))]
            totals[0] += 1
            totals[1] += record[1 + len(names)]
            totals[2] += record[1 + len(names) + 1 + [c for _, _, c in FWJR.metric_columns].index(metric)]
        assert got[view.name] == {k: tuple(v) for k, v in expected.items()}, view.name
    assert any(None in key[1:] for key in got["by_site"]) and got["by_site"] == got["same_site"]


@pytest.mark.parametrize("spec,problem", [
    ({"keys": ["site"], "metrics": ["cpu.NoSuch"]}, "not among its metrics"),
    ({"keys": ["site"], "metric": []}, "unknown 'metric'"),
    ({"metrics": []}, "write {keys"),
    ({"keys": ["site"], "metrics": "cpu.TotalJobCPU"}, "lists of names"),
    (["nosuchkey"], "not in its scope"),
])
def test_a_view_definition_that_cannot_be_used_is_refused(spec, problem):
    with pytest.raises(views.ViewError, match=problem):
        views.define(FWJR, "v", spec)


def test_a_view_definition_round_trips_through_plans_and_the_ledger():
    defined = views.define(FWJR, "v", {"keys": ["jobstate", "site"], "metrics": ["storage.readTotalMB", "cpu.TotalJobCPU"]})
    assert defined.keys == tuple(k for k in FWJR.scope_keys if k in ("site", "jobstate"))   # the scope's order
    assert defined.metrics == ("cpu.TotalJobCPU", "storage.readTotalMB")   # the source's order
    assert views.from_plan(views.as_plan((defined,))) == (defined,)
    assert views.View.from_entry("old", ["site"]) == views.View("old", ("site",), None)   # ledger entries of before
    assert views.define(FWJR, "v", ["site"]).as_entry() == {"keys": ["site"]}
