"""The spack_builds source on real spack files (tests/data/spack-builds, see its README):
bin/import-spack's joins and bad-input classes, and the aggregated documents at every tier and
across a cleanup against an independent pandas computation over the same raw files.

The real exports carry no time, so the test dates three parts of them apart: five packages'
outcomes on Sunday 2026-11-29 (ISO week 48, November), the build records on Monday 2026-11-30
(week 49, November) and four packages' outcomes on 2026-12-01 (week 49, December): every tier
then has to merge more than one day.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import hold_empty_days, plan_for, write_conf

from jobrollup import cleanup, sources
from jobrollup import query as queries
from jobrollup.cli import import_spack
from jobrollup.errors import job as errors_job, messages
from jobrollup.sources.spack_builds import generate, importer
from jobrollup.spark import aggregate_job
from jobrollup.store.mongo import MongoStore

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "spack-builds"
ERRORS = ROOT / "tests" / "data" / "spack-errors" / "records"
SPACK = sources.get("spack_builds")
D = dt.date
T = dt.datetime

FIRST = ["abyss", "adios", "ascent", "axom", "kokkos-kernels"]
SECOND = ["mfem", "petsc", "plasma", "trilinos"]
DAYS = {"first": D(2026, 11, 29), "records": D(2026, 11, 30), "second": D(2026, 12, 1)}
RETENTION = {"hour": "2 days", "day": "8 weeks", "week": "1 year", "month": "forever"}


# -- the dump, imported -----------------------------------------------------------------------

def _tables(packages):
    return [p for name in packages for p in sorted((DATA / "features").glob(f"*/{name}*.csv"))]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The real files imported in three dated parts into OUT/builds/YYYY/MM/DD/."""
    tmp = tmp_path_factory.mktemp("spack-import")
    outcomes = json.loads((DATA / "outcomes" / "dinos-all-specs-status.json").read_text())
    parts = {}
    for part, packages in (("first", FIRST), ("second", SECOND)):
        path = tmp / part / "dinos-all-specs-status.json"
        path.parent.mkdir()
        path.write_text(json.dumps({p: outcomes[p] for p in packages}))
        parts[part] = [str(path), *map(str, _tables(packages)), str(DATA / "specs")]
    parts["records"] = [str(DATA / "build-records")]
    out = tmp / "spack"
    for part, day in DAYS.items():
        assert import_spack.main(["--date", day.isoformat(), "--out", str(out), *parts[part]]) == 0
    return out


@pytest.fixture(scope="module")
def expected():
    """One row per build, from the raw files with pandas: day, package, compiler, status, install time."""
    raw = json.loads((DATA / "outcomes" / "dinos-all-specs-status.json").read_text())
    outcomes = pd.DataFrame([{"package": p, "hash": h, "Status": v["Status"], "install_time": v["Install Time"]}
                             for p, builds in raw.items() for h, v in builds.items()])
    outcomes["day"] = outcomes["package"].map(lambda p: DAYS["first"] if p in FIRST else DAYS["second"])
    roots = []
    for path in (DATA / "specs").rglob("*.yaml"):
        nodes = yaml.safe_load(path.read_text())["spec"]["nodes"]
        root = next(n for n in nodes if n["full_hash"] == path.stem)
        roots.append({"hash": path.stem, "package": root["name"], "compiler": root["compiler"]["name"]})
    outcomes = outcomes.merge(pd.DataFrame(roots), on=["hash", "package"], how="left")
    records = pd.json_normalize(yaml.safe_load((DATA / "build-records" / "jobspecs-1000.yaml").read_text()))
    records = pd.DataFrame({"package": records["package"], "compiler": records["resources.compiler.compiler_name"],
                            "Status": "SUCCESS", "install_time": float("nan"), "day": DAYS["records"]})
    builds = pd.concat([outcomes, records], ignore_index=True)
    builds["successes"] = (builds["Status"] == "SUCCESS").astype(int)
    builds["failures"] = (builds["Status"] == "FAILED").astype(int)
    return builds


