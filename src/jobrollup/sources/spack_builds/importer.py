"""spack build-farm exports -> the date-partitioned JSON-lines layout bin/aggregate reads.

Pure Python, no Spark. The real export formats (see the README's "spack build farms" section):

- outcomes     `{package: {full_hash: {"Status": "SUCCESS"|"FAILED", "Install Time": s}}}`
- labels       CSV, one row per spec indexed by full_hash: name, version, Status, Reason, Alloc Time
- compats      CSV, the per-package feature matrix indexed by full_hash (only a compiler-version
               column is a build's scope; dependency versions are features, not scope)
- spec YAML    `spec.nodes[]` with name, version, arch {platform, platform_os, target}, compiler
- build records YAML list of {name (job id), package, attributes {duration}, resources {arch {arch},
               compiler {compiler_name, compiler_version}, memory {mem_max, mem_mean}}}
- error records `<package>_error.json` / `_warn.json`: JSON lists of build-log error records

One build is one outcome (package, full_hash), completed by the labels, compats and spec YAML of
the same hash where they meet, plus one build per build record (those carry no hash). A label row
without an outcome is a build of its own. None of these formats has a time: every record takes the
dump's date unless it carries `ts` (epoch seconds or ISO 8601) itself.

Reading is separate from writing: `read_dump` returns what was found (builds, errors, rejects),
`write_dump` lays it out. Bad input never stops the import: each bad record or file becomes a
`Reject` with its reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REASONS = ("unknown_status", "missing_hash", "malformed_hash", "malformed_json", "malformed_yaml",
           "malformed_csv", "missing_package", "empty_error_text", "unknown_format")

# spack's hashes are 32 characters of lower-case base32.
HASH = re.compile(r"^[a-z2-7]{32}$")
STATUSES = {"success": "success", "succeeded": "success", "failed": "failed", "failure": "failed"}
EXCERPT_CHARS = 2000


@dataclass(frozen=True)
class Reject:
    file: str
    where: str          # the record inside the file (package/hash, row, item number), or "" for the file
    reason: str
    excerpt: str        # what was read, cut to EXCERPT_CHARS
    # a file of many records that could not be read at all (truncated JSON or YAML): how many
    # records it held is unknown, so it cannot be weighed against the others (see Dump.lost_files)
    whole_file: bool = False

    def as_dict(self) -> dict:
        return {"reason": self.reason, "file": self.file, "where": self.where, "record": self.excerpt,
                "whole_file": self.whole_file}


@dataclass
class Dump:
    """What one import found: build records, error records (grouped by output file), rejects."""
    builds: list[dict] = field(default_factory=list)
    errors: dict[str, list[dict]] = field(default_factory=dict)   # "<package>_error" -> records
    rejects: list[Reject] = field(default_factory=list)
    read: Counter = field(default_factory=Counter)                # records read per format
    notes: list[str] = field(default_factory=list)

    @property
    def good(self) -> int:
        return len(self.builds) + sum(len(v) for v in self.errors.values())

    @property
    def lost_files(self) -> list[Reject]:
        """Files of many records read not at all. One truncated outcomes file can hold every
        build of the dump, so counting it as one bad record would let a dump that lost most of
        its builds through; the import refuses instead (bin/import-spack, exit 3)."""
        return [r for r in self.rejects if r.whole_file]

    @property
    def reject_share(self) -> float:
        total = self.good + len(self.rejects)
        return len(self.rejects) / total if total else 0.0


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

def read_dump(paths: list[Path], date: dt.date) -> Dump:
    """Read every file (folders are walked) and join builds by spec hash."""
    dump = Dump()
    outcomes: list[dict] = []
    labels: dict[str, list[dict]] = {}
    compilers: dict[str, str] = {}      # full_hash -> compiler version (compats)
    features: dict[tuple, dict] = {}    # (package, full_hash) -> its compats row (what the models read)
    specs: dict[str, dict] = {}         # full_hash -> scope from its spec YAML
    default_ts = _epoch(date)
    for path in _files(paths):
        kind = _format_of(path)
        if kind is None:
            dump.rejects.append(Reject(str(path), "", "unknown_format", ""))
            continue
        text = path.read_text(errors="replace")
        if kind == "errors":
            _read_errors(path, text, default_ts, dump)
        elif kind == "outcomes":
            outcomes += _read_outcomes(path, text, default_ts, dump)
        elif kind == "csv":
            _read_table(path, text, labels, compilers, features, dump)
        elif kind == "yaml":
            _read_yaml(path, text, specs, default_ts, dump)
    dump.builds[:0] = _joined(outcomes, labels, compilers, specs, default_ts, dump)
    for build in dump.builds:   # the feature row of the build-outcome models, where the dump has one
        row = features.get((build["package"], build.get("spec_hash")))
        if row:
            build["features"] = row
    return dump


def _files(paths: list[Path]):
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def _format_of(path: Path) -> str | None:
    name = path.name
    if name.endswith(("_error.json", "_warn.json")):
        return "errors"
    if name.endswith(".json"):
        return "outcomes"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    return None


def _epoch(date: dt.date) -> int:
    return int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.timezone.utc).timestamp())


def _timestamp(record: dict, default_ts: int) -> int | float:
    """A record's own `ts` (epoch seconds or ISO 8601) when it has a readable one, else the dump's date."""
    value = record.get("ts", record.get("timestamp")) if isinstance(record, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment.replace(tzinfo=moment.tzinfo or dt.timezone.utc).timestamp()
        except ValueError:
            pass
    return default_ts


def _excerpt(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:EXCERPT_CHARS]


def _hash_problem(value) -> str | None:
    if value is None or value == "":
        return "missing_hash"
    if not isinstance(value, str) or not HASH.match(value):
        return "malformed_hash"
    return None


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _read_errors(path: Path, text: str, default_ts: int, dump: Dump) -> None:
    try:
        records = json.loads(text)
    except json.JSONDecodeError:
        dump.rejects.append(Reject(str(path), "", "malformed_json", text[:EXCERPT_CHARS], whole_file=True))
        return
    if not isinstance(records, list):    # read whole, but not a list of records: one bad file
        dump.rejects.append(Reject(str(path), "", "malformed_json", text[:EXCERPT_CHARS]))
        return
    stem = path.name.rsplit(".", 1)[0]                       # abyss_error, qt_warn
    package, _, kind = stem.rpartition("_")
    out = dump.errors.setdefault(stem, [])
    for number, record in enumerate(records):
        dump.read["error records"] += 1
        where = f"item {number}"
        if not isinstance(record, dict):
            dump.rejects.append(Reject(str(path), where, "malformed_json", _excerpt(record)))
            continue
        problem = _hash_problem(record.get("hash"))
        if not str(record.get("text") or "").strip():
            problem = "empty_error_text"
        if problem:
            dump.rejects.append(Reject(str(path), where, problem, _excerpt(record)))
            continue
        out.append({**record, "package": record.get("package") or package, "kind": kind,
                    "ts": _timestamp(record, default_ts)})


def _read_outcomes(path: Path, text: str, default_ts: int, dump: Dump) -> list[dict]:
    try:
        packages = json.loads(text)
    except json.JSONDecodeError:
        dump.rejects.append(Reject(str(path), "", "malformed_json", text[:EXCERPT_CHARS], whole_file=True))
        return []
    if not isinstance(packages, dict):   # read whole, but another kind of JSON: not a spack export
        dump.rejects.append(Reject(str(path), "", "unknown_format", text[:EXCERPT_CHARS]))
        return []
    found = []
    for package, builds in packages.items():
        if not isinstance(builds, dict):
            dump.read["outcomes"] += 1
            dump.rejects.append(Reject(str(path), package, "malformed_json", _excerpt(builds)))
            continue
        for full_hash, outcome in builds.items():
            dump.read["outcomes"] += 1
            where = f"{package}/{full_hash}"
            problem = _hash_problem(full_hash)
            status = STATUSES.get(str(outcome.get("Status", "")).lower()) if isinstance(outcome, dict) else None
            if not isinstance(outcome, dict):
                problem = problem or "malformed_json"
            elif status is None:
                problem = problem or "unknown_status"
            if not package.strip():
                problem = "missing_package"
            if problem:
                dump.rejects.append(Reject(str(path), where, problem, _excerpt(outcome)))
                continue
            found.append({"package": package, "spec_hash": full_hash, "status": status,
                          "install_time": _number(outcome.get("Install Time")),
                          "ts": _timestamp(outcome, default_ts)})
    return found


def _read_table(path: Path, text: str, labels: dict, compilers: dict, features: dict, dump: Dump) -> None:
    """A labels table (has a Status column) or a compats feature matrix; `-ordinal` files repeat
    the compats values as codes and are skipped."""
    if path.name.endswith("-ordinal.csv"):
        dump.read["ordinal tables skipped"] += 1
        return
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error:
        dump.rejects.append(Reject(str(path), "", "malformed_csv", text[:EXCERPT_CHARS], whole_file=True))
        return
    is_labels = bool(rows) and "Status" in rows[0]
    for number, row in enumerate(rows, start=2):        # line 1 is the header
        full_hash = row.get("full_hash") or row.get("")
        where = f"line {number}"
        if None in row or None in row.values():         # more or fewer cells than the header: a broken row
            dump.rejects.append(Reject(str(path), where, "malformed_csv", _excerpt(row)))
            continue
        if is_labels:
            dump.read["label rows"] += 1
            problem = _hash_problem(full_hash)
            if not problem and STATUSES.get(str(row.get("Status", "")).lower()) is None:
                problem = "unknown_status"
            if problem:
                dump.rejects.append(Reject(str(path), where, problem, _excerpt(row)))
                continue
            labels.setdefault(full_hash, []).append({**row, "_package": path.stem})
        else:
            dump.read["compat rows"] += 1
            if _hash_problem(full_hash):
                dump.rejects.append(Reject(str(path), where, _hash_problem(full_hash), _excerpt(row)))
                continue
            version = next((v for k, v in row.items() if k and k.endswith("compiler_version")), None)
            if version and version != "absent":
                compilers[full_hash] = version
            features[(path.stem, full_hash)] = {k: (v or "absent") for k, v in row.items() if k}


def _read_yaml(path: Path, text: str, specs: dict, default_ts: int, dump: Dump) -> None:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        # a spec file (named by its hash) is one record; any other YAML (build records) holds many
        dump.rejects.append(Reject(str(path), "", "malformed_yaml", text[:EXCERPT_CHARS],
                                   whole_file=not HASH.match(path.stem)))
        return
    if isinstance(loaded, list):
        _read_build_records(path, loaded, default_ts, dump)
    elif isinstance(loaded, dict) and isinstance(loaded.get("spec"), dict):
        dump.read["spec files"] += 1
        _read_spec(path, loaded["spec"], specs, dump)
    else:
        dump.rejects.append(Reject(str(path), "", "unknown_format", text[:EXCERPT_CHARS]))


def _read_spec(path: Path, spec: dict, specs: dict, dump: Dump) -> None:
    nodes = [n for n in spec.get("nodes") or [] if isinstance(n, dict)]
    # The file is named by its root's full hash; nodes[0] is the root in spack's own files.
    root = next((n for n in nodes if n.get("full_hash") == path.stem), nodes[0] if nodes else None)
    full_hash = (root or {}).get("full_hash") or path.stem
    problem = _hash_problem(full_hash) if root else "malformed_yaml"
    if problem:
        dump.rejects.append(Reject(str(path), "", problem, _excerpt(root)))
        return
    arch = root.get("arch") or {}
    target = arch.get("target")
    compiler = root.get("compiler") or {}
    specs[full_hash] = {
        "package": root.get("name"), "version": _text(root.get("version")),
        "compiler": compiler.get("name"), "compiler_version": _text(compiler.get("version")),
        "platform": arch.get("platform"), "os": arch.get("platform_os"),
        "target": target.get("name") if isinstance(target, dict) else target,
    }


def _read_build_records(path: Path, records: list, default_ts: int, dump: Dump) -> None:
    for number, record in enumerate(records):
        dump.read["build records"] += 1
        where = f"item {number}"
        if not isinstance(record, dict) or not isinstance(record.get("resources", {}), dict):
            dump.rejects.append(Reject(str(path), where, "malformed_yaml", _excerpt(record)))
            continue
        if not str(record.get("package") or "").strip():
            dump.rejects.append(Reject(str(path), where, "missing_package", _excerpt(record)))
            continue
        status = STATUSES.get(str(record.get("status", "success")).lower())
        if status is None:
            dump.rejects.append(Reject(str(path), where, "unknown_status", _excerpt(record)))
            continue
        resources = record.get("resources") or {}
        compiler = resources.get("compiler") or {}
        memory = resources.get("memory") or {}
        platform, os_name, target = _split_arch((resources.get("arch") or {}).get("arch"))
        dump.builds.append({
            "package": record["package"], "build_id": _text(record.get("name")), "status": status,
            "compiler": compiler.get("compiler_name"), "compiler_version": _text(compiler.get("compiler_version")),
            "platform": platform, "os": os_name, "target": target,
            "duration": _number((record.get("attributes") or {}).get("duration")),
            "memory_max": _number(memory.get("mem_max")), "memory_mean": _number(memory.get("mem_mean")),
            "origin": "build-records", "ts": _timestamp(record, default_ts),
        })


def _split_arch(arch) -> tuple[str | None, str | None, str | None]:
    """spack's `platform-os-target` triple (linux-ubuntu22.04-x86_64_v3: the target may hold '_')."""
    if not isinstance(arch, str) or arch.count("-") < 2:
        return None, None, None
    platform, os_name, target = arch.split("-", 2)
    return platform, os_name, target


