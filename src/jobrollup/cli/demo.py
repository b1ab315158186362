"""The end of bin/demo: a short look at what the aggregation and the error clustering wrote,
asked through the same library as bin/query."""

from __future__ import annotations

import datetime as dt
import sys

from .. import config
from .. import query as queries
from ..store.mongo import MongoStore
from . import common


def main(argv: list[str] | None = None) -> int:
    return common.run(_main, argv)


def _main(argv: list[str] | None) -> int:
    conf = config.load()
    uri = common.mongo_uri(None, conf)
    with MongoStore(uri, conf["mongo"]["database"], conf["mongo"]["timeout_ms"]) as store, store.failures():
        store.ping()
        show(store, uri)
    return 0


def show(store: MongoStore, uri: str) -> None:
    now = dt.datetime(2026, 1, 2)          # the sample's day is over
    tiers = queries.answer(store, queries.query(start="2026-01-01", end="2026-01-01", by=["time:day"],
                                                metrics=["count"], now=now))
    print(f"\nJobs held on 2026-01-01 in {store.database}.fwjr: {int(tiers['count'].sum()):,} "
          f"(from the {', '.join(s['precision'] for s in tiers.attrs['tiers'])} tier)")

    sites = queries.answer(store, queries.query(start="2026-01-01", end="2026-01-01", by=["site"],
                                                metrics=["count", "failure_rate", "cpu.TotalJobCPU:mean"], now=now))
    sites = sites.sort_values("count", ascending=False).head(5)
    print("\nBusiest sites: jobs, failure rate, mean CPU time per job (sum/n):")
    for _, row in sites.iterrows():
        print(f"  {str(row['site']):<22} {row['count']:>7,} jobs  {row['failure_rate']:6.1%} failed"
              f"  {row['cpu.TotalJobCPU.mean']:9.0f} s CPU")

    names = queries.load_exit_codes()
    codes = queries.answer(store, queries.query(start="2026-01-01", end="2026-01-01", by=["exitCode"],
                                                where=["exitCode!=0"], metrics=["count"], now=now))
    print("\nMost frequent exit codes of failed jobs:")
    for row in codes.sort_values("count", ascending=False).head(5).itertuples(index=False):
        code = None if row.exitCode != row.exitCode else int(row.exitCode)
        print(f"  {code!s:>6}  {row.count:>6,} jobs  {names.get(code, queries.UNKNOWN_CODE)}")

    clusters = queries.error_clusters(store, start="2026-01-01", end="2026-01-01")
    if not clusters.empty:
        print(f"\nKinds of error on 2026-01-01 ({clusters.attrs['errors']:,} errors in {len(clusters)} clusters; "
              "bin/query --errors for more):")
        for row in clusters.head(5).itertuples(index=False):
            print(f"  {row.errors:>6,} {row.share:6.1%}  cluster {row.cluster:<3} {row.label[:90]}")
    last = store.last_run("aggregate")
    if last:
        print(f"\nLast run: {last['_id']} {last['status']} ({last['window']['precision']} "
              f"{last['window']['start']:%Y-%m-%d %H:%M} .. {last['window']['end']:%Y-%m-%d %H:%M} UTC)")
    print(f"MongoDB: {uri}  (try: bin/query --help, or mongosh / pymongo on it)")


if __name__ == "__main__":
    sys.exit(main())
