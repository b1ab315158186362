"""MongoDB, all of it: the aggregate documents, the bucket ledger, the `runs` journal and the
error collections, through pymongo. No other module touches a collection.

A window is rewritten idempotently: every document of the run is replaced by `_id` (upsert),
then the documents of the window that this run did not write are deleted. A run killed
half-way leaves each document either as the earlier run wrote it or as this one did, never
twice; its `runs` entry stays `running` until the next run of the window marks it
`interrupted` and repairs the window.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import queue
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable

from contextlib import contextmanager
from typing import Iterator

from pymongo import ASCENDING, DESCENDING, MongoClient, ReplaceOne, UpdateOne, uri_parser
from pymongo.errors import (BulkWriteError, ConfigurationError, ConnectionFailure, InvalidURI, OperationFailure,
                            PyMongoError)

from ..exits import MongoUnavailable, RunRefused, UsageError, WindowBusy
from ..sources import Source
from ..tiers import PRECISIONS, Window, next_start

# Collections shared by every source; a source's own collections are named by its Source.
RUNS = "runs"
ERROR_TEMPLATES = "error_templates"
ERROR_CLUSTERS = "error_clusters"
MODELS = "models"                       # build-outcome experiments: metadata and metrics
MODEL_PREDICTIONS = "model_predictions"  # nightly scores of new builds, surprises marked
# A window covering every tier and all time, for runs that lock more than one window
# (the cleanup, the clustering registry).
ALL_TIME = dt.datetime(1970, 1, 1), dt.datetime(2100, 1, 1)
DUPLICATE_KEY = 11000
# A run that has not shown life for this long is taken as dead (killed, machine lost).
LEASE = dt.timedelta(minutes=15)

WINDOW_INDEX = [("scope.timeframe_precision", ASCENDING), ("scope.start_date", ASCENDING)]
WINDOW_FIELDS = {name for name, _ in WINDOW_INDEX}


def indexes(source: Source) -> list[list[tuple[str, int]]]:
    """Indexes the window rewrite and the queries need: time range within a tier first, then
    the scope keys operators filter on most."""
    return [WINDOW_INDEX, *[[("scope.timeframe_precision", ASCENDING), (f"scope.{key}", ASCENDING),
                             ("scope.start_date", ASCENDING)] for key in source.indexed_keys]]


def window_query(window: Window) -> dict:
    """The documents of a window's buckets (served by WINDOW_INDEX)."""
    return {"scope.timeframe_precision": window.precision,
            "scope.start_date": {"$gte": window.start, "$lt": window.end}}


def view_collection(collection: str, view: str) -> str:
    """The collection of a view's documents (jobrollup.views) beside the documents of `collection`."""
    return f"{collection}{VIEW_INFIX}{view}"


VIEW_INFIX = "_view_"


def bucket_id(precision: str, start: dt.datetime) -> str:
    return f"{precision}|{start.isoformat()}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def redact(uri: str) -> str:
    """The URI without its password, for logs."""
    if "@" not in uri:
        return uri
    scheme, rest = uri.split("://", 1) if "://" in uri else ("", uri)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if scheme else f"{user}:***@{host}"


HEARTBEAT_TIMEOUT_MS = 60_000

# Server error codes that are not "unreachable" (src/mongo/base/error_codes.yml).
UNAUTHORIZED = 13
AUTHENTICATION_FAILED = 18


def check_uri(uri: str) -> None:
    """Refuse a malformed URI (UsageError) before anything starts. Offline: a mongodb+srv://
    URI is checked without its DNS lookup, which is left to the connection."""
    offline = "mongodb://" + uri[len("mongodb+srv://"):] if uri.startswith("mongodb+srv://") else uri
    try:
        uri_parser.parse_uri(offline)
    except (InvalidURI, ConfigurationError, ValueError) as error:
        raise UsageError(f"malformed MongoDB URI {redact(uri)}: {_first_line(error)}") from None


def _parsed(uri: str) -> dict:
    try:
        return uri_parser.parse_uri("mongodb://" + uri[len("mongodb+srv://"):] if uri.startswith("mongodb+srv://")
                                    else uri)
    except (PyMongoError, ValueError):
        return {"nodelist": [], "username": None}


def host_of(uri: str) -> str:
    """HOST:PORT (comma-separated for a replica set) of a URI, without credentials."""
    nodes = _parsed(uri)["nodelist"] if uri else []
    return ",".join(f"{host}:{port}" for host, port in nodes) or (redact(uri) if uri else "the server")


