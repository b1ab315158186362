"""Which collection answers a question: the smallest view holding every key it needs, or the
documents (pure; views are described in jobrollup.views).

A view is usable when every held bucket the coverage chose (with jobs in it) records it in the
ledger with the same keys, and those keys hold every key the question groups or filters by
(and the failure key for failure and success rates). Views keep every metric and sketch, so
metrics never rule one out. Of the usable views, the one with the fewest documents in those
buckets wins; with none, the documents are read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..sources import RATES
from ..store.mongo import view_collection
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


def choose(query: Query, buckets: list[Bucket], use_views: bool = True) -> Choice:
    """The collection to read for the coverage's `buckets` (see the module's docstring)."""
    full = sum(b.documents for b in buckets)
    documents_choice = lambda reason: Choice(None, query.collection, full, full, list(buckets), reason)
    if not use_views:
        return documents_choice("views not asked for")
    read = [b for b in buckets if b.documents > 0]
    if not read:
        return documents_choice("no documents to read")
    needed = needed_keys(query)
    candidates: dict[str, int] = {}
    for name, keys, _ in read[0].views:
        if needed <= set(keys):
            candidates[name] = 0
    held_keys = {name: keys for name, keys, _ in read[0].views}
    for bucket in read:
        theirs = {name: (keys, documents) for name, keys, documents in bucket.views}
        for name in list(candidates):
            if name not in theirs or theirs[name][0] != held_keys[name]:
                del candidates[name]
            else:
                candidates[name] += theirs[name][1]
    if not candidates:
        missing = sorted(needed - set().union(*[set(keys) for _, keys, _ in read[0].views])) if read[0].views else []
        return documents_choice("no view holds every bucket read" if not read[0].views or not missing
                                else f"no view holds {', '.join(sorted(needed))}")
    name = min(candidates, key=lambda n: (candidates[n], len(held_keys[n]), n))
    counts = [replace(b, documents=next((d for n, _, d in b.views if n == name), 0)) for b in buckets]
    return Choice(name, view_collection(query.collection, name), candidates[name], full, counts,
                  f"the smallest view holding {', '.join(sorted(needed)) or 'no key'}")
