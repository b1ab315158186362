"""Settings: deployment profiles, and MongoDB credentials that are never shown."""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import pytest

from jobrollup import config, dump_files
from jobrollup.store.mongo import redact

ROOT = Path(__file__).resolve().parents[1]


def test_profiles_choose_master_and_settings(conf):
    master, settings = config.spark_settings(conf)
    assert master == "local[*]" and settings["spark.driver.memory"] == "4g"
    assert settings["spark.sql.session.timeZone"] == "UTC"          # shared by every profile
    master, settings = config.spark_settings(conf, "yarn")
    assert master == "yarn" and settings["spark.submit.deployMode"] == "client"
    assert config.spark_settings(conf, "kubernetes", "k8s://https://other:443")[0] == "k8s://https://other:443"
    with pytest.raises(config.ConfigError, match="unknown Spark profile 'mesos': choose one of kubernetes, local, standalone, yarn"):
        config.spark_settings(conf, "mesos")


def test_profile_jvm_options_keep_the_log_configuration(conf):
    from jobrollup.spark import submit

    _, settings = config.spark_settings(conf)          # the local profile's JIT and GC choices
    assert "-XX:TieredStopAtLevel=1" in settings["spark.driver.extraJavaOptions"]
    cmd = submit.command("aggregate", [], master="local[*]", app_name="t", spark_conf=settings, py_files="x.zip")
    options = next(c for c in cmd if c.startswith("spark.driver.extraJavaOptions="))
    assert "-XX:+UseSerialGC" in options and "-XX:TieredStopAtLevel=1" in options
    assert "-Dlog4j2.configurationFile=file:" in options
    cmd = submit.command("aggregate", [], master="local[*]", app_name="t", py_files="x.zip",
                         spark_conf={**settings, "spark.driver.extraJavaOptions": ""})  # the JVM's defaults
    options = next(c for c in cmd if c.startswith("spark.driver.extraJavaOptions="))
    assert "-XX" not in options and "-Dlog4j2.configurationFile=file:" in options


def test_the_quick_jit_tier_is_for_small_or_unknown_inputs(conf, tmp_path):
    quick = "-XX:TieredStopAtLevel=1"
    limit = config.byte_size(conf["spark"]["profiles"]["local"]["small_input"]["bytes"], "bytes")
    assert limit == 768 << 20
    for input_bytes, has_quick in ((None, True), (0, True), (limit - 1, True), (limit, False), (10 * limit, False)):
        options = config.spark_settings(conf, input_bytes=input_bytes)[1]["spark.driver.extraJavaOptions"]
        assert (quick in options) is has_quick and "-XX:+UseSerialGC" in options, input_bytes
    # only the local profile has it; a cluster's JVMs are its own business
    assert quick not in config.spark_settings(conf, "yarn", input_bytes=0)[1].get("spark.driver.extraJavaOptions", "")
    # ...apart from the executors' inlining limits, which every cluster profile shares
    for profile in ("standalone", "yarn", "kubernetes"):
        options = config.spark_settings(conf, profile)[1]["spark.executor.extraJavaOptions"]
        assert "-XX:MaxInlineLevel=9" in options and quick not in options and "UseSerialGC" not in options, profile

    # sizes of local folders: only the files the reader reads, .gz ones at GZ_RATIO
    day = tmp_path / "2024" / "11" / "04"
    day.mkdir(parents=True)
    (day / "a.jsonl").write_bytes(b"x" * 1000)
    (day / "b.jsonl.gz").write_bytes(b"x" * 100)
    (day / "_SUCCESS").write_bytes(b"x" * 50)
    (day / ".a.jsonl.crc").write_bytes(b"x" * 50)
    (day / "notes.txt").write_bytes(b"x" * 50)
    expected = 1000 + 100 * dump_files.GZ_RATIO
    assert dump_files.input_size([str(day), str(tmp_path / "missing")]) == expected
    assert dump_files.input_size([f"file://{day}"]) == expected
    assert dump_files.input_size([str(day), "hdfs:///cms/fwjr/2024/11/04"]) is None
    with pytest.raises(config.ConfigError, match="'lots' is not a size"):
        config.byte_size("lots", "[x] bytes")
    assert config.byte_size("2g", "x") == 2 << 30 and config.byte_size(1024, "x") == 1024 and config.byte_size("1.5k", "x") == 1536


def test_uri_file_must_be_private(conf, tmp_path, monkeypatch):
    monkeypatch.delenv(config.ENV_MONGO_URI, raising=False)
    secret = tmp_path / "mongo-uri"
    secret.write_text("mongodb://ops:s3cret@db:27017/\n")
    secret.chmod(0o644)
    conf = copy.deepcopy(conf)
    conf["mongo"]["uri_file"] = str(secret)
    with pytest.raises(config.ConfigError, match="readable by others .*chmod 600"):
        config.mongo_uri(None, conf)
    secret.chmod(0o600)
    assert config.mongo_uri(None, conf) == "mongodb://ops:s3cret@db:27017/"
    assert config.mongo_uri("mongodb://given/", conf) == "mongodb://given/"
    monkeypatch.setenv(config.ENV_MONGO_URI, "mongodb://env/")
    assert config.mongo_uri(None, conf) == "mongodb://env/"
    assert redact("mongodb://ops:s3cret@db:27017/x?authSource=admin") == "mongodb://ops:***@db:27017/x?authSource=admin"


def test_dry_run_with_a_profile_and_a_uri_file_shows_no_secret(tmp_path):
    secret = tmp_path / "mongo-uri"
    secret.write_text("mongodb://ops:s3cret@db.example:27017/")
    secret.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k != config.ENV_MONGO_URI}
    env[config.ENV_MONGO_URI_FILE] = str(secret)
    done = subprocess.run([str(ROOT / "bin" / "aggregate"), "2026-01-01", "--profile", "yarn", "--input",
                           str(tmp_path), "--dry-run"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--master yarn" in done.stdout and "spark.submit.deployMode=client" in done.stdout
    assert "s3cret" not in done.stdout + done.stderr and "ops:***@db.example" in done.stdout
    secret.chmod(0o640)
    done = subprocess.run([str(ROOT / "bin" / "aggregate"), "2026-01-01", "--dry-run"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 2 and "chmod 600" in done.stderr and "s3cret" not in done.stderr
