"""Bad input, class by class: every class gets a clear answer (counted, rejected with a named
reason, skipped and recorded, or refused with an exit code); nothing is lost silently and
nothing is counted twice.

One input tree holds every class, each in its own file and under its own workflow name, and
the Spark aggregation runs over it once (in-process, the session's SparkSession and embedded
MongoDB); each class is then checked against what the run really stored (documents, ledger,
rejects file, `runs`), and the totals against a plain-Python count (tests/reference.py) of the
same files. Only the refusals need runs of their own, on a few lines each.

The table `CLASSES` is the one in the README ("Bad input, class by class").
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import glob
import gzip
import json
import os
import zlib
from collections import Counter
from pathlib import Path

import pytest
from helpers import plan_for

import reference
from jobrollup import exits
from jobrollup import query as queries
from jobrollup.cli import query as query_cli
from jobrollup.exits import InputError, RunRefused
from jobrollup.plan import day_folder
from jobrollup.spark import aggregate_job, readers
from jobrollup.store.mongo import MongoStore

MISSING_DAY, DAY = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
TS = dt.datetime(2026, 3, 2, 12, tzinfo=dt.timezone.utc).timestamp()
MIB = 1024 * 1024

# class -> (where, expected answer). The answers are checked one by one below.
CLASSES = {
    "valid":            ("good.jsonl", "counted: 20 jobs (the baseline)"),
    "symlink_loop":     ("sub -> .", "skipped, recorded: the day's files are read once, not once per loop turn"),
    "same_file_twice":  ("hard link, file symlink", "skipped as the same file, recorded; read once"),
    "dangling_symlink": ("gone.jsonl -> nowhere", "skipped, recorded in the summary and in runs"),
    "truncated_gz":     ("truncated.json.gz", "unreadable_file (1 rejected); its whole lines before the cut counted"),
    "corrupt_parquet":  ("corrupt.parquet", "unreadable_file (1 rejected); nothing of it readable"),
    "denied_file":      ("denied.jsonl, mode 000", "unreadable_file: permission denied"),
    "denied_folder":    ("locked/, mode 000", "unreadable_file: permission denied"),
    "fifo":             ("pipe.jsonl, a FIFO", "unreadable_file: not a regular file (never handed to Spark)"),
    "vanished":         ("vanishing.jsonl, deleted after listing", "unreadable_file"),
    "grows_while_read": ("growing.jsonl", "counted as it was when the read began (plus the line then being written, "
                                          "which the line reader finishes); later lines are the next run's"),
    "missing_day":      ("2026/03/01 absent, --allow-missing", "not held: ledger state missing; bin/query says no data"),
    "too_large":        ("huge.jsonl, a valid 20 MiB report", "rejected too_large with its size; 64 KiB kept, marked cut"),
    "invalid_utf8":     ("utf8.jsonl", "counted as the lines say (bytes replaced by U+FFFD); lines touched counted"),
    "no_exit_code":     ("nocode.jsonl", "counted; a failed job without a code has exitCode null, shown unknown"),
    "unreadable_code":  ("nocode.jsonl", "counted; codes like 'abc' or 8001.5 give exitCode null"),
    "empty_file":       ("empty.jsonl", "skipped as empty, recorded"),
    "zero_byte_gz":     ("empty.json.gz", "skipped as empty, recorded (not an unreadable gzip)"),
    "gz_of_nothing":    ("nothing.json.gz", "read: no lines"),
    "bom":              ("bom.jsonl", "counted: a byte-order mark is not part of the JSON"),
    "crlf":             ("crlf.jsonl", "counted: \\r\\n ends a line"),
    "nul_bytes":        ("nul.jsonl", "rejected malformed_json (raw control characters are not JSON)"),
    "duplicated_lines": ("dup.jsonl", "counted each time: a line is a report; files, not lines, are deduplicated"),
    "deeply_nested":    ("nested.jsonl", "rejected malformed_json beyond 1,000 levels; 200 levels counted"),
    "huge_arrays":      ("arrays.jsonl", "counted: 20k errors (the code of the last one) and a 200k-element unknown array"),
    "numbers_as_strings": ("strings.jsonl", "counted: ts, codes and metrics given as strings are numbers"),
    "nan_infinity":     ("nan.jsonl", "ts NaN/Infinity rejected bad_ts; NaN/Infinity metrics dropped (n)"),
    "negative_time":    ("times.jsonl", "rejected bad_ts"),
    "absurd_time":      ("times.jsonl", "rejected bad_ts (year 3000)"),
    "milliseconds":     ("times.jsonl", "rejected bad_ts: ts is seconds by the format; a producer writing ms "
                                        "is a bug to see, not to guess around"),
    "unknown_fields":   ("unknown.jsonl", "counted; unknown fields ignored"),
    "wrong_type":       ("types.jsonl", "rejected wrong_type"),
    "missing_ts":       ("types.jsonl", "rejected missing_ts"),
    "not_a_dump":       ("notes.txt", "ignored, listed in runs inputs.files.ignored"),
    "too_many_unreadable": ("own run", "refused, exit 3: unreadable files count toward max_reject_share"),
    "missing_folder":   ("own run", "refused, exit 2 without --allow-missing"),
}


def report(cls: str, i: int = 0, *, ts=TS, jobstate="success", codes=(), cpu=100.0, **extra) -> dict:
    """A valid report of class `cls` (its workflow), unless the arguments make it otherwise."""
    out = {"meta_data": {"host": "agent1", "jobtype": "Processing", "jobstate": jobstate, "ts": ts,
                         "fwjr_id": f"{cls}-{i}"},
           "task": f"/{cls}/task{i % 2}",
           "steps": [{"name": "cmsRun1", "site": "T2_CH_CERN",
                      "errors": [{"exitCode": c, "details": "x"} for c in codes],
                      "output": [{"acquisitionEra": "Run2026A", "events": 10}],
                      "performance": {"cpu": {"TotalJobCPU": cpu}, "memory": {}, "storage": {}}}]}
    out.update(extra)
    return out


def line(obj) -> str:
    return json.dumps(obj, allow_nan=True)


def lines(*objs) -> str:
    return "".join(line(o) + "\n" for o in objs)


def build(root: Path) -> dict:
    """The input tree of every class; returns what the checks need to know about it."""
    day = Path(day_folder(str(root), DAY))
    day.mkdir(parents=True)
    w = lambda name, text: (day / name).write_text(text)
    w("good.jsonl", lines(*[report("valid", i) for i in range(20)]))
    os.symlink(".", day / "sub")                                # a loop: sub/sub/sub/...
    os.link(day / "good.jsonl", day / "good-hardlink.jsonl")
    os.symlink("good.jsonl", day / "good-symlink.jsonl")
    os.symlink("nowhere.jsonl", day / "gone.jsonl")

    full = lines(*[report("truncated_gz", i, pad="x" * 300) for i in range(400)]).encode()
    packed = gzip.compress(full)
    (day / "truncated.json.gz").write_bytes(packed[: len(packed) // 2])
    (day / "corrupt.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 8 + b"PAR1")
    w("denied.jsonl", lines(report("denied_file")))
    os.chmod(day / "denied.jsonl", 0)
    (day / "locked").mkdir()
    (day / "locked" / "inside.jsonl").write_text(lines(report("denied_folder")))
    os.chmod(day / "locked", 0)
    os.mkfifo(day / "pipe.jsonl")
    w("vanishing.jsonl", lines(report("vanished")))
    w("growing.jsonl", lines(*[report("grows_while_read", i) for i in range(5)]))

    huge = report("too_large", details="y" * (20 * MIB))
    w("huge.jsonl", line(huge) + "\n" + line(report("too_large", 1)) + "\n")
    (day / "utf8.jsonl").write_bytes(b"".join(
        line(report("invalid_utf8", i, task_note="\x00")).replace("\\u0000", "caf\xe9 \xff").encode("latin-1") + b"\n"
        for i in range(3)))
    w("nocode.jsonl", lines(report("no_exit_code", jobstate="jobfailed"),
                             report("no_exit_code", 1, jobstate="jobfailed", codes=[]),
                             report("unreadable_code", jobstate="jobfailed", codes=["abc", 8001.5, None]),
                             report("unreadable_code", 1, jobstate="jobfailed", codes=["abc", "8020"])))
    w("empty.jsonl", "")
    (day / "empty.json.gz").write_bytes(b"")
    (day / "nothing.json.gz").write_bytes(gzip.compress(b""))
    (day / "bom.jsonl").write_bytes("\ufeff".encode() + lines(*[report("bom", i) for i in range(3)]).encode())
    (day / "crlf.jsonl").write_bytes(lines(*[report("crlf", i) for i in range(3)]).replace("\n", "\r\n").encode())
    (day / "nul.jsonl").write_bytes(line(report("nul_bytes")).replace('"agent1"', '"a\x00b"').encode() + b"\n"
                                    + b"\x00" * 40 + b"\n")
    dup = line(report("duplicated_lines"))
    w("dup.jsonl", "\n".join([dup] * 3) + "\n")
    nested = lambda i, depth: line(report("deeply_nested", i, extra="@@")).replace('"@@"', "[" * depth + "]" * depth)
    w("nested.jsonl", nested(0, 5000) + "\n" + nested(1, 200) + "\n")
    many = report("huge_arrays", jobstate="jobfailed", codes=["x"] * 20_000 + [8021])
    wide = report("huge_arrays", 1, unknown=list(range(200_000)))
    w("arrays.jsonl", lines(many, wide))
    w("strings.jsonl", lines(report("numbers_as_strings", ts=str(TS), jobstate="jobfailed", codes=[" 8001 "],
                                    cpu="12.5")))
    w("nan.jsonl", line(report("nan_infinity", ts=float("nan"))) + "\n" + line(report("nan_infinity", ts=float("inf")))
      + "\n" + line(report("nan_infinity", 2, cpu=float("nan"))) + "\n"
      + line(report("nan_infinity", 3, cpu=float("-inf"))) + "\n" + line(report("nan_infinity", 4, cpu=50.0)) + "\n")
    w("times.jsonl", lines(report("negative_time", ts=-TS), report("absurd_time", ts=32503680000),
                            report("milliseconds", ts=TS * 1000)))
    w("unknown.jsonl", lines(report("unknown_fields", surprise={"a": [1, {"b": None}]}, LFNArray=["/store/x"])))
    w("types.jsonl", lines([1, 2], "text", report("wrong_type", steps={"cmsRun1": 5}),
                           {"meta_data": {"host": "h"}, "task": "/missing_ts/t"}))
    w("notes.txt", "not a dump\n")
    return {"day": day, "full_truncated": full, "truncated": packed[: len(packed) // 2]}


@contextlib.contextmanager
def as_an_operator():
    """Root reads every file whatever its mode: take away the calling thread's permission to
    override file modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) while the run lists its input,
    so that a mode-000 file or folder is really refused, as for any other user. Linux keeps
    capabilities per thread: the JVM's threads are untouched and the run's own listing (on this
    thread) meets the real EACCES. Restored afterwards."""
    if os.geteuid() != 0:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data, saved = Header(0x20080522, 0), (Data * 2)(), (Data * 2)()
    assert libc.capget(ctypes.byref(header), data) == 0
    ctypes.memmove(saved, data, ctypes.sizeof(data))
    data[0].effective &= ~((1 << 1) | (1 << 2))
    assert libc.capset(ctypes.byref(header), data) == 0, ctypes.get_errno()
    try:
        yield
    finally:
        assert libc.capset(ctypes.byref(header), saved) == 0


@pytest.fixture(scope="module")
def night(spark, conf, mongo_server, tmp_path_factory):
    """The one run over every class."""
    root = tmp_path_factory.mktemp("bad") / "fwjr"
    tree = build(root)
    plan = plan_for(conf, root, MISSING_DAY, DAY, max_reject_share=1.0)
    store = MongoStore(mongo_server.uri, "t_bad_input", timeout_ms=5000)
    store.client.drop_database("t_bad_input")
    reads = []
    real_facts = readers.with_line_facts

    def changing_while_read(lines, *args):
        # each read attempt: its DataFrame is planned, then, before Spark reads, a writer appends
        # and the archiver removes a file
        reads.append(len((tree["day"] / "growing.jsonl").read_text().splitlines()))
        with open(tree["day"] / "growing.jsonl", "a") as f:
            f.write(lines_of("grows_while_read", 100 + 10 * len(reads)))
        if (tree["day"] / "vanishing.jsonl").exists():
            os.remove(tree["day"] / "vanishing.jsonl")
        return real_facts(lines, *args)

    with pytest.MonkeyPatch.context() as patch, as_an_operator():
        patch.setattr(readers, "with_line_facts", changing_while_read)
        result = aggregate_job.run(spark, plan, store)
    os.chmod(tree["day"] / "locked", 0o755)
    os.chmod(tree["day"] / "denied.jsonl", 0o644)
    docs = list(store.db["fwjr"].find({"scope.timeframe_precision": "day"}))
    rejects = [json.loads(row) for part in glob.glob(f"{result.rejects_path}/*.json") for row in open(part)]
    run_doc = store.db["runs"].find_one({"_id": result.run_id})
    yield {"root": root, "tree": tree, "plan": plan, "result": result, "store": store, "docs": docs,
           "rejects": rejects, "run": run_doc, "reads": reads}
    store.client.drop_database("t_bad_input")
    store.close()


def lines_of(cls: str, first: int, n: int = 5) -> str:
    return lines(*[report(cls, first + i) for i in range(n)])


def jobs(night, cls: str) -> int:
    return sum(d["count"] for d in night["docs"] if d["scope"]["workflow"] == cls)


def rejected(night, name: str) -> Counter:
    return Counter(r["reason"] for r in night["rejects"] if os.path.basename(r["file"]) == name)


def skipped(night) -> dict[str, str]:
    return {os.path.basename(s["path"]): s["why"] for s in night["result"].inputs["files"]["skipped"]}


def unreadable(night) -> dict[str, dict]:
    return {os.path.basename(u["path"]): u for u in night["result"].inputs["files"]["unreadable"]}


# -- each class ----------------------------------------------------------------------------------

def test_the_table_has_at_least_25_classes():
    assert len(CLASSES) >= 25


def test_symlink_loops_and_links_read_each_file_once(night):
    assert jobs(night, "valid") == 20
    why = skipped(night)
    assert why["sub"].startswith(readers.LOOP)
    # three names of one file (a hard link, a symbolic link): one is read, two are skipped
    names = ("good.jsonl", "good-hardlink.jsonl", "good-symlink.jsonl")
    assert sorted(why[n].split(" /")[0] for n in names if n in why) == [readers.DUPLICATE] * 2
    assert why["good-symlink.jsonl"].startswith(readers.DUPLICATE)
    assert why["gone.jsonl"].startswith(readers.DANGLING)
    summary = aggregate_job.summary(night["plan"], night["result"])
    assert "gone.jsonl (dangling symlink" in summary and "skipped" in summary


def test_unreadable_files_are_set_aside_with_what_could_be_read(night):
    bad = unreadable(night)
    assert set(bad) == {"truncated.json.gz", "corrupt.parquet", "denied.jsonl", "locked", "pipe.jsonl",
                        "vanishing.jsonl"}
    assert "permission denied" in bad["denied.jsonl"]["error"] and "permission denied" in bad["locked"]["error"]
    assert "not a regular file" in bad["pipe.jsonl"]["error"]
    counts = night["result"].counts
    assert counts["rejected_by_reason"]["unreadable_file"] == 6 == counts["unreadable_files"]
    for name in bad:
        assert rejected(night, name) == {"unreadable_file": 1}, name
    # the truncated gzip: its whole lines before the cut are read, as a plain decoder reads them
    read = bad["truncated.json.gz"]["lines_read"]
    decodable = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(night["tree"]["truncated"]).split(b"\n")[:-1]
    assert 0 < read <= len(decodable) and jobs(night, "truncated_gz") == read
    assert bad["corrupt.parquet"]["lines_read"] == 0
    for cls in ("denied_file", "denied_folder", "vanished"):
        assert jobs(night, cls) == 0
    assert night["run"]["inputs"]["files"]["unreadable"] == night["result"].inputs["files"]["unreadable"]
    assert "truncated.json.gz" in aggregate_job.summary(night["plan"], night["result"])


def test_a_file_growing_while_read_counts_what_it_held_when_the_read_began(night):
    # Hadoop's line reader finishes the line that starts where the file ended when listed: the
    # first appended line comes along (a half-written one would be rejected as malformed_json)
    assert night["reads"] and jobs(night, "grows_while_read") == night["reads"][-1] + 1


def test_a_missing_day_is_no_data_not_zero(night):
    store, plan = night["store"], night["plan"]
    from jobrollup.sources import fwjr
    ledger = {e["start"].date(): e for e in store.ledger(fwjr.SOURCE, "day", dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 3))}
    assert ledger[MISSING_DAY]["state"] == "missing" and ledger[MISSING_DAY]["missing_days"] == ["2026-03-01"]
    assert ledger[DAY]["state"] == "held"
    asked = queries.query(start=dt.datetime(2026, 3, 1), end=dt.datetime(2026, 3, 3), by=["time:day"], source="fwjr")
    frame = queries.answer(store, asked)
    assert [r[0].date() for r in frame.itertuples(index=False)] == [DAY]       # no row of 0 jobs
    assert frame.attrs["unknown"] == [[dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 2)]]
    assert any(n.startswith("no data: day 2026-03-01") for n in frame.attrs["notes"])
    assert night["result"].inputs["missing_days"] == ["2026-03-01"] == night["run"]["inputs"]["missing_days"]
    assert "no input for 2026-03-01" in aggregate_job.summary(plan, night["result"])


def test_a_report_over_the_size_limit_is_too_large_with_its_size(night):
    big = [r for r in night["rejects"] if r["reason"] == "too_large"]
    assert len(big) == 1 and big[0]["bytes"] > 20 * MIB and big[0]["cut"] is True
    assert len(big[0]["line"]) == night["plan"].reject_line_chars
    assert jobs(night, "too_large") == 1                  # its neighbour line is read


def test_invalid_utf8_is_counted_and_the_lines_kept(night):
    assert jobs(night, "invalid_utf8") == 3
    assert night["result"].counts["invalid_utf8"] == 3 == night["run"]["records"]["invalid_utf8"]
    assert "3 with invalid UTF-8" in aggregate_job.summary(night["plan"], night["result"])


def test_failed_jobs_without_a_readable_code_have_exit_code_null(night):
    codes = Counter()
    for d in night["docs"]:
        if d["scope"]["workflow"] in ("no_exit_code", "unreadable_code", "huge_arrays", "numbers_as_strings"):
            codes[(d["scope"]["workflow"], d["scope"]["exitCode"])] += d["count"]
    assert codes == {("no_exit_code", None): 2, ("unreadable_code", None): 1, ("unreadable_code", 8020): 1,
                     ("huge_arrays", 8021): 1, ("huge_arrays", 0): 1, ("numbers_as_strings", 8001): 1}
    asked = queries.query(start="2026-03-02", end="2026-03-03", by=["exitCode"], where=["workflow=no_exit_code"])
    frame = queries.describe_exit_codes(queries.answer(night["store"], asked), {0: "ok"})
    table = query_cli.render_table(frame)
    assert "unknown" in table and "no readable exit code" in table


def test_line_classes_get_their_answer(night):
    expect_jobs = {"bom": 3, "crlf": 3, "duplicated_lines": 3, "deeply_nested": 1, "huge_arrays": 2,
                   "numbers_as_strings": 1, "nan_infinity": 3, "unknown_fields": 1, "gz_of_nothing": 0,
                   "negative_time": 0, "absurd_time": 0, "milliseconds": 0, "nul_bytes": 0}
    assert {c: jobs(night, c) for c in expect_jobs} == expect_jobs
    assert rejected(night, "nul.jsonl") == {"malformed_json": 2}
    assert rejected(night, "nested.jsonl") == {"malformed_json": 1}
    assert rejected(night, "times.jsonl") == {"bad_ts": 3}
    assert rejected(night, "nan.jsonl") == {"bad_ts": 2}
    assert rejected(night, "types.jsonl") == {"wrong_type": 3, "missing_ts": 1}
    for name in ("bom.jsonl", "crlf.jsonl", "dup.jsonl", "arrays.jsonl", "strings.jsonl", "unknown.jsonl"):
        assert rejected(night, name) == {}, name
    nan = [d for d in night["docs"] if d["scope"]["workflow"] == "nan_infinity"]
    assert sum(d["performance"].get("cpu", {}).get("TotalJobCPU", {}).get("n", 0) for d in nan) == 1  # the finite one
    strings = next(d for d in night["docs"] if d["scope"]["workflow"] == "numbers_as_strings")
    assert strings["performance"]["cpu"]["TotalJobCPU"]["sum"] == 12.5
    why = skipped(night)
    assert why["empty.jsonl"] == why["empty.json.gz"] == readers.EMPTY
    assert any(p.endswith("notes.txt") for p in night["run"]["inputs"]["files"]["ignored"])


def test_totals_equal_a_plain_python_count(night):
    """Every line of every file the run could read, counted by tests/reference.py."""
    day, result, plan = night["tree"]["day"], night["result"], night["plan"]
    seen, records, reasons, lines_total = set(), [], Counter(), 0
    read_of = unreadable(night)["truncated.json.gz"]["lines_read"]
    for path in sorted(day.iterdir()):
        if path.name in ("sub", "gone.jsonl", "locked", "pipe.jsonl", "notes.txt", "truncated.json.gz",
                         "corrupt.parquet", "denied.jsonl") or not path.exists():
            continue
        if os.stat(path).st_ino in seen:
            continue
        seen.add(os.stat(path).st_ino)
        raw = reference.iter_lines(str(path)) if path.stat().st_size else []
        if path.name == "growing.jsonl":
            raw = raw[: night["reads"][-1] + 1]
        for one in raw:
            lines_total += bool(one.strip())
            if len(one) > plan.max_report_bytes:
                reasons["too_large"] += 1
                continue
            parsed = reference.parse_line(one)
            if isinstance(parsed, str):
                reasons[parsed] += 1
            elif parsed is not None:
                records.append(reference.normalise(parsed))
    full = night["tree"]["full_truncated"].split(b"\n")[:read_of]
    for one in full:
        records.append(reference.normalise(reference.parse_line(one)))
    lines_total += len(full)
    reasons["unreadable_file"] += 6
    lines_total += 6
    counts = result.counts
    assert counts["lines"] == lines_total
    assert counts["rejected_by_reason"] == dict(reasons)
    window = plan.window
    expected = reference.aggregate(records, "day", (window.start, window.end))
    reference.assert_documents_equal(night["docs"], expected)


# -- refusals: runs of their own -------------------------------------------------------------------

def test_unreadable_files_count_toward_the_reject_share(spark, conf, store, tmp_path):
    root = tmp_path / "fwjr"
    day = Path(day_folder(str(root), DAY))
    day.mkdir(parents=True)
    (day / "good.jsonl").write_text(lines(*[report("valid", i) for i in range(3)]))
    (day / "cut.json.gz").write_bytes(gzip.compress(lines_of("cut", 0).encode())[:12])
    plan = plan_for(conf, root, DAY, max_reject_share=0.2)
    with pytest.raises(RunRefused, match="1 of 4 lines rejected") as refused:
        aggregate_job.run(spark, plan, store)
    assert exits.code_of(refused.value) == exits.REFUSED
    assert store.db["fwjr"].count_documents({}) == 0
    run = store.db["runs"].find_one({"job": "aggregate"})
    assert run["status"] == "refused" and run["records"]["rejected_by_reason"] == {"unreadable_file": 1}


def test_a_missing_folder_without_allow_missing_is_exit_2(spark, conf, store, tmp_path):
    plan = plan_for(conf, tmp_path / "fwjr", DAY, require_all_days=True)
    with pytest.raises(InputError, match="input folder missing") as error:
        aggregate_job.run(spark, plan, store)
    assert exits.code_of(error.value) == exits.INPUT
