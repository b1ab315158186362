"""Honest splits: no spec of a test fold reaches training.

Rows are grouped before splitting: two rows with the same full_hash, or with identical
feature rows, are the same spec as far as a model can tell, so they always land on the same
side of a split. Encoders and feature selection live inside the estimators, which are fit
per fold on the training rows only (see estimators.py).
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold


def spec_groups(X: pd.DataFrame) -> np.ndarray:
    """A group id per row: rows that share a full_hash (the index) or an identical feature
    row get the same id (union of both relations)."""
    n = len(X)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(keys):
        first = {}
        for i, key in enumerate(keys):
            if key in first:
                a, b = find(i), find(first[key])
                if a != b:
                    parent[a] = b
            else:
                first[key] = i

    join(list(X.index))
    join(list(map(tuple, X.astype(str).to_numpy())))
    roots = [find(i) for i in range(n)]
    _, ids = np.unique(roots, return_inverse=True)
    return ids


def package_seed(seed: int, package: str) -> int:
    """A per-package seed derived from the experiment seed (stable across runs and Pythons)."""
    return (seed * 1_000_003 + zlib.crc32(package.encode())) % (2 ** 31)


def group_folds(X: pd.DataFrame, y: np.ndarray, n_splits: int = 10,
                seed: int = 0, package: str = "") -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold over spec groups (at most one fold per group). Returns
    [(train_index, test_index)]."""
    groups = spec_groups(X)
    k = min(n_splits, len(np.unique(groups)), int(np.bincount(np.asarray(y)).max()))
    if k < 2:
        return []
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True,
                                    random_state=package_seed(seed, package))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has fewer members than k"
        return [(tr, te) for tr, te in splitter.split(X, y, groups)]


def train_dev_test(X: pd.DataFrame, y: np.ndarray, seed: int, package: str = "",
                   dev: float = 0.15, test: float = 0.15,
                   min_groups: int = 7) -> dict[str, np.ndarray]:
    """Split row positions into train/dev/test by spec group, reproducibly from SEED,
    stratified by outcome within each group's label. A package with fewer than MIN_GROUPS
    groups is all train."""
    groups = spec_groups(X)
    ids = np.unique(groups)
    rng = np.random.default_rng(package_seed(seed, package))
    if len(ids) < min_groups:
        return {"train": np.arange(len(X)), "dev": np.array([], int), "test": np.array([], int)}
    group_label = pd.Series(y).groupby(groups).max().reindex(ids).to_numpy()
    side = {}
    for label in np.unique(group_label):
        members = ids[group_label == label]
        members = members[rng.permutation(len(members))]
        n_test = int(round(test * len(members)))
        n_dev = int(round(dev * len(members)))
        for g in members[:n_test]:
            side[g] = "test"
        for g in members[n_test:n_test + n_dev]:
            side[g] = "dev"
        for g in members[n_test + n_dev:]:
            side[g] = "train"
    sides = np.array([side[g] for g in groups])
    return {name: np.flatnonzero(sides == name) for name in ("train", "dev", "test")}