def _text(value) -> str | None:
    return None if value is None else str(value)


def _joined(outcomes: list[dict], labels: dict, compilers: dict, specs: dict, default_ts: int,
            dump: Dump) -> list[dict]:
    """One build per outcome, completed by its label, compiler version and spec by full hash;
    label rows that no outcome names are builds of their own."""
    builds, labelled, joined, elsewhere = [], set(), set(), set()
    for outcome in outcomes:
        full_hash = outcome["spec_hash"]
        label = _label_for(labels.get(full_hash, []), outcome["package"])
        if label:
            labelled.add(id(label))
        # A hash is listed under every package whose study built it (a dependency's spec under
        # its dependent too): a spec file completes only the build of its own root package.
        spec = specs.get(full_hash)
        if spec and spec["package"] != outcome["package"]:
            elsewhere.add(full_hash)
            spec = None
        if spec:
            joined.add(full_hash)
        builds.append(_build(outcome, label, compilers.get(full_hash), spec))
    for full_hash, rows in labels.items():
        for row in rows:
            if id(row) in labelled:
                continue
            status = STATUSES[row["Status"].lower()]
            outcome = {"package": row.get("name") or row["_package"], "spec_hash": full_hash,
                       "status": status, "install_time": None, "ts": _timestamp(row, default_ts)}
            spec = specs.get(full_hash)
            builds.append(_build(outcome, row, compilers.get(full_hash),
                                 spec if spec and spec["package"] == outcome["package"] else None))
    for full_hash, rows in labels.items():   # label rows completed by their spec too
        joined.update(full_hash for row in rows if specs.get(full_hash, {}).get("package") == row["_package"])
    unmatched = set(specs) - joined
    if unmatched:
        dump.notes.append(f"{len(unmatched)} of {len(specs)} spec files complete no build of their own package "
                          f"in this dump ({len(unmatched & elsewhere)} of them name a build of another package)")
    return builds


