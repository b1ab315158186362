"""Two spans side by side: the same question asked of a span and of a baseline span, one row per
group with each metric now, before, and its change (e.g. which packages' failure rate rose from
last week to this week). Each span is answered exactly as on its own (queries.answer); the rows
are joined on the group keys, a group missing from one span has no value there.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from .answer import answer
from .question import Query, QueryError, parse_moment

BEFORE, CHANGE = ".before", ".change"


def baseline_of(query: Query, start: str, end: str | None, now) -> Query:
    """The query over the baseline span (same filters, metrics and keys); the baseline ends where
    the span starts unless `end` says otherwise."""
    begin = parse_moment(start, now, what="--baseline-from")
    finish = parse_moment(end, now, what="--baseline-to", end=True) if end else query.start
    if begin is None or begin >= finish:
        raise QueryError(f"empty baseline span: --baseline-from {start!r} is not before --baseline-to {end!r}")
    if query.time_axis:
        raise QueryError("a comparison of two spans takes no time axis: group by scope keys only")
    return dataclasses.replace(query, start=begin, end=finish)


def compare(store, query: Query, baseline: Query) -> pd.DataFrame:
    now, before = answer(store, query), answer(store, baseline)
    keys, columns = list(query.keys), list(query.columns)
    if keys:
        joined = now.merge(before, on=keys, how="outer", suffixes=("", BEFORE))
    else:
        joined = pd.concat([now.reset_index(drop=True), before.add_suffix(BEFORE).reset_index(drop=True)], axis=1)
    ordered = keys[:]
    whole = ("count", *query.source.counters)
    for column in columns:
        if column in whole:   # stay whole numbers where a group is missing from one span
            joined[column] = joined[column].astype("Int64")
            joined[column + BEFORE] = joined[column + BEFORE].astype("Int64")
        joined[column + CHANGE] = joined[column] - joined[column + BEFORE]
        ordered += [column, column + BEFORE, column + CHANGE]
    frame = joined[ordered]
    frame.attrs.update(now.attrs)
    frame.attrs["columns"] = ordered[len(keys):]
    frame.attrs["baseline"] = {"span": before.attrs.get("span"), "tiers": before.attrs.get("tiers"),
                               "notes": before.attrs.get("notes", [])}
    frame.attrs["notes"] = list(now.attrs.get("notes", [])) + [f"baseline: {n}" for n in before.attrs.get("notes", [])]
    return frame
