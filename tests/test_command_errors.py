"""Every command turns every foreseeable failure into its exit code and one `error:` line,
found before Spark starts (issue 19): options out of range, malformed URIs, folders that cannot
be written, missing files, MongoDB refusing the login or going away. A traceback is left to
true bugs (exit 1).

The commands run in-process (their thin `main(argv)`), with an unreachable MongoDB URI in the
environment: a check that came after the connection would end with exit 4, not 2.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import write_conf
from pymongo import MongoClient
from pymongo.errors import (AutoReconnect, BulkWriteError, InvalidURI, NetworkTimeout, OperationFailure,
                            PyMongoError, ServerSelectionTimeoutError)

from jobrollup import exits
from jobrollup.cli import (aggregate, cleanup, cluster_errors, common, demo, generate, import_spack, models,
                           mongo as mongo_cli, query)
from jobrollup.store import mongo

ROOT = Path(__file__).resolve().parents[1]
NOWHERE = "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A conf of its own (rejects and errors under tmp), an unreachable MongoDB, a blocker file."""
    conf = write_conf(tmp_path / "conf.toml", {
        "mongo": {"database": "never_used", "embedded_dir": str(tmp_path / "mongo"), "timeout_ms": 300},
        "aggregate": {"rejects_dir": str(tmp_path / "rejects")},
        "errors": {"errors_dir": str(tmp_path / "errors")},
        "sources": {"fwjr": {"root": str(tmp_path / "fwjr")}}})
    monkeypatch.setenv("JOBROLLUP_CONF", str(conf))
    monkeypatch.setenv("JOBROLLUP_MONGO_URI", NOWHERE)
    (tmp_path / "a-file").write_text("not a folder\n")
    (tmp_path / "fwjr" / "2026" / "01" / "01").mkdir(parents=True)
    return tmp_path


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert "Traceback" not in err[0]
    return err[0]


