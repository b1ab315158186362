"""Pictures of an answer (queries.answer): a time series for a time axis, bars for one key,
a heatmap for two keys. Matplotlib with the Agg backend (no display needed), imported only
when a plot is drawn.

Every picture carries its question: the title says what is plotted by what, the subtitle the
span (UTC), the filters and the tiers that answered; axes name the metric and its unit.
"""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

from .. import sources
from ..sources import RATES
from .question import Query, QueryError

MAX_SERIES = 10      # lines of a time series by key; the others are left out, and said so
MAX_BARS = 30        # bars of a bar chart
MAX_HEAT = 25        # rows and columns of a heatmap
# Columns that are sums over jobs: an axis bucket that is held but has no row is zero there.
_ADDITIVE = ("count", "events", ".n", ".sum")
_BUCKET = {"hour": "1h", "day": "1D", "week": "7D", "month": "31D"}   # about one bucket of a time axis


def check(query: Query) -> str:
    """The kind of picture for the query's axes; QueryError when none fits."""
    keys = len(query.keys)
    if query.time_axis and keys <= 1:
        return "series"
    if not query.time_axis and keys == 1:
        return "bars"
    if not query.time_axis and keys == 2:
        return "heatmap"
    raise QueryError("--plot draws a time axis with at most one key (time series), one key (bars) or two keys "
                     f"(heatmap); this query groups by {', '.join(query.axes) or 'nothing'}")


def label(column: str, source: str = "fwjr") -> str:
    """'cpu.TotalJobCPU.mean' -> 'cpu.TotalJobCPU mean (s)'; 'failure_rate' -> 'failure rate (% of jobs)'."""
    definition = sources.get(source)
    if column in RATES:
        return f"{column.replace('_', ' ')} ({definition.units.get(column, '% of jobs')})"
    if column == "count":
        return "jobs"
    if column in definition.counters:
        return definition.units.get(column, column)
    name, _, stat = column.rpartition(".")
    unit = "jobs with a value" if stat == "n" else definition.units.get(name, "")
    return f"{name} {stat}" + (f" ({unit})" if unit else "")


def source_of(frame: pd.DataFrame) -> str:
    """The source an answer came from (its units label the axes)."""
    return frame.attrs.get("query", {}).get("source", "fwjr")


def _values(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column].astype("float64")
    return values * 100 if column in RATES else values


