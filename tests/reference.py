"""Independent reference for docs/job-records.md: FWJR line -> job record -> aggregate.

Plain Python + pandas, written straight from the doc and sharing no code with
src/jobrollup. It is meant to be obviously correct, not fast (tests feed it at most some
tens of thousands of records). Every rule below names the line of the doc it implements;
where the doc leaves a choice open, the choice is written down next to the code as
"Reading:".

General reading used throughout: a JSON ``null`` is the same as an absent key (and a ``null``
element of an array is skipped). This is what a Spark reader with a schema sees anyway.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import gzip
import json
import math
import os
import re
from typing import Any, Iterable

import pandas as pd

# ---------------------------------------------------------------------------------------------
# The metric table of the doc: group -> metric -> how per-step values combine into a job value.

_SUM, _MAX, _MIN, _MEAN = "sum", "max", "min", "mean"

METRICS: dict[str, dict[str, str]] = {
    "cpu": {
        "TotalJobCPU": _SUM,
        "TotalJobTime": _SUM,
        "TotalEventCPU": _SUM,
        "TotalLoopCPU": _SUM,
        "TotalInitTime": _SUM,
        "TotalInitCPU": _SUM,
        "AvgEventCPU": _SUM,
        "AvgEventTime": _SUM,
        "MaxEventCPU": _MAX,
        "MaxEventTime": _MAX,
        "NumberOfThreads": _MAX,
        "NumberOfStreams": _MAX,
        "MinEventCPU": _MIN,
        "MinEventTime": _MIN,
        "EventThroughput": _MEAN,
    },
    "memory": {
        "PeakValueRss": _MAX,
        "PeakValueVsize": _MAX,
    },
    "storage": {
        "readTotalMB": _SUM,
        "readTotalSecs": _SUM,
        "writeTotalMB": _SUM,
        "writeTotalSecs": _SUM,
        "readNumOps": _SUM,
        "readMaxMSec": _MAX,
        "readAveragekB": _MEAN,
        "readCachePercentageOps": _MEAN,
        "readMBSec": _MEAN,
        "readPercentageOps": _MEAN,
    },
}

# "<group>.<metric>" names, in table order: the metric keys of a job record.
METRIC_KEYS: list[str] = [f"{g}.{m}" for g, ms in METRICS.items() for m in ms]

SCOPE_KEYS = ["workflow", "task", "host", "site", "jobstate", "jobtype", "acquisitionEra",
              "exitCode", "exitStep"]

PRECISIONS = ("hour", "day", "week", "month")

REJECT_REASONS = ("malformed_json", "wrong_type", "missing_ts", "bad_ts")  # of a line; files: unreadable_file

TS_MIN = 946684800.0   # 2000-01-01T00:00:00Z, inclusive
TS_MAX = 4102444800.0  # 2100-01-01T00:00:00Z, exclusive

_EPOCH = dt.datetime(1970, 1, 1)
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1

# Reading: "blank" and "spaces trimmed" use the JSON whitespace characters only.
_WS = " \t\n\r"
# Reading: "a string holding a decimal number" = optional sign, digits with an optional
# fraction (".5" and "5." allowed), optional exponent; surrounding whitespace trimmed.
# Not accepted: "nan", "inf", hex, "1_000", "" (Python's float() would take some of them).
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# "a string holding an integer (spaces trimmed)": optional sign and ASCII digits only, so
# "8001.0" as a *string* is not a code (the JSON number 8001.0 is).
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1  # exit codes are 32-bit ints, as in the CMS dictionary


# ---------------------------------------------------------------------------------------------
# Scalars


def _is_number(v: Any) -> bool:
    """A JSON number. Python's bool is an int: JSON true/false are not numbers."""
    return isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool)


def _decimal_value(v: Any) -> float | None:
    """A JSON number or a string holding a decimal number, as a float (maybe inf/nan)."""
    if _is_number(v):
        try:
            return float(v)
        except OverflowError:  # an int too large for a float
            return math.inf if v > 0 else -math.inf
    if isinstance(v, str):
        s = v.strip(_WS)
        if _DECIMAL_RE.fullmatch(s):
            return float(s)  # "1e999" gives inf, which the callers reject as not finite
    return None


