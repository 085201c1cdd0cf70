"""Comparing a row with the same configuration in a saved run: the row key that matches them and
the regression outcome. Pure data; the saved run itself is read by ``baseline``.

A row's identity is the input it came from (the file's name), its model and its configuration.
The input counts because two files may hold the same model and modes (``llama2_sym.csv`` and
``llama2_asym.csv``), and a file whose first column is ``mode`` has no model of its own (``model``
is None): without the input, ``llama.csv`` and ``phi.csv`` would be one set of rows. A saved row
with no input (a results CSV given as the baseline) matches any input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config.rules import Tolerances

RowKey = tuple  # (input name or None, model or None, mode, %int4, %int8, lora rank or None)


def input_name(path) -> str:
    """The input part of a row's identity: the file's name, as saved runs record it."""
    from pathlib import PurePath

    return PurePath(str(path)).name


def row_key(input, model, mode, int4, int8, lora) -> RowKey:
    """Numbers rounded so that 0.19999999999999996 and 0.2 are one configuration."""
    rank = None if lora is None or (isinstance(lora, float) and math.isnan(lora)) else round(float(lora), 6)
    return (None if input is None else str(input), None if model is None else str(model), str(mode),
            round(float(int4), 6), round(float(int8), 6), rank)


@dataclass(frozen=True)
class Regression:
    baseline_error: float
    error: float
    baseline_rate: float
    rate: float
    error_tolerance: float
    rate_tolerance: float
    source: str  # where the tolerances came from, for the message
    delta_stderr: float | None = None  # standard error of the error's change (core.noise), if known
    significance: float | None = None  # a rule's z: an error increase must also be this significant
    fail_on_improvement: bool = False  # also fail when the row got better beyond the tolerance
    # --compviz-strict: a rise beyond the tolerance that is only below the rule's significance fails
    # this row's own check (not the file's schema item, which -k may leave out).
    strict: bool = False

    @property
    def error_delta(self) -> float:
        return self.error - self.baseline_error

    @property
    def rate_delta(self) -> float:
        return self.rate - self.baseline_rate

    @property
    def z(self) -> float | None:
        """The error change in standard errors; None without a standard error."""
        if self.delta_stderr is None:
            return None
        if self.delta_stderr == 0:
            return math.copysign(math.inf, self.error_delta) if self.error_delta else 0.0
        return self.error_delta / self.delta_stderr

    @property
    def significant(self) -> bool:
        """Without a z to meet, or a standard error to measure against, every change counts."""
        return self.significance is None or self.z is None or self.z >= self.significance - 1e-12

    @property
    def error_regressed(self) -> bool:
        return self.error_delta > self.error_tolerance + 1e-12 and self.significant

    @property
    def within_noise(self) -> bool:
        """Rose beyond the tolerance, and passes only because the rise is not significant."""
        return self.error_delta > self.error_tolerance + 1e-12 and not self.significant

    @property
    def improved(self) -> bool:
        """Better than the baseline beyond the tolerance: the baseline is out of date."""
        return -self.error_delta > self.error_tolerance + 1e-12 or self.rate_delta > self.rate_tolerance + 1e-12

    @property
    def only_improved(self) -> bool:
        """Fails for an improvement alone (such a run may be saved as the new baseline)."""
        return self.fail_on_improvement and self.improved and not (self.error_regressed or self.rate_regressed)

    @property
    def rate_regressed(self) -> bool:
        return -self.rate_delta > self.rate_tolerance + 1e-12

    @property
    def passed(self) -> bool:
        return not (self.error_regressed or self.rate_regressed or (self.fail_on_improvement and self.improved)
                    or (self.strict and self.within_noise))

    def describe(self) -> str:
        """``average relative error 2.50% -> 3.40% (+0.90 pp, allowed +0.50 pp); ...``, with the
        change's standard error and z where a rule asks for significance, and what to do when
        the row only got better."""
        error = (f"average relative error {self.baseline_error:.2%} -> {self.error:.2%}"
                 f" ({self.error_delta * 100:+.2f} pp")
        if self.significance is not None and self.z is not None:
            assert self.delta_stderr is not None  # z is computed from it
            error += (f" ± {self.delta_stderr * 100:.2f} pp, z = {self.z:.2f}, needs z >= {self.significance:g}"
                      " to count")
        error += f", allowed +{self.error_tolerance * 100:.2f} pp)"
        rate = (f"compression rate {self.baseline_rate:.2f}x -> {self.rate:.2f}x"
                f" ({self.rate_delta:+.2f}x, allowed -{self.rate_tolerance:.2f}x)")
        text = f"{error}; {rate}"
        if self.strict and self.within_noise:
            text += "; passed only as noise (below the rule's significance), which --compviz-strict fails"
        return text

    def hint(self) -> str | None:
        """What to do about a failure by improvement alone."""
        if not self.only_improved:
            return None
        return ("better than the baseline beyond the tolerance (fail-on-improvement): the baseline is out of"
                " date; save this run as the new baseline")


__all__ = ["RowKey", "Regression", "Tolerances", "input_name", "row_key"]
