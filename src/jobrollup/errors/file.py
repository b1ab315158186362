"""Clustering a JSON-lines file of messages in two passes, with nothing stored in MongoDB.

Pass 1 reads every line, normalises its message into a template and keeps each line's template
as a number (a few bytes a line); the distinct templates are then clustered. Pass 2 reads the
file again and writes each line, in input order, with its cluster. Memory grows with the
distinct templates, not with the messages.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import messages
from .clustering import TemplateClusterer


@dataclass
class FileResult:
    lines: int = 0
    clustered: int = 0
    clusters: int = 0
    templates: int = 0
    new_templates: int = 0
    problems: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self, out: Path) -> str:
        detail = ", ".join(f"{k} {v:,}" for k, v in sorted(self.problems.items())) or "none"
        rate = self.lines / self.seconds if self.seconds else 0
        return (f"cluster-errors: {self.lines:,} lines, {self.clustered:,} messages clustered into "
                f"{self.clusters:,} clusters ({self.templates:,} templates, {self.new_templates:,} new); "
                f"problems: {detail}; {self.seconds:.1f} s ({rate:,.0f} lines/s) -> {out}")


def read_messages(path: Path, parse_only: bool = False):
    """(line number, object or None, message or None, problem) for each line of the file;
    with `parse_only` the message is not rebuilt (the second pass needs the objects only)."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                yield number, None, None, "not_json"
                continue
            if not isinstance(obj, dict):
                yield number, None, None, "not_an_object"
                continue
            if "message" not in obj:
                yield number, obj, None, "no_message"
                continue
            text = obj.get("message")
            if text is not None and not isinstance(text, str):
                text = json.dumps(text)
            if text and not parse_only and (obj.get("pre_context") or obj.get("post_context")):
                text = messages.spack_message(str(text)[:messages.MAX_CHARS],
                                              str(obj.get("pre_context") or "")[-messages.MAX_CHARS:],
                                              str(obj.get("post_context") or "")[:messages.MAX_CHARS])
            yield number, obj, text, None


def cluster_file(source: Path, out: Path, model: TemplateClusterer, progress: bool = False) -> FileResult:
    """Cluster every message of `source` with `model` (learning new templates) into `out`."""
    started = time.monotonic()
    result = FileResult()
    counts, examples = Counter(), {}
    number_of: dict[str, int] = {}
    line_templates: list[int] = []       # -1: no template
    line_problems: dict[int, str] = {}
    for index, (_, _, text, problem) in enumerate(_progress(read_messages(source), "reading", progress)):
        result.lines += 1
        found = None
        if not problem:
            found, problem = messages.normalise(text)
        if problem:
            result.problems[problem] += 1
            line_problems[index] = problem
        if found is None:
            line_templates.append(-1)
            continue
        counts[found] += 1
        line_templates.append(number_of.setdefault(found, len(number_of)))
        examples.setdefault(found, text[:500])
    new = model.learn_many(counts, examples)
    cluster_of_number = [model.cluster_of(t) for t in number_of]   # insertion order = numbers
    tmp = Path(str(out) + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for index, (_, obj, _, _) in enumerate(_progress(read_messages(source, parse_only=True), "writing", progress)):
            number = line_templates[index]
            cluster_id = cluster_of_number[number] if number >= 0 else None
            problem = line_problems.get(index)
            row = dict(obj) if obj is not None else {}
            row["cluster"] = cluster_id
            row["label"] = model.clusters[cluster_id].label if cluster_id is not None else None
            if problem:
                row["problem"] = problem
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out)
    result.clustered = sum(counts.values())
    result.templates = len(counts)
    result.new_templates = len(new)
    result.clusters = len({model.cluster_of(t) for t in counts})
    result.seconds = time.monotonic() - started
    return result


def _progress(items, what: str, enabled: bool):
    from tqdm import tqdm
    return tqdm(items, desc=what, unit=" lines", file=sys.stderr, mininterval=1.0, disable=not enabled)
