"""Views: pre-aggregated documents over fewer scope keys, for the common questions.

The scope of a source has keys with thousands of values (FWJR: workflow, task, host), so a
document holds about one job at hour precision and a few at day precision. Most questions never
ask for those keys (failure rate by site, CPU per job type). A view is a named subset of the
scope keys; its documents are the source's documents regrouped on those keys alone, with the
same merge rules (counts and sums add, extremes extend, sketch bins add), as Druid's rollups on
fewer dimensions or Pinot's star-tree do.

Which views exist is configuration: conf `[sources.<name>.views]`, `name = [keys...]`, or
`name = {keys = [...], metrics = [...]}` to keep only those performance metrics (`group.metric`;
`[]`: the job counts and counters alone). Documents are read whole, so a view without the
metrics its questions never ask for is read about twice as fast (as Pinot's star-tree keeps
only its listed function-column pairs); bin/query uses it only for questions about the
metrics it keeps. Views
live in their own collections (`<collection>_view_<name>`), are written by the same Spark pass
as the documents and recorded in the same ledger entry (jobrollup.store.mongo), rolled up by the
cleanup beside the documents, and chosen by bin/query (jobrollup.query.views) when they hold
every key a question needs. No Spark and no MongoDB here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .sources import Source

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class ViewError(ValueError):
    """A view definition that cannot be used (unknown key, bad name)."""


@dataclass(frozen=True)
class View:
    """A view of a source's documents.

    name      letters, digits and _; its collection is `<collection>_view_<name>`
    keys      the scope keys it keeps, in the source's scope order (document ids depend on it)
    metrics   the performance metrics it keeps (`group.metric`), or None for all of them
    """

    name: str
    keys: tuple[str, ...]
    metrics: tuple[str, ...] | None = None

    def holds_metric(self, metric: str) -> bool:
        return self.metrics is None or metric in self.metrics

    def as_entry(self) -> dict:
        """The view in a Plan or a ledger entry: {keys[, metrics]} (no metrics: all of them)."""
        return {"keys": list(self.keys), **({} if self.metrics is None else {"metrics": list(self.metrics)})}

    @classmethod
    def from_entry(cls, name: str, entry) -> "View":
        """From `as_entry` (a bare list of keys: an entry written before views had metrics)."""
        if isinstance(entry, dict):
            metrics = entry.get("metrics")
            return cls(name, tuple(entry["keys"]), None if metrics is None else tuple(metrics))
        return cls(name, tuple(entry))


def configured(conf: dict, source: Source) -> tuple[View, ...]:
    """The views of `source` in conf [sources.<name>.views], checked against its scope."""
    table = conf.get("sources", {}).get(source.name, {}).get("views", {}) or {}
    return tuple(define(source, name, spec) for name, spec in table.items())


def define(source: Source, name: str, spec) -> View:
    """A view from its configuration: a list of keys, or a table {keys = [...], metrics = [...]}."""
    if not _NAME.match(name):
        raise ViewError(f"view name {name!r} of source {source.name}: use letters, digits and _")
    metrics = None
    if isinstance(spec, dict):
        extra = sorted(set(spec) - {"keys", "metrics"})
        if extra or "keys" not in spec:
            raise ViewError(f"view {name} of source {source.name}: write {{keys = [...], metrics = [...]}}"
                            + (f" (unknown {', '.join(map(repr, extra))})" if extra else ""))
        keys, metrics = spec["keys"], spec.get("metrics")
    else:
        keys = spec
    if isinstance(keys, str) or isinstance(metrics, str):
        raise ViewError(f"view {name} of source {source.name}: keys and metrics are lists of names")
    unknown = [k for k in keys if k not in source.scope_keys]
    if unknown:
        raise ViewError(f"view {name} of source {source.name}: {', '.join(map(repr, unknown))} not in its scope "
                        f"({', '.join(source.scope_keys)})")
    if len(set(keys)) == len(source.scope_keys):
        raise ViewError(f"view {name} of source {source.name} holds every scope key: it would be the documents again")
    if metrics is not None:
        known = [f"{group}.{metric}" for group, metric, _ in source.metric_columns]
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise ViewError(f"view {name} of source {source.name}: {', '.join(map(repr, unknown))} not among its "
                            f"metrics (group.metric, e.g. {known[0] if known else 'none'})")
        metrics = tuple(m for m in known if m in set(metrics))
    return View(name, tuple(k for k in source.scope_keys if k in set(keys)), metrics)


def trim_performance(performance: dict, metrics: tuple[str, ...] | None) -> dict:
    """A document's `performance` with only `metrics` (`group.metric`; None: all of them)."""
    if metrics is None:
        return performance
    kept: dict[str, dict] = {}
    for group, stats in performance.items():
        for metric, value in stats.items():
            if f"{group}.{metric}" in metrics:
                kept.setdefault(group, {})[metric] = value
    return kept


def as_plan(views: tuple[View, ...]) -> dict[str, dict]:
    """Views as the JSON of a Plan: name -> View.as_entry()."""
    return {v.name: v.as_entry() for v in views}


def from_plan(table: dict | None) -> tuple[View, ...]:
    return tuple(View.from_entry(name, entry) for name, entry in (table or {}).items())
