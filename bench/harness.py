"""What the benchmarks share: printing, process sampling and stopping, the embedded MongoDB
server, the workdir lock, generated input reused through a manifest, and the aggregation job
driven in this process (bench_aggregate.py, and bench_scaling.py's local runs).

Importing this module puts src/ on sys.path and prepares the process for Spark: loopback only,
this Python for the workers, and TZ=UTC (buckets are UTC; so are the times printed).
"""

from __future__ import annotations

import copy
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
# Spark's Python workers (the executors' document writes) import this src/ too, not whatever
# jobrollup the environment has installed.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
os.environ["TZ"] = "UTC"
time.tzset()

import psutil  # noqa: E402
import tomli_w  # noqa: E402

from jobrollup import config, dump_files  # noqa: E402
from jobrollup.plan import Plan, plan_run  # noqa: E402
from jobrollup.sources.fwjr import generate  # noqa: E402
from jobrollup.store import embedded  # noqa: E402
from jobrollup.store.mongo import MongoStore  # noqa: E402

DEFAULT_START = dt.date(2024, 11, 4)     # a Monday: week buckets line up with the span
FAR_FUTURE = dt.date(2100, 1, 1)         # "today" of a plan: every generated day is in the past


# ---------------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------------

def say(message: str = "") -> None:
    print(message, flush=True)


def phase(message: str) -> None:
    say(f"\n== {message}  [{dt.datetime.now():%H:%M:%S}]")


def mib(size: float) -> str:
    return f"{size / 2**20:,.0f} MB"


def gb(size: float) -> str:
    return f"{size / 1e9:,.2f} GB"


# ---------------------------------------------------------------------------------------------
# Processes: peak memory and CPU, liveness, stopping
# ---------------------------------------------------------------------------------------------

def rss(proc) -> int:
    try:
        return proc.memory_info().rss
    except psutil.Error:
        return 0


def cpu_used(procs) -> float:
    """User + system CPU seconds of these processes (a vanished one counts 0)."""
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def process_tree(proc) -> list:
    """The process and all its descendants; empty when it is gone."""
    try:
        return [proc] + proc.children(recursive=True)
    except psutil.Error:
        return []


def is_java(proc) -> bool:
    try:
        return proc.name().startswith("java")
    except psutil.Error:
        return False


