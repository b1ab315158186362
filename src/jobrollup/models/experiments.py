"""Experiments: train, evaluate and record a BuildOutcomeModel reproducibly.

An experiment NAME lives in one folder (var/models/NAME by default):

- ``model.joblib``: the fitted BuildOutcomeModel (per-package estimators, shared fallback,
  thresholds, and the training rows that bin/predict uses to advise);
- ``experiment.json``: one JSON document with the data selection (folder, packages, rows,
  sha256 of every file read), the model and its parameters, the seed, the split sizes, the
  metrics on the dev and test rows, the training time and library versions. It is written
  by :func:`write_experiment` only; bin/train also records the same document (see
  :func:`storable`) in the store's ``models`` collection, beside the aggregates.

Splits are by spec group (folds.train_dev_test), reproducible from the seed. The model is
fit on train and scored on dev and test; the saved model is then refit on train + dev (the
test rows never reach it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time

import joblib
import numpy as np

from . import metrics
from .features import PackageTable, file_digest, load_tables
from .folds import group_folds, train_dev_test
from .outcomes import BuildOutcomeModel

DEFAULT_OUT = os.path.join("var", "models")
DEFAULT_MODEL = "hgb"
EXPERIMENT_FILE = "experiment.json"
MODEL_FILE = "model.joblib"


def subset(tables: dict[str, PackageTable], index: dict[str, np.ndarray]) -> dict:
    out = {}
    for name, t in tables.items():
        rows = index.get(name)
        if rows is None or len(rows) == 0:
            continue
        out[name] = PackageTable(name, t.X.iloc[rows], np.asarray(t.y)[rows])
    return out


def predict_tables(model: BuildOutcomeModel, tables: dict[str, PackageTable]) -> dict:
    """{package: (y, p, decision)} for every table."""
    out = {}
    for name, t in tables.items():
        p, d = model.predict(name, t.X)
        out[name] = (np.asarray(t.y), p, d)
    return out


def cross_validate(tables: dict[str, PackageTable], make_model, n_splits: int = 10,
                   seed: int = 0) -> dict:
    """Out-of-fold predictions: every package's rows are split into N_SPLITS honest folds
    (folds.group_folds); for fold k one model (MAKE_MODEL()) is fit on fold k's training rows
    of all packages (so the shared fallback never sees a test row either) and predicts fold
    k's test rows. Returns {package: (y, p, decision)} in row order, plus the fit times."""
    folds = {name: group_folds(t.X, t.y, n_splits, seed, name) for name, t in tables.items()}
    p = {name: np.full(len(t.y), np.nan) for name, t in tables.items()}
    d = {name: np.zeros(len(t.y), int) for name, t in tables.items()}
    fit_seconds = []
    for k in range(n_splits):
        train = {n: f[k][0] for n, f in folds.items() if k < len(f)}
        test = {n: f[k][1] for n, f in folds.items() if k < len(f)}
        if not test:
            break
        t0 = time.perf_counter()
        model = make_model().fit(subset(tables, train))
        fit_seconds.append(time.perf_counter() - t0)
        for name, rows in test.items():
            pk, dk = model.predict(name, tables[name].X.iloc[rows])
            p[name][rows] = pk
            d[name][rows] = dk
    results = {}
    for name, t in tables.items():
        done = ~np.isnan(p[name])
        if done.any():
            results[name] = (np.asarray(t.y)[done], p[name][done], d[name][done])
    return {"results": results, "fit_seconds": fit_seconds, "folds": folds}


def data_selection(data_dir: str, tables: dict[str, PackageTable]) -> dict:
    files = {}
    for name in tables:
        for sub in ("compats", "labels"):
            path = os.path.join(data_dir, sub, f"{name}.csv")
            files[f"{sub}/{name}.csv"] = file_digest(path)
    return {"dir": os.path.abspath(data_dir),
            "packages": {n: {"rows": int(len(t.y)), "failures": int((t.y == 0).sum()),
                             "columns": list(t.X.columns)} for n, t in tables.items()},
            "rows": int(sum(len(t.y) for t in tables.values())),
            "sha256": files}


