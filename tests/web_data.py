"""A small database for the web view's tests, written without Spark in a second or two: FWJR
documents computed by the independent reference (tests/reference.py) from generated reports and
written through the store inside real journal entries, a cleanup run over them, a refused run,
error counts and clusters, spack build documents, and two nights of model scores of spack builds."""

from __future__ import annotations

import datetime as dt
import random

import reference
from helpers import reference_documents
from jobrollup import cleanup, documents, sources
from jobrollup.exits import RunRefused
from jobrollup.store.mongo import MongoStore
from jobrollup.tiers import Window

FWJR, SPACK = sources.get("fwjr"), sources.get("spack_builds")
T = dt.datetime
START, DAYS = T(2026, 3, 1), 10
NOW = T(2026, 3, 11, 6)
EPOCH = T(1970, 1, 1)
SITES = ("T1_US_FNAL", "T2_CH_CERN", "T2_DE_DESY", "T3_US_Colorado")
CODES = (8021, 50660, 8001, 71104)


def make_records(seed: int = 18, n: int = 900) -> list[dict]:
    """Job records (as the reference normalises reports) spread over the ten days."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ts = (START + dt.timedelta(seconds=rng.randrange(DAYS * 86400))).replace(tzinfo=dt.timezone.utc).timestamp()
        site = rng.choice(SITES)
        failed = rng.random() < (0.45 if site == "T2_DE_DESY" else 0.15)
        report = {"meta_data": {"host": "h", "jobtype": rng.choice(["Processing", "Production"]),
                                "jobstate": "jobfailed" if failed else "success", "ts": ts},
                  "task": f"/wf{rng.randrange(3)}/task{rng.randrange(2)}",
                  "steps": [{"name": "cmsRun1", "site": site,
                             "errors": [{"exitCode": rng.choice(CODES)}] if failed else [],
                             "output": [{"events": rng.randrange(1000)}],
                             "performance": {"cpu": {"TotalJobCPU": rng.uniform(10, 1e4)}, "memory": {}, "storage": {}}}]}
        out.append(reference.normalise(report))
    return out


def _write_fwjr(store: MongoStore, records: list[dict], window: Window, run_id: str) -> int:
    docs, totals = reference_documents(records, window, run_id)
    store.replace_documents(FWJR.collection, docs)
    store.mark_buckets(FWJR, window, totals, run_id, "aggregate")
    return len(docs)


def _aggregate(store: MongoStore, records: list[dict], window: Window, rejected: dict[str, int]) -> None:
    inside = [r for r in records if window.start <= EPOCH + dt.timedelta(seconds=r["ts"]) < window.end]
    with store.journal("fwjr", "aggregate", window, {"plan": {"precision": window.precision}}) as entry:
        lines = len(inside) + sum(rejected.values())
        entry.update(records={"lines": lines, "in_window": len(inside), "outside_window": 0,
                              "rejected": sum(rejected.values()), "rejected_by_reason": rejected})
        written = _write_fwjr(store, records, window, entry.run_id)
        entry.fields.update(documents={"written": written, "removed": 0},
                            rejects=f"/srv/jobrollup/var/rejects/fwjr/{entry.run_id}" if rejected else None)


def _errors(store: MongoStore) -> None:
    clusters = {1: "Fatal Exception: FileOpenError: file <PATH> could not be opened",
                2: "Job killed: memory <NUM> MB over the limit",
                3: "Segmentation fault in cmsRun at <HEX>"}
    rng = random.Random(5)
    docs, seen = [], {}
    for day in range(DAYS):
        start = START + dt.timedelta(days=day)
        for cluster in clusters:
            for site in SITES[: cluster + 1]:
                count = rng.randrange(1, 20) * (4 - cluster)
                first, last = start + dt.timedelta(hours=1), start + dt.timedelta(hours=20)
                docs.append({"_id": f"{day}-{cluster}-{site}", "cluster": cluster, "count": count,
                             "first_seen": first, "last_seen": last, "run_id": "cluster-run",
                             "scope": {"source": "fwjr", "cluster": cluster, "site": site, "exitCode": str(CODES[cluster]),
                                       "step": "cmsRun1", "start_date": start, "end_date": start + dt.timedelta(days=1),
                                       "timeframe_precision": "day"}})
                s = seen.setdefault(cluster, {"sites": {}, "first": first, "last": last})
                s["sites"][site] = s["sites"].get(site, 0) + count
                s["last"] = last
    store.replace_documents(FWJR.errors_collection, docs)
    store.update_clusters([(c, {"$set": {"label": label, "examples": [label.replace("<PATH>", "/store/a.root")
                                                                        .replace("<NUM>", "2600").replace("<HEX>", "0x7f3a")],
                                         "templates": 1, "by": {"fwjr": {"site": seen[c]["sites"]}}},
                                "$min": {"first_seen": seen[c]["first"]}, "$max": {"last_seen": seen[c]["last"]}})
                           for c, label in clusters.items()])


def _spack(store: MongoStore) -> None:
    rows = [("petsc", "3.20", "gcc", "12.2", 9, 1), ("petsc", "3.20", "gcc", "11.4", 4, 4),
            ("petsc", "3.19", "gcc", "12.2", 0, 3), ("petsc", "3.19", "clang", "16", 5, 0),
            ("abyss", "2.3.1", "gcc", "12.2", 2, 2)]
    day = START + dt.timedelta(days=8)
    docs, total = [], {"count": 0, "successes": 0, "failures": 0, "documents": 0}
    for package, version, compiler, compiler_version, ok, failed in rows:
        for status, n in (("success", ok), ("failed", failed)):
            if not n:
                continue
            scope = {"package": package, "version": version, "compiler": compiler, "compiler_version": compiler_version,
                     "platform": "linux", "os": "rhel8", "target": "x86_64", "status": status,
                     "failed_part": "package" if status == "failed" else None}
            docs.append({"_id": documents.document_id(SPACK, "day", day, scope),
                         "scope": {**scope, "start_date": day, "end_date": day + dt.timedelta(days=1),
                                   "timeframe_precision": "day"},
                         "count": n, "successes": n if status == "success" else 0,
                         "failures": n if status == "failed" else 0, "performance": {}, "run_id": "spack-run"})
            total["count"] += n
            total["successes" if status == "success" else "failures"] += n
            total["documents"] += 1
    store.replace_documents(SPACK.collection, docs)
    store.mark_buckets(SPACK, Window("day", day, day + dt.timedelta(days=1)), {day: total}, "spack-run", "aggregate")


# Scored builds (package, spec hash, version, status, P(success)) of two nights: the older night's
# surprise must not show; on the latest, abyss has none, and no two surprises are equally sure.
SCORED_NIGHTS = {
    START + dt.timedelta(days=7): [("petsc", "old0", "3.19", "failed", 0.99)],
    START + dt.timedelta(days=8): [("petsc", "a1", "3.20", "failed", 0.95), ("petsc", "a2", "3.20", "success", 0.1),
                                   ("petsc", "a3", "3.19", "failed", 0.85), ("petsc", "a4", "3.19", "failed", 0.5),
                                   ("petsc", "a5", "3.20", "success", 0.9), ("zlib", "z1", "1.3", "success", 0.03),
                                   ("abyss", "b1", "2.3.1", "failed", 0.2), ("abyss", "b2", "2.3.1", "success", 0.7)],
}
SCORING_EXPERIMENT = "hgb-1"


def surprise(status: str, p_success: float) -> str | None:
    """What bin/predict's default confidence (0.8) makes of a build, written out independently."""
    if status == "failed" and p_success >= 0.8:
        return "failed_predicted_success"
    if status == "success" and p_success <= 0.2:
        return "succeeded_predicted_failure"
    return None


