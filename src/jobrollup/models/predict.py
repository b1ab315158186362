"""Predict build outcomes with a trained experiment, and say which features drive them.

:func:`predict_dir` scores every row of every ``compats/<package>.csv`` in a folder (labels
not needed). :func:`explain` ranks the features of one spec by how much its value moves
P(success): each feature in turn is set to the other values seen in training for it (the
most common ones, weighted by how often they occur) and the change in P(success) is averaged;
a positive effect means this spec's value makes success more likely than the usual values do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .features import ABSENT, load_tables
from .outcomes import BuildOutcomeModel


def predict_dir(model: BuildOutcomeModel, data_dir: str):
    """Yield {"package", "full_hash", "p_success", "success"} for every row of every
    compats table in DATA_DIR."""
    for package, table in load_tables(data_dir, labels=False).items():
        p, d = model.predict(package, table.X)
        for full_hash, pi, di in zip(table.X.index, p, d):
            yield {"package": package, "full_hash": str(full_hash),
                   "p_success": round(float(pi), 6), "success": bool(di)}


def training_values(model: BuildOutcomeModel, package: str, column: str,
                    top: int = 8) -> list[tuple[str, float]]:
    """The TOP most common training values of COLUMN for PACKAGE, with their shares."""
    if package in model.training_:
        X, _ = model.training_[package]
        if column in X.columns:
            counts = X[column].value_counts(normalize=True).head(top)
            return list(counts.items())
    return []


def explain(model: BuildOutcomeModel, package: str, row: dict, top: int = 8) -> list[dict]:
    """Features of one spec ROW ({column: value}) ranked by |effect| on P(success):
    [{"feature", "value", "effect"}] (effect = P(this value) - weighted mean P(usual values))."""
    columns = model.columns(package)
    base = pd.DataFrame([{c: row.get(c, ABSENT) for c in columns}])
    p0 = float(model.p_success(package, base)[0])
    effects = []
    for c in columns:
        alternatives = [(v, w) for v, w in training_values(model, package, c) if v != base.at[0, c]]
        if not alternatives:
            continue
        trial = pd.concat([base] * len(alternatives), ignore_index=True)
        trial[c] = [v for v, _ in alternatives]
        p = model.p_success(package, trial)
        w = np.array([w for _, w in alternatives])
        effects.append({"feature": c, "value": base.at[0, c],
                        "effect": round(p0 - float(np.average(p, weights=w)), 4)})
    effects.sort(key=lambda e: -abs(e["effect"]))
    return effects[:top]