def per_key(builds: pd.DataFrame, key: str) -> dict:
    grouped = builds.groupby(builds[key].fillna("(null)"))
    table = grouped.agg(count=("package", "size"), successes=("successes", "sum"), failures=("failures", "sum"),
                        n=("install_time", "count"), sum=("install_time", "sum"),
                        min=("install_time", "min"), max=("install_time", "max"))
    return {k: _clean(row) for k, row in table.to_dict("index").items()}


def documents_per_key(docs: list[dict], key: str) -> dict:
    out: dict = {}
    for doc in docs:
        row = out.setdefault(doc["scope"].get(key) or "(null)", {"count": 0, "successes": 0, "failures": 0, "n": 0,
                                                              "sum": 0.0, "min": math.inf, "max": -math.inf})
        for name in ("count", "successes", "failures"):
            row[name] += doc[name]
        stats = doc.get("performance", {}).get("time", {}).get("install_time")
        if stats:
            row["n"] += stats["n"]
            row["sum"] += stats["sum"]
            row["min"] = min(row["min"], stats["min"])
            row["max"] = max(row["max"], stats["max"])
    return {k: _clean(row) for k, row in out.items()}


def _clean(row: dict) -> dict:
    """Whole numbers as int, a statistic of no value as None, sums rounded to compare floats."""
    clean = {}
    for name, value in row.items():
        if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
            value = None
        elif name in ("count", "successes", "failures", "n"):
            value = int(value)
        else:
            value = round(float(value), 6)
        clean[name] = value
    if not clean["n"]:
        clean.update(sum=None, min=None, max=None)
    return clean


def stored(store, precision: str) -> list[dict]:
    return stored_in(store, SPACK.collection, precision)


def stored_in(store, collection: str, precision: str) -> list[dict]:
    return list(store.db[collection].find({"scope.timeframe_precision": precision}))


def aggregate(spark, store, conf, root, precision, first=DAYS["first"], last=DAYS["second"]):
    plan = plan_for(conf, root / "builds", first, last, precision, source="spack_builds")
    return aggregate_job.run(spark, plan, store)


# -- import --------------------------------------------------------------------------------------

def test_import_joins_outcomes_labels_compats_and_specs_by_hash(imported, expected):
    builds = [json.loads(line) for path in sorted((imported / "builds").rglob("*.jsonl")) for line in open(path)]
    assert len(builds) == len(expected) == 6629 + 1000
    assert sum(b["status"] == "success" for b in builds) == int(expected["successes"].sum())
    assert sum(b["status"] == "failed" for b in builds) == int(expected["failures"].sum())
    # labels: version and allocation time for every labelled hash; "Root Failure" on a failed outcome
    labels = pd.concat([pd.read_csv(p, index_col=0).assign(file=p.stem)
                        for p in (DATA / "features" / "labels").glob("*.csv")])
    by_key = {(b["package"], b.get("spec_hash")): b for b in builds}
    for full_hash, row in labels.iterrows():
        build = by_key[(row["file"], full_hash)]
        assert build["version"] == str(row["version"]) and build["allocation_time"] == float(row["Alloc Time"])
        root_failure = row["Reason"] == "Root Failure" and build["status"] == "failed"
        assert (build["failed_part"] == "package") == root_failure
    # spec YAML: compiler, os and target of the builds of their own package only
    with_spec = [b for b in builds if b.get("origin") == "outcomes" and b["compiler"]]
    assert {(b["package"], b["compiler"], b["os"], b["target"]) for b in with_spec} == {
        ("kokkos-kernels", "gcc", "rhel7", "broadwell"), ("plasma", "gcc", "rhel7", "broadwell"),
        ("trilinos", "gcc", "rhel7", "broadwell")}
    # build records: platform-os-target split, memory and duration carried
    record = next(b for b in builds if b.get("build_id") == "366405")
    assert (record["package"], record["os"], record["target"], record["compiler_version"]) == \
        ("llvm", "ubuntu22.04", "x86_64_v3", "11.4.0")
    assert record["duration"] == 3336.694354 and record["memory_max"] == 14844923904.0
    # every record is dated to its part's --date
    days = {path.parent.relative_to(imported / "builds").as_posix() for path in (imported / "builds").rglob("*.jsonl")}
    assert days == {"2026/11/29", "2026/11/30", "2026/12/01"}


