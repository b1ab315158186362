"""Feature tables of spack builds: loading, version order, and spec files as feature rows.

A feature table (``features/compats/<package>.csv``) has one row per spec, indexed by the
spec's ``full_hash``, and one column per varying spec attribute: ``<dependency>-version``,
``<package>-compiler_version`` and so on; ``"absent"`` where the spec has no such node. The
label table (``features/labels/<package>.csv``) says whether the build of that row succeeded
(``Status`` = ``SUCCESS`` or ``FAILED``).

Versions are categories, but they are also ordered. :func:`version_key` orders them the way
spack does (numeric parts numerically, ``develop`` above every release) and
:class:`VersionEncoder` turns a table into numbers: category codes, ordered ranks, or both.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

ABSENT = "absent"
PACKAGE_COLUMN = "package"

# spack orders these named versions above every numbered release, develop highest
_NAMED = {"develop": 5, "main": 4, "master": 3, "head": 2, "trunk": 1}
_PART = re.compile(r"\d+|[A-Za-z]+")


def version_key(value: str) -> tuple:
    """A sort key that orders version strings like spack: ``1.9 < 1.10 < 1.10.1 < develop``.
    Numeric parts compare as numbers, letters ('rc', 'beta') sort below numbers and below
    the end of the version (1.2rc1 < 1.2 < 1.2.1), and the
    named branches (develop, main, master, head, trunk) above every release."""
    text = str(value).strip().lower()
    if text in _NAMED:
        return (1, _NAMED[text])
    parts = []
    for part in _PART.findall(text):
        parts.append((1, int(part), "") if part.isdigit() else (0, 0, part))
    parts.append((0.5, 0, ""))  # end: 1.2rc1 < 1.2 < 1.2.1
    return (0, tuple(parts))


@dataclass
class PackageTable:
    """One package's feature rows (strings, index full_hash) and outcomes (1 = success)."""
    package: str
    X: pd.DataFrame
    y: np.ndarray | None

    @property
    def full_hash(self) -> np.ndarray:
        return self.X.index.to_numpy()


def list_packages(data_dir: str) -> list[str]:
    """Packages that have a feature table in DATA_DIR/compats (the -ordinal copies skipped)."""
    names = []
    for name in os.listdir(os.path.join(data_dir, "compats")):
        if name.endswith(".csv") and not name.endswith("-ordinal.csv"):
            names.append(name[:-4])
    return sorted(names)


def read_compats(path: str) -> pd.DataFrame:
    """A compats CSV as strings, index full_hash; missing cells become 'absent'."""
    frame = pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False)
    frame.index = frame.index.astype(str)
    frame.index.name = "full_hash"
    frame = frame.replace("", ABSENT)
    return frame


def drop_constant(X: pd.DataFrame) -> pd.DataFrame:
    """Drop the columns that never vary (they cannot tell one build from another)."""
    keep = [c for c in X.columns if X[c].nunique(dropna=False) > 1]
    return X[keep]


def load_package(data_dir: str, package: str, labels: bool = True) -> PackageTable | None:
    """Read one package's feature table and, if LABELS, its outcomes. Rows without a label
    are dropped. Returns None when the package has no rows."""
    X = read_compats(os.path.join(data_dir, "compats", f"{package}.csv"))
    y = None
    if labels:
        path = os.path.join(data_dir, "labels", f"{package}.csv")
        if not os.path.exists(path):
            return None
        lab = pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False)
        lab.index = lab.index.astype(str)
        lab = lab[~lab.index.duplicated(keep="first")]
        common = X.index[X.index.isin(lab.index)]
        X = X.loc[common]
        y = (lab.loc[common, "Status"].str.upper() == "SUCCESS").astype(int).to_numpy()
    if len(X) == 0:
        return None
    return PackageTable(package, X, y)


def load_tables(data_dir: str, packages: list[str] | None = None,
                labels: bool = True) -> dict[str, PackageTable]:
    """All packages of DATA_DIR (or the named ones) that have rows, constant columns dropped
    when labels are read (training); kept as they are for prediction."""
    tables = {}
    for package in packages or list_packages(data_dir):
        table = load_package(data_dir, package, labels=labels)
        if table is None:
            continue
        if labels:
            table.X = drop_constant(table.X)
        tables[package] = table
    return tables


