"""Nightly scoring of new builds and the surprises among them (pure Python, no Spark).

After `bin/aggregate --source spack_builds`, the day's builds (the same JSON lines the
aggregation read: ROOT/YYYY/MM/DD/*.jsonl, written by bin/import-spack) are scored by a trained
experiment: P(success) of each build from its feature row (the compats row bin/import-spack
attached as `features`, else the package's own version), beside what happened.

A surprise is a build whose outcome the model was confident about and got wrong:
- `failed_predicted_success`: failed, with P(success) >= CONFIDENCE;
- `succeeded_predicted_failure`: succeeded, with P(success) <= 1 - CONFIDENCE.
Those are the builds worth a person's look (a new breakage, or a fix). Scores go to the store's
`model_predictions` collection (one document per build, keyed by experiment, day and build, so
a re-run replaces them); `bin/predict --surprises` lists them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .features import ABSENT
from .outcomes import BuildOutcomeModel

DEFAULT_CONFIDENCE = 0.8
SURPRISES = ("failed_predicted_success", "succeeded_predicted_failure")


@dataclass
class Scored:
    predictions: list[dict] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)   # builds read, scored, unscored by reason, bad lines


def day_folder(root: str | Path, day: dt.date) -> Path:
    return Path(root) / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


def read_builds(root: str | Path, day: dt.date, counts: Counter) -> list[dict]:
    """The build records of one day folder (JSON lines); unreadable lines are counted, and left
    to the aggregation's rejects (it reads the same files)."""
    builds = []
    for path in sorted(day_folder(root, day).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                counts["unreadable lines"] += 1
                continue
            if isinstance(record, dict):
                builds.append(record)
            else:
                counts["unreadable lines"] += 1
    return builds


def feature_row(build: dict) -> dict | None:
    """The model's view of a build: its compats row, else its own version; None when nothing."""
    if isinstance(build.get("features"), dict) and build["features"]:
        return {k: str(v) for k, v in build["features"].items()}
    if build.get("version"):
        return {f"{build['package']}-version": str(build["version"])}
    return None


def surprise(status: str, p_success: float, confidence: float) -> str | None:
    if status == "failed" and p_success >= confidence:
        return "failed_predicted_success"
    if status == "success" and p_success <= 1 - confidence:
        return "succeeded_predicted_failure"
    return None


def score(model: BuildOutcomeModel, experiment: str, builds: list[dict], day: dt.date,
          confidence: float = DEFAULT_CONFIDENCE, run_id: str = "") -> Scored:
    """One prediction document per build that has a package, a status and features."""
    scored = Scored()
    scored.counts["builds"] = len(builds)
    by_package: dict[str, list[tuple[dict, dict]]] = {}
    for build in builds:
        row = feature_row(build)
        if not build.get("package") or build.get("status") not in ("success", "failed"):
            scored.counts["unscored: no package or status"] += 1
        elif row is None:
            scored.counts["unscored: no features"] += 1
        else:
            by_package.setdefault(build["package"], []).append((build, row))
    moment = dt.datetime(day.year, day.month, day.day)
    for package, pairs in sorted(by_package.items()):
        columns = model.columns(package)
        frame = pd.DataFrame([{c: row.get(c, ABSENT) for c in columns} for _, row in pairs],
                             columns=columns, index=range(len(pairs)))
        try:
            p, decision = model.predict(package, frame)
        except KeyError:   # a package the experiment never saw, and no shared fallback model
            scored.counts["unscored: no model for the package"] += len(pairs)
            continue
        threshold = float(model.decision_threshold(package))
        for (build, _), p_success, success in zip(pairs, p, decision):
            identity = build.get("spec_hash") or build.get("build_id") or json.dumps(build, sort_keys=True)
            kind = surprise(build["status"], float(p_success), confidence)
            scored.counts["scored"] += 1
            scored.counts[kind or "as expected or unsure"] += 1
            scored.predictions.append({
                "_id": hashlib.sha1(json.dumps([experiment, moment.isoformat(), package, identity]).encode()).hexdigest(),
                "experiment": experiment, "day": moment, "package": package,
                "spec_hash": build.get("spec_hash"), "build_id": build.get("build_id"),
                "version": build.get("version"), "compiler": build.get("compiler"),
                "compiler_version": build.get("compiler_version"),
                "status": build["status"], "p_success": round(float(p_success), 6),
                "predicted": "success" if success else "failed", "threshold": round(threshold, 6),
                "model": model.source(package), "surprise": kind, "run_id": run_id,
            })
    return scored


def surprises_table(predictions: list[dict]) -> pd.DataFrame:
    """The surprises, the most confident mistakes first."""
    rows = [p for p in predictions if p.get("surprise")]
    frame = pd.DataFrame(rows, columns=["day", "package", "spec_hash", "build_id", "version", "compiler_version",
                                        "status", "p_success", "surprise", "experiment"])
    confidence = (frame["p_success"] - 0.5).abs()
    return frame.assign(_c=confidence).sort_values(["_c", "package"], ascending=[False, True]).drop(columns="_c") \
        .reset_index(drop=True)
