"""Advice for a failing build: the most similar specs that built, and what differs.

Similarity is over the package's feature columns: first the number of columns that differ,
then how far apart the differing versions are (in version rank). For every difference, the
advice also says how much that one change alone moves the model's P(success), so the
differences that matter come first, e.g. "same kokkos 3.4.01; cmake 3.20.5 instead of
3.14.7 (+0.41)".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .features import ABSENT, VersionEncoder
from .outcomes import BuildOutcomeModel


def similar_successes(model: BuildOutcomeModel, package: str, row: dict,
                      k: int = 3, exclude: str | None = None) -> list[dict]:
    """The K training specs of PACKAGE that built successfully and are closest to ROW:
    [{"full_hash", "p_success", "distance", "same": {col: value}, "changes": [{"feature",
    "from", "to", "effect"}]}], changes ordered by effect (largest gain first)."""
    if package not in model.training_:
        return []
    X, y = model.training_[package]
    ok = X[(np.asarray(y) == 1) & (X.index != exclude)]
    if ok.empty:
        return []
    columns = list(X.columns)
    spec = pd.DataFrame([{c: row.get(c, ABSENT) for c in columns}])
    enc = VersionEncoder("ordered", always_categorical=()).fit(X)
    r_ok = np.nan_to_num(enc.transform(ok), nan=-1.0)
    r_spec = np.nan_to_num(enc.transform(spec), nan=-1.0)
    differs = ok.to_numpy() != spec.to_numpy()
    n_diff = differs.sum(axis=1)
    spread = np.abs(r_ok - r_spec).sum(axis=1)
    order = np.lexsort((spread, n_diff))[:k]
    p_base = float(model.p_success(package, spec)[0])
    out = []
    for i in order:
        target = ok.iloc[i]
        changes = []
        for j in np.flatnonzero(differs[i]):
            c = columns[j]
            trial = spec.copy()
            trial[c] = target[c]
            effect = float(model.p_success(package, trial)[0]) - p_base
            changes.append({"feature": c, "from": spec.at[0, c], "to": target[c],
                            "effect": round(effect, 4)})
        changes.sort(key=lambda ch: -ch["effect"])
        same = {c: spec.at[0, c] for j, c in enumerate(columns) if not differs[i][j]}
        out.append({"full_hash": str(ok.index[i]),
                    "p_success": round(float(model.p_success(package, ok.iloc[[i]])[0]), 4),
                    "distance": int(n_diff[i]), "same": same, "changes": changes})
    return out


def _name(column: str) -> str:
    for suffix in ("-compiler_version", "-version"):
        if column.endswith(suffix):
            base = column[: -len(suffix)]
            return f"{base} compiler" if suffix == "-compiler_version" else base
    return column


def describe_difference(candidate: dict) -> str:
    """One line: 'same <what is the same>; <dep> <new> instead of <old> (+effect), ...'."""
    same = candidate["same"]
    if not same:
        same_text = "nothing the same"
    elif len(same) <= 3:
        same_text = "same " + ", ".join(f"{_name(c)} {v}" for c, v in same.items())
    else:
        same_text = f"same {len(same)} other versions"
    if not candidate["changes"]:
        return same_text + "; no difference in the features"
    parts = [f"{_name(ch['feature'])} {ch['to']} instead of {ch['from']} ({ch['effect']:+.2f})"
             for ch in candidate["changes"]]
    if len(same) == 0:
        return "; ".join(parts)
    return f"{same_text}; " + ", ".join(parts)
