"""spack: a build matrix (success rate per pair of two keys, "not tried" apart from a failing
0%), the surprises of the latest night the models scored, and the build-outcome model
experiments with their figures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from flask import Blueprint, render_template, request

from .. import query as queries
from .. import sources
from ..query import QueryError, matrix
from ..query import plots
from . import render
from .app import HTTP_BAD_QUESTION, settings
from .form import Explore

blueprint = Blueprint("spack", __name__)
EXPERIMENT_FILE = "experiment.json"   # as jobrollup.models.experiments writes it
SOURCE = "spack_builds"
# As jobrollup.models.scoring names them (not imported: it needs scikit-learn).
SURPRISE_KINDS = {"failed_predicted_success": "failed, success predicted",
                  "succeeded_predicted_failure": "built, failure predicted"}


def experiments(folder: str) -> list[dict]:
    """The experiments bin/train recorded (NAME/experiment.json), read as JSON: listing them
    needs neither scikit-learn nor the models (jobrollup.models.experiments.list_experiments
    imports both)."""
    out = []
    for path in sorted(Path(folder).glob(f"*/{EXPERIMENT_FILE}")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being written, or not ours: the listing goes on
        test = doc.get("metrics", {}).get("test", {}).get("overall", {}).get("mean", {})
        out.append({"name": doc.get("experiment", "?"), "model": doc.get("model", {}).get("model", "?"),
                    "packages": len(doc.get("data", {}).get("packages", {})), "rows": doc.get("data", {}).get("rows"),
                    "created": doc.get("created", ""), **{k: test.get(k) for k in ("accuracy", "balanced_accuracy",
                                                                                  "roc_auc", "brier")}})
    return out


def scored_night(store, package: str = "") -> dict | None:
    """The latest night bin/predict --score-builds wrote (all experiments): builds scored and the
    surprises, of `package` when given, the most confident mistakes first; None before the first."""
    night = store.latest_predictions_day()
    if night is None:
        return None
    end = night + dt.timedelta(days=1)
    surprises = store.predictions(night, end, surprises_only=True, package=package or None)
    # the store's order (day, package, _id) breaks ties; sorted() keeps it
    surprises = sorted(surprises, key=lambda p: (-abs(p["p_success"] - 0.5), p["package"]))
    return {"day": night, "scored": store.count_predictions(night, end, package=package or None),
            "surprises": [{**p, "kind": SURPRISE_KINDS.get(p["surprise"], p["surprise"])} for p in surprises]}


@blueprint.route("/spack")
def spack():
    args = request.args
    rows_key, cols_key = args.get("rows", "version"), args.get("cols", "compiler_version")
    package = (args.get("package") or "").strip()
    where = tuple(w for w in args.getlist("w") if w.strip()) + ((f"package={package}",) if package else ())
    form = Explore(source=SOURCE, start=(args.get("from") or "earliest").strip(), end=(args.get("to") or "now").strip(),
                   where=where, by=(rows_key, cols_key), metrics=("count", "success_rate"))
    definition = sources.get(SOURCE)
    page = {"form": form, "package": package, "rows_key": rows_key, "cols_key": cols_key,
            "keys": list(definition.scope_keys), "experiments": experiments(settings().models_dir),
            "command": form.command().replace(" --by ", " --matrix matrix.png --by ", 1)}
    store, now = settings().store, settings().moment()
    page["night"] = scored_night(store, package)
    try:
        if store.earliest_held(definition) is None:
            return render_template("spack.html", empty=True, **page)
        packages = queries.suggest(store, Explore(source=SOURCE, start=form.start, end=form.end).query(now), "package")
        page["packages"] = [(p, int(n)) for p, n in zip(packages["package"], packages["count"])][:200]
        if not package:
            return render_template("spack.html", **page)
        question = form.query(now)
        matrix.check(question)
        frame = queries.answer(store, question)
        if frame.empty:
            return render_template("spack.html", nothing=True, **page)
        rates, counts = matrix.grids(frame)
        title = f"Build matrix: {' and '.join(where)}: success rate by {rows_key} and {cols_key}"
        page.update(chart=render.svg(matrix.draw, rates, counts, title=title, subtitle=plots.subtitle(frame.attrs)),
                    rates=rates.iloc[:matrix.MAX_SIDE, :matrix.MAX_SIDE], counts=counts, header=render.header(frame))
    except QueryError as error:
        return render_template("spack.html", error=str(error), **page), HTTP_BAD_QUESTION
    return render_template("spack.html", **page)
