"""Tables and charts of an answer. Cells are formatted as bin/query prints them (the same
functions) and carry the exact value in `data-value`; charts are jobrollup.query.plots drawn
into SVG in memory, text kept as text so it stays readable and searchable."""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass

import pandas as pd

from .. import sources
from ..query import render as answer_text
from ..query import QueryError

# matplotlib's pyplot state is shared by the threads of the server: one drawing at a time.
_DRAWING = threading.Lock()


@dataclass
class Cell:
    text: str
    value: str      # the exact value (repr of a number, ISO time, text) for tests and copying
    numeric: bool


@dataclass
class Table:
    headings: list[str]
    columns: list[str]
    rows: list[list[Cell]]
    total: int


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def table(frame: pd.DataFrame, total: int | None = None) -> Table:
    """An answer of queries.answer (with its attrs) as headings and formatted cells."""
    meta = frame.attrs
    axis = meta.get("time_axis")
    source = meta.get("query", {}).get("source", "fwjr")
    counters = sources.get(source).counters
    text_columns = set(meta.get("keys", [])) | {"description"} | ({axis} if axis else set())
    columns = list(frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(columns, record):
            if column == axis:
                moment = pd.Timestamp(value).to_pydatetime()
                cells.append(Cell(answer_text.when(moment, axis), moment.isoformat(), False))
            elif column in text_columns:
                text = "(null)" if _missing(value) else str(value)
                cells.append(Cell(text, "" if _missing(value) else str(value), False))
            else:
                cells.append(Cell(answer_text.number(column, value, counters), "" if _missing(value) else repr(float(value)), True))
        rows.append(cells)
    headings = [c if c in text_columns else answer_text.heading(c, source) for c in columns]
    return Table(headings, columns, rows, len(frame) if total is None else total)


def header(frame: pd.DataFrame) -> list[str]:
    """The lines bin/query prints above its table (span, filters, tiers, notes)."""
    return answer_text.header_lines(frame.attrs)


def svg(draw, *args, **kwargs) -> str:
    """Run a drawing function of jobrollup.query (plots.plot, matrix.draw) into an SVG string."""
    import matplotlib

    matplotlib.use("Agg")
    buffer = io.StringIO()
    with _DRAWING, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "jobrollup"}):
        draw(*args, buffer, format="svg", **kwargs)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def chart(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """(SVG, None) for an answer a picture fits, else (None, why not)."""
    from ..query import plots

    keys, axis = frame.attrs.get("keys", []), frame.attrs.get("time_axis")
    if frame.empty:
        return None, "no chart: the answer has no rows"
    if not ((axis and len(keys) <= 1) or (not axis and len(keys) in (1, 2))):
        return None, ("no chart: a chart needs a time axis with at most one key (time series), one key (bars) "
                      "or two keys (heatmap)")
    try:
        return svg(plots.plot, frame), None
    except QueryError as error:
        return None, f"no chart: {error}"


def bars(labels: list[str], values: list[float], xlabel: str, title: str) -> str:
    """A plain horizontal bar chart (the error kinds page), drawn like plots' bars."""
    def draw(path, format):
        import matplotlib.pyplot as plt

        figure, ax = plt.subplots(figsize=(10, 0.32 * len(labels) + 1.6))
        ax.barh(range(len(labels)), values, color="C3")
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.grid(True, axis="x", alpha=0.3)
        figure.suptitle(title, fontsize=11)
        figure.savefig(path, dpi=110, bbox_inches="tight", format=format)
        plt.close(figure)
    return svg(draw)


def when(moment, axis: str | None = None) -> str:
    if _missing(moment):
        return "-"
    return answer_text.when(moment, axis)


def register_filters(app) -> None:
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["thousands"] = lambda n: "-" if _missing(n) else f"{int(n):,}"
    app.jinja_env.filters["percent"] = lambda x: "-" if _missing(x) else f"{x * 100:.2f}%"
