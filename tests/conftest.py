"""Shared fixtures: one local SparkSession and one embedded MongoDB server for the session.

As in chispa's and dbldatagen's suites: a single session-wide `local[2]` SparkSession in UTC
with few shuffle partitions and no UI. MongoDB is a real server (SecantusDB, started as a
separate process) reached over a normal pymongo connection; each test gets its own database.
Under pytest-xdist (pyproject's addopts) each worker process has its own session, server and
temporary folders; a test module runs whole on one worker.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

os.environ.setdefault("TZ", "UTC")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


@pytest.fixture(scope="session")
def spark():
    import tomllib

    from pyspark.sql import SparkSession

    # the JVM options of the shipped local profile: the tests' runs are small, as a day on a laptop
    local = tomllib.loads((ROOT / "conf" / "jobrollup.toml").read_text())["spark"]["profiles"]["local"]["conf"]
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.extraJavaOptions", local["spark.driver.extraJavaOptions"])
        .appName("jobrollup-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    from jobrollup.store import embedded

    folder = tmp_path_factory.mktemp("mongo")
    server = embedded.ensure_running(folder)
    yield server
    embedded.stop(folder)


@pytest.fixture
def mongo_uri(mongo_server):
    return mongo_server.uri


@pytest.fixture
def store(mongo_uri):
    from jobrollup.store.mongo import MongoStore

    database = f"t_{uuid.uuid4().hex[:12]}"
    store = MongoStore(mongo_uri, database, timeout_ms=5000)
    yield store
    store.client.drop_database(database)
    store.close()


@pytest.fixture
def stores(mongo_uri):
    """`stores()`: a MongoStore on a new database of its own, dropped at the test's end (for
    tests that need several stores side by side)."""
    from jobrollup.store.mongo import MongoStore

    made = []

    def make():
        made.append(MongoStore(mongo_uri, f"t_{uuid.uuid4().hex[:12]}"))
        return made[-1]
    yield make
    for store in made:
        store.client.drop_database(store.db.name)
        store.close()


@pytest.fixture(scope="session")
def conf_with_views():
    """conf/jobrollup.toml as shipped: the runs write the configured views too."""
    from jobrollup import config

    return config.load(ROOT / "conf" / "jobrollup.toml")


@pytest.fixture(scope="session")
def conf(conf_with_views):
    """The shipped conf without views. A view costs each aggregation a regroup and its writes
    (seconds per run, over dozens of runs); tests/test_views.py checks views at every tier, and
    the tests that run bin/ commands use the shipped conf, views included."""
    import copy

    without = copy.deepcopy(conf_with_views)
    for source in without.get("sources", {}).values():
        source.pop("views", None)
    return without


@pytest.fixture
def kill_at_write(monkeypatch):
    """`kill_at_write(n)`: the n-th batch a MongoStore writes raises KeyboardInterrupt (a run
    killed half-way). Returns the call counter; `monkeypatch.undo()` lets writes through again."""
    from jobrollup.store.mongo import MongoStore

    def arm(n: int) -> dict:
        calls = {"n": 0}
        real_flush = MongoStore._flush

        def dying_flush(coll, docs, on_batch, held=False):
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt("killed half-way")
            return real_flush(coll, docs, on_batch, held)

        monkeypatch.setattr(MongoStore, "_flush", staticmethod(dying_flush))
        return calls

    return arm


def pytest_collection_modifyitems(config, items):
    """The standalone cluster's module first: it is the longest (about three minutes), and under
    xdist a module that starts last keeps one worker busy alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("cluster") is None)
