"""Comparing a row with the same configuration in a saved run: the row key that matches them and
the regression outcome. Pure data; the saved run itself is read by ``baseline``.

A row's model is the file's model column; a file whose first column is ``mode`` has no model of
its own (``model`` is None), and its rows match saved rows with no model on the configuration
alone, so renaming the file does not break matching.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config.rules import Tolerances

RowKey = tuple  # (model or None, mode, %int4, %int8, lora rank or None)


def row_key(model, mode, int4, int8, lora) -> RowKey:
    """Numbers rounded so that 0.19999999999999996 and 0.2 are one configuration."""
    rank = None if lora is None or (isinstance(lora, float) and math.isnan(lora)) else round(float(lora), 6)
    return (None if model is None else str(model), str(mode), round(float(int4), 6), round(float(int8), 6), rank)


@dataclass(frozen=True)
class Regression:
    baseline_error: float
    error: float
    baseline_rate: float
    rate: float
    error_tolerance: float
    rate_tolerance: float
    source: str  # where the tolerances came from, for the message

    @property
    def error_delta(self) -> float:
        return self.error - self.baseline_error

    @property
    def rate_delta(self) -> float:
        return self.rate - self.baseline_rate

    @property
    def error_regressed(self) -> bool:
        return self.error_delta > self.error_tolerance + 1e-12

    @property
    def rate_regressed(self) -> bool:
        return -self.rate_delta > self.rate_tolerance + 1e-12

    @property
    def passed(self) -> bool:
        return not (self.error_regressed or self.rate_regressed)

    def describe(self) -> str:
        """``average relative error 2.50% -> 3.40% (+0.90 pp, allowed +0.50 pp); ...``"""
        error = (f"average relative error {self.baseline_error:.2%} -> {self.error:.2%}"
                 f" ({self.error_delta * 100:+.2f} pp, allowed +{self.error_tolerance * 100:.2f} pp)")
        rate = (f"compression rate {self.baseline_rate:.2f}x -> {self.rate:.2f}x"
                f" ({self.rate_delta:+.2f}x, allowed -{self.rate_tolerance:.2f}x)")
        return f"{error}; {rate}"


__all__ = ["RowKey", "Regression", "Tolerances", "row_key"]
