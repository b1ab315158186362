"""MongoDB: the aggregate collections and the `runs` journal, through pymongo.

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
import socket
import uuid
from typing import Callable, Iterable

from pymongo import ASCENDING, DESCENDING, MongoClient, ReplaceOne
from pymongo.errors import BulkWriteError, PyMongoError

from .tiers import Window, next_start

RUNS = "runs"
DUPLICATE_KEY = 11000
# A run that has not shown life for this long is taken as dead (killed, machine lost).
LEASE = dt.timedelta(minutes=15)

# Indexes the window rewrite and the queries need: time range within a tier first, then the
# scope keys operators filter on most.
INDEXES = [
    [("scope.timeframe_precision", ASCENDING), ("scope.start_date", ASCENDING)],
    *[[("scope.timeframe_precision", ASCENDING), (f"scope.{key}", ASCENDING), ("scope.start_date", ASCENDING)]
      for key in ("site", "workflow", "task", "exitCode", "jobtype", "jobstate", "acquisitionEra")],
]


def buckets_collection(collection: str) -> str:
    return f"{collection}_buckets"


def bucket_id(precision: str, start: dt.datetime) -> str:
    return f"{precision}|{start.isoformat()}"


class MongoUnavailable(RuntimeError):
    """MongoDB cannot be reached; nothing was written."""


class WindowBusy(RuntimeError):
    """Another live run is writing the same window."""


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


class MongoStore:
    def __init__(self, uri: str, database: str, timeout_ms: int = 5000):
        self.uri = uri
        # An unreachable server fails within timeout_ms (server selection). The heartbeat's
        # socket timeout is connectTimeoutMS: when a heartbeat times out pymongo clears the pool
        # and cancels the writes in flight ("operation cancelled"), which a busy server made
        # happen mid-run at 4M jobs; so a slow answer is given more time than a missing one.
        self.client = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms,
                                  connectTimeoutMS=max(timeout_ms, HEARTBEAT_TIMEOUT_MS),
                                  tz_aware=False)
        self.db = self.client[database]

    def ping(self) -> None:
        try:
            self.client.admin.command("ping")
        except PyMongoError as error:
            raise MongoUnavailable(f"MongoDB at {redact(self.uri)} is unreachable: {_first_line(error)}") from None

    def close(self) -> None:
        self.client.close()

    def ensure_indexes(self, collection: str) -> None:
        coll = self.db[collection]
        for keys in INDEXES:
            coll.create_index(keys)
        self.db[buckets_collection(collection)].create_index([("precision", ASCENDING), ("start", ASCENDING)])
        self.db[RUNS].create_index([("source", ASCENDING), ("status", ASCENDING), ("window.precision", ASCENDING)])
        self.db[RUNS].create_index([("started_at", DESCENDING)])

    # -- the runs journal -------------------------------------------------------------------

    def begin_run(self, source: str, job: str, window: dict, details: dict) -> str:
        """Record a new run; refuse when a live run writes an overlapping window of the same tier."""
        now = utcnow()
        # Runs of the same tier write the same documents; a cleanup ("*") touches every tier.
        overlapping = {
            "source": source, "status": "running",
            "window.start": {"$lt": window["end"]}, "window.end": {"$gt": window["start"]},
        }
        # A cleanup ("*") skips the buckets of live aggregations itself, so only another cleanup
        # stops it; an aggregation is stopped by a live cleanup that may touch its window.
        overlapping["window.precision"] = "*" if window["precision"] == "*" else {"$in": [window["precision"], "*"]}
        for other in self.db[RUNS].find(overlapping):
            if _alive(other, now):
                raise WindowBusy(
                    f"run {other['_id']} ({other.get('job')}, started {other['started_at']:%Y-%m-%d %H:%M} UTC "
                    f"on {other.get('host')}) is still writing {window['precision']} buckets of this window")
            self.db[RUNS].update_one({"_id": other["_id"], "status": "running"},
                                     {"$set": {"status": "interrupted", "finished_at": now}})
        run_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.db[RUNS].insert_one({
            "_id": run_id, "source": source, "job": job, "window": window, "status": "running",
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

    # -- the aggregate documents ------------------------------------------------------------

    def replace_documents(self, collection: str, documents: Iterable[dict], batch: int = 1000,
                          on_batch: Callable[[int], None] | None = None) -> int:
        """Write every document by `_id`, replacing any earlier one; returns how many."""
        coll = self.db[collection]
        written, pending = 0, []
        for doc in documents:
            pending.append(doc)
            if len(pending) >= batch:
                written += self._flush(coll, pending, on_batch)
                pending = []
        if pending:
            written += self._flush(coll, pending, on_batch)
        return written

    @staticmethod
    def _flush(coll, docs: list, on_batch) -> int:
        # Most windows are written for the first time: plain inserts are about three times
        # faster than upserts, and only the documents that already exist are then replaced.
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

    def mark_buckets(self, collection: str, window: dict, totals: dict, run_id: str, written_by: str) -> None:
        """Record that every bucket of the window is held at its precision, empty ones too.

        `totals` maps bucket start -> {count, events, documents}. This ledger is what tells a
        bucket with no jobs from a bucket nobody aggregated, for the cleanup and the queries.
        """
        now = utcnow()
        ledger = self.db[buckets_collection(collection)]
        operations = []
        for start in Window(window["precision"], window["start"], window["end"]).buckets():
            tally = totals.get(start, {"count": 0, "events": 0, "documents": 0})
            operations.append(ReplaceOne({"_id": bucket_id(window["precision"], start)}, {
                "precision": window["precision"], "start": start, "end": next_start(start, window["precision"]),
                "state": "held", "run_id": run_id, "written_by": written_by, "updated_at": now, **tally,
            }, upsert=True))
        if operations:
            ledger.bulk_write(operations, ordered=False)

    def remove_stale(self, collection: str, window: dict, run_id: str) -> int:
        """Delete the window's documents that the run `run_id` did not write."""
        coll = self.db[collection]
        # Select by the indexed window alone and filter run_id here: a `$ne` in the query made
        # the embedded server scan the whole collection.
        stale = [doc["_id"] for doc in coll.find({
            "scope.timeframe_precision": window["precision"],
            "scope.start_date": {"$gte": window["start"], "$lt": window["end"]},
        }, {"run_id": 1}) if doc.get("run_id") != run_id]
        removed = 0
        for first in range(0, len(stale), 1000):
            removed += coll.delete_many({"_id": {"$in": stale[first:first + 1000]}}).deleted_count
        return removed


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
