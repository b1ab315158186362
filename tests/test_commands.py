"""The commands as people type them: bin/aggregate through spark-submit, and its refusals."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from helpers import write_conf

import reference
from jobrollup.plan import day_folder
from jobrollup.sources.fwjr import generate
from jobrollup.store.mongo import MongoStore

ROOT = Path(__file__).resolve().parents[1]
AGGREGATE = str(ROOT / "bin" / "aggregate")


@pytest.fixture
def workspace(tmp_path, mongo_uri):
    """A conf file of its own (own database, rejects under tmp) and a few days of dumps."""
    database = f"cmd_{os.getpid()}_{tmp_path.name[-8:]}".replace("-", "_")
    conf = write_conf(tmp_path / "jobrollup.toml", {"mongo": {"database": database},
                                                    "aggregate": {"rejects_dir": str(tmp_path / "rejects")}})
    data = tmp_path / "fwjr"
    generate.generate(data, dt.date(2026, 2, 27), 3, 400, seed=11, malformed_share=0.01, workers=1)
    env = dict(os.environ, JOBROLLUP_CONF=str(conf), JOBROLLUP_MONGO_URI=mongo_uri)
    store = MongoStore(mongo_uri, database)
    yield {"data": data, "env": env, "store": store, "tmp": tmp_path}
    store.client.drop_database(database)
    store.close()


def aggregate(args, env, timeout=300):
    return subprocess.run([AGGREGATE, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.e2e
def test_aggregate_command_writes_the_reference_documents(workspace):
    # a damaged class archive (jobrollup.spark.class_archive) only costs the JVM its start-up time
    from jobrollup.spark import class_archive, submit
    archives = workspace["tmp"] / "cds"
    damaged = class_archive.for_run(archives, submit.spark_jars(), "local[2]").path
    damaged.write_bytes(b"not an archive" * 1000)
    write_conf(Path(workspace["env"]["JOBROLLUP_CONF"]), {
        "mongo": {"database": workspace["store"].db.name},
        "aggregate": {"rejects_dir": str(workspace["tmp"] / "rejects")}, "spark": {"class_archive": str(archives)}})
    folder = day_folder(str(workspace["data"]), dt.date(2026, 2, 28))
    done = aggregate([folder, "--precision=hour"], workspace["env"])   # WHEN given as the day's folder
    assert done.returncode == 0, done.stderr[-2000:]
    assert damaged.read_bytes().startswith(b"not an archive")   # mapped (and refused), not saved over
    assert "jobrollup aggregate: fwjr at hour precision, days 2026-02-28 .. 2026-02-28" in done.stdout
    assert "succeeded" in done.stdout
    records, _ = reference.read_lines([folder, day_folder(str(workspace["data"]), dt.date(2026, 3, 1))])
    expected = reference.aggregate(records, "hour", (dt.datetime(2026, 2, 28), dt.datetime(2026, 3, 1)))
    docs = list(workspace["store"].db.fwjr.find())
    reference.assert_documents_equal(docs, expected)
    assert workspace["store"].db.runs.find_one()["status"] == "succeeded"


@pytest.mark.e2e
def test_aggregate_command_refuses_untrustworthy_input(workspace):
    done = aggregate(["2026-02-28", "--input", str(workspace["data"]), "--max-reject-share", "0.001"],
                     workspace["env"])
    assert done.returncode == 3
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: run refused:") and "rejected" in last
    assert workspace["store"].db.fwjr.count_documents({}) == 0


def test_missing_folder_and_unreachable_mongodb_fail_fast_with_one_line(workspace):
    done = aggregate(["2026-03-15", "--input", str(workspace["data"])], workspace["env"], timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: input folder missing: {workspace['data']}/2026/03/15 (use --allow-missing to aggregate without it)"
    env = dict(workspace["env"], JOBROLLUP_MONGO_URI="mongodb://ops:s3cret@127.0.0.1:9/?serverSelectionTimeoutMS=300")
    done = aggregate(["2026-02-28", "--input", str(workspace["data"])], env, timeout=60)
    assert done.returncode == 4
    assert len(done.stderr.strip().splitlines()) == 1 and "unreachable" in done.stderr
    assert "s3cret" not in done.stderr


def test_dry_run_prints_the_plan_and_command_without_secrets(workspace):
    env = dict(workspace["env"], JOBROLLUP_MONGO_URI="mongodb://ops:s3cret@db.example:27017/")
    done = aggregate(["2026-02-28", "--precision=week", "--input", str(workspace["data"]), "--dry-run"], env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "rewrites   2026-02-23T00:00:00 .. 2026-03-02T00:00:00 UTC" in done.stdout
    assert "spark-submit" in done.stdout and "--py-files" in done.stdout and "jobs/aggregate.py" in done.stdout
    assert "s3cret" not in done.stdout and "ops:***@db.example" in done.stdout
    assert '"write_tasks": 0' in done.stdout      # a real MongoDB: every partition writes at once
    assert "-XX:TieredStopAtLevel=1" in done.stdout  # a small input: the JVM's quick JIT tier


def test_a_large_local_input_gets_the_optimising_jit(workspace, tmp_path):
    day = tmp_path / "input" / "2026" / "02" / "28"
    day.mkdir(parents=True)
    with open(day / "big.jsonl", "wb") as big:    # sparse: 800 MB that take no disk
        big.truncate(800 << 20)
    done = aggregate(["2026-02-28", "--input", str(tmp_path / "input"), "--dry-run"], workspace["env"], timeout=60)
    assert done.returncode == 0, done.stderr
    assert "-XX:+UseSerialGC" in done.stdout and "-XX:TieredStopAtLevel=1" not in done.stdout


def test_the_embedded_server_is_written_by_one_task_and_a_bad_count_refused(workspace):
    embedded = {k: v for k, v in workspace["env"].items() if k != "JOBROLLUP_MONGO_URI"}
    done = aggregate(["2026-02-28", "--input", str(workspace["data"]), "--dry-run"], embedded, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "embedded SecantusDB" in done.stdout and '"write_tasks": 1' in done.stdout
    write_conf(Path(workspace["env"]["JOBROLLUP_CONF"]), {
        "mongo": {"database": workspace["store"].db.name, "write_tasks": -1},
        "aggregate": {"rejects_dir": str(workspace["tmp"] / "rejects")}})
    done = aggregate(["2026-02-28", "--input", str(workspace["data"]), "--dry-run"], workspace["env"], timeout=60)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == \
        "error: conf [mongo] write_tasks: must be a whole number, 0 or more, got -1"


def test_help_and_bad_arguments(workspace):
    done = aggregate(["--help"], workspace["env"], timeout=60)
    assert done.returncode == 0 and "examples:" in done.stdout and "exit codes:" in done.stdout
    done = aggregate(["2026-02-30"], workspace["env"], timeout=60)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].startswith("error:")
