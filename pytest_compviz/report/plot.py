"""The accuracy/footprint trade-off plot of one model.

Built on ``matplotlib.figure.Figure`` with the Agg canvas: no pyplot, so no global figure state
and no GUI backend, and it is safe to render several plots in one process.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import pandas as pd

from ..spec import ERROR, LORA_RANK, MODE, PLOT_NAME, RATE


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


def classify(frame: pd.DataFrame, baseline_mode: str) -> pd.Series:
    """Each row's series label, or ``"baseline"`` / ``"int8"`` for the reference markers."""

    def kind(row) -> str:
        mode = str(row[MODE])
        rank = row[LORA_RANK] if LORA_RANK in row.index else math.nan
        if mode == baseline_mode:
            return "baseline"
        if rank == rank and rank is not None:  # not NaN
            return LORA.label
        if "gptq" in mode.lower():
            return GPTQ.label
        if mode == "int4":
            return DATA_FREE.label
        if mode == "int8":
            return "int8"
        return MIXED.label

    return frame.apply(kind, axis=1)


def _label(row) -> str:
    name = row[PLOT_NAME] if PLOT_NAME in row.index else ""
    return str(name) if isinstance(name, str) and name else str(row[MODE])


def trade_off_figure(frame: pd.DataFrame, model: str, baseline_mode: str, metric_count: int):
    """The figure for one model's derived rows (``average relative error``, ``compression rate``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 6), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    kinds = classify(frame, baseline_mode)
    x = frame[ERROR] * 100
    y = frame[RATE]

    for series in SERIES:
        rows = frame[kinds == series.label].sort_values(RATE, kind="stable")
        if rows.empty:
            continue
        axes.plot(
            rows[ERROR] * 100, rows[RATE], marker=series.marker, color=series.color,
            linestyle="-" if series.connect and len(rows) > 1 else "none", markersize=7,
            label=series.label,
        )
    for kind, marker, color, name in (
        ("baseline", "*", "black", f"{baseline_mode} (baseline)"),
        ("int8", "P", "tab:gray", "int8"),
    ):
        rows = frame[kinds == kind]
        if not rows.empty:
            axes.plot(rows[ERROR] * 100, rows[RATE], marker=marker, color=color, linestyle="none",
                      markersize=11, label=name)

    for index, row in frame.iterrows():
        label = baseline_mode if kinds[index] == "baseline" else _label(row)
        axes.annotate(label, (x[index], y[index]), textcoords="offset points", xytext=(6, 5), fontsize=8)

    axes.set_title(f"Accuracy/footprint trade-off: {model}")
    axes.set_xlabel(
        f"average relative error vs {baseline_mode}, % (mean over {metric_count} metric"
        f"{'s' if metric_count != 1 else ''})"
    )
    axes.set_ylabel(f"compression rate ({baseline_mode} size / model size)")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    axes.margins(x=0.12, y=0.08)
    return figure


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