def _label_for(rows: list[dict], package: str) -> dict | None:
    """The label row of a hash for this package (a hash can be listed under several packages)."""
    return next((r for r in rows if package in (r.get("name"), r["_package"])), None)


def _build(outcome: dict, label: dict | None, compiler_version: str | None, spec: dict | None) -> dict:
    spec = spec or {}
    failed = outcome["status"] == "failed"
    reason = (label or {}).get("Reason")
    # labels say "Root Failure" when the package itself failed, and a reason naming a dependency
    # when one did. Without such a label ("Not Scheduled" beside a failed outcome happens too)
    # nobody knows which part failed: null.
    failed_part = None
    if failed and reason == "Root Failure":
        failed_part = "package"
    elif failed and reason and "depend" in reason.lower():
        failed_part = "dependency"
    return {
        "package": outcome["package"], "spec_hash": outcome["spec_hash"], "status": outcome["status"],
        "failed_part": failed_part,
        "version": (label or {}).get("version") or spec.get("version"),
        "compiler": spec.get("compiler"),
        "compiler_version": spec.get("compiler_version") or compiler_version,
        "platform": spec.get("platform"), "os": spec.get("os"), "target": spec.get("target"),
        "install_time": outcome["install_time"],
        "allocation_time": _number((label or {}).get("Alloc Time")),
        "origin": "outcomes", "ts": outcome["ts"],
    }


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

