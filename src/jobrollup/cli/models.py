"""Argument parsing for bin/train and bin/predict (jobrollup.cli.train / .predict call these):
thin wiring over jobrollup.models."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .. import config, exits
from ..exits import UsageError
from ..models import advise, environments, experiments, predict, scoring
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

Each experiment is recorded in var/models/NAME/ (experiment.json beside model.joblib) and in
the `models` collection of the MongoDB the other commands use (--no-store: files only).
"""

PREDICT_EXAMPLES = """\
examples:
  bin/predict --experiment hgb-1 --data DIR --format json > predictions.jsonl
  bin/predict --experiment hgb-1 spec.yaml        P(success), what drives it, advice if failing
  bin/predict --experiment hgb-1 FULL_HASH        a spec of the training data, by its full_hash
  bin/predict --experiment hgb-1 --random-environments 1000 --heatmap envs.png --table envs.csv
  bin/predict --experiment hgb-1 --environments sites.json --heatmap sites.png
  bin/predict --experiment hgb-1 --score-builds 1     yesterday's builds (bin/import-spack's
                                                      layout, conf [sources.spack_builds] root)
                                                      scored into MongoDB; surprises listed
  bin/predict --surprises --from 2026-11-01           failed builds predicted to succeed, and
                                                      the reverse, from MongoDB

For a spec that failed (or is predicted to), the error clusters of its build log are shown when
MongoDB holds them (bin/aggregate --source spack_errors).
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
    ap.add_argument("--no-store", action="store_true",
                    help="do not record the experiment in MongoDB's `models` collection")
    ap.add_argument("--mongo-uri", help=f"MongoDB URI (default: ${config.ENV_MONGO_URI}, conf, else the embedded server)")
    ap.add_argument("--conf", dest="conf_file", help="configuration file (default: conf/jobrollup.toml)")
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
    if not args.no_store:
        try:
            with _store(args, start_embedded=True) as store:
                store.save_experiment(experiments.storable(doc))
        except (exits.MongoUnavailable, config.ConfigError, embedded_error()) as error:
            return common.fail(f"{error} (the experiment's files are written in {folder})", exits.MONGO)
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
    ap.add_argument("--experiment", help="the trained experiment (needed except with --surprises)")
    ap.add_argument("--score-builds", metavar="WHEN",
                    help="score the builds of a day (YYYY-MM-DD or days ago) into MongoDB and list the surprises")
    ap.add_argument("--input", help="with --score-builds: the spack_builds root (default: conf [sources.spack_builds] root)")
    ap.add_argument("--confidence", type=checks.share, default=scoring.DEFAULT_CONFIDENCE,
                    help="a surprise: failed with P(success) >= this, or built with P(success) <= 1 - this "
                         f"(default {scoring.DEFAULT_CONFIDENCE})")
    ap.add_argument("--surprises", action="store_true", help="list the scored builds that surprised the model")
    ap.add_argument("--from", dest="start", help="with --surprises: first day (default: 7 days ago)")
    ap.add_argument("--to", dest="end", help="with --surprises: last day (default: today)")
    ap.add_argument("--mongo-uri", help=f"MongoDB URI (default: ${config.ENV_MONGO_URI}, conf, else the embedded server)")
    ap.add_argument("--conf", dest="conf_file", help="configuration file (default: conf/jobrollup.toml)")
    ap.add_argument("--out-dir", default=experiments.DEFAULT_OUT)
    ap.add_argument("--data", help="folder with compats/<package>.csv to score")
    ap.add_argument("--format", default=None, choices=["json", "table"],
                    help="output of --data: one JSON object per line (json, the default); "
                         "of --surprises: table (default) or json")
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
    modes = [bool(args.spec), bool(args.data), bool(args.environments or args.random_environments),
             bool(args.score_builds), args.surprises]
    if sum(modes) != 1:
        ap.error("give exactly one of SPEC, --data, --environments/--random-environments, --score-builds, --surprises")
    if args.data:
        checks.readable_folder(args.data, "--data folder")
    for option, path in (("--environments", args.environments), ("--cluster-features", args.cluster_features)):
        if path:
            checks.readable_file(path, option)
    for option, path in (("--heatmap", args.heatmap), ("--table", args.table), ("--scores", args.scores)):
        if path:
            checks.writable_file(path, option)
    if args.surprises:
        return _surprises(args)
    if not args.experiment:
        ap.error("--experiment is needed")
    try:
        model = experiments.load_model(args.experiment, args.out_dir)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    if args.score_builds:
        return _score_builds(model, args)
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
    # errors in its build log say it failed, whatever the model predicts
    _print_error_clusters(args, full_hash, say_none=not decision[0] or observed == 0)
    return EXIT_OK


# -- the store: error clusters of a spec, nightly scores, surprises ----------------------------

def embedded_error():
    from ..store import embedded
    return embedded.EmbeddedMongoError


def _store(args, start_embedded: bool):
    """The MongoDB of the other commands (the same URI resolution); None when none is configured
    and `start_embedded` is false and no embedded server runs."""
    from ..store import embedded
    from ..store.mongo import MongoStore
    conf = config.load(args.conf_file)
    uri = config.mongo_uri(args.mongo_uri, conf)
    if not uri:
        if start_embedded:
            uri = common.mongo_uri(None, conf)
        else:
            server = embedded.running(config.resolve_path(conf["mongo"]["embedded_dir"]))
            uri = server.uri if server else None
    if not uri:
        return None
    store = MongoStore(uri, conf["mongo"]["database"], conf["mongo"]["timeout_ms"])
    try:
        store.ping()
    except exits.MongoUnavailable:
        store.close()
        raise
    return store


def _print_error_clusters(args, full_hash: str | None, say_none: bool) -> None:
    """The error clusters of a spec's build log, from the spack_errors aggregates; when it has
    none, a word about it only for a predicted or observed failure (`say_none`)."""
    if not full_hash:
        return
    from .. import query as queries
    from .. import sources
    try:
        store = _store(args, start_embedded=False)
    except (exits.MongoUnavailable, config.ConfigError) as error:
        if say_none:
            print(f"error clusters of this spec: not known ({error})")
        return
    if store is None:
        if say_none:
            print("error clusters of this spec: no MongoDB configured or running (--mongo-uri)")
        return
    with store:
        frame = queries.answer(store, queries.query(start="earliest", by=["cluster"], where=[f"spec_hash={full_hash}"],
                                                    source=sources.get("spack_errors")))
    if not len(frame):
        if say_none:
            print("error clusters of this spec: none recorded (bin/aggregate --source spack_errors)")
        return
    print("error clusters of this spec's build log (spack_errors):")
    for row in frame.itertuples(index=False):
        cluster = "-" if row.cluster != row.cluster or row.cluster is None else int(row.cluster)
        print(f"  {int(row.count):>5} x cluster {cluster:<6} {str(row.label)[:100]}")


def _day(text: str):
    import datetime as dt
    today = dt.datetime.now(dt.timezone.utc).date()
    if text.isdigit() and len(text) <= 4:
        return today - dt.timedelta(days=int(text))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise exits.UsageError(f"not a day (YYYY-MM-DD or days ago): {text!r}") from None


def _score_builds(model, args) -> int:
    """Score one day's builds, write the scores and surprises to MongoDB, list the surprises."""
    import datetime as dt
    from collections import Counter
    from ..tiers import Window
    try:
        day = _day(args.score_builds)
        conf = config.load(args.conf_file)
    except (exits.UsageError, config.ConfigError) as error:
        return common.fail(error, exits.INPUT)
    root = config.resolve_path(args.input or config.source_root(conf, "spack_builds"))
    folder = scoring.day_folder(root, day)
    if not folder.is_dir():
        return common.fail(f"no builds folder for {day}: {folder}", exits.INPUT)
    counts: Counter = Counter()
    builds = scoring.read_builds(root, day, counts)
    start = dt.datetime(day.year, day.month, day.day)
    window = Window("day", start, start + dt.timedelta(days=1))
    try:
        with _store(args, start_embedded=True) as store:
            with store.journal("models", "score-builds", window,
                               {"experiment": args.experiment, "input": str(folder)}) as entry:
                scored = scoring.score(model, args.experiment, builds, day, args.confidence, entry.run_id)
                scored.counts.update(counts)
                written = store.replace_predictions(args.experiment, window, scored.predictions, entry.run_id)
                entry.fields.update(counts=dict(scored.counts), documents=written)
    except (exits.MongoUnavailable, config.ConfigError, embedded_error()) as error:
        return common.fail(error, exits.MONGO)
    except exits.WindowBusy as error:
        return common.fail(error, exits.BUSY)
    c = scored.counts
    print(f"jobrollup score-builds: {day} with experiment {args.experiment} (confidence {args.confidence})")
    print(f"  builds     {c['builds']:,} read, {c['scored']:,} scored"
          + "".join(f", {n:,} {k}" for k, n in sorted(c.items()) if k.startswith("unscored") or k == "unreadable lines"))
    print(f"  surprises  {c['failed_predicted_success']:,} failed where success was predicted, "
          f"{c['succeeded_predicted_failure']:,} built where failure was predicted")
    print(f"  documents  {written['written']:,} written, {written['removed']:,} stale removed, in model_predictions")
    _print_surprises(scoring.surprises_table(scored.predictions), limit=20)
    return EXIT_OK