def test_importing_the_same_dump_twice_rewrites_the_same_files(tmp_path):
    args = ["--date", "2026-11-20", "--out", str(tmp_path), str(DATA / "build-records"), str(ERRORS)]
    assert import_spack.main(args) == 0
    first = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert import_spack.main(args) == 0
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()) == first
    # error records: JSON lines per package and day, each record with its package and time
    errors = [json.loads(line) for p in (tmp_path / "errors").rglob("*.jsonl") for line in open(p)]
    expected = sum(len(json.loads(p.read_text())) for p in ERRORS.glob("*.json"))
    assert len(errors) == expected == 160
    assert {r["package"] for r in errors} == {"abyss", "mfem", "papyrus", "petsc"}
    assert {r["ts"] for r in errors} == {T(2026, 11, 20, tzinfo=dt.timezone.utc).timestamp()}


def _bad_dump(folder: Path, good: int = 1) -> None:
    """One of every bad-input class, beside `good` good outcomes."""
    letters = "abcdefghijklmnopqrstuvwxyz234567"
    good_hashes = [letters[n // 32] + letters[n % 32] + "a" * 30 for n in range(good)]
    (folder / "status.json").write_text(json.dumps({"zfp": {
        **{h: {"Status": "SUCCESS", "Install Time": 12.5} for h in good_hashes},
        "b" * 32: {"Status": "CANCELLED", "Install Time": 1.0},          # unknown status
        "": {"Status": "FAILED", "Install Time": 1.0},                    # missing hash
        "NOT-A-HASH": {"Status": "FAILED", "Install Time": 1.0},          # malformed hash
    }}))
    (folder / "feature-list.json").write_text('["zfp-version", "cmake-version"]')   # read whole, not an export
    (folder / ("c" * 32 + ".yaml")).write_text("spec:\n  nodes:\n  - name: zfp\n    arch: {platform: linux")  # truncated YAML
    (folder / "zfp_error.json").write_text(json.dumps([
        {"text": "   ", "pre_context": "", "post_context": "", "hash": "d" * 32},   # no text
        {"text": "error: boom", "hash": "e" * 32}]))


def test_bad_input_is_counted_set_aside_with_its_reason_and_reported(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    _bad_dump(tmp_path / "in", good=200)
    done = import_spack.main(["--date", "2026-11-20", "--out", str(tmp_path / "out"), str(tmp_path / "in")])
    printed = capsys.readouterr().out
    assert done == 0, printed
    dump = importer.read_dump([tmp_path / "in"], D(2026, 11, 20))
    reasons = sorted(r.reason for r in dump.rejects)
    assert reasons == ["empty_error_text", "malformed_hash", "malformed_yaml", "missing_hash", "unknown_format",
                       "unknown_status"]
    assert "rejected   6 (" in printed and "unknown_status 1" in printed and "unreadable" not in printed
    rejects = [json.loads(line) for p in (tmp_path / "out" / "rejects").rglob("*.jsonl") for line in open(p)]
    assert sorted(r["reason"] for r in rejects) == reasons
    assert all(r["file"] and "record" in r for r in rejects)
    cut = next(r for r in rejects if r["reason"] == "malformed_yaml")
    assert cut["file"].endswith("c" * 32 + ".yaml") and "zfp" in cut["record"] and not cut["whole_file"]
    builds = [json.loads(line) for p in (tmp_path / "out" / "builds").rglob("*.jsonl") for line in open(p)]
    assert len(builds) == 200 and {b["status"] for b in builds} == {"success"}


def test_a_mostly_bad_dump_is_refused_with_exit_3_and_one_line(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    _bad_dump(tmp_path / "in", good=1)
    done = import_spack.main(["--date", "2026-11-20", "--out", str(tmp_path / "out"), str(tmp_path / "in")])
    err = capsys.readouterr().err.strip().splitlines()
    assert done == 3
    assert len(err) == 1 and err[0].startswith("error: 6 of 8 records rejected (75.0%") and "nothing written" in err[0]
    assert not (tmp_path / "out" / "builds").exists() and not (tmp_path / "out" / "errors").exists()
    assert list((tmp_path / "out" / "rejects").rglob("*.jsonl"))   # kept for a person to read


@pytest.mark.parametrize("name, text", [
    ("cut-status.json", '{"zfp": {"' + "c" * 32 + '": {"Status": "SUCC'),          # truncated outcomes
    ("jobspecs-cut.yaml", "- package: llvm\n  resources:\n    arch: {arch: linux-"),  # truncated build records
    ("adios_error.json", '[{"text": "error: boom", "hash": "' + "e" * 32 + '"}, {"te'),  # truncated error list
])
def test_a_truncated_file_of_many_records_refuses_the_dump(tmp_path, capsys, name, text):
    """One cut outcomes file may have held every build of the dump: it cannot count as one bad
    record among thousands of good ones. The import refuses (exit 3, one line), sets it aside."""
    (tmp_path / "in").mkdir()
    _bad_dump(tmp_path / "in", good=500)          # 500 good outcomes: 6 bad records alone pass
    (tmp_path / "in" / name).write_text(text)
    done = import_spack.main(["--date", "2026-11-20", "--out", str(tmp_path / "out"), str(tmp_path / "in")])
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert done == 3 and len(err) == 1
    assert err[0].startswith("error: 1 file(s) could not be read at all (") and name in err[0]
    assert "how many records they held is unknown" in err[0] and "nothing written" in err[0]
    assert f"unreadable {tmp_path / 'in' / name}" in captured.out
    assert not (tmp_path / "out" / "builds").exists()
    rejects = [json.loads(line) for p in (tmp_path / "out" / "rejects").rglob("*.jsonl") for line in open(p)]
    assert [r["file"] for r in rejects if r["whole_file"]] == [str(tmp_path / "in" / name)]


def test_help_says_records_without_a_timestamp_take_the_date(capsys):
    with pytest.raises(SystemExit):
        import_spack.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "records without a timestamp of their own" in text and "--date" in text


# -- the normaliser ------------------------------------------------------------------------------

def test_normaliser_rejects_what_is_not_a_build(spark):
    normalise = SPACK.load("normaliser")
    good = {"ts": 1795132800, "package": "zfp", "status": "FAILED", "compiler": " gcc ", "install_time": "12.5",
            "memory_max": "n/a"}
    lines = [json.dumps(good), "{not json", json.dumps([1, 2]), json.dumps({**good, "package": ""}),
             json.dumps({**good, "status": "cancelled"}), json.dumps({**good, "ts": None}),
             json.dumps({**good, "ts": 12}), "   "]
    frame = spark.createDataFrame([(line, "f.jsonl") for line in lines], "value string, file string")
    rows = normalise(frame).orderBy("rejected_line").collect()
    reasons = sorted(r["reject_reason"] or "-" for r in rows)
    assert reasons == sorted(["-", "malformed_json", "wrong_type", "missing_package", "unknown_status",
                              "missing_ts", "bad_ts"])
    ok = next(r for r in rows if r["reject_reason"] is None)
    assert (ok["status"], ok["compiler"], ok["successes"], ok["failures"]) == ("failed", "gcc", 0, 1)
    assert ok["time__install_time"] == 12.5 and ok["memory__memory_max"] is None


# -- aggregation and cleanup against pandas -------------------------------------------------------

@pytest.mark.parametrize("precision", ["hour", "day", "week", "month"])
def test_documents_equal_pandas_per_package_and_compiler_at_every_tier(spark, store, conf, imported, expected,
                                                                       precision):
    result = aggregate(spark, store, conf, imported, precision)
    assert result.status == "succeeded" and result.counts["rejected"] == 0
    assert result.counts["in_window"] == len(expected)
    docs = stored(store, precision)
    for key in ("package", "compiler"):
        assert documents_per_key(docs, key) == per_key(expected, key)
    if precision in ("week", "month"):   # every bucket of the tier holds what pandas puts in it
        starts = sorted({d["scope"]["start_date"] for d in docs})
        assert starts == ([T(2026, 11, 23), T(2026, 11, 30)] if precision == "week" else [T(2026, 11, 1), T(2026, 12, 1)])
        for start in starts:
            in_bucket = expected[expected["day"].map(lambda d: _bucket(d, precision)) == start]
            assert documents_per_key([d for d in docs if d["scope"]["start_date"] == start], "package") == \
                per_key(in_bucket, "package")


def _bucket(day: dt.date, precision: str) -> dt.datetime:
    if precision == "week":
        day = day - dt.timedelta(days=day.weekday())
    elif precision == "month":
        day = day.replace(day=1)
    return T(day.year, day.month, day.day)


def test_cleanup_keeps_every_statistic_and_queries_answer_the_same(spark, store, conf, imported, expected):
    # every day of both months is held (most of them empty), so that weeks and months can be built
    hold_empty_days(imported / "builds", D(2026, 11, 1), D(2026, 12, 31))
    aggregate(spark, store, conf, imported, "day", D(2026, 11, 1), D(2026, 12, 31))
    reports = cleanup.Cleanup(store, SPACK, RETENTION, now=T(2027, 3, 1)).run()
    assert not stored(store, "day"), "days past their retention roll up and go"
    for precision in ("week", "month"):
        docs = stored(store, precision)
        assert docs, reports
        for key in ("package", "compiler"):
            assert documents_per_key(docs, key) == per_key(expected, key)
    # bin/query's answer over the rolled-up tiers: counts, successes, failures, failure rate, install time
    q = queries.query(start="2026-11-01", end="2026-12-31", by=["package"], source=SPACK, now=T(2027, 3, 1),
                      metrics=["count", "successes", "failures", "failure_rate", "success_rate",
                               "time.install_time:mean,n"])
    frame = queries.answer(store, q).set_index("package")
    want = per_key(expected, "package")
    for package, row in want.items():
        got = frame.loc[package]
        assert int(got["count"]) == row["count"] and int(got["successes"]) == row["successes"]
        assert int(got["failures"]) == row["failures"]
        assert math.isclose(got["failure_rate"], row["failures"] / row["count"], rel_tol=1e-9)
        assert math.isclose(got["success_rate"], row["successes"] / row["count"], rel_tol=1e-9)
        if row["n"]:
            assert math.isclose(got["time.install_time.mean"], row["sum"] / row["n"], rel_tol=1e-9)
    # two spans in one question: ISO week 49 against week 48, from the rolled-up weeks
    from jobrollup.query import compare
    q = queries.query(start="2026-11-30", end="2026-12-06", by=["package"], source=SPACK, now=T(2027, 3, 1),
                      metrics=["count", "failure_rate"])
    frame = compare.compare(store, q, compare.baseline_of(q, "2026-11-23", None, T(2027, 3, 1))).set_index("package")
    week = expected["day"].map(lambda d: _bucket(d, "week"))
    now, before = per_key(expected[week == T(2026, 11, 30)], "package"), per_key(expected[week == T(2026, 11, 23)], "package")
    assert set(frame.index) == set(now) | set(before)
    for package, got in frame.iterrows():
        n, b = now.get(package), before.get(package)
        assert (got["count"] if n else 0) == (n["count"] if n else 0)
        assert (got["count.before"] if b else 0) == (b["count"] if b else 0)
        if n and b:
            assert math.isclose(got["failure_rate.change"], n["failures"] / n["count"] - b["failures"] / b["count"],
                                abs_tol=1e-12)


# -- spack_errors: one record per error line, with its template and cluster ---------------------

ERRORS_DAY = D(2026, 11, 18)   # a Wednesday: its ISO week (16-22) lies inside November


@pytest.fixture(scope="module")
def imported_errors(tmp_path_factory):
    out = tmp_path_factory.mktemp("spack-errors")
    assert import_spack.main(["--date", ERRORS_DAY.isoformat(), "--out", str(out), str(ERRORS)]) == 0
    return out


def errors_by_hand() -> pd.DataFrame:
    """Every record of the raw files, read with json: package and kind from the file name, the
    whole log line rebuilt, "N/A" phases and [null] source files as unknown, names trimmed."""
    rows = []
    for path in sorted(ERRORS.glob("*.json")):
        package, _, kind = path.stem.rpartition("_")
        for record in json.loads(path.read_text()):
            line = messages.spack_message(record["text"], record["pre_context"], record["post_context"])
            files = [f.strip() for f in record["source_file"] if f and f.strip()] \
                if isinstance(record["source_file"], list) else [record["source_file"].strip()]
            rows.append({"package": package, "spec_hash": record["hash"], "kind": kind,
                         "phase": None if record["phase"] == "N/A" else record["phase"],
                         "source_file": files[0] if files else None, "template": messages.normalise(line)[0]})
    return pd.DataFrame(rows)


def test_spack_errors_aggregate_clean_up_and_answer_like_fwjr(spark, store, conf, imported_errors, tmp_path):
    """cluster-errors learns the templates, the aggregation gives every error line its template's
    cluster; per (package, spec hash, cluster) the documents equal the records counted by hand,
    at day precision, after the cleanup rolled the days into weeks and months, and in bin/query."""
    spack_errors = sources.get("spack_errors")
    root = imported_errors / "errors"
    cut = root / "2026" / "11" / "18" / "broken_error-0.jsonl"   # a cut line: one reject in both jobs
    cut.write_text('{"text": "unterminated\n')
    plan = plan_for(conf, root, ERRORS_DAY, source="spack_errors", collection=spack_errors.errors_collection)
    clustered = errors_job.run(spark, plan, store, errors_dir=str(tmp_path / "assignments"))
    assert clustered.counts["errors"] == 160 and clustered.counts["rejected"] == 1
    registry = {d["template"]: d["cluster"] for d in store.db.error_templates.find()}
    by_hand = errors_by_hand().assign(cluster=lambda f: f["template"].map(registry))
    assert by_hand["cluster"].notna().all()
    # bin/query --errors: the clustering's own counts per package and cluster equal a count by hand
    top = queries.error_clusters(store, source="spack_errors", by=["package"], start="2026-11-18", end="2026-11-18",
                                 now=T(2026, 11, 20))
    assert {(r.package, r.cluster): r.errors for r in top.itertuples()} == \
        by_hand.groupby(["package", "cluster"]).size().to_dict()
    keys = ["package", "spec_hash", "kind", "phase", "source_file", "cluster", "template"]
    want = {tuple(None if v != v else v for v in k): n
            for k, n in by_hand.groupby(keys, dropna=False).size().items()}

    def documents(precision):
        docs = stored_in(store, "spack_errors", precision)
        got = {}
        for doc in docs:
            key = tuple(doc["scope"][k] for k in keys)
            got[key] = got.get(key, 0) + doc["count"]
        return got

    # every day of November held (one with errors), so that the cleanup can build weeks and months
    hold_empty_days(root, D(2026, 11, 1), D(2026, 11, 30))
    result = aggregate_job.run(spark, plan_for(conf, root, D(2026, 11, 1), D(2026, 11, 30), "day",
                                               source="spack_errors"), store)
    assert result.counts["in_window"] == 160 and result.counts["rejected_by_reason"] == {"malformed_json": 1}
    assert documents("day") == want
    cleanup.Cleanup(store, spack_errors, RETENTION, now=T(2027, 3, 1)).run()
    assert not [d for d in stored_in(store, "spack_errors", "day") if d["scope"]["start_date"] == T(2026, 11, 18)]
    assert documents("week") == want and documents("month") == want
    # the most frequent kinds of error of a package, with their cluster labels, from the rolled-up tiers
    q = queries.query(start="2026-11-01", end="2026-11-30", by=["cluster"], where=["package=petsc"],
                      source=spack_errors, now=T(2027, 3, 1))
    frame = queries.answer(store, q)
    petsc = by_hand[by_hand["package"] == "petsc"].groupby("cluster").size()
    assert dict(zip(frame["cluster"].astype(int), frame["count"].astype(int))) == petsc.to_dict()
    labels = {d["_id"]: d["label"] for d in store.db.error_clusters.find()}
    assert list(frame["label"]) == [labels[int(c)] for c in frame["cluster"]]
    assert list(frame["count"]) == sorted(frame["count"], reverse=True)


def test_spack_errors_bad_records_are_rejected_with_their_reason(spark):
    normalise = sources.get("spack_errors").load("normaliser")
    good = {"ts": 1795132800, "package": "zfp", "hash": "d" * 32, "text": ">> 12    x.c:3: error: boom",
            "phase": "build", "source_file": ["x.c", None], "pre_context": "", "post_context": ""}
    lines = [json.dumps(good), "{not json", json.dumps([1]), json.dumps({**good, "package": " "}),
             json.dumps({**good, "hash": None}), json.dumps({**good, "hash": "NOT-A-HASH"}),
             json.dumps({**good, "text": "  "}), json.dumps({**good, "text": "\x00\x01\x02\x03"}),
             json.dumps({**good, "ts": None}), json.dumps({**good, "ts": 5})]
    frame = spark.createDataFrame([(line, "f.jsonl") for line in lines], "value string, file string")
    rows = normalise(frame).collect()
    assert sorted(r["reject_reason"] or "-" for r in rows) == sorted(
        ["-", "malformed_json", "wrong_type", "missing_package", "missing_hash", "malformed_hash",
         "empty_error_text", "binary_error_text", "missing_ts", "bad_ts"])
    ok = next(r for r in rows if r["reject_reason"] is None)
    assert (ok["package"], ok["kind"], ok["phase"], ok["source_file"]) == ("zfp", "error", "build", "x.c")
    assert ok["template"] and ok["cluster"] is None
    assert all(r["rejected_line"] for r in rows if r["reject_reason"])


# -- the generator -------------------------------------------------------------------------------

def test_generator_writes_builds_the_normaliser_takes_whole(spark, tmp_path):
    totals = generate.generate(tmp_path, D(2026, 11, 1), 2, 300, seed=3)
    assert totals["builds"] == 600
    again = tmp_path / "again"
    generate.generate(again, D(2026, 11, 1), 2, 300, seed=3)
    day = Path("2026/11/02/builds-00000.jsonl")
    assert (tmp_path / day).read_text() == (again / day).read_text()
    lines = spark.read.text(str(tmp_path / "2026/*/*/*.jsonl")).withColumn("file", spark_file())
    rows = SPACK.load("normaliser")(lines).collect()
    assert len(rows) == 600 and not [r for r in rows if r["reject_reason"]]
    assert {r["status"] for r in rows} == {"success", "failed"}
    assert sum(r["successes"] + r["failures"] for r in rows) == 600


def spark_file():
    from pyspark.sql import functions as F
    return F.col("_metadata.file_path")


# -- the commands, as people type them ------------------------------------------------------------

def test_commands_end_to_end(spark, tmp_path, mongo_uri):
    """The commands as people type them, where the command is the point: bin/import-spack, the
    plan of bin/aggregate for both spack sources, bin/cleanup and bin/query (table and matrix).
    The aggregation itself runs in this process's Spark (what spark-submit would run: its own
    command is proven for every source by tests/test_commands.py and test_cluster.py)."""
    database = f"spack_{os.getpid()}_{tmp_path.name[-8:]}".replace("-", "_")
    conf_path = write_conf(tmp_path / "jobrollup.toml", {
        "mongo": {"database": database}, "aggregate": {"rejects_dir": str(tmp_path / "rejects")},
        "sources": {"spack_builds": {"root": str(tmp_path / "spack" / "builds")},
                    "spack_errors": {"root": str(tmp_path / "spack" / "errors")}}})
    env = dict(os.environ, JOBROLLUP_CONF=str(conf_path), JOBROLLUP_MONGO_URI=mongo_uri)
    bin_ = ROOT / "bin"

    def run(*args, timeout=300):
        return subprocess.run([str(bin_ / args[0]), *args[1:]], env=env, capture_output=True, text=True,
                              timeout=timeout)

    done = run("import-spack", "--date", "2026-11-20", "--out", str(tmp_path / "spack"),
               str(DATA / "outcomes"), str(DATA / "features"), str(DATA / "specs"), str(DATA / "build-records"))
    assert done.returncode == 0, done.stderr
    assert "builds     7,629 (" in done.stdout
    for source in ("spack_builds", "spack_errors"):   # each source's root comes from the conf
        done = run("aggregate", "2026-11-20", "--source", source, "--dry-run")
        assert done.returncode == 0 and str(tmp_path / "spack" / source.split("_")[1]) in done.stdout, done.stderr
    # the whole month, so that the cleanup can build its week and month buckets (days without input are empty)
    from jobrollup import config
    hold_empty_days(tmp_path / "spack" / "builds", D(2026, 11, 1), D(2026, 11, 30))
    store = MongoStore(mongo_uri, database)
    try:
        plan = plan_for(config.load(conf_path), tmp_path / "spack" / "builds", D(2026, 11, 1), D(2026, 11, 30),
                        "day", source="spack_builds", rejects_dir=str(tmp_path / "rejects"))
        assert aggregate_job.run(spark, plan, store).counts["in_window"] == 7629
        done = run("cleanup", "--source", "spack_builds", "--now", "2027-03-01T00:00:00")
        assert done.returncode == 0, done.stderr[-2000:]
        assert store.db.spack_builds.count_documents({"scope.timeframe_precision": "day"}) == 0
        done = run("query", "--source", "spack_builds", "--from", "2026-11-01", "--to", "2026-11-30",
                   "-w", "package=trilinos", "--by", "compiler", "-m", "count,failures,failure_rate", "--format", "csv")
        assert done.returncode == 0, done.stderr
        table = pd.read_csv(io.StringIO(done.stdout))
        raw = json.loads((DATA / "outcomes" / "dinos-all-specs-status.json").read_text())["trilinos"]
        records = yaml.safe_load((DATA / "build-records" / "jobspecs-1000.yaml").read_text())
        assert int(table["count"].sum()) == len(raw) + sum(r["package"] == "trilinos" for r in records)
        assert int(table["failures"].sum()) == sum(v["Status"] == "FAILED" for v in raw.values())
        # the build matrix of the build records' compilers: "not tried" is not "fails"
        png = tmp_path / "gcc.png"
        done = run("query", "--source", "spack_builds", "--from", "2026-11-01", "--to", "2026-11-30",
                   "-w", "compiler=gcc", "--by", "os,compiler_version", "--matrix", str(png))
        assert done.returncode == 0, done.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        grid = pd.read_csv(tmp_path / "gcc.csv", index_col=0, dtype=str)
        assert grid.index.name == "os \\ compiler_version"
        assert grid.loc["rhel7", "11.4.0"] == "not tried" and grid.loc["ubuntu22.04", "11.4.0"] == "100.0"
    finally:
        store.client.drop_database(database)
        store.close()


def test_import_never_loads_spark(tmp_path):
    script = ("import sys; from jobrollup.cli import import_spack; "
              f"code = import_spack.main(['--date', '2026-11-20', '--out', {str(tmp_path)!r}, {str(DATA / 'build-records')!r}]); "
              "assert code == 0 and 'pyspark' not in sys.modules, sorted(m for m in sys.modules if 'spark' in m)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert done.returncode == 0, done.stderr[-2000:]


def test_matrix_tells_not_tried_from_fails():
    from jobrollup.query import matrix
    frame = pd.DataFrame({"version": ["1.0", "1.0", "2.0"], "compiler_version": ["gcc@9", "gcc@10", "gcc@9"],
                          "count": [4, 2, 3], "success_rate": [0.75, 0.0, 1.0]})
    frame.attrs["keys"] = ["version", "compiler_version"]
    rates, counts = matrix.grids(frame)
    assert rates.loc["2.0", "gcc@10"] != rates.loc["2.0", "gcc@10"]      # NaN: nobody built it
    assert rates.loc["1.0", "gcc@10"] == 0.0 and counts.loc["1.0", "gcc@10"] == 2
    lines = matrix.to_csv(rates).splitlines()
    assert lines == ["version \\ compiler_version,gcc@9,gcc@10", "1.0,75.0,0.0", "2.0,100.0,not tried"]
