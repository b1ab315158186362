"""The jobs on a real Spark standalone cluster: a master and two workers on loopback.

The cluster is started from the installed pyspark (spark-class ...Master / ...Worker). Its
executors run a bare Python with no package of ours and no pymongo: whatever they need must be
shipped by the commands themselves (the package zip, an archive of executor dependencies).
Every process started here is stopped at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyspark
import pytest
from helpers import write_conf

import reference
from jobrollup.plan import day_folder
from jobrollup.sources.fwjr import generate
from jobrollup.store.mongo import MongoStore

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.cluster,
              pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
                                 reason="Java is needed to run a Spark cluster")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """spark://127.0.0.1:PORT with two one-core workers; yields (master URL, bare python)."""
    work = tmp_path_factory.mktemp("cluster")
    spark_home = Path(pyspark.__file__).parent
    spark_class = str(spark_home / "bin" / "spark-class")
    env = dict(os.environ, SPARK_HOME=str(spark_home), SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE="1")
    port, ui = free_port(), free_port()
    logs = []
    processes = []

    def start(args, name):
        log = open(work / f"{name}.log", "w")
        logs.append(log)
        processes.append(subprocess.Popen([spark_class, *args], env=env, stdout=log, stderr=log,
                                          start_new_session=True))

    start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
           "--webui-port", str(ui)], "master")
    for i in range(2):
        start(["org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}", "--host", "127.0.0.1",
               "--cores", "1", "--memory", "1500m", "--webui-port", str(free_port()),
               "--work-dir", str(work / f"worker{i}")], f"worker{i}")
    # Executors get a Python without our packages, without pymongo, without pyspark.
    bare = work / "bare-python"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(bare)],
                   check=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2))
                if state.get("aliveworkers") == 2:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the standalone cluster did not come up: see " + str(work))
            time.sleep(0.5)
        yield f"spark://127.0.0.1:{port}", str(bare / "bin" / "python"), ui
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, mongo_server):
    """One small input and database shared by the module's tests (each spark-submit costs ~20 s)."""
    tmp_path = tmp_path_factory.mktemp("cluster-workspace")
    database = f"cluster_{tmp_path.name[-10:]}".replace("-", "_")
    # pymongo for the executors' writes (bin/aggregate, bin/cleanup --spark), shipped as an archive
    deps = tmp_path / "deps"
    # pymongo and what it imports, copied from our environment (same Python): what a site
    # would `pip install --target` into the archive, without the download
    for package in ("pymongo", "bson", "gridfs", "dns"):
        shutil.copytree(Path(__import__(package).__file__).parent, deps / package)
    archive = shutil.make_archive(str(tmp_path / "executor-deps"), "gztar", deps)
    settings = {"mongo": {"database": database}, "aggregate": {"rejects_dir": str(tmp_path / "rejects")},
                "errors": {"errors_dir": str(tmp_path / "errors")},
                "spark": {"executor_archives": [f"{archive}#deps"]}}
    conf = write_conf(tmp_path / "jobrollup.toml", settings)
    data = tmp_path / "fwjr"
    generate.generate(data, dt.date(2026, 4, 5), 2, 1500, seed=21, workers=1)
    env = dict(os.environ, JOBROLLUP_CONF=str(conf), JOBROLLUP_MONGO_URI=mongo_server.uri)
    store = MongoStore(mongo_server.uri, database)
    yield {"data": data, "env": env, "store": store, "conf": conf, "settings": settings, "tmp": tmp_path}
    store.client.drop_database(database)
    store.close()


def executors_ran_on_the_cluster(ui_port: int, app_prefix: str) -> bool:
    apps = json.load(urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5))
    return any(app["name"].startswith(app_prefix) for app in apps.get("completedapps", []) + apps.get("activeapps", []))


def without_run_id(store) -> dict:
    return {d["_id"]: {k: v for k, v in d.items() if k != "run_id"} for d in store.db.fwjr.find()}


