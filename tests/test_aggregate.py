"""The aggregation job against the independent reference (tests/reference.py), in MongoDB.

Every test runs the real pipeline (Spark local[2] -> SecantusDB over pymongo) and compares
the stored documents with plain Python + pandas over the same input files.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
from pathlib import Path

import executor_faults
import pytest
from helpers import plan_for
from pyspark.sql import Row

import reference
from jobrollup import documents, sources, statistics
from jobrollup.exits import InputError, MongoUnavailable, RunRefused, WindowBusy
from jobrollup.plan import day_folder
from jobrollup.sources.fwjr import generate
from jobrollup.spark import aggregate_job
from jobrollup.store.mongo import MongoStore, utcnow, view_collection

D = dt.date


def run(spark, store, conf, root, first, last=None, precision="day", write_batch=None, **overrides):
    plan = plan_for(conf, root, first, last or first, precision, **overrides)
    plan.write_batch = write_batch or plan.write_batch
    return plan, aggregate_job.run(spark, plan, store)


def stored(store, precision, collection="fwjr"):
    return list(store.db[collection].find({"scope.timeframe_precision": precision}))


def expected_for(plan, result):
    records, _ = reference.read_lines(result.folders)
    window = plan.window
    return reference.aggregate(records, plan.precision, (window.start, window.end))


def without_run(docs):
    return sorted(({k: v for k, v in d.items() if k != "run_id"} for d in docs), key=lambda d: d["_id"])


def report(ts, *, task="/wfA/taskA", site="T2_CH_CERN", codes=(), era="Run2026A", events=100,
           cpu=None, jobstate="success", jobtype="Processing"):
    """A small hand-made report: one cmsRun1 step and a stageOut1 step."""
    cpu = {"TotalJobCPU": 100.0, "TotalJobTime": 120.0} if cpu is None else cpu
    return {
        "meta_data": {"host": "agent1", "jobtype": jobtype, "jobstate": jobstate, "ts": ts},
        "task": task,
        "steps": [
            {"name": "cmsRun1", "site": site, "errors": [{"exitCode": c, "details": "x"} for c in codes],
             "output": [{"acquisitionEra": era, "events": events}],
             "performance": {"cpu": cpu, "memory": {"PeakValueRss": 2000.0}, "storage": {}}},
            {"name": "stageOut1", "site": site, "performance": {"cpu": {}, "memory": {}, "storage": {}}},
        ],
    }


def epoch(*args) -> float:
    return dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp()


@pytest.fixture(scope="module")
def boundary_data(tmp_path_factory):
    """Nine days around a year change: ISO week 2026-W01 starts Monday 2025-12-29."""
    root = tmp_path_factory.mktemp("boundary") / "fwjr"
    generate.generate(root, D(2025, 12, 28), 9, 150, seed=7, malformed_share=0.01, late_share=0.1, workers=2)
    return root


def test_one_writing_task_writes_what_every_partition_writes(spark, stores, conf_with_views, boundary_data):
    """conf [mongo] write_tasks (bin/aggregate's one writer for the embedded server): the same
    documents and views, from one partition."""
    results = {}
    spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")   # every shuffle partition
    try:
        for tasks in (0, 1):
            store = stores()
            plan, result = run(spark, store, conf_with_views, boundary_data, D(2025, 12, 31), precision="hour",
                               write_tasks=tasks)
            views = {name: without_run(store.db[f"fwjr_view_{name}"].find()) for name in result.views}
            results[tasks] = (result.writes["at_once"], without_run(stored(store, "hour")), views)
            if tasks:   # one task writes the documents, then one the views
                assert result.writes["partitions"] == 2
    finally:
        spark.conf.unset("spark.sql.adaptive.coalescePartitions.enabled")
    assert results[1][0] == 1 < results[0][0]
    assert results[1][1:] == results[0][1:] and len(results[1][1]) > 100 and len(results[1][2]) == 4
    reference.assert_documents_equal(results[1][1], expected_for(plan, result))


def test_a_partition_writer_sends_every_batch_and_stops_at_the_first_error(store, monkeypatch):
    """PartitionWriter sends batches from a thread of its own while the next is built: every
    document arrives, and a MongoDB error stops the writes and comes back as the partition's."""
    from pymongo.errors import OperationFailure

    writer = store.partition_writer(batch=100)
    docs = lambda n, tag: ({"_id": f"{tag}{i}", "i": i} for i in range(n))
    assert writer.write([("a", docs(250, "a")), ("b", docs(120, "b"))]) == (370, None)
    assert store.db.a.count_documents({}) == 250 and store.db.b.count_documents({}) == 120

    calls = []
    real_flush = MongoStore._flush

    def failing_flush(coll, batch, on_batch, held=False):
        calls.append(len(batch))
        if len(calls) == 2:
            raise OperationFailure("the server refused", 8000)
        return real_flush(coll, batch, on_batch, held)
    monkeypatch.setattr(MongoStore, "_flush", staticmethod(failing_flush))
    written, error = writer.write([("c", docs(1000, "c"))])
    assert written == 100 and error["kind"] == "OperationFailure" and error["code"] == 8000
    assert len(calls) == 2 and store.db.c.count_documents({}) == 100   # nothing sent after the error


def test_a_partition_is_written_without_the_cycle_collector_which_is_given_back(store, monkeypatch):
    """The executor's Python writes a partition with the cycle collector off (write.py says
    why), and turns it back on after, an error included: the worker process is reused."""
    import gc

    from jobrollup.spark import write

    writer = store.partition_writer(batch=100)
    seen = []

    def writing(groups):
        seen.append(gc.isenabled())
        return sum(len(list(docs)) for _, docs in groups), None

    def failing(groups):
        seen.append(gc.isenabled())
        raise RuntimeError("lost")
    monkeypatch.setattr(type(writer), "write", lambda self, groups: writing(groups))
    summary = next(write._write_partition(writer, "fwjr", "day", "r", "fwjr", {}, iter([])))
    assert summary["written"] == 0 and seen == [False] and gc.isenabled()
    monkeypatch.setattr(type(writer), "write", lambda self, groups: failing(groups))
    with pytest.raises(RuntimeError):
        next(write._write_partition(writer, "fwjr", "day", "r", "fwjr", {}, iter([])))
    assert seen == [False, False] and gc.isenabled()
    monkeypatch.setattr(type(writer), "write", lambda self, groups: writing(groups))
    gc.disable()
    try:   # a collector that was off stays off
        next(write._write_partition(writer, "fwjr", "day", "r", "fwjr", {}, iter([])))
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("precision", ["hour", "day", "week", "month"])
def test_documents_match_reference_at_every_precision(spark, store, conf, boundary_data, precision):
    plan, result = run(spark, store, conf, boundary_data, D(2025, 12, 31), D(2026, 1, 1), precision)
    expected = expected_for(plan, result)
    docs = stored(store, precision)
    assert result.status == "succeeded" and result.written == len(docs) == len(expected)
    reference.assert_documents_equal(docs, expected)
    # A year change and the straddling ISO week are whole buckets, never cut at the span.
    starts = {d["scope"]["start_date"] for d in docs}
    if precision == "week":
        assert starts == {dt.datetime(2025, 12, 29)}
        assert {d["scope"]["end_date"] for d in docs} == {dt.datetime(2026, 1, 5)}
    if precision == "month":
        assert starts == {dt.datetime(2025, 12, 1), dt.datetime(2026, 1, 1)}
    if precision == "day":
        assert starts == {dt.datetime(2025, 12, 31), dt.datetime(2026, 1, 1)}
    if precision == "hour":
        assert len(starts) == 48


def test_counts_add_up_to_the_lines_read(spark, store, conf, boundary_data):
    plan, result = run(spark, store, conf, boundary_data, D(2025, 12, 30))
    lines = sum(1 for f in result.folders for p in Path(f).iterdir() for line in open(p) if line.strip())
    c = result.counts
    assert c["lines"] == lines == c["in_window"] + c["outside_window"] + c["rejected"]
    assert sum(d["count"] for d in stored(store, "day")) == c["in_window"]
    _, rejects = reference.read_lines(result.folders)
    assert c["rejected_by_reason"] == dict(rejects)
    run_doc = store.db.runs.find_one({"_id": result.run_id})
    assert run_doc["status"] == "succeeded" and run_doc["records"]["rejected"] == c["rejected"]
    assert run_doc["documents"]["written"] == result.written


def test_same_run_twice_gives_the_same_documents(spark, store, conf, boundary_data):
    run(spark, store, conf, boundary_data, D(2026, 1, 2), precision="hour")
    first = without_run(stored(store, "hour"))
    _, again = run(spark, store, conf, boundary_data, D(2026, 1, 2), precision="hour")
    assert without_run(stored(store, "hour")) == first
    assert again.removed == 0


def test_precisions_share_the_collection_without_touching_each_other(spark, store, conf, boundary_data):
    run(spark, store, conf, boundary_data, D(2026, 1, 1), precision="day")
    days = without_run(stored(store, "day"))
    run(spark, store, conf, boundary_data, D(2026, 1, 1), precision="hour")
    assert without_run(stored(store, "day")) == days
    assert sum(d["count"] for d in stored(store, "hour")) == sum(d["count"] for d in days)


def test_week_run_for_one_day_recomputes_the_whole_week(spark, store, conf, boundary_data):
    plan, result = run(spark, store, conf, boundary_data, D(2025, 12, 31), precision="week")
    assert plan.window_start == "2025-12-29T00:00:00" and plan.window_end == "2026-01-05T00:00:00"
    # Every day of the week is read, plus one day of lateness.
    assert [Path(f).name for f in result.folders] == ["29", "30", "31", "01", "02", "03", "04", "05"]
    reference.assert_documents_equal(stored(store, "week"), expected_for(plan, result))


def test_empty_input_leaves_an_empty_window(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    generate.write_reports(day_folder(str(root), D(2026, 3, 1)), [report(epoch(2026, 3, 1, 5))])
    run(spark, store, conf, root, D(2026, 3, 1))
    assert len(stored(store, "day")) == 1
    # The day is dumped again, now empty: the window is rewritten whole, so its document goes.
    (Path(day_folder(str(root), D(2026, 3, 1))) / "fwjr-00000.jsonl").write_text("")
    _, result = run(spark, store, conf, root, D(2026, 3, 1))
    assert result.counts["lines"] == 0 and result.written == 0 and result.removed == 1
    assert stored(store, "day") == []


def test_what_a_killed_first_run_left_is_removed(spark, store, conf_with_views, tmp_path):
    # The window was never held, but a run killed before its ledger entry left documents and
    # view documents that the next run does not write again: they go, and only they.
    root = tmp_path / "fwjr"
    generate.write_reports(day_folder(str(root), D(2026, 3, 1)), [report(epoch(2026, 3, 1, 5))])
    scope = {"timeframe_precision": "day", "start_date": dt.datetime(2026, 3, 1), "site": "T2_XX_Gone"}
    store.db["fwjr"].insert_one({"_id": "left-by-a-killed-run", "scope": scope, "count": 5, "run_id": "killed"})
    site_view = store.db[view_collection("fwjr", "site")]
    site_view.insert_one({"_id": "left-by-a-killed-run", "scope": scope, "count": 5, "run_id": "killed"})
    plan, result = run(spark, store, conf_with_views, root, D(2026, 3, 1))
    assert result.removed == 1 and result.views["site"]["removed"] == 1
    assert all(counts["removed"] == 0 for name, counts in result.views.items() if name != "site")
    reference.assert_documents_equal(stored(store, "day"), expected_for(plan, result))
    assert sum(d["count"] for d in site_view.find()) == 1


def test_a_single_record(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    ts = epoch(2026, 2, 28, 23, 59, 59)
    generate.write_reports(day_folder(str(root), D(2026, 2, 28)), [report(ts, codes=["8021"])])
    plan, result = run(spark, store, conf, root, D(2026, 2, 28), precision="month")
    (doc,) = stored(store, "month")
    assert doc["count"] == 1 and doc["events"] == 100
    assert doc["scope"]["exitCode"] == 8021 and doc["scope"]["exitStep"] == "cmsRun1"
    assert (doc["scope"]["start_date"], doc["scope"]["end_date"]) == (dt.datetime(2026, 2, 1), dt.datetime(2026, 3, 1))
    assert doc["performance"]["cpu"]["TotalJobCPU"] == {
        "n": 1, "sum": 100.0, "min": 100.0, "max": 100.0, "sumsq": 10000.0,
        "sketch": {"gamma": 1.02, "zeros": 0, "bins": {"233": 1}}}   # 1.02**232 < 100 <= 1.02**233
    reference.assert_documents_equal([doc], expected_for(plan, result))


@pytest.mark.parametrize("bins", [[], [233], [5, -3, 5, 0, 5], [(i * 7919) % 97 - 40 for i in range(1000)]],
                         ids=["none", "one", "short", "long"])
def test_a_sketch_counts_every_bin_in_the_order_first_seen(bins):
    # Short and long lists are counted by different code (statistics.sketch): both as plain Python does.
    expected: dict[str, int] = {}
    for index in bins:
        expected[str(index)] = expected.get(str(index), 0) + 1
    got = statistics.sketch(bins, 3)
    assert got == {"gamma": 1.02, "zeros": 3, "bins": expected}
    assert list(got["bins"]) == list(expected)


def test_a_document_from_a_spark_row_is_the_document_of_its_dict():
    # The executors build documents from Rows by position (documents.document_maker); a row's
    # columns in another order must give the same document.
    source = sources.get("fwjr")
    values = {"bucket_epoch": 1772323200, **{k: None for k in source.scope_keys}, "site": "T2_A", "exitCode": 8021,
              "count": 3, **{c: 7 for c in source.counters}}
    for _, _, column in source.metric_columns:
        values.update({f"{column}__n": 0, f"{column}__sum": None, f"{column}__min": None, f"{column}__max": None,
                       f"{column}__sumsq": None})
    values.update({"cpu__TotalJobCPU__n": 2, "cpu__TotalJobCPU__sum": 3.0, "cpu__TotalJobCPU__min": 1.0,
                   "cpu__TotalJobCPU__max": 2.0, "cpu__TotalJobCPU__sumsq": 5.0, "cpu__TotalJobCPU__bins": [1, 35, 1],
                   "cpu__TotalJobCPU__zeros": 1})
    expected = {"_id": documents.document_id(source, "day", dt.datetime(2026, 3, 1),
                                             {k: values[k] for k in source.scope_keys}),
                "scope": {**{k: values[k] for k in source.scope_keys}, "start_date": dt.datetime(2026, 3, 1),
                          "end_date": dt.datetime(2026, 3, 2), "timeframe_precision": "day"},
                "count": 3, **{c: 7 for c in source.counters}, "run_id": "r",
                "performance": {"cpu": {"TotalJobCPU": {"n": 2, "sum": 3.0, "min": 1.0, "max": 2.0, "sumsq": 5.0,
                                                        "sketch": {"gamma": 1.02, "zeros": 1, "bins": {"1": 2, "35": 1}}}}}}
    assert documents.to_document(values, source, "day", "r") == expected
    columns = sorted(values, reverse=True)
    row = Row(*columns)(*(values[c] for c in columns))
    assert documents.document_maker(row.__fields__, source, "day", "r")(row) == expected
    assert list(documents.to_documents([row, row], source, "day", "r")) == [expected, expected]


def test_documents_written_where_a_window_was_held_replace_and_add(store):
    # A re-run replaces at once (held=True), a first run inserts and replaces what exists: both
    # leave each document once, the new one, and the others as they were.
    name = "held_scratch"
    store.db[name].drop()
    store.replace_documents(name, [{"_id": 1, "v": "old"}, {"_id": 2, "v": "old"}])
    for held in (True, False):
        assert store.replace_documents(name, [{"_id": 2, "v": held}, {"_id": 3, "v": held}], held=held) == 2
        assert sorted(store.db[name].find(), key=lambda d: d["_id"]) == [
            {"_id": 1, "v": "old"}, {"_id": 2, "v": held}, {"_id": 3, "v": held}]
    store.db[name].drop()


def test_sentinels_string_codes_and_placeholders(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    day = D(2026, 4, 1)
    t = epoch(2026, 4, 1, 10)
    reports = [
        report(t, codes=[99999, " 8001 "], cpu={"TotalJobCPU": -1, "TotalJobTime": "50.5"}, jobstate="jobfailed"),
        report(t, codes=["8001"], cpu={"TotalJobCPU": -2, "TotalJobTime": 10}, jobstate="jobfailed"),
        report(t, codes=[99999], cpu={"TotalJobCPU": 7.0}, jobstate="jobfailed"),
        report(t, site={}, events="12", cpu={}),
    ]
    generate.write_reports(day_folder(str(root), day), reports)
    plan, result = run(spark, store, conf, root, day)
    docs = {(d["scope"]["exitCode"], d["scope"]["site"]): d for d in stored(store, "day")}
    assert set(docs) == {(8001, "T2_CH_CERN"), (99999, "T2_CH_CERN"), (0, None)}
    failed = docs[(8001, "T2_CH_CERN")]
    assert failed["count"] == 2
    assert "TotalJobCPU" not in failed["performance"]["cpu"]          # both were sentinels
    assert failed["performance"]["cpu"]["TotalJobTime"]["n"] == 2
    assert failed["performance"]["cpu"]["TotalJobTime"]["sum"] == pytest.approx(60.5)
    assert docs[(0, None)]["events"] == 12 and "cpu" not in docs[(0, None)]["performance"]
    reference.assert_documents_equal(stored(store, "day"), expected_for(plan, result))


def test_late_records_land_in_their_own_day(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    day = D(2026, 5, 10)
    generate.write_reports(day_folder(str(root), day), [
        report(epoch(2026, 5, 10, 1)), report(epoch(2026, 5, 9, 23, 30))])      # one from the day before
    generate.write_reports(day_folder(str(root), day + dt.timedelta(days=1)), [
        report(epoch(2026, 5, 10, 22)), report(epoch(2026, 5, 11, 2))])        # one late arrival
    _, result = run(spark, store, conf, root, day)
    assert result.counts["in_window"] == 2 and result.counts["outside_window"] == 2
    assert sum(d["count"] for d in stored(store, "day")) == 2
    # Without lateness the late arrival is not read.
    _, result = run(spark, store, conf, root, day, lateness_days=0)
    assert sum(d["count"] for d in stored(store, "day")) == 1


def test_rejects_are_counted_kept_and_readable(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    day = D(2026, 6, 1)
    good = [json.dumps(report(epoch(2026, 6, 1, h))) for h in range(20)]
    bad = ['{"meta_data": {"ts": 17', "\x00\x01 binary", '{"meta_data": {"host": "a"}}',
           '{"meta_data": {"ts": "yesterday"}}', '{"meta_data": {"ts": 1780000000}, "steps": "oops"}', "[1, 2]"]
    generate.write_reports(day_folder(str(root), day), good + bad + [""])
    _, result = run(spark, store, conf, root, day, max_reject_share=0.5)
    assert result.counts["rejected_by_reason"] == {"malformed_json": 2, "missing_ts": 1, "bad_ts": 1, "wrong_type": 2}
    rows = [json.loads(line) for p in Path(result.rejects_path).glob("*.json") for line in open(p)]
    assert sorted(r["line"] for r in rows) == sorted(bad)
    assert all(r["reason"] and r["file"].endswith(".jsonl") for r in rows)
    assert sum(d["count"] for d in stored(store, "day")) == 20


def test_a_rejected_line_seen_twice_is_set_aside_twice(spark, store, conf, tmp_path):
    # The run aggregates rejected lines as groups of their own (aggregate_and_tally): the same
    # line twice in a file, and once in another file, must come out three times, each with its
    # own file, and the file must be sorted by file and line.
    root = tmp_path / "fwjr"
    day = D(2026, 6, 3)
    folder = day_folder(str(root), day)
    good = [json.dumps(report(epoch(2026, 6, 3, h))) for h in range(10)]
    generate.write_reports(folder, ["not json", *good[:5], "not json", "[1]"])
    generate.write_reports(folder, ["not json", *good[5:]], name="fwjr-00001")
    _, result = run(spark, store, conf, root, day, max_reject_share=0.5)
    assert result.counts["rejected"] == 4 and result.counts["in_window"] == 10
    rows = [json.loads(line) for p in sorted(Path(result.rejects_path).glob("*.json")) for line in open(p)]
    assert [(Path(r["file"]).name, r["line"]) for r in rows] == [
        ("fwjr-00000.jsonl", "[1]"), ("fwjr-00000.jsonl", "not json"), ("fwjr-00000.jsonl", "not json"),
        ("fwjr-00001.jsonl", "not json")]
    assert all(r["bytes"] == len(r["line"]) and r["cut"] is False for r in rows)


def test_too_many_rejects_refuse_the_run_and_write_nothing(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    day = D(2026, 6, 2)
    folder = day_folder(str(root), day)
    generate.write_reports(folder, [report(epoch(2026, 6, 2, 3))] * 10)
    run(spark, store, conf, root, day)
    before = stored(store, "day")
    generate.write_reports(folder, ["not json"] * 5, name="fwjr-00001")
    with pytest.raises(RunRefused, match="5 of 15 lines rejected"):
        run(spark, store, conf, root, day, max_reject_share=0.2)
    assert stored(store, "day") == before
    assert store.db.runs.find_one({"status": "refused"})["records"]["rejected"] == 5


def test_interrupted_run_then_rerun_counts_nothing_twice(spark, store, conf, boundary_data, monkeypatch, tmp_path):
    run(spark, store, conf, boundary_data, D(2025, 12, 30), precision="hour")
    writes = executor_faults.arm(monkeypatch, tmp_path / "writes", kill_at=2)   # in an executor's second batch
    with pytest.raises(Exception) as killed:
        run(spark, store, conf, boundary_data, D(2025, 12, 30), precision="hour", write_batch=20)
    monkeypatch.undo()
    assert executor_faults.was_killed(killed.value, executor_faults.ExecutorKilled) and writes.n >= 2
    assert store.db.runs.count_documents({"status": "failed"}) == 1
    plan, result = run(spark, store, conf, boundary_data, D(2025, 12, 30), precision="hour")
    docs = stored(store, "hour")
    reference.assert_documents_equal(docs, expected_for(plan, result))
    assert {d["run_id"] for d in docs} == {result.run_id}


def test_a_killed_run_is_marked_and_a_live_one_blocks(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    day = D(2026, 7, 1)
    generate.write_reports(day_folder(str(root), day), [report(epoch(2026, 7, 1, 1))])
    window = {"precision": "day", "start": dt.datetime(2026, 7, 1), "end": dt.datetime(2026, 7, 2)}
    store.db.runs.insert_one({"_id": "dead", "source": "fwjr", "job": "aggregate", "status": "running",
                              "window": window, "started_at": utcnow() - dt.timedelta(hours=2),
                              "heartbeat_at": utcnow() - dt.timedelta(hours=2)})
    # Killed on this host a moment ago (its process is gone): no need to wait for the lease.
    store.db.runs.insert_one({"_id": "killed", "source": "fwjr", "job": "aggregate", "status": "running",
                              "window": window, "started_at": utcnow(), "heartbeat_at": utcnow(),
                              "host": socket.gethostname(), "pid": dead_pid()})
    run(spark, store, conf, root, day)
    assert store.db.runs.find_one({"_id": "dead"})["status"] == "interrupted"
    assert store.db.runs.find_one({"_id": "killed"})["status"] == "interrupted"
    store.db.runs.insert_one({"_id": "alive", "source": "fwjr", "job": "aggregate", "status": "running",
                              "window": window, "started_at": utcnow(), "heartbeat_at": utcnow(),
                              "host": "another-host", "pid": 1})
    with pytest.raises(WindowBusy, match="run alive .* is still writing day buckets"):
        run(spark, store, conf, root, day)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_missing_input_folder_is_an_error(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    generate.write_reports(day_folder(str(root), D(2026, 8, 2)), [report(epoch(2026, 8, 2, 1))])
    with pytest.raises(InputError, match="input folder missing: .*2026/08/01"):
        run(spark, store, conf, root, D(2026, 8, 1), require_all_days=True)
    assert store.db.fwjr.count_documents({}) == 0


def test_unreachable_mongodb_is_a_clear_error():
    store = MongoStore("mongodb://127.0.0.1:9/?directConnection=true", "x", timeout_ms=300)
    with pytest.raises(MongoUnavailable, match="unreachable"):
        store.ping()


def test_parquet_and_gzipped_json_give_the_same_documents(spark, store, conf, tmp_path):
    day = D(2026, 9, 15)
    lines, _ = generate.generate_day(day, 300, seed=3, late_share=0.0, malformed_share=0.0)
    generate.write_reports(day_folder(str(tmp_path / "json"), day), lines, fmt="jsonl.gz")
    generate.write_reports(day_folder(str(tmp_path / "parquet"), day), [json.loads(x) for x in lines],
                           fmt="parquet")
    run(spark, store, conf, tmp_path / "json", day)
    from_json = without_run(stored(store, "day"))
    store.db.fwjr.delete_many({})
    run(spark, store, conf, tmp_path / "parquet", day)
    assert without_run(stored(store, "day")) == from_json
    assert sum(d["count"] for d in from_json) == 300


def test_old_reports_with_steps_keyed_by_name(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    day = D(2026, 10, 1)
    old = report(epoch(2026, 10, 1, 4), codes=[50660])
    old["steps"] = {s.pop("name"): s for s in old["steps"]}
    generate.write_reports(day_folder(str(root), day), [old])
    plan, result = run(spark, store, conf, root, day)
    (doc,) = stored(store, "day")
    assert doc["scope"]["exitCode"] == 50660 and doc["scope"]["exitStep"] == "cmsRun1"
    assert doc["performance"]["cpu"]["TotalJobCPU"]["sum"] == 100.0
    reference.assert_documents_equal([doc], expected_for(plan, result))


def test_file_uri_roots_read_like_local_paths(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    generate.write_reports(day_folder(str(root), D(2026, 10, 2)), [report(epoch(2026, 10, 2, 4))] * 3)
    _, result = run(spark, store, conf, f"file://{root}", D(2026, 10, 2))
    assert result.counts["in_window"] == 3 and sum(d["count"] for d in stored(store, "day")) == 3


def test_avro_without_spark_avro_is_a_clear_error(spark, store, conf, tmp_path):
    folder = Path(day_folder(str(tmp_path / "fwjr"), D(2026, 10, 3)))
    folder.mkdir(parents=True)
    (folder / "part-0.avro").write_bytes(b"Obj\x01")
    with pytest.raises(InputError, match="no spark-avro"):
        run(spark, store, conf, tmp_path / "fwjr", D(2026, 10, 3))
    assert store.db.runs.find_one()["status"] == "failed"


def test_every_bucket_of_the_window_is_recorded_even_empty_ones(spark, store, conf, tmp_path):
    root = tmp_path / "fwjr"
    generate.write_reports(day_folder(str(root), D(2026, 10, 4)),
                           [report(epoch(2026, 10, 4, 4)), report(epoch(2026, 10, 4, 4, 30)), report(epoch(2026, 10, 4, 9))])
    _, result = run(spark, store, conf, root, D(2026, 10, 4), precision="hour")
    ledger = {b["start"].hour: b for b in store.db.fwjr_buckets.find({"precision": "hour"})}
    assert sorted(ledger) == list(range(24))
    assert {h: b["count"] for h, b in ledger.items() if b["count"]} == {4: 2, 9: 1}
    assert all(b["run_id"] == result.run_id and b["state"] == "held" for b in ledger.values())
