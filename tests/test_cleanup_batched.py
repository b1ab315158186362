"""The cleanup's batched path (jobrollup.cleanup.Cleanup.ensure_batched, retire): chunks of any
size and retire runs of any length give the same documents and ledger as one pass, and a run
killed between any two writes of a chunked run is finished by the next one. No Spark: the hour
documents are the independent reference's (tests/reference.py), as in the property test."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from test_cleanup import (FWJR, RETENTION, START, Killed, assert_answerable_and_exact, assert_same_documents,
                          docs_of, fake_aggregate, kill_after, make_records)

from jobrollup import cleanup
from jobrollup.statistics import merge, merge_into

DAYS = 72                                 # Dec 20 2027 .. Feb 29 2028
NOW = START + dt.timedelta(days=120)      # hours -> days; days -> weeks and the month of January


def hours_held(store, records):
    fake_aggregate(store, records, "hour", START.date(), DAYS, "r000")
    return {e["start"]: e["count"] for e in store.db.fwjr_buckets.find({"precision": "hour"})}


def ledger(store) -> dict:
    return {e["_id"]: (e["state"], e.get("count"), e.get("documents")) for e in store.db.fwjr_buckets.find()}


def test_small_chunks_and_short_retire_runs_give_what_one_pass_gives(stores, monkeypatch):
    records = make_records(7, 150)
    whole, chunked = stores(), stores()
    hourly = hours_held(whole, records)
    hours_held(chunked, records)
    cleanup.Cleanup(whole, FWJR, RETENTION, now=NOW).run()
    monkeypatch.setattr(cleanup, "CHUNK_DOCUMENTS", 25)     # about 10 chunks of hours, 4 of days
    monkeypatch.setattr(cleanup, "RETIRE_BUCKETS", 100)
    reports = cleanup.Cleanup(chunked, FWJR, RETENTION, now=NOW).run()
    assert reports["hour"].built["day"] == DAYS and reports["day"].built == {"week": 9, "month": 1}
    for precision in ("hour", "day", "week", "month"):
        assert_same_documents(docs_of(chunked, precision), docs_of(whole, precision))
    assert ledger(chunked) == ledger(whole)
    assert_answerable_and_exact(chunked, hourly)


def small_chunks(monkeypatch) -> None:
    monkeypatch.setattr(cleanup, "CHUNK_DOCUMENTS", 40)
    monkeypatch.setattr(cleanup, "RETIRE_BUCKETS", 200)


def test_a_chunked_cleanup_killed_at_any_write_is_finished_by_the_next_run(stores, monkeypatch):
    records = make_records(11, 80)
    reference, store = stores(), stores()
    hourly = hours_held(reference, records)
    hours_held(store, records)
    start = {name: list(store.db[name].find()) for name in ("fwjr", "fwjr_buckets", "runs")}
    small_chunks(monkeypatch)
    counter = kill_after(monkeypatch, 10**9)                   # counts the writes, kills none
    cleanup.Cleanup(reference, FWJR, RETENTION, now=NOW).run()
    monkeypatch.undo()
    clean = {p: docs_of(reference, p) for p in ("hour", "day", "week", "month")}
    for point in sorted(random.Random(3).sample(range(1, counter["n"] + 1), 4)):
        for name, docs in start.items():                       # each kill from the same start
            store.db[name].delete_many({})
            if docs:
                store.db[name].insert_many(docs)
        small_chunks(monkeypatch)
        kill_after(monkeypatch, point)
        with pytest.raises(Killed):
            cleanup.Cleanup(store, FWJR, RETENTION, now=NOW).run()
        monkeypatch.undo()
        assert_answerable_and_exact(store, hourly)             # nothing lost, nothing twice
        small_chunks(monkeypatch)
        cleanup.Cleanup(store, FWJR, RETENTION, now=NOW).run()
        monkeypatch.undo()
        assert_answerable_and_exact(store, hourly)
        for precision, want in clean.items():
            assert_same_documents(docs_of(store, precision), want)


def test_merge_in_place_equals_merging_pairs():
    rng = random.Random(5)
    for _ in range(200):
        parts = []
        for _ in range(rng.randint(1, 5)):
            stats = {"n": rng.randint(0, 9), "sum": rng.uniform(0, 1e4), "min": rng.uniform(0, 10),
                     "max": rng.uniform(10, 99), "sumsq": rng.uniform(0, 1e6)}
            if rng.random() < 0.8:   # a part without a sketch drops the sketch of the merge
                stats["sketch"] = {"gamma": 1.02, "zeros": rng.randint(0, 2),
                                   "bins": {str(rng.randint(0, 6)): rng.randint(1, 3) for _ in range(3)}}
            parts.append(stats)
        copies = [dict(p, sketch=dict(p["sketch"], bins=dict(p["sketch"]["bins"]))) if "sketch" in p else dict(p)
                  for p in parts]
        folded, in_place = dict(parts[0]), None
        for part in parts[1:]:
            folded = merge(folded, part)
        for part in parts:
            in_place = merge_into(in_place, part)
        assert in_place == folded
        assert parts == copies     # the inputs are left as they were