@pytest.fixture(scope="module")
def aggregated_on_the_cluster(cluster, workspace):
    """The hour documents of 2026-04-05, aggregated by executors on the cluster."""
    master, bare_python, ui = cluster
    done = subprocess.run(
        [str(ROOT / "bin" / "aggregate"), "2026-04-05", "--precision=hour", "--input", str(workspace["data"]),
         "--master", master, "--spark-conf", f"spark.pyspark.python={bare_python}",
         "--spark-conf", "spark.driver.memory=2g", "--spark-conf", "spark.executor.memory=1g",
         "--spark-conf", "spark.sql.shuffle.partitions=4"],
        env=workspace["env"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert executors_ran_on_the_cluster(ui, "jobrollup-aggregate-hour-2026-04-05")
    return without_run_id(workspace["store"])


def test_aggregation_on_the_cluster_equals_the_reference(workspace, aggregated_on_the_cluster):
    # The local run equals the same reference (tests/test_reference.py), so cluster == local.
    on_cluster = aggregated_on_the_cluster
    assert len(on_cluster) > 100
    records, _ = reference.read_lines([day_folder(str(workspace["data"]), dt.date(2026, 4, d)) for d in (5, 6)])
    expected = reference.aggregate(records, "hour", (dt.datetime(2026, 4, 5), dt.datetime(2026, 4, 6)))
    reference.assert_documents_equal(list(on_cluster.values()), expected)


def test_cleanup_on_the_cluster_ships_pymongo_to_executors(cluster, workspace, aggregated_on_the_cluster):
    master, bare_python, ui = cluster
    hour_jobs = sum(d["count"] for d in aggregated_on_the_cluster.values())
    done = subprocess.run([str(ROOT / "bin" / "cleanup"), "--spark", "--master", master, "--now", "2026-04-20T00:00:00",
                           "--retention", "hour=2 days"], env={**workspace["env"], "PYSPARK_PYTHON": bare_python},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "did build 1 day bucket(s)" in done.stdout
    assert executors_ran_on_the_cluster(ui, "jobrollup-cleanup")
    store = workspace["store"]
    assert store.db.fwjr.count_documents({"scope.timeframe_precision": "hour"}) == 0
    days = list(store.db.fwjr.find({"scope.timeframe_precision": "day"}))
    day_jobs = sum(d["count"] for d in days)
    assert day_jobs == hour_jobs == store.db.fwjr_buckets.find_one({"precision": "day"})["count"] > 0
    # the day the executors rolled up equals the reference's day of the same reports
    records, _ = reference.read_lines([day_folder(str(workspace["data"]), dt.date(2026, 4, d)) for d in (5, 6)])
    reference.assert_documents_equal(days, reference.aggregate(records, "day", (dt.datetime(2026, 4, 5),
                                                                              dt.datetime(2026, 4, 6))))


def test_error_clustering_on_the_cluster_runs_its_udf_on_a_bare_python(cluster, workspace, conf):
    """The normaliser runs on executors whose Python has none of our packages: its functions
    travel pickled by value. The counts equal the tally by hand of tests/test_errors_job.py."""
    from test_errors_job import cluster_map, errors_plan, fwjr_errors_by_hand, stored_counts, tally

    master, bare_python, ui = cluster
    done = subprocess.run([str(ROOT / "bin" / "cluster-errors"), "2026-04-05", "--input", str(workspace["data"]),
                           "--master", master, "--spark-conf", f"spark.pyspark.python={bare_python}",
                           "--spark-conf", "spark.executor.memory=1g"],
                          env=workspace["env"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert executors_ran_on_the_cluster(ui, "jobrollup-cluster-errors-fwjr-2026-04-05")
    store = workspace["store"]
    plan = errors_plan(conf, workspace["data"], "fwjr", dt.date(2026, 4, 5))
    keys = ("site", "exitCode", "step")
    expected = tally(fwjr_errors_by_hand(plan), "day", cluster_map(store), keys)
    assert stored_counts(store, "fwjr", "day", keys) == expected and sum(expected.values()) > 100