def failure(error: PyMongoError, uri: str, written: int | None = None) -> Exception:
    """The one-line failure a MongoDB error ends a command with: UsageError (exit 2) for a
    URI pymongo refuses, MongoUnavailable (exit 4) otherwise. `written` is how many documents
    this run had written when the error came, None when the server never answered it.

    The server's reply (a dict dump) and pymongo's topology description are never shown: the
    line says what happened and what to do."""
    host = host_of(uri)
    user = _parsed(uri)["username"] if uri else None
    if isinstance(error, (InvalidURI, ConfigurationError)):
        return UsageError(f"malformed MongoDB URI {redact(uri)}: {_first_line(error)}")
    if isinstance(error, OperationFailure) and error.code == AUTHENTICATION_FAILED:
        return MongoUnavailable(f"authentication failed for user {user or '(none given)'} on {host}")
    if isinstance(error, OperationFailure) and error.code == UNAUTHORIZED:
        if not user:
            return MongoUnavailable(f"MongoDB at {host} requires authentication: give a user and password in the URI")
        return MongoUnavailable(f"user {user} is not allowed to do this on {host}: {_server_message(error)}")
    if isinstance(error, ConnectionFailure):
        if written is None:
            return MongoUnavailable(f"MongoDB at {host} is unreachable: {_first_line(error)}")
        return MongoUnavailable(f"MongoDB at {host} stopped answering (after {written:,} documents of this run "
                                f"were written; re-run to finish)")
    if isinstance(error, OperationFailure):
        return MongoUnavailable(f"MongoDB at {host} refused an operation: {_server_message(error)}")
    return MongoUnavailable(f"MongoDB at {host} failed: {_first_line(error)}")


def _server_message(error: OperationFailure) -> str:
    details = error.details if isinstance(error.details, dict) else {}
    first = (details.get("writeErrors") or [details])[0]   # a bulk write: its first write's error
    message = first.get("errmsg") or _first_line(error)
    code = first.get("code", error.code)
    return f"{str(message).splitlines()[0][:200]}" + (f" (code {code})" if code is not None else "")


