"""The window gate: is a configuration's average relative error beyond what its own history
predicts? Pure arithmetic over plain points; the history itself is read by ``history``.

With ``n`` earlier passing runs of the configuration (mean ``m``, sample deviation ``s``) and this
run's own standard error ``σ``, the one-sided upper prediction bound at confidence ``c`` is

    m + t(c, n - 1) * sqrt(s² (1 + 1/n) + σ²)

(the prediction interval for one new observation, widened by this run's measurement noise, so a
noisy run is not failed for its noise alone). With fewer than ``MIN_RUNS`` runs, or when the runs
all gave the same figure (deterministic evaluations do), ``s`` says nothing; the gate then falls
back to the standard errors: ``m + z(c) * sqrt(σ² + σ_m²)``, ``σ_m`` being the standard error of the
history's mean. With no standard error anywhere that bound is ``m`` itself: any rise fails. There
is never "no boundary".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from statistics import NormalDist

from .names import short_commit

CONFIDENCE = 0.99  # one-sided: about one false alarm in a hundred stable runs
MIN_RUNS = 4  # fewer runs than this give no usable spread
WINDOW = "window"  # the check's name (an item per gated row)


@dataclass(frozen=True)
class Point:
    """One earlier run of a configuration."""

    commit: str | None
    error: float
    stderr: float | None = None


@dataclass(frozen=True)
class Window:
    """The earlier passing runs of each configuration (RowKey -> points, oldest first), at most
    ``size`` each, and where they came from, for messages."""

    points: Mapping  # RowKey -> points; history.reference.WindowPoints reads the history as asked
    size: int
    source: str  # e.g. "history .compviz-history"


@dataclass(frozen=True)
class WindowVerdict:
    method: str  # "prediction interval" or "stderr check"
    why: str  # why this method ("8 runs with spread", "2 runs, fewer than 4", "no variance over 9 runs")
    runs: int
    first: str | None  # oldest and newest commit of the window
    last: str | None
    mean: float
    spread: float  # s of the window (0 for the stderr check's no-variance case)
    stderr: float | None  # this run's
    bound: float
    value: float
    confidence: float = CONFIDENCE

    @property
    def passed(self) -> bool:
        return self.value <= self.bound + 1e-12

    def describe(self) -> str:
        """``window gate (prediction interval, 99% one-sided, last 8 passing runs a1b2c3d..e4f5a6b):
        error 5.20% > bound 4.90% (mean 4.10%, sd 0.30 pp, this run ± 0.10 pp)``"""
        span = f"{short_commit(self.first)}..{short_commit(self.last)}" if self.runs > 1 else short_commit(self.first)
        relation = "<=" if self.passed else ">"
        noise = f", this run ± {self.stderr * 100:.2f} pp" if self.stderr is not None else ", this run: no stderr"
        return (f"window gate ({self.method}: {self.why}; {self.confidence:.0%} one-sided; last {self.runs} passing"
                f" run{'s' if self.runs != 1 else ''} {span}): error {self.value:.2%} {relation} bound {self.bound:.2%}"
                f" (mean {self.mean:.2%}, sd {self.spread * 100:.2f} pp{noise})")


def window_verdict(points, value: float, stderr: float | None, confidence: float = CONFIDENCE) -> WindowVerdict | None:
    """The verdict for ``value`` (this run's error, with its standard error) over ``points``
    (oldest first); None without any point (a new configuration has no history to predict from)."""
    points = list(points)
    n = len(points)
    if n == 0:
        return None
    errors = [p.error for p in points]
    mean = math.fsum(errors) / n
    spread = math.sqrt(math.fsum((e - mean) ** 2 for e in errors) / (n - 1)) if n > 1 else 0.0
    own = stderr or 0.0
    common = dict(runs=n, first=points[0].commit, last=points[-1].commit, mean=mean, stderr=stderr, value=value,
                  confidence=confidence)
    if n >= MIN_RUNS and spread > 1e-12:
        t = t_quantile(confidence, n - 1)
        bound = mean + t * math.sqrt(spread ** 2 * (1 + 1 / n) + own ** 2)
        return WindowVerdict("prediction interval", f"t = {t:.2f}", spread=spread, bound=bound, **common)
    why = f"{n} run{'s' if n != 1 else ''}, fewer than {MIN_RUNS}" if n < MIN_RUNS else f"no variance over {n} runs"
    mean_stderr = math.sqrt(math.fsum((p.stderr or 0.0) ** 2 for p in points)) / n
    z = NormalDist().inv_cdf(confidence)
    bound = mean + z * math.sqrt(own ** 2 + mean_stderr ** 2)
    return WindowVerdict("stderr check", why, spread=spread, bound=bound, **common)


def apply_window(gates, results, window: Window):
    """``gates`` (``core.gates.FileGates``) with each compressed row's window verdict, where the
    window has earlier runs of its configuration."""
    from ..spec import ERROR, INT4, INT8, LORA_RANK, MODE
    from .regression import input_name, row_key

    table = results.table
    frame = results.derived
    rows = []
    for row in gates.rows:
        record = frame.loc[row.index]
        if row.is_reference:
            rows.append(row)
            continue
        lora = record[LORA_RANK] if LORA_RANK in frame.columns else None
        key = row_key(input_name(results.path), row.model if table.own_model else None, record[MODE], record[INT4],
                      record[INT8], lora)
        verdict = window_verdict(window.points.get(key, ())[-window.size:], float(record[ERROR]), row.error_stderr)
        rows.append(replace(row, window=verdict) if verdict is not None else row)
    return replace(gates, rows=tuple(rows))


# --- Student's t quantile (stdlib only) ------------------------------------------------------------


def t_quantile(p: float, dof: int) -> float:
    """The ``p`` quantile (p > 0.5) of Student's t with ``dof`` degrees of freedom, by bisection
    on its distribution function."""
    low, high = 0.0, 1e4
    for _ in range(200):
        mid = (low + high) / 2
        if _t_cdf(mid, dof) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _t_cdf(t: float, dof: int) -> float:
    x = dof / (dof + t * t)
    return 1 - 0.5 * _incomplete_beta(x, dof / 2, 0.5)


def _incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued fraction."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1) / (a + b + 2):
        return 1 - _incomplete_beta(1 - x, b, a)
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return front * result / a
