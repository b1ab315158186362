"""Helpers the test modules share (fixtures are in conftest.py)."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from pathlib import Path

import tomli_w

from jobrollup.plan import Plan, plan_run

ROOT = Path(__file__).resolve().parents[1]
FAR_FUTURE = dt.date(2100, 1, 1)


def merged(base: dict, changes: dict) -> dict:
    """`base` with `changes` merged in, table by table."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def write_conf(path: Path, changes: dict) -> Path:
    """A configuration file at `path`: the project's defaults with `changes` merged in, written
    from a dict (a test must never fall back to the real database because a text edit of the
    TOML stopped matching)."""
    defaults = tomllib.loads((ROOT / "conf" / "jobrollup.toml").read_text())
    path.write_text(tomli_w.dumps(merged(defaults, changes)))
    return path


def plan_for(conf: dict, root, first: dt.date, last: dt.date | None = None, precision: str = "day", *,
             source: str = "fwjr", collection: str = "", require_all_days: bool = False,
             today: dt.date = FAR_FUTURE, rejects_dir: str | None = None, **changes) -> Plan:
    """The plan of a run over `root` for first..last (one day by default), with missing days
    allowed, every day in the past and rejects beside the input, unless told otherwise."""
    conf = merged(conf, {"input": {"require_all_days": require_all_days}})
    plan = plan_run(first, last or first, precision, conf, source=source, collection=collection or None,
                    input_root=str(root), rejects_dir=rejects_dir or str(Path(root).parent / "rejects"),
                    today=today, lateness_days=changes.pop("lateness_days", None),
                    max_reject_share=changes.pop("max_reject_share", None))
    for key, value in changes.items():
        setattr(plan, key, value)
    return plan


def reference_documents(records: list[dict], window, run_id: str) -> tuple[list[dict], dict]:
    """The fwjr documents of `window` as the independent reference computes them, with the ledger
    totals per bucket start: what an aggregation run writes, without Spark."""
    import reference
    from jobrollup import documents, sources
    from jobrollup.tiers import next_start

    fwjr = sources.get("fwjr")
    expected = reference.aggregate(records, window.precision, (window.start, window.end))
    docs = []
    for key, value in expected.items():
        start, _, _, *scope_values = key
        scope = dict(zip(reference.SCOPE_KEYS, scope_values))
        docs.append({"_id": documents.document_id(fwjr, window.precision, start, scope),
                     "scope": {**scope, "start_date": start, "end_date": next_start(start, window.precision),
                               "timeframe_precision": window.precision},
                     "count": value["count"], "events": value["events"], "performance": value["performance"],
                     "run_id": run_id})
    return docs, bucket_totals(docs)


def bucket_totals(docs: list[dict]) -> dict:
    """bucket start -> {count, events, documents}: the ledger's tallies of these documents."""
    totals: dict = {}
    for doc in docs:
        tally = totals.setdefault(doc["scope"]["start_date"], {"count": 0, "events": 0, "documents": 0})
        tally["count"] += doc["count"]
        tally["events"] += doc["events"]
        tally["documents"] += 1
    return totals


def hold_empty_days(root, first: dt.date, last: dt.date) -> None:
    """An empty day folder for every day of first..last that has none: days the farm was idle.
    (A day with no folder at all stays unknown, never held, so no week or month is built over it.)"""
    day = first
    while day <= last:
        (Path(root) / f"{day:%Y/%m/%d}").mkdir(parents=True, exist_ok=True)
        day += dt.timedelta(days=1)