class MongoStore:
    """One MongoDB database of jobrollup. Windows are `tiers.Window`s; a source's collections
    come from its `Source`, the shared ones from the names above."""

    def __init__(self, uri: str, database: str, timeout_ms: int = 5000):
        check_uri(uri)
        self.uri = uri
        self.timeout_ms = timeout_ms
        self.written = 0          # documents this store has written (replace_documents)
        self.answered = False     # the server has answered once: a later silence is a lost server
        # An unreachable server fails within timeout_ms (server selection). The heartbeat's
        # socket timeout is connectTimeoutMS: when a heartbeat times out pymongo clears the pool
        # and cancels the writes in flight ("operation cancelled"), which a busy server made
        # happen mid-run at 4M jobs; so a slow answer is given more time than a missing one.
        self.client = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms,
                                  connectTimeoutMS=max(timeout_ms, HEARTBEAT_TIMEOUT_MS),
                                  tz_aware=False)
        self.db = self.client[database]

    @property
    def database(self) -> str:
        return self.db.name

    def ping(self) -> None:
        try:
            self.client.admin.command("ping")
        except PyMongoError as error:
            raise self.failure(error) from None
        self.answered = True

    def failure(self, error: PyMongoError) -> Exception:
        """The one-line failure of a MongoDB error met by this store (see `failure`)."""
        return failure(error, self.uri, self.written if self.answered else None)

    @contextmanager
    def failures(self) -> Iterator[None]:
        """Turn a MongoDB error inside the block into its one-line failure (exit code 4)."""
        try:
            yield
        except PyMongoError as error:
            raise self.failure(error) from None

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "MongoStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def ensure_indexes(self, source: Source, views: Iterable = (), collection: str | None = None) -> None:
        """Indexes of the documents, of each view (`jobrollup.views.View`s: the same indexes on
        the keys the view holds), the ledger and the journal."""
        collection = collection or source.collection
        self._keep_indexes(self.db[collection], indexes(source))
        for view in views:
            self._keep_indexes(self.db[view_collection(collection, view.name)],
                               [keys for keys in indexes(source)
                                if all(k.removeprefix("scope.") in view.keys or k in WINDOW_FIELDS for k, _ in keys)])
        self.db[source.buckets_collection].create_index([("precision", ASCENDING), ("start", ASCENDING)])
        self._ensure_runs_indexes()

    def _keep_indexes(self, coll, wanted: list[list[tuple[str, int]]]) -> None:
        """Create the `wanted` scope indexes of a collection and drop the scope indexes an
        earlier version made that are no longer wanted: each one slows every write and delete."""
        for keys in wanted:
            coll.create_index(keys)
        wanted_fields = [[k for k, _ in keys] for keys in wanted]
        for name, info in coll.index_information().items():
            fields = [k for k, _ in info["key"]]
            if fields[:1] == ["scope.timeframe_precision"] and fields not in wanted_fields:
                coll.drop_index(name)

    def _ensure_runs_indexes(self) -> None:
        self.db[RUNS].create_index([("source", ASCENDING), ("status", ASCENDING), ("window.precision", ASCENDING)])
        self.db[RUNS].create_index([("started_at", DESCENDING)])

    # -- the runs journal -------------------------------------------------------------------

    def begin_run(self, source: str, job: str, window: Window, details: dict) -> str:
        """Record a new run; refuse when a live run writes an overlapping window of the same tier.

        A window of precision "*" stands for every tier (the cleanup, the clustering registry)."""
        now = utcnow()
        # Runs of the same tier write the same documents; a cleanup ("*") touches every tier.
        overlapping = {
            "source": source, "status": "running",
            "window.start": {"$lt": window.end}, "window.end": {"$gt": window.start},
        }
        # A cleanup ("*") skips the buckets of live aggregations itself, so only another cleanup
        # stops it; an aggregation is stopped by a live cleanup that may touch its window.
        overlapping["window.precision"] = "*" if window.precision == "*" else {"$in": [window.precision, "*"]}
        for other in self.db[RUNS].find(overlapping):
            if _alive(other, now):
                raise WindowBusy(
                    f"run {other['_id']} ({other.get('job')}, started {other['started_at']:%Y-%m-%d %H:%M} UTC "
                    f"on {other.get('host')}) is still writing {window.precision} buckets of this window")
            self.db[RUNS].update_one({"_id": other["_id"], "status": "running"},
                                     {"$set": {"status": "interrupted", "finished_at": now}})
        run_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.db[RUNS].insert_one({
            "_id": run_id, "source": source, "job": job, "window": window.as_dict(), "status": "running",
            "started_at": now, "heartbeat_at": now, "host": socket.gethostname(),
            "user": _user(), "pid": os.getpid(), **details,
        })
        return run_id

    def update_run(self, run_id: str, **fields) -> None:
        self.db[RUNS].update_one({"_id": run_id}, {"$set": {**fields, "heartbeat_at": utcnow()}})

    def finish_run(self, run_id: str, status: str, **fields) -> None:
        now = utcnow()
        self.db[RUNS].update_one({"_id": run_id}, {"$set": {**fields, "status": status,
                                                             "finished_at": now, "heartbeat_at": now}})

    @contextmanager
    def journal(self, source: str, job: str, window: Window, details: dict) -> Iterator["JournalEntry"]:
        """A run in the journal: begun on entry; on leaving, `succeeded` with what the body put
        in `entry.fields`, `refused` on RunRefused, `failed` on an error and `interrupted` on
        Ctrl-C or SIGTERM, so the journal never says `running` of a run that has ended."""
        entry = JournalEntry(self, self.begin_run(source, job, window, details))
        try:
            yield entry
        except RunRefused as error:
            self._finish_quietly(entry, "refused", error)
            raise
        except BaseException as error:
            self._finish_quietly(entry, "failed" if isinstance(error, Exception) else "interrupted", error)
            raise
        self.finish_run(entry.run_id, "succeeded", **entry.fields)

    def _finish_quietly(self, entry: "JournalEntry", status: str, error: BaseException) -> None:
        try:
            self.finish_run(entry.run_id, status, error=(str(error).splitlines() or [type(error).__name__])[0][:500],
                            **entry.fields)
        except Exception:  # MongoDB itself is gone: the next run finds this one dead and repairs
            pass

    def live_runs(self, source: str, job: str, start: dt.datetime, end: dt.datetime) -> list[dict]:
        """Runs of `job` still writing inside [start, end) (the same liveness rule as begin_run)."""
        now = utcnow()
        return [run for run in self.db[RUNS].find({"source": source, "status": "running", "job": job,
                                                   "window.start": {"$lt": end}, "window.end": {"$gt": start}})
                if _alive(run, now)]

    def last_run(self, job: str, source: str | None = None) -> dict | None:
        query = {"job": job, **({"source": source} if source else {})}
        return self.db[RUNS].find_one(query, sort=[("started_at", -1)])

    def recent_runs(self, limit: int = 50) -> list[dict]:
        """The latest runs of every source and job, newest first (index started_at)."""
        return list(self.db[RUNS].find({}).sort("started_at", -1).limit(limit))

    # -- documents (aggregates, error counts, assignments) ------------------------------------

    def replace_documents(self, collection: str, documents: Iterable[dict], batch: int = 1000,
                          on_batch: Callable[[int], None] | None = None, held: bool = False) -> int:
        """Write every document by `_id`, replacing any earlier one; returns how many. `held`:
        the collection held documents where these go (a window written before), so they are
        replaced at once instead of first tried as inserts."""
        coll = self.db[collection]
        written = 0
        for docs in batches(documents, batch):
            flushed = self._flush(coll, docs, on_batch, held)
            written += flushed
            self.written += flushed
        return written

    @staticmethod
    def _flush(coll, docs: list, on_batch, held: bool = False) -> int:
        # Most windows are written for the first time: plain inserts are about three times
        # faster than upserts, and only the documents that already exist are then replaced.
        # A window written before (a re-run, a week written again each day) holds most of
        # them: an insert that fails costs the server a third of a replace (4,617 documents
        # of the sample day into the embedded server: 1.05 s of failed inserts, 3.6 s of replaces).
        if held:
            coll.bulk_write([ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs], ordered=False)
        else:
            try:
                coll.insert_many(docs, ordered=False)
            except BulkWriteError as error:
                errors = error.details.get("writeErrors", [])
                if any(e.get("code") != DUPLICATE_KEY for e in errors):
                    raise
                coll.bulk_write([ReplaceOne({"_id": docs[e["index"]]["_id"]}, docs[e["index"]], upsert=True)
                                 for e in errors], ordered=False)
        if on_batch:
            on_batch(len(docs))
        return len(docs)

    def partition_writer(self, batch: int = 1000, held: Iterable[str] = ()) -> "PartitionWriter":
        """What an executor needs to write documents into this database (see PartitionWriter);
        `held`: the collections that held documents where these go (`replace_documents`)."""
        return PartitionWriter(self.uri, self.database, self.timeout_ms, batch, frozenset(held))

    def remove_stale(self, collection: str, window: Window, run_id: str) -> int:
        """Delete the window's documents that the run `run_id` did not write."""
        coll = self.db[collection]
        # Select by the indexed window alone and filter run_id here: a `$ne` in the query made
        # the embedded server scan the whole collection.
        stale = [doc["_id"] for doc in coll.find(window_query(window), {"run_id": 1})
                 if doc.get("run_id") != run_id]
        removed = 0
        for first in range(0, len(stale), 1000):
            removed += coll.delete_many({"_id": {"$in": stale[first:first + 1000]}}).deleted_count
        return removed

    def view_names(self, collection: str) -> list[str]:
        """The views that have a collection beside `collection` (whatever the configuration says now)."""
        prefix = f"{collection}{VIEW_INFIX}"
        return sorted(name[len(prefix):] for name in self.db.list_collection_names() if name.startswith(prefix))

    def documents(self, collection: str, window: Window, fields: dict | None = None,
                  batch_size: int = 0) -> Iterator[dict]:
        """The documents of a window's buckets (`batch_size` per round trip; 0: the server's)."""
        return self.db[collection].find(window_query(window), fields, batch_size=batch_size)

    def has_documents(self, collection: str, window: Window) -> bool:
        return self.db[collection].find_one(window_query(window), {"_id": 1}) is not None

    def count_documents(self, collection: str, window: Window) -> int:
        return self.db[collection].count_documents(window_query(window))

    def delete_documents(self, collection: str, window: Window) -> int:
        return self.db[collection].delete_many(window_query(window)).deleted_count

    def window_totals(self, collection: str, window: Window, source: Source) -> dict:
        """Jobs, counters, and n and sum of every metric over a window's documents, summed by
        the server: {count, counters: {name: total}, metrics: {(group, metric): [n, sum]}}."""
        group: dict = {"_id": None, "count": {"$sum": "$count"}}
        group.update({f"c_{c}": {"$sum": f"${c}"} for c in source.counters})
        for number, (g, m, _) in enumerate(source.metric_columns):
            group[f"n{number}"] = {"$sum": f"$performance.{g}.{m}.n"}
            group[f"s{number}"] = {"$sum": f"$performance.{g}.{m}.sum"}
        row = next(iter(self.db[collection].aggregate([{"$match": window_query(window)}, {"$group": group}])), None) or {}
        return {"count": row.get("count", 0), "counters": {c: row.get(f"c_{c}", 0) for c in source.counters},
                "metrics": {(g, m): [row.get(f"n{i}", 0), row.get(f"s{i}", 0.0)]
                            for i, (g, m, _) in enumerate(source.metric_columns)}}

    def bucket_totals(self, collection: str, window: Window, source: Source) -> dict[dt.datetime, dict]:
        """`window_totals` per bucket start of the window, in one pass of the server."""
        group: dict = {"_id": "$scope.start_date", "count": {"$sum": "$count"}}
        group.update({f"c_{c}": {"$sum": f"${c}"} for c in source.counters})
        for number, (g, m, _) in enumerate(source.metric_columns):
            group[f"n{number}"] = {"$sum": f"$performance.{g}.{m}.n"}
            group[f"s{number}"] = {"$sum": f"$performance.{g}.{m}.sum"}
        return {row["_id"]: {"count": row.get("count", 0),
                             "counters": {c: row.get(f"c_{c}", 0) for c in source.counters},
                             "metrics": {(g, m): [row.get(f"n{i}", 0), row.get(f"s{i}", 0.0)]
                                         for i, (g, m, _) in enumerate(source.metric_columns)}}
                for row in self.db[collection].aggregate([{"$match": window_query(window)}, {"$group": group}])}

    def bucket_tallies(self, collection: str, window: Window) -> dict[dt.datetime, dict]:
        """Per bucket start of the window: jobs, documents and the runs that wrote them."""
        return {row["_id"]: row for row in self.db[collection].aggregate([
            {"$match": window_query(window)},
            {"$group": {"_id": "$scope.start_date", "count": {"$sum": "$count"}, "documents": {"$sum": 1},
                        "runs": {"$addToSet": "$run_id"}}},
        ])}

    def aggregate(self, collection: str, pipeline: list[dict]) -> Iterator[dict]:
        """Run an aggregation pipeline (the queries build them)."""
        return self.db[collection].aggregate(pipeline, allowDiskUse=True)

    # -- the bucket ledger --------------------------------------------------------------------

    def mark_buckets(self, source: Source, window: Window, totals: dict, run_id: str, written_by: str,
                     views: dict | None = None, missing_days: Iterable[dt.date] = ()) -> None:
        """Record that every bucket of the window is held at its precision, empty ones too.

        `totals` maps bucket start -> {count, <counters>, documents}. This ledger is what tells
        a bucket with no jobs from a bucket nobody aggregated, for the cleanup and the queries.
        `views` maps view name -> (jobrollup.views.View, {bucket start: documents}): the views
        written with the documents, which the entry then covers too
        (`views: {name: {keys[, metrics], documents}}`).
        A bucket touching a day whose input was missing is recorded as `missing` (with those
        days), not held: its documents do not tell its truth, and queries show it as no data.
        """
        now = utcnow()
        empty = {"count": 0, **{c: 0 for c in source.counters}, "documents": 0}
        missing = sorted(set(missing_days))
        operations = []
        for start in window.buckets():
            end = next_start(start, window.precision)
            tally = totals.get(start, empty)
            held_views = {name: {**view.as_entry(), "documents": per_bucket.get(start, 0)}
                          for name, (view, per_bucket) in (views or {}).items()}
            lacking = [d.isoformat() for d in missing
                       if start < dt.datetime.combine(d, dt.time()) + dt.timedelta(days=1)
                       and dt.datetime.combine(d, dt.time()) < end]
            entry = {"precision": window.precision, "start": start, "end": end,
                     "state": "missing" if lacking else "held", "run_id": run_id, "written_by": written_by,
                     "updated_at": now, **tally, "views": held_views}
            if lacking:
                entry["missing_days"] = lacking
            operations.append(ReplaceOne({"_id": bucket_id(window.precision, start)}, entry, upsert=True))
        if operations:
            self.db[source.buckets_collection].bulk_write(operations, ordered=False)

    def ledger(self, source: Source, precision: str, start: dt.datetime, end: dt.datetime,
               fields: dict | None = None) -> list[dict]:
        """Ledger entries of `precision` whose start is in [start, end), in time order."""
        return list(self.db[source.buckets_collection].find(
            {"precision": precision, "start": {"$gte": start, "$lt": end}}, fields).sort("start", 1))

    def ledger_entry(self, source: Source, precision: str, start: dt.datetime) -> dict | None:
        return self.db[source.buckets_collection].find_one({"_id": bucket_id(precision, start)})

    def ledger_in_state(self, source: Source, state: str, precision: str | None = None,
                        ending_by: dt.datetime | None = None) -> list[dict]:
        """Entries in `state` (of one precision, ending at or before `ending_by`), in time order."""
        query: dict = {"state": state}
        if precision:
            query["precision"] = precision
        if ending_by is not None:
            query["end"] = {"$lte": ending_by}
        return list(self.db[source.buckets_collection].find(query).sort("start", 1))

    def earliest_held(self, source: Source) -> dt.datetime | None:
        ledger = self.db[source.buckets_collection]
        starts = [e["start"] for p in PRECISIONS
                  for e in ledger.find({"precision": p, "state": "held"}, {"start": 1}).sort("start", 1).limit(1)]
        return min(starts) if starts else None

    def ledger_coverage(self, source: Source) -> list[dict]:
        """Per precision and state: buckets, first start, last end, jobs (the web view's runs page)."""
        return list(self.db[source.buckets_collection].aggregate([
            {"$group": {"_id": {"precision": "$precision", "state": "$state"}, "buckets": {"$sum": 1},
                        "first": {"$min": "$start"}, "last": {"$max": "$end"}, "count": {"$sum": "$count"}}},
        ]))

    def set_ledger_state_between(self, source: Source, precision: str, start: dt.datetime, end: dt.datetime,
                                 state: str, **fields) -> None:
        """`set_ledger_state` for every bucket of `precision` starting in [start, end): one range
        of the (precision, start) index (an `_id` `$in` list made the embedded server scan)."""
        self.db[source.buckets_collection].update_many(
            {"precision": precision, "start": {"$gte": start, "$lt": end}}, {"$set": {"state": state, **fields}})

    def set_ledger_state(self, source: Source, precision: str, starts: list[dt.datetime], state: str,
                         **fields) -> None:
        self.db[source.buckets_collection].update_many(
            {"_id": {"$in": [bucket_id(precision, s) for s in starts]}}, {"$set": {"state": state, **fields}})

    # -- error clusters -----------------------------------------------------------------------

    def ensure_error_indexes(self, source: Source) -> None:
        self.db[ERROR_TEMPLATES].create_index([("seq", ASCENDING)])
        for name in (source.errors_collection, source.error_assignments_collection):
            self.db[name].create_index(WINDOW_INDEX)
            self.db[name].create_index([("cluster", ASCENDING)])
        self._ensure_runs_indexes()

    def error_registry(self) -> tuple[Iterator[dict], Iterator[dict]]:
        """(templates in any order with seq, template, cluster; clusters with label, examples)."""
        templates = self.db[ERROR_TEMPLATES].find({}, {"seq": 1, "template": 1, "cluster": 1})
        clusters = ({"cluster": d["_id"], "label": d.get("label"), "examples": d.get("examples", [])}
                    for d in self.db[ERROR_CLUSTERS].find({}, {"label": 1, "examples": 1}))
        return templates, clusters

    def register_templates(self, rows: list[dict]) -> None:
        """Add templates to the registry ({_id, template, cluster, seq, ...}); one already there
        keeps what it had (a re-run never moves a template)."""
        operations = [UpdateOne({"_id": row["_id"]}, {"$setOnInsert": {k: v for k, v in row.items() if k != "_id"}},
                                upsert=True) for row in rows]
        for first in range(0, len(operations), 1000):
            self.db[ERROR_TEMPLATES].bulk_write(operations[first:first + 1000], ordered=False)

    def clusters_of_templates(self, template_ids: list[str]) -> dict[str, int]:
        """The registry's cluster of each known template id (sha1 of the template)."""
        found = {}
        for first in range(0, len(template_ids), 1000):
            for doc in self.db[ERROR_TEMPLATES].find({"_id": {"$in": template_ids[first:first + 1000]}}, {"cluster": 1}):
                found[doc["_id"]] = doc["cluster"]
        return found

    def error_counts(self, source: Source, clusters: list[int] | None = None, window: Window | None = None,
                     fields: dict | None = None) -> Iterator[dict]:
        """`<source>_errors` documents of some clusters, or of a window."""
        query = {"cluster": {"$in": clusters}} if clusters is not None else window_query(window)
        return self.db[source.errors_collection].find(query, fields)

    def update_clusters(self, updates: list[tuple[int, dict]]) -> None:
        """Upsert cluster documents: (cluster id, update with $set/$min/$max)."""
        operations = [UpdateOne({"_id": cluster_id}, update, upsert=True) for cluster_id, update in updates]
        for first in range(0, len(operations), 1000):
            self.db[ERROR_CLUSTERS].bulk_write(operations[first:first + 1000], ordered=False)

    def clusters(self, clusters: list[int], fields: dict | None = None) -> dict[int, dict]:
        """Cluster documents (label, examples, first and last seen, busiest values...) by id."""
        return {d["_id"]: d for d in self.db[ERROR_CLUSTERS].find({"_id": {"$in": clusters}}, fields)}

    def cluster_labels(self, clusters: list[int]) -> dict[int, str]:
        return {cluster: doc.get("label", "") for cluster, doc in self.clusters(clusters, {"label": 1}).items()}


    # -- build-outcome models -----------------------------------------------------------------

    def save_experiment(self, doc: dict) -> None:
        """An experiment's document (data selection, model, seed, metrics), keyed by its name."""
        self.db[MODELS].replace_one({"_id": doc["_id"]}, doc, upsert=True)

    def experiment(self, name: str) -> dict | None:
        return self.db[MODELS].find_one({"_id": name})

    def replace_predictions(self, experiment: str, window: Window, docs: list[dict], run_id: str) -> dict:
        """The scores of the builds of `window` by `experiment`: written by `_id`, then the
        window's earlier scores by this experiment that this run did not write removed."""
        coll = self.db[MODEL_PREDICTIONS]
        coll.create_index([("experiment", ASCENDING), ("day", ASCENDING)])
        coll.create_index([("surprise", ASCENDING), ("day", ASCENDING)])
        written = self.replace_documents(MODEL_PREDICTIONS, docs)
        stale = [d["_id"] for d in coll.find({"experiment": experiment,
                                              "day": {"$gte": window.start, "$lt": window.end}}, {"run_id": 1})
                 if d.get("run_id") != run_id]
        removed = coll.delete_many({"_id": {"$in": stale}}).deleted_count if stale else 0
        return {"written": written, "removed": removed}

    def predictions(self, start: dt.datetime, end: dt.datetime, experiment: str | None = None,
                    surprises_only: bool = False, package: str | None = None) -> list[dict]:
        """Scored builds of days in [start, end) (of one package when given), only the
        surprises when asked."""
        query = _predictions_query(start, end, experiment, surprises_only, package)
        return list(self.db[MODEL_PREDICTIONS].find(query).sort([("day", 1), ("package", 1), ("_id", 1)]))

    def count_predictions(self, start: dt.datetime, end: dt.datetime, experiment: str | None = None,
                          surprises_only: bool = False, package: str | None = None) -> int:
        """How many builds `predictions` would return, without reading them."""
        return self.db[MODEL_PREDICTIONS].count_documents(
            _predictions_query(start, end, experiment, surprises_only, package))

    def latest_predictions_day(self) -> dt.datetime | None:
        """The last day any experiment scored (bin/predict --score-builds); None before the first."""
        latest = self.db[MODEL_PREDICTIONS].find_one({}, {"day": 1}, sort=[("day", -1)])
        return latest["day"] if latest else None