def _code_value(v: Any) -> int | None:
    """An exit *code*: an integral JSON number or a string holding an integer.

    Reading: a code must fit a signed 64-bit integer (what MongoDB and Spark can hold).
    """
    code: int | None = None
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        code = v
    elif isinstance(v, (float, decimal.Decimal)):
        if math.isfinite(v) and v == int(v):
            code = int(v)
    elif isinstance(v, str):
        # A string holding an integral number ("8001", " 8001 ", "8001.0"): the Spark side
        # sees the text of a JSON number and of a string alike, so both follow one rule.
        x = _decimal_value(v)
        if x is not None and math.isfinite(x) and x == int(x):
            code = int(x)
    if code is None or not (_INT32_MIN <= code <= _INT32_MAX):
        return None
    return code


def _events_value(v: Any) -> int | None:
    """Events count as numbers or strings holding one (not booleans) that are finite,
    integral (10.0 is 10, 10.5 does not count), non-negative and fit int64."""
    x = _decimal_value(v)
    if x is None or not math.isfinite(x) or x != int(x) or x < 0 or x > _INT64_MAX:
        return None
    return int(x)


def _metric_value(v: Any) -> float | None:
    """A measurement: number or decimal string, finite, not -1 ("inf") nor -2 ("-nan")."""
    x = _decimal_value(v)
    if x is None or not math.isfinite(x) or x == -1.0 or x == -2.0:
        return None
    return x


def _ts_value(v: Any) -> float | None:
    """meta_data.ts as epoch seconds, or None when it is not a usable time."""
    if isinstance(v, dt.datetime):  # a Parquet timestamp column (naive = UTC)
        if v.tzinfo is not None:
            v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
        x = (v - _EPOCH) / dt.timedelta(seconds=1)
        return x if TS_MIN <= x < TS_MAX else None
    x = _decimal_value(v)
    if x is None or not math.isfinite(x) or not (TS_MIN <= x < TS_MAX):
        return None
    return x


def _string(v: Any) -> str | None:
    """Reading: host, jobtype, jobstate, task and step names are kept only when they are
    JSON strings (an empty string is kept as ""); any other type counts as null."""
    return v if isinstance(v, str) else None


# ---------------------------------------------------------------------------------------------
# Structure


def _steps(report: dict) -> list[tuple[str | None, Any]]:
    """(name, step) pairs in order. An object of steps (very old reports): its values in key
    order, each key being the step's name (a `name` inside the step is then ignored)."""
    steps = report.get("steps")
    if steps is None:
        return []
    if isinstance(steps, dict):
        return [(name, step) for name, step in steps.items() if step is not None]
    if isinstance(steps, list):
        return [(_string(step.get("name")) if isinstance(step, dict) else None, step)
                for step in steps if step is not None]
    raise TypeError("steps")


def _wrong_type(report: Any) -> bool:
    """The doc's wrong_type row. null counts as absent; null array elements are skipped.

    Reading: `performance` itself must be an object too (the row names its groups), and every
    group is checked, also the ones not kept (multicore, cmssw).
    """
    if not isinstance(report, dict):
        return True
    meta = report.get("meta_data")
    if meta is not None and not isinstance(meta, dict):
        return True
    steps = report.get("steps")
    if steps is not None and not isinstance(steps, (list, dict)):
        return True
    for _name, step in _steps(report):
        if not isinstance(step, dict):
            return True
        perf = step.get("performance")
        if perf is not None:
            if not isinstance(perf, dict):
                return True
            if any(g is not None and not isinstance(g, dict) for g in perf.values()):
                return True
        for field in ("errors", "output"):
            items = step.get(field)
            if items is None:
                continue
            if not isinstance(items, list):
                return True
            if any(i is not None and not isinstance(i, dict) for i in items):
                return True
    return False


def reject_reason(report: Any) -> str | None:
    """The reject reason of a decoded report (JSON value or Parquet row), or None if valid."""
    if _wrong_type(report):
        return "wrong_type"
    ts = (report.get("meta_data") or {}).get("ts")
    if ts is None:
        return "missing_ts"
    if _ts_value(ts) is None:
        return "bad_ts"
    return None


def parse_line(line: str | bytes) -> dict | str | None:
    """The report, a reject reason, or None for a blank line."""
    if isinstance(line, bytes):
        # Reading: bytes that are not UTF-8 become U+FFFD, as any text reader does (the run
        # counts such lines); a line is then judged by what it says.
        line = line.decode("utf-8", errors="replace")
    if line.startswith("\ufeff"):  # a byte-order mark is not part of the JSON text
        line = line[1:]
    if line.strip(_WS) == "":
        return None
    try:
        # Reading: Python's json accepts the NaN/Infinity/-Infinity literals; they are taken
        # as valid JSON (numbers that are not finite), so they only ever drop a value.
        report = json.loads(line)
    except (ValueError, RecursionError):
        return "malformed_json"
    return reject_reason(report) or report


