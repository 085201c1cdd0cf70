"""Standard errors of the average relative error and of its change since a baseline run,
propagated from the metrics' own (``<metric> stderr`` columns) to first order (the delta method).

Each term of the mean is a function of the row's value r and the fp32 row's value b:
``higher``: 1 - r/b, ``lower``: r/b - 1, ``similarity``: 1 - r. The metrics are taken as
independent of each other, so

    var(error) = sum over metrics of ((dt/dr * s_r)^2 + (dt/db * s_b)^2) / K^2

and the fp32 row's noise enters every row's error. A metric with no standard error counts as
exact (0): that can only make a gate stricter (a smaller error bar), never looser.

For a change since a baseline run, each term's change t_now - t_before is what varies. When the
fp32 figure of a metric is the same in both runs (measured once and reused) its noise is shared,
and enters only through the difference of the two derivatives, (dt_now/db - dt_before/db) * s_b,
instead of being counted once per run: counting it twice would widen the error bar and let a real
regression pass as noise.
"""

from __future__ import annotations

import math
from typing import Any

from ..spec import Metric, stderr_column


def _term_slopes(metric: Metric, r: float, b: float) -> tuple[float, float]:
    """(dt/dr, dt/db) of the metric's term at r, b."""
    if metric.direction == "similarity":
        return -1.0, 0.0
    sign = -1.0 if metric.direction == "higher" else 1.0
    return sign / b, -sign * r / (b * b)


def metric_stderr(row: dict, column: str) -> float | None:
    """A metric's standard error in a row, when it has a usable one (validated inputs and loaded
    baselines only hold finite values >= 0 or none)."""
    cell: Any = row.get(stderr_column(column))  # None or anything float() may refuse: caught below
    try:
        value = float(cell)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def has_stderr(rows, metrics) -> bool:
    """Whether any of ``rows`` (dicts) carries a standard error for any of ``metrics``."""
    return any(metric_stderr(row, m.column) is not None for row in rows for m in metrics)


def error_stderr(row: dict, base: dict, metrics) -> float | None:
    """The standard error of ``row``'s average relative error (fraction), ``base`` being its
    model's reference row; None when neither carries any metric standard error."""
    if not has_stderr((row, base), metrics):
        return None
    variance = 0.0
    for metric in metrics:
        column = metric.column
        dr, db = _term_slopes(metric, float(row[column]), float(base[column]))
        variance += (dr * (metric_stderr(row, column) or 0.0)) ** 2
        variance += (db * (metric_stderr(base, column) or 0.0)) ** 2
    return math.sqrt(variance) / len(metrics)


def _figure(row: dict, column: str) -> float | None:
    """A saved run's figure, if it is a finite number (a hand-edited or older baseline may lack it)."""
    try:
        value = float(row[column])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def delta_stderr(row: dict, base: dict, before: dict, before_base: dict | None, metrics) -> float | None:
    """The standard error of ``row``'s error minus ``before``'s (the same configuration in a
    baseline run, whose reference row is ``before_base``, if the run kept it). None when no row
    involved carries a metric standard error, or the baseline row lacks a metric's figure: the
    regression is then checked as without noise (stricter). Without ``before_base`` the earlier
    run's terms take this run's reference row as shared: a smaller error bar, never a wider one."""
    rows = [row, base, before] + ([before_base] if before_base is not None else [])
    if not has_stderr(rows, metrics):
        return None
    if any(_figure(before, m.column) is None for m in metrics):
        return None
    if before_base is not None and any(_figure(before_base, m.column) is None for m in metrics):
        before_base = None
    variance = 0.0
    for metric in metrics:
        column = metric.column
        b_now = float(base[column])
        b_before = float(before_base[column]) if before_base is not None else b_now
        dr_now, db_now = _term_slopes(metric, float(row[column]), b_now)
        dr_before, db_before = _term_slopes(metric, float(before[column]), b_before)
        variance += (dr_now * (metric_stderr(row, column) or 0.0)) ** 2
        variance += (dr_before * (metric_stderr(before, column) or 0.0)) ** 2
        s_now = metric_stderr(base, column) or 0.0
        if before_base is None or b_before == b_now:
            variance += ((db_now - db_before) * s_now) ** 2  # one measurement of fp32, shared
        else:
            s_before = metric_stderr(before_base, column) or 0.0
            variance += (db_now * s_now) ** 2 + (db_before * s_before) ** 2
    return math.sqrt(variance) / len(metrics)