@dataclass(frozen=True)
class PartitionWriter:
    """Writes documents from a Spark executor (one partition of a run's documents at a time).

    Picklable: it holds the URI, database, timeout and batch size, and opens its own MongoStore
    per partition, because a client must not cross processes. A MongoDB error does not fail the
    task (Spark would retry it, then end the run with a Java stack trace): `write` returns it as
    plain data (`portable`), and the driver raises it as its own failure, one line, exit 4."""
    uri: str
    database: str
    timeout_ms: int
    batch: int = 1000
    held: frozenset[str] = frozenset()   # collections written before where these documents go

    def open(self) -> MongoStore:
        return MongoStore(self.uri, self.database, self.timeout_ms)

    def write(self, groups: Iterable[tuple[str, Iterable[dict]]]) -> tuple[int, dict | None]:
        """Replace every document by `_id`, from (collection, documents) pairs; returns how many
        were written, and the MongoDB error that stopped the writes (`portable`) or None.

        A thread of its own sends each batch while the next one is built (`_Sender`): the
        rows, the documents and the server's work overlap instead of taking turns."""
        store = sender = None
        try:
            for collection, docs in groups:
                if store is None:               # an empty partition opens no connection
                    store = self.open()
                    sender = _Sender(store, self.held)
                for batch in batches(docs, self.batch):
                    sender.send(collection, batch)
            if sender is not None:
                sender.close()
            return (store.written if store else 0), None
        except PyMongoError as error:
            return (store.written if store else 0), portable(error)
        finally:
            if sender is not None:
                sender.stop()
            if store is not None:
                store.close()


