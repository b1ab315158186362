#!/usr/bin/env python
"""Benchmark ad hoc queries (jobrollup.query) over a year of day-precision documents.

    .venv/bin/python bench/bench_query.py [--docs-per-day 2000] [--days 365] [--runs 3]
        [--workdir var/bench-query] [--rebuild] [--cli] [--days-held 56 [--week-days 7]] [--compare]

Production scale (about 15,000 day documents a day, the tiers the cleanup leaves):
    .venv/bin/python bench/bench_query.py --docs-per-day 15000 --days 365 --days-held 56 --week-days 1 \
        --workdir var/bench-query-prod --cli --runs 5

1. starts (or reuses) the embedded SecantusDB server of <workdir>/mongo;
2. writes synthetic day documents shaped like the aggregation's (scope, count, events, the 27
   performance metrics with n/sum/min/max/sumsq) and their ledger entries, straight with
   pymongo (no Spark), for the days before --now; reused when <workdir>/manifest.json says the
   same parameters were written before (--rebuild writes them again);
3. times typical questions through queries.answer / queries.suggest: one warm-up, then the
   median (and min, max) of --runs runs (a warm-up slower than 20 s counts as the first run);
   prints rows, pipelines run, the documents of the buckets used (from the ledger) and whether
   the first $match uses an index;
4. with --cli, times one question end to end through bin/query (process start included).

Nothing outside <workdir> is written or stopped; the server keeps running for later runs
(stop it with: .venv/bin/python -c "from jobrollup.store import embedded; embedded.stop('var/bench-query/mongo')").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import harness  # first: it puts src/ on sys.path (bench/ is there as the script's folder)
from harness import ROOT, say
from jobrollup import cleanup, config, documents, sources, views
from jobrollup import query as queries
from jobrollup.sources.fwjr.generate import SITES
from jobrollup.store import embedded
from jobrollup.store.mongo import MongoStore, view_collection
from jobrollup.tiers import Window, floor, next_start

FWJR = sources.get("fwjr")
DATABASE = "bench_query"
COLLECTION = FWJR.collection
NOW = dt.datetime(2026, 11, 21, 6, 0)        # the questions are asked at this moment
JOBTYPES = ["Production", "Processing", "Merge", "Cleanup", "LogCollect", "Skim", "Harvesting"]
JOBTYPE_WEIGHTS = [30, 25, 20, 9, 9, 4, 3]
HOSTS = ["vocms0255.cern.ch", "vocms0256.cern.ch", "vocms0281.cern.ch", "vocms0282.cern.ch", "vocms0283.cern.ch"]
CODES = [8001, 8020, 8021, 8028, 50660, 50661, 50664, 60450, 11003, 40, 80, 86, 61300, 71304, 99303, 99999]
CODE_WEIGHTS = [30, 8, 8, 5, 10, 3, 5, 5, 3, 1, 2, 1, 3, 3, 1, 2]
ERAS = [f"Run{y}{s}" for y in ("2022", "2023", "2024", "2025") for s in "ABCDEFG"] + \
       [f"RunIII{s}" for s in ("Summer22", "Summer23", "Summer24", "Winter24", "Summer25", "Winter25")]
# typical per-job value of each metric (seconds, MB, ...); spread lognormally around it
SCALE = {"TotalJobCPU": 20000, "TotalJobTime": 25000, "TotalEventCPU": 18000, "TotalLoopCPU": 19000,
         "TotalInitTime": 60, "TotalInitCPU": 40, "AvgEventCPU": 20, "AvgEventTime": 25, "MaxEventCPU": 200,
         "MaxEventTime": 250, "NumberOfThreads": 4, "NumberOfStreams": 4, "MinEventCPU": 0.5, "MinEventTime": 0.6,
         "EventThroughput": 0.2, "PeakValueRss": 2500, "PeakValueVsize": 6000, "readAveragekB": 400,
         "readCachePercentageOps": 2, "readMBSec": 5, "readMaxMSec": 800, "readNumOps": 30000,
         "readPercentageOps": 1, "readTotalMB": 3000, "readTotalSecs": 300, "writeTotalMB": 1500, "writeTotalSecs": 20}


PERFORMANCE_VARIANTS = 16   # performance blocks drawn per job count, then reused


# -- synthetic documents ---------------------------------------------------------------------------

class Pools:
    """Long-lived tasks (a few weeks each) with their workflow, job type and era."""

    def __init__(self, rng: random.Random, days: int):
        self.tasks = []
        for i in range(max(3000, days * 12)):
            jobtype = rng.choices(JOBTYPES, JOBTYPE_WEIGHTS)[0]
            workflow = f"pdmvserv_task_{rng.choice('ABCDEFGHJK')}{rng.randrange(10**5):05d}_v{rng.randrange(1, 4)}"
            first = rng.randrange(-20, days)
            self.tasks.append({"task": f"{workflow[15:]}_{jobtype[:4]}_{i}", "workflow": workflow, "jobtype": jobtype,
                               "acquisitionEra": rng.choice(ERAS), "first": first, "last": first + rng.randrange(7, 45)})
        self.site_weights = [1 / (i + 1) ** 0.9 for i in range(len(SITES))]
        self._performance: dict[int, list[dict]] = {}

    def active(self, day: int) -> list[dict]:
        return [t for t in self.tasks if t["first"] <= day <= t["last"]]

    def performance(self, rng: random.Random, count: int) -> dict:
        """The performance block of a document of `count` jobs: one of a few drawn once per count
        and shared (documents never change them: merges copy), so a production-scale year is
        generated in minutes instead of drawing 27 x 8 lognormal values per document."""
        pool = self._performance.setdefault(count, [])
        if len(pool) < PERFORMANCE_VARIANTS:
            pool.append({group: {m: _stats(rng, count - (rng.random() < 0.1 and count > 1), SCALE[m]) for m in metrics}
                         for group, metrics in FWJR.metrics.items()})
            return pool[-1]
        return pool[rng.randrange(PERFORMANCE_VARIANTS)]


def _stats(rng: random.Random, n: int, scale: float) -> dict:
    values = [scale * rng.lognormvariate(0, 0.6) for _ in range(min(n, 8))]
    mean = sum(values) / len(values)
    low, high = min(values), max(values)
    return {"n": n, "sum": mean * n, "min": low, "max": high, "sumsq": (mean * mean + (high - low) ** 2 / 12) * n}


def day_documents(rng: random.Random, pools: Pools, day_index: int, start: dt.datetime, per_day: int,
                  run_id: str) -> list[dict]:
    active = pools.active(day_index) or pools.tasks[:50]
    docs, seen = [], set()
    while len(docs) < per_day:
        task = rng.choice(active)
        site = rng.choices(SITES, pools.site_weights)[0]
        failed = rng.random() < 0.15
        state = rng.choice(["jobfailed", "jobfailed", "jobfailed", "submitfailed"]) if failed else "success"
        code = rng.choices(CODES, CODE_WEIGHTS)[0] if failed else 0
        scope = {"workflow": task["workflow"], "task": task["task"], "host": rng.choice(HOSTS), "site": site,
                 "jobstate": state, "jobtype": task["jobtype"], "acquisitionEra": task["acquisitionEra"],
                 "exitCode": code, "exitStep": ("cmsRun1" if rng.random() < 0.7 else "stageOut1") if failed else None}
        key = tuple(scope.values())
        if key in seen:
            continue
        seen.add(key)
        count = 1 + int(rng.expovariate(1 / 6))
        performance = {}
        if task["jobtype"] not in ("Cleanup", "LogCollect") and state != "submitfailed":
            performance = pools.performance(rng, count)
        docs.append({
            "_id": documents.document_id(FWJR, "day", start, scope),
            "scope": {**scope, "start_date": start, "end_date": start + dt.timedelta(days=1), "timeframe_precision": "day"},
            "count": count, "events": count * rng.randrange(200, 2000), "performance": performance, "run_id": run_id,
        })
    return docs


def hour_documents(rng: random.Random, day_docs: list[dict], run_id: str) -> list[dict]:
    """The hour documents of one day: each day document's jobs spread uniformly over the day's
    24 hours, one hour document per hour that got jobs (about 1.1 jobs each: one job makes about
    one hour document). Events and statistics are split over the hours; the day documents are
    then rebuilt from these (bench: build) so that both tiers agree."""
    out = []
    for day_doc in day_docs:
        scope = {k: v for k, v in day_doc["scope"].items() if k not in ("start_date", "end_date", "timeframe_precision")}
        per_hour: dict[int, int] = {}
        for _ in range(day_doc["count"]):
            hour = rng.randrange(24)
            per_hour[hour] = per_hour.get(hour, 0) + 1
        for hour, jobs in per_hour.items():
            start = day_doc["scope"]["start_date"] + dt.timedelta(hours=hour)
            performance = {}
            if day_doc["performance"]:
                performance = {group: {m: {"n": jobs, "sum": s["sum"] / max(s["n"], 1) * jobs, "min": s["min"],
                                           "max": s["max"], "sumsq": s["sumsq"] / max(s["n"], 1) * jobs}
                                       for m, s in metrics.items()} for group, metrics in day_doc["performance"].items()}
            out.append({"_id": documents.document_id(FWJR, "hour", start, scope),
                        "scope": {**scope, "start_date": start, "end_date": start + dt.timedelta(hours=1),
                                  "timeframe_precision": "hour"},
                        "count": jobs, "events": day_doc["events"] // day_doc["count"] * jobs,
                        "performance": performance, "run_id": run_id})
    return out


def week_day_offsets(week_days: int) -> set[int]:
    """Which days of a week are generated for a week bucket: `week_days` of 7, spread evenly."""
    return {round(j * 7 / week_days) for j in range(week_days)}


def build(store: MongoStore, first: dt.datetime, days: int, per_day: int, seed: int,
          wanted: tuple[views.View, ...], days_held: int | None, hour_day: dt.datetime | None = None,
          week_days: int = 7) -> float:
    """Write the documents, their views and their ledger entries, then the indexes (SecantusDB
    inserts about 5x faster without them); returns seconds spent. With `days_held`, only the last
    `days_held` days stay days: the weeks before are written as week buckets, as the cleanup
    leaves them (days kept 8 weeks by default, weeks a year, and the whole months before the days
    kept as months, written after their weeks as the cleanup does), rolled up from `week_days` generated
    days of each week (7: every day; fewer builds a production-scale year in less time, with
    fewer documents per week bucket than production). With `hour_day`, that day (one of the
    days kept) is written as hour buckets too, and its day documents are their roll-up."""
    started = time.perf_counter()
    for name in [COLLECTION, FWJR.buckets_collection] + store.db.list_collection_names():
        if name == COLLECTION or name == FWJR.buckets_collection or name.startswith(f"{COLLECTION}_view_"):
            store.db.drop_collection(name)
    rng = random.Random(seed)
    pools = Pools(rng, days)
    run_id = "bench-query"
    written = viewed = 0
    boundary = first + dt.timedelta(days=days - days_held) if days_held is not None else first
    boundary = floor(boundary, "week") if boundary > first else first
    offsets = week_day_offsets(week_days)
    week: list[dict] = []
    month: list[dict] = []   # the cleanup also rolls the days into months (kept forever)

    def write(precision: str, start: dt.datetime, docs: list[dict], rolled: bool = False) -> None:
        nonlocal written, viewed
        if not rolled and precision != "day":
            docs = cleanup.rollup(docs, FWJR, precision, run_id)
        for chunk in range(0, len(docs), 5000):
            store.db[COLLECTION].insert_many(docs[chunk:chunk + 5000], ordered=False)
        written += len(docs)
        held_views = {}
        for view in wanted:
            view_docs = cleanup.rollup(docs, FWJR, precision, run_id, view.keys, metrics=view.metrics)
            for chunk in range(0, len(view_docs), 5000):
                store.db[view_collection(COLLECTION, view.name)].insert_many(view_docs[chunk:chunk + 5000], ordered=False)
            viewed += len(view_docs)
            per_bucket: dict[dt.datetime, int] = {}
            for d in view_docs:
                per_bucket[d["scope"]["start_date"]] = per_bucket.get(d["scope"]["start_date"], 0) + 1
            held_views[view.name] = (view, per_bucket)
        tally: dict[dt.datetime, dict] = {}
        for d in docs:
            t = tally.setdefault(d["scope"]["start_date"], {"count": 0, "events": 0, "documents": 0})
            t["count"] += d["count"]
            t["events"] += d["events"]
            t["documents"] += 1
        window_end = next_start(start, "day") if precision == "hour" else next_start(start, precision)
        store.mark_buckets(FWJR, Window(precision, start, window_end), tally, run_id, "bench", held_views)

    for i in range(days):
        start = first + dt.timedelta(days=i)
        if start < boundary:   # older than the days kept: a week bucket, whole weeks only
            if (start - floor(start, "week")).days in offsets:
                generated = day_documents(rng, pools, i, start, per_day, run_id)
                week += generated
                month += generated
            if next_start(start, "day") == next_start(floor(start, "week"), "week"):
                if floor(start, "week") >= first:
                    write("week", floor(start, "week"), week)
                week = []
            if next_start(start, "day") == next_start(floor(start, "month"), "month"):
                if floor(start, "month") >= first and month:   # written after the weeks inside it
                    write("month", floor(start, "month"), month)
                month = []
        else:
            docs = day_documents(rng, pools, i, start, per_day, run_id)
            if start == hour_day:
                hours = hour_documents(rng, docs, run_id)
                write("hour", start, hours, rolled=True)
                docs = cleanup.rollup(hours, FWJR, "day", run_id)
                say(f"  {start:%Y-%m-%d}: {len(hours):,} hour documents for {len(docs):,} day documents")
            write("day", start, docs, rolled=True)
        if (i + 1) % 30 == 0 or i + 1 == days:
            elapsed = time.perf_counter() - started
            say(f"  {i + 1:>3}/{days} days, {written:,} documents and {viewed:,} view documents, {elapsed:,.0f} s "
                f"({(written + viewed) / elapsed:,.0f} documents/s)")
    begin = time.perf_counter()
    store.ensure_indexes(FWJR, wanted)
    say(f"  indexes built in {time.perf_counter() - begin:,.0f} s")
    return time.perf_counter() - started


def add_views(store: MongoStore, have: tuple[views.View, ...], wanted: tuple[views.View, ...]) -> float:
    """Bring the views written before to `wanted` without writing the documents again: a new
    view (or one defined again) is regrouped, bucket by bucket, from the smallest view already
    held whose keys and metrics hold its own (a view of a view is the view of the documents:
    merges are associative), or from the
    documents; views no longer wanted are dropped. Their ledger entries follow."""
    started = time.perf_counter()
    buckets = store.db[FWJR.buckets_collection]
    for view in have:
        if view not in wanted:
            store.db.drop_collection(view_collection(COLLECTION, view.name))
            buckets.update_many({}, {"$unset": {f"views.{view.name}": ""}})
    for view in wanted:
        if view in have:
            continue
        store.db.drop_collection(view_collection(COLLECTION, view.name))
        supersets = [v for v in have if v in wanted and set(view.keys) <= set(v.keys)
                     and (v.metrics is None or view.metrics is not None and set(view.metrics) <= set(v.metrics))]
        entries = list(buckets.find({"state": "held"}, {"precision": 1, "start": 1, "end": 1, "views": 1}))
        source = min(supersets, key=lambda v: sum(e["views"][v.name]["documents"] for e in entries)) if supersets else None
        read = COLLECTION if source is None else view_collection(COLLECTION, source.name)
        say(f"== view {view.name} {list(view.keys)} from {read}")
        count = 0
        for precision in ("hour", "day", "week", "month"):
            docs = list(store.db[read].find({"scope.timeframe_precision": precision}))
            rolled = cleanup.rollup(docs, FWJR, precision, "bench-query", view.keys, metrics=view.metrics)
            for chunk in range(0, len(rolled), 5000):
                store.db[view_collection(COLLECTION, view.name)].insert_many(rolled[chunk:chunk + 5000], ordered=False)
            per_bucket: dict[dt.datetime, int] = {}
            for d in rolled:
                per_bucket[d["scope"]["start_date"]] = per_bucket.get(d["scope"]["start_date"], 0) + 1
            for e in entries:
                if e["precision"] == precision:
                    buckets.update_one({"_id": e["_id"]}, {"$set": {f"views.{view.name}": {
                        **view.as_entry(), "documents": per_bucket.get(e["start"], 0)}}})
            count += len(rolled)
        say(f"   {count:,} view documents")
    store.ensure_indexes(FWJR, wanted)
    return time.perf_counter() - started


# -- timing -----------------------------------------------------------------------------------

def timed(function, runs: int) -> tuple[list[float], object]:
    """One warm-up run (connections, caches), then `runs` timed ones; a warm-up slower than
    20 s is a scan whose time does not depend on caches: it counts as the first sample."""
    begin = time.perf_counter()
    result = function()
    first = time.perf_counter() - begin
    seconds = [first] if first > 20 else []
    while len(seconds) < runs:
        begin = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - begin)
    return seconds, result


def plan_of(store: MongoStore, question: queries.Query, use_views: bool) -> tuple[int, str, str]:
    """Documents the question reads (ledger), the view chosen, and the plan of its first $match."""
    plan = queries.explain(store, question, use_views=use_views)
    documents = plan["read"]["documents"]
    stage = "-"
    if plan["pipelines"]:
        stages = [s for s in plan["pipelines"][0] if "$match" in s]
        explained = store.db.command("explain", {"aggregate": plan["read"]["collection"], "pipeline": stages,
                                                 "cursor": {}}, verbosity="queryPlanner")
        text = json.dumps(explained, default=str)
        stage = "IXSCAN" if "IXSCAN" in text else "COLLSCAN" if "COLLSCAN" in text else "?"
    return documents, plan["read"]["view"] or "(documents)", stage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs-per-day", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=str(ROOT / "var" / "bench-query"))
    parser.add_argument("--rebuild", action="store_true", help="write the documents again even if the manifest matches")
    parser.add_argument("--cli", action="store_true", help="also time one question through bin/query")
    parser.add_argument("--days-held", type=int, default=None,
                        help="keep only the last N days as days, the weeks before as week buckets (the cleanup's "
                             "tiers; default: every day a day)")
    parser.add_argument("--week-days", type=int, default=7, choices=range(1, 8), metavar="1..7",
                        help="with --days-held, roll each week bucket up from this many generated days of the week "
                             "(default 7: all; fewer builds faster, with fewer documents per week than production)")
    parser.add_argument("--no-hours", dest="hours", action="store_false",
                        help="write no hour documents (default: the day before --now as hours too, as the "
                             "cleanup keeps hours 2 days)")
    parser.add_argument("--bytecode", action="store_true",
                        help="with --cli, let bin/query write and read .pyc files as an installed package does "
                             "(drops PYTHONDONTWRITEBYTECODE from its environment; one run first writes them)")
    parser.add_argument("--only", default=None, metavar="REGEX",
                        help="time only the questions (and bin/query commands) whose title matches REGEX "
                             "(e.g. 'year|one day')")
    parser.add_argument("--no-views", dest="views", action="store_false",
                        help="write no views (the questions then read the documents)")
    parser.add_argument("--compare", action="store_true", help="time every question without views too")
    args = parser.parse_args()

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    server = embedded.ensure_running(workdir / "mongo")
    store = MongoStore(server.uri, DATABASE, timeout_ms=20000)
    first = dt.datetime(NOW.year, NOW.month, NOW.day) - dt.timedelta(days=args.days)
    manifest_path = workdir / "manifest.json"
    conf_views = views.configured(config.load(ROOT / "conf" / "jobrollup.toml"), FWJR) if args.views else ()
    hour_day = dt.datetime(NOW.year, NOW.month, NOW.day) - dt.timedelta(days=1) if args.hours else None
    wanted = {"first": first.isoformat(), "days": args.days, "docs_per_day": args.docs_per_day, "seed": args.seed,
              "shape": 4, "views": views.as_plan(conf_views), "days_held": args.days_held,
              "week_days": args.week_days, "hour_day": hour_day.isoformat() if hour_day else None}
    have = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    documents_now = store.db[COLLECTION].estimated_document_count()
    say(f"jobrollup query benchmark: {server.uri} database {DATABASE}, asked at {NOW:%Y-%m-%d %H:%M} UTC")
    same = lambda a, b, but: {k: v for k, v in (a or {}).items() if k not in but} == \
        {k: v for k, v in b.items() if k not in but}
    if args.rebuild or not same(have, wanted, ("build_seconds",)) and not same(have, wanted, ("build_seconds", "views")):
        say(f"== writing {args.days} days x {args.docs_per_day:,} day documents "
            f"({first:%Y-%m-%d} .. {first + dt.timedelta(days=args.days - 1):%Y-%m-%d})")
        manifest_path.unlink(missing_ok=True)
        seconds = build(store, first, args.days, args.docs_per_day, args.seed, conf_views, args.days_held,
                        hour_day, args.week_days)
        manifest_path.write_text(json.dumps({**wanted, "build_seconds": round(seconds, 1)}))
    elif not same(have, wanted, ("build_seconds",)):   # the same documents, other views
        manifest_path.unlink(missing_ok=True)
        seconds = add_views(store, views.from_plan(have["views"]), conf_views)
        say(f"   views brought to the configuration in {seconds:,.0f} s")
        manifest_path.write_text(json.dumps({**wanted, "build_seconds": have.get("build_seconds")}))
    else:
        say(f"== reusing {documents_now:,} documents ({args.days} days x {args.docs_per_day:,}, built in "
            f"{have.get('build_seconds', '?')} s)")
    try:
        size = store.db.command("collStats", COLLECTION).get("size")
        say(f"   collection size {size / 1e6:,.0f} MB")
    except Exception:  # not every server answers collStats
        pass

    month_task = next(iter(store.db[COLLECTION].aggregate([
        {"$match": {"scope.timeframe_precision": "day", "scope.start_date": {"$gte": dt.datetime(NOW.year, NOW.month, 1)}}},
        {"$group": {"_id": "$scope.task", "jobs": {"$sum": "$count"}}}, {"$sort": {"jobs": -1}}, {"$limit": 1}])))["_id"]
    ask = lambda **kw: queries.query(now=NOW, collection=COLLECTION, **kw)
    questions = [
        ("failure rate by site, last 7 days",
         ask(start="7 days ago", by=["site"], metrics=["count", "failure_rate"]), None),
        ("exit codes per day this month, one task",
         ask(start="this month", where=[f"task={month_task}"], by=["exitCode", "time:day"]), None),
        ("mean CPU per jobtype, whole year",
         ask(start="earliest", by=["jobtype"], metrics=["cpu.TotalJobCPU:mean"]), None),
        ("suggest acquisitionEra for T1_US_FNAL, year",
         ask(start="earliest", where=["site=T1_US_FNAL"]), "acquisitionEra"),
        ("failure rate by T2 site (regex), last 30 days",
         ask(start="30 days ago", where=["site~^T2_"], by=["site"], metrics=["failure_rate"]), None),
        ("jobs per week and jobtype, whole year",
         ask(start="earliest", by=["jobtype", "time:week"]), None),
        ("failure rate by site, whole year",
         ask(start="earliest", by=["site"], metrics=["count", "failure_rate"]), None),
    ]
    if hour_day:
        day = hour_day.date().isoformat()
        questions += [
            (f"one day ({day}) by time:hour, count,failure_rate",
             ask(start=day, end=day, by=["time:hour"], metrics=["count", "failure_rate"]), None),
            (f"one day ({day}) by site, count,failure_rate",
             ask(start=day, end=day, by=["site"], metrics=["count", "failure_rate"]), None),
        ]
    if args.only:
        questions = [q for q in questions if re.search(args.only, q[0])]
    say(f"\n== {args.runs} timed runs per question after one warm-up (median, min .. max); "
        f"'read': documents the answer reads (ledger)")
    say(f"{'question':<48} {'median':>8} {'min':>7} {'max':>7} {'rows':>6} {'read':>9}  {'from':<18} first $match")
    for title, question, key in questions:
        answers = {}
        for use_views in ((True, False) if args.compare else (True,)):
            function = (lambda q=question, k=key, u=use_views: queries.suggest(store, q, k, use_views=u)) if key else \
                       (lambda q=question, u=use_views: queries.answer(store, q, use_views=u))
            seconds, frame = timed(function, args.runs)
            answers[use_views] = frame
            documents, source, stage = plan_of(store, replace(question, keys=(key,)) if key else question, use_views)
            say(f"{title if use_views else '  the same without views':<48} {statistics.median(seconds) * 1000:>6.0f}ms "
                f"{min(seconds) * 1000:>5.0f}ms {max(seconds) * 1000:>5.0f}ms {len(frame):>6,} {documents:>9,}  "
                f"{source:<18} {stage}")
        if len(answers) == 2:
            same = answers[True].round(6).equals(answers[False].round(6))
            if not same:
                say("  DIFFERENT answers with and without views")
    if args.cli:
        env = dict(os.environ, JOBROLLUP_MONGO_URI=server.uri)
        if args.bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        conf = harness.conf_file(config.load(ROOT / "conf" / "jobrollup.toml"), workdir / "jobrollup.toml",
                                 database=DATABASE)
        base = [str(ROOT / "bin" / "query"), "--conf", str(conf), "--now", NOW.isoformat()]
        commands = [("bin/query, failure rate by site, last 7 days",
                     ["--from", "7 days ago", "--by", "site", "-m", "count,failure_rate", "--limit", "5"])]
        if hour_day:
            day = hour_day.date().isoformat()
            commands += [("bin/query, one day by time:hour", ["--from", day, "--to", day, "--by", "time:hour",
                                                               "-m", "count,failure_rate"]),
                         ("bin/query, one day by site", ["--from", day, "--to", day, "--by", "site",
                                                          "-m", "count,failure_rate"])]
        commands += [("bin/query, failure rate by site, year",
                      ["--from", "earliest", "--by", "site", "-m", "count,failure_rate", "--limit", "5"]),
                     ("bin/query, mean CPU per jobtype, year",
                      ["--from", "earliest", "--by", "jobtype", "-m", "cpu.TotalJobCPU:mean"]),
                     ("bin/query, failure rate by T2 site, 30 days",
                      ["--from", "30 days ago", "-w", "site~^T2_", "--by", "site", "-m", "failure_rate"])]
        say(f"\n== bin/query end to end (process start included), {args.runs} runs (median, min .. max)")
        for title, options in commands:
            if args.only and not re.search(args.only, title):
                continue
            seconds = []
            for run in range(args.runs + 1):   # the first run warms the server's caches (and writes .pyc)
                begin = time.perf_counter()
                done = subprocess.run(base + options, env=env, capture_output=True, text=True)
                if run:
                    seconds.append(time.perf_counter() - begin)
                if done.returncode:
                    say(f"bin/query failed: {done.stderr.strip()}")
                    return 1
            header = next((line for line in done.stdout.splitlines() if "read" in line), "")
            say(f"{title:<48} {statistics.median(seconds) * 1000:>6.0f}ms "
                f"{min(seconds) * 1000:>5.0f}ms {max(seconds) * 1000:>5.0f}ms  {header.strip()}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
