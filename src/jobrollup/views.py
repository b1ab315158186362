"""Views: pre-aggregated documents over fewer scope keys, for the common questions.

The scope of a source has keys with thousands of values (FWJR: workflow, task, host), so a
document holds about one job at hour precision and a few at day precision. Most questions never
ask for those keys (failure rate by site, CPU per job type). A view is a named subset of the
scope keys; its documents are the source's documents regrouped on those keys alone, with the
same merge rules (counts and sums add, extremes extend, sketch bins add), as Druid's rollups on
fewer dimensions or Pinot's star-tree do.

Which views exist is configuration: conf `[sources.<name>.views]`, `name = [keys...]`. Views
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
    name: str
    keys: tuple[str, ...]    # in the source's scope order (document ids depend on the order)


def configured(conf: dict, source: Source) -> tuple[View, ...]:
    """The views of `source` in conf [sources.<name>.views], checked against its scope."""
    table = conf.get("sources", {}).get(source.name, {}).get("views", {}) or {}
    return tuple(define(source, name, keys) for name, keys in table.items())


def define(source: Source, name: str, keys) -> View:
    if not _NAME.match(name):
        raise ViewError(f"view name {name!r} of source {source.name}: use letters, digits and _")
    unknown = [k for k in keys if k not in source.scope_keys]
    if unknown:
        raise ViewError(f"view {name} of source {source.name}: {', '.join(map(repr, unknown))} not in its scope "
                        f"({', '.join(source.scope_keys)})")
    if len(set(keys)) == len(source.scope_keys):
        raise ViewError(f"view {name} of source {source.name} holds every scope key: it would be the documents again")
    return View(name, tuple(k for k in source.scope_keys if k in set(keys)))


def as_plan(views: tuple[View, ...]) -> dict[str, list[str]]:
    """Views as the JSON of a Plan or a ledger entry: name -> keys."""
    return {v.name: list(v.keys) for v in views}


def from_plan(table: dict[str, list[str]] | None) -> tuple[View, ...]:
    return tuple(View(name, tuple(keys)) for name, keys in (table or {}).items())
