"""Which collection answers a question: the smallest view holding every key and metric it
needs, or the documents (pure; views are described in jobrollup.views).

A view is usable when every held bucket the coverage chose (with jobs in it) records it in the
ledger with the same definition, its keys hold every key the question groups or filters by
(and the failure key for failure and success rates), and it keeps every performance metric the
question asks for (a view defined with `metrics` keeps only those). Of the usable views, the
one with the fewest documents in those buckets wins; with none, the documents are read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..sources import RATES
from ..store.mongo import view_collection
from ..views import View
from .coverage import Bucket
from .question import Query


@dataclass(frozen=True)
class Choice:
    view: str | None            # None: the documents themselves
    collection: str
    documents: int              # what the chosen collection holds in the buckets read
    full_documents: int         # what the documents hold there
    buckets: list               # the coverage's buckets with the chosen collection's document counts
    reason: str


def needed_keys(query: Query) -> set[str]:
    """The scope keys a question groups or filters by, and the failure key of its rates."""
    keys = set(query.keys) | {f.key for f in query.filters}
    if query.source.failure_key and any(m.name in RATES for m in query.metrics):
        keys.add(query.source.failure_key)
    return keys


def needed_metrics(query: Query) -> set[str]:
    """The performance metrics (`group.metric`) a question asks for."""
    return {m.name for m in query.metrics if m.is_performance}


def choose(query: Query, buckets: list[Bucket], use_views: bool = True) -> Choice:
    """The collection to read for the coverage's `buckets` (see the module's docstring)."""
    full = sum(b.documents for b in buckets)
    documents_choice = lambda reason: Choice(None, query.collection, full, full, list(buckets), reason)
    if not use_views:
        return documents_choice("views not asked for")
    read = [b for b in buckets if b.documents > 0]
    if not read:
        return documents_choice("no documents to read")
    needed, metrics = needed_keys(query), needed_metrics(query)
    fits = lambda view: needed <= set(view.keys) and all(view.holds_metric(m) for m in metrics)
    first: dict[str, View] = {view.name: view for view, _ in read[0].views}
    candidates = {name: 0 for name, view in first.items() if fits(view)}
    for bucket in read:
        theirs = {view.name: (view, documents) for view, documents in bucket.views}
        for name in list(candidates):
            if name not in theirs or theirs[name][0] != first[name]:
                del candidates[name]
            else:
                candidates[name] += theirs[name][1]
    if not candidates:
        if not first:
            return documents_choice("no view holds every bucket read")
        held_keys = set().union(*[set(view.keys) for view in first.values()])
        if not needed <= held_keys:
            return documents_choice(f"no view holds {', '.join(sorted(needed))}")
        if not any(fits(view) for view in first.values()):
            return documents_choice(f"no view holding {', '.join(sorted(needed)) or 'no key'} keeps "
                                    f"{', '.join(sorted(metrics))}")
        return documents_choice("no view holds every bucket read")
    name = min(candidates, key=lambda n: (candidates[n], len(first[n].keys), n))
    counts = [replace(b, documents=next((d for v, d in b.views if v.name == name), 0)) for b in buckets]
    return Choice(name, view_collection(query.collection, name), candidates[name], full, counts,
                  f"the smallest view holding {', '.join(sorted(needed | metrics)) or 'no key'}")
