#!/usr/bin/env python
"""Build-outcome models: the chosen model next to both baselines on the same honest folds.

    .venv/bin/python bench/bench_models.py                                # all 49 packages
    .venv/bin/python bench/bench_models.py --model hgb-categorical        # another estimator
    .venv/bin/python bench/bench_models.py --data tests/data/spack-features --folds 5
    # more: --param KEY=VALUE --seed N --json results.json --reliability curve.png

Data: a folder laid out like ../shared/data/spack/features/ (default).

1. The published baseline, reproduced as it was computed (baselines.published_protocol:
   CategoricalNB on the -ordinal codes, KFold(10, shuffle) accuracy, training accuracy where a
   split failed), next to the published figure of every package.
2. Honest 10-fold cross-validation (folds.group_folds: spec groups, stratified, seeded),
   the same folds for every model; for each fold one BuildOutcomeModel is fit on the
   training rows of all packages and predicts the test rows:
   - majority: the training share of successes, decision at 0.5;
   - nb: the published model (categorical naive Bayes per package), encoders fit per fold,
     decision at 0.5, no fallback (as published);
   - the model (default: hgb, per-package boosted trees on ordered versions, shared fallback,
     threshold chosen on the training rows).
   Printed per package: rows, failures, and accuracy, balanced accuracy, ROC AUC and Brier
   score of each model on its out-of-fold predictions; then the overall figures (mean over
   packages, mean over the packages with at least 10 builds of each outcome, and pooled
   over all rows), how many packages the model wins on balanced accuracy / Brier against nb,
   the pooled reliability curves, the training time (per fold, and one fit on all rows) and
   predictions per second (batch: every row of every package; single: one spec at a time).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from jobrollup.models import baselines, metrics  # noqa: E402
from jobrollup.cli.models import _params  # noqa: E402
from jobrollup.models.experiments import cross_validate  # noqa: E402
from jobrollup.models.features import load_tables  # noqa: E402
from jobrollup.models.outcomes import BuildOutcomeModel  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "spack" / "features"
KEYS = ("accuracy", "balanced_accuracy", "roc_auc", "brier")
SHORT = {"accuracy": "acc", "balanced_accuracy": "bacc", "roc_auc": "auc", "brier": "brier"}


def f(v, width=5):
    return "-".rjust(width) if v is None else f"{v:.3f}".rjust(width)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--model", default="hgb")
    ap.add_argument("--param", action="append", metavar="KEY=VALUE")
    ap.add_argument("--shared-param", action="append", metavar="KEY=VALUE")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--reliability", help="write the reliability curves as a PNG")
    args = ap.parse_args(argv)

    tables = load_tables(args.data)
    print(f"data: {args.data}: {len(tables)} packages, "
          f"{sum(len(t.y) for t in tables.values())} builds, "
          f"{sum(int((t.y == 0).sum()) for t in tables.values())} failed")

    # 1. the published baseline, as computed
    published = baselines.read_published(args.data)
    repro = {p: baselines.published_protocol(args.data, p, seed=args.seed) for p in tables}
    both = [p for p in tables if p in published and repro[p] is not None]
    print("\n1. published naive Bayes, reproduced with its own protocol (KFold, no groups, "
          "encoder fit on all rows)")
    print(f"{'package':<17}{'published':>10}{'splits':>7}{'reproduced':>11}{'splits':>7}")
    for p in both:
        print(f"{p:<17}{published[p]['accuracy']:10.3f}{published[p]['splits']:7d}"
              f"{repro[p]['accuracy']:11.3f}{repro[p]['splits']:7d}")
    resub = [p for p in both if published[p]["splits"] == 1]
    print(f"{'mean':<17}{np.mean([published[p]['accuracy'] for p in both]):10.3f}"
          f"{'':7}{np.mean([repro[p]['accuracy'] for p in both]):11.3f}   "
          f"({len(both)} packages; {len(resub)} published figures are training accuracy, "
          f"splits = 1)")

    # 2. honest folds, three models
    params = _params(args.param)
    shared = _params(args.shared_param) if args.shared_param else None
    makers = {
        "majority": lambda: BuildOutcomeModel("majority", fallback=False, threshold=0.5,
                                              keep_training_rows=False),
        "nb": lambda: BuildOutcomeModel("nb", fallback=False, threshold=0.5,
                                        keep_training_rows=False),
        args.model: lambda: BuildOutcomeModel(args.model, params, shared_params=shared,
                                              keep_training_rows=False),
    }
    names = list(makers)
    evaluated, fit_times = {}, {}
    for name, make in makers.items():
        cv = cross_validate(tables, make, args.folds, args.seed)
        evaluated[name] = metrics.evaluate(cv["results"])
        fit_times[name] = cv["fit_seconds"]
    model = names[-1]

    print(f"\n2. honest {args.folds}-fold cross-validation (spec groups, seed {args.seed}), "
          f"same folds for every model; out-of-fold figures")
    head = f"{'package':<17}{'rows':>5}{'fail':>5} "
    for name in names:
        head += " | " + " ".join(f"{SHORT[k]:>5}" for k in KEYS) + f"  {name}"[:0]
    print(" " * 28 + "".join(f" | {n:^23}" for n in names))
    print(head)
    packages = sorted(evaluated[model]["packages"])
    for p in packages:
        s0 = evaluated[model]["packages"][p]
        line = f"{p:<17}{s0['rows']:5d}{s0['failures']:5d} "
        for name in names:
            s = evaluated[name]["packages"].get(p, {})
            line += " | " + " ".join(f(s.get(k)) for k in KEYS)
        print(line)

    def row(label, figs):
        line = f"{label:<28}"
        for name in names:
            line += " | " + " ".join(f(figs[name].get(k)) for k in KEYS)
        print(line)

    both_outcomes = [p for p in packages
                     if evaluated[model]["packages"][p]["failures"] >= 10 and
                     evaluated[model]["packages"][p]["rows"] -
                     evaluated[model]["packages"][p]["failures"] >= 10]

    def mean_over(name, subset):
        out = {}
        for k in KEYS:
            vals = [evaluated[name]["packages"][p][k] for p in subset
                    if evaluated[name]["packages"][p][k] is not None]
            out[k] = float(np.mean(vals)) if vals else None
        return out

    print()
    row("mean over packages", {n: evaluated[n]["overall"]["mean"] for n in names})
    row(f"mean, {len(both_outcomes)} pkgs >=10 each", {n: mean_over(n, both_outcomes)
                                                       for n in names})
    row("pooled over all rows", {n: evaluated[n]["overall"]["pooled"] for n in names})
    counted = evaluated[model]["overall"]["mean"]["balanced_accuracy_packages"]
    print(f"(balanced accuracy and AUC: mean over the {counted} packages whose rows have both "
          f"outcomes)")

    wins = {}
    for k, better in (("balanced_accuracy", 1), ("roc_auc", 1), ("brier", -1),
                      ("accuracy", 1)):
        w = t = l = 0
        for p in packages:
            a = evaluated[model]["packages"][p][k]
            b = evaluated["nb"]["packages"][p][k]
            if a is None or b is None:
                continue
            d = (a - b) * better
            w, t, l = w + (d > 1e-9), t + (abs(d) <= 1e-9), l + (d < -1e-9)
        wins[k] = {"better": w, "tie": t, "worse": l}
        print(f"{model} vs nb on {SHORT[k]}: better on {w}, tie on {t}, worse on {l} packages")

    print("\npooled reliability (bins of predicted P(success): mean predicted / observed / rows)")
    for name in names:
        rel = evaluated[name]["reliability"]
        cells = [f"{pr:.2f}/{ob:.2f}/{n}" for pr, ob, n in
                 zip(rel["predicted"], rel["observed"], rel["rows"]) if n]
        print(f"  {name:<10} " + "  ".join(cells))

    # training time and prediction speed of the model
    t0 = time.perf_counter()
    final = BuildOutcomeModel(args.model, params, shared_params=shared,
                              keep_training_rows=False).fit(tables)
    fit_all = time.perf_counter() - t0
    n_rows = sum(len(t.y) for t in tables.values())
    t0 = time.perf_counter()
    for p, t in tables.items():
        final.predict(p, t.X)
    batch = n_rows / (time.perf_counter() - t0)
    singles = [(p, t.X.iloc[[i]]) for p, t in tables.items() for i in range(0, len(t.y), 25)]
    t0 = time.perf_counter()
    for p, x in singles:
        final.predict(p, x)
    single = len(singles) / (time.perf_counter() - t0)
    print(f"\ntraining time: {args.model}: {np.mean(fit_times[model]):.1f} s per fold "
          f"(all packages + shared fallback), {fit_all:.1f} s on all {n_rows} rows; "
          f"nb {np.mean(fit_times['nb']):.2f} s per fold")
    print(f"predictions per second ({args.model}): {batch:,.0f} in batches (one call per "
          f"package), {single:,.0f} one spec at a time")

    if args.reliability:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot([0, 1], [0, 1], ":", color="grey")
        for name in names:
            rel = evaluated[name]["reliability"]
            pts = [(pr, ob) for pr, ob, n in zip(rel["predicted"], rel["observed"],
                                                rel["rows"]) if n]
            ax.plot(*zip(*pts), marker="o", label=name)
        ax.set_xlabel("predicted P(success)")
        ax.set_ylabel("observed share of successes")
        ax.set_title("reliability, out-of-fold, pooled")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.reliability, dpi=110)
        print(f"reliability curves written: {args.reliability}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"published": published, "reproduced": repro, "evaluated": evaluated,
                       "wins_vs_nb": wins, "fit_seconds": fit_times, "fit_all": fit_all,
                       "predictions_per_second": {"batch": batch, "single": single},
                       "model": args.model, "params": params, "seed": args.seed,
                       "folds": args.folds}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
