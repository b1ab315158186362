"""Overview: per source, jobs and failure rate per day over the last days and the most frequent
exit codes (or packages) of failures, from whatever tiers hold the span."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import query as queries
from .. import sources
from ..query import QueryError
from . import render
from .app import settings
from .form import Explore

blueprint = Blueprint("overview", __name__)

DAYS = 14
TOP = 10
# The key whose failures an operator reads first, per source.
TOP_KEY = {"fwjr": "exitCode", "spack_builds": "package"}
# The finest time axis the held tiers allow: cleaned-up spans are held in weeks or months.
AXES = ("time:day", "time:week", "time:month")


def _failed(definition: sources.Source) -> str:
    return f"{definition.failure_key}!={','.join(definition.success_values)}"


def source_summary(store, name: str, days: int, now) -> dict | None:
    """What the overview shows of one source; None when nothing of it is held."""
    definition = sources.get(name)
    if store.earliest_held(definition) is None:
        return None
    rates = [m for m in definition.basic_metrics if m == "failure_rate"]
    base = Explore(source=name, start=f"{days} days ago", end="now", metrics=("count", *rates))
    totals = queries.answer(store, base.query(now))
    series = None
    for axis in AXES:
        try:
            view = Explore(**{**base.__dict__, "by": (axis,)})
            series = (view, queries.answer(store, view.query(now)))
            break
        except QueryError:
            continue
    top = None
    key = TOP_KEY.get(name)
    if key and definition.failure_key:
        view = Explore(source=name, start=base.start, end=base.end, where=(_failed(definition),), by=(key,),
                       metrics=("count",), limit=TOP)
        frame = queries.answer(store, view.query(now))
        shown = frame.head(TOP)
        if key == "exitCode":
            shown = queries.describe_exit_codes(shown, queries.load_exit_codes(settings().exit_codes))
        top = (view, render.table(shown, len(frame)))
    chart, why = render.chart(series[1]) if series else (None, "no time axis fits the held tiers")
    return {"name": name, "base": base, "totals": totals.iloc[0].to_dict() if len(totals) else {},
            "header": render.header(totals), "series": series[0] if series else None,
            "series_table": render.table(series[1]) if series else None, "chart": chart, "why": why,
            "top": top, "top_key": key}


@blueprint.route("/")
def overview():
    text = request.args.get("days", str(DAYS))
    if not text.isdigit() or not 1 <= int(text) <= 3660:
        raise QueryError(f"days must be a whole number from 1 to 3660, not {text!r}")
    days, now = int(text), settings().moment()
    summaries = [(name, source_summary(settings().store, name, days, now)) for name in sources.aggregating_names()]
    return render_template("overview.html", summaries=summaries, days=days)
