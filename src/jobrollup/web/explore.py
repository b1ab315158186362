"""Explore: the bin/query form. Filters with suggestions (exit codes with their descriptions),
metrics, axes, span; a chart and the table under it; the URL reproduces the view and the page
shows the same question as a bin/query command."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from .. import query as queries
from .. import sources
from ..query import STATISTICS, QueryError
from ..query.question import parse_where
from ..tiers import PRECISIONS
from . import render
from .app import HTTP_BAD_QUESTION, settings
from .form import Explore

blueprint = Blueprint("explore", __name__)
SUGGESTIONS = 30


def choices(definition: sources.Source) -> dict:
    """What the form's fields suggest (datalists)."""
    metrics = list(definition.basic_metrics) + [f"{g}.{m}" for g, ms in definition.metrics.items() for m in ms]
    return {"keys": list(definition.scope_keys), "metrics": metrics, "statistics": list(STATISTICS),
            "axes": list(definition.scope_keys) + [f"time:{p}" for p in PRECISIONS],
            "sources": list(sources.aggregating_names())}


def suggestions(form: Explore, key: str, now) -> list[dict]:
    """Values of `key` under the form's other filters, most jobs first, exit codes described."""
    key = queries.canonical_key(key, form.definition)
    others = tuple(w for w in form.where if parse_where(w, form.definition).key != key)
    asked = Explore(**{**form.__dict__, "where": others, "by": (), "metrics": ("count",), "sort": "", "limit": None})
    frame = queries.suggest(settings().store, asked.query(now), key)
    names = queries.load_exit_codes(settings().exit_codes) if key == "exitCode" else None
    out = []
    for row in frame.head(SUGGESTIONS).to_dict("records"):
        value = row[key]
        text = "null" if render._missing(value) else str(int(value) if key in form.definition.integer_keys else value)
        description = None
        if names is not None:
            description = queries.UNKNOWN_CODE if text == "null" or int(text) not in names else names[int(text)]
        out.append({"value": text, "count": int(row["count"]), "description": description,
                    "filter": f"{key}={text}", "url": form.url(where=others + (f"{key}={text}",), suggest="")})
    return out


@blueprint.route("/explore")
def explore():
    form = Explore.from_args(request.args, settings().default_source)
    page = {"form": form, "choices": choices(form.definition), "command": form.command()}
    now = settings().moment()
    try:
        question = form.query(now)
        frame = queries.answer(settings().store, question)
        total = len(frame)
        if form.sort:
            frame = frame.sort_values(form.sort, ascending=form.sort in question.axes, na_position="last",
                                      kind="stable").reset_index(drop=True)
        if form.limit:
            frame = frame.head(form.limit)
        if "exitCode" in question.keys:
            frame = queries.describe_exit_codes(frame, queries.load_exit_codes(settings().exit_codes))
        chart, why = render.chart(frame)
        page.update(header=render.header(frame), table=render.table(frame, total), chart=chart, why=why)
        if form.suggest:
            page.update(suggest_key=queries.canonical_key(form.suggest, form.definition),
                        suggestions=suggestions(form, form.suggest, now))
    except QueryError as error:
        return render_template("explore.html", error=str(error), **page), HTTP_BAD_QUESTION
    return render_template("explore.html", **page)


@blueprint.route("/explore/suggest.json")
def suggest_json():
    """Values of one key for the form's filter fields (what typing `KEY=` offers)."""
    form = Explore.from_args(request.args, settings().default_source)
    key = request.args.get("key", "")
    try:
        values = suggestions(form, key, settings().moment())
    except QueryError as error:
        return jsonify(error=str(error)), HTTP_BAD_QUESTION
    return jsonify(key=key, values=values)