def batches(documents: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """`documents` in lists of `size` (the last one shorter)."""
    batch = []
    for doc in documents:
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Sender:
    """Writes batches of documents (`MongoStore.replace_documents`) in a thread of its own, at
    most one batch behind the caller. The first error stops the writes; the caller's next `send`
    or `close` raises it in the caller's thread (an executor's kill as well as a MongoDB error)."""

    def __init__(self, store: MongoStore, held: frozenset[str] = frozenset()):
        self.store = store
        self.held = held
        self.batches: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="jobrollup-writes", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.batches.get()
            if item is None:
                return
            if self.error is None:
                collection, docs = item
                try:
                    self.store.replace_documents(collection, docs, len(docs),   # one batch: the caller's
                                                 held=collection in self.held)
                except BaseException as error:   # raised again in the caller's thread
                    self.error = error

    def send(self, collection: str, docs: list[dict]) -> None:
        self._raise()
        self.batches.put((collection, docs))

    def close(self) -> None:
        """Wait for every batch sent; raise the error that stopped them, if one did."""
        self.stop()
        self._raise()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.batches.put(None)
            self.thread.join()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


def portable(error: PyMongoError) -> dict:
    """A MongoDB error as plain data, for an executor to hand to the driver (pymongo's
    exceptions lose their code and details when pickled)."""
    kinds = (InvalidURI, ConfigurationError, ConnectionFailure, OperationFailure)
    kind = next((k.__name__ for k in kinds if isinstance(error, k)), "PyMongoError")
    details = getattr(error, "details", None)
    return {"kind": kind, "message": _first_line(error), "code": getattr(error, "code", None),
            "details": details if isinstance(details, dict) else None}


def from_portable(data: dict) -> PyMongoError:
    """The error `portable` described, as the class `failure` tells apart."""
    if data["kind"] == "OperationFailure":
        return OperationFailure(data["message"], data["code"], data["details"])
    kind = {"InvalidURI": InvalidURI, "ConfigurationError": ConfigurationError,
            "ConnectionFailure": ConnectionFailure}.get(data["kind"], PyMongoError)
    return kind(data["message"])


def _predictions_query(start: dt.datetime, end: dt.datetime, experiment: str | None, surprises_only: bool,
                       package: str | None) -> dict:
    query: dict = {"day": {"$gte": start, "$lt": end}}
    if experiment:
        query["experiment"] = experiment
    if surprises_only:
        query["surprise"] = {"$ne": None}
    if package:
        query["package"] = package
    return query


class JournalEntry:
    """A run being recorded: `run_id`; `update(**fields)` shows progress (and life);
    `fields` are written with the final status."""

    def __init__(self, store: MongoStore, run_id: str):
        self.store, self.run_id, self.fields = store, run_id, {}

    def update(self, **fields) -> None:
        self.fields.update(fields)
        self.store.update_run(self.run_id, **fields)


def _alive(run: dict, now: dt.datetime) -> bool:
    """Whether a `running` run may still be writing: on this host its process tells; elsewhere
    (another submit host) its heartbeat must be younger than the lease."""
    if run.get("host") == socket.gethostname() and run.get("pid"):
        try:
            os.kill(int(run["pid"]), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
    return now - run.get("heartbeat_at", run["started_at"]) < LEASE


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())


def _first_line(error: Exception) -> str:
    # pymongo appends its timeouts and the whole topology description: keep the cause only.
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text.split(" (configured timeouts")[0].split(", Timeout:")[0][:200]
