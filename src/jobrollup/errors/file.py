"""Clustering a JSON-lines file of messages in two passes, with nothing stored in MongoDB.

Pass 1 reads every line, normalises its message into a template (through a bounded cache:
logs repeat themselves) and writes each line's template and problem as one number to a scratch
file; the distinct templates are then clustered. Pass 2 reads the file again beside the scratch
file and writes each line, in input order, with its cluster: a JSON object is copied as read with
the cluster fields appended, not parsed and encoded again. Memory grows with the distinct
templates, not with the messages.

Speed, bench/bench_errors.py (1,000,000 messages: generated kinds with random parameters, one in
five a real spack line; 517,000 distinct messages, 131,810 distinct templates), on a shared
2-core machine under a load of about 5, CPU time of the clustering process:
    before issue 17   8,900 messages per CPU second (200,000 messages; 22.5 s)
    now              43,200 messages per CPU second (1,000,000 messages; 23.1 s CPU, 52.6 s wall)
    the same 200,000 messages five times over (1,000,000, most of them repeated):
                     54,000 messages per CPU second, peak memory 86 MB (84 MB for 200,000)
Where the time goes (1,000,000 messages, CPU s): masking the 517,000 distinct messages 8,
the normalise cache 3, JSON decoding 4, the clustering of 131,810 templates 3, writing 4.
Peak memory follows the distinct templates (219 MB with 131,810 of them, 65 MB with 13,850),
not the lines: the line codes go to the scratch file.

Faster still (issue 17, branch issue17-speed): the same 1,000,000 messages, the code before and
after one after the other, five pairs in one session (load 2-8 on the 2 cores: the CPU time of
one run varies by a third with the load), messages per CPU second / per wall second:
    before   41,000-58,800 / 38,100-55,600 (median 52,600 / 48,400)
    after    58,300-75,000 / 54,600-63,500 (median 60,700 / 55,700), 1.13-1.42 times the
             before of the same pair; peak memory 220 MB (219 before), following the templates
- JSON decoding: orjson (a dependency) decodes a line from its bytes in a third of the time of
  json.loads on the decoded text. It is used only where it gives what the json module gives: a
  line that is an object with a string message and no spack contexts (keys and strings are the
  same; orjson reads a huge integer as a float, and refuses NaN, lone surrogates and invalid
  UTF-8, but those lines, and every line that is not such an object, go to the json module).
  Only pass 1 uses it; a line that pass 2 encodes again is decoded by the json module. Without
  orjson installed, the json module does it all (the same output, slower).
- Writing: the lines of a block of codes are joined and written at once, and a line whose end
  is `}\n` gets one shared bytes object of its cluster (`, "cluster": 12, "label": ...}\n`),
  not a tail built for each template (less memory: 131,810 tails were 131,810 copies of labels).
- Masking: see jobrollup.errors.messages (the masks as precomputed steps).
Output byte for byte the same as before (cmp of the 1,000,000-line outputs).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from array import array
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


# a line's code in the first pass's scratch file: (template number + 1) * 8 + problem
_PROBLEM_CODES = {None: 0, "truncated": 1, "empty": 2, "binary": 3, "not_json": 4, "not_an_object": 5,
                  "no_message": 6}
_PROBLEM_NAMES = {code: name for name, code in _PROBLEM_CODES.items()}
_PLAIN = 7 << 28          # flag: a JSON object without cluster/label/problem keys, written as read
_CHUNK = 1 << 16
_WRITE_CHUNK = 1 << 13   # lines written at once (joined: a megabyte or two)
CACHE_SIZE = 50_000       # messages whose templates are remembered (then forgotten at once)
CACHE_MAX_CHARS = 2000    # longer messages are not remembered
# digits that every mask treats alike get one key: 0 (0x), 1-like (not in a base-32 hash), 2-7
_DIGIT_KEY = bytes.maketrans(b"0123456789", b"0122222211")
_HAS_ASCII_DIGIT = re.compile(r"[0-9]")


class NormaliseCache:
    """messages.normalise with a bounded memory of recent messages. A message whose every digit
    was masked shares its template with every message that differs only in those digits, so it
    is remembered under its digits' classes (`_DIGIT_KEY`: the masks match a digit by \\d, by
    hexadecimal or base-32 class, or 0 in "0x", and these classes are kept); others are
    remembered as they are. The results are those of messages.normalise."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self.shapes: dict[bytes, tuple] = {}
        self.exact: dict[str, tuple] = {}
        self.hits = self.misses = 0

    def __call__(self, text) -> tuple:
        if not isinstance(text, str) or len(text) > CACHE_MAX_CHARS:
            return messages.normalise(text)
        found = self.exact.get(text)
        if found is not None:
            self.hits += 1
            return found
        key = text.encode("utf-8", "surrogatepass").translate(_DIGIT_KEY)
        found = self.shapes.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        found = messages.normalise(text)
        if len(self.exact) + len(self.shapes) >= self.size:
            self.exact.clear()
            self.shapes.clear()
        if found[0] is not None and _HAS_ASCII_DIGIT.search(found[0]):
            self.exact[text] = found
        else:
            self.shapes[key] = found
        return found