class MemorySampler(threading.Thread):
    """Peak RSS per phase of this process ("python"), of the JVM tree ("jvm"), of their sum
    at the same instant ("total"), and, for information, of the MongoDB server tree."""

    def __init__(self, interval: float = 0.2):
        super().__init__(name="memory-sampler", daemon=True)
        self.interval = interval
        self.me = psutil.Process()
        self.mongo_pid: int | None = None
        self.phase = "start"
        self.peaks: dict[str, dict[str, int]] = {}
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def set_phase(self, name: str) -> None:
        self.sample()
        with self._lock:
            self.phase = name

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)
        self.sample()

    def _mongo(self) -> list:
        if not self.mongo_pid:
            return []
        try:
            return process_tree(psutil.Process(self.mongo_pid))
        except psutil.Error:
            return []

    def _jvms(self, skip: set) -> list:
        """The JVMs among this process's children, with their own children (not in `skip`)."""
        found = []
        for child in process_tree(self.me)[1:]:
            if child.pid not in skip and is_java(child):
                tree = process_tree(child)
                found += tree
                skip |= {p.pid for p in tree}
        return found

    def sample(self) -> None:
        python = rss(self.me)
        mongo = self._mongo()   # a server this run started is our child: not part of the JVMs
        jvm = sum(rss(p) for p in self._jvms({p.pid for p in mongo}))
        mongo_rss = sum(rss(p) for p in mongo)
        with self._lock:
            peaks = self.peaks.setdefault(self.phase, {"python": 0, "jvm": 0, "total": 0, "mongo": 0})
            peaks["python"] = max(peaks["python"], python)
            peaks["jvm"] = max(peaks["jvm"], jvm)
            peaks["total"] = max(peaks["total"], python + jvm)
            peaks["mongo"] = max(peaks["mongo"], mongo_rss)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by this process, the JVM tree and the MongoDB server tree."""
        mongo = self._mongo()
        return {"python": cpu_used([self.me]), "jvm": cpu_used(self._jvms({p.pid for p in mongo})),
                "mongo": cpu_used(mongo)}


def process_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_process(proc: subprocess.Popen, group_first: bool, grace: float = 60.0) -> None:
    """Stop a process started in its own session: SIGTERM to it alone (a child that stops its
    own Spark and finishes its run journal) or to its whole process group (bin/aggregate, its
    spark-submit and Python driver); what is left of the group after `grace` s gets SIGKILL."""
    if proc.poll() is None:
        try:
            if group_first:
                os.killpg(proc.pid, signal.SIGTERM)
            else:
                proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # leftovers: a child's JVM, a Python driver
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait()


def reap_group(pgid: int, grace: float = 15.0) -> None:
    """After a process ended: give what is left of its process group (a JVM shutting down)
    `grace` seconds, then SIGKILL it."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def cleanup_step(what: str, action) -> None:
    """Run one step of a benchmark's cleanup; a failed one (a JVM already gone) is reported
    and must not skip the steps after it."""
    try:
        action()
    except BaseException as error:  # noqa: BLE001
        print(f"warning: cleanup could not {what}: {type(error).__name__}: "
              f"{(str(error).splitlines() or [''])[0][:160]}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# The workdir and the embedded MongoDB server in it
# ---------------------------------------------------------------------------------------------

def lock_workdir(workdir: Path, name: str):
    """One benchmark per workdir: a second one would share (and stop, delete) the same server
    and data. Returns the held lock file (keep it open), or None after saying who holds it."""
    lock = open(workdir / "bench.lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        print(f"error: another {name} run ({lock.read().strip() or 'pid unknown'}) uses {workdir}; "
              f"wait for it or give another --workdir", file=sys.stderr)
        return None
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}\n")
    lock.flush()
    return lock


def start_server(folder: Path) -> tuple[embedded.EmbeddedServer, bool]:
    """The embedded server of `folder`, started unless one runs there; and whether this run
    started it (only then may the benchmark stop it)."""
    started = embedded.running(folder) is None
    return embedded.ensure_running(folder), started


def stop_server(folder: Path) -> None:
    embedded.stop(folder)
    say(f"stopped the embedded MongoDB server this run started ({folder})")


def check_client(uri: str):
    """A client for the checks: SecantusDB may hold its lock for a long time while it answers a
    big query, and the default timeouts would take it for dead and cancel the query."""
    from pymongo import MongoClient

    return MongoClient(uri, serverSelectionTimeoutMS=600_000, connectTimeoutMS=600_000,
                       heartbeatFrequencyMS=60_000, tz_aware=False)


def conf_file(conf: dict, path: Path, *, database: str, rejects_dir: Path | None = None) -> Path:
    """A copy of the configuration `conf` with this run's database (and rejects folder), for
    the commands a benchmark runs (bin/aggregate, bin/query)."""
    conf = copy.deepcopy(conf)
    conf["mongo"]["database"] = database
    if rejects_dir is not None:
        conf["aggregate"]["rejects_dir"] = str(rejects_dir)
    path.write_text(tomli_w.dumps(conf))
    return path


# ---------------------------------------------------------------------------------------------
# Input data, reused through a manifest
# ---------------------------------------------------------------------------------------------

def data_params(start: dt.date, days: int, jobs_per_day: int, fmt: str, files_per_day: int,
                seed: int) -> dict:
    # The generator's own source is part of the key: data of an older generator is not reused.
    generator = hashlib.sha1(Path(generate.__file__).read_bytes()).hexdigest()[:12]
    return {"start": start.isoformat(), "days": days, "jobs_per_day": jobs_per_day, "format": fmt,
            "files_per_day": files_per_day, "seed": seed, "malformed_share": 0.01, "late_share": 0.05,
            "generator_sha1": generator}


def data_name(params: dict, prefix: str = "fwjr") -> str:
    return (f"{prefix}-{params['start']}-{params['days']}d-{params['jobs_per_day']}perday-"
            f"{params['format']}-{params['files_per_day']}f-seed{params['seed']}")