def train_experiment(data_dir: str, name: str, model: str = DEFAULT_MODEL,
                     params: dict | None = None, shared_params: dict | None = None,
                     seed: int = 0,
                     out_dir: str = DEFAULT_OUT, packages: list[str] | None = None,
                     fallback: bool = True, threshold="halfway") -> dict:
    """Train experiment NAME on DATA_DIR and write its folder; returns the document."""
    params = dict(params or {})
    if "random_state" in _param_names(model):
        params.setdefault("random_state", seed)
    tables = load_tables(data_dir, packages)
    if not tables:
        raise ValueError(f"no labelled feature tables in {data_dir}")
    splits = {n: train_dev_test(t.X, t.y, seed, n) for n, t in tables.items()}
    make = lambda: BuildOutcomeModel(model, params, shared_params=shared_params,
                                     fallback=fallback, threshold=threshold)

    t0 = time.perf_counter()
    fitted = make().fit(subset(tables, {n: s["train"] for n, s in splits.items()}))
    fit_seconds = time.perf_counter() - t0
    evaluation = {}
    for side in ("dev", "test"):
        part = subset(tables, {n: s[side] for n, s in splits.items()})
        evaluation[side] = metrics.evaluate(predict_tables(fitted, part))

    t0 = time.perf_counter()
    final = make().fit(subset(tables, {n: np.concatenate([s["train"], s["dev"]])
                                       for n, s in splits.items()}))
    final_seconds = time.perf_counter() - t0

    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    joblib.dump(final, os.path.join(folder, MODEL_FILE))
    doc = {
        "_id": name,
        "experiment": name,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data": data_selection(data_dir, tables),
        "model": {**final.describe(), "estimator": repr(final.packages_[next(iter(
            final.packages_))]) if final.packages_ else None},
        "seed": seed,
        "split": {"method": "stratified by outcome over spec groups (full_hash or identical "
                            "feature row), per package; dev 15%, test 15%",
                  "rows": {side: int(sum(len(s[side]) for s in splits.values()))
                           for side in ("train", "dev", "test")},
                  "test_full_hash": {n: sorted(tables[n].X.index[s["test"]].tolist())
                                     for n, s in splits.items()}},
        "metrics": evaluation,
        "training_seconds": {"train": round(fit_seconds, 3), "final": round(final_seconds, 3)},
        "files": {"model": MODEL_FILE},
        "versions": _versions(),
    }
    write_experiment(doc, folder)
    return doc


def write_experiment(doc: dict, folder: str) -> str:
    """Write experiment DOC as FOLDER/experiment.json (the one place experiment metadata is
    written; a MongoDB ``models`` collection can take the same document, _id = name)."""
    path = os.path.join(folder, EXPERIMENT_FILE)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False, default=_jsonable)
    os.replace(tmp, path)
    return path


def storable(doc: dict) -> dict:
    """The experiment document as the `models` collection keeps it: plain JSON values, and the
    file digests as a list (file names hold dots, which MongoDB field names should not)."""
    plain = json.loads(json.dumps(doc, default=_jsonable))
    plain["data"]["sha256"] = [{"file": f, "sha256": h} for f, h in sorted(plain["data"].get("sha256", {}).items())]
    return plain


def read_experiment(name: str, out_dir: str = DEFAULT_OUT) -> dict:
    with open(os.path.join(out_dir, name, EXPERIMENT_FILE)) as f:
        return json.load(f)


def load_model(name: str, out_dir: str = DEFAULT_OUT) -> BuildOutcomeModel:
    path = os.path.join(out_dir, name, MODEL_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no experiment {name!r} in {out_dir} (no {path})")
    return joblib.load(path)


def list_experiments(out_dir: str = DEFAULT_OUT) -> list[dict]:
    docs = []
    if not os.path.isdir(out_dir):
        return docs
    for name in sorted(os.listdir(out_dir)):
        path = os.path.join(out_dir, name, EXPERIMENT_FILE)
        if os.path.exists(path):
            with open(path) as f:
                docs.append(json.load(f))
    return docs


def format_list(docs: list[dict]) -> str:
    """Experiments side by side: model, seed, rows, then dev and test figures (mean over
    packages) and training time."""
    head = ["experiment", "model", "seed", "pkgs", "rows",
            "dev acc", "dev bacc", "dev auc", "dev brier",
            "test acc", "test bacc", "test auc", "test brier", "fit s", "created"]
    rows = [head]
    for d in docs:
        m = d.get("metrics", {})
        row = [d.get("experiment", "?"), d.get("model", {}).get("model", "?"),
               str(d.get("seed")), str(len(d.get("data", {}).get("packages", {}))),
               str(d.get("data", {}).get("rows", ""))]
        for side in ("dev", "test"):
            mean = m.get(side, {}).get("overall", {}).get("mean", {})
            for k in ("accuracy", "balanced_accuracy", "roc_auc", "brier"):
                v = mean.get(k)
                row.append("-" if v is None else f"{v:.3f}")
        row.append(f"{d.get('training_seconds', {}).get('train', 0):.1f}")
        row.append(d.get("created", ""))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _param_names(model: str) -> set:
    from .estimators import MODELS
    cls = MODELS[model][0]
    return set(cls().get_params())


def _versions() -> dict:
    import pandas
    import sklearn
    return {"python": platform.python_version(), "sklearn": sklearn.__version__,
            "numpy": np.__version__, "pandas": pandas.__version__}


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
