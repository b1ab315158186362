"""The published baseline, reproduced the way it was computed.

The rainbow-experiments study (features/10-fold-scores.json) fit sklearn's CategoricalNB per
package on the ``-ordinal.csv`` codes (an OrdinalEncoder fit on the whole table), scored it
with 10-fold KFold(shuffle=True) accuracy and reported the mean over folds. When a split
failed (a test fold held a category code the training folds never had, which CategoricalNB
refuses) it fell back to fitting and scoring on all rows (``"splits": 1`` in the file), i.e.
training accuracy. :func:`published_protocol` repeats exactly that, with a seed.

The honest version of the same model, on the same folds as every other model here, is
estimators.CategoricalNaiveBayes.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from sklearn.naive_bayes import CategoricalNB


def read_published(data_dir: str) -> dict[str, dict]:
    """features/10-fold-scores.json as {package: {'accuracy', 'splits'}}."""
    path = os.path.join(data_dir, "10-fold-scores.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        raw = json.load(f)
    return {p: {"accuracy": float(v.get("mean_score", v.get("score"))),
                "splits": int(v.get("splits", 1))} for p, v in raw.items()}


def published_protocol(data_dir: str, package: str, seed: int = 0,
                       splits: int = 10) -> dict | None:
    """Repeat the published computation for PACKAGE: {'accuracy', 'splits', 'scores'}, or
    None if the package has no ordinal table or labels."""
    ordinal = os.path.join(data_dir, "compats", f"{package}-ordinal.csv")
    labels = os.path.join(data_dir, "labels", f"{package}.csv")
    if not (os.path.exists(ordinal) and os.path.exists(labels)):
        return None
    X = pd.read_csv(ordinal, index_col=0)
    lab = pd.read_csv(labels, index_col=0, dtype=str)
    if len(X) == 0 or X.shape[1] == 0:
        return None
    y = (lab.loc[X.index, "Status"] == "SUCCESS").astype(int).to_numpy()
    X = X.to_numpy()
    try:
        fold_scores = []
        for tr, te in KFold(n_splits=splits, shuffle=True, random_state=seed).split(X):
            clf = CategoricalNB().fit(X[tr], y[tr])
            fold_scores.append(float(clf.score(X[te], y[te])))
        return {"accuracy": float(np.mean(fold_scores)), "splits": splits, "scores": fold_scores}
    except (IndexError, ValueError):
        clf = CategoricalNB().fit(X, y)
        return {"accuracy": float(clf.score(X, y)), "splits": 1, "scores": None}