def _manifest_path(workdir: Path, name: str) -> Path:
    return workdir / "data" / f"{name}.manifest.json"


def data_present(workdir: Path, name: str) -> bool:
    return _manifest_path(workdir, name).exists() and (workdir / "data" / name).is_dir()


def _reusable(root: Path, manifest_path: Path, params: dict) -> dict | None:
    """The manifest of earlier data when it was made with `params` and its files are intact."""
    if not (manifest_path.exists() and root.is_dir()):
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("params") == params and all(
                os.path.getsize(root / f) == size for f, size in manifest["files"].items()):
            return manifest
    except (OSError, ValueError, KeyError):
        pass
    return None


def ensure_data(workdir: Path, name: str, params: dict, progress: bool) -> tuple[Path, dict, bool]:
    """The generated data folder for `params`, its manifest and whether it was reused;
    generated unless a manifest says it is there."""
    root = workdir / "data" / name
    manifest_path = _manifest_path(workdir, name)
    manifest = _reusable(root, manifest_path, params)
    if manifest is not None:
        return root, manifest, True
    manifest_path.unlink(missing_ok=True)
    if root.exists():
        shutil.rmtree(root)
    began = time.perf_counter()
    totals = generate.generate(
        root, dt.date.fromisoformat(params["start"]), params["days"], params["jobs_per_day"],
        seed=params["seed"], fmt=params["format"], malformed_share=params["malformed_share"],
        late_share=params["late_share"], files_per_day=params["files_per_day"],
        workers=params.get("workers"), progress=progress)
    files = {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}
    manifest = {"params": params, "totals": totals, "files": files,
                "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - began, 1)}
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return root, manifest, False


def remove_data(workdir: Path, name: str) -> None:
    """Remove generated data and its manifest (a half-generated folder too)."""
    shutil.rmtree(workdir / "data" / name, ignore_errors=True)
    _manifest_path(workdir, name).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# The aggregation job in this process: spark.aggregate_job.run on an in-process SparkSession
# ---------------------------------------------------------------------------------------------

def java_problem() -> str | None:
    java = Path(os.environ["JAVA_HOME"]) / "bin" / "java" if os.environ.get("JAVA_HOME") else None
    java = str(java) if java and java.exists() else shutil.which("java")
    if not java:
        return ("Java was not found (no JAVA_HOME/bin/java, no java on PATH). Spark needs a JDK 17 "
                "or 21: install one (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME.")
    try:
        subprocess.run([java, "-version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as error:
        return f"Java at {java} does not run ({error}); Spark needs a working JDK 17 or 21."
    return None


def driver_java_options(conf: dict, inputs: list[str] | None) -> str:
    """The JVM options bin/aggregate gives a local driver reading the folders `inputs` (conf
    [spark.profiles.local]: the JIT tiers and the collector; the project's conf when `conf`
    has no profiles)."""
    full = conf if conf.get("spark", {}).get("profiles") else config.load()
    input_bytes = dump_files.input_size(inputs) if inputs else None
    return config.spark_settings(full, "local", input_bytes=input_bytes)[1].get("spark.driver.extraJavaOptions", "")


def spark_session(args, conf: dict, inputs: list[str] | None = None):
    """A SparkSession of conf [spark.conf] with the benchmark's settings over it: args gives
    master, driver_memory, workdir and max_partition_bytes. A local driver gets the JVM options
    bin/aggregate would give it for reading the folders `inputs` (driver_java_options).
    Returns (session, settings)."""
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is not None:
        raise SystemExit("error: a SparkSession already exists; spark.driver.memory could not apply")
    settings = {str(k): str(v) for k, v in conf.get("spark", {}).get("conf", {}).items()}
    settings.update({
        "spark.driver.memory": args.driver_memory,
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(args.workdir / "spark-warehouse"),
    })
    if args.max_partition_bytes:
        settings["spark.sql.files.maxPartitionBytes"] = args.max_partition_bytes
    java_options = driver_java_options(conf, inputs) if args.master.startswith("local") else ""
    log_conf = ROOT / "conf" / "log4j2.properties"
    if log_conf.exists():
        java_options += f" -Dlog4j2.configurationFile=file:{log_conf}"
    settings.setdefault("spark.driver.extraJavaOptions", java_options.strip())
    builder = SparkSession.builder.master(args.master).appName("jobrollup-bench")
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark, settings


class TimedStore(MongoStore):
    """MongoStore that tells apart, inside replace_documents, the time spent waiting for the
    next document (Spark computing the aggregate, toLocalIterator, building the document in
    Python) from the rest (pymongo bulk writes and the run journal's heartbeats)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.produce_s = 0.0
        self.produce_cpu_s = 0.0   # CPU seconds of this process while waiting for documents
        self.replace_s = 0.0
        self.replace_cpu_s = 0.0   # CPU seconds of this process inside replace_documents
        self.remove_s = 0.0
        self.remove_cpu_s = 0.0
        self.first_doc_s: float | None = None
        self.setup_s = 0.0   # ping, ensure_indexes, begin_run: before the input is read

    def _setup(self, method, *a, **kw):
        began = time.perf_counter()
        try:
            return method(*a, **kw)
        finally:
            self.setup_s += time.perf_counter() - began

    def ping(self):
        return self._setup(super().ping)

    def ensure_indexes(self, *a, **kw):
        return self._setup(super().ensure_indexes, *a, **kw)

    def begin_run(self, *a, **kw):
        return self._setup(super().begin_run, *a, **kw)

    def replace_documents(self, collection, documents, batch=1000, on_batch=None, held=False):
        began = time.perf_counter()
        began_cpu = time.process_time()

        def timed(items):
            items = iter(items)
            while True:
                t, t_cpu = time.perf_counter(), time.process_time()
                try:
                    item = next(items)
                except StopIteration:
                    self.produce_s += time.perf_counter() - t
                    self.produce_cpu_s += time.process_time() - t_cpu
                    return
                now = time.perf_counter()
                self.produce_s += now - t
                self.produce_cpu_s += time.process_time() - t_cpu
                if self.first_doc_s is None:
                    self.first_doc_s = now - began
                yield item

        try:
            return super().replace_documents(collection, timed(documents), batch=batch, on_batch=on_batch, held=held)
        finally:
            self.replace_s += time.perf_counter() - began
            self.replace_cpu_s += time.process_time() - began_cpu

    def remove_stale(self, collection, window, run_id):
        began, began_cpu = time.perf_counter(), time.process_time()
        try:
            return super().remove_stale(collection, window, run_id)
        finally:
            self.remove_s += time.perf_counter() - began
            self.remove_cpu_s += time.process_time() - began_cpu

    @property
    def write_s(self) -> float:
        return self.replace_s - self.produce_s + self.remove_s

    @property
    def write_cpu_s(self) -> float:
        """CPU seconds of this process (pymongo encoding, waiting) blocked in MongoDB writes."""
        return self.replace_cpu_s - self.produce_cpu_s + self.remove_cpu_s


def make_plan(conf: dict, root: Path, first: dt.date, last: dt.date, precision: str,
              rejects: Path, database: str) -> Plan:
    """The plan of a benchmark run: every generated day is in the past and may be missing; the
    documents are written into the embedded server as bin/aggregate writes them there."""
    from jobrollup.cli.aggregate import EMBEDDED_WRITE_TASKS

    conf = copy.deepcopy(conf)
    conf["input"]["require_all_days"] = False
    conf["mongo"]["database"] = database
    plan = plan_run(first, last, precision, conf, input_root=str(root), rejects_dir=str(rejects),
                    today=FAR_FUTURE)
    plan.write_tasks = EMBEDDED_WRITE_TASKS
    return plan


def input_files(folders: list[str]) -> list[str]:
    """The data files the job reads in these folders (the readers' suffixes, no hidden files)."""
    from jobrollup.spark import readers

    suffixes = readers.JSON_SUFFIXES + readers.PARQUET_SUFFIXES
    files = []
    for folder in folders:
        for path in sorted(Path(folder.removeprefix("file:")).rglob("*")):
            if path.is_file() and not path.name.startswith((".", "_")) and path.name.endswith(suffixes):
                files.append(str(path))
    return files
