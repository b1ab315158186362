"""Build matrices (in the spirit of spack-monitor-analysis): the success rate of every pair of two
keys (e.g. version x compiler_version of one package) as a picture and a CSV.

A pair nobody built is "not tried", which is not the same as a pair that always fails: the CSV
writes "not tried" where a failing pair has 0.0, and the picture draws it hatched grey outside
the red-to-green scale of the rates. Pure pandas over an answer with `count` and `success_rate`;
matplotlib only when drawn.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .question import Query, QueryError

NOT_TRIED = "not tried"
MAX_SIDE = 40        # rows and columns drawn; the busiest are kept


def check(query: Query) -> None:
    if query.time_axis or len(query.keys) != 2:
        raise QueryError("--matrix needs exactly two keys in --by (rows, columns) and no time axis")
    if not query.source.failure_key:
        raise QueryError(f"--matrix shows success rates: source {query.source.name} has no failure key")


def metrics_for(asked: list[str]) -> list[str]:
    """The metrics a matrix needs, after what was asked."""
    names = [m for spec in asked for m in spec.split(",")]
    return asked + [m for m in ("count", "success_rate") if m not in names]


def grids(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(success rate in %, builds) with the first key as rows and the second as columns; pairs
    without builds are NaN in both, rows and columns busiest first."""
    rows_key, cols_key = frame.attrs["keys"]
    named = frame.assign(_r=frame[rows_key].map(_name), _c=frame[cols_key].map(_name))
    order = lambda key: list(named.groupby(key)["count"].sum().sort_values(ascending=False, kind="stable").index)
    rows, cols = order("_r"), order("_c")
    pivot = lambda column: named.pivot_table(index="_r", columns="_c", values=column, aggfunc="sum").reindex(
        index=rows, columns=cols)
    counts = pivot("count")
    counts = counts.where(counts > 0)
    rates = (pivot("success_rate") * 100).where(counts.notna())
    rates.index.name, rates.columns.name = rows_key, cols_key
    counts.index.name, counts.columns.name = rows_key, cols_key
    return rates, counts


def to_csv(rates: pd.DataFrame) -> str:
    """Success rate in % per cell (one decimal), "not tried" where nothing was built."""
    cells = rates.map(lambda v: NOT_TRIED if pd.isna(v) else f"{v:.1f}")
    return cells.rename_axis(index=f"{rates.index.name} \\ {rates.columns.name}", columns=None).to_csv()


def draw(rates: pd.DataFrame, counts: pd.DataFrame, path, title: str, subtitle: str = "",
         format: str | None = None):
    """The matrix picture into `path` (a file name, or a file object with `format`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    rates, counts = rates.iloc[:MAX_SIDE, :MAX_SIDE], counts.iloc[:MAX_SIDE, :MAX_SIDE]
    n_rows, n_cols = rates.shape
    figure, ax = plt.subplots(figsize=(0.75 * n_cols + 4, 0.45 * n_rows + 2.8))
    colours = matplotlib.colormaps["RdYlGn"].with_extremes(bad="none")
    image = ax.imshow(rates.to_numpy(dtype="float64"), aspect="auto", cmap=colours, vmin=0, vmax=100)
    values, builds = rates.to_numpy(dtype="float64"), counts.to_numpy(dtype="float64")
    for r in range(n_rows):
        for c in range(n_cols):
            if math.isnan(values[r, c]):
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#eeeeee", edgecolor="#999999",
                                       hatch="///", linewidth=0))
            elif n_rows * n_cols <= 400:
                ax.text(c, r, f"{values[r, c]:.0f}%\n{int(builds[r, c])}", ha="center", va="center", fontsize=6.5)
    ax.set_xticks(range(n_cols), [str(c) for c in rates.columns], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n_rows), [str(r) for r in rates.index], fontsize=8)
    ax.set_xlabel(rates.columns.name)
    ax.set_ylabel(rates.index.name)
    bar = figure.colorbar(image, ax=ax)
    bar.set_label("success rate (% of builds); cell: rate and builds")
    ax.legend(handles=[Patch(facecolor="#eeeeee", edgecolor="#999999", hatch="///", label=NOT_TRIED),
                       Patch(facecolor=colours(0.0), label="fails (0%)")],
              loc="upper left", bbox_to_anchor=(0, -0.18), ncol=2, fontsize=8, frameon=False)
    figure.suptitle(f"{title}\n{subtitle}".strip(), fontsize=11)
    figure.savefig(path, dpi=110, bbox_inches="tight", format=format)
    plt.close(figure)
    return path


def write(frame: pd.DataFrame, png: str, title: str, subtitle: str = "") -> tuple[str, str]:
    """The matrix of an answer as PNG and, beside it, CSV (same name, .csv)."""
    if frame.empty:
        raise QueryError("nothing to draw: the answer has no rows")
    rates, counts = grids(frame)
    csv_path = str(Path(png).with_suffix(".csv"))
    Path(csv_path).write_text(to_csv(rates))
    draw(rates, counts, png, title, subtitle)
    return png, csv_path


def _name(value) -> str:
    return "(null)" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
