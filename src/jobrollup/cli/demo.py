"""The end of bin/demo: a short look at what the aggregation and the error clustering wrote."""

from __future__ import annotations

import sys

from .. import config
from . import mongo_uri
from ..queries import error_clusters, load_exit_codes
from ..sinks import MongoStore


def main() -> int:
    conf = config.load()
    uri = mongo_uri(None, conf)
    store = MongoStore(uri, conf["mongo"]["database"])
    coll = store.db[conf["aggregate"]["collection"]]
    print(f"\nWhat is in {store.db.name}.{coll.name} now:")
    for row in coll.aggregate([{"$group": {"_id": "$scope.timeframe_precision", "docs": {"$sum": 1},
                                            "jobs": {"$sum": "$count"}}}, {"$sort": {"_id": 1}}]):
        print(f"  {row['_id']:<6} {row['docs']:>7,} documents  {row['jobs']:>9,} jobs")

    day = {"scope.timeframe_precision": "day"}
    print("\nBusiest sites (day documents): jobs, failure rate, mean CPU time per job (sum/n):")
    for row in coll.aggregate([
        {"$match": day},
        {"$group": {"_id": "$scope.site", "jobs": {"$sum": "$count"},
                    "failed": {"$sum": {"$cond": [{"$ne": ["$scope.jobstate", "success"]}, "$count", 0]}},
                    "cpu_sum": {"$sum": "$performance.cpu.TotalJobCPU.sum"},
                    "cpu_n": {"$sum": "$performance.cpu.TotalJobCPU.n"}}},
        {"$sort": {"jobs": -1}}, {"$limit": 5},
    ]):
        mean = row["cpu_sum"] / row["cpu_n"] if row["cpu_n"] else float("nan")
        print(f"  {str(row['_id']):<22} {row['jobs']:>7,} jobs  {row['failed'] / row['jobs']:6.1%} failed"
              f"  {mean:9.0f} s CPU")

    names = load_exit_codes()
    print("\nMost frequent exit codes of failed jobs:")
    for row in coll.aggregate([
        {"$match": {**day, "scope.exitCode": {"$ne": 0}}},
        {"$group": {"_id": "$scope.exitCode", "jobs": {"$sum": "$count"}}},
        {"$sort": {"jobs": -1}}, {"$limit": 5},
    ]):
        print(f"  {row['_id']:>6}  {row['jobs']:>6,} jobs  {names.get(row['_id'], 'unknown (not in the dictionary)')}")
    clusters = error_clusters(store, start="2026-01-01", end="2026-01-01")
    if not clusters.empty:
        print(f"\nKinds of error on 2026-01-01 ({clusters.attrs['errors']:,} errors in {len(clusters)} clusters; "
              "bin/query --errors for more):")
        for row in clusters.head(5).itertuples(index=False):
            print(f"  {row.errors:>6,} {row.share:6.1%}  cluster {row.cluster:<3} {row.label[:90]}")
    last = store.db.runs.find_one({"job": "aggregate"}, sort=[("started_at", -1)])
    if last:
        print(f"\nLast run: {last['_id']} {last['status']} ({last['window']['precision']} "
              f"{last['window']['start']:%Y-%m-%d %H:%M} .. {last['window']['end']:%Y-%m-%d %H:%M} UTC)")
    print(f"MongoDB: {uri}  (try: mongosh or pymongo on it; bin/aggregate --help for more)")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
