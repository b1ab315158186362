"""Error-cluster questions (bin/query --errors): clusters ranked by their errors in a span."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from .. import error_counts, sources
from ..tiers import PRECISIONS, Window
from .answer import held_buckets
from .coverage import cover, segments_of
from .question import _WHERE, Filter, QueryError, _naive, _show, parse_moment

if TYPE_CHECKING:   # imported where the frame is made: bin/query's other answers never load pandas
    import pandas as pd

# -- error clusters (bin/query --errors) -------------------------------------------------------

def error_keys(source: str) -> tuple[str, ...]:
    """The keys errors of `source` are counted by (its definition's error_scope)."""
    try:
        definition = sources.get(source)
    except ValueError as error:
        raise QueryError(str(error)) from None
    if not definition.error_scope:
        raise QueryError(f"source {source!r} has no error clusters")
    return definition.error_scope


def parse_error_where(text: str, source: str) -> Filter:
    """A filter on an error count's scope: the keys of its source, or `cluster`. Values are
    compared as text (exit codes are stored as the reports wrote them)."""
    keys = error_keys(source) + ("cluster",)
    match = _WHERE.match(text)
    if not match:
        raise QueryError(f"filter {text!r}: write KEY=VALUE[,VALUE...], KEY!=VALUE[,...], KEY~REGEX or KEY!~REGEX "
                         f"with KEY one of {', '.join(keys)}")
    key = next((k for k in keys if k.lower() == match[1].strip().lower()), None)
    if key is None:
        raise QueryError(f"unknown key {match[1]!r} for {source} errors: choose one of {', '.join(keys)}")
    op = "=" if match[2] == "==" else match[2]
    rest = match[3]
    if op in ("~", "!~"):
        try:
            re.compile(rest)
        except re.error as error:
            raise QueryError(f"invalid regular expression {rest!r} in filter {text!r}: {error}") from None
        return Filter(key, op, (rest,))
    values = tuple(None if v.strip().lower() == "null" else v.strip() for v in rest.split(","))
    if any(v == "" for v in values):
        raise QueryError(f"filter {text!r}: an empty value (write null for a missing value)")
    return Filter(key, op, values)


def _holds(f: Filter, value) -> bool:
    text = None if value is None else str(value)
    if f.op == "=":
        return text in f.values
    if f.op == "!=":
        return text not in f.values
    found = text is not None and re.search(f.values[0], text) is not None
    return found if f.op == "~" else not found


def error_windows(store, source: str, first: dt.datetime, last: dt.datetime, precision: str | None) \
        -> tuple[list[Window], tuple[dt.datetime, dt.datetime], list[str], list[tuple]]:
    """Which `<source>_errors` documents answer [first, last): (windows to read, the span they
    answer, notes, unknown ranges). Across tiers as the aggregates are answered (the ledger of
    the counts: each sub-range from the finest held bucket, never twice, widened to whole
    buckets); one tier only when `precision` is given; the day tier, as before counts had a
    ledger, when no bucket of it is held at all."""
    counts = error_counts.definition(sources.get(source))
    if precision is None and store.earliest_held(counts) is None:
        return [Window("day", first, last)], (first, last), [
            f"no ledger of {counts.collection}: day counts read as they are (re-run bin/cluster-errors "
            "to record its buckets)"], []
    if precision is not None:
        return [Window(precision, first, last)], (first, last), [], []
    chosen, gaps = cover(held_buckets(store, counts, first, last), first, last, widen=True)
    span = (min([first] + [b.start for b in chosen]), max([last] + [b.end for b in chosen]))
    notes = []
    if span != (first, last):
        notes.append(f"span widened to whole buckets: {_show(span[0])} .. {_show(span[1])}")
    notes += [f"unknown: {_show(g0)} .. {_show(g1)} is held by no tier of {counts.collection} (not clustered yet, "
              "or deleted): not counted, not zero" for g0, g1 in gaps]
    windows = [Window(s.precision, s.start, s.end) for s in segments_of(chosen) if s.documents > 0]
    return windows, span, notes, gaps


def error_clusters(store, *, source: str = "fwjr", start="7 days ago", end="now", where=(), by=(),
                   precision: str | None = None, now: dt.datetime | None = None) -> pd.DataFrame:
    """Error clusters ranked by their errors in the span, under the filters: one row per
    cluster (and per value of each `by` key), with the cluster's label, count, share of the
    span's matching errors, and first/last time seen in the span. Counts come from the
    `<source>_errors` documents: across tiers (each sub-range from the finest tier holding it,
    as the cleanup left them), or of one `precision` only."""
    keys = error_keys(source)
    if precision is not None and precision not in PRECISIONS:
        raise QueryError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    filters = [parse_error_where(w, source) for w in where]
    by = [b.strip() for item in by for b in item.split(",") if b.strip()]
    for key in by:
        if key not in keys:
            raise QueryError(f"--by {key!r}: error clusters split by {', '.join(keys)}")
    now = now or dt.datetime.now(dt.timezone.utc)
    first = parse_moment(start, now) if not isinstance(start, dt.datetime) else _naive(start)
    last = parse_moment(end, now, what="--to", end=True) if not isinstance(end, dt.datetime) else _naive(end)
    first = first or dt.datetime(1970, 1, 1)
    if last <= first:
        raise QueryError(f"empty span: --from {_show(first)} is not before --to {_show(last)}")
    # The indexed window only; the filters are applied here (the embedded server drops its
    # index when a regular expression or $in sits beside the date range).
    windows, span, notes, unknown = error_windows(store, source, first, last, precision)
    rows: dict[tuple, dict] = {}
    total = 0
    fields = {"scope": 1, "cluster": 1, "count": 1, "first_seen": 1, "last_seen": 1}
    for doc in (d for window in windows for d in store.error_counts(sources.get(source), window=window, fields=fields)):
        scope = doc["scope"]
        if not all(_holds(f, doc["cluster"] if f.key == "cluster" else scope.get(f.key)) for f in filters):
            continue
        key = (doc["cluster"],) + tuple(scope.get(k) for k in by)
        row = rows.setdefault(key, {"count": 0, "first_seen": doc["first_seen"], "last_seen": doc["last_seen"]})
        row["count"] += doc["count"]
        row["first_seen"] = min(row["first_seen"], doc["first_seen"])
        row["last_seen"] = max(row["last_seen"], doc["last_seen"])
        total += doc["count"]
    labels = store.cluster_labels(sorted({k[0] for k in rows})) if rows else {}
    records = [{"cluster": key[0], **dict(zip(by, key[1:])), "errors": row["count"],
                "share": row["count"] / total if total else 0.0, "first_seen": row["first_seen"],
                "last_seen": row["last_seen"], "label": labels.get(key[0], "")}
               for key, row in rows.items()]
    import pandas as pd
    frame = pd.DataFrame(records, columns=["cluster", *by, "errors", "share", "first_seen", "last_seen", "label"])
    frame = frame.sort_values(["errors", "cluster"], ascending=[False, True], kind="stable").reset_index(drop=True)
    frame.attrs.update({"span": span, "asked": (first, last), "source": source,
                        "tiers": sorted({w.precision for w in windows}, key=PRECISIONS.index),
                        "precision": precision, "notes": notes, "unknown": unknown,
                        "filters": [str(f) for f in filters], "errors": total})
    return frame
