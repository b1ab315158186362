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