# ---------------------------------------------------------------------------------------------
# Report -> job record


def _outputs(step: dict) -> list[dict]:
    return [o for o in (step.get("output") or []) if o is not None]


def _errors(step: dict) -> list[dict]:
    return [e for e in (step.get("errors") or []) if e is not None]


def _is_cmsrun(name: str | None) -> bool:
    return name is not None and name.startswith("cmsRun")


def normalise(report: dict) -> dict:
    """The job record of a valid report (one that parse_line/reject_reason accepted)."""
    meta = report.get("meta_data") or {}
    steps = _steps(report)

    # workflow, task: split on "/", empty parts dropped, first and last part.
    path = _string(report.get("task"))
    parts = [p for p in path.split("/") if p != ""] if path is not None else []
    workflow = parts[0] if parts else None
    task = parts[-1] if parts else None

    # site: first step whose site is a non-empty string ({} and other objects are unknown).
    site = next((s["site"] for _, s in steps
                 if isinstance(s.get("site"), str) and s["site"] != ""), None)

    # acquisitionEra: first non-empty string over output[] of all steps, in order.
    era = next((o["acquisitionEra"] for _, s in steps for o in _outputs(s)
                if isinstance(o.get("acquisitionEra"), str) and o["acquisitionEra"] != ""), None)

    # exitCode, exitStep.
    codes = [(c, name) for name, s in steps for e in _errors(s)
             if (c := _code_value(e.get("exitCode"))) is not None]
    real = [(c, name) for c, name in codes if c not in (0, 99999)]
    generic = [(c, name) for c, name in codes if c == 99999]
    if real:
        exit_code, exit_step = real[0]
    elif generic:
        exit_code, exit_step = generic[0]
    elif any(c == 0 for c, _ in codes) or _string(meta.get("jobstate")) == "success":
        # Only 0 codes, or none in a successful job: the report says 0; exitStep null.
        exit_code, exit_step = 0, None
    else:
        # A job that did not succeed and gives no readable code: unknown, never 0.
        exit_code, exit_step = None, None

    cmsrun = [s for name, s in steps if _is_cmsrun(name)]

    # events: the largest over every output[] record of the cmsRun steps.
    events_seen = [ev for s in cmsrun for o in _outputs(s)
                   if (ev := _events_value(o.get("events"))) is not None]
    events = max(events_seen) if events_seen else None

    record: dict[str, Any] = {
        "ts": _ts_value(meta.get("ts")),
        "workflow": workflow,
        "task": task,
        "host": _string(meta.get("host")),
        "site": site,
        "jobstate": _string(meta.get("jobstate")),
        "jobtype": _string(meta.get("jobtype")),
        "acquisitionEra": era,
        "exitCode": exit_code,
        "exitStep": exit_step,
        "events": events,
    }

    # performance: per metric, the values of the cmsRun steps that have one, combined.
    for group, metrics in METRICS.items():
        for metric, rule in metrics.items():
            values = []
            for s in cmsrun:
                g = (s.get("performance") or {}).get(group) or {}
                x = _metric_value(g.get(metric))
                if x is not None:
                    values.append(x)
            record[f"{group}.{metric}"] = _combine(values, rule)
    return record


def _combine(values: list[float], rule: str) -> float | None:
    if not values:
        return None
    if rule == _SUM:
        return float(sum(values))
    if rule == _MAX:
        return float(max(values))
    if rule == _MIN:
        return float(min(values))
    if rule == _MEAN:
        return float(sum(values) / len(values))
    raise ValueError(rule)


# ---------------------------------------------------------------------------------------------
# Reading files


def _expand(paths, suffixes=(".json", ".jsonl", ".json.gz", ".jsonl.gz")) -> list[str]:
    """Paths as given; a directory stands for its files with these suffixes, sorted."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[str] = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            for root, _dirs, files in sorted(os.walk(p)):
                out.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(suffixes))
        else:
            out.append(p)
    return out


def iter_lines(path: str) -> Iterable[bytes]:
    """The raw lines of a JSON-lines file (gzip when the name ends in .gz), split on \\n only."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    return data.split(b"\n")


