"""The accuracy/footprint trade-off plot of one model.

Built on ``matplotlib.figure.Figure`` with the Agg canvas: no pyplot, so no global figure state
and no GUI backend, and it is safe to render several plots in one process. Drawing takes plain
``Point`` records, not a data frame: a drawing worker process then never imports pandas.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..spec import ERROR, LORA_RANK, MODE, PLOT_NAME, RATE

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Series:
    label: str
    marker: str
    color: str
    connect: bool  # a line through the points, ordered by compression rate


# Drawn in this order; the legend follows it.
MIXED = Series("mixed precision (int4/int8 ratio)", "o", "tab:blue", True)
LORA = Series("int4 + LoRA correction", "D", "tab:green", True)
GPTQ = Series("int4 + GPTQ", "^", "tab:purple", False)
DATA_FREE = Series("int4, data-free", "s", "tab:red", False)
SERIES = (MIXED, LORA, GPTQ, DATA_FREE)


def kind_of(mode: str, lora_rank, reference_mode: str) -> str:
    """A row's series label, or ``"reference"`` / ``"int8"`` for the reference markers."""
    if mode == reference_mode:
        return "reference"
    if lora_rank == lora_rank and lora_rank is not None:  # not NaN
        return LORA.label
    if "gptq" in mode.lower():
        return GPTQ.label
    if mode == "int4":
        return DATA_FREE.label
    if mode == "int8":
        return "int8"
    return MIXED.label


@dataclass(frozen=True)
class Point:
    """One row as the plot needs it."""

    index: int  # the row's index in the results: what an ``Overlay`` refers to
    kind: str  # a series label, ``"reference"`` or ``"int8"``
    label: str  # the text next to the point
    error: float  # average relative error, percent
    rate: float  # compression rate


def plot_points(frame: pd.DataFrame, reference_mode: str) -> tuple[Point, ...]:
    """The points of one model's derived rows (``average relative error``, ``compression rate``),
    in the rows' order."""
    ranks = frame[LORA_RANK] if LORA_RANK in frame.columns else [math.nan] * len(frame)
    names = frame[PLOT_NAME] if PLOT_NAME in frame.columns else [""] * len(frame)
    points = []
    for index, mode, rank, name, error, rate in zip(frame.index, frame[MODE], ranks, names, frame[ERROR],
                                                     frame[RATE]):
        kind = kind_of(str(mode), rank, reference_mode)
        label = reference_mode if kind == "reference" else (name if isinstance(name, str) and name else str(mode))
        points.append(Point(int(index), kind, label, float(error * 100), float(rate)))
    return tuple(points)


@dataclass(frozen=True)
class Overlay:
    """What a gated run adds to the plot (all optional)."""

    failing: frozenset = frozenset()  # frame indexes of rows with a failed gate: ringed in red
    error_limits: tuple = ()  # (series label, limit) where one max-error limit covers a whole series
    previous: tuple = ()  # (frame index, baseline error, baseline rate): faint point, arrow to now
    front: tuple = ()  # frame indexes of the Pareto front (``core.pareto``): a step line through them
    dominated: frozenset = frozenset()  # frame indexes of the dominated rows: drawn hollow


def series_error_limits(points: tuple[Point, ...], limits: dict) -> tuple:
    """(series label, limit) for each series whose rows all have the same max-error limit from the
    same rule; ``limits`` maps row index -> (limit, rule source)."""
    found = []
    for series in SERIES:
        applied = {limits.get(p.index) for p in points if p.kind == series.label}
        if applied and len(applied) == 1 and None not in applied:
            only = next(iter(applied))
            assert only is not None  # checked on the line above
            found.append((series.label, only[0]))
    return tuple(found)


