"""Drawing one chart to a PNG with matplotlib's object API (no pyplot state, safe in threads)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, BinaryIO, Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from agentkit_tools.workspace import WorkspaceError

ChartKind = Literal["bar", "barh", "line", "scatter", "area"]

_PALETTE = ("#2f6db5", "#e07b39", "#3f9e5a", "#c44e52", "#8172b3", "#937860")
#: Most rows a chart plots; a longer query result is refused.
MAX_POINTS = 5_000


def draw_chart(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    target: BinaryIO,
    *,
    kind: ChartKind,
    x: str,
    y: Sequence[str],
    title: str,
    xlabel: str | None,
    ylabel: str | None,
    labels: Sequence[str] | None = None,
) -> None:
    """Plot ``y`` against ``x`` from a query result and write the PNG to ``target``.

    Raises:
        WorkspaceError: a named column is missing, a y column is not numeric, or there are no rows.
    """
    names = list(labels) if labels and len(labels) == len(y) else list(y)
    missing = [c for c in (x, *y) if c not in columns]
    if missing:
        raise WorkspaceError(f"columns {missing} are not in the query result {list(columns)}")
    if not rows:
        raise WorkspaceError(f"a chart needs 1 to {MAX_POINTS} rows; the query returned none")
    if len(rows) > MAX_POINTS:
        raise WorkspaceError(f"a chart needs 1 to {MAX_POINTS} rows; the query returned more")
    xs = [row[columns.index(x)] for row in rows]
    figure = Figure(figsize=(8, 4.5), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.8 / len(y)
    for index, (column, name) in enumerate(zip(y, names, strict=True)):
        values = _numbers(column, [row[columns.index(column)] for row in rows])
        colour = _PALETTE[index % len(_PALETTE)]
        positions = [i + (index - (len(y) - 1) / 2) * width for i in range(len(rows))]
        if kind == "bar":
            axes.bar(positions, values, width=width, label=name, color=colour)
        elif kind == "barh":
            axes.barh(positions, values, height=width, label=name, color=colour)
        elif kind == "line":
            axes.plot(xs, values, label=name, color=colour, linewidth=2, marker="o", markersize=3)
        elif kind == "area":
            axes.fill_between(range(len(rows)), values, label=name, color=colour, alpha=0.35)
            axes.plot(range(len(rows)), values, color=colour, linewidth=1.5)
        else:
            axes.scatter(xs, values, label=name, color=colour, s=14, alpha=0.7)
    xname = x if xlabel is None else xlabel
    _label_axes(axes, kind, [str(v) for v in xs], xname, ylabel or (names[0] if len(y) == 1 else ""))
    if kind in ("line", "scatter") and len(rows) <= 24 and all(isinstance(v, int) for v in xs):
        axes.set_xticks(xs)
    # A figure title spans the whole width (long bar labels do not push it off the page).
    figure.suptitle(title, x=0.01, ha="left", fontsize=13, fontweight="bold")
    if len(y) > 1:
        axes.legend(frameon=False)
    figure.savefig(target, format="png", metadata={"Software": None})


def _numbers(name: str, values: Sequence[Any]) -> list[float]:
    try:
        return [float("nan") if v is None else float(v) for v in values]
    except (TypeError, ValueError):
        raise WorkspaceError(f"column {name!r} is not numeric, so it cannot be a y series") from None


def _label_axes(axes: Any, kind: ChartKind, labels: list[str], xlabel: str, ylabel: str) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="x" if kind == "barh" else "y", alpha=0.3)
    thousands = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}")
    if kind == "barh":
        axes.set_yticks(range(len(labels)), labels)
        axes.invert_yaxis()
        axes.xaxis.set_major_formatter(thousands)
        axes.set_xlabel(ylabel)
        axes.set_ylabel(xlabel)
        return
    axes.yaxis.set_major_formatter(thousands)
    if kind in ("bar", "area"):
        step = max(1, len(labels) // 16)
        axes.set_xticks(range(0, len(labels), step), labels[::step], rotation=30 if step > 1 else 0)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