def read_lines(paths) -> tuple[list[dict], collections.Counter]:
    """(job records, Counter of reject reasons) of .json/.jsonl files, plain or gzip."""
    records: list[dict] = []
    rejects: collections.Counter = collections.Counter()
    for path in _expand(paths):
        for raw in iter_lines(path):
            parsed = parse_line(raw)
            if parsed is None:
                continue
            if isinstance(parsed, str):
                rejects[parsed] += 1
            else:
                records.append(normalise(parsed))
    return records, rejects


def _maps_to_dicts(v: Any) -> Any:
    """pyarrow's to_pylist gives a map column as a list of (key, value) tuples: make dicts."""
    if isinstance(v, dict):
        return {k: _maps_to_dicts(x) for k, x in v.items()}
    if isinstance(v, list):
        if v and all(isinstance(x, tuple) and len(x) == 2 for x in v):
            return {k: _maps_to_dicts(x) for k, x in v}
        return [_maps_to_dicts(x) for x in v]
    return v


def read_parquet_counted(paths) -> tuple[list[dict], collections.Counter]:
    """Like read_lines for Parquet files: rows are reports (exitCode arrives as a string)."""
    import pyarrow.parquet as pq

    records: list[dict] = []
    rejects: collections.Counter = collections.Counter()
    for path in _expand_parquet(paths):
        for row in pq.read_table(path).to_pylist():
            report = _maps_to_dicts(row)
            reason = reject_reason(report)
            if reason is not None:
                rejects[reason] += 1
            else:
                records.append(normalise(report))
    return records, rejects


def read_parquet(paths) -> list[dict]:
    """The job records of the rows of Parquet files (rows failing the checks are dropped)."""
    return read_parquet_counted(paths)[0]


def _expand_parquet(paths) -> list[str]:
    return _expand(paths, (".parquet",))


# ---------------------------------------------------------------------------------------------
# Buckets (naive datetimes meaning UTC)


def _check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}")


def bucket_start(ts: float, precision: str) -> dt.datetime:
    """Start of the UTC bucket holding epoch second `ts`.

    Reading: the fraction of a second is floored (never rounded), so a ts a microsecond
    before a boundary stays in the earlier bucket.
    """
    _check_precision(precision)
    moment = _EPOCH + dt.timedelta(seconds=math.floor(ts))
    hour = moment.replace(minute=0, second=0, microsecond=0)
    if precision == "hour":
        return hour
    day = hour.replace(hour=0)
    if precision == "day":
        return day
    if precision == "week":
        return day - dt.timedelta(days=day.weekday())  # Monday is weekday() 0
    return day.replace(day=1)


def bucket_end(start: dt.datetime, precision: str) -> dt.datetime:
    """Exclusive end of the bucket starting at `start`."""
    _check_precision(precision)
    if precision == "hour":
        return start + dt.timedelta(hours=1)
    if precision == "day":
        return start + dt.timedelta(days=1)
    if precision == "week":
        return start + dt.timedelta(days=7)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def _epoch_seconds(moment: dt.datetime) -> float:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (moment - _EPOCH) / dt.timedelta(seconds=1)


# ---------------------------------------------------------------------------------------------
# Aggregation

_STAT_KEYS = ("n", "sum", "min", "max", "sumsq")


