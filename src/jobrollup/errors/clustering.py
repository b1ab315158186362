"""Clusters of error templates with stable ids: river's DBSTREAM proposes, the registry decides.

The driver sees distinct masked templates (jobrollup.errors.messages), each with its count. A template
seen before keeps its cluster for ever. A new template becomes a bag of words (river's
BagOfWords, unigrams and bigrams, scaled to unit length) and is learned by DBSTREAM: if it falls
within `threshold` of a micro-cluster it joins that micro-cluster's cluster, otherwise DBSTREAM
opens a new micro-cluster and the template starts a new cluster.

Why micro-clusters and not DBSTREAM's macro clusters: macro clusters are recomputed from shared
density on every call and renumbered, so their ids would change from night to night. With fading
switched off (fading_factor=0) DBSTREAM never drops a micro-cluster, so a micro-cluster, and the
cluster id it carries, lives as long as the model.

State: the model is rebuilt by replaying the registry (templates in the order they were first
learned, with their cluster ids), so the persisted state is plain data (a MongoDB collection or a
JSON-lines file), readable by a person and independent of river's pickle format. DBSTREAM has
no sample weights: each template is learned once, busiest first, and the counts are kept here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from river import cluster, feature_extraction, utils

from . import messages

DEFAULT_THRESHOLD = 3.0   # < 9 words and word pairs differ (one word inside a message changes 6)


@dataclass
class Cluster:
    id: int
    label: str                       # the masked template that opened the cluster
    templates: int = 0
    count: int = 0
    examples: list[str] = field(default_factory=list)


class TemplateClusterer:
    """Stable cluster ids for templates. `learn_many` then `cluster_of`; `state`/`from_state`."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD):
        self.threshold = threshold
        self.vectoriser = feature_extraction.BagOfWords(
            lowercase=False, tokenizer=messages.tokens, ngram_range=(1, 2))
        self.model = cluster.DBSTREAM(clustering_threshold=threshold, fading_factor=0.0,
                                      cleanup_interval=10**9, minimum_weight=1.0)
        self.of_template: dict[str, int] = {}       # template -> cluster id
        self.order: list[str] = []                  # templates in the order they were learned
        self.clusters: dict[int, Cluster] = {}
        self._of_micro: dict[int, int] = {}         # DBSTREAM micro-cluster key -> cluster id

    # -- features ------------------------------------------------------------------------------
    def features(self, template: str) -> dict[str, float]:
        # presence, not counts: the squared distance of two templates is then the number of
        # words and word pairs one has and the other lacks, whatever their length
        return dict.fromkeys(self.vectoriser.transform_one(template), 1.0)

    # -- learning ------------------------------------------------------------------------------
    def _nearest_micro(self, x: dict[str, float]) -> int | None:
        best, best_distance = None, self.threshold
        for key, micro in self.model.micro_clusters.items():
            distance = _distance(micro.center, x)
            if distance < best_distance:
                best, best_distance = key, distance
        return best

    def _learn(self, template: str, cluster_id: int | None = None) -> int:
        x = self.features(template)
        nearest = self._nearest_micro(x) if x else None
        before = set(self.model.micro_clusters)
        if x:
            self.model.learn_one(x)
        if nearest is not None:
            found = self._of_micro[nearest]
            if cluster_id is None:
                cluster_id = found
        else:
            if cluster_id is None:
                cluster_id = max(self.clusters, default=0) + 1
            for key in set(self.model.micro_clusters) - before:
                self._of_micro[key] = cluster_id
        if cluster_id not in self.clusters:
            self.clusters[cluster_id] = Cluster(cluster_id, template)
        self.of_template[template] = cluster_id
        self.order.append(template)
        self.clusters[cluster_id].templates += 1
        return cluster_id

    def learn_many(self, counts: dict[str, int], examples: dict[str, str] | None = None) -> dict[str, int]:
        """Assign every template of `counts` (template -> messages) to a cluster; returns the
        templates that were new, with their clusters. Busiest templates first, ties by text,
        so the same input always gives the same clusters."""
        new = {}
        for template in sorted(counts, key=lambda t: (-counts[t], t)):
            if template in self.of_template:
                cluster_id = self.of_template[template]
            else:
                cluster_id = new[template] = self._learn(template)
            found = self.clusters[cluster_id]
            found.count += counts[template]
            if examples and template in examples and len(found.examples) < 3 \
                    and examples[template] not in found.examples:
                found.examples.append(examples[template])
        return new

    def cluster_of(self, template: str) -> int | None:
        return self.of_template.get(template)

    # -- state -----------------------------------------------------------------------------------
    def state(self) -> Iterable[dict]:
        """The registry, in learning order: what `from_state` replays."""
        for seq, template in enumerate(self.order):
            yield {"seq": seq, "template": template, "cluster": self.of_template[template]}

    @classmethod
    def from_state(cls, rows: Iterable[dict], threshold: float = DEFAULT_THRESHOLD,
                   clusters: Iterable[dict] = ()) -> "TemplateClusterer":
        model = cls(threshold)
        for row in sorted(rows, key=lambda r: r["seq"]):
            model._learn(row["template"], int(row["cluster"]))
        for saved in clusters:  # labels, counts and examples of earlier runs
            known = model.clusters.get(int(saved["cluster"]))
            if known is not None:
                known.label = saved.get("label", known.label)
                known.count = int(saved.get("count", 0))
                known.examples = list(saved.get("examples", []))[:3]
        return model

    def save(self, path: Path) -> None:
        """The registry as JSON lines (for bin/cluster-errors --model)."""
        tmp = Path(str(path) + ".tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(json.dumps({"threshold": self.threshold}) + "\n")
            for row in self.state():
                out.write(json.dumps(row) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, threshold: float | None = None) -> "TemplateClusterer":
        with open(path, encoding="utf-8") as lines:
            head = json.loads(next(lines))
            rows = [json.loads(line) for line in lines if line.strip()]
        return cls.from_state(rows, threshold if threshold is not None else head["threshold"])


def _distance(a: dict[str, float], b: dict[str, float]) -> float:
    # river's own (compiled) distance: the one DBSTREAM uses to find neighbours
    return utils.math.minkowski_distance(a, b, 2)


def grouping_accuracy(truth: list, predicted: list) -> float:
    """Share of messages whose predicted cluster holds exactly the messages of their true group
    (the grouping accuracy of the log-parsing benchmarks)."""
    if not truth:
        return 1.0
    by_truth: dict = {}
    by_predicted: dict = {}
    for i, (t, p) in enumerate(zip(truth, predicted)):
        by_truth.setdefault(t, set()).add(i)
        by_predicted.setdefault(p, set()).add(i)
    correct = sum(len(members) for t, members in by_truth.items()
                  if by_predicted[predicted[next(iter(members))]] == members)
    return correct / len(truth)
