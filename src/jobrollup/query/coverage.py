"""Which held buckets answer a span: one tier per sub-range, never a range twice (pure)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from ..tiers import PRECISIONS, ceil, floor, next_start, sums_into
from .question import RANK, TIME_PREFIX, Query, QueryError, _show

# -- which buckets answer: the plan ------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    precision: str
    start: dt.datetime
    end: dt.datetime
    documents: int = 1   # documents the ledger says it holds (0: held, no jobs)
    # the views it holds, as the ledger says: (jobrollup.views.View, documents) (jobrollup.query.views)
    views: tuple = field(default=(), compare=False)
    written_at: dt.datetime | None = field(default=None, compare=False)   # the ledger's updated_at


@dataclass(frozen=True)
class Segment:
    """A contiguous sub-range answered from one tier."""

    precision: str
    start: dt.datetime
    end: dt.datetime
    buckets: int
    documents: int


@dataclass
class Coverage:
    asked: tuple[dt.datetime, dt.datetime]
    span: tuple[dt.datetime, dt.datetime]          # what is answered, widened to whole buckets
    segments: list[Segment]
    unknown: list[tuple[dt.datetime, dt.datetime]]  # inside the span, held by no tier
    notes: list[str] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)  # the held buckets used, in time order


def allowed_tiers(time_axis: str | None) -> tuple[str, ...]:
    if time_axis is None:
        return PRECISIONS
    return tuple(t for t in PRECISIONS if time_axis in sums_into(t))


def _seconds(delta: dt.timedelta) -> float:
    return delta.total_seconds()


def superseded(buckets: list[Bucket], start: dt.datetime, end: dt.datetime) -> set[tuple[str, dt.datetime]]:
    """(precision, start) of the finer buckets that a coarser bucket inside [start, end) was
    written after (the ledger's `updated_at`): the coarser one should answer for them.

    Two tiers hold the same range when an aggregation ran at both precisions, or while the
    cleanup rolls fine buckets up. The one written last saw the newest input, and a coarser
    bucket reads far fewer documents (a day's site view instead of 24 hours of it). If any
    finer bucket inside it is newer, the finer ones are preferred, as before. Buckets without
    a time are never superseded.
    """
    by_tier: dict[str, list[Bucket]] = defaultdict(list)
    for b in sorted(buckets, key=lambda b: b.start):
        by_tier[b.precision].append(b)
    starts = {tier: [b.start for b in held] for tier, held in by_tier.items()}
    out: set[tuple[str, dt.datetime]] = set()
    for coarse in buckets:
        if coarse.written_at is None or coarse.start < start or coarse.end > end:
            continue
        inside = []
        for tier, held in by_tier.items():
            if RANK[tier] < RANK[coarse.precision]:
                first, last = bisect_left(starts[tier], coarse.start), bisect_left(starts[tier], coarse.end)
                inside += [b for b in held[first:last] if b.end <= coarse.end]
        if inside and all(b.written_at is not None and b.written_at <= coarse.written_at for b in inside):
            out.update((b.precision, b.start) for b in inside)
    return out


def cover(buckets: Iterable[Bucket], start: dt.datetime, end: dt.datetime, *, widen: bool) \
        -> tuple[list[Bucket], list[tuple[dt.datetime, dt.datetime]]]:
    """Non-overlapping held buckets answering [start, end), and the gaps left.

    A finer bucket `superseded` by a newer coarser one costs more than any tier, so the coarser
    one answers wherever it can be used without counting a range twice.

    A shortest path over the bucket boundaries: each bucket is an edge start -> end, each stretch
    between two neighbouring boundaries inside the span a gap edge. The cost, compared in order:
    seconds of the span left unanswered, seconds answered outside the span (only with `widen`:
    buckets crossing the span's ends), then seconds times the tier's rank (finer tiers first).
    """
    candidates = [b for b in buckets if b.start < end and b.end > start]
    if not widen:
        candidates = [b for b in candidates if b.start >= start and b.end <= end]
    points = sorted({start, end} | {b.start for b in candidates} | {b.end for b in candidates})
    older = superseded(candidates, start, end)
    rank = lambda b: len(RANK) if (b.precision, b.start) in older else RANK[b.precision]
    inside = [p for p in points if start <= p <= end]
    next_inside = dict(zip(inside, inside[1:]))
    from_point = defaultdict(list)
    for b in candidates:
        from_point[b.start].append(b)
    best: dict[dt.datetime, tuple[tuple, dt.datetime | None, Bucket | None]] = {}
    for p in points:
        if p <= start:  # starts of buckets crossing the span's start, and the start itself
            best[p] = ((0.0, _seconds(start - p), 0.0), None, None)
    for p in points:
        if p not in best:
            continue
        cost = best[p][0]
        edges = [(b.end, (cost[0], cost[1], cost[2] + _seconds(b.end - b.start) * rank(b)), b)
                 for b in from_point[p]]
        if p in next_inside:
            q = next_inside[p]
            edges.append((q, (cost[0] + _seconds(q - p), cost[1], cost[2]), None))
        for q, c, b in edges:
            if q not in best or c < best[q][0]:
                best[q] = (c, p, b)
    sinks = [(best[q][0][0], best[q][0][1] + _seconds(q - end), best[q][0][2], q) for q in points
             if q >= end and q in best]
    q = min(sinks)[3]
    chosen, gaps = [], []
    while best[q][1] is not None:
        _, p, b = best[q]
        if b is None:
            if gaps and gaps[-1][0] == q:
                gaps[-1] = (p, gaps[-1][1])
            else:
                gaps.append((p, q))
        else:
            chosen.append(b)
        q = p
    return chosen[::-1], gaps[::-1]


def segments_of(chosen: list[Bucket], max_documents: int | None = None) -> list[Segment]:
    """Neighbouring buckets of one tier as one sub-range; with `max_documents`, a sub-range
    holds at most that many documents (per the ledger) unless one bucket alone holds more."""
    out: list[Segment] = []
    for b in chosen:
        last = out[-1] if out else None
        if last and last.precision == b.precision and last.end == b.start and \
                (max_documents is None or last.documents + b.documents <= max_documents or last.documents == 0):
            out[-1] = Segment(b.precision, last.start, b.end, last.buckets + 1, last.documents + b.documents)
        else:
            out.append(Segment(b.precision, b.start, b.end, 1, b.documents))
    return out


# One pipeline reads at most about this many documents (by the ledger): a long span runs as
# several pipelines whose results merge exactly. It bounds what the server holds at once
# (SecantusDB materialises a pipeline's input: a year of day documents in one pipeline took
# 16 GB and was killed) and costs a real MongoDB only a few round trips.
MAX_DOCUMENTS_PER_PIPELINE = 20_000


def pipeline_ranges(coverage: Coverage, max_documents: int = MAX_DOCUMENTS_PER_PIPELINE) -> list[Segment]:
    """The sub-ranges to run one pipeline each on; empty held buckets need none."""
    return [s for s in segments_of(coverage.buckets, max_documents) if s.documents > 0]


def plan_coverage(query: Query, buckets: Iterable[Bucket], start: dt.datetime | None = None) -> Coverage:
    """Which tier answers which sub-range of the query's span; refuses what cannot be exact."""
    buckets = list(buckets)
    begin = query.start if start is None else start
    asked = (begin, query.end)
    lo, hi = asked
    notes = []
    axis = query.time_axis
    if axis:
        lo, hi = floor(lo, axis), ceil(hi, axis)
        if (lo, hi) != asked:
            if query.partial == "refuse":
                raise QueryError(
                    f"the span {_show(asked[0])} .. {_show(asked[1])} does not hold whole {axis}s of the time axis: "
                    f"use {_show(lo)} .. {_show(hi)}, or let the span widen (drop --exact)")
            notes.append(f"span widened to whole {axis}s of the time axis: {_show(lo)} .. {_show(hi)}")
    usable = [b for b in buckets if b.precision in allowed_tiers(axis)]
    chosen, gaps = cover(usable, lo, hi, widen=query.partial == "widen")
    unknown, overlapping = [], []
    for g0, g1 in gaps:
        blocking = sorted((b for b in buckets if b.start < g1 and b.end > g0), key=lambda b: (RANK[b.precision], b.start))
        coarse = sorted({b.precision for b in blocking if b.precision not in allowed_tiers(axis)}, key=RANK.get)
        if axis and coarse:
            raise QueryError(
                f"{TIME_PREFIX}{axis} is finer than the data: {_show(g0)} .. {_show(g1)} is held only as "
                f"{' and '.join(coarse)} buckets, which cannot be cut into {axis}s: use "
                f"{' or '.join(TIME_PREFIX + c for c in coarse)}, or a span held by {'/'.join(allowed_tiers(axis))} buckets")
        if blocking and query.partial == "refuse":
            b = blocking[0]
            raise QueryError(
                f"{_show(g0)} .. {_show(g1)} is held only in the {b.precision} bucket "
                f"{_show(b.start)} .. {_show(b.end)}, which reaches past the span and cannot be split: "
                f"use a span of whole buckets (e.g. from {_show(b.start)} or to {_show(b.end)}), or drop --exact to widen")
        if blocking:  # held buckets overlapping each other in a way no choice can use without double counting
            overlapping.append((g0, g1))
        unknown.append((g0, g1))
    segments = segments_of(chosen)
    span = (min([lo] + [s.start for s in segments]), max([hi] + [s.end for s in segments]))
    if span[0] < lo or span[1] > hi:
        crossing = [s for s in segments if s.start < lo or s.end > hi]
        notes.append(f"span widened to whole buckets: {_show(span[0])} .. {_show(span[1])} "
                     f"({', '.join(sorted({s.precision for s in crossing}))} buckets cannot be split)")
    for g0, g1 in unknown:
        if (g0, g1) in overlapping:
            notes.append(f"unknown: {_show(g0)} .. {_show(g1)} is left out: its held buckets overlap each other "
                         "and none can be used without counting a range twice (a cleanup half-way? run bin/cleanup)")
        else:
            notes.append(f"unknown: {_show(g0)} .. {_show(g1)} is held by no tier (not aggregated yet, or deleted): "
                         "not counted, not zero")
    return Coverage(asked=asked, span=span, segments=segments, unknown=unknown, notes=notes, buckets=chosen)


def axis_buckets(coverage: Coverage, axis: str) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """(axis buckets wholly held, axis buckets partly held) over the coverage's segments."""
    known: dict[dt.datetime, float] = defaultdict(float)
    for s in coverage.segments:
        moment = s.start
        while moment < s.end:
            bucket = floor(moment, axis)
            stop = min(next_start(bucket, axis), s.end)
            known[bucket] += _seconds(stop - moment)
            moment = stop
    whole, partial = [], []
    for bucket, seconds in sorted(known.items()):
        (whole if seconds >= _seconds(next_start(bucket, axis) - bucket) else partial).append(bucket)
    return whole, partial
