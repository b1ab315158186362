"""Answers as text: the header lines and the aligned table of bin/query, shared by the web view."""

from __future__ import annotations

import math

from .. import sources
from ..sources import RATES


def when(moment, axis: str | None = None) -> str:
    if moment is None:
        return "earliest"
    moment = moment.to_pydatetime() if hasattr(moment, "to_pydatetime") else moment
    if axis == "month":
        return f"{moment:%Y-%m}"
    if axis == "week":
        return f"{moment:%Y-%m-%d} (W{moment.isocalendar().week:02d})"
    if axis == "hour" or moment != moment.replace(hour=0, minute=0, second=0, microsecond=0):
        return f"{moment:%Y-%m-%d %H:%M}"
    return f"{moment:%Y-%m-%d}"


def number(column: str, value, counters: tuple[str, ...] = ("events",)) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    base, _, suffix = column.partition(".")
    if column in RATES or (base in RATES and suffix == "before"):
        return f"{value * 100:.2f}%"
    if base in RATES and suffix == "change":
        return f"{value * 100:+.2f} pp"
    if suffix in ("before", "change") and (base == "count" or base in counters):
        return f"{int(value):+,}" if suffix == "change" else f"{int(value):,}"
    if column == "count" or column in counters or column.endswith(".n"):
        return f"{int(value):,}"
    value = float(value)
    if value == 0:
        return "0"
    if abs(value) >= 1e9:
        return f"{value:.4g}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def heading(column: str, source: str = "fwjr") -> str:
    if column.partition(".")[0] in RATES or column.partition(".")[0] in ("count", "successes", "failures", "events"):
        return column
    for suffix in (".before", ".change"):   # a comparison's columns carry the unit of their metric
        if column.endswith(suffix):
            return heading(column[: -len(suffix)], source) + suffix
    name, _, stat = column.rpartition(".")
    unit = sources.get(source).units.get(name)
    return f"{column} ({unit})" if unit and stat not in ("n",) else column


def header_lines(meta: dict) -> list[str]:
    query, span, asked = meta["query"], meta["span"], meta["asked"]
    lines = [f"{query['collection']}: {when(span[0])} .. {when(span[1])} UTC"
             + (f"  (asked {when(asked[0])} .. {when(asked[1])})" if list(span) != list(asked) else "")]
    if query["where"]:
        lines.append("  where   " + " and ".join(query["where"]))
    tiers = meta.get("tiers", [])
    if tiers:
        parts = [f"{t['precision']} {when(t['start'])} .. {when(t['end'])} ({t['buckets']} bucket{'s' * (t['buckets'] != 1)})"
                 for t in tiers]
        lines.append("  from    " + "\n          ".join(parts))
    read = meta.get("read")
    if read and read.get("view"):
        lines.append(f"  read    view {read['view']}: {read['documents']:,} documents "
                     f"(the documents hold {read['documents_without_views']:,})")
    baseline = meta.get("baseline")
    if baseline and baseline.get("span"):
        start, end = baseline["span"]
        lines.append(f"  against {when(start)} .. {when(end)} UTC (.before; .change = now - before)")
    for note in meta.get("notes", []):
        lines.append(f"  note    {note}")
    return lines


def render_table(frame, total: int | None = None) -> str:
    meta = frame.attrs
    axis = meta.get("time_axis")
    lines = header_lines(meta)
    columns = list(frame.columns)
    text_columns = set(meta.get("keys", [])) | {"description", "label"} | ({axis} if axis else set())
    source = frame.attrs.get("query", {}).get("source", "fwjr")
    counters = sources.get(source).counters
    headings = [heading(c, source) if c not in text_columns else c for c in columns]
    cells = []
    for row in frame.itertuples(index=False):
        out = []
        for column, value in zip(columns, row):
            if column == axis:
                out.append(when(value, axis))
            elif column in ("label", "template"):   # cluster labels and templates: one line each
                out.append("(null)" if value is None else str(value)[:100])
            elif column in text_columns:
                missing = value is None or (isinstance(value, float) and math.isnan(value))
                # a null exit code is a job whose report gave none: unknown, which 0 would hide
                out.append(("unknown" if column == "exitCode" else "(null)") if missing else str(value))
            else:
                out.append(number(column, value, counters))
        cells.append(out)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headings)]
    fit = lambda i, text: text.ljust(widths[i]) if columns[i] in text_columns else text.rjust(widths[i])
    lines.append("")
    if not cells:
        lines.append("(no jobs)" if not meta.get("unknown") or meta.get("tiers") else "(nothing known in this span)")
        return "\n".join(lines)
    lines.append("  ".join(fit(i, h) for i, h in enumerate(headings)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(fit(i, c) for i, c in enumerate(r)).rstrip() for r in cells)
    if total is not None and total > len(cells):
        lines.append(f"({len(cells)} of {total} rows)")
    return "\n".join(lines)
