"""Error kinds: clusters ranked by their errors under the filters, with label, examples, first
and last seen and the busiest sites or packages (bin/query --errors and the cluster documents)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import query as queries
from .. import sources
from ..query import QueryError
from ..tiers import PRECISIONS
from . import render
from .app import HTTP_BAD_QUESTION, settings
from .form import Errors

blueprint = Blueprint("errors", __name__)
BUSIEST = 3


def busiest(cluster: dict, source: str) -> dict[str, list[tuple[str, int]]]:
    """The busiest values of each scope key of a cluster document (its `by.<source>`)."""
    return {key: sorted(values.items(), key=lambda kv: -kv[1])[:BUSIEST]
            for key, values in (cluster.get("by", {}).get(source) or {}).items()}


@blueprint.route("/errors")
def errors():
    form = Errors.from_args(request.args)
    definition = sources.get(form.source)
    clustered = [n for n in sources.names() if sources.get(n).error_scope]
    page = {"form": form, "keys": list(definition.error_scope) + ["cluster"], "clustered": clustered,
            "precisions": PRECISIONS, "command": form.command()}
    try:
        frame = queries.error_clusters(settings().store, source=form.source, start=form.start, end=form.end,
                                       where=form.where, by=form.by, precision=form.precision or None, now=settings().moment())
    except QueryError as error:
        return render_template("errors.html", error=str(error), **page), HTTP_BAD_QUESTION
    total = len(frame)
    shown = frame.head(form.limit) if form.limit else frame
    documents = settings().store.clusters(sorted({int(c) for c in shown["cluster"]}),
                                          {"examples": 1, "by": 1, "first_seen": 1, "last_seen": 1, "templates": 1})
    rows = []
    for row in shown.to_dict("records"):
        doc = documents.get(int(row["cluster"]), {})
        rows.append({**row, "split": {k: row[k] for k in form.by}, "examples": doc.get("examples", [])[:3],
                     "busiest": busiest(doc, form.source), "templates": doc.get("templates")})
    chart = None
    if rows:
        labels = [f"#{r['cluster']} " + "".join(f"{k}={v} " for k, v in r["split"].items()) + r["label"][:70] for r in rows]
        first, last = frame.attrs["span"]
        chart = render.bars(labels, [r["errors"] for r in rows], "errors",
                            f"Error kinds of {form.source}, {render.when(first)} .. {render.when(last)} UTC"
                            + (f"; where {' and '.join(frame.attrs['filters'])}" if frame.attrs["filters"] else ""))
    return render_template("errors.html", rows=rows, total=total, chart=chart, attrs=frame.attrs, **page)