def _name(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(null)"
    return str(value)


def _show(moment) -> str:
    moment = pd.Timestamp(moment).to_pydatetime()
    return f"{moment:%Y-%m-%d}" if moment == moment.replace(hour=0, minute=0, second=0, microsecond=0) \
        else f"{moment:%Y-%m-%d %H:%M}"


def subtitle(meta: dict) -> str:
    query = meta.get("query", {})
    span = meta.get("span") or [None, None]
    parts = [f"{query.get('collection', '')}, {_show(span[0])} .. {_show(span[1])} UTC" if span[0] is not None else ""]
    if query.get("where"):
        parts.append("where " + " and ".join(query["where"]))
    tiers = [t["precision"] for t in meta.get("tiers", [])]
    if tiers:
        parts.append("from " + " + ".join(dict.fromkeys(tiers)) + " buckets")
    if meta.get("unknown"):
        parts.append(f"{len(meta['unknown'])} unknown range(s) left out")
    return "; ".join(p for p in parts if p)


def title_of(columns: Sequence[str], axes: Sequence[str], source: str = "fwjr") -> str:
    what = ", ".join(label(c, source).split(" (")[0] for c in columns)
    return f"{what[:1].upper()}{what[1:]} by {' and '.join(axes)}" if axes else what


def plot(frame: pd.DataFrame, path, *, title: str | None = None, format: str | None = None):
    """Draw the answer `frame` (with its attrs from queries.answer) into `path` (PNG, SVG, PDF;
    or a file object with `format`, as the web view draws SVG in memory)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta = frame.attrs
    keys, axis, columns = list(meta["keys"]), meta.get("time_axis"), list(meta["columns"])
    if frame.empty:
        raise QueryError("nothing to plot: the answer has no rows")
    kind = "series" if axis and len(keys) <= 1 else "bars" if len(keys) == 1 else "heatmap" if len(keys) == 2 else None
    if kind is None:
        raise QueryError("--plot draws a time axis with at most one key, one key, or two keys")
    heading = title or title_of(columns if kind != "heatmap" else columns[:1], keys + ([f"{axis}"] if axis else []),
                               source_of(frame))
    if kind == "series":
        figure = _series(plt, frame, meta, keys, axis, columns)
    elif kind == "bars":
        figure = _bars(plt, frame, keys[0], columns)
    else:
        figure = _heatmap(plt, frame, keys, columns[0])
    figure.suptitle(f"{heading}\n{subtitle(meta)}", fontsize=11)
    figure.savefig(path, dpi=110, bbox_inches="tight", format=format)
    plt.close(figure)
    return path


def _series(plt, frame, meta, keys, axis, columns):
    held = [pd.Timestamp(t) for t in meta.get("axis_buckets", [])]
    rows = len(columns)
    figure, axes = plt.subplots(rows, 1, figsize=(11, 2.8 * rows + 1.2), sharex=True, squeeze=False)
    note = None
    if keys:
        key = keys[0]
        weight = "count" if "count" in frame else columns[0]
        totals = frame.groupby(frame[key].map(_name))[weight].sum().sort_values(ascending=False)
        chosen = list(totals.index[:MAX_SERIES])
        if len(totals) > MAX_SERIES:
            note = f"the {MAX_SERIES} {key} values with the most {label(weight, source_of(frame)).split(' (')[0]} of {len(totals)}"
    for row, column in enumerate(columns):
        ax = axes[row][0]
        if keys:
            named = frame.assign(_series=frame[keys[0]].map(_name))
            for value in chosen:
                part = named[named["_series"] == value].set_index(axis)[column]
                part = _on_held(part, held, column)
                ax.plot(part.index, _values(part.to_frame(), column), marker="o", markersize=3, linewidth=1.4,
                        label=value)
        else:
            part = _on_held(frame.set_index(axis)[column], held, column)
            ax.plot(part.index, _values(part.to_frame(), column), marker="o", markersize=3, linewidth=1.6)
        ax.set_ylabel(label(column, source_of(frame)))
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0) if _nonnegative(frame, column) else None
    if keys:
        handles, names = axes[0][0].get_legend_handles_labels()
        axes[0][0].legend(handles, names, title=keys[0] + (f"\n({note})" if note else ""), fontsize=8,
                          title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    import matplotlib.dates as mdates

    times = pd.to_datetime(frame[axis]).unique()
    if len(times) == 1:  # one point: a range of one bucket each side, not matplotlib's years
        pad = pd.Timedelta(_BUCKET[axis])
        axes[-1][0].set_xlim(times[0] - pad, times[0] + pad)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
    axes[-1][0].xaxis.set_major_locator(locator)
    axes[-1][0].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes[-1][0].set_xlabel(f"{axis} (UTC; each point is the {axis} starting there)")
    return figure


def _on_held(series: pd.Series, held: list, column: str) -> pd.Series:
    """Put the series on every held axis bucket: sums are zero where nothing ran, rates and means
    undefined; buckets no tier holds stay out (a gap in the line)."""
    series = series.sort_index()
    if not held:
        return series
    index = pd.DatetimeIndex(sorted(set(held) | set(series.index)))
    filled = series.reindex(index)
    if column.endswith(_ADDITIVE) or column in _ADDITIVE:
        filled = filled.where(~(filled.isna() & filled.index.isin(held)), 0)
    return filled


def _nonnegative(frame, column) -> bool:
    values = frame[column].dropna()
    return values.empty or bool((values >= 0).all())


def _bars(plt, frame, key, columns):
    shown = frame.head(MAX_BARS)
    names = [_name(v) for v in shown[key]]
    figure, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns) + 3, 0.32 * len(shown) + 1.8),
                                sharey=True, squeeze=False)
    for i, column in enumerate(columns):
        ax = axes[0][i]
        values = _values(shown, column).fillna(0)
        ax.barh(range(len(shown)), values, color=f"C{i}")
        if i == 0:  # the axes share y: label and invert it once
            ax.set_yticks(range(len(shown)), names, fontsize=8)
            ax.invert_yaxis()
        else:
            ax.tick_params(labelleft=False)
        ax.set_xlabel(label(column, source_of(frame)))
        ax.grid(True, axis="x", alpha=0.3)
    axes[0][0].set_ylabel(key + (f" (first {MAX_BARS} of {len(frame)})" if len(frame) > MAX_BARS else ""))
    return figure


def _heatmap(plt, frame, keys, column):
    first, second = keys
    weight = "count" if "count" in frame else column
    top = lambda key: list(frame.groupby(frame[key].map(_name))[weight].sum()
                           .sort_values(ascending=False).index[:MAX_HEAT])
    rows, cols = top(first), top(second)
    named = frame.assign(_r=frame[first].map(_name), _c=frame[second].map(_name))
    grid = (named[named["_r"].isin(rows) & named["_c"].isin(cols)]
            .pivot_table(index="_r", columns="_c", values=column, aggfunc="first")
            .reindex(index=rows, columns=cols))
    values = grid.to_numpy(dtype="float64") * (100 if column in RATES else 1)
    figure, ax = plt.subplots(figsize=(0.55 * len(cols) + 4, 0.4 * len(rows) + 2.5))
    image = ax.imshow(values, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel(second + (f" (top {MAX_HEAT})" if frame[second].nunique(dropna=False) > MAX_HEAT else ""))
    ax.set_ylabel(first + (f" (top {MAX_HEAT})" if frame[first].nunique(dropna=False) > MAX_HEAT else ""))
    bar = figure.colorbar(image, ax=ax)
    bar.set_label(label(column, source_of(frame)) + "; blank: no jobs")
    if len(rows) * len(cols) <= 144:
        for r in range(len(rows)):
            for c in range(len(cols)):
                if not math.isnan(values[r, c]):
                    ax.text(c, r, _short(values[r, c]), ha="center", va="center", fontsize=7, color="white")
    return figure


def _short(value: float) -> str:
    if abs(value) >= 1e4:
        return f"{value:.2g}"
    if abs(value) >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2g}"