def _predictions(store: MongoStore) -> None:
    for day, builds in SCORED_NIGHTS.items():
        run_id = f"score-{day:%Y%m%d}"
        docs = [{"_id": f"{SCORING_EXPERIMENT}|{day:%Y-%m-%d}|{spec_hash}", "experiment": SCORING_EXPERIMENT, "day": day,
                 "package": package, "spec_hash": spec_hash, "build_id": None, "version": version, "compiler": "gcc",
                 "compiler_version": "12.2", "status": status, "p_success": p, "predicted": "success" if p >= 0.5 else "failed",
                 "threshold": 0.5, "model": package, "surprise": surprise(status, p), "run_id": run_id}
                for package, spec_hash, version, status, p in builds]
        store.replace_predictions(SCORING_EXPERIMENT, Window("day", day, day + dt.timedelta(days=1)), docs, run_id)


def build(store: MongoStore) -> list[dict]:
    """Fill `store`; returns the job records the FWJR documents were computed from."""
    records = make_records()
    _aggregate(store, records, Window("day", START, START + dt.timedelta(days=DAYS)), {"malformed_json": 3, "bad_ts": 1})
    _aggregate(store, records, Window("hour", START + dt.timedelta(days=DAYS - 2), START + dt.timedelta(days=DAYS)), {})
    cleanup.Cleanup(store, FWJR, {"hour": "1 day", "day": "forever", "week": "forever", "month": "forever"},
                    now=NOW).run()
    try:
        with store.journal("fwjr", "aggregate", Window("day", START + dt.timedelta(days=DAYS), NOW), {}) as entry:
            entry.update(records={"lines": 100, "in_window": 60, "outside_window": 0, "rejected": 40,
                                  "rejected_by_reason": {"malformed_json": 40}})
            entry.fields["rejects"] = f"/srv/jobrollup/var/rejects/fwjr/{entry.run_id}"
            raise RunRefused("40 of 100 lines rejected (40.0%, more than max_reject_share 5.0%)")
    except RunRefused:
        pass
    _errors(store)
    _spack(store)
    _predictions(store)
    return records
