"""What a run does, decided before Spark or MongoDB is touched: its window and its folders.

A `Plan` travels from the command (bin/aggregate, bin/cluster-errors) to the Spark job as JSON,
and is recorded whole in the run journal.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

from . import sources, views
from .tiers import Window


def day_folder(root: str, day: dt.date) -> str:
    """ROOT/YYYY/MM/DD: where the dumps of one day (of migration) are."""
    return f"{root.rstrip('/')}/{day:%Y/%m/%d}"


@dataclass
class Plan:
    source: str
    collection: str
    database: str
    precision: str
    first_day: str                 # the days asked for (ISO dates), before widening
    last_day: str
    window_start: str              # whole buckets [start, end), ISO datetimes (UTC)
    window_end: str
    input_root: str
    required_folders: list[str]    # the window's own past days
    optional_folders: list[str]    # lateness days: read when present
    skipped_days: list[str] = field(default_factory=list)   # future days, not read
    max_reject_share: float = 0.05
    rejects_dir: str = "var/rejects"
    reject_line_chars: int = 65536
    max_report_bytes: int = 16 * 1024 * 1024
    require_all_days: bool = True
    write_batch: int = 1000
    write_tasks: int = 0           # at most this many executors write at once; 0: one per partition
    mongo_timeout_ms: int = 5000
    views: dict[str, dict] = field(default_factory=dict)   # view name -> {keys[, metrics]} (jobrollup.views)

    @property
    def window(self) -> Window:
        return Window(self.precision, dt.datetime.fromisoformat(self.window_start),
                      dt.datetime.fromisoformat(self.window_end))

    @property
    def definition(self) -> sources.Source:
        return sources.get(self.source)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        return cls(**json.loads(text))


def plan_run(first_day: dt.date, last_day: dt.date, precision: str, conf: dict, *,
             input_root: str, rejects_dir: str, source: str | None = None, collection: str | None = None,
             today: dt.date | None = None, lateness_days: int | None = None,
             max_reject_share: float | None = None) -> Plan:
    """What a run for the days first_day..last_day at `precision` reads and rewrites.

    `source` defaults to conf [aggregate] source; `collection` to the source's own."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    definition = sources.get(source or conf["aggregate"]["source"])
    window = Window.covering(first_day, last_day, precision)
    lateness = conf["input"]["lateness_days"] if lateness_days is None else lateness_days
    window_days = window.days()
    late_days = [window_days[-1] + dt.timedelta(days=i + 1) for i in range(lateness)]
    aggregate = conf["aggregate"]
    return Plan(
        source=definition.name, collection=collection or definition.collection,
        database=conf["mongo"]["database"], precision=precision,
        first_day=first_day.isoformat(), last_day=last_day.isoformat(),
        window_start=window.start.isoformat(), window_end=window.end.isoformat(),
        input_root=input_root,
        required_folders=[day_folder(input_root, d) for d in window_days if d <= today],
        optional_folders=[day_folder(input_root, d) for d in late_days if d <= today],
        skipped_days=[d.isoformat() for d in window_days + late_days if d > today],
        max_reject_share=aggregate["max_reject_share"] if max_reject_share is None else max_reject_share,
        rejects_dir=rejects_dir, reject_line_chars=aggregate["reject_line_chars"],
        max_report_bytes=aggregate.get("max_report_bytes", Plan.max_report_bytes),
        require_all_days=conf["input"]["require_all_days"],
        write_batch=conf["mongo"]["write_batch"], write_tasks=conf["mongo"].get("write_tasks", 0),
        mongo_timeout_ms=conf["mongo"]["timeout_ms"],
        views=views.as_plan(views.configured(conf, definition)),
    )
