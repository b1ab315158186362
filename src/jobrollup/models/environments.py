"""Score build environments: P(success) of every package in every environment.

An environment is a feature vector: {column: value} with the compats column names
(``cmake-version: 3.20.5``, ``papi-compiler_version: 9.3.1``). A key without a dash applies
to every column ending in ``-<key>``, so ``{"compiler_version": "9.3.1"}`` sets the compiler
version of every package. Columns an environment does not set are 'absent'.

Each environment's summary is the sum of its packages' P(success) over the possible points
(the number of packages): 1.0 would mean every package is certain to build there.

:func:`random_environments` builds the worked example of the descriptive-expression study:
N environments drawn (seeded) from ``features/cluster-features.json``, one value per column,
uniformly among the values seen. A package's own version is never drawn 'absent'.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd

from .features import ABSENT
from .outcomes import BuildOutcomeModel


def random_environments(cluster_features: str | dict, n: int = 1000, seed: int = 0,
                        own_columns: set[str] | None = None) -> dict[str, dict]:
    """N random environments {name: {column: value}} from CLUSTER_FEATURES (path or dict).
    OWN_COLUMNS (a package's own version column, e.g. 'kokkos-version') never get 'absent'."""
    if isinstance(cluster_features, str):
        with open(cluster_features) as f:
            cluster_features = json.load(f)
    own_columns = own_columns or set()
    rng = np.random.default_rng(seed)
    columns = sorted(cluster_features)
    choices = {}
    for c in columns:
        values = sorted(set(map(str, cluster_features[c])))
        if c in own_columns:
            values = [v for v in values if v != ABSENT] or values
        choices[c] = values
    width = len(str(n - 1))
    envs = {}
    for i in range(n):
        envs[f"env-{i:0{width}d}"] = {c: choices[c][rng.integers(len(choices[c]))]
                                      for c in columns}
    return envs


def read_environments(path: str) -> dict[str, dict]:
    """Environments from a file: JSON {name: {column: value}} or [{"name", "features"}], or
    CSV with the name in the first column and one column per feature."""
    if path.endswith(".csv"):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            head = next(reader)
            return {r[0]: {h: v for h, v in zip(head[1:], r[1:]) if v != ""} for r in reader}
    with open(path) as f:
        data = json.load(f)
    if isinstance(data, list):
        return {str(e.get("name", i)): dict(e.get("features", {})) for i, e in enumerate(data)}
    return {str(k): dict(v) for k, v in data.items()}


def expand(env: dict, columns: list[str]) -> dict:
    """ENV's value for each of COLUMNS (exact key first, then a dashless key as suffix)."""
    out = {}
    for c in columns:
        if c in env:
            out[c] = str(env[c])
            continue
        for key in ("compiler_version", "version", "platform_os", "platform", "target",
                    "compiler"):
            if c.endswith("-" + key) and key in env:
                out[c] = str(env[key])
                break
        else:
            out[c] = ABSENT
    return out


def modelled_packages(model: BuildOutcomeModel) -> list[str]:
    return sorted(model.columns_)


def score(model: BuildOutcomeModel, envs: dict[str, dict],
          packages: list[str] | None = None) -> pd.DataFrame:
    """P(success): a DataFrame packages × environments."""
    packages = packages or modelled_packages(model)
    names = list(envs)
    out = np.empty((len(packages), len(names)))
    for i, pkg in enumerate(packages):
        cols = model.columns(pkg)
        X = pd.DataFrame([expand(envs[n], cols) for n in names], columns=cols)
        out[i] = model.p_success(pkg, X)
    return pd.DataFrame(out, index=packages, columns=names)


def summarise(scores: pd.DataFrame) -> pd.DataFrame:
    """Per environment: score (sum of P(success)), possible points (packages), fraction;
    best first."""
    table = pd.DataFrame({"score": scores.sum(axis=0),
                          "possible": scores.notna().sum(axis=0)})
    table["fraction"] = table["score"] / table["possible"]
    table.index.name = "environment"
    return table.sort_values(["fraction"], ascending=False)


def heatmap(scores: pd.DataFrame, path: str, title: str = "P(success)") -> str:
    """A packages × environments heatmap PNG (environments sorted by their fraction)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    order = scores.mean(axis=0).sort_values(ascending=False).index
    data = scores[order]
    width = min(max(6, 0.02 * data.shape[1] + 4), 20)
    height = max(4, 0.18 * data.shape[0] + 1.5)
    fig, ax = plt.subplots(figsize=(width, height))
    im = ax.imshow(data.to_numpy(), aspect="auto", interpolation="nearest",
                   cmap="RdYlGn", vmin=0, vmax=1)
    ax.set_yticks(range(len(data.index)))
    ax.set_yticklabels(data.index, fontsize=7)
    if data.shape[1] <= 40:
        ax.set_xticks(range(data.shape[1]))
        ax.set_xticklabels(data.columns, rotation=90, fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{data.shape[1]} environments, best (left) to worst (right)")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="P(success)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
