"""Faults over a whole run (issue 19): the aggregation killed at six points and the cleanup at up
to ten, spread evenly over every write a clean run makes (first and last included; each Spark
re-run costs seconds), and the MongoDB server killed once mid-run. After each
kill nothing is counted twice; after the next complete run the documents equal a clean run's.

A kill is in-process (`Killed`, a BaseException no handler of ours catches, raised instead of the
n-th MongoDB write), so one Spark session and one small input serve every run. The server kill is
a real SIGKILL of an embedded server of this test's own.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import uuid

import executor_faults
import pytest
from helpers import plan_for
from test_cleanup import Killed, assert_answerable_and_exact, assert_same_documents, docs_of, kill_after

from jobrollup import cleanup, sources
from jobrollup.exits import MongoUnavailable
from jobrollup.sources.fwjr import generate
from jobrollup.spark import aggregate_job
from jobrollup.store import embedded
from jobrollup.store.mongo import MongoStore

FWJR = sources.get("fwjr")
D, T = dt.date, dt.datetime
KILLS = 10                 # cleanup kills (no Spark: cheap)
AGGREGATION_KILLS = 6      # each one a Spark run
RETENTION = {"hour": "2 days", "day": "8 weeks", "week": "1 year", "month": "forever"}
FIRST, LAST = D(2026, 1, 29), D(2026, 2, 2)       # across a month end and an ISO week boundary
COLLECTIONS = ("fwjr", "fwjr_buckets", "runs")


def spread(total: int, points: int = KILLS) -> list[int]:
    """`points` write numbers spread evenly over 1..total, the first and the last included;
    every write when a clean run makes no more than `points` (the batched cleanup makes few)."""
    assert total >= 2, f"a clean run makes only {total} writes"
    if total <= points:
        return list(range(1, total + 1))
    return sorted({round(1 + i * (total - 1) / (points - 1)) for i in range(points)})


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults") / "fwjr"
    generate.generate(root, FIRST, (LAST - FIRST).days + 2, 30, seed=19, malformed_share=0.0, late_share=0.05,
                      workers=1)
    return root


@pytest.fixture(scope="module")
def last_night(spark, mongo_server, conf, dumps):
    """The window aggregated at hour precision once, as last night left it: every collection."""
    store = MongoStore(mongo_server.uri, f"f_{uuid.uuid4().hex[:12]}")
    try:
        aggregate(spark, store, conf, dumps)
        return {name: list(store.db[name].find()) for name in COLLECTIONS}
    finally:
        store.client.drop_database(store.db.name)
        store.close()


def restore(store, snapshot: dict) -> MongoStore:
    for name, docs in snapshot.items():
        store.db[name].delete_many({})
        store.db[name].insert_many(docs)
    return store


def aggregate(spark, store, conf, root, precision="hour", first=FIRST, last=LAST):
    plan = plan_for(conf, root, first, last, precision)
    plan.write_batch = 10    # many writes from a small input: kills land in every phase
    return aggregate_job.run(spark, plan, store)


def without_run_ids(docs: dict) -> dict:
    return {key: {k: v for k, v in doc.items() if k != "run_id"} for key, doc in docs.items()}


def ledger(store) -> dict:
    return {e["_id"]: (e["state"], e["count"], e["documents"]) for e in store.db.fwjr_buckets.find()}


def test_an_aggregation_killed_at_six_points_over_the_whole_run(spark, stores, conf, dumps, last_night, monkeypatch,
                                                               tmp_path):
    store = restore(stores(), last_night)                       # the window as last night left it
    clean = without_run_ids(docs_of(store, "hour"))
    clean_ledger = ledger(store)
    # A re-run: numbers its writes (executors' and driver's), kills none.
    counter = executor_faults.arm(monkeypatch, tmp_path / "writes")
    aggregate(spark, store, conf, dumps)
    monkeypatch.undo()
    points = spread(counter.n, AGGREGATION_KILLS)
    # documents replaced by the executors (at once: the window was held, no insert is tried),
    # the ledger by the driver
    assert {"fwjr.bulk_write", "fwjr_buckets.bulk_write"} <= set(counter.kinds)
    assert "fwjr.insert_many" not in counter.kinds
    for point in points:
        counter = executor_faults.arm(monkeypatch, tmp_path / f"writes-{point}", point, Killed)
        with pytest.raises(BaseException) as killed:
            aggregate(spark, store, conf, dumps)
        monkeypatch.undo()
        assert executor_faults.was_killed(killed.value, Killed), killed.value
        assert counter.n >= point       # the point was reached, and no write at or after it was made
        # Every document is as one run or the other wrote it: the same jobs, never twice.
        assert without_run_ids(docs_of(store, "hour")) == clean
    killed = [r["_id"] for r in store.db.runs.find({"status": {"$ne": "succeeded"}})]
    # Killed on the driver: interrupted; in an executor, the driver saw the job fail.
    assert all(r["status"] in ("interrupted", "failed") for r in store.db.runs.find({"_id": {"$in": killed}}))
    assert len(killed) == len(points)
    result = aggregate(spark, store, conf, dumps)                 # the next night's run finishes it
    assert without_run_ids(docs_of(store, "hour")) == clean and ledger(store) == clean_ledger
    assert {d["run_id"] for d in store.db.fwjr.find()} == {result.run_id}
    assert store.db.runs.count_documents({"_id": {"$in": killed}, "status": {"$in": ["interrupted", "failed"]}}) \
        == len(points)


def test_a_cleanup_killed_at_up_to_ten_points_over_the_whole_run(stores, last_night, monkeypatch):
    reference, store = restore(stores(), last_night), restore(stores(), last_night)
    hourly = {e["start"]: e["count"] for e in reference.db.fwjr_buckets.find({"precision": "hour"})}
    now = T(2026, 6, 1)     # hours roll into days, days into weeks and months, and are dropped
    counter = kill_after(monkeypatch, 10**9)
    cleanup.Cleanup(reference, FWJR, RETENTION, now=now).run()
    monkeypatch.undo()
    assert {"fwjr.insert_many", "fwjr.delete_many", "fwjr_buckets.bulk_write", "fwjr_buckets.update_many"} \
        <= set(counter["kinds"])
    clean = {p: docs_of(reference, p) for p in ("hour", "day", "week", "month")}
    for point in spread(counter["n"]):
        restore(store, last_night)                         # each kill from the same start
        killed = kill_after(monkeypatch, point)
        with pytest.raises(Killed):
            cleanup.Cleanup(store, FWJR, RETENTION, now=now).run()
        monkeypatch.undo()
        assert killed["n"] == point
        assert_answerable_and_exact(store, hourly)            # nothing lost, nothing twice
        cleanup.Cleanup(store, FWJR, RETENTION, now=now).run()
        assert_answerable_and_exact(store, hourly)
        for precision, want in clean.items():
            assert_same_documents(docs_of(store, precision), want)


def test_the_server_killed_mid_run_is_one_line_and_the_rerun_is_exact(spark, conf, dumps, last_night, tmp_path,
                                                                      monkeypatch):
    clean = without_run_ids({d["_id"]: d for d in last_night["fwjr"]})
    folder = tmp_path / "mongo"
    server = embedded.ensure_running(folder)
    try:
        store = MongoStore(server.uri, "faults", timeout_ms=1500)
        executor_faults.arm(monkeypatch, tmp_path / "writes", kill_at=3, kill_server=server.pid)
        with pytest.raises(MongoUnavailable) as lost, store.failures():
            aggregate(spark, store, conf, dumps)                # the 3rd write (of 10 documents) kills it
        monkeypatch.undo()
        store.close()
        message = re.fullmatch(rf"MongoDB at 127.0.0.1:{server.port} stopped answering \(after (\d+) documents of "
                               r"this run were written; re-run to finish\)", str(lost.value))
        assert message and int(message[1]) <= 20, str(lost.value)   # the writes before it, in parallel
        embedded.stop(folder)                                  # forget the dead server's state file
        server = embedded.ensure_running(folder)               # the operator restarts it
        store = MongoStore(server.uri, "faults", timeout_ms=5000)
        # The killed command has exited (exit 4): its run is found dead on this host and marked.
        store.db.runs.update_many({"status": "running"}, {"$set": {"pid": _dead_pid()}})
        aggregate(spark, store, conf, dumps)
        assert without_run_ids(docs_of(store, "hour")) == clean
        assert store.db.runs.count_documents({"status": "interrupted"}) == 1
        store.close()
    finally:
        embedded.stop(folder)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
