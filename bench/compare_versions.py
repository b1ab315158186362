#!/usr/bin/env python
"""Do two versions of jobrollup write the same things? Runs the same commands of both on the
same generated input, each into a database of its own, and compares what they wrote.

    .venv/bin/python bench/compare_versions.py --before 0700b09 [--after WORKTREE_OR_REF]
        [--jobs-per-day 1000] [--workdir var/compare]

For each version (a git ref checked out as a worktree under <workdir>, or this checkout):
1. `bin/aggregate` of 2026-01-01 at day, hour and week precision and of 2026-01-02 at day
   precision, then a second run of the first window (a re-run must change nothing);
2. `bin/cleanup` with hour retention 1 day, as of 2026-01-04;
3. `bin/cluster-errors` of 2026-01-01.
It then compares every collection of the two databases (aggregate documents, the bucket
ledger, the runs journal, error templates, clusters, counts and assignments), document by
document, after replacing run ids with their order of appearance and dropping what is
expected to differ: timestamps, process ids and timings. Prints what differs and exits 1 when
anything does, 0 when the two versions wrote the same documents.

The input (2025-12-29 .. 2026-01-05, a whole ISO week and a year change) comes from the newer
version's generator (both read the same files); each version
runs with its own configuration file, written from its own defaults with only the database,
the rejects folder and the errors folder changed. Needs both versions to run with this
checkout's .venv (JOBROLLUP_PYTHON).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import tomli_w  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from jobrollup.store import embedded  # noqa: E402

RUN_ID = re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}")
VARYING = {"started_at", "finished_at", "heartbeat_at", "updated_at", "created_at", "pid", "timings",
           "seconds_in_mongodb"}   # the journal's `writes`: seconds the executors were blocked writing
COMMANDS = [
    ["aggregate", "2026-01-01", "--precision", "day"],
    ["aggregate", "2026-01-01", "--precision", "hour"],
    ["aggregate", "2026-01-01", "--precision", "week"],
    ["aggregate", "2026-01-02", "--precision", "day"],
    ["aggregate", "2026-01-01", "--precision", "day"],      # a re-run
    ["cleanup", "--retention", "hour=1 day", "--now", "2026-01-04T00:00:00"],
    ["cluster-errors", "2026-01-01"],
]


def checkout(ref: str, workdir: Path) -> Path:
    """`ref` as a worktree under workdir (or a folder as it is)."""
    if Path(ref).is_dir():
        return Path(ref).resolve()
    target = workdir / f"checkout-{re.sub(r'[^A-Za-z0-9_.-]', '_', ref)}"
    if not target.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(target), ref],
                       check=True, capture_output=True)
    return target


def write_conf(home: Path, database: str, workdir: Path) -> Path:
    conf = tomllib.loads((home / "conf" / "jobrollup.toml").read_text())
    conf["mongo"]["database"] = database
    conf["aggregate"]["rejects_dir"] = str(workdir / "rejects")
    conf["errors"]["errors_dir"] = str(workdir / "errors" / database)
    path = workdir / f"{database}.toml"
    path.write_text(tomli_w.dumps(conf))
    return path


def run_version(home: Path, database: str, data: Path, uri: str, workdir: Path) -> list[float]:
    env = dict(os.environ, JOBROLLUP_CONF=str(write_conf(home, database, workdir)), JOBROLLUP_MONGO_URI=uri,
               JOBROLLUP_PYTHON=str(ROOT / ".venv" / "bin" / "python"))
    env.pop("JOBROLLUP_HOME", None)
    seconds = []
    for command in COMMANDS:
        argv = [str(home / "bin" / command[0]), *command[1:]]
        if command[0] in ("aggregate", "cluster-errors"):
            argv += ["--input", str(data), "--allow-missing"]
        started = time.monotonic()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        seconds.append(time.monotonic() - started)
        if done.returncode != 0:
            sys.exit(f"{home.name}: {' '.join(command)} failed ({done.returncode}): {done.stderr[-1500:]}")
        print(f"  {home.name:<28} {' '.join(command):<58} {seconds[-1]:5.1f} s", flush=True)
    return seconds


def normalised(value, runs: dict[str, str], database: str = ""):
    """Run ids -> their order of appearance; each version's own database name -> <database>;
    timestamps, pids and timings dropped."""
    if isinstance(value, dict):
        return {k: normalised(v, runs, database) for k, v in sorted(value.items()) if k not in VARYING}
    if isinstance(value, list):
        return [normalised(v, runs, database) for v in value]
    if isinstance(value, str):
        value = value.replace(database, "<database>") if database else value
        return RUN_ID.sub(lambda m: runs.setdefault(m[0], f"<run {len(runs) + 1}>"), value)
    return value


def snapshot(client: MongoClient, database: str) -> dict[str, dict]:
    db = client[database]
    runs: dict[str, str] = {}
    for run in db["runs"].find().sort("started_at", 1):      # ids numbered in the order the runs began
        normalised(run["_id"], runs)
    out = {}
    for name in sorted(db.list_collection_names()):
        docs = {}
        for doc in db[name].find():
            key = normalised(str(doc["_id"]), runs, database)
            docs[key] = normalised(doc, runs, database)
        out[name] = docs
    return out


def compare(before: dict, after: dict) -> list[str]:
    problems = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a is None or b is None:
            problems.append(f"{name}: only {'after' if a is None else 'before'} has it")
            continue
        missing, extra = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        if missing or extra:
            problems.append(f"{name}: {len(missing)} documents only before, {len(extra)} only after "
                            f"(e.g. {(missing or extra)[0]})")
        for key in sorted(set(a) & set(b)):
            if a[key] != b[key]:
                differing = sorted(k for k in set(a[key]) | set(b[key]) if a[key].get(k) != b[key].get(k))
                problems.append(f"{name} {key}: differs in {', '.join(differing)}: "
                                f"{json.dumps({k: a[key].get(k) for k in differing}, default=str)[:300]} vs "
                                f"{json.dumps({k: b[key].get(k) for k in differing}, default=str)[:300]}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="git ref (or folder) of the older version")
    parser.add_argument("--after", default=str(ROOT), help="git ref or folder of the newer version (default: this checkout)")
    parser.add_argument("--jobs-per-day", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "compare")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir / "rejects", ignore_errors=True)
        shutil.rmtree(workdir / "errors", ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    homes = {"before": checkout(args.before, workdir), "after": checkout(args.after, workdir)}
    data = workdir / "fwjr"
    if not data.exists():
        subprocess.run([str(homes["after"] / "bin" / "generate"), str(data), "--start", "2025-12-29", "--days", "8",
                        "--jobs-per-day", str(args.jobs_per_day), "--seed", "7"], check=True,
                       env=dict(os.environ, JOBROLLUP_PYTHON=str(ROOT / ".venv" / "bin" / "python")))
    server = embedded.ensure_running(workdir / "mongo")
    client = MongoClient(server.uri)
    stamp = dt.datetime.now().strftime("%H%M%S")
    snapshots, seconds = {}, {}
    for which, home in homes.items():
        database = f"compare_{which}_{stamp}"
        print(f"{which}: {home}", flush=True)
        seconds[which] = run_version(home, database, data, server.uri, workdir)
        snapshots[which] = snapshot(client, database)
        client.drop_database(database)
    problems = compare(snapshots["before"], snapshots["after"])
    sizes = ", ".join(f"{name} {len(docs):,}" for name, docs in snapshots["after"].items())
    print(f"collections compared: {sizes}")
    print(f"time: before {sum(seconds['before']):.1f} s, after {sum(seconds['after']):.1f} s over {len(COMMANDS)} commands")
    per_collection = Counter(problem.split(" ", 1)[0].rstrip(":") for problem in problems)
    for name in snapshots["after"]:
        print(f"  {name:<24} {'same' if not per_collection[name] else f'{per_collection[name]:,} differences'}")
    for problem in problems[:40]:
        print("DIFFERS " + problem)
    print("same documents, journal entries and ledger" if not problems else f"{len(problems)} differences")
    embedded.stop(workdir / "mongo")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