def aggregate(records: list[dict], precision: str,
              window: tuple[dt.datetime, dt.datetime] | None = None) -> dict:
    """{key tuple: {"count", "events", "performance"}} as the documents should hold them.

    key = (start_date, end_date, precision, *SCOPE_KEYS values).
    """
    _check_precision(precision)
    if window is not None:
        lo, hi = _epoch_seconds(window[0]), _epoch_seconds(window[1])
        records = [r for r in records if lo <= r["ts"] < hi]
    if not records:
        return {}

    cols: dict[str, Any] = {"start_date": [bucket_start(r["ts"], precision) for r in records]}
    for k in SCOPE_KEYS:
        if k == "exitCode":
            cols[k] = pd.Series([r[k] for r in records], dtype="Int64")  # null: unknown
        else:
            cols[k] = pd.Series([r[k] for r in records], dtype=object)
    cols["events"] = pd.Series([r["events"] if r["events"] is not None else 0 for r in records],
                               dtype="int64")
    for mk in METRIC_KEYS:
        vals = pd.Series([r[mk] if r[mk] is not None else math.nan for r in records],
                         dtype="float64")
        cols[mk] = vals
        cols[mk + "^2"] = vals * vals
    df = pd.DataFrame(cols)

    keys = ["start_date"] + SCOPE_KEYS
    grouped = df.groupby(keys, dropna=False, sort=False)
    count = grouped.size()
    events = grouped["events"].sum()
    n = grouped[METRIC_KEYS].count()
    sums = grouped[METRIC_KEYS].sum()
    mins = grouped[METRIC_KEYS].min()
    maxs = grouped[METRIC_KEYS].max()
    sumsq = grouped[[mk + "^2" for mk in METRIC_KEYS]].sum()

    # Every result of the same groupby lists the groups in the same order: read by position
    # (label lookups do not work with the NaN that stand for null keys).
    for frame in (events, n, sums, mins, maxs, sumsq):
        assert frame.index.equals(count.index)
    count_a, events_a = count.to_numpy(), events.to_numpy()
    n_a, sums_a, mins_a, maxs_a = (f[METRIC_KEYS].to_numpy() for f in (n, sums, mins, maxs))
    sumsq_a = sumsq[[mk + "^2" for mk in METRIC_KEYS]].to_numpy()
    column = {mk: j for j, mk in enumerate(METRIC_KEYS)}
    out: dict = {}
    for i, gkey in enumerate(count.index):
        start = pd.Timestamp(gkey[0]).to_pydatetime()
        scope = []
        for name, value in zip(SCOPE_KEYS, gkey[1:]):
            if name == "exitCode":
                scope.append(None if pd.isna(value) else int(value))
            else:
                # groupby(dropna=False) hands null keys back as NaN: they were None.
                scope.append(value if isinstance(value, str) else None)
        key = (start, bucket_end(start, precision), precision, *scope)
        performance: dict = {}
        for group, metrics in METRICS.items():
            stats = {}
            for metric in metrics:
                j = column[f"{group}.{metric}"]
                cnt = int(n_a[i, j])
                if cnt == 0:
                    continue
                stats[metric] = {"n": cnt, "sum": float(sums_a[i, j]), "min": float(mins_a[i, j]),
                                 "max": float(maxs_a[i, j]), "sumsq": float(sumsq_a[i, j])}
            if stats:
                performance[group] = stats
        assert key not in out, key
        out[key] = {"count": int(count_a[i]), "events": int(events_a[i]),
                    "performance": performance}
    _add_sketches(out, records, precision)
    return out


# Percentile sketches (docs/job-records.md): for these metrics, a value v > 0 counts in bin
# ceil(ln v / ln 1.02) (keys are strings in MongoDB), a 0 in `zeros`; negatives in neither.
SKETCH_GAMMA = 1.02
SKETCHED = ("cpu.TotalJobCPU", "cpu.TotalJobTime", "memory.PeakValueRss")


def _add_sketches(out: dict, records: list[dict], precision: str) -> None:
    for r in records:
        start = bucket_start(r["ts"], precision)
        key = (start, bucket_end(start, precision), precision, *(r[k] for k in SCOPE_KEYS))
        for mk in SKETCHED:
            value = r[mk]
            if value is None:
                continue
            group, metric = mk.split(".")
            stats = out[key]["performance"][group][metric]
            sk = stats.setdefault("sketch", {"gamma": SKETCH_GAMMA, "zeros": 0, "bins": {}})
            if value == 0:
                sk["zeros"] += 1
            elif value > 0:
                index = str(math.ceil(math.log(value) / math.log(SKETCH_GAMMA)))
                sk["bins"][index] = sk["bins"].get(index, 0) + 1


# ---------------------------------------------------------------------------------------------
# Comparing with MongoDB documents


def _naive_utc(moment: Any) -> Any:
    if isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def documents_key(doc: dict) -> tuple:
    """The aggregate() key of a document: (start_date, end_date, timeframe_precision, scope...).
    An absent scope field counts as null."""
    scope = doc["scope"]
    return (_naive_utc(scope.get("start_date")), _naive_utc(scope.get("end_date")),
            scope.get("timeframe_precision"), *(scope.get(k) for k in SCOPE_KEYS))


def _show_key(key: tuple) -> str:
    names = ["start_date", "end_date", "precision"] + SCOPE_KEYS
    parts = []
    for name, v in zip(names, key):
        parts.append(f"{name}={v.isoformat() if isinstance(v, dt.datetime) else repr(v)}")
    return "{" + ", ".join(parts) + "}"