@dataclass
class Written:
    builds: list[Path]
    errors: list[Path]


def day_folder(root: Path, ts: float) -> Path:
    day = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    return root / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


def _digest(records) -> str:
    return hashlib.sha1(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()[:10]


def write_rejects(out: Path, date: dt.date, dump: Dump) -> Path | None:
    """The rejects as JSON lines, one per bad record or file, with its reason."""
    if not dump.rejects:
        return None
    rows = [r.as_dict() for r in dump.rejects]
    path = out / "rejects" / date.isoformat() / f"import-{_digest(rows)}.jsonl"
    _write_lines(path, rows)
    return path


def write_dump(out: Path, dump: Dump) -> Written:
    """Builds to OUT/builds/YYYY/MM/DD/builds-<digest>.jsonl (source spack_builds) and errors to
    OUT/errors/YYYY/MM/DD/<package>_<error|warn>-<digest>.jsonl, one record a line (source
    spack_errors, and bin/cluster-errors --source spack_errors). Names come from the content,
    so importing the same dump twice rewrites the same files instead of doubling the counts."""
    build_paths = []
    by_day: dict[Path, list[dict]] = {}
    for build in dump.builds:
        by_day.setdefault(day_folder(out / "builds", build["ts"]), []).append(build)
    for folder, records in by_day.items():
        path = folder / f"builds-{_digest(records)}.jsonl"
        _write_lines(path, records)
        build_paths.append(path)
    error_paths = []
    for stem, records in dump.errors.items():
        per_day: dict[Path, list[dict]] = {}
        for record in records:
            per_day.setdefault(day_folder(out / "errors", record["ts"]), []).append(record)
        for folder, day_records in per_day.items():
            path = folder / f"{stem}-{_digest(day_records)}.jsonl"
            _write_lines(path, day_records)
            error_paths.append(path)
    return Written(build_paths, error_paths)


def _write_lines(path: Path, rows: list[dict]) -> None:
    _write(path, "".join(json.dumps(row, default=str) + "\n" for row in rows))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)   # never a half-written file where bin/aggregate reads
