"""Benchmark of the cleanup: a year of hourly documents downsampled into days, weeks and months.

    .venv/bin/python bench/bench_cleanup.py [--days 365] [--hour-docs-per-day 2000]
        [--workdir var/bench-cleanup]

Writes synthetic hour documents (shaped like the aggregation's, with all 27 metrics) and their
ledger entries straight into the embedded MongoDB (<workdir>/mongo, a fresh database), then runs
`cleanup.Cleanup` as of three days after the last day, with the default retention (hours 2 days,
days 8 weeks, weeks 1 year). Prints documents per second and the total time, and checks that
the held buckets still add up to every job written, and what the time went to by kind of
MongoDB call. The database is dropped at the end, and the server stopped if this run started it.

Measured 2026-12-03 on the shared 2-core machine (load average 3-6 from other work), a year at
--hour-docs-per-day 190 (65,135 hour documents; 83,043 fine documents read and deleted, 58,113
coarse written):
  with the default views   266.0 s: range deletes 98.2 s (the hour views are 2.2 times the hour
                           documents at this bench's 8 documents an hour, and every one is
                           deleted), inserts 85.5 s, check sums 22.2 s, reads 20.3 s, ledger
                           writes 11.5 s, Python 24.9 s
                           (401.6 s before the documents and views kept only their selective
                           indexes: deletes 158.4 s, inserts 152.1 s)
  --no-views               (before that change) 159.5 s
and at --hour-docs-per-day 468 --no-views (160,570 hour documents, the issue's year of about
171k): 394.8 s, 883 documents/s: inserts 131.0 s, range deletes 108.1 s, check sums 60.2 s,
reads 53.1 s, ledger writes 10.6 s, Python 29.6 s (load 3-5).
The server's own cost per document dominates (it indexes and deletes document by document, in
Python): an insert_many of 6,000 hour documents ran at 2,354 documents/s into a collection
with only the time index, 1,565/s with the four indexes `fwjr` has now and 1,114/s with the
eight it had; a range delete at 3,131, 2,317 and 1,686/s. Round trips are no longer the cost.

The `floor` line bounds what any cleanup could do on this server: the documents this one read,
inserted and deleted, at the server's best rates for such documents (one call each into a
scratch collection with no index but `_id`). Measured 2026-12-04, quiet machine, with the
default views, --hour-docs-per-day 468 (160,570 hour documents and 466,254 hour view documents):
cleanup 687.6 s (range deletes 297.8 s for 760,579 documents, inserts 209.7 s for 332,717 coarse
documents and views, reads 52.4 s for 210,255, check sums 48.1 s, ledger 16.7 s, Python 62.8 s);
floor 274.8 s, 150.6 s without the deletes (insert 3,166/s, read 4,621/s, delete 6,121/s).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import sys
import time
import uuid
from pathlib import Path

import harness  # first: it puts src/ on sys.path (bench/ is there as the script's folder)
from jobrollup import cleanup, config, documents, sources, views
from jobrollup.store.mongo import MongoStore, view_collection
from jobrollup.tiers import Window

FWJR = sources.get("fwjr")
RETENTION = {"hour": "2 days", "day": "8 weeks", "week": "1 year", "month": "forever"}


def hour_documents(day: dt.date, per_day: int, rng: random.Random, run_id: str):
    """About `per_day` hour documents: per_day/3 scopes, each seen in about three hours."""
    scopes = [{"workflow": f"wf{rng.randrange(500)}", "task": f"task{rng.randrange(1000)}",
               "host": f"vocms0{rng.randrange(5)}", "site": f"T2_XX_{rng.randrange(50)}",
               "jobstate": rng.choice(["success"] * 6 + ["jobfailed"]), "jobtype": "Processing",
               "acquisitionEra": f"Run{rng.randrange(25)}", "exitCode": rng.choice([0] * 6 + [8001, 50660]),
               "exitStep": None} for _ in range(max(1, per_day // 3))]
    docs = {}
    base = dt.datetime(day.year, day.month, day.day)
    for _ in range(per_day):
        scope = rng.choice(scopes)
        start = base + dt.timedelta(hours=rng.randrange(24))
        _id = documents.document_id(FWJR, "hour", start, scope)
        jobs = rng.randint(1, 5)
        if _id in docs:
            docs[_id]["count"] += jobs
            continue
        performance = {g: {m: {"n": jobs, "sum": 10.0 * jobs, "min": 1.0, "max": 20.0, "sumsq": 150.0 * jobs}
                           for m in metrics} for g, metrics in FWJR.metrics.items()}
        docs[_id] = {"_id": _id, "scope": {**scope, "start_date": start, "end_date": start + dt.timedelta(hours=1),
                                           "timeframe_precision": "hour"},
                     "count": jobs, "events": 100 * jobs, "performance": performance, "run_id": run_id}
    for doc in docs.values():  # n cannot exceed the jobs of the document
        for metrics in doc["performance"].values():
            for stats in metrics.values():
                stats["n"] = doc["count"]
    return list(docs.values())


# What the cleanup's time goes to: MongoStore calls by kind (a cursor's time is its iteration).
CALLS = {"read fine documents": ("documents",), "insert coarse documents and views": ("replace_documents",),
         "range deletes": ("delete_documents",), "check sums ($group)": ("bucket_totals", "window_totals"),
         "ledger writes": ("mark_buckets", "set_ledger_state_between", "set_ledger_state"),
         "ledger and journal reads": ("ledger", "ledger_in_state", "live_runs", "view_names", "update_run")}

DOCUMENT_KINDS = {"read fine documents": "read", "insert coarse documents and views": "inserted",
                  "range deletes": "deleted"}


@contextlib.contextmanager
def timed_store_calls():
    """{kind: [seconds, calls, documents]} of the MongoStore calls made inside the block
    (documents: read, written or deleted, for the kinds that return them)."""
    spent: dict[str, list] = {}
    saved = []
    for kind, names in CALLS.items():
        for name in names:
            real = getattr(MongoStore, name)
            saved.append((name, real))

            def wrapped(self, *args, _real=real, _kind=kind, **kwargs):
                slot = spent.setdefault(_kind, [0.0, 0, 0])
                slot[1] += 1
                started = time.monotonic()
                result = _real(self, *args, **kwargs)
                if _kind == "read fine documents":
                    result = list(result)
                slot[0] += time.monotonic() - started
                if _kind in DOCUMENT_KINDS:
                    slot[2] += len(result) if isinstance(result, list) else result
                return result
            setattr(MongoStore, name, wrapped)
    try:
        yield spent
    finally:
        for name, real in saved:
            setattr(MongoStore, name, real)


def print_floor(store: MongoStore, moved: dict[str, int], sample: int = 5000, rounds: int = 2) -> None:
    """The least time the server could take for the documents this cleanup read, inserted and
    deleted: its best rates on up to `sample` of the day documents left (the same shape as the
    hour documents), in a scratch collection with no index but `_id`, one call each."""
    docs = list(store.db[FWJR.collection].find({"scope.timeframe_precision": "day"}).limit(sample))
    if not docs:
        return
    probe = store.db["floor_probe"]
    best = {"inserted": 0.0, "read": 0.0, "deleted": 0.0}
    for _ in range(rounds):
        probe.drop()
        for kind, call in (("inserted", lambda: probe.insert_many(docs, ordered=False)),
                           ("read", lambda: list(probe.find({}, batch_size=sample))),
                           ("deleted", lambda: probe.delete_many({}))):
            started = time.monotonic()
            call()
            best[kind] = max(best[kind], len(docs) / max(time.monotonic() - started, 1e-9))
    probe.drop()
    parts = {kind: moved.get(kind, 0) / rate for kind, rate in best.items()}
    print(f"floor      the server's best rates on {len(docs):,} such documents: insert {best['inserted']:,.0f}/s, "
          f"read {best['read']:,.0f}/s, delete {best['deleted']:,.0f}/s; for this cleanup's "
          f"{moved.get('read', 0):,} read, {moved.get('inserted', 0):,} inserted and {moved.get('deleted', 0):,} deleted "
          f"that is at least {sum(parts.values()):.1f} s, {parts['read'] + parts['inserted']:.1f} s without the deletes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--hour-docs-per-day", type=int, default=2000)
    parser.add_argument("--first-day", type=dt.date.fromisoformat, default=dt.date(2025, 1, 1))
    parser.add_argument("--workdir", type=Path, default=harness.ROOT / "var" / "bench-cleanup",
                        help="the MongoDB server goes here (default var/bench-cleanup)")
    parser.add_argument("--no-views", dest="views", action="store_false",
                        help="write no views (default: the views of conf/jobrollup.toml, as an aggregation would)")
    args = parser.parse_args()
    mongo_folder = args.workdir.resolve() / "mongo"
    server, started_mongo = harness.start_server(mongo_folder)
    store = MongoStore(server.uri, f"bench_{uuid.uuid4().hex[:8]}")
    try:
        return run(store, args)
    finally:
        harness.cleanup_step("drop the benchmark database", lambda: store.client.drop_database(store.db.name))
        store.close()
        if started_mongo:
            harness.cleanup_step("stop the embedded MongoDB server", lambda: harness.stop_server(mongo_folder))


def run(store: MongoStore, args) -> int:
    """Load the hour documents, run the cleanup, print its speed and check the jobs held."""
    wanted = views.configured(config.load(harness.ROOT / "conf" / "jobrollup.toml"), FWJR) if args.views else ()
    store.ensure_indexes(FWJR, wanted)
    rng = random.Random(1)
    total_view_docs = 0
    total_jobs = total_docs = 0
    started = time.monotonic()
    for i in range(args.days):
        day = args.first_day + dt.timedelta(days=i)
        run_id = f"20000101T000000-{i:08d}"
        docs = hour_documents(day, args.hour_docs_per_day, rng, run_id)
        store.replace_documents(FWJR.collection, docs, batch=2000)
        totals = {}
        for doc in docs:
            tally = totals.setdefault(doc["scope"]["start_date"], {"count": 0, "events": 0, "documents": 0})
            tally["count"] += doc["count"]
            tally["events"] += doc["events"]
            tally["documents"] += 1
        held_views = {}
        for view in wanted:   # what the aggregation's Spark pass writes beside the documents
            view_docs = cleanup.rollup(docs, FWJR, "hour", run_id, view.keys, metrics=view.metrics)
            store.replace_documents(view_collection(FWJR.collection, view.name), view_docs, batch=2000)
            per_hour = {}
            for doc in view_docs:
                per_hour[doc["scope"]["start_date"]] = per_hour.get(doc["scope"]["start_date"], 0) + 1
            held_views[view.name] = (view, per_hour)
            total_view_docs += len(view_docs)
        store.mark_buckets(FWJR, Window.covering(day, day, "hour"), totals, run_id, "aggregate", held_views)
        total_jobs += sum(d["count"] for d in docs)
        total_docs += len(docs)
        if i % 30 == 29 or i == args.days - 1:
            print(f"  loaded {i + 1} days, {total_docs:,} hour documents and {total_view_docs:,} view documents "
                  f"({(total_docs + total_view_docs) / (time.monotonic() - started):,.0f} docs/s)",
                  file=sys.stderr, flush=True)
    load_s = time.monotonic() - started
    now = dt.datetime.combine(args.first_day + dt.timedelta(days=args.days + 3), dt.time())
    started = time.monotonic()
    job = cleanup.Cleanup(store, FWJR, RETENTION, now=now)
    with timed_store_calls() as spent:
        reports = job.run()
    cleanup_s = time.monotonic() - started
    print(cleanup.summary(reports, False, job.run_id))
    written = sum(sum(r.built_docs.values()) for r in reports.values())
    deleted = sum(r.deleted for r in reports.values())
    held = store.ledger_in_state(FWJR, "held")
    held_jobs = sum(e["count"] for e in held if e["precision"] in ("month",)) + \
        sum(e["count"] for e in held if e["precision"] in ("day", "hour") and
            not any(m["precision"] == "month" and m["start"] <= e["start"] < m["end"] for m in held))
    print(f"\nloaded     {total_docs:,} hour documents, {total_jobs:,} jobs, over {args.days} days in {load_s:.1f} s; "
          f"views {', '.join(v.name for v in wanted) or 'none'}: {total_view_docs:,} documents")
    print(f"cleanup    {cleanup_s:.1f} s: {deleted:,} fine documents read and deleted, {written:,} coarse documents "
          f"written; {(deleted + written) / cleanup_s:,.0f} documents/s ({deleted / cleanup_s:,.0f} fine documents/s)")
    print(f"check      jobs in held months and the days/hours after them: {held_jobs:,} "
          f"({'equal' if held_jobs == total_jobs else 'DIFFERENT'} to the {total_jobs:,} written)")
    print("time went  " + ", ".join(
        f"{what} {seconds:.1f} s ({calls} calls" + (f", {docs:,} documents {docs / seconds:,.0f}/s)" if what in
                                                   DOCUMENT_KINDS and seconds else ")")
        for what, (seconds, calls, docs) in sorted(spent.items(), key=lambda kv: -kv[1][0]))
          + f"; the rest (Python: merging, checks) {cleanup_s - sum(v[0] for v in spent.values()):.1f} s")
    print_floor(store, {DOCUMENT_KINDS[k]: v[2] for k, v in spent.items() if k in DOCUMENT_KINDS})
    left = store.aggregate(FWJR.collection, [{"$group": {"_id": "$scope.timeframe_precision", "n": {"$sum": 1}}}])
    print("documents  now: " + ", ".join(f"{r['_id']} {r['n']:,}" for r in sorted(left, key=lambda r: r["_id"])))
    return 0 if held_jobs == total_jobs else 1


if __name__ == "__main__":
    sys.exit(main())
