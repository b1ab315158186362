"""Argument parsing for bin/train and bin/predict (jobrollup.cli.train / .predict call these):
thin wiring over jobrollup.models."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..exits import UsageError
from ..models import advise, environments, experiments, predict
from ..models.estimators import MODELS
from ..models.features import load_spec, spec_features, spec_hash
from . import checks, common

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

TRAIN_EXAMPLES = """\
examples:
  bin/train --data ../shared/data/spack/features --experiment hgb-1 --seed 1
  bin/train --data DIR --experiment nb-1 --model nb --threshold 0.5 --no-fallback
  bin/train --data DIR --experiment hgb-leaf5 --param min_samples_leaf=5
  bin/train --list                       experiments side by side (dev and test figures)
"""

PREDICT_EXAMPLES = """\
examples:
  bin/predict --experiment hgb-1 --data DIR --format json > predictions.jsonl
  bin/predict --experiment hgb-1 spec.yaml        P(success), what drives it, advice if failing
  bin/predict --experiment hgb-1 FULL_HASH        a spec of the training data, by its full_hash
  bin/predict --experiment hgb-1 --random-environments 1000 --heatmap envs.png --table envs.csv
  bin/predict --experiment hgb-1 --environments sites.json --heatmap sites.png
"""


def _params(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--param wants KEY=VALUE, not {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _threshold(text: str):
    if text in ("prior", "halfway"):
        return text
    try:
        return checks.share(text)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"'prior', 'halfway' or a number: {error}") from None


def train_main(argv=None) -> int:
    return common.run(_train, argv)


def _train(argv) -> int:
    ap = common.Parser(
        prog="bin/train", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train build-outcome models on a folder laid out like features/ "
                    "(labels/<package>.csv, compats/<package>.csv) and record the experiment.",
        epilog=TRAIN_EXAMPLES)
    ap.add_argument("--data", help="folder with labels/ and compats/")
    ap.add_argument("--experiment", help="experiment name (folder under --out-dir)")
    ap.add_argument("--model", default=experiments.DEFAULT_MODEL, choices=sorted(MODELS),
                    help=f"estimator (default {experiments.DEFAULT_MODEL})")
    ap.add_argument("--param", action="append", metavar="KEY=VALUE",
                    help="estimator parameter, repeatable (values read as JSON if they can)")
    ap.add_argument("--shared-param", action="append", metavar="KEY=VALUE",
                    help="parameter of the shared fallback model only, repeatable")
    ap.add_argument("--seed", type=int, default=0, help="seed of the splits and the model")
    ap.add_argument("--packages", help="comma-separated packages (default: all)")
    ap.add_argument("--no-fallback", action="store_true",
                    help="one model per package, no shared fallback model")
    ap.add_argument("--threshold", default="halfway", type=_threshold,
                    help="decision threshold per package: 'halfway' between 0.5 and the "
                         "training share of successes (default), 'prior' (that share), or a "
                         "number such as 0.5")
    ap.add_argument("--out-dir", default=experiments.DEFAULT_OUT,
                    help=f"where experiments live (default {experiments.DEFAULT_OUT})")
    ap.add_argument("--list", action="store_true", help="compare the experiments in --out-dir")
    args = ap.parse_args(argv)
    if args.list:
        docs = experiments.list_experiments(args.out_dir)
        if not docs:
            raise UsageError(f"no experiments in {args.out_dir}")
        print(experiments.format_list(docs))
        return EXIT_OK
    if not args.data or not args.experiment:
        ap.error("--data and --experiment are needed (or --list)")
    threshold = args.threshold
    params = _params(args.param)
    shared_params = _params(args.shared_param) if args.shared_param else None
    checks.readable_folder(args.data, "--data folder")
    checks.writable_folder(os.path.join(args.out_dir, args.experiment), "experiment folder")
    try:
        doc = experiments.train_experiment(
            args.data, args.experiment, model=args.model, params=params, shared_params=shared_params,
            seed=args.seed, out_dir=args.out_dir,
            packages=args.packages.split(",") if args.packages else None,
            fallback=not args.no_fallback, threshold=threshold)
    except (OSError, ValueError) as e:   # unreadable tables, parameters the estimator refuses
        raise UsageError(str(e).splitlines()[0] if str(e) else type(e).__name__) from None
    folder = os.path.join(args.out_dir, args.experiment)
    print(f"experiment {args.experiment}: {len(doc['data']['packages'])} packages, "
          f"{doc['split']['rows']} rows, model {args.model}, seed {args.seed}")
    for side in ("dev", "test"):
        mean = doc["metrics"][side]["overall"]["mean"]
        pooled = doc["metrics"][side]["overall"]["pooled"]
        print(f"  {side:4s} mean over packages: " + _fig(mean) + "   pooled: " + _fig(pooled))
    print(f"  written: {folder}/{experiments.MODEL_FILE}, {folder}/{experiments.EXPERIMENT_FILE}")
    return EXIT_OK


def _fig(m: dict) -> str:
    def f(v):
        return "-" if v is None else f"{v:.3f}"
    return (f"acc {f(m.get('accuracy'))} bacc {f(m.get('balanced_accuracy'))} "
            f"auc {f(m.get('roc_auc'))} brier {f(m.get('brier'))}")


def predict_main(argv=None) -> int:
    return common.run(_predict, argv)


def _predict(argv) -> int:
    ap = common.Parser(
        prog="bin/predict", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Predict build outcomes with a trained experiment: for a folder of "
                    "feature tables, for one spec (with advice), or for environments.",
        epilog=PREDICT_EXAMPLES)
    ap.add_argument("spec", nargs="?", help="a spec YAML/JSON file, or a full_hash of the "
                                            "experiment's training data")
    ap.add_argument("--experiment", required=True)
    ap.add_argument("--out-dir", default=experiments.DEFAULT_OUT)
    ap.add_argument("--data", help="folder with compats/<package>.csv to score")
    ap.add_argument("--format", default="json", choices=["json"],
                    help="output of --data: one JSON object per line (default)")
    ap.add_argument("--similar", type=checks.count, default=3, help="successful specs to show")
    ap.add_argument("--environments", help="environments file (JSON or CSV)")
    ap.add_argument("--random-environments", type=checks.positive_count, metavar="N",
                    help="N random environments from cluster-features.json")
    ap.add_argument("--cluster-features", help="cluster-features.json (default: the one "
                                               "beside the experiment's training data)")
    ap.add_argument("--seed", type=int, default=0, help="seed of --random-environments")
    ap.add_argument("--heatmap", help="write a packages × environments heatmap PNG")
    ap.add_argument("--table", help="write the per-environment table as CSV")
    ap.add_argument("--scores", help="write every P(success), packages × environments, CSV")
    ap.add_argument("--top", type=checks.positive_count, default=10, help="environments to print at each end")
    args = ap.parse_args(argv)
    modes = [bool(args.spec), bool(args.data), bool(args.environments or args.random_environments)]
    if sum(modes) != 1:
        ap.error("give exactly one of SPEC, --data, --environments/--random-environments")
    if args.data:
        checks.readable_folder(args.data, "--data folder")
    for option, path in (("--environments", args.environments), ("--cluster-features", args.cluster_features)):
        if path:
            checks.readable_file(path, option)
    for option, path in (("--heatmap", args.heatmap), ("--table", args.table), ("--scores", args.scores)):
        if path:
            checks.writable_file(path, option)
    try:
        model = experiments.load_model(args.experiment, args.out_dir)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    if args.data:
        for row in predict.predict_dir(model, args.data):
            sys.stdout.write(json.dumps(row) + "\n")
        return EXIT_OK
    if args.spec:
        return _predict_spec(model, args)
    return _environments(model, args)


def _predict_spec(model, args) -> int:
    observed = None
    if os.path.exists(args.spec):
        import yaml
        try:
            spec = load_spec(args.spec)
            package, row = spec_features(spec)
        except (OSError, ValueError, AttributeError, TypeError, KeyError, yaml.YAMLError) as error:
            raise UsageError(f"{args.spec} is not a readable spack spec: "
                             f"{(str(error).splitlines() or [type(error).__name__])[0][:200]}") from None
        full_hash = spec_hash(spec)
    else:
        found = [(p, X, y) for p, (X, y) in model.training_.items() if args.spec in X.index]
        if not found:
            raise UsageError(f"{args.spec} is neither a file nor a full_hash of the training data")
        package, X, y = found[0]
        full_hash = args.spec
        row = X.loc[full_hash].to_dict()
        observed = int(y[list(X.index).index(full_hash)])
    if full_hash and package in model.training_ and observed is None:
        X, y = model.training_[package]
        if full_hash in X.index:
            observed = int(y[list(X.index).index(full_hash)])
    columns = model.columns(package)
    import pandas as pd
    frame = pd.DataFrame([{c: row.get(c, "absent") for c in columns}])
    p, decision = model.predict(package, frame)
    src = model.source(package)
    print(f"package {package}  full_hash {full_hash or '-'}")
    print(f"P(success) = {p[0]:.3f}  -> predicted {'success' if decision[0] else 'FAILURE'} "
          f"(threshold {model.decision_threshold(package):.3f}, "
          f"{'own model' if src == 'package' else 'shared fallback model'})")
    if observed is not None:
        print(f"observed: {'success' if observed else 'FAILURE'} (spec is in the training data)")
    if package not in model.columns_:
        print(f"{package} was not in the training data: the shared model answers from the "
              f"versions it shares with other packages")
    known = [c for c in columns if c in row]
    missing = [c for c in columns if c not in row]
    shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
    print(f"features: {len(known)} of the model's {len(columns)} columns set by the spec"
          + (f" (absent: {shown})" if missing else ""))
    effects = predict.explain(model, package, row)
    if effects:
        print("what drives it (effect of this value on P(success) vs the usual values):")
        for e in effects:
            print(f"  {e['feature']:<28} {e['value']:<14} {e['effect']:+.3f}")
    if not decision[0] or observed == 0:
        similar = advise.similar_successes(model, package, row, k=args.similar,
                                           exclude=full_hash)
        if similar:
            print("most similar specs that built successfully:")
            for s in similar:
                print(f"  {s['full_hash']}  P(success) {s['p_success']:.3f}  "
                      f"{s['distance']} difference(s): {advise.describe_difference(s)}")
        else:
            print("no successful training spec of this package to compare with")
    return EXIT_OK


def _environments(model, args) -> int:
    if args.environments:
        envs = environments.read_environments(args.environments)
        label = os.path.basename(args.environments)
    else:
        path = args.cluster_features
        if path is None:
            doc = experiments.read_experiment(args.experiment, args.out_dir)
            path = os.path.join(doc["data"]["dir"], "cluster-features.json")
        own = {f"{p}-version" for p in environments.modelled_packages(model)}
        envs = environments.random_environments(path, args.random_environments, args.seed, own)
        label = f"{args.random_environments} random environments (seed {args.seed})"
    scores = environments.score(model, envs)
    table = environments.summarise(scores)
    n = len(table)
    print(f"{n} environments × {scores.shape[0]} packages; score = sum of P(success) over "
          f"{scores.shape[0]} possible points")
    shown = table if n <= 2 * args.top else pd_concat(table.head(args.top), table.tail(args.top))
    print(f"{'environment':<16} {'score':>8} {'possible':>8} {'fraction':>8}")
    for i, (name, r) in enumerate(shown.iterrows()):
        if n > 2 * args.top and i == args.top:
            print("  ...")
        print(f"{name:<16} {r['score']:8.2f} {int(r['possible']):8d} {r['fraction']:8.3f}")
    print(f"fraction: mean {table['fraction'].mean():.3f}, min {table['fraction'].min():.3f}, "
          f"max {table['fraction'].max():.3f}")
    if args.table:
        table.to_csv(args.table)
        print(f"table written: {args.table}")
    if args.scores:
        scores.to_csv(args.scores)
        print(f"scores written: {args.scores}")
    if args.heatmap:
        environments.heatmap(scores, args.heatmap, title=f"P(success): {label}")
        print(f"heatmap written: {args.heatmap}")
    return EXIT_OK


def pd_concat(a, b):
    import pandas as pd
    return pd.concat([a, b])
