"""The documents and views of a run, written by the Spark executors in parallel.

Each partition of the aggregated rows becomes documents on its executor (jobrollup.documents)
and is written there through the store (store.mongo.PartitionWriter: its own connection per
partition), so no single process carries every document. What the driver gets back per
partition is small: how many documents were written, the ledger's tallies per bucket, and the
MongoDB error that stopped it, if any. The driver writes nothing of the window's state until
every partition has succeeded: stale documents, the ledger and the journal come after
(spark.aggregate_job), so a run killed half-way is repaired by the next one as before.

Executors need pymongo (the cluster's Python, or an archive: bin/pack-executor-deps).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable

from pyspark.sql import DataFrame

from ..exits import UsageError
from ..sources import Source
from ..store.mongo import MongoStore, PartitionWriter, from_portable, view_collection
from ..views import View
from .aggregate import regroup_views

DOCUMENTS = ""     # the `view` of the documents themselves in the rows written


@dataclass
class Written:
    """What the executors wrote: documents, and per view its documents written; the ledger's
    tallies ({bucket start: {count, <counters>, documents}} of the documents, {view: {bucket
    start: documents}} of the views); the seconds they were blocked in MongoDB, over how many
    partitions, and how many of them at most wrote at once (the journal's `writes`)."""
    documents: int = 0
    views: dict[str, int] = field(default_factory=dict)
    totals: dict[dt.datetime, dict] = field(default_factory=dict)
    view_documents: dict[str, dict[dt.datetime, int]] = field(default_factory=dict)
    write_s: float = 0.0    # seconds the executors spent blocked in MongoDB writes, summed over partitions
    partitions: int = 0     # partitions written: the documents' job, then the views'
    at_once: int = 0        # the most partitions of one job: the most writing at once (with free cores)


def write(rows: DataFrame, store: MongoStore, batch: int, source: Source, precision: str, run_id: str,
          collection: str, views: tuple[View, ...], tasks: int = 0, held: Iterable[str] = ()) -> Written:
    """Write the documents of `rows` and of every view from the executors, at most `tasks` at
    once (0: one per partition); raise the first MongoDB failure an executor met (one line,
    exit 4) once every partition has ended. `held`: the collections that held documents of
    the window before (replaced at once, `MongoStore.replace_documents`).

    The views are regrouped (a shuffle, and building the code of a wide aggregation) while the
    documents are written, on the cores the writers leave (a thread of the driver's own), and
    written after them: the writes into one MongoDB server do not wait for the regroup.
    """
    task = functools.partial(_write_partition, store.partition_writer(batch, held), source.name, precision, run_id,
                             collection, {view.name: view.keys for view in views})

    def written(frame: DataFrame) -> list[dict]:
        if tasks:
            frame = frame.coalesce(tasks)
        return frame.rdd.mapPartitions(task).collect()

    try:
        # An error of the documents' writes is raised once the regroup has ended (the pool
        # waits for it): no job of this run goes on after `write` is left.
        with ThreadPoolExecutor(1, thread_name_prefix="jobrollup-views") as regroup:
            # Checkpointed: the views' rows are computed by this job alone, not again when written.
            view_rows = (regroup.submit(lambda: regroup_views(rows, views, source).localCheckpoint(eager=True))
                         if views else None)
            results = written(regroup_views(rows, (), source, first=DOCUMENTS))
            # After a MongoDB error the run fails: its views are not written in vain.
            of_views = (written(view_rows.result())
                        if view_rows is not None and not any(r["error"] for r in results) else [])
        at_once = max(len(results), len(of_views))
        results += of_views
    except Exception as error:
        if "No module named 'pymongo'" in str(error):
            raise UsageError("the Spark executors cannot import pymongo, which they write to MongoDB with: "
                             "install it in their Python, or pack it with bin/pack-executor-deps and set conf "
                             "[spark] executor_archives") from None
        raise
    out = _tallied(results, store, views)
    out.at_once = at_once
    return out


def _tallied(results: list[dict], store: MongoStore, views: tuple[View, ...]) -> Written:
    """The partitions' summaries (`_write_partition`) added up; the first error raised."""
    out = Written(views={view.name: 0 for view in views}, view_documents={view.name: {} for view in views})
    errors = []
    out.partitions = len(results)
    for result in results:
        store.written += result["written"]
        out.write_s += result["write_s"]
        if result["error"]:
            errors.append(result["error"])
        for (view, start), tally in result["tallies"].items():
            if view == DOCUMENTS:
                into = out.totals.setdefault(start, dict.fromkeys(tally, 0))
                for key, value in tally.items():
                    into[key] += value
                out.documents += tally["documents"]
            else:
                out.view_documents[view][start] = out.view_documents[view].get(start, 0) + tally["documents"]
                out.views[view] += tally["documents"]
    if errors:
        raise store.failure(from_portable(errors[0]))
    return out


def _write_partition(writer: PartitionWriter, source_name: str, precision: str, run_id: str, collection: str,
                     views: dict[str, tuple[str, ...]], rows):
    """On an executor: one partition's rows -> documents written; yields one summary."""
    from .. import documents, sources

    source = sources.get(source_name)
    tallies: dict[tuple[str, dt.datetime], dict] = {}

    def tallied(view: str, rows):
        keys = views[view] if view else None
        for doc in documents.to_documents(rows, source, precision, run_id, keys):
            start = doc["scope"]["start_date"]
            tally = tallies.get((view, start))
            if tally is None:
                tally = tallies[(view, start)] = {"count": 0, **{c: 0 for c in source.counters}, "documents": 0}
            tally["count"] += doc["count"]
            for counter in source.counters:
                tally[counter] += doc[counter]
            tally["documents"] += 1
            yield doc

    waited = [0.0]   # seconds spent waiting for rows and building documents, not in MongoDB

    def timed(docs):
        docs = iter(docs)
        while True:
            began = time.perf_counter()
            doc = next(docs, None)
            waited[0] += time.perf_counter() - began
            if doc is None:
                return
            yield doc

    began = time.perf_counter()
    groups = itertools.groupby(rows, key=lambda row: row[0])   # `view` comes first (regroup_views)
    with _no_cycle_collection():
        written, error = writer.write((view_collection(collection, view) if view else collection,
                                       timed(tallied(view, same))) for view, same in groups)
    yield {"written": written, "error": error, "tallies": tallies,
           "write_s": time.perf_counter() - began - waited[0]}


@contextlib.contextmanager
def _no_cycle_collection():
    """Python's cycle collector off while a partition is written. Its rows and documents are
    dicts and tuples without cycles, made by the tens of thousands: the collector ran every few
    dozen documents and went through every one in flight, which doubled the Python time per
    document (88 against 44 microseconds, rows to BSON, on the sample day's rows). Reference
    counting still frees each of them."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