def run(main, argv, capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as stop:      # argparse refuses while parsing
        code = stop.code
    return code, one_error_line(capsys)


# -- options in range ----------------------------------------------------------------------------

@pytest.mark.parametrize("main, argv, says", [
    (aggregate.main, ["2026-01-01", "--max-reject-share", "nan"], "--max-reject-share: must be a share between 0 and 1"),
    (aggregate.main, ["2026-01-01", "--max-reject-share", "-1"], "got '-1'"),
    (aggregate.main, ["2026-01-01", "--max-reject-share", "2"], "got '2'"),
    (aggregate.main, ["2026-01-01", "--max-reject-share", "inf"], "got 'inf'"),
    (aggregate.main, ["2026-01-01", "--max-reject-share", "lots"], "not a number: 'lots'"),
    (aggregate.main, ["2026-01-01", "--lateness", "-1"], "--lateness: must be 0 or more"),
    (aggregate.main, ["2026-13-01"], "not a date (YYYY-MM-DD): '2026-13-01'"),
    (aggregate.main, ["--min-date", "2026-01-32", "--max-date", "2026-02-01"], "not a date"),
    (aggregate.main, ["2026-01-01", "--source", "nope"], "invalid choice: 'nope'"),
    (aggregate.main, ["2026-01-01", "--spark-conf", "novalue"], "--spark-conf takes KEY=VALUE"),
    (import_spack.main, ["--date", "2026-01-01", "--out", "x", "y", "--max-reject-share", "nan"], "must be a share"),
    (import_spack.main, ["--date", "yesterday", "--out", "x", "y"], "not a date"),
    (cluster_errors.main, ["2026-01-01", "--threshold", "nan"], "--threshold: must be a finite number above 0"),
    (cluster_errors.main, ["2026-01-01", "--threshold", "-3"], "got '-3'"),
    (cleanup.main, ["--retention", "hour=soon"], "retention 'soon'"),
    (cleanup.main, ["--now", "tomorrow-ish"], "not a date and time"),
    (query.main, ["--limit", "0"], "--limit: must be 1 or more"),
    (query.main, ["--errors", "--precision", "fortnight"], "invalid choice: 'fortnight'"),
    (query.main, ["--from", "the dawn of time"], "--from 'the dawn of time' is not a time"),
    (generate.main, ["out", "--start", "2026-01-01", "--days", "0", "--jobs-per-day", "1"], "--days: must be 1 or more"),
    (generate.main, ["out", "--start", "2026-01-01", "--days", "1", "--jobs-per-day", "1", "--late-share", "1.5"],
     "--late-share: must be a share"),
    (generate.main, ["--source", "spack_builds", "out", "--start", "2026-01-01", "--builds-per-day", "-5"],
     "--builds-per-day: must be 0 or more"),
    (models.train_main, ["--data", "d", "--experiment", "e", "--threshold", "1.5"], "--threshold: 'prior', 'halfway' or a number"),
    (models.train_main, ["--data", "d", "--experiment", "e", "--param", "novalue"], "--param wants KEY=VALUE"),
    (models.predict_main, ["--experiment", "e", "--random-environments", "0"], "--random-environments: must be 1 or more"),
    (mongo_cli.main, ["restart"], "invalid choice: 'restart'"),
])
def test_an_option_out_of_range_is_exit_2_with_one_line(env, capsys, main, argv, says):
    code, line = run(main, argv, capsys)
    assert code == exits.INPUT and says in line, line


def test_a_share_out_of_range_in_the_configuration_is_refused_too(env, capsys, monkeypatch):
    conf = write_conf(env / "nan.toml", {"aggregate": {"max_reject_share": float("nan"),
                                                       "rejects_dir": str(env / "rejects")}})
    code, line = run(aggregate.main, ["2026-01-01", "--conf", str(conf)], capsys)
    assert code == exits.INPUT and line.startswith("error: conf [aggregate] max_reject_share: must be a share")


# -- the MongoDB URI -----------------------------------------------------------------------------

@pytest.mark.parametrize("main, argv", [
    (aggregate.main, ["2026-01-01"]),
    (aggregate.main, ["2026-01-01", "--dry-run"]),
    (cluster_errors.main, ["2026-01-01"]),
    (cleanup.main, []),
    (query.main, ["--by", "site"]),
    (query.main, ["--errors"]),
])
@pytest.mark.parametrize("uri, says", [
    ("http://x", "Invalid URI scheme"),
    ("mongodb://ops:s3cret@db.example:99999/", "Port must be an integer"),
    ("mongodb://", "at least one hostname"),
])
def test_a_malformed_uri_is_exit_2_with_one_line_and_no_password(env, capsys, main, argv, uri, says):
    code, line = run(main, [*argv, "--mongo-uri", uri], capsys)
    assert code == exits.INPUT and line.startswith("error: malformed MongoDB URI") and says in line, line
    assert "s3cret" not in line


def test_a_malformed_uri_from_the_environment_is_refused_the_same_way(env, capsys, monkeypatch):
    monkeypatch.setenv("JOBROLLUP_MONGO_URI", "mongodb://h/?serverSelectionTimeoutMS=soon")
    code, line = run(aggregate.main, ["2026-01-01"], capsys)
    assert code == exits.INPUT and "serverselectiontimeoutms must be an integer or float" in line


# -- folders and files ---------------------------------------------------------------------------

def test_an_unwritable_rejects_folder_is_found_before_spark(env, capsys):
    conf = write_conf(env / "rejects.toml", {"aggregate": {"rejects_dir": str(env / "a-file" / "rejects")}})
    for dry_run in ([], ["--dry-run"]):
        code, line = run(aggregate.main, ["2026-01-01", "--conf", str(conf), *dry_run], capsys)
        assert code == exits.INPUT and line.startswith(f"error: rejects folder {env}/a-file/rejects"), line
    code, line = run(cluster_errors.main, ["2026-01-01", "--conf", str(conf)], capsys)
    assert code == exits.INPUT and "rejects folder" in line


def test_an_unwritable_errors_folder_is_found_before_spark(env, capsys):
    conf = write_conf(env / "errors.toml", {"errors": {"errors_dir": str(env / "a-file" / "errors")},
                                             "aggregate": {"rejects_dir": str(env / "rejects")}})
    code, line = run(cluster_errors.main, ["2026-01-01", "--conf", str(conf)], capsys)
    assert code == exits.INPUT and line.startswith(f"error: errors folder {env}/a-file/errors is not writable")


def test_the_folders_are_made_and_proven_writable_before_mongodb_is_asked(env, capsys):
    code, line = run(aggregate.main, ["2026-01-01"], capsys)
    assert code == exits.MONGO and "MongoDB at 127.0.0.1:9 is unreachable" in line   # the checks passed first
    assert (env / "rejects").is_dir() and not list((env / "rejects").iterdir())       # the probe left nothing


@pytest.mark.parametrize("main, argv, says", [
    (query.main, ["--by", "site", "--plot", "/nonexistent/dir/x.png"], "--plot /nonexistent/dir/x.png: folder /nonexistent/dir not found"),
    (query.main, ["--by", "site", "--plot", "{tmp}"], "is a folder, not a file"),
    (query.main, ["--source", "spack_builds", "--by", "version,compiler_version", "--matrix", "{tmp}/a-file/m.png"],
     "--matrix {tmp}/a-file/m.png: folder {tmp}/a-file not found"),
    (cluster_errors.main, ["--messages", "{tmp}/none.jsonl", "--out", "{tmp}/out.jsonl"], "messages file not found"),
    (cluster_errors.main, ["--messages", "{tmp}/a-file", "--out", "/nonexistent/out.jsonl"], "--out /nonexistent/out.jsonl: folder"),
    (import_spack.main, ["--date", "2026-01-01", "--out", "{tmp}/a-file/spack", "{tmp}/a-file"], "--out {tmp}/a-file/spack is not writable"),
    (import_spack.main, ["--date", "2026-01-01", "--out", "{tmp}/spack", "{tmp}/missing"], "no such input"),
    (generate.main, ["{tmp}/a-file/out", "--start", "2026-01-01", "--days", "1", "--jobs-per-day", "1"],
     "output folder {tmp}/a-file/out is not writable"),
    (models.train_main, ["--data", "{tmp}/nodata", "--experiment", "e"], "--data folder not found"),
    (models.train_main, ["--data", "{tmp}", "--experiment", "e", "--out-dir", "{tmp}/a-file"], "experiment folder"),
    (models.train_main, ["--list", "--out-dir", "{tmp}/none"], "no experiments in"),
    (models.predict_main, ["--experiment", "e", "--out-dir", "{tmp}", "spec.yaml"], "no experiment 'e'"),
    (models.predict_main, ["--experiment", "e", "--random-environments", "5", "--heatmap", "/nonexistent/h.png"],
     "--heatmap /nonexistent/h.png: folder /nonexistent not found"),
    (aggregate.main, ["2026-01-01", "--conf", "{tmp}/none.toml"], "configuration file not found"),
    (cleanup.main, ["--conf", "{tmp}/none.toml"], "configuration file not found"),
    (query.main, ["--conf", "{tmp}/none.toml"], "configuration file not found"),
    (cluster_errors.main, ["2026-01-01", "--conf", "{tmp}/none.toml"], "configuration file not found"),
    (import_spack.main, ["--date", "2026-01-01", "--out", "x", "y", "--conf", "{tmp}/none.toml"], "configuration file not found"),
    (mongo_cli.main, ["status", "--conf", "{tmp}/none.toml"], "configuration file not found"),
    (aggregate.main, ["2026-01-01", "--conf", "{tmp}/a-file"], "is not valid TOML"),
])
def test_a_folder_or_file_that_cannot_be_used_is_exit_2_with_one_line(env, capsys, main, argv, says):
    code, line = run(main, [a.replace("{tmp}", str(env)) for a in argv], capsys)
    assert code == exits.INPUT and says.replace("{tmp}", str(env)) in line, line


def test_demo_without_mongodb_is_one_line(env, capsys, monkeypatch):
    code, line = run(demo.main, [], capsys)
    assert code == exits.MONGO and "MongoDB at 127.0.0.1:9 is unreachable" in line


# -- MongoDB's failures, worded by the store -----------------------------------------------------

URI = "mongodb://ops:s3cret@db1.example:27017,db2.example:27018/?replicaSet=rs"
HOSTS = "db1.example:27017,db2.example:27018"
REPLY = {"ok": 0.0, "errmsg": "authentication failed", "code": 18, "codeName": "AuthenticationFailed",
         "$clusterTime": {"signature": {"hash": b"\0" * 20}}}


@pytest.mark.parametrize("error, written, code, line", [
    (OperationFailure("authentication failed", 18, REPLY), None, exits.MONGO,
     f"authentication failed for user ops on {HOSTS}"),
    (OperationFailure("command insert requires authentication", 13,
                      {"errmsg": "command insert requires authentication", "code": 13}), None, exits.MONGO,
     f"user ops is not allowed to do this on {HOSTS}: command insert requires authentication (code 13)"),
    (ServerSelectionTimeoutError("db1.example:27017: [Errno 111] Connection refused (configured timeouts: "
                                 "socketTimeoutMS: 20000.0ms), Timeout: 5.0s, Topology Description: <...>"), None,
     exits.MONGO, f"MongoDB at {HOSTS} is unreachable: db1.example:27017: [Errno 111] Connection refused"),
    (AutoReconnect("connection closed"), 12_345, exits.MONGO,
     f"MongoDB at {HOSTS} stopped answering (after 12,345 documents of this run were written; re-run to finish)"),
    (NetworkTimeout("db1.example:27017: timed out"), 0, exits.MONGO,
     f"MongoDB at {HOSTS} stopped answering (after 0 documents of this run were written; re-run to finish)"),
    (BulkWriteError({"writeErrors": [{"index": 0, "code": 28, "errmsg": "disk full\nand more"}]}), 10, exits.MONGO,
     f"MongoDB at {HOSTS} refused an operation: disk full (code 28)"),
    (InvalidURI("Invalid URI scheme"), None, exits.INPUT, "malformed MongoDB URI mongodb://ops:***@"),
    (PyMongoError("something else\nwith a second line"), None, exits.MONGO, f"MongoDB at {HOSTS} failed: something else"),
])
def test_mongodb_failures_are_classified_into_one_line(error, written, code, line):
    """On real pymongo exception objects: what the server's replies and pymongo's errors become."""
    failure = mongo.failure(error, URI, written)
    text = str(failure)
    assert exits.code_of(failure) == code and text.startswith(line), text
    assert "\n" not in text and "s3cret" not in text and "$clusterTime" not in text and "Topology" not in text


def test_a_failure_without_a_uri_still_reads(capsys):
    def body(argv):
        raise AutoReconnect("gone")
    assert common.run(body, []) == exits.MONGO
    assert one_error_line(capsys) == "error: MongoDB at the server is unreachable: gone"


def test_a_bug_keeps_its_traceback_and_exit_1():
    def body(argv):
        raise ZeroDivisionError("a bug")
    with pytest.raises(ZeroDivisionError):     # the interpreter prints it and exits 1
        common.run(body, [])
    done = subprocess.run([sys.executable, "-c", "import sys; from jobrollup.cli import common\n"
                           "def body(argv): raise ZeroDivisionError('a bug')\nsys.exit(common.run(body, []))"],
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), capture_output=True, text=True)
    assert done.returncode == exits.FAILED and "Traceback" in done.stderr