def trade_off_figure(points: tuple[Point, ...], model: str, reference_mode: str, metric_count: int,
                     overlay: Overlay = Overlay()):
    """The figure of one model's points (see ``plot_points``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 6), dpi=110)
    FigureCanvasAgg(figure)
    # Fixed margins: the layout is always the same, and a layout engine would cost a third of the
    # drawing time.
    figure.subplots_adjust(left=0.075, right=0.985, top=0.945, bottom=0.085)
    axes = figure.add_subplot()

    for series in SERIES:
        # sorted() is stable: equal rates keep the file's order.
        rows = sorted((p for p in points if p.kind == series.label), key=_by_rate)
        if not rows:
            continue
        axes.plot(
            [p.error for p in rows], [p.rate for p in rows], marker=series.marker, color=series.color,
            linestyle="-" if series.connect and len(rows) > 1 else "none", markersize=7,
            label=series.label,
        )
    for kind, marker, color, name in (
        ("reference", "*", "black", f"{reference_mode} (reference)"),
        ("int8", "P", "tab:gray", "int8"),
    ):
        rows = [p for p in points if p.kind == kind]
        if rows:
            axes.plot([p.error for p in rows], [p.rate for p in rows], marker=marker, color=color,
                      linestyle="none", markersize=11, label=name)

    _draw_front(axes, points, overlay)
    _draw_overlay(axes, points, overlay)

    axes.set_title(f"Accuracy/footprint trade-off: {model}", parse_math=False)
    axes.set_xlabel(
        f"average relative error vs {reference_mode}, % (mean over {metric_count} metric"
        f"{'s' if metric_count != 1 else ''})", parse_math=False,
    )
    axes.set_ylabel(f"compression rate ({reference_mode} size / model size)", parse_math=False)
    axes.grid(True, alpha=0.3)
    legend = axes.legend(loc="lower right", fontsize=8)  # the low-rate, high-error corner is the empty one
    for text in legend.get_texts():  # the reference mode is the user's text too
        text.set_parse_math(False)
    axes.margins(x=0.12, y=0.08)
    _draw_labels(figure, axes, points, overlay, legend)
    return figure


FRONT_LABEL = "Pareto front"
DOMINATED_LABEL = "dominated (hollow)"
_FRONT_COLOR = "tab:orange"  # apart from the grey limit lines and every series


def front_line(points: tuple[Point, ...], overlay: Overlay) -> list[tuple[float, float]]:
    """The vertices of the front's step line (drawn ``steps-post``), by error: at each error, the
    best rate reachable with no more error. It runs on to the largest error of the compared rows,
    so every dominated point lies under it. Empty when there is no line to draw."""
    on_front = sorted((p for p in points if p.index in overlay.front), key=lambda p: (p.error, -p.rate))
    if not on_front:
        return []
    vertices = [(p.error, p.rate) for p in on_front]
    last = max((p.error for p in points if p.index in overlay.dominated), default=vertices[-1][0])
    if last > vertices[-1][0]:
        vertices.append((last, vertices[-1][1]))
    return vertices if len(vertices) > 1 else []


def _step_segments(vertices: list[tuple[float, float]]) -> list[tuple[float, float, float, float]]:
    """The segments ``steps-post`` draws through ``vertices``: across, then up or down."""
    segments = []
    for (x0, y0), (x1, y1) in zip(vertices, vertices[1:]):
        segments.append((x0, y0, x1, y0))
        if y1 != y0:
            segments.append((x1, y0, x1, y1))
    return segments


def _draw_front(axes, points: tuple[Point, ...], overlay: Overlay) -> None:
    """The front's step line and the dominated points redrawn hollow (white face, their series'
    edge colour), each with its legend entry when there is one to show."""
    vertices = front_line(points, overlay)
    if vertices:
        axes.plot([x for x, _ in vertices], [y for _, y in vertices], drawstyle="steps-post", color=_FRONT_COLOR,
                  linewidth=3, alpha=0.45, zorder=1.5, solid_joinstyle="miter", label=FRONT_LABEL)
    dominated = [p for p in points if p.index in overlay.dominated and p.kind != "reference"]
    styles = {series.label: (series.marker, series.color, 7) for series in SERIES}
    styles["int8"] = ("P", "tab:gray", _MARKER_SIZES["int8"])
    for kind, (marker, color, size) in styles.items():
        rows = [p for p in dominated if p.kind == kind]
        if rows:
            axes.plot([p.error for p in rows], [p.rate for p in rows], marker=marker, markersize=size,
                      markerfacecolor="white", markeredgecolor=color, linestyle="none")
    if dominated:  # the legend's sample: a hollow circle, whatever the series
        axes.plot([], [], marker="o", markersize=7, markerfacecolor="white", markeredgecolor=_FRONT_COLOR,
                  linestyle="none", label=DOMINATED_LABEL)


def _by_rate(point: Point) -> tuple[bool, float]:
    return (math.isnan(point.rate), point.rate)  # as pandas sorts: NaN last


# A plot stays readable (and fast: text layout is most of the drawing time) with at most this many
# point labels; denser plots label an evenly spaced subset.
MAX_LABELS = 30


def _draw_labels(figure, axes, points: tuple[Point, ...], overlay: Overlay, legend) -> None:
    """Label the points (an evenly spaced subset of a dense plot), each where it collides least
    with the other labels, markers, rings, lines, arrows and the legend (``labels.place``). Runs
    last, on the final axis limits."""
    from .labels import Label, place

    if not points:
        return
    renderer = figure.canvas.get_renderer()
    axes.get_xlim(), axes.get_ylim()  # applies the pending autoscale: the transform below uses the limits
    to_pixels = axes.transData.transform
    pixels_per_point = figure.dpi / 72
    shown = points[::-(-len(points) // MAX_LABELS)]  # ceil: every step-th point

    def pixels(xy: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(float(x), float(y)) for x, y in to_pixels(xy)] if xy else []

    def square(centre, size_points):
        r = size_points / 2 * pixels_per_point
        return (centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r)

    failing = overlay.failing
    sizes = {p.index: _RING_SIZE if p.index in failing else _MARKER_SIZES.get(p.kind, 7) for p in points}
    at = dict(zip((p.index for p in points), pixels([(p.error, p.rate) for p in points])))
    before = pixels([(error * 100, rate) for _, error, rate in overlay.previous])
    markers = [square(at[p.index], sizes[p.index]) for p in points] + [square(xy, 6) for xy in before]
    markers.append(tuple(legend.get_window_extent(renderer).extents))
    segments = []
    for series in SERIES:
        if series.connect:
            line = [at[p.index] for p in sorted((p for p in points if p.kind == series.label), key=_by_rate)]
            segments += [(*a, *b) for a, b in zip(line, line[1:])]
    segments += [(*xy, *at[index]) for xy, (index, _, _) in zip(before, overlay.previous)]
    for x0, y0, x1, y1 in _step_segments(front_line(points, overlay)):
        start, end = pixels([(x0, y0), (x1, y1)])
        segments.append((*start, *end))
    bounds = tuple(axes.bbox.extents)
    for x, _ in pixels([(limit * 100, 0.0) for _, limit in overlay.error_limits]):
        segments.append((x, bounds[1], x, bounds[3]))

    # Each label is drawn first and measured as drawn (a name may span lines), then moved.
    texts, labels = [], []
    for p in shown:
        # Names are drawn as written: a "$" pair in a plot name is not mathtext.
        text = axes.annotate(p.label, (p.error, p.rate), textcoords="offset pixels", xytext=(0, 0),
                             ha="left", va="bottom", fontsize=_LABEL_SIZE, parse_math=False)
        extent = text.get_window_extent(renderer)
        texts.append(text)
        labels.append(Label(*at[p.index], extent.width, extent.height, sizes[p.index] / 2 * pixels_per_point))
    for text, offset in zip(texts, place(labels, markers, segments, bounds, gap=3 * pixels_per_point,
                                              points=[at[p.index] for p in points])):
        text.xyann = offset


_LABEL_SIZE = 8
_MARKER_SIZES = {"reference": 11, "int8": 11}  # the series' markers are 7 points
_RING_SIZE = 16


def _draw_overlay(axes, points: tuple[Point, ...], overlay: Overlay) -> None:
    colors = {series.label: series.color for series in SERIES}
    by_limit: dict[float, list[str]] = {}
    for label, limit in overlay.error_limits:
        by_limit.setdefault(limit, []).append(label)
    for limit, labels in by_limit.items():
        # One line per limit; it takes its series' colour when it bounds a single series.
        color = colors[labels[0]] if len(labels) == 1 else "tab:gray"
        names = ", ".join(label.split(" (")[0] for label in labels)
        axes.axvline(limit * 100, color=color, linestyle="--", linewidth=1, alpha=0.8,
                     label=f"max error {limit:.1%}: {names}")
    by_index = {p.index: p for p in points}
    if overlay.previous:
        before_x = [error * 100 for _, error, _ in overlay.previous]
        before_y = [rate for _, _, rate in overlay.previous]
        axes.plot(before_x, before_y, marker="o", color="tab:gray", alpha=0.35, linestyle="none",
                  markersize=6, label="baseline run")
        for (index, error, rate) in overlay.previous:
            now = by_index[index]
            if abs(error * 100 - now.error) > 1e-9 or abs(rate - now.rate) > 1e-9:
                axes.annotate("", xy=(now.error, now.rate), xytext=(error * 100, rate),
                              arrowprops={"arrowstyle": "->", "color": "tab:gray", "alpha": 0.6})
    failing = [p for p in points if p.index in overlay.failing]
    if failing:
        axes.plot([p.error for p in failing], [p.rate for p in failing], marker="o", markersize=16,
                  markerfacecolor="none", markeredgecolor="tab:red", markeredgewidth=2, linestyle="none",
                  label="failed gate")


def figure_bytes(figure, image_format: str) -> bytes:
    """The figure encoded as ``png`` or ``svg``, byte-identical across runs on one machine."""
    import matplotlib

    buffer = io.BytesIO()
    if image_format == "png":
        figure.savefig(buffer, format="png", metadata={"Software": None})
    elif image_format == "svg":
        # SVG ids are random unless salted, and the date is embedded unless removed.
        with matplotlib.rc_context({"svg.hashsalt": "pytest-compviz"}):
            figure.savefig(buffer, format="svg", metadata={"Date": None})
    else:
        raise ValueError(f"unsupported image format {image_format!r} (use png or svg)")
    return buffer.getvalue()