def _float_close(a: Any, b: Any, rel: float, abs_tol: float) -> bool:
    if not _is_number(a) or not _is_number(b):
        return False
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def _compare_stats(got: Any, exp: dict, rel: float) -> list[str]:
    """Differences between one stored {n,sum,min,max,sumsq} and the expected one."""
    if not isinstance(got, dict):
        return [f"not a sub-document: {got!r}"]
    problems = []
    wanted = set(_STAT_KEYS) | ({"sketch"} if "sketch" in exp else set())
    if set(got) != wanted:
        problems.append(f"fields {sorted(got)} instead of {sorted(wanted)}")
    if "sketch" in exp and got.get("sketch") != exp["sketch"]:
        problems.append(f"sketch {got.get('sketch')!r} expected {exp['sketch']!r}")
    n = got.get("n")
    if not (_is_number(n) and n == exp["n"]):
        problems.append(f"n={n!r} expected {exp['n']!r}")
        return problems
    # Sums computed in another order differ in the last bits; with cancellation the error
    # scales with the sum of |values| <= n * max|value|, hence the absolute tolerances.
    scale = max(abs(exp["min"]), abs(exp["max"]))
    tolerances = {"min": rel * scale, "max": rel * scale, "sum": rel * exp["n"] * scale,
                  "sumsq": rel * exp["n"] * scale * scale}
    for stat in ("sum", "min", "max", "sumsq"):
        if not _float_close(got.get(stat), exp[stat], rel, tolerances[stat]):
            problems.append(f"{stat}={got.get(stat)!r} expected {exp[stat]!r}")
    return problems


def _compare_performance(got: Any, exp: dict, rel: float) -> list[str]:
    """Reading: a document without `performance` is taken as `performance: {}`."""
    got = {} if got is None else got
    if got == exp:  # the common case, checked fast
        return []
    if not isinstance(got, dict):
        return [f"performance is not a sub-document: {got!r}"]
    problems = []
    for group in sorted(set(got) | set(exp)):
        if group not in exp:
            problems.append(f"performance.{group} should be absent: {got[group]!r}")
            continue
        if group not in got:
            problems.append(f"performance.{group} missing (expected {sorted(exp[group])})")
            continue
        g_got, g_exp = got[group], exp[group]
        if not isinstance(g_got, dict):
            problems.append(f"performance.{group} is not a sub-document: {g_got!r}")
            continue
        for metric in sorted(set(g_got) | set(g_exp)):
            where = f"performance.{group}.{metric}"
            if metric not in g_exp:
                problems.append(f"{where} should be absent: {g_got[metric]!r}")
            elif metric not in g_got:
                problems.append(f"{where} missing (expected {g_exp[metric]!r})")
            else:
                problems.extend(f"{where}: {p}" for p in _compare_stats(g_got[metric],
                                                                         g_exp[metric], rel))
    return problems


def assert_documents_equal(docs: list[dict], expected: dict, rel: float = 1e-9,
                           examples: int = 5) -> None:
    """Assert that MongoDB documents hold exactly what aggregate() computed."""
    messages: list[str] = []
    got: dict = {}
    duplicates = []
    for doc in docs:
        key = documents_key(doc)
        if key in got:
            duplicates.append(key)
        got[key] = doc
    if duplicates:
        messages.append(f"{len(duplicates)} duplicate document keys, e.g.:")
        messages.extend("  " + _show_key(k) for k in duplicates[:examples])

    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    if missing:
        messages.append(f"{len(missing)} of {len(expected)} expected documents missing, e.g.:")
        messages.extend("  " + _show_key(k) for k in sorted(missing, key=repr)[:examples])
    if extra:
        messages.append(f"{len(extra)} of {len(got)} documents not expected, e.g.:")
        messages.extend("  " + _show_key(k) for k in sorted(extra, key=repr)[:examples])

    differing = []
    for key in expected:
        if key not in got:
            continue
        doc, exp = got[key], expected[key]
        problems = []
        code = doc["scope"].get("exitCode")
        if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
            problems.append(f"scope.exitCode {code!r} is neither an int nor null")
        for field in ("count", "events"):
            v = doc.get(field)
            if not (_is_number(v) and not isinstance(v, float) and v == exp[field]):
                problems.append(f"{field}={v!r} expected {exp[field]!r}")
        problems.extend(_compare_performance(doc.get("performance"), exp["performance"], rel))
        if problems:
            differing.append((key, problems))
    if differing:
        messages.append(f"{len(differing)} documents differ, e.g.:")
        for key, problems in sorted(differing, key=lambda kp: repr(kp[0]))[:examples]:
            messages.append("  " + _show_key(key))
            messages.extend("    " + p for p in problems[:10])
            if len(problems) > 10:
                messages.append(f"    ... and {len(problems) - 10} more")
    if messages:
        raise AssertionError("documents differ from the reference:\n" + "\n".join(messages))