@pytest.fixture(scope="module")
def server_with_auth(tmp_path_factory):
    """A SecantusDB server of its own that requires SCRAM authentication, with user ops/right.
    SecantusDB provisions users on a server without --auth, then is restarted with it."""
    folder = tmp_path_factory.mktemp("auth")
    program = str(Path(sys.executable).with_name("secantusd-py"))

    def start(auth: bool):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        process = subprocess.Popen([program, "--host", "127.0.0.1", "--port", str(port), "--storage-path",
                                    str(folder / "data"), "--log-level", "ERROR", *(["--auth"] if auth else [])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        uri = f"127.0.0.1:{port}/?directConnection=true"
        deadline = time.monotonic() + 60
        while True:
            try:
                MongoClient("mongodb://" + uri, serverSelectionTimeoutMS=300).admin.command("ping")
                return process, port
            except PyMongoError:
                assert time.monotonic() < deadline and process.poll() is None, "the auth server did not start"
                time.sleep(0.1)

    process, port = start(auth=False)
    MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true").admin.command(
        "createUser", "ops", pwd="right", roles=["root"])
    process.terminate()
    process.wait(30)
    process, port = start(auth=True)
    yield port
    process.kill()
    process.wait(30)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_wrong_password_says_authentication_failed(env, capsys, server_with_auth):
    port = server_with_auth
    for main, argv in ((query.main, ["--by", "site"]), (cleanup.main, []), (aggregate.main, ["2026-01-01"])):
        code, line = run(main, [*argv, "--mongo-uri", f"mongodb://ops:wrong@127.0.0.1:{port}/?directConnection=true"],
                         capsys)
        assert code == exits.MONGO and line == f"error: authentication failed for user ops on 127.0.0.1:{port}", line
    code, line = run(query.main, ["--by", "site", "--mongo-uri", f"mongodb://127.0.0.1:{port}/?directConnection=true"],
                     capsys)
    assert code == exits.MONGO
    assert line == f"error: MongoDB at 127.0.0.1:{port} requires authentication: give a user and password in the URI"
    with mongo.MongoStore(f"mongodb://ops:right@127.0.0.1:{port}/?directConnection=true", "x") as store:
        store.ping()    # the right password is let in


# -- bin/ scripts: the project's environment, and a few refusals as people meet them ------------

def test_every_bin_command_runs_the_projects_python():
    for script in sorted((ROOT / "bin").iterdir()):
        text = script.read_text()
        if script.name in ("_python", "setup"):    # _python is the environment; setup makes it
            continue
        assert "python3" not in text.replace("bin/_python", ""), f"bin/{script.name} names a system Python"
        assert "bin/_python" in text or "bin/setup" in text, f"bin/{script.name} does not go through bin/_python"


def test_bin_generate_writes_parquet_with_the_projects_pyarrow(tmp_path):
    done = subprocess.run([str(ROOT / "bin" / "generate"), str(tmp_path / "out"), "--start", "2026-01-01",
                           "--days", "1", "--jobs-per-day", "20", "--format", "parquet", "--workers", "1"],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, PATH="/usr/bin:/bin"))
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "out" / "2026" / "01" / "01").glob("*.parquet"))


@pytest.mark.parametrize("argv, says", [
    (["aggregate", "2026-01-01", "--mongo-uri", "http://x"], "error: malformed MongoDB URI http://x"),
    (["aggregate", "2026-01-01", "--max-reject-share", "nan"], "error: argument --max-reject-share"),
    (["query", "--by", "site", "--plot", "/nonexistent/dir/x.png"], "error: --plot /nonexistent/dir/x.png"),
])
def test_bin_commands_refuse_in_one_line_before_spark(env, argv, says):
    done = subprocess.run([str(ROOT / "bin" / argv[0]), *argv[1:]], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))
    assert done.returncode == exits.INPUT
    assert done.stderr.strip().startswith(says) and len(done.stderr.strip().splitlines()) == 1, done.stderr
