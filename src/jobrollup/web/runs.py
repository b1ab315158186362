"""Runs: the journal. Recent runs with status, window, lines read and rejected by reason (and
where the rejected lines were set aside), the ledger's coverage per tier, and what the last
cleanup did: where a failed night shows at a glance."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import sources
from ..query import QueryError
from ..tiers import PRECISIONS
from .app import settings

blueprint = Blueprint("runs", __name__)
RUNS = 50
TROUBLE = ("failed", "refused", "interrupted")


def latest_per_job(runs: list[dict]) -> list[dict]:
    """The newest run of each (source, job): a failure there is what an operator must see."""
    seen, out = set(), []
    for run in runs:
        key = (run.get("source"), run.get("job"))
        if key not in seen:
            seen.add(key)
            out.append(run)
    return out


def coverage(store) -> list[dict]:
    out = []
    for name in sources.aggregating_names():
        definition = sources.get(name)
        rows = sorted(store.ledger_coverage(definition),
                      key=lambda r: (PRECISIONS.index(r["_id"]["precision"]) if r["_id"]["precision"] in PRECISIONS
                                     else 9, r["_id"]["state"]))
        cleanup = store.last_run("cleanup", name)
        out.append({"source": name, "rows": rows, "cleanup": cleanup})
    return out


@blueprint.route("/runs")
def runs():
    text = request.args.get("limit", str(RUNS))
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise QueryError(f"limit must be a whole number from 1 to 1000, not {text!r}")
    store = settings().store
    recent = store.recent_runs(int(text))
    latest = latest_per_job(recent)
    return render_template("runs.html", runs=recent, latest=latest,
                           trouble=[r for r in latest if r.get("status") in TROUBLE],
                           coverage=coverage(store), limit=int(text), TROUBLE=TROUBLE)
