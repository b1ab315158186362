"""Build-outcome models (jobrollup.models) on real spack feature tables.

Data: tests/data/spack-features/, a subset (nine packages, all their rows) of the
rainbow-experiments feature tables, outcomes as recorded. Figures of merit (does the model beat
the baselines?) are measured by bench/bench_models.py, not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datetime as dt
import uuid

import numpy as np
import pandas as pd
import pytest
from helpers import write_conf

from jobrollup import documents, sources
from jobrollup.models import advise, baselines, environments, experiments, predict
from jobrollup.cli.models import predict_main, train_main
from jobrollup.models.estimators import make_estimator
from jobrollup.models.features import (VersionEncoder, load_spec, load_tables, spec_features,
                                       version_key)
from jobrollup.models.folds import group_folds, spec_groups, train_dev_test

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "spack-features"
SPECS = DATA / "specs"
FAILED_KK = SPECS / "22bukg4qzkyr7q354imanx5lalugsrjk.yaml"   # kokkos-kernels, failed
BUILT_TRILINOS = SPECS / "225mtrqy24bbgvgqjqlhktujfdg3xybe.yaml"


@pytest.fixture(scope="module")
def tables():
    return load_tables(str(DATA))


@pytest.fixture(scope="module")
def models_store(mongo_server, tmp_path_factory):
    """The MongoDB of these tests: (store, the --mongo-uri/--conf arguments that reach it)."""
    from jobrollup.store.mongo import MongoStore
    database = f"models_{uuid.uuid4().hex[:10]}"
    conf = write_conf(tmp_path_factory.mktemp("models-conf") / "conf.toml", {"mongo": {"database": database}})
    store = MongoStore(mongo_server.uri, database)
    yield store, ["--mongo-uri", mongo_server.uri, "--conf", str(conf)]
    store.client.drop_database(database)
    store.close()


@pytest.fixture(scope="module")
def experiment(tmp_path_factory, models_store):
    out = tmp_path_factory.mktemp("models")
    assert train_main(["--data", str(DATA), "--experiment", "hgb-test", "--seed", "3",
                       "--out-dir", str(out), *models_store[1]]) == 0
    return out, "hgb-test"


# ---- features and folds -----------------------------------------------------------------

def test_versions_sort_like_spack():
    values = ["develop", "1.10", "1.9", "1.10.1", "master", "1.2rc1", "1.2"]
    assert sorted(values, key=version_key) == \
        ["1.2rc1", "1.2", "1.9", "1.10", "1.10.1", "master", "develop"]


def test_unseen_versions_get_ranks_between_their_neighbours():
    train = pd.DataFrame({"cmake-version": ["3.14.1", "3.18.4", "3.20.5", "absent"]})
    enc = VersionEncoder("both").fit(train)
    codes = enc.transform(pd.DataFrame({"cmake-version": ["3.18.4", "3.19.1", "3.22", "absent"]}))
    categorical, ordered = codes[:, 0], codes[:, 1]
    assert np.isnan(categorical[1]) and np.isnan(categorical[2])   # unseen category
    assert ordered[0] == 1 and ordered[1] == 1.5 and ordered[2] == 2.5
    assert np.isnan(ordered[3])                                    # absent is missing


def test_folds_never_share_a_spec(tables):
    for name, t in tables.items():
        X = t.X
        # a duplicate spec under another hash: identical feature row, must stay together
        dup = X.iloc[[0]].copy()
        dup.index = ["duplicate-of-first-row"]
        X2 = pd.concat([X, dup])
        y2 = np.append(t.y, t.y[0])
        groups = spec_groups(X2)
        assert groups[0] == groups[-1]
        folds = group_folds(X2, y2, 10, seed=1, package=name)
        assert folds, name
        covered = np.concatenate([te for _, te in folds])
        assert sorted(covered) == list(range(len(X2)))          # every row tested once
        for train, test in folds:
            assert not set(X2.index[train]) & set(X2.index[test])
            rows_train = set(map(tuple, X2.iloc[train].to_numpy()))
            rows_test = set(map(tuple, X2.iloc[test].to_numpy()))
            assert not rows_train & rows_test, name


def test_train_dev_test_reproducible_from_the_seed(tables):
    t = tables["kokkos"]
    a = train_dev_test(t.X, t.y, seed=7, package="kokkos")
    b = train_dev_test(t.X, t.y, seed=7, package="kokkos")
    c = train_dev_test(t.X, t.y, seed=8, package="kokkos")
    assert all((a[k] == b[k]).all() for k in a)
    assert not (a["test"].shape == c["test"].shape and (a["test"] == c["test"]).all())
    sides = [set(a[k]) for k in ("train", "dev", "test")]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert sum(map(len, sides)) == len(t.y)
    assert 0.1 < len(a["test"]) / len(t.y) < 0.2


def test_estimators_encode_inside_fit(tables):
    """A model fit on part of the rows knows only their categories: the rest are unseen."""
    t = tables["trilinos"]
    half = len(t.y) // 2
    for name in ("nb", "hgb", "hgb-categorical", "logreg"):
        est = make_estimator(name).fit(t.X.iloc[:half], t.y[:half])
        p = est.predict_proba(t.X.iloc[half:])[:, 1]
        assert p.shape == (len(t.y) - half,) and ((p >= 0) & (p <= 1)).all(), name
    nb = make_estimator("nb").fit(t.X.iloc[:half], t.y[:half])
    seen = set(t.X.iloc[:half]["trilinos-version"])
    assert set(nb.encoder_.categories_["trilinos-version"]) == seen


# ---- the published baseline -------------------------------------------------------------

def test_naive_bayes_reproduction_is_close_to_the_published_figures(tables):
    published = baselines.read_published(str(DATA))
    ours, theirs = [], []
    for name in tables:
        got = baselines.published_protocol(str(DATA), name, seed=0)
        want = published[name]
        assert got["splits"] == want["splits"], name
        assert abs(got["accuracy"] - want["accuracy"]) < 0.06, (name, got, want)
        ours.append(got["accuracy"])
        theirs.append(want["accuracy"])
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.02


# ---- commands ---------------------------------------------------------------------------

def test_train_records_the_experiment(experiment, models_store):
    out, name = experiment
    doc = json.loads((out / name / "experiment.json").read_text())
    # the same document in the `models` collection, beside the aggregates
    stored = models_store[0].experiment(name)
    assert stored["metrics"] == doc["metrics"] and stored["seed"] == 3 and stored["model"] == doc["model"]
    assert {d["file"]: d["sha256"] for d in stored["data"]["sha256"]} == doc["data"]["sha256"]
    assert (out / name / "model.joblib").exists()
    assert doc["_id"] == name and doc["seed"] == 3 and doc["model"]["model"] == "hgb"
    assert set(doc["data"]["packages"]) == {p.stem for p in (DATA / "labels").glob("*.csv")}
    assert len(doc["data"]["sha256"]) == 2 * len(doc["data"]["packages"])
    assert "openmpi" in doc["model"]["shared_model_for"]
    assert "kokkos" in doc["model"]["own_models"]
    for side in ("dev", "test"):
        overall = doc["metrics"][side]["overall"]
        for key in ("accuracy", "balanced_accuracy", "roc_auc", "brier"):
            assert 0 <= overall["pooled"][key] <= 1
        assert len(doc["metrics"][side]["reliability"]["rows"]) == 10
    # the test rows of the split never reached the saved model
    model = experiments.load_model(name, str(out))
    for pkg, hashes in doc["split"]["test_full_hash"].items():
        assert not set(hashes) & set(model.training_[pkg][0].index), pkg


def test_list_compares_experiments(experiment, capsys, tmp_path):
    out, name = experiment
    assert train_main(["--data", str(DATA), "--experiment", "nb-test", "--model", "nb",
                       "--threshold", "0.5", "--no-fallback", "--packages", "kokkos,zfp",
                       "--out-dir", str(out), "--no-store"]) == 0
    capsys.readouterr()
    assert train_main(["--list", "--out-dir", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["experiment", "model", "seed"]
    assert [l.split()[0] for l in lines[1:]] == ["hgb-test", "nb-test"]
    assert train_main(["--list", "--out-dir", str(tmp_path)]) == 2   # no experiments: missing input


def test_predict_a_folder_writes_one_object_per_row(experiment, capsys):
    out, name = experiment
    assert predict_main(["--experiment", name, "--out-dir", str(out), "--data", str(DATA),
                         "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = sum(len(pd.read_csv(p, index_col=0)) for p in (DATA / "compats").glob("*.csv")
                   if not p.stem.endswith("-ordinal"))
    assert len(rows) == expected
    assert set(rows[0]) == {"package", "full_hash", "p_success", "success"}
    model = experiments.load_model(name, str(out))
    for r in rows:
        assert 0 <= r["p_success"] <= 1 and isinstance(r["success"], bool)
        assert r["success"] == (r["p_success"] > model.decision_threshold(r["package"]))


def test_predict_a_failed_spec_explains_and_advises(experiment, capsys):
    out, name = experiment
    assert predict_main(["--experiment", name, "--out-dir", str(out), str(FAILED_KK)]) == 0
    text = capsys.readouterr().out
    assert "package kokkos-kernels" in text and "P(success) =" in text
    assert "observed: FAILURE" in text
    assert "what drives it" in text and "kokkos-kernels-version" in text
    assert "most similar specs that built successfully" in text and "instead of" in text


def test_advice_points_at_successful_specs(experiment):
    out, name = experiment
    model = experiments.load_model(name, str(out))
    package, row = spec_features(load_spec(str(FAILED_KK)))
    similar = advise.similar_successes(model, package, row, k=3)
    X, y = model.training_[package]
    built = set(X.index[y == 1])
    assert len(similar) == 3 and all(s["full_hash"] in built for s in similar)
    assert [s["distance"] for s in similar] == sorted(s["distance"] for s in similar)
    for s in similar:
        assert len(s["changes"]) == s["distance"] >= 1
        assert advise.describe_difference(s).count("instead of") == s["distance"]
    effects = predict.explain(model, package, row)
    assert effects and all(e["feature"] in model.columns(package) for e in effects)


def test_predict_a_built_spec_and_a_hash(experiment, capsys):
    out, name = experiment
    assert predict_main(["--experiment", name, "--out-dir", str(out), str(BUILT_TRILINOS)]) == 0
    text = capsys.readouterr().out
    assert "package trilinos" in text and "P(success) =" in text
    model = experiments.load_model(name, str(out))
    some_hash = model.training_["zfp"][0].index[0]
    assert predict_main(["--experiment", name, "--out-dir", str(out), some_hash]) == 0
    assert "package zfp" in capsys.readouterr().out
    assert predict_main(["--experiment", name, "--out-dir", str(out), "no-such-hash"]) == 2


# ---- nightly: scores of new builds, surprises, error clusters of a failed spec ----------------

def test_score_builds_writes_scores_and_lists_the_surprises(experiment, models_store, tmp_path, capsys):
    """A day of builds as bin/import-spack writes them: the model's confident successes among them
    failed and a confident failure built. Every build is scored (the same P(success) as the model
    gives the row), and exactly those are the surprises, in MongoDB and in --surprises."""
    out, name = experiment
    store, connection = models_store
    model = experiments.load_model(name, str(out))
    X = pd.read_csv(DATA / "compats" / "trilinos.csv", index_col=0, dtype=str, keep_default_na=False)
    p, _ = model.predict("trilinos", X.replace("", "absent"))
    confident = [h for h, v in zip(X.index, p) if v >= 0.9][:3]
    doubtful = [h for h, v in zip(X.index, p) if v <= 0.1][:1]
    plain = [h for h, v in zip(X.index, p) if 0.3 < v < 0.7][:2]
    builds = ([{"package": "trilinos", "spec_hash": h, "status": "failed"} for h in confident]
              + [{"package": "trilinos", "spec_hash": h, "status": "success"} for h in doubtful + plain])
    for build in builds:
        build["features"] = X.loc[build["spec_hash"]].to_dict()
    builds.append({"package": "llvm", "build_id": "1", "status": "success"})        # no features
    day = tmp_path / "builds" / "2026" / "11" / "20"
    day.mkdir(parents=True)
    (day / "builds-x.jsonl").write_text("".join(json.dumps(b) + "\n" for b in builds) + "{cut\n")
    args = ["--experiment", name, "--out-dir", str(out), *connection]
    assert predict_main([*args, "--score-builds", "2026-11-20", "--input", str(tmp_path / "builds")]) == 0
    text = capsys.readouterr().out
    assert "7 read, 6 scored, 1 unreadable lines, 1 unscored: no features" in " ".join(text.split())
    stored = {d["spec_hash"]: d for d in store.predictions(dt.datetime(2026, 11, 20), dt.datetime(2026, 11, 21), name)}
    assert set(stored) == set(confident + doubtful + plain)
    want = dict(zip(X.index, p))
    assert all(abs(d["p_success"] - want[h]) < 1e-6 for h, d in stored.items())
    surprising = {h: d["surprise"] for h, d in stored.items() if d["surprise"]}
    assert surprising == {**{h: "failed_predicted_success" for h in confident},
                          **{h: "succeeded_predicted_failure" for h in doubtful}}
    # again: the same documents, nothing twice
    assert predict_main([*args, "--score-builds", "2026-11-20", "--input", str(tmp_path / "builds")]) == 0
    capsys.readouterr()
    assert len(store.predictions(dt.datetime(2026, 11, 20), dt.datetime(2026, 11, 21), name)) == 6
    assert predict_main(["--surprises", "--from", "2026-11-20", "--to", "2026-11-20", "--format", "json",
                         *connection]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["spec_hash"]: r["surprise"] for r in listed} == surprising
    assert [abs(r["p_success"] - 0.5) for r in listed] == sorted((abs(r["p_success"] - 0.5) for r in listed), reverse=True)


def test_a_failed_spec_shows_the_error_clusters_of_its_log(experiment, models_store, capsys):
    """spack_errors documents of the failed spec (a day and, rolled up from it elsewhere, nothing
    twice: only held buckets count) -> its clusters with their labels and counts."""
    out, name = experiment
    store, connection = models_store
    spack_errors = sources.get("spack_errors")
    full_hash = FAILED_KK.stem
    rows = [{"bucket_epoch": 1795132800, "package": "kokkos-kernels", "spec_hash": full_hash, "kind": "error",
             "phase": None, "source_file": None, "cluster": cluster, "template": f"error: kind {cluster}",
             "count": n} for cluster, n in ((7, 5), (9, 2))]
    rows.append({**rows[0], "spec_hash": "o" * 32, "count": 40})      # another spec's errors
    store.replace_documents(spack_errors.collection, documents.to_documents(rows, spack_errors, "day", "r1"))
    day = dt.datetime(2026, 11, 20)
    from jobrollup.tiers import Window
    store.mark_buckets(spack_errors, Window("day", day, day + dt.timedelta(days=1)),
                       {day: {"count": 47, "documents": 3}}, "r1", "test")
    store.update_clusters([(7, {"$set": {"label": "error: undefined reference to <Q>"}}),
                           (9, {"$set": {"label": "make: *** [<TARGET>] Error <NUM>"}})])
    assert predict_main(["--experiment", name, "--out-dir", str(out), *connection, str(FAILED_KK)]) == 0
    text = capsys.readouterr().out
    assert "error clusters of this spec's build log (spack_errors):" in text
    lines = text.split("error clusters of this spec's build log (spack_errors):")[1].strip().splitlines()
    assert lines[0].split()[:4] == ["5", "x", "cluster", "7"] and "undefined reference" in lines[0]
    assert lines[1].split()[:4] == ["2", "x", "cluster", "9"] and len(lines) == 2


# ---- environments -----------------------------------------------------------------------

def test_random_environments_are_seeded():
    a = environments.random_environments(str(DATA / "cluster-features.json"), 20, seed=5,
                                         own_columns={"kokkos-version"})
    b = environments.random_environments(str(DATA / "cluster-features.json"), 20, seed=5)
    assert list(a) == list(b) and len(a) == 20
    features = json.loads((DATA / "cluster-features.json").read_text())
    assert all(set(env) == set(features) for env in a.values())
    assert all(env["kokkos-version"] != "absent" for env in a.values())


def test_environment_scores(experiment, tmp_path, capsys):
    out, name = experiment
    model = experiments.load_model(name, str(out))
    envs = environments.random_environments(str(DATA / "cluster-features.json"), 50, seed=1)
    envs["site-a"] = {"compiler_version": "9.3.1", "kokkos-version": "3.4.01"}
    scores = environments.score(model, envs)
    assert scores.shape == (len(model.columns_), 51)
    assert ((scores.to_numpy() >= 0) & (scores.to_numpy() <= 1)).all()
    table = environments.summarise(scores)
    assert (table["possible"] == len(model.columns_)).all()
    assert np.allclose(table["fraction"], table["score"] / table["possible"])
    assert table["fraction"].is_monotonic_decreasing
    # a dashless key applies to every matching column
    assert environments.expand(envs["site-a"], ["papi-compiler_version"]) == \
        {"papi-compiler_version": "9.3.1"}
    png, csv = tmp_path / "envs.png", tmp_path / "envs.csv"
    assert predict_main(["--experiment", name, "--out-dir", str(out),
                         "--random-environments", "30", "--seed", "2",
                         "--cluster-features", str(DATA / "cluster-features.json"),
                         "--heatmap", str(png), "--table", str(csv)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(pd.read_csv(csv)) == 30
    assert "30 environments" in capsys.readouterr().out


def test_bin_scripts(experiment):
    """bin/train and bin/predict run the commands."""
    out, name = experiment
    env = {**os.environ, "JOBROLLUP_PYTHON": sys.executable}
    res = subprocess.run([str(ROOT / "bin" / "train"), "--list", "--out-dir", str(out)],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 0 and name in res.stdout
    res = subprocess.run([str(ROOT / "bin" / "predict"), "--experiment", name, "--out-dir",
                          str(out), str(FAILED_KK)], capture_output=True, text=True, env=env)
    assert res.returncode == 0 and "P(success)" in res.stdout
