"""Scores of predicted build outcomes: accuracy, balanced accuracy, ROC AUC, Brier score and
the reliability curve, per package and overall.

Overall figures come two ways: the mean of the per-package figures (the published baseline's
convention, each package counts once) and pooled over all rows (each build counts once).
Balanced accuracy and ROC AUC need both outcomes: they are None for a package whose
evaluated rows all had the same outcome, and such packages are left out of their means.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, brier_score_loss,
                             roc_auc_score)

METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "brier")


def scores(y: np.ndarray, p: np.ndarray, decision: np.ndarray) -> dict:
    """The four figures for one set of rows (y: 1 = success; p: P(success))."""
    y = np.asarray(y).astype(int)
    out = {"rows": int(len(y)), "failures": int((y == 0).sum()),
           "accuracy": None, "balanced_accuracy": None, "roc_auc": None, "brier": None}
    if len(y) == 0:
        return out
    out["accuracy"] = float(accuracy_score(y, decision))
    out["brier"] = float(brier_score_loss(y, p, pos_label=1)) if len(np.unique(y)) > 1 \
        else float(np.mean((p - y) ** 2))
    if len(np.unique(y)) == 2:
        out["balanced_accuracy"] = float(balanced_accuracy_score(y, decision))
        out["roc_auc"] = float(roc_auc_score(y, p))
    return out


def summarise(per_package: dict[str, dict], y_all, p_all, d_all) -> dict:
    """Overall figures: 'mean' over packages (None figures skipped, with how many counted)
    and 'pooled' over every row."""
    mean = {}
    for m in METRICS:
        values = [s[m] for s in per_package.values() if s.get(m) is not None]
        mean[m] = float(np.mean(values)) if values else None
        mean[f"{m}_packages"] = len(values)
    return {"mean": mean, "pooled": scores(y_all, p_all, d_all)}


def reliability(y, p, bins: int = 10) -> dict:
    """Reliability curve: per bin of predicted P(success) (equal width), the mean predicted
    and the observed share of successes and the number of rows."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = {"edges": edges.round(4).tolist(), "predicted": [], "observed": [], "rows": []}
    for b in range(bins):
        sel = which == b
        out["rows"].append(int(sel.sum()))
        out["predicted"].append(float(p[sel].mean()) if sel.any() else None)
        out["observed"].append(float(y[sel].mean()) if sel.any() else None)
    return out


def evaluate(results: dict[str, tuple]) -> dict:
    """RESULTS: package -> (y, p, decision). Returns {'packages', 'overall', 'reliability'}."""
    per = {pkg: scores(*r) for pkg, r in sorted(results.items())}
    if results:
        y = np.concatenate([r[0] for r in results.values()])
        p = np.concatenate([r[1] for r in results.values()])
        d = np.concatenate([r[2] for r in results.values()])
    else:
        y = p = d = np.zeros(0)
    return {"packages": per, "overall": summarise(per, y, p, d),
            "reliability": reliability(y, p) if len(y) else None}