def file_digest(path: str) -> str:
    """sha256 of a file, to record exactly which data an experiment saw."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


class VersionEncoder(TransformerMixin, BaseEstimator):
    """Turn a table of version strings into numbers, learning only from the rows it is fit on.

    mode='categorical': one code per value seen in fit (in version order); 'absent' is a
    value like any other; a value not seen in fit becomes NaN.
    mode='ordered': the value's rank among the versions seen in fit; a version not seen in
    fit gets the rank between its neighbours (e.g. 2.5), so the model can still order it;
    'absent' becomes NaN.
    mode='both': the categorical columns followed by the ordered ones.
    Columns named in ALWAYS_CATEGORICAL (the package name of the shared model) are category
    codes in every mode.

    After fit, ``categorical_mask_`` says which output columns are category codes and
    ``feature_names_out_`` names them.
    """

    def __init__(self, mode: str = "ordered", always_categorical: tuple = (PACKAGE_COLUMN,)):
        self.mode = mode
        self.always_categorical = always_categorical

    def fit(self, X: pd.DataFrame, y=None):
        if self.mode not in ("categorical", "ordered", "both"):
            raise ValueError(f"unknown mode {self.mode!r}")
        self.columns_ = list(X.columns)
        self.categories_ = {}
        self.versions_ = {}
        for c in self.columns_:
            values = sorted(set(X[c].astype(str)), key=version_key)
            self.categories_[c] = {v: i for i, v in enumerate(values)}
            self.versions_[c] = [version_key(v) for v in values if v != ABSENT]
        fixed = [c for c in self.columns_ if c in self.always_categorical]
        versions = [c for c in self.columns_ if c not in self.always_categorical]
        self.categorical_columns_ = (self.columns_ if self.mode in ("categorical", "both")
                                     else fixed)
        self.ordered_columns_ = versions if self.mode in ("ordered", "both") else []
        self.feature_names_out_ = np.array([f"{c}=" for c in self.categorical_columns_] +
                                           [f"{c}<" for c in self.ordered_columns_])
        self.categorical_mask_ = np.array([True] * len(self.categorical_columns_) +
                                          [False] * len(self.ordered_columns_), dtype=bool)
        return self

    def _rank(self, column: str, value: str) -> float:
        if value == ABSENT:
            return np.nan
        keys = self.versions_[column]
        key = version_key(value)
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return float(i)
        return i - 0.5

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        X = align(X, self.columns_)
        out = np.empty((len(X), len(self.feature_names_out_)))
        j = 0
        for c in self.categorical_columns_:
            out[:, j] = X[c].map(self.categories_[c]).astype(float).to_numpy()
            j += 1
        for c in self.ordered_columns_:
            ranks = {v: self._rank(c, v) for v in X[c].unique()}
            out[:, j] = X[c].map(ranks).astype(float).to_numpy()
            j += 1
        return out

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_out_


def align(X: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """X with exactly COLUMNS, in that order; a column X lacks is 'absent' everywhere."""
    out = X.reindex(columns=columns, fill_value=ABSENT)
    return out.fillna(ABSENT).astype(str)


# ---- spec files ---------------------------------------------------------------------------

def load_spec(path: str) -> dict:
    """A spack spec file (YAML, or JSON if it ends in .json) as a dict. Every scalar stays a
    string, so a version such as 1.10 is not read as the number 1.1."""
    with open(path) as f:
        if path.endswith(".json"):
            return json.load(f)
        import yaml  # PyYAML, only needed to read spec YAML
        return yaml.load(f, Loader=yaml.BaseLoader)


def spec_features(spec: dict) -> tuple[str, dict[str, str]]:
    """(root package, feature row) of a spack spec: for every node ``<name>-version``,
    ``<name>-compiler``, ``<name>-compiler_version``, ``<name>-platform``,
    ``<name>-platform_os`` and ``<name>-target``, the names the compats tables use."""
    nodes = spec.get("spec", spec)
    nodes = nodes.get("nodes", nodes) if isinstance(nodes, dict) else nodes
    if not nodes:
        raise ValueError("spec has no nodes")
    row = {}
    for node in nodes:
        name = node["name"]
        row[f"{name}-version"] = str(node.get("version", ABSENT))
        compiler = node.get("compiler") or {}
        if compiler:
            row[f"{name}-compiler"] = str(compiler.get("name", ABSENT))
            row[f"{name}-compiler_version"] = str(compiler.get("version", ABSENT))
        arch = node.get("arch") or {}
        if arch:
            row[f"{name}-platform"] = str(arch.get("platform", ABSENT))
            row[f"{name}-platform_os"] = str(arch.get("platform_os", ABSENT))
            target = arch.get("target", ABSENT)
            row[f"{name}-target"] = str(target.get("name", ABSENT) if isinstance(target, dict)
                                        else target)
    return nodes[0]["name"], row


def spec_hash(spec: dict) -> str | None:
    nodes = spec.get("spec", spec)
    nodes = nodes.get("nodes", nodes) if isinstance(nodes, dict) else nodes
    return nodes[0].get("full_hash") if nodes else None
