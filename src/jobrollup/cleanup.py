"""Downsampling old tiers: roll fine buckets up into the next coarser tier, then drop them.

Rules (retention per tier in conf [retention]):
  hour -> day            hours older than their retention become days
  day  -> week and month days go only when both their ISO week and their month are held;
                         weeks and months are both built from days, so a week straddling two
                         months is never added into a month (months are never built from weeks)
  week -> (dropped)      weeks older than their retention go once the months they touch are held
  month                  kept for ever by default

Any source that aggregates: the scope keys, counters and metrics come from its definition.

The bucket ledger (`<collection>_buckets`, written by every aggregation) says which buckets of
which tier are held, empty ones included. A coarse bucket is built only from a complete set of
held, consistent fine buckets; written first, checked against the fine totals (jobs, events,
the source's counters, and n and sum of every metric), recorded in the ledger, and only then are the fine buckets
marked `retiring`, their documents deleted and the ledger entries marked `rolled_up`. A kill
at any point leaves every range answerable from some held bucket and nothing counted twice;
the next run finishes the work. When a coarse bucket already exists (an aggregation wrote it
from the raw reports) and disagrees with its fine buckets, the more recent computation wins.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import math
import time
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from . import documents, error_counts
from .sources import Source
from .statistics import merge_into
from .store.mongo import MongoStore, utcnow, view_collection
from .tiers import NESTS_IN, PRECISIONS, Window, floor, next_start
from .views import View, trim_performance

log = logging.getLogger("jobrollup")
PROGRESS_EVERY_S = 10.0
HEARTBEAT_EVERY_S = 5.0
# Coarse documents are written in batches of this many (one insert_many each).
WRITE_BATCH = 10_000
# Fine documents are read by one cursor per chunk of coarse buckets, at most about this many
# (by the ledger) in memory at once, in batches of READ_BATCH per round trip.
CHUNK_DOCUMENTS = 40_000
READ_BATCH = 5_000
# Fine buckets retired by one range delete at most (a heartbeat between two).
RETIRE_BUCKETS = 400

# fine tier -> the coarser tiers it is rolled up into (built from it): the tiers it nests in
ROLLUPS = {fine: coarse for fine, coarse in NESTS_IN.items() if coarse}
# tiers that are only dropped, once the named coarser tiers hold their range
DROP_WHEN_HELD = {"week": ("month",)}

_DURATION = re.compile(r"^\s*(\d+)\s*(hour|day|week|month|year)s?\s*$")


class RetentionError(ValueError):
    pass


def horizon(retention: str, now: dt.datetime) -> dt.datetime | None:
    """The moment before which buckets of a tier are expired; None for "forever"."""
    if retention.strip().lower() in ("forever", "never", "inf", ""):
        return None
    match = _DURATION.match(retention.lower())
    if not match:
        raise RetentionError(f"retention {retention!r}: write e.g. '2 days', '8 weeks', '1 year' or 'forever'")
    amount, unit = int(match[1]), match[2]
    if unit in ("hour", "day", "week"):
        return now - dt.timedelta(**{f"{unit}s": amount})
    months = amount * (12 if unit == "year" else 1)
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    day = min(now.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31,
                        30, 31, 31, 30, 31, 30, 31][month])
    return now.replace(year=year, month=month + 1, day=day)


# -- what is rolled up ---------------------------------------------------------------------

@dataclass(frozen=True)
class Family:
    """One kind of tiered documents with a bucket ledger: a source's aggregates (and their
    views), or its error counts (jobrollup.error_counts). `source` is Source-shaped: its
    collection, ledger, scope keys, counters and metrics are what the cleanup reads."""

    name: str                                   # reports and the summary: "" or "errors"
    source: Source
    writers: tuple[tuple[str, str], ...]        # (journal source, job) of the runs that write it
    views: bool = True                          # has views (jobrollup.views)
    error_counts: bool = False                  # _id, first/last seen and `cluster` as error counts
    # Collections of per-record details kept only as long as the bucket that counts them (the
    # errors' assignments): deleted with the fine buckets the cleanup retires, never rolled up.
    details: tuple[str, ...] = ()

    @classmethod
    def documents(cls, source: Source) -> "Family":
        return cls("", source, ((source.name, "aggregate"),))

    @classmethod
    def errors(cls, source: Source) -> "Family":
        return cls("errors", error_counts.definition(source),
                   ((error_counts.LOCK_SOURCE, error_counts.clustering_job(source)),), views=False, error_counts=True,
                   details=(source.error_assignments_collection,))

    def document_id(self, precision: str, start: dt.datetime, scope: dict, keys: tuple[str, ...]) -> str:
        if self.error_counts:
            return error_counts.document_id(self.source, precision, start, scope)
        return documents.document_id(self.source, precision, start, scope, keys)


# -- pure roll-up ---------------------------------------------------------------------------

def rollup(fine_docs: Iterable[dict], source: Source, precision: str, run_id: str,
           keys: tuple[str, ...] | None = None, family: Family | None = None,
           metrics: tuple[str, ...] | None = None) -> list[dict]:
    """Merge fine documents into documents of `precision`: counts and sums add, extremes extend,
    scope keys keep their values. The `_id`s are those an aggregation at `precision` gives.
    With `keys` and `metrics` (a view's, jobrollup.views), the documents are regrouped on those
    keys alone and keep only those metrics (None: all of them).
    `family` (default: the source's aggregates) says how ids and extra fields are made."""
    family = family or Family.documents(source)
    keys = source.scope_keys if keys is None else keys
    merged: dict[tuple, dict] = {}
    for doc in fine_docs:
        scope = doc["scope"]
        start = floor(scope["start_date"], precision)
        key = (start, *(scope.get(k) for k in keys))
        into = merged.get(key)
        if into is None:
            merged[key] = into = {
                "_id": family.document_id(precision, start, scope, keys),
                "scope": {**{k: scope.get(k) for k in keys}, "start_date": start,
                          "end_date": next_start(start, precision), "timeframe_precision": precision},
                "count": 0, **{c: 0 for c in source.counters}, "run_id": run_id,
            }
            if family.error_counts:
                into["cluster"] = scope.get("cluster")
                into.update({name: doc.get(name) for name in error_counts.EXTREMES})
            else:
                into["performance"] = {}
        into["count"] += doc["count"]
        for c in source.counters:
            into[c] += doc.get(c, 0)
        if family.error_counts:
            for name, pick in error_counts.EXTREMES.items():
                if doc.get(name) is not None:
                    into[name] = doc[name] if into[name] is None else pick(into[name], doc[name])
            continue
        for group, stats_of in trim_performance(doc.get("performance", {}), metrics).items():
            target = into["performance"].setdefault(group, {})
            for metric, stats in stats_of.items():
                target[metric] = merge_into(target.get(metric), stats)
    return list(merged.values())


@dataclass
class Totals:
    """What must be equal between the fine and the coarse documents of one span."""

    count: int = 0
    counters: dict = field(default_factory=lambda: defaultdict(int))   # counter -> total
    metrics: dict = field(default_factory=dict)   # (group, metric) -> [n, sum]

    def add(self, doc: dict, counters: tuple[str, ...]) -> None:
        self.count += doc["count"]
        for c in counters:
            self.counters[c] += doc.get(c, 0)
        for group, metrics in doc.get("performance", {}).items():
            for metric, stats in metrics.items():
                slot = self.metrics.setdefault((group, metric), [0, 0.0])
                slot[0] += stats["n"]
                slot[1] += stats["sum"]

    @classmethod
    def from_sums(cls, sums: dict) -> "Totals":
        """From store.window_totals: {count, counters: {...}, metrics: {(group, metric): [n, sum]}}."""
        made = cls(count=sums["count"])
        made.counters.update(sums["counters"])
        made.metrics = {key: [n, total] for key, (n, total) in sums["metrics"].items() if n or total}
        return made

    def keeping(self, metrics: tuple[str, ...] | None) -> "Totals":
        """These totals with only `metrics` (`group.metric`, a view's; None: all of them)."""
        if metrics is None:
            return self
        return Totals(self.count, self.counters,
                      {key: value for key, value in self.metrics.items() if ".".join(key) in metrics})

    def differences(self, other: "Totals") -> list[str]:
        found = []
        names = sorted(set(self.counters) | set(other.counters))
        if self.count != other.count or any(self.counters[c] != other.counters[c] for c in names):
            found.append(", ".join([f"jobs {self.count} vs {other.count}",
                                    *[f"{c} {self.counters[c]} vs {other.counters[c]}" for c in names]]))
        for key in sorted(set(self.metrics) | set(other.metrics)):
            (n1, s1), (n2, s2) = self.metrics.get(key, (0, 0.0)), other.metrics.get(key, (0, 0.0))
            if n1 != n2 or not math.isclose(s1, s2, rel_tol=1e-9, abs_tol=1e-6):
                found.append(f"{'.'.join(key)}: n {n1} vs {n2}, sum {s1} vs {s2}")
        return found


def totals_of(docs: Iterable[dict], counters: tuple[str, ...]) -> Totals:
    result = Totals()
    for doc in docs:
        result.add(doc, counters)
    return result


# -- the job --------------------------------------------------------------------------------

class VerificationError(RuntimeError):
    """Coarse documents written do not add up to the fine ones: nothing fine was deleted."""


@dataclass
class TierReport:
    fine: str
    built: dict = field(default_factory=lambda: defaultdict(int))       # coarse tier -> buckets built
    built_docs: dict = field(default_factory=lambda: defaultdict(int))  # coarse tier -> documents written
    kept: dict = field(default_factory=lambda: defaultdict(int))        # coarse tier -> buckets already right
    retired: int = 0                                                    # fine buckets rolled up
    deleted: int = 0                                                    # fine documents deleted
    skipped: dict = field(default_factory=lambda: defaultdict(int))     # reason -> coarse buckets
    first: dt.datetime | None = None
    last: dt.datetime | None = None

    def span(self, start: dt.datetime, end: dt.datetime) -> None:
        self.first = start if self.first is None else min(self.first, start)
        self.last = end if self.last is None else max(self.last, end)

    def add(self, other: "TierReport") -> None:
        for mine, theirs in ((self.built, other.built), (self.built_docs, other.built_docs),
                             (self.kept, other.kept), (self.skipped, other.skipped)):
            for key, value in theirs.items():
                mine[key] += value
        self.retired += other.retired
        self.deleted += other.deleted
        if other.first is not None:
            self.span(other.first, other.last)

    def as_dict(self) -> dict:
        return {"fine": self.fine, "built": dict(self.built), "built_documents": dict(self.built_docs),
                "already_held": dict(self.kept), "retired_buckets": self.retired,
                "deleted_documents": self.deleted, "skipped": dict(self.skipped),
                "span": [self.first, self.last]}


class Cleanup:
    """One cleanup run over one source's collection. `dry_run` plans and counts without writing."""

    def __init__(self, store: MongoStore, source: Source, retention: dict[str, str],
                 now: dt.datetime | None = None, dry_run: bool = False, family: Family | None = None):
        self.store, self.dry_run = store, dry_run
        self.origin = source                   # the source asked for: its documents, then its error counts
        self.family = family or Family.documents(source)
        self.source = self.family.source       # Source-shaped: the family's collection, ledger, keys
        self.collection = self.source.collection
        self.now = now or utcnow()
        self.horizons = {tier: horizon(retention.get(tier, "forever"), self.now) for tier in PRECISIONS}
        self.run_id = "dry-run"
        self.reports: dict[str, TierReport] = {}
        self._ledger_cache: dict[str, tuple] = {}      # tier -> (start, end, {bucket start: entry})
        self._live_cache: tuple | None = None           # (start, end, live aggregation runs)
        self._last_heartbeat = time.monotonic()
        self._views: list[str] | None = None

    # The ledger ------------------------------------------------------------------------------

    def _entries(self, precision: str, start: dt.datetime, end: dt.datetime) -> dict[dt.datetime, dict]:
        cached = self._ledger_cache.get(precision)
        if cached is not None and cached[0] <= start and end <= cached[1]:
            return {s: e for s, e in cached[2].items() if start <= s < end}
        return {e["start"]: e for e in self.store.ledger(self.source, precision, start, end)}

    def _coarse_entry(self, precision: str, start: dt.datetime) -> dict | None:
        cached = self._ledger_cache.get(precision)
        if cached is not None and cached[0] <= start < cached[1]:
            return cached[2].get(start)
        return self.store.ledger_entry(self.source, precision, start)

    def prefetch(self, tiers: Iterable[str], start: dt.datetime, end: dt.datetime) -> None:
        """Read the ledger of these tiers over [start, end) and the live aggregations there
        once, instead of once per coarse bucket (one round trip each, the main cost of a run
        over many buckets). Safe while this run lives: an aggregation of a window this run may
        touch refuses to start (store.begin_run), and this run changes only the entries of the
        coarse bucket it is building, which it then drops from the cache."""
        for tier in tiers:
            lo = floor(start, tier)
            self._ledger_cache[tier] = (lo, end, self._entries(tier, lo, end))
        self._live_cache = (start, end, self._live_writers(start, end))

    def forget(self) -> None:
        self._ledger_cache, self._live_cache = {}, None

    def _fine_starts(self, precision: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
        starts, moment = [], start
        while moment < end:
            starts.append(moment)
            moment = next_start(moment, precision)
        return starts

    def _consistent(self, precision: str, entries: dict[dt.datetime, dict], start, end) -> bool:
        """Do the documents of these held buckets match their ledger (no half-written window)?"""
        found = self.store.bucket_tallies(self.collection, Window(precision, start, end))
        for bucket_start, entry in entries.items():
            row = found.get(bucket_start, {"count": 0, "documents": 0, "runs": []})
            if row["count"] != entry["count"] or row["documents"] != entry["documents"] \
                    or set(row["runs"]) - {entry["run_id"]}:
                return False
        return set(found) <= set(entries)

    # Busy windows ----------------------------------------------------------------------------

    def _live_writers(self, start: dt.datetime, end: dt.datetime) -> list[dict]:
        """Live runs writing this family's documents in [start, end) (aggregations, clusterings)."""
        return [run for name, job in self.family.writers for run in self.store.live_runs(name, job, start, end)]

    def _busy(self, start: dt.datetime, end: dt.datetime) -> bool:
        if self._live_cache is not None and self._live_cache[0] <= start and end <= self._live_cache[1]:
            return any(run["window"]["start"] < end and run["window"]["end"] > start for run in self._live_cache[2])
        return bool(self._live_writers(start, end))

    def _consistent_docs(self, entries: dict[dt.datetime, dict], docs: list[dict]) -> bool:
        """`_consistent`, from the fine documents already read for the roll-up (no second pass)."""
        found: dict[dt.datetime, dict] = {}
        for doc in docs:
            row = found.setdefault(doc["scope"]["start_date"], {"count": 0, "documents": 0, "runs": set()})
            row["count"] += doc["count"]
            row["documents"] += 1
            row["runs"].add(doc.get("run_id"))
        for bucket_start, entry in entries.items():
            row = found.get(bucket_start, {"count": 0, "documents": 0, "runs": set()})
            if row["count"] != entry["count"] or row["documents"] != entry["documents"] \
                    or row["runs"] - {entry["run_id"]}:
                return False
        return set(found) <= set(entries)

    # Building coarse buckets -----------------------------------------------------------------

    def ensure(self, fine: str, coarse: str, start: dt.datetime, report: TierReport) -> bool:
        """Make the coarse bucket at `start` held and right; True when it is."""
        decided = self._decide(fine, coarse, start, report)
        if not isinstance(decided, dict):
            return decided
        end = next_start(start, coarse)
        fine_docs = list(self.store.documents(self.collection, Window(fine, start, end)))
        if not self._consistent_docs(decided, fine_docs):
            report.skipped[f"{fine} documents do not match the ledger (re-run the aggregation)"] += 1
            return False
        return self._build(fine, coarse, start, end, report, decided, fine_docs, replacing=False)

    def _decide(self, fine: str, coarse: str, start: dt.datetime, report: TierReport) -> bool | dict:
        """True or False when the coarse bucket needs no building (held and right already, or
        it cannot be built now); otherwise the held fine entries it is to be built from."""
        end = next_start(start, coarse)
        fine_entries = self._entries(fine, start, end)
        held = {s: e for s, e in fine_entries.items() if e["state"] == "held"}
        complete = len(held) == len(self._fine_starts(fine, start, end))
        coarse_entry = self._coarse_entry(coarse, start)
        coarse_held = coarse_entry is not None and coarse_entry["state"] == "held"
        if self._busy(start, end):
            report.skipped["a clustering run is writing it" if self.family.error_counts
                           else "an aggregation is writing it"] += 1
            return False
        if coarse_held:
            if not complete or not self._consistent(fine, held, start, end):
                return True  # fine partly rolled up already: the coarse bucket was checked then
            tallied = ("count", *self.source.counters)
            agrees = all(sum(e.get(k, 0) for e in held.values()) == coarse_entry.get(k, 0) for k in tallied)
            newer_fine = max(e["run_id"] for e in held.values()) > coarse_entry["run_id"]
            if agrees or not newer_fine:
                report.kept[coarse] += 1
                return True
        elif not complete:
            report.skipped[f"not every {fine} of the {coarse} is held"] += 1
            return False
        return held

    # The batched path: every fine document read once, coarse documents written in bulk -------

    def ensure_batched(self, fine: str, targets: list[tuple[str, dt.datetime]], report: TierReport) \
            -> list[tuple[tuple[str, dt.datetime], bool]]:
        """`ensure` for many coarse buckets at once. The fine documents of a chunk of targets are
        read by one cursor (a day is read once for its week and its month), merged in memory,
        and each coarse tier's new documents and views are written by large unordered inserts
        into windows emptied by one range delete per run of neighbouring buckets, checked by one
        server-side sum per run, and recorded by one ledger write per run. Kill-safe as
        `ensure`: the ledger entry of a coarse bucket is written only after its documents and
        views are in and checked; until then no query reads them and the next run empties them.
        A coarse bucket already held but older than its fine buckets is retired, then built."""
        decided: dict[tuple, bool] = {}
        to_build: list[tuple[str, dt.datetime, dict]] = []
        for coarse, start in targets:
            verdict = self._decide(fine, coarse, start, report)
            if isinstance(verdict, dict):
                entry = self._coarse_entry(coarse, start)
                if entry is not None and entry["state"] == "held" and not self.dry_run:
                    # Held, but older than its fine buckets: dropped first as a fine bucket is
                    # (retiring, deleted, rolled up), so that no query reads it half rewritten;
                    # its fine buckets answer meanwhile, and a kill is finished by the next run.
                    self.retire(coarse, [start], TierReport(coarse))
                    self._ledger_cache.get(coarse, (None, None, {}))[2].pop(start, None)
                to_build.append((coarse, start, verdict))
            else:
                decided[(coarse, start)] = verdict
        chunk: list = []
        for target in sorted(to_build, key=lambda t: (t[1], t[0])):
            if chunk and sum(e["documents"] for _, _, held in chunk for e in held.values()) \
                    + sum(e["documents"] for e in target[2].values()) > CHUNK_DOCUMENTS:
                decided.update(self._build_chunk(fine, chunk, report))
                chunk = []
            chunk.append(target)
        if chunk:
            decided.update(self._build_chunk(fine, chunk, report))
        return [(target, decided[target]) for target in targets]

    def _build_chunk(self, fine: str, chunk: list[tuple[str, dt.datetime, dict]], report: TierReport) -> dict:
        lo = min(start for _, start, _ in chunk)
        hi = max(next_start(start, coarse) for coarse, start, _ in chunk)
        by_start: dict[dt.datetime, list[dict]] = defaultdict(list)
        for doc in self.store.documents(self.collection, Window(fine, lo, hi), batch_size=READ_BATCH):
            by_start[doc["scope"]["start_date"]].append(doc)
        outcome: dict[tuple, bool] = {}
        built: dict[str, dict[dt.datetime, tuple]] = defaultdict(dict)   # coarse -> start -> (docs, totals, held)
        for coarse, start, held in chunk:
            end = next_start(start, coarse)
            fine_docs = [d for s in self._fine_starts(fine, start, end) for d in by_start.get(s, ())]
            if not self._consistent_docs(held, fine_docs):
                report.skipped[f"{fine} documents do not match the ledger (re-run the aggregation)"] += 1
                outcome[(coarse, start)] = False
                continue
            coarse_docs = rollup(fine_docs, self.source, coarse, self.run_id, family=self.family)
            fine_totals = totals_of(fine_docs, self.source.counters)
            problems = fine_totals.differences(totals_of(coarse_docs, self.source.counters))
            if problems:
                raise VerificationError(f"{coarse} {start:%Y-%m-%d} does not add up to its {fine}s: {problems[0]}")
            built[coarse][start] = (coarse_docs, fine_totals, held)
            report.built[coarse] += 1
            report.built_docs[coarse] += len(coarse_docs)
            report.span(start, end)
            outcome[(coarse, start)] = True
        del by_start
        if not self.dry_run:
            for coarse, buckets in built.items():
                for run in _contiguous(sorted(buckets), coarse):
                    self._write_run(coarse, {start: buckets[start] for start in run})
        return outcome

    def _write_run(self, coarse: str, buckets: dict[dt.datetime, tuple]) -> None:
        """Write the documents and views of neighbouring coarse buckets no query reads yet,
        check them, and record them held."""
        starts = sorted(buckets)
        window = Window(coarse, starts[0], next_start(starts[-1], coarse))
        counters = self.source.counters
        wanted = fine_entries_views(e for _, _, held in buckets.values() for e in held.values()) \
            if self.family.views else {}
        # left by a run cut short: emptied with one range delete each (nothing to do, usually)
        for collection in (self.collection, *(view_collection(self.collection, name) for name in wanted)):
            self.store.delete_documents(collection, window)
        self.store.replace_documents(self.collection, (d for docs, _, _ in buckets.values() for d in docs),
                                     batch=WRITE_BATCH)
        sums = self.store.bucket_totals(self.collection, window, self.source)
        for start, (_, fine_totals, _) in buckets.items():
            found = Totals.from_sums(sums.get(start, {"count": 0, "counters": {}, "metrics": {}}))
            problems = fine_totals.differences(found)
            if problems:
                raise VerificationError(f"{coarse} {start:%Y-%m-%d} does not add up to its fine buckets: {problems[0]}")
        written_views = {}
        for name, view in wanted.items():
            per_bucket, view_docs = {}, []
            for start, (docs, fine_totals, _) in buckets.items():
                regrouped = rollup(docs, self.source, coarse, self.run_id, view.keys, metrics=view.metrics)
                problems = fine_totals.keeping(view.metrics).differences(totals_of(regrouped, counters))
                if problems:
                    raise VerificationError(f"view {name} of {coarse} {start:%Y-%m-%d} does not add up to its "
                                            f"documents: {problems[0]}")
                per_bucket[start] = len(regrouped)
                view_docs += regrouped
            written = self.store.replace_documents(view_collection(self.collection, name), view_docs,
                                                   batch=WRITE_BATCH)
            if written != len(view_docs):
                raise VerificationError(f"view {name}: {written} of {len(view_docs)} documents written")
            written_views[name] = (view, per_bucket)
        tallies = {start: {"count": sum(d["count"] for d in docs), **{c: sum(d[c] for d in docs) for c in counters},
                           "documents": len(docs)} for start, (docs, _, _) in buckets.items()}
        self.store.mark_buckets(self.source, window, tallies, self.run_id, "cleanup", written_views)
        cached = self._ledger_cache.get(coarse)
        for start, tally in tallies.items():
            if cached is not None:   # what mark_buckets wrote, for the rest of this pass
                cached[2][start] = {"precision": coarse, "start": start, "end": next_start(start, coarse),
                                    "state": "held", "run_id": self.run_id, **tally}
        self._heartbeat()

    def _build(self, fine: str, coarse: str, start, end, report: TierReport, held: dict,
               fine_docs: list[dict] | None = None, replacing: bool = True) -> bool:
        """Write the coarse bucket from its fine documents, check it, record it held.

        `replacing`: the coarse bucket is held (an aggregation wrote it), so its documents are
        replaced in place and the stale ones removed after: it stays answerable throughout.
        Otherwise no query reads it, and its window is emptied first so that the documents go
        in as plain inserts (about three times faster than replacements)."""
        if fine_docs is None:
            fine_docs = list(self.store.documents(self.collection, Window(fine, start, end)))
        coarse_docs = rollup(fine_docs, self.source, coarse, self.run_id, family=self.family)
        report.built[coarse] += 1
        report.built_docs[coarse] += len(coarse_docs)
        report.span(start, end)
        if self.dry_run:
            return True
        window = Window(coarse, start, end)
        counters = self.source.counters
        fine_totals = totals_of(fine_docs, counters)
        self._write_checked(self.collection, window, coarse_docs, fine_totals, replacing,
                            f"{coarse} {start:%Y-%m-%d} does not add up to its {fine}s")
        tally = {start: {"count": sum(d["count"] for d in coarse_docs),
                         **{c: sum(d[c] for d in coarse_docs) for c in counters}, "documents": len(coarse_docs)}}
        written_views = self._build_views(fine_entries_views(held.values()),
                                          coarse_docs, window, fine_totals, replacing)
        self.store.mark_buckets(self.source, window, tally, self.run_id, "cleanup", written_views)
        cached = self._ledger_cache.get(coarse)
        if cached is not None:   # what mark_buckets wrote, for the rest of this pass
            cached[2][start] = {"precision": coarse, "start": start, "end": end, "state": "held",
                                "run_id": self.run_id, **tally[start]}
        self._heartbeat()
        return True

    def _write_checked(self, collection: str, window: Window, docs: list[dict], want: "Totals",
                       replacing: bool, problem: str) -> None:
        """Write a coarse bucket's documents and check what MongoDB then holds against the
        totals of the fine ones (summed by the server: nothing is read back but the sums)."""
        if replacing:
            self.store.replace_documents(collection, docs, batch=WRITE_BATCH)
            self.store.remove_stale(collection, window, self.run_id)
        else:
            if self.store.has_documents(collection, window):   # left by a run cut short
                self.store.delete_documents(collection, window)
            self.store.replace_documents(collection, docs, batch=WRITE_BATCH)
        problems = want.differences(Totals.from_sums(self.store.window_totals(collection, window, self.source)))
        if problems:
            raise VerificationError(f"{problem}: {problems[0]}")

    def _heartbeat(self) -> None:
        """Show life in the journal, at most every few seconds (one round trip each)."""
        if time.monotonic() - self._last_heartbeat > HEARTBEAT_EVERY_S:
            self.store.update_run(self.run_id)
            self._last_heartbeat = time.monotonic()

    def _build_views(self, wanted: dict[str, View], coarse_docs: list[dict], window: Window,
                     fine_totals: "Totals", replacing: bool) -> dict:
        """The coarse bucket's views, regrouped from its documents (already checked against
        the fine ones), written and checked in turn; name -> (View, {start: documents})."""
        out = {}
        for name, view in wanted.items():
            collection = view_collection(self.collection, name)
            view_docs = rollup(coarse_docs, self.source, window.precision, self.run_id, view.keys,
                               metrics=view.metrics)
            self._write_checked(collection, window, view_docs, fine_totals.keeping(view.metrics), replacing,
                                    f"view {name} of {window.precision} {window.start:%Y-%m-%d} does not add up "
                                    f"to its documents")
            out[name] = (view, {window.start: len(view_docs)})
        return out

    # Retiring fine buckets -------------------------------------------------------------------

    def retire(self, fine: str, starts: list[dt.datetime], report: TierReport) -> None:
        """Drop the fine buckets at `starts` (their coarse buckets are held and checked): per run
        of at most RETIRE_BUCKETS neighbouring buckets, one ledger update, one range delete per
        collection (documents, each view) and one ledger update."""
        for run in _contiguous(sorted(starts), fine):
            for first in range(0, len(run), RETIRE_BUCKETS):
                self._retire_run(fine, run[first:first + RETIRE_BUCKETS], report)

    def _retire_run(self, fine: str, run: list[dt.datetime], report: TierReport) -> None:
        start, end = run[0], next_start(run[-1], fine)
        window = Window(fine, start, end)
        report.retired += len(run)
        report.span(start, end)
        if self.dry_run:
            report.deleted += self.store.count_documents(self.collection, window)
            return
        # Marked first: a kill after this point leaves buckets that no query counts and
        # that the next run finishes deleting.
        self.store.set_ledger_state_between(self.source, fine, start, end, "retiring", retired_by=self.run_id)
        report.deleted += self.store.delete_documents(self.collection, window)
        if self._views is None:
            self._views = self.store.view_names(self.collection) if self.family.views else []
        for name in self._views:
            self.store.delete_documents(view_collection(self.collection, name), window)
        for name in self.family.details:
            self.store.delete_documents(name, window)
        self.store.set_ledger_state_between(self.source, fine, start, end, "rolled_up", updated_at=utcnow())
        self.store.update_run(self.run_id)

    # The whole run ---------------------------------------------------------------------------

    def run(self) -> dict[str, TierReport]:
        if not self.dry_run:
            # The newest moment this run may touch: aggregations of later days never wait for it.
            reach = max((h for h in self.horizons.values() if h is not None), default=dt.datetime(1970, 1, 1))
            self.run_id = self.store.begin_run(self.source.name, "cleanup", Window("*", dt.datetime(1970, 1, 1), reach),
                                               {"retention_horizons": self.horizons})
        try:
            self._clean()
            if self.origin.error_scope and self.family.name == "":
                # The same rules for the source's error counts (bin/cluster-errors), in this run.
                errors = self.for_family(Family.errors(self.origin))
                errors._clean()
                self.reports.update({f"{errors.collection} {fine}": r for fine, r in errors.reports.items()
                                     if r.built or r.kept or r.retired or r.skipped})
        except BaseException as error:
            if not self.dry_run:
                status = "failed" if isinstance(error, Exception) else "interrupted"
                self.store.finish_run(self.run_id, status, error=str(error)[:500],
                                      tiers={k: r.as_dict() for k, r in self.reports.items()})
            raise
        if not self.dry_run:
            self.store.finish_run(self.run_id, "succeeded", tiers={k: r.as_dict() for k, r in self.reports.items()})
        return self.reports

    def _clean(self) -> None:
        self._finish_retiring()
        for fine, coarse_tiers in ROLLUPS.items():
            self._roll(fine, coarse_tiers)
        for tier, covering in DROP_WHEN_HELD.items():
            self._drop(tier, covering)

    def for_family(self, family: Family) -> "Cleanup":
        """This run (same store, run id, horizons) over another family of documents."""
        other = copy.copy(self)
        other.family, other.source, other.collection = family, family.source, family.source.collection
        other.reports, other._ledger_cache, other._live_cache, other._views = {}, {}, None, None
        return other

    def _finish_retiring(self) -> None:
        """A run killed while deleting fine documents left them `retiring`: finish them first."""
        retiring: dict[str, list] = defaultdict(list)
        for entry in self.store.ledger_in_state(self.source, "retiring"):
            retiring[entry["precision"]].append(entry["start"])
        for fine, starts in retiring.items():
            self.retire(fine, starts, self._report(fine))

    def _report(self, fine: str) -> TierReport:
        return self.reports.setdefault(fine, TierReport(fine))

    def _roll(self, fine: str, coarse_tiers: tuple[str, ...]) -> None:
        limit = self.horizons[fine]
        if limit is None:
            return
        report = self._report(fine)
        expired = [e["start"] for e in self.store.ledger_in_state(self.source, "held", fine, ending_by=limit)]
        targets = [(coarse, start) for coarse in coarse_tiers
                   for start in sorted({floor(s, coarse) for s in expired})
                   if next_start(start, coarse) <= limit]
        ready: dict[str, set] = {coarse: set() for coarse in coarse_tiers}
        for (coarse, start), ok in self.ensure_all(fine, targets, report):
            if ok:
                ready[coarse].add(start)
        self.retire(fine, [start for start in expired
                           if all(floor(start, coarse) in ready[coarse] for coarse in coarse_tiers)], report)

    def ensure_all(self, fine: str, targets: list[tuple[str, dt.datetime]], report: TierReport):
        """Ensure each (coarse tier, bucket start); the buckets are independent of each other,
        so jobs/cleanup.py spreads them over Spark executors (see SparkCleanup)."""
        results, shown = [], time.monotonic()
        if targets:
            self.prefetch([fine, *{c for c, _ in targets}], min(s for _, s in targets),
                          max(next_start(s, c) for c, s in targets))
        try:
            # by month of the coarse buckets, so that progress shows
            by_month: dict[dt.datetime, list] = defaultdict(list)
            for coarse, start in targets:
                by_month[floor(start, "month")].append((coarse, start))
            done = 0
            for month in sorted(by_month):
                results += self.ensure_batched(fine, by_month[month], report)
                done += len(by_month[month])
                if time.monotonic() - shown > PROGRESS_EVERY_S or done == len(targets):
                    log.info("%s -> %s: %d of %d buckets checked, %d built", fine,
                             "/".join(sorted({c for c, _ in targets})), done, len(targets), sum(report.built.values()))
                    shown = time.monotonic()
        finally:
            self.forget()
        return results

    def _drop(self, tier: str, covering: tuple[str, ...]) -> None:
        limit = self.horizons[tier]
        if limit is None:
            return
        report = self._report(tier)
        droppable = []
        expired = self.store.ledger_in_state(self.source, "held", tier, ending_by=limit)
        if expired:
            self.prefetch(covering, expired[0]["start"], max(e["end"] for e in expired))
        for entry in expired:
            held = True
            for coarse in covering:
                start = floor(entry["start"], coarse)
                while start < entry["end"]:  # every coarse bucket the week touches
                    coarse_entry = self._coarse_entry(coarse, start)
                    held = held and coarse_entry is not None and coarse_entry["state"] == "held"
                    start = next_start(start, coarse)
            if held:
                droppable.append(entry["start"])
            else:
                report.skipped[f"a {'/'.join(covering)} it touches is not held"] += 1
        self.forget()
        self.retire(tier, droppable, report)


def fine_entries_views(entries: Iterable[dict]) -> dict[str, View]:
    """The views a coarse bucket gets: every view some fine bucket holds (the coarse views are
    regrouped from the coarse documents, so a fine bucket without a view does not stop it).
    A name defined with other keys or metrics in another fine bucket is left out: which would
    it mean?"""
    found: dict[str, set] = defaultdict(set)
    for entry in entries:
        for name, held in (entry.get("views") or {}).items():
            found[name].add(View.from_entry(name, held))
    return {name: next(iter(defined)) for name, defined in sorted(found.items()) if len(defined) == 1}


def _contiguous(starts: list[dt.datetime], precision: str) -> list[list[dt.datetime]]:
    """Split sorted bucket starts into runs of adjacent buckets (each deleted by one range)."""
    runs: list[list[dt.datetime]] = []
    for start in starts:
        if runs and next_start(runs[-1][-1], precision) == start:
            runs[-1].append(start)
        else:
            runs.append([start])
    return runs


def summary(reports: dict[str, TierReport], dry_run: bool, run_id: str) -> str:
    verb = "would" if dry_run else "did"
    lines = [f"jobrollup cleanup ({'dry run: nothing written' if dry_run else 'run ' + run_id})"]
    for name, r in reports.items():
        fine = r.fine
        built = ", ".join(f"{n} {tier} bucket(s) ({r.built_docs[tier]:,} documents)" for tier, n in r.built.items()) or "none"
        kept = ", ".join(f"{n} {tier}" for tier, n in r.kept.items()) or "none"
        span = f"{r.first:%Y-%m-%d %H:%M} .. {r.last:%Y-%m-%d %H:%M}" if r.first else "-"
        lines.append(f"  {name:<6} {verb} build {built}; already held: {kept}")
        lines.append(f"         {verb} retire {r.retired:,} {fine} bucket(s), deleting {r.deleted:,} documents; span {span}")
        for reason, n in r.skipped.items():
            lines.append(f"         skipped {n} bucket(s): {reason}")
    if len(lines) == 1:
        lines.append("  nothing has expired")
    return "\n".join(lines)


# -- spread over Spark executors (jobs/cleanup.py) -------------------------------------------

def spark_plan(source: str, database: str, retention: dict, now: dt.datetime | None, dry_run: bool,
               timeout_ms: int) -> str:
    """What bin/cleanup --spark hands to jobs/cleanup.py (jobrollup.spark.cleanup_job), as JSON."""
    return json.dumps({"source": source, "database": database, "retention": retention,
                       "now": now.isoformat() if now else None, "dry_run": dry_run, "mongo_timeout_ms": timeout_ms})


class SparkCleanup(Cleanup):
    """The same cleanup, with the coarse buckets of each tier built in parallel by Spark
    executors: each task opens its own MongoDB connection (executors need pymongo; see the
    README on shipping an environment archive). Retiring stays on the driver."""

    def __init__(self, spark, uri: str, database: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spark, self.uri, self.database = spark, uri, database

    def ensure_all(self, fine, targets, report):
        if not targets:
            return []
        settings = (self.uri, self.database, self.origin.name, self.family.name, self.run_id, self.dry_run, self.now)
        slices = min(len(targets), self.spark.sparkContext.defaultParallelism * 4)
        results = (self.spark.sparkContext.parallelize(targets, slices)
                   .mapPartitions(lambda part: _ensure_partition(settings, fine, list(part)))
                   .collect())
        outcome = []
        for target, ok, partial in results:
            report.add(partial)
            outcome.append((target, ok))
        return outcome


def _ensure_partition(settings, fine: str, targets: list):
    from . import sources
    uri, database, source, family, run_id, dry_run, now = settings
    store = MongoStore(uri, database)
    origin = sources.get(source)
    job = Cleanup(store, origin, {}, now=now, dry_run=dry_run,
                  family=Family.errors(origin) if family == "errors" else None)
    job.run_id = run_id
    try:
        for coarse, start in targets:
            partial = TierReport(fine)
            yield (coarse, start), job.ensure(fine, coarse, start, partial), partial
    finally:
        store.close()