def cluster_file(source: Path, out: Path, model: TemplateClusterer, progress: bool = False) -> FileResult:
    """Cluster every message of `source` with `model` (learning new templates) into `out`.

    Pass 1 writes one number a line (its template and problem) to a scratch file; pass 2 reads
    it back beside the input, so memory holds the distinct templates and a bounded cache only.
    A line that is a JSON object is written as it was read, with the cluster fields appended."""
    started = time.monotonic()
    result = FileResult()
    counts: Counter = Counter()
    examples: dict[str, str] = {}
    number_of: dict[str, int] = {}
    normalise = NormaliseCache()
    with tempfile.TemporaryFile(prefix="cluster-errors-") as scratch:
        chunk = array("i")
        append, reserved, lines = chunk.append, _RESERVED.isdisjoint, 0
        problems = result.problems
        tally: list[int] = []     # messages of each template, by number
        fast, slow = _fast_message, _message
        for raw in _progress(_lines(source), "reading", progress):
            lines += 1
            obj, text, problem = fast(raw) if fast is not None else slow(raw)
            found = None
            if problem is None:
                found, problem = normalise(text)
            if problem is None:
                code = 0
            else:
                code = _PROBLEM_CODES[problem]
                problems[problem] += 1
            if found is not None:
                number = number_of.get(found)
                if number is None:
                    number = number_of[found] = len(number_of)
                    examples[found] = text[:500]
                    tally.append(1)
                else:
                    tally[number] += 1
                code += (number + 1) * 8
            if type(obj) is dict and obj and reserved(obj):
                code |= _PLAIN
            append(code)
            if len(chunk) >= _CHUNK:
                chunk.tofile(scratch)
                del chunk[:]
        chunk.tofile(scratch)
        counts.update(dict(zip(number_of, tally)))
        del tally
        result.lines = lines
        new = model.learn_many(counts, examples)
        cluster_of_number = [model.cluster_of(t) for t in number_of]   # insertion order = numbers
        labels = {c: json.dumps(model.clusters[c].label, ensure_ascii=False).encode("utf-8")
                  for c in set(cluster_of_number)}
        # what a line of each template ends with: `, "cluster": 12, "label": "..."}` and its
        # newline, by template number + 1 (0: no template); one bytes object a cluster, shared
        end_of = {c: b', "cluster": ' + str(c).encode() + b', "label": ' + labels[c] + b"}\n"
                  for c in labels}
        ends = [b', "cluster": null, "label": null}\n'] + [end_of[c] for c in cluster_of_number]
        del end_of, labels
        scratch.seek(0)
        tmp = Path(str(out) + ".tmp")
        with open(source, "rb", buffering=1 << 20) as lines_again, open(tmp, "wb") as handle:
            source_lines = _progress(lines_again, "writing", progress)
            for codes in _code_chunks(scratch, _WRITE_CHUNK):
                pieces: list[bytes] = []
                add = pieces.append
                # codes first: zip stops before reading a line that has no code
                for code, raw in zip(codes, source_lines):
                    if code & _PLAIN:
                        if not code & 7 and raw[-2:] == b"}\n":
                            add(raw[:-2])
                            add(ends[(code & ~_PLAIN) >> 3])
                            continue
                        if (line := raw.rstrip()).endswith(b"}"):
                            tail = ends[(code & ~_PLAIN) >> 3][:-2]
                            if code & 7:
                                tail += b', "problem": "' + _PROBLEM_NAMES[code & 7].encode() + b'"'
                            add(line[:-1] + tail + b"}\n")
                            continue
                    number = ((code & ~_PLAIN) >> 3) - 1
                    problem = _PROBLEM_NAMES[code & 7]
                    cluster_id = cluster_of_number[number] if number >= 0 else None
                    obj, _, _ = _message(raw)
                    row = dict(obj) if isinstance(obj, dict) else {}
                    row["cluster"] = cluster_id
                    row["label"] = model.clusters[cluster_id].label if cluster_id is not None else None
                    if problem:
                        row["problem"] = problem
                    add((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
                handle.write(b"".join(pieces))
        tmp.replace(out)
    result.clustered = sum(counts.values())
    result.templates = len(counts)
    result.new_templates = len(new)
    result.clusters = len({model.cluster_of(t) for t in counts})
    result.seconds = time.monotonic() - started
    return result


_RESERVED = frozenset(("cluster", "label", "problem"))
_decode = json.JSONDecoder().decode
try:   # orjson decodes a line in a third of the time; without it, the json module does it all
    from orjson import loads as _orjson_loads
except ImportError:   # pragma: no cover
    _orjson_loads = None


def _lines(path: Path):
    with open(path, "rb", buffering=1 << 20) as handle:
        yield from handle


def _code_chunks(scratch, size: int):
    while True:
        chunk = array("i")
        try:
            chunk.fromfile(scratch, size)
        except EOFError:
            pass
        if not chunk:
            return
        yield chunk


def _orjson_message(raw: bytes):
    """_message of one input line, decoded by orjson when the line is a plain object with a
    string message (what orjson then returns is what the json module returns: the same keys,
    the same strings); anything else (an error, a number, a list, contexts) goes to _message,
    so every line gets exactly what _message gives it."""
    try:
        obj = _orjson_loads(raw)
    except ValueError:
        return _message(raw)
    if type(obj) is dict and type(text := obj.get("message")) is str \
            and "pre_context" not in obj and "post_context" not in obj:
        return obj, text, None
    return _message(raw)


def _message(raw: bytes):
    """(object or None, message or None, problem) of one input line."""
    try:
        obj = _decode(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None, None, "not_json"
    if type(obj) is not dict:
        return obj, None, "not_an_object"
    if "message" not in obj:
        return obj, None, "no_message"
    text = obj["message"]
    if text is not None and type(text) is not str:
        text = json.dumps(text)
    if text and ("pre_context" in obj or "post_context" in obj) and (obj.get("pre_context") or obj.get("post_context")):
        text = messages.spack_message(str(text)[:messages.MAX_CHARS],
                                      str(obj.get("pre_context") or "")[-messages.MAX_CHARS:],
                                      str(obj.get("post_context") or "")[:messages.MAX_CHARS])
    return obj, text, None


def _progress(items, what: str, enabled: bool):
    if not enabled:
        return items
    from tqdm import tqdm
    return tqdm(items, desc=what, unit=" lines", file=sys.stderr, mininterval=1.0, disable=not enabled)


_fast_message = _orjson_message if _orjson_loads is not None else None
