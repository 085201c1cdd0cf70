"""Derived figures of each row against its model's reference row: average relative error and
compression rate. Pure pandas; the metric list comes from ``Settings``."""

from __future__ import annotations

import math
import re

import pandas as pd

from ..problems import Problem
from .schema import ResultsTable
from ..spec import ERROR, MODE, RATE, SIZE, Metric


def relative_errors(frame: pd.DataFrame, reference: pd.DataFrame, metrics: tuple[Metric, ...]) -> pd.DataFrame:
    """One column per metric: the row's relative error against the reference values of its model.

    Divided by the reference's magnitude, so worse is always positive: a higher-is-better metric
    whose reference is negative (a log-likelihood of -2.0 falling to -3.0) is 50% worse, not -50%.
    For the NNCF metrics (positive references) this is the NNCF script's arithmetic exactly. A
    reference of 0 is refused by the schema (``reference-nonzero``)."""
    errors = {}
    for metric in metrics:
        row, base = frame[metric.column], reference[metric.column]
        if metric.direction == "higher":
            errors[metric.column] = (base - row) / base.abs()
        elif metric.direction == "lower":
            errors[metric.column] = (row - base) / base.abs()
        else:  # similarity: 1 is identical to the reference
            errors[metric.column] = 1 - row
    return pd.DataFrame(errors, index=frame.index)


def derive(table: ResultsTable) -> pd.DataFrame:
    """The table's frame with ``average relative error`` and ``compression rate`` (re)computed.

    A precomputed column of the same name in the file is replaced; ``precomputed_mismatches``
    compares it first."""
    frame = table.frame
    base_rows = frame[frame[MODE] == table.settings.reference_mode]
    reference = base_rows.set_index(table.model_column).reindex(frame[table.model_column])
    reference.index = frame.index
    errors = relative_errors(frame, reference, table.settings.metrics)
    derived = frame.copy()
    # Summed left to right in the metric order, then divided: the NNCF script's arithmetic.
    total = errors.iloc[:, 0]
    for column in errors.columns[1:]:
        total = total + errors[column]
    derived[ERROR] = total / len(errors.columns)
    derived[RATE] = reference[SIZE] / frame[SIZE]
    return derived


# A precomputed value is "the same" within these tolerances, or half a unit of the last digit the
# file wrote when that is coarser (a file that rounds 6.13x to 6.1x is not wrong).
_ERROR_TOLERANCE = 0.001  # 0.1 percentage point
_RATE_TOLERANCE = 0.01


def precomputed_mismatches(table: ResultsTable, derived: pd.DataFrame) -> list[Problem]:
    """Warnings for precomputed error / rate columns that disagree with the recomputed values."""
    warnings: list[Problem] = []
    for column, suffix, tolerance, shown in (
        (ERROR, "%", _ERROR_TOLERANCE, lambda v: f"{v:.2%}"),
        (RATE, "x", _RATE_TOLERANCE, lambda v: f"{v:.2f}x"),
    ):
        if column not in table.frame.columns:
            continue
        for index, text in table.frame[column].items():
            parsed = _parse_precomputed(str(text), suffix)
            if parsed is None:
                if str(text).strip():
                    warnings.append(
                        Problem(table.path, "precomputed value is not a number; it is ignored",
                                table.line_of(index), column, repr(str(text)))
                    )
                continue
            value, resolution = parsed
            recomputed = derived.at[index, column]
            if abs(value - recomputed) > max(tolerance, resolution / 2) + 1e-12:
                warnings.append(
                    Problem(
                        table.path,
                        f"the file says {shown(value)}, recomputed {shown(recomputed)}; the recomputed"
                        " value is used",
                        table.line_of(index),
                        column,
                    )
                )
    return warnings


def _parse_precomputed(text: str, suffix: str) -> tuple[float, float] | None:
    """``"2.5%"`` -> (0.025, 0.001); ``"6.1x"`` -> (6.1, 0.1); ``"0.025"`` -> (0.025, 0.001).

    A bare error above 1 is read as percent (``"4.1"`` -> 0.041): an average relative error of
    more than 100% is far less likely than a percent column without its sign."""
    text = text.strip()
    scale = 1.0
    if suffix == "%" and text.endswith("%"):
        text, scale = text[:-1].strip(), 0.01
    elif suffix == "x" and text.lower().endswith("x"):
        text = text[:-1].strip()
    match = re.fullmatch(r"[+-]?\d*(?:\.(\d*))?(?:[eE][+-]?\d+)?", text)
    if match is None or not re.search(r"\d", text):
        return None
    if suffix == "%" and scale == 1.0 and abs(float(text)) > 1:
        scale = 0.01
    value = float(text) * scale
    if not math.isfinite(value):
        return None
    decimals = len(match.group(1) or "") if "e" not in text.lower() else 15
    return value, 10.0 ** (-decimals) * scale


def typed_resolution(text: str) -> tuple[float, float] | None:
    """A number as typed and the unit of its last digit: ``"0.70"`` -> (0.7, 0.01); None when the
    text is not a plain finite number."""
    text = text.strip()
    match = re.fullmatch(r"[+-]?\d*(?:\.(\d*))?(?:[eE]([+-]?\d+))?", text)
    if match is None or not re.search(r"\d", text):
        return None
    value = float(text)
    if not math.isfinite(value):
        return None
    decimals = len(match.group(1) or "") - int(match.group(2) or 0)
    return value, 10.0 ** (-decimals)
