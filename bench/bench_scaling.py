#!/usr/bin/env python
"""How the cost of the aggregation grows with its input: several sizes on two Spark masters.

    .venv/bin/python bench/bench_scaling.py [--sizes 1000000,4000000,16000000]
        [--masters local,standalone] [--workdir var/bench-scaling] [--keep-data]
        [--format jsonl.gz] [--files-per-day 8] [--jobs-per-day 250000]
        [--driver-memory 6g] [--worker-memory 3g] [--time-limit MINUTES]
    .venv/bin/python bench/bench_scaling.py --table-only     # the table of <workdir>/results.jsonl

For each size (ascending), the input is generated once (harness.ensure_data: reused
through its manifest when an earlier run kept it with --keep-data) and every master runs the
aggregation of the whole generated span over the same files, at day precision, into a fresh
database of the embedded SecantusDB server:

- local:      spark.aggregate_job.run in a fresh child process (harness.spark_session, local[2],
              harness.TimedStore), the way bench_aggregate drives the job;
- standalone: bin/aggregate --master spark://127.0.0.1:PORT against a cluster this benchmark
              starts from the installed pyspark on loopback (a master, two workers of one core
              each, as tests/test_cluster.py does): the package goes to the cluster as the zip
              bin/aggregate builds and spark-submit ships, as in production.

Input size: days = ceil(size / --jobs-per-day), so 250,000 jobs a day (a busy CMS day) and
1M jobs = 4 days, 4M = 16 days, 16M = 64 days: more input is a longer span (a backfill,
a month run), which also means proportionally more documents.

Every run is a fresh driver (cold, like a cron run); its seconds are aggregate_job.run's own clock
(read_and_aggregate + rejects + write + remove_stale, the run journal's timings.total), for both masters;
the standalone command's wall time (spark-submit, JVMs, executors) is given beside it. Peak
memory (RSS, sampled every 0.5 s): the driver tree (JVM + Python), the executors (standalone),
the MongoDB server. Spark's event log of each run is summarised (tasks, failed tasks, GC,
spill, the slowest task against the median one per stage: skew). A line per run goes to
<workdir>/results.jsonl as soon as it ends, so a partial benchmark is not lost.

Every process started here (child, spark-submit, cluster master and workers, a MongoDB server
this run started) is stopped at the end, on errors, Ctrl-C and SIGTERM too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

import psutil

import harness  # first: it puts src/ on sys.path (bench/ is there as the script's folder)
from harness import ROOT, gb, mib, phase, say
from jobrollup import config, sources
from jobrollup.spark import aggregate_job, submit
from jobrollup.store.mongo import RUNS

FWJR = sources.get("fwjr")
LOCAL_MASTER = "local[2]"          # the same two cores as the two one-core workers
SHUFFLE_PARTITIONS = "8"           # as harness.spark_session, for both masters
# Bytes per generated job by format, until a manifest in the workdir says better (measured here:
# jsonl 3.21 GB per million jobs, jsonl.gz about 0.7 GB).
BYTES_PER_JOB = {"jsonl": 3300, "jsonl.gz": 760, "parquet": 1500}
# Disk a run needs beside its input: Spark's scratch (the persisted job records spill there)
# and the documents in MongoDB. A generous guess per job, checked before generating.
RUN_BYTES_PER_JOB = 1000
DISK_MARGIN = 5 * 2**30
ABORT_FREE_BYTES = int(1.5 * 2**30)   # a run is stopped when the disk gets this full
HEARTBEAT_S = 60
DEFAULT_SIZES = (1_000_000, 4_000_000, 16_000_000)


def memory_bytes(text: str) -> int:
    match = re.fullmatch(r"(\d+)([kmgt]?)b?", text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a memory size (like 3g, 1500m): {text!r}")
    return int(match[1]) * 1024 ** " kmgt".index(match[2] or " ")


# ---------------------------------------------------------------------------------------------
# Sampling a run: memory and CPU of its process trees, load average, free disk, scratch size
# ---------------------------------------------------------------------------------------------

class RunSampler(harness.MemorySampler):
    """The harness's sampler thread, over the process trees of one run: the driver (the
    local child, or bin/aggregate -> spark-submit JVM -> Python driver), the executors (the
    children of the standalone workers), the MongoDB server. Peaks of RSS, CPU seconds used
    (the last value seen of every process), 1-min load average, free disk, scratch size."""

    def __init__(self, root_pid: int, worker_pids: list[int], mongo_pid: int | None, disk: Path,
                 scratch: list[Path], interval: float = 0.5):
        super().__init__(interval)
        self.root = psutil.Process(root_pid)
        self.workers = [psutil.Process(p) for p in worker_pids]
        self.mongo = psutil.Process(mongo_pid) if mongo_pid else None
        self.disk, self.scratch = disk, scratch
        self.peak = {"driver_jvm": 0, "driver_python": 0, "driver": 0, "executors": 0, "executor_max": 0,
                     "mongo": 0, "scratch": 0}
        self.cpu: dict[tuple, float] = {}      # (group, pid, create time) -> CPU seconds
        self.mongo_cpu0 = harness.cpu_used([self.mongo]) if self.mongo else 0.0
        self.load_before = os.getloadavg()[0]
        self.loads: list[float] = []
        self.min_free = shutil.disk_usage(disk).free
        self._last_scratch = 0.0

    def _note_cpu(self, group: str, proc) -> None:
        try:
            key = (group, proc.pid, proc.create_time())
        except psutil.Error:
            return
        cpu = harness.cpu_used([proc])
        if cpu:
            self.cpu[key] = max(self.cpu.get(key, 0.0), cpu)

    def sample(self) -> None:
        jvm = python = 0
        for proc in harness.process_tree(self.root):
            try:
                is_java = proc.name().startswith("java")
            except psutil.Error:
                continue
            rss = harness.rss(proc)
            if is_java:
                jvm += rss
            else:
                python += rss
            self._note_cpu("driver", proc)
        executors, largest = 0, 0
        for worker in self.workers:
            try:
                children = worker.children(recursive=True)
            except psutil.Error:
                continue
            for child in children:
                rss = harness.rss(child)
                executors += rss
                largest = max(largest, rss)
                self._note_cpu("executors", child)
        mongo = sum(harness.rss(p) for p in harness.process_tree(self.mongo)) if self.mongo else 0
        with self._lock:
            p = self.peak
            p["driver_jvm"] = max(p["driver_jvm"], jvm)
            p["driver_python"] = max(p["driver_python"], python)
            p["driver"] = max(p["driver"], jvm + python)
            p["executors"] = max(p["executors"], executors)
            p["executor_max"] = max(p["executor_max"], largest)
            p["mongo"] = max(p["mongo"], mongo)
            self.loads.append(os.getloadavg()[0])
            try:
                self.min_free = min(self.min_free, shutil.disk_usage(self.disk).free)
            except OSError:
                pass
        if time.monotonic() - self._last_scratch >= 5:   # walking the scratch folders costs more
            self._last_scratch = time.monotonic()
            size = sum(folder_size(s) for s in self.scratch)
            with self._lock:
                self.peak["scratch"] = max(self.peak["scratch"], size)

    def cpu_seconds(self) -> dict[str, float]:
        result = {"driver": 0.0, "executors": 0.0}
        for (group, _, _), cpu in self.cpu.items():
            result[group] += cpu
        result["mongo"] = (harness.cpu_used([self.mongo]) - self.mongo_cpu0) if self.mongo else 0.0
        return {k: round(v, 1) for k, v in result.items()}

    def load(self) -> dict[str, float]:
        loads = self.loads or [os.getloadavg()[0]]
        return {"before": round(self.load_before, 2), "mean": round(sum(loads) / len(loads), 2),
                "max": round(max(loads), 2)}


class MongoProbe(threading.Thread):
    """Pings the MongoDB server every 2 s with patient timeouts and records the slowest answer:
    a server that stops answering for long makes pymongo's monitor (whose timeout is the
    connect timeout, 5 s in conf, plus the heartbeat) declare it gone and cancel the operation
    in flight ("operation cancelled")."""

    def __init__(self, uri: str):
        super().__init__(name="mongo-probe", daemon=True)
        self.client = harness.check_client(uri)
        self.began = time.monotonic()
        self.slowest, self.slowest_at, self.slow = 0.0, 0.0, 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(2.0):
            t = time.monotonic()
            try:
                self.client.admin.command("ping")
            except Exception:  # noqa: BLE001  (the run reports MongoDB failures itself)
                pass
            took = time.monotonic() - t
            if took > 5:
                self.slow += 1
            if took > self.slowest:
                self.slowest, self.slowest_at = took, t - self.began

    def stop(self) -> dict:
        self._halt.set()
        self.join(timeout=5)
        self.client.close()
        return {"slowest_ping_s": round(self.slowest, 1), "at_s": round(self.slowest_at),
                "pings_over_5s": self.slow}


def folder_size(folder: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


# ---------------------------------------------------------------------------------------------
# A Spark standalone cluster on loopback: one master, two one-core workers (tests/test_cluster.py)
# ---------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StandaloneCluster:
    def __init__(self, folder: Path, workers: int, worker_memory: str):
        import pyspark

        self.folder = folder
        self.workers, self.worker_memory = workers, worker_memory
        self.spark_home = Path(os.environ.get("SPARK_HOME") or Path(pyspark.__file__).parent)
        self.processes: list[subprocess.Popen] = []
        self.logs = []
        self.port = self.ui = 0
        self.scratch = folder / "scratch"

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    @property
    def worker_pids(self) -> list[int]:
        return [p.pid for p in self.processes[1:]]

    def start(self) -> None:
        spark_class = str(self.spark_home / "bin" / "spark-class")
        self.scratch.mkdir(parents=True, exist_ok=True)
        # Executors inherit SPARK_LOCAL_DIRS from their worker: their scratch stays in the workdir.
        env = dict(os.environ, SPARK_HOME=str(self.spark_home), SPARK_LOCAL_IP="127.0.0.1",
                   SPARK_NO_DAEMONIZE="1", SPARK_LOCAL_DIRS=str(self.scratch))
        self.port, self.ui = free_port(), free_port()

        def start(args, name):
            log = open(self.folder / f"{name}.log", "w")
            self.logs.append(log)
            self.processes.append(subprocess.Popen([spark_class, *args], env=env, stdout=log, stderr=log,
                                                   stdin=subprocess.DEVNULL, start_new_session=True))

        start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(self.port),
               "--webui-port", str(self.ui)], "master")
        for i in range(self.workers):
            start(["org.apache.spark.deploy.worker.Worker", self.url, "--host", "127.0.0.1",
                   "--cores", "1", "--memory", self.worker_memory, "--webui-port", str(free_port()),
                   "--work-dir", str(self.folder / f"worker{i}")], f"worker{i}")
        deadline = time.monotonic() + 120
        while True:
            state = self.state()
            if state and state.get("aliveworkers") == self.workers:
                return
            dead = [p for p in self.processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"the standalone cluster did not come up ({len(dead)} process(es) exited); "
                                   f"see the logs in {self.folder}")
            time.sleep(0.5)

    def state(self) -> dict | None:
        try:
            return json.load(urllib.request.urlopen(f"http://127.0.0.1:{self.ui}/json/", timeout=5))
        except (OSError, ValueError):
            return None

    def app(self, name: str) -> dict | None:
        state = self.state() or {}
        apps = [a for a in state.get("completedapps", []) + state.get("activeapps", []) if a.get("name") == name]
        return max(apps, key=lambda a: a.get("starttime", 0)) if apps else None

    def stop(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
        for log in self.logs:
            log.close()
        self.processes.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Spark's event log of a run: tasks, failures, GC, spill, skew
# ---------------------------------------------------------------------------------------------

def event_log_files(folder: Path) -> list[Path]:
    """The event log's files in order: Spark 4 writes eventlog_v2_<app>/events_<n>_<app> (rolling),
    older versions a single file."""
    def order(path: Path):
        match = re.match(r"events_(\d+)_", path.name)
        return (int(match[1]) if match else 0, path.name)

    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith((".", "appstatus"))]
    return sorted(files, key=order)


def event_lines(files: list[Path]):
    for path in files:
        with open(path, errors="replace") as handle:
            yield from handle


def summarize_event_log(folder: Path) -> dict | None:
    files = event_log_files(folder)
    if not files:
        return None
    stages: dict[int, dict] = {}
    tasks: dict[int, list] = {}
    executors, removed, heap = set(), [], {}
    failed = 0
    for line in event_lines(files):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        kind = event.get("Event")
        if kind == "SparkListenerTaskEnd":
            info, metrics = event.get("Task Info", {}), event.get("Task Metrics") or {}
            if info.get("Failed") or info.get("Killed"):
                failed += 1
            shuffle_w = metrics.get("Shuffle Write Metrics", {})
            tasks.setdefault(event.get("Stage ID"), []).append((
                (info.get("Finish Time", 0) - info.get("Launch Time", 0)) / 1000,
                metrics.get("JVM GC Time", 0) / 1000,
                metrics.get("Memory Bytes Spilled", 0), metrics.get("Disk Bytes Spilled", 0),
                metrics.get("Input Metrics", {}).get("Bytes Read", 0),
                shuffle_w.get("Shuffle Bytes Written", 0),
                metrics.get("Peak Execution Memory", 0)))
        elif kind == "SparkListenerStageCompleted":
            info = event.get("Stage Info", {})
            stages[info.get("Stage ID")] = {
                "name": (info.get("Stage Name") or "").split(" at ")[0],
                "seconds": round((info.get("Completion Time", 0) - info.get("Submission Time", 0)) / 1000, 1),
                "failure": (info.get("Failure Reason") or "")[:200] or None}
        elif kind == "SparkListenerExecutorAdded":
            executors.add(event.get("Executor ID"))
        elif kind == "SparkListenerExecutorRemoved":
            removed.append(f"{event.get('Executor ID')}: {(event.get('Removed Reason') or '')[:120]}")
        elif kind == "SparkListenerStageExecutorMetrics":
            heap_used = (event.get("Executor Metrics") or {}).get("JVMHeapMemory", 0)
            who = event.get("Executor ID")
            heap[who] = max(heap.get(who, 0), heap_used)
    rows = []
    for stage_id, items in sorted(tasks.items(), key=lambda kv: kv[0] if kv[0] is not None else -1):
        durations = sorted(t[0] for t in items)
        median = durations[len(durations) // 2]
        stage = stages.get(stage_id, {})
        rows.append({"stage": stage_id, "name": stage.get("name"), "seconds": stage.get("seconds"),
                     "tasks": len(items), "task_median_s": round(median, 1), "task_max_s": round(durations[-1], 1),
                     "gc_s": round(sum(t[1] for t in items), 1),
                     "spill_memory": sum(t[2] for t in items), "spill_disk": sum(t[3] for t in items),
                     "input": sum(t[4] for t in items), "shuffle_write": sum(t[5] for t in items),
                     "peak_execution_memory_max": max(t[6] for t in items),
                     "failure": stage.get("failure")})
    task_s = sum(t[0] for items in tasks.values() for t in items)
    gc_s = sum(r["gc_s"] for r in rows)
    # Skew: among stages with at least 4 tasks and a slowest task over 5 s, the worst slowest/median.
    skewed = [r for r in rows if r["tasks"] >= 4 and r["task_max_s"] >= 5]
    worst = max(skewed, key=lambda r: r["task_max_s"] / max(r["task_median_s"], 0.1), default=None)
    # toLocalIterator computes the aggregate one shuffle partition at a time: one single-task
    # stage each. Uneven partitions (skewed groups) show up as uneven stages.
    pulls = sorted(r["task_max_s"] for r in rows if r["name"] == "toLocalIterator" and r["tasks"] == 1)
    return {
        "stages": len(rows), "tasks": sum(r["tasks"] for r in rows), "failed_tasks": failed,
        "task_seconds": round(task_s, 1), "gc_seconds": round(gc_s, 1),
        "gc_share": round(gc_s / task_s, 3) if task_s else 0.0,
        "spill_memory": sum(r["spill_memory"] for r in rows), "spill_disk": sum(r["spill_disk"] for r in rows),
        "executors": sorted(e for e in executors if e is not None), "executors_removed": removed,
        "jvm_heap_peak": {str(k): v for k, v in heap.items()},
        "skew": None if worst is None else {
            "stage": worst["stage"], "name": worst["name"], "tasks": worst["tasks"],
            "median_s": worst["task_median_s"], "max_s": worst["task_max_s"],
            "ratio": round(worst["task_max_s"] / max(worst["task_median_s"], 0.1), 1)},
        "result_partitions": None if not pulls else {
            "count": len(pulls), "median_s": pulls[len(pulls) // 2], "max_s": pulls[-1], "total_s": round(sum(pulls), 1)},
        "slowest_stages": sorted(rows, key=lambda r: -(r["seconds"] or 0))[:4],
    }


def describe_spark(summary: dict | None) -> str:
    if not summary:
        return "no event log"
    s = summary
    text = (f"{s['stages']} stages, {s['tasks']:,} tasks ({s['failed_tasks']} failed), task time {s['task_seconds']:,.0f} s, "
            f"GC {s['gc_seconds']:,.0f} s ({s['gc_share']:.0%}), spill {mib(s['spill_memory'])} memory / "
            f"{mib(s['spill_disk'])} disk")
    if s["skew"]:
        k = s["skew"]
        text += (f"; most uneven stage {k['stage']} ({k['name']}, {k['tasks']} tasks): slowest task {k['max_s']:.0f} s "
                 f"vs median {k['median_s']:.0f} s")
    if s.get("result_partitions"):
        k = s["result_partitions"]
        text += (f"; {k['count']} result partitions pulled one by one: median {k['median_s']:.1f} s, "
                 f"slowest {k['max_s']:.1f} s, {k['total_s']:.0f} s in all")
    if s["jvm_heap_peak"]:
        text += "; JVM heap peak " + ", ".join(f"{k} {mib(v)}" for k, v in sorted(s["jvm_heap_peak"].items()))
    if s["executors_removed"]:
        text += f"; executors removed: {'; '.join(s['executors_removed'][:3])}"
    return text


# ---------------------------------------------------------------------------------------------
# Disk space
# ---------------------------------------------------------------------------------------------

def bytes_per_job(workdir: Path, fmt: str) -> tuple[float, str]:
    """From the manifests of data generated earlier in this workdir, else the built-in guess."""
    seen = []
    for manifest in (workdir / "data").glob("fwjr-*.manifest.json"):
        try:
            m = json.loads(manifest.read_text())
            if m["params"]["format"] == fmt and m["totals"]["reports"] > 0:
                seen.append(m["totals"]["bytes"] / m["totals"]["reports"])
        except (OSError, ValueError, KeyError):
            continue
    if seen:
        return max(seen), "measured on earlier data here"
    return BYTES_PER_JOB[fmt], "estimate"


def check_disk(workdir: Path, plans: list[dict], fmt: str, keep: bool, what: str, masters: int) -> None:
    """Refuse (SystemExit) when the disk cannot hold the input and runs still to come."""
    per_job, how = bytes_per_job(workdir, fmt)
    free = shutil.disk_usage(workdir).free
    needs, kept, runs = [], 0.0, 0.0
    for p in plans:
        data = 0.0 if p["present"] else p["jobs"] * per_job
        # SecantusDB does not give back the space of a dropped database while it runs: every run counts.
        runs += p["jobs"] * RUN_BYTES_PER_JOB * masters
        # Without --keep-data the input of a size is removed before the next one is generated.
        needs.append(kept + data + runs)
        if keep:
            kept += data
    need = max(needs, default=0) + DISK_MARGIN
    sizes = ", ".join(f"{p['jobs']:,} jobs: {'present' if p['present'] else gb(p['jobs'] * per_job)}"
                      for p in plans)
    say(f"disk ({what}): {gb(free)} free under {workdir}; need about {gb(need)} "
        f"(input at {per_job:,.0f} bytes/job [{how}] - {sizes}; {RUN_BYTES_PER_JOB} bytes/job and run of Spark "
        f"scratch and MongoDB, {masters} run(s) a size; {gb(DISK_MARGIN)} margin{'; inputs kept' if keep else ''})")
    if free < need:
        raise SystemExit(
            f"error: not enough disk space: {gb(free)} free under {workdir}, about {gb(need)} needed. "
            f"Use --format jsonl.gz (about {BYTES_PER_JOB['jsonl.gz']} bytes/job instead of "
            f"{BYTES_PER_JOB['jsonl']} for jsonl), smaller --sizes, no --keep-data, or free some space.")


# ---------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------

def run_one(ctx, master: str, item: dict) -> dict:
    """Run the aggregation of `item` (a generated size) on `master`; returns the result record."""
    args, workdir, server = ctx.args, ctx.workdir, ctx.server
    tag = f"{item['jobs']}-{master}-{dt.datetime.now():%H%M%S}"
    run_dir = workdir / "runs" / tag
    events, scratch, rejects = run_dir / "eventlog", run_dir / "scratch", run_dir / "rejects"
    for folder in (events, scratch):
        folder.mkdir(parents=True, exist_ok=True)
    database = f"scale_{item['jobs']}_{master}_{uuid.uuid4().hex[:6]}"
    log_path = workdir / "logs" / f"{tag}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    spark_conf = {"spark.eventLog.enabled": "true", "spark.eventLog.dir": f"file://{events}",
                  "spark.eventLog.compress": "false", "spark.eventLog.logStageExecutorMetrics": "true",
                  "spark.local.dir": str(scratch)}
    conf_path = harness.conf_file(ctx.conf, run_dir / "jobrollup.toml", database=database, rejects_dir=rejects)
    record = {"kind": "run", "master": master, "size": item["jobs"], "days": item["days"],
              "jobs_per_day": item["jobs_per_day"], "jobs_per_day_target": args.jobs_per_day, "format": args.fmt, "files_per_day": args.files_per_day,
              "precision": args.precision, "input_files": item["files"], "input_bytes": item["bytes"],
              "driver_memory": args.driver_memory, "database": database, "log": str(log_path),
              "started_at": dt.datetime.now().isoformat(timespec="seconds")}
    remaining = ctx.deadline - time.monotonic() if ctx.deadline else None
    if ctx.server_dead:
        record.update(status="skipped", error="the MongoDB server died in an earlier run")
        return record
    if remaining is not None and remaining < 30:
        record.update(status="skipped", error="--time-limit reached before this run")
        return record
    if master == "local":
        spec = {"master": LOCAL_MASTER, "driver_memory": args.driver_memory, "conf": str(conf_path),
                "spark_conf": spark_conf, "run_dir": str(run_dir), "mongo_uri": server.uri, "database": database,
                "data_root": str(item["root"]), "first": item["first"], "last": item["last"],
                "precision": args.precision, "rejects": str(rejects), "result": str(run_dir / "result.json")}
        (run_dir / "spec.json").write_text(json.dumps(spec, indent=1))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--local-child", str(run_dir / "spec.json")]
        env = dict(os.environ)
        record["master_url"] = LOCAL_MASTER
        scratch_dirs = [scratch]
        worker_pids: list[int] = []
    else:
        cluster = ctx.cluster
        record.update(master_url=cluster.url, worker_memory=args.worker_memory, workers=2, worker_cores=1)
        settings = {**spark_conf, "spark.driver.memory": args.driver_memory,
                    "spark.executor.memory": args.worker_memory, "spark.executor.cores": "1",
                    "spark.cores.max": "2", "spark.sql.shuffle.partitions": SHUFFLE_PARTITIONS,
                    "spark.ui.enabled": "false"}
        cmd = [str(ROOT / "bin" / "aggregate"), "--min-date", item["first"], "--max-date", item["last"],
               f"--precision={args.precision}", "--input", str(item["root"]), "--master", cluster.url,
               "--conf", str(conf_path)]
        for key, value in settings.items():
            cmd += ["--spark-conf", f"{key}={value}"]
        env = dict(os.environ, **{config.ENV_MONGO_URI: server.uri})
        scratch_dirs = [scratch, cluster.scratch]
        worker_pids = cluster.worker_pids
        apps_before = {a.get("id") for a in (cluster.state() or {}).get("completedapps", [])}
    record["command"] = submit.printable(cmd)
    say(f"$ {record['command'] if master == 'standalone' else record['command'] + '   # aggregate_job.run on ' + LOCAL_MASTER}")
    say(f"   database {database}; log {log_path}")

    status, error = "failed", None
    began = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=ROOT)
        sampler = RunSampler(proc.pid, worker_pids, server.pid, workdir, scratch_dirs)
        sampler.start()
        probe = MongoProbe(server.uri)
        probe.start()
        try:
            next_beat = time.monotonic() + HEARTBEAT_S
            while proc.poll() is None:
                time.sleep(0.5)
                now = time.monotonic()
                if ctx.deadline and now > ctx.deadline:
                    error = "stopped: --time-limit reached"
                    say(f"   {error}; stopping the run")
                    harness.stop_process(proc, group_first=(master == "standalone"))
                    status = "timeout"
                    break
                if sampler.min_free < ABORT_FREE_BYTES:
                    error = f"stopped: only {gb(sampler.min_free)} disk left"
                    say(f"   {error}; stopping the run")
                    harness.stop_process(proc, group_first=(master == "standalone"))
                    break
                if now >= next_beat:
                    next_beat = now + HEARTBEAT_S
                    p = sampler.peak
                    say(f"   .. {time.perf_counter() - began:,.0f} s  load {os.getloadavg()[0]:.1f}  "
                        f"driver peak {mib(p['driver'])}" + (f"  executors {mib(p['executors'])}" if worker_pids else "")
                        + f"  scratch {mib(p['scratch'])}  free disk {gb(sampler.min_free)}  | {last_line(log_path)}")
        except BaseException:
            harness.stop_process(proc, group_first=(master == "standalone"))
            raise
        finally:
            sampler.stop()
            record["mongo_probe"] = probe.stop()
            command_s = time.perf_counter() - began
    harness.reap_group(proc.pid)
    code = proc.returncode
    record.update(command_s=round(command_s, 1), exit_code=code, load=sampler.load(),
                  cpu_s=sampler.cpu_seconds(), min_free_disk=sampler.min_free,
                  peak={k: v for k, v in sampler.peak.items()})

    # What the run did: the run journal of its fresh database (the same for both masters). The
    # checks wait up to 10 minutes for a busy server, so not at all for a dead one.
    if not harness.process_alive(server.pid):
        error = (f"the MongoDB server (pid {server.pid}) died during the run, at "
                 f"{mib(sampler.peak['mongo'])} (out of memory? see dmesg)")
        say(f"   {error}")
        ctx.server_dead = True
    checker = None if ctx.server_dead else harness.check_client(server.uri)
    try:
        journal = None
        if checker is not None:
            journal = checker[database][RUNS].find_one(sort=[("started_at", -1)])
        if journal:
            counts = journal.get("records") or {}
            docs = journal.get("documents") or {}
            record.update(run_id=journal["_id"], journal_status=journal.get("status"),
                          timings=journal.get("timings"), lines=counts.get("lines"),
                          in_window=counts.get("in_window"), outside_window=counts.get("outside_window"),
                          rejected=counts.get("rejected"), documents=docs.get("written"),
                          removed=docs.get("removed"))
            if journal.get("error"):
                error = error or journal["error"]
            if journal.get("status") != "succeeded":
                # Where it stopped: the journal's last heartbeat (one per write batch) and what was written.
                started = journal.get("started_at")
                record["failed_after"] = {
                    "last_heartbeat_s": (journal["heartbeat_at"] - started).total_seconds()
                    if started and journal.get("heartbeat_at") else None,
                    "finished_s": (journal["finished_at"] - started).total_seconds()
                    if started and journal.get("finished_at") else None,
                    "documents_in_collection": checker[database][FWJR.collection].estimated_document_count()}
    finally:
        if checker is not None:
            if not args.keep_mongo:
                try:
                    checker.drop_database(database)
                except Exception as drop_error:  # noqa: BLE001
                    say(f"   warning: could not drop {database}: {drop_error}")
            checker.close()
    if master == "local":
        child = run_dir / "result.json"
        if child.exists():
            result = json.loads(child.read_text())
            record["child"] = {k: result.get(k) for k in ("startup_s", "pipeline_s", "write_s", "write_partitions",
                                                        "remove_s", "partitions", "app_id")}
            error = error or result.get("error")
    else:
        app = ctx.cluster.app(f"jobrollup-aggregate-{args.precision}-{item['first']}")
        app = app if app and app.get("id") not in apps_before else None
        record["cluster_app"] = None if app is None else {
            k: app.get(k) for k in ("id", "state", "cores", "memoryperexecutor", "duration")}
    record["spark"] = summarize_event_log(events)

    if code == 0 and record.get("journal_status") == "succeeded" and status != "timeout":
        status = "ok"
        if master == "standalone" and not record.get("cluster_app"):
            status, error = "failed", "the standalone master does not list the application"
    elif error is None:
        error = f"exit code {code}; last line: {last_line(log_path)}"
    record["status"], record["error"] = status, error
    t = (record.get("timings") or {})
    if status == "ok":
        record["seconds"] = t.get("total")
        record["jobs_per_s"] = round(record["in_window"] / t["total"]) if t.get("total") else None
        record["lines_per_s"] = round(record["lines"] / t["total"]) if t.get("total") else None
    record["finished_at"] = dt.datetime.now().isoformat(timespec="seconds")
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(rejects, ignore_errors=True)
    shutil.rmtree(run_dir / "spark-warehouse", ignore_errors=True)
    return record


def last_line(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4000))
            lines = [l for l in handle.read().decode(errors="replace").splitlines() if l.strip()]
        return lines[-1].strip()[:160] if lines else ""
    except OSError:
        return ""


def report_run(r: dict) -> None:
    probe = r.get("mongo_probe") or {}
    mongo_line = (f"   MongoDB server answered a ping within {probe.get('slowest_ping_s', 0):.1f} s at worst "
                  f"({probe.get('at_s', 0):,} s into the run; {probe.get('pings_over_5s', 0)} pings over 5 s)")
    if r["status"] != "ok":
        say(f"   {r['master']} {r['size']:,}: {r['status'].upper()}: {r.get('error')}")
        if r.get("failed_after"):
            say(f"   failed after: {r['failed_after']}; timings {r.get('timings')}")
        say(mongo_line)
        if r.get("spark"):
            say(f"   spark: {describe_spark(r['spark'])}")
        return
    t, p, c, load = r["timings"], r["peak"], r["cpu_s"], r["load"]
    say(f"   jobs {r['in_window']:,} in the window of {r['lines']:,} lines ({r['outside_window']:,} of other "
        f"windows, {r['rejected']:,} rejected); documents written {r['documents']:,}")
    say(f"   aggregate_job.run {t['total']:,.1f} s = " + " + ".join(f"{k} {v:,.1f} s" for k, v in t.items() if k != "total")
        + f"; {r['jobs_per_s']:,} jobs/s" + (f"; command wall {r['command_s']:,.1f} s" if r["master"] == "standalone"
                                            else f" (child process {r['command_s']:,.1f} s with JVM start)"))
    if r.get("child"):
        ch = r["child"]
        say(f"   inside write: the executors were {ch['write_s']:,.1f} s blocked in MongoDB writes "
            f"(summed over {ch.get('write_partitions', 0)} partitions), the driver {ch.get('remove_s', 0):,.1f} s "
            f"removing stale documents; {ch['partitions']} input partitions")
    say(f"   peak memory: driver {mib(p['driver'])} (JVM {mib(p['driver_jvm'])}, Python {mib(p['driver_python'])})"
        + (f", executors {mib(p['executors'])} (largest {mib(p['executor_max'])})" if r["master"] == "standalone" else "")
        + f", MongoDB server {mib(p['mongo'])}; Spark scratch peak {mib(p['scratch'])}")
    say(f"   CPU: driver {c['driver']:,.0f} s" + (f", executors {c['executors']:,.0f} s" if r["master"] == "standalone" else "")
        + f", MongoDB {c['mongo']:,.0f} s; load average {load['before']:.1f} before, {load['mean']:.1f} mean, "
        f"{load['max']:.1f} max during the run; min free disk {gb(r['min_free_disk'])}")
    say(mongo_line)
    say(f"   spark: {describe_spark(r['spark'])}")


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------

def config_key(r: dict) -> tuple:
    """The settings a result depends on besides its size and master."""
    return (r.get("format"), r.get("files_per_day"), r.get("jobs_per_day_target"), r.get("precision"),
            r.get("driver_memory"), r.get("worker_memory") if r.get("master") == "standalone" else None)


def args_key(args, master: str) -> tuple:
    return (args.fmt, args.files_per_day, args.jobs_per_day, args.precision, args.driver_memory,
            args.worker_memory if master == "standalone" else None)


def earlier_rows(args, results: list[dict]) -> list[dict]:
    """--table-only: the latest successful result per (master, size) with the settings of `args`
    (and among --sizes when given), from results.jsonl; failures only where nothing succeeded."""
    best: dict[tuple, dict] = {}
    for r in results:   # in file order: later lines win
        if r.get("kind") != "run" or config_key(r) != args_key(args, r.get("master")):
            continue
        if args.sizes and r["size"] not in args.sizes or r["master"] not in args.masters:
            continue
        key = (r["master"], r["size"])
        if r.get("status") == "ok" or best.get(key, {}).get("status") != "ok":
            best[key] = r
    return list(best.values())


def print_table(records: list[dict]) -> None:
    """size x master -> seconds, jobs/s, growth of time against the smallest size of that master."""
    rows = {(r["master"], r["size"]): r for r in records}
    if not rows:
        say("no results")
        return
    header = (f"{'size (jobs)':>12}  {'master':<10}  {'days':>4}  {'documents':>10}  {'seconds':>8}  {'jobs/s':>7}  "
              f"{'time x':>7}  {'size x':>6}  {'CPU s':>6}  {'CPU x':>5}  {'mongo CPU':>9}  {'driver MB':>9}  "
              f"{'exec MB':>8}  {'mongo MB':>8}  {'load':>9}  status")
    say(header)
    say("-" * len(header))
    for master in ("local", "standalone"):
        mine = sorted((r for (m, _), r in rows.items() if m == master), key=lambda r: r["size"])
        ok = [r for r in mine if r["status"] == "ok"]
        base = ok[0] if ok else None
        for r in mine:
            good = r["status"] == "ok"
            growth = f"{r['seconds'] / base['seconds']:.2f}" if good and base else "-"
            scale = f"{r['size'] / base['size']:.0f}" if base else "-"
            p = r.get("peak") or {}
            load = r.get("load") or {}
            cpu = spark_cpu(r)
            cpu_growth = f"{cpu / spark_cpu(base):.2f}" if good and base and spark_cpu(base) else "-"
            say(f"{r['size']:>12,}  {master:<10}  {r.get('days', 0):>4}  {r.get('documents') or 0:>10,}  "
                f"{(r.get('seconds') or 0):>8,.1f}  {(r.get('jobs_per_s') or 0):>7,}  {growth:>7}  {scale:>6}  "
                f"{cpu:>6,.0f}  {cpu_growth:>5}  {(r.get('cpu_s') or {}).get('mongo', 0):>9,.0f}  "
                f"{p.get('driver', 0) / 2**20:>9,.0f}  "
                f"{(p.get('executors', 0) / 2**20 if master == 'standalone' else 0):>8,.0f}  "
                f"{p.get('mongo', 0) / 2**20:>8,.0f}  "
                f"{load.get('mean', 0):>4.1f}/{load.get('max', 0):<4.1f}  "
                f"{r['status']}")
    say("seconds = aggregate_job.run (read + rejects + aggregate and MongoDB write, cold driver); jobs/s = jobs in the "
        "window / seconds; time x = seconds / seconds at the smallest size of that master; size x = size ratio "
        "(time x above size x: the cost grows faster than the input); CPU s = CPU seconds of the driver and executors "
        "(Spark's work, less sensitive to other load on the machine than seconds), CPU x its growth; mongo CPU = CPU "
        "seconds of the MongoDB server; driver MB = peak RSS of the driver JVM + "
        "Python; exec MB = peak RSS of both executors together; mongo MB = peak RSS of the MongoDB server; load = 1-min load average mean/max during the run")
    same: dict[int, dict] = {}
    for (master, size), r in rows.items():
        if r["status"] == "ok":
            same.setdefault(size, {})[master] = (r["in_window"], r["documents"], r["rejected"])
    for size, by_master in sorted(same.items()):
        if len(by_master) == 2:
            if len(set(by_master.values())) == 1:
                say(f"{size:,} jobs: local and standalone agree on jobs in the window, documents written, rejected lines")
            else:
                say(f"{size:,} jobs: local and standalone DIFFER (jobs in the window, documents, rejected): {by_master}")


def spark_cpu(r: dict) -> float:
    cpu = r.get("cpu_s") or {}
    return cpu.get("driver", 0.0) + cpu.get("executors", 0.0)


def read_results(path: Path) -> list[dict]:
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


# ---------------------------------------------------------------------------------------------
# The local run's child process: aggregate_job.run as bench_aggregate drives it (harness)
# ---------------------------------------------------------------------------------------------

def local_child(spec_path: Path) -> int:
    spec = json.loads(spec_path.read_text())
    signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:   # under nohup a hangup stays ignored
        signal.signal(signal.SIGHUP, _terminate)
    conf = config.load(spec["conf"])
    conf.setdefault("spark", {}).setdefault("conf", {}).update(spec["spark_conf"])
    args = SimpleNamespace(driver_memory=spec["driver_memory"], master=spec["master"],
                           workdir=Path(spec["run_dir"]), max_partition_bytes=None)
    out: dict = {"status": "failed"}
    spark = store = None
    try:
        began = time.perf_counter()
        spark, settings = harness.spark_session(args, conf, [spec["data_root"]])
        out["startup_s"] = round(time.perf_counter() - began, 1)
        out["app_id"] = spark.sparkContext.applicationId
        say(f"SparkSession {spark.version} ({spec['master']}) in {out['startup_s']} s; "
            f"spark.driver.memory {settings['spark.driver.memory']}")
        store = harness.TimedStore(spec["mongo_uri"], spec["database"], conf["mongo"]["timeout_ms"])
        plan = harness.make_plan(conf, Path(spec["data_root"]), dt.date.fromisoformat(spec["first"]),
                                 dt.date.fromisoformat(spec["last"]), spec["precision"], Path(spec["rejects"]),
                                 spec["database"])
        began = time.perf_counter()
        result = aggregate_job.run(spark, plan, store)
        out["pipeline_s"] = round(time.perf_counter() - began, 1)
        say(aggregate_job.summary(plan, result))
        # The executors write the documents: their seconds blocked in MongoDB, summed over partitions.
        out.update(status="ok", write_s=round(result.writes.get("seconds_in_mongodb", 0.0), 1),
                   write_partitions=result.writes.get("partitions", 0), remove_s=round(store.remove_s, 1))
        try:
            out["partitions"] = spark.read.text(harness.input_files(result.folders)).rdd.getNumPartitions()
        except Exception:  # noqa: BLE001  (information only)
            out["partitions"] = None
    except BaseException as error:
        out["error"] = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:300]}"
        traceback.print_exc()
        raise
    finally:
        Path(spec["result"]).write_text(json.dumps(out))
        if spark is not None:
            try:
                spark.stop()
            except Exception:  # noqa: BLE001
                pass
        if store is not None:
            store.close()
    return 0


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def sizes_arg(text: str) -> list[int]:
    try:
        sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes are numbers of jobs separated by commas: {text!r}") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("give at least one size of 1 job or more")
    return sizes


def masters_arg(text: str) -> list[str]:
    masters = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in masters if m not in ("local", "standalone")]
    if bad or not masters:
        raise argparse.ArgumentTypeError(f"masters are local and/or standalone, not {', '.join(bad) or text!r}")
    return list(dict.fromkeys(masters))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Scaling benchmark of the aggregation: input sizes x Spark masters (local[2], "
                    "a 2-worker standalone cluster on loopback).")
    parser.add_argument("--sizes", type=sizes_arg,
                        help="jobs per input, comma-separated (default 1000000,4000000,16000000; "
                             "with --table-only: the sizes to show, default all)")
    parser.add_argument("--masters", type=masters_arg, default=["local", "standalone"],
                        help="local and/or standalone (default both)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench-scaling",
                        help="data, logs, event logs, MongoDB server, results.jsonl (default var/bench-scaling)")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep the input generated here (reused next time, see the manifests)")
    parser.add_argument("--keep-mongo", action="store_true",
                        help="keep the benchmark databases and leave the MongoDB server running")
    parser.add_argument("--format", dest="fmt", choices=["jsonl", "jsonl.gz", "parquet"], default="jsonl.gz",
                        help="input format (default jsonl.gz: plain JSON is about 4.5 times larger)")
    parser.add_argument("--files-per-day", type=int, default=8,
                        help="files per day folder (default 8: a gzip file is one task, never split)")
    parser.add_argument("--jobs-per-day", type=int, default=250_000,
                        help="jobs a day; a size is spread over ceil(size / this) days (default 250000)")
    parser.add_argument("--precision", choices=["hour", "day", "week", "month"], default="day")
    parser.add_argument("--driver-memory", default="6g", type=str,
                        help="spark.driver.memory of both masters (default 6g)")
    parser.add_argument("--worker-memory", default="3g", type=str,
                        help="memory of each standalone worker, also spark.executor.memory (default 3g)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, metavar="MINUTES",
                        help="a deadline for the whole benchmark, counted from its start: the generation or "
                             "run in progress then stops and the rest is skipped")
    parser.add_argument("--table-only", action="store_true", help="print the table of <workdir>/results.jsonl")
    parser.add_argument("--conf", type=Path, default=ROOT / "conf" / "jobrollup.toml")
    parser.add_argument("--local-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("files_per_day", "jobs_per_day"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("driver_memory", "worker_memory"):
        try:
            memory_bytes(getattr(args, name))
        except argparse.ArgumentTypeError as error:
            parser.error(f"--{name.replace('_', '-')}: {error}")
    args.workdir = args.workdir.resolve()
    if args.sizes is None and not args.table_only:
        args.sizes = list(DEFAULT_SIZES)
    return args


class Terminated(BaseException):
    """SIGTERM or SIGHUP: unwind through the finally blocks like Ctrl-C."""


_MAIN_PID = os.getpid()
_TIME_UP = []   # set by the --time-limit watchdog before it sends this process SIGTERM


def _terminate(signum, frame):
    if os.getpid() != _MAIN_PID:
        # A forked worker of the data generator, stopped by its pool: die as it expects, quietly.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _TIME_UP:
        raise Terminated(f"--time-limit reached ({_TIME_UP[0]:g} minutes since the benchmark began) while generating the input")
    raise Terminated(f"terminated by signal {signal.Signals(signum).name}")


def size_plan(args, jobs: int) -> dict:
    days = max(1, math.ceil(jobs / args.jobs_per_day))
    per_day = math.ceil(jobs / days)
    start = harness.DEFAULT_START
    params = harness.data_params(start, days, per_day, args.fmt, args.files_per_day, args.seed)
    name = harness.data_name(params)
    return {"jobs": jobs, "days": days, "jobs_per_day": per_day, "params": params, "name": name,
            "present": harness.data_present(args.workdir, name),
            "first": start.isoformat(), "last": (start + dt.timedelta(days=days - 1)).isoformat()}


def databases_left(uri: str) -> list[str] | None:
    """The benchmark databases still in the server; None when it does not answer."""
    try:
        client = harness.check_client(uri)
        try:
            return [d for d in client.list_database_names() if d not in ("admin", "config", "local")]
        finally:
            client.close()
    except Exception:  # noqa: BLE001
        return None


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.local_child:
        return local_child(args.local_child)
    workdir = args.workdir
    results_path = workdir / "results.jsonl"
    if args.table_only:
        say(f"{results_path}: {args.fmt}, {args.files_per_day} files/day, {args.jobs_per_day:,} jobs/day, "
            f"{args.precision}, driver {args.driver_memory}, workers {args.worker_memory} (flags select these)")
        print_table(earlier_rows(args, read_results(results_path)))
        return 0
    problem = harness.java_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    workdir.mkdir(parents=True, exist_ok=True)
    lock = harness.lock_workdir(workdir, "bench_scaling")
    if lock is None:
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:   # under nohup a hangup stays ignored
        signal.signal(signal.SIGHUP, _terminate)
    began_all = time.monotonic()
    ctx = SimpleNamespace(args=args, workdir=workdir, server=None, cluster=None, server_dead=False,
                          conf=config.load(args.conf),
                          deadline=began_all + args.time_limit * 60 if args.time_limit else None)
    import pyspark

    vm = psutil.virtual_memory()
    say(f"jobrollup scaling benchmark: sizes {', '.join(f'{s:,}' for s in args.sizes)} jobs; masters "
        f"{', '.join(LOCAL_MASTER if m == 'local' else 'standalone (2 workers x 1 core, ' + args.worker_memory + ')' for m in args.masters)}; "
        f"{args.fmt}, {args.files_per_day} files/day, {args.jobs_per_day:,} jobs/day, {args.precision} precision; "
        f"driver memory {args.driver_memory}; workdir {workdir}")
    say(f"machine: {os.cpu_count()} cores, {vm.total / 2**30:.1f} GiB RAM ({vm.available / 2**30:.1f} available), "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; python {sys.version.split()[0]}, "
        f"pyspark {pyspark.__version__}; results -> {results_path}")
    plans = [size_plan(args, s) for s in args.sizes]
    for p in plans:
        say(f"   {p['jobs']:>12,} jobs: {p['days']} day(s) x {p['jobs_per_day']:,} jobs from {p['first']}, "
            f"{p['days'] * args.files_per_day} files{' (present)' if p['present'] else ''}")
    check_disk(workdir, plans, args.fmt, args.keep_data, "all sizes", len(args.masters))
    need = memory_bytes(args.driver_memory) + (2 * memory_bytes(args.worker_memory) if "standalone" in args.masters else 0)
    if need > vm.available:
        say(f"warning: driver + executor heaps ({mib(need)}) exceed the memory available now "
            f"({mib(vm.available)}); runs may fail or swap")

    def write_result(record: dict) -> None:
        with open(results_path, "a") as handle:
            handle.write(json.dumps(record, default=str) + "\n")

    records: list[dict] = []
    started_mongo = False
    mongo_folder = workdir / "mongo"
    generated: list[str] = []
    generating = None     # the input being generated: half-written if the run stops meanwhile
    exit_code = 0
    try:
        phase("MongoDB")
        ctx.server, started_mongo = harness.start_server(mongo_folder)
        say(f"{'started' if started_mongo else 'reusing'} SecantusDB pid {ctx.server.pid} at {ctx.server.uri}")
        if "standalone" in args.masters:
            phase("standalone cluster")
            ctx.cluster = StandaloneCluster(workdir / "cluster", 2, args.worker_memory)
            began = time.perf_counter()
            ctx.cluster.start()
            say(f"master {ctx.cluster.url} (UI port {ctx.cluster.ui}), 2 workers x 1 core x {args.worker_memory}, "
                f"pids {[p.pid for p in ctx.cluster.processes]}, up in {time.perf_counter() - began:.1f} s; "
                f"logs in {ctx.cluster.folder}")
        for p in plans:
            phase(f"{p['jobs']:,} jobs: input")
            if not p["present"]:
                check_disk(workdir, [p], args.fmt, False, f"before generating {p['jobs']:,} jobs", len(args.masters))
            began = time.perf_counter()
            # --time-limit also bounds the generation: a timer sends this process SIGTERM.
            watchdog = None
            if ctx.deadline and not p["present"]:
                def time_up():
                    _TIME_UP.append(args.time_limit)
                    os.kill(os.getpid(), signal.SIGTERM)
                watchdog = threading.Timer(max(0.0, ctx.deadline - time.monotonic()), time_up)
                watchdog.daemon = True
                watchdog.start()
            generating = p["name"]
            try:
                root, manifest, reused = harness.ensure_data(workdir, p["name"], p["params"], sys.stdout.isatty())
            finally:
                if watchdog is not None:
                    watchdog.cancel()
            generating = None
            if not reused:
                generated.append(p["name"])
            totals = manifest["totals"]
            p.update(root=root, files=totals["files"], bytes=totals["bytes"])
            say(f"{'reused' if reused else 'generated'} {root} "
                f"({'generated in ' + str(manifest['seconds']) + ' s earlier' if reused else f'in {time.perf_counter() - began:,.1f} s'}): "
                f"{totals['reports']:,} lines ({totals['malformed']:,} malformed, {totals['late']:,} late), "
                f"{totals['files']} files, {gb(totals['bytes'])}")
            write_result({"kind": "data", "size": p["jobs"], "days": p["days"], "jobs_per_day": p["jobs_per_day"],
                          "format": args.fmt, "files_per_day": args.files_per_day, "reused": reused,
                          "generate_s": manifest["seconds"], "lines": totals["reports"], "files": totals["files"],
                          "bytes": totals["bytes"], "at": dt.datetime.now().isoformat(timespec="seconds")})
            for master in args.masters:
                phase(f"{p['jobs']:,} jobs on {master}")
                try:
                    record = run_one(ctx, master, p)
                except BaseException as error:
                    write_result({"kind": "run", "master": master, "size": p["jobs"], "status": "interrupted",
                                  "error": f"{type(error).__name__}: {error}"[:300],
                                  "at": dt.datetime.now().isoformat(timespec="seconds")})
                    raise
                record["generate_s"] = manifest["seconds"]
                records.append(record)
                write_result(record)
                report_run(record)
                if record["status"] != "ok":
                    exit_code = 1
            if not args.keep_data and p["name"] in generated:
                harness.remove_data(workdir, p["name"])
                say(f"removed the input of {p['jobs']:,} jobs (--keep-data keeps it)")
            if ctx.deadline and time.monotonic() > ctx.deadline:
                say("--time-limit reached: no further sizes")
                break
        phase(f"results ({(time.monotonic() - began_all) / 60:,.1f} min in all)")
        print_table(records)
    except (KeyboardInterrupt, Terminated) as error:
        say(f"\n{str(error) or 'interrupted (Ctrl-C)'}; what finished:")
        print_table(records)
        exit_code = 130 if isinstance(error, KeyboardInterrupt) else 143
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        step = harness.cleanup_step
        if ctx.cluster is not None:
            step("stop the standalone cluster", ctx.cluster.stop)
            say("stopped the standalone cluster (master and workers)")
        if started_mongo and not args.keep_mongo:
            # Dropped databases keep their disk space in SecantusDB's files: when nothing else is
            # held there, the server's data folder goes too.
            others = None if ctx.server_dead else databases_left(ctx.server.uri)
            step("stop the embedded MongoDB server", lambda: harness.stop_server(mongo_folder))
            if others == []:
                shutil.rmtree(mongo_folder / "data", ignore_errors=True)
                say(f"removed its data folder (no database left in it): {mongo_folder / 'data'}")
        if generating:
            harness.remove_data(workdir, generating)
            say(f"removed the half-generated input {generating}")
        if not args.keep_data:
            for name in generated:
                harness.remove_data(workdir, name)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