def _print_surprises(table, limit: int | None = None) -> None:
    shown = table if limit is None else table.head(limit)
    for row in shown.itertuples(index=False):
        print(f"  {row.day:%Y-%m-%d}  {row.package:<18} {str(row.spec_hash or row.build_id or '-'):<32} "
              f"{str(row.version or '-'):<10} {row.status:<7} P(success) {row.p_success:.3f}  {row.surprise}")
    if limit is not None and len(table) > limit:
        print(f"  ... {len(table) - limit:,} more (bin/predict --surprises)")


def _surprises(args) -> int:
    """The surprises of a span of days, from MongoDB."""
    import datetime as dt
    try:
        first = _day(args.start) if args.start else _day("7")
        last = _day(args.end) if args.end else _day("0")
    except exits.UsageError as error:
        return common.fail(error, exits.INPUT)
    start = dt.datetime(first.year, first.month, first.day)
    end = dt.datetime(last.year, last.month, last.day) + dt.timedelta(days=1)
    try:
        store = _store(args, start_embedded=True)
        with store:
            rows = store.predictions(start, end, args.experiment, surprises_only=True)
    except (exits.MongoUnavailable, config.ConfigError, embedded_error()) as error:
        return common.fail(error, exits.MONGO)
    table = scoring.surprises_table(rows)
    if args.format == "json":
        for row in table.to_dict("records"):
            sys.stdout.write(json.dumps({**row, "day": f"{row['day']:%Y-%m-%d}"}, default=str) + "\n")
        return EXIT_OK
    print(f"surprises {first} .. {last}{' of ' + args.experiment if args.experiment else ''}: {len(table):,}")
    _print_surprises(table)
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
