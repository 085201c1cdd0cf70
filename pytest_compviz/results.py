"""The core pipeline: CSV -> validated table -> derived metrics, per model."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .metrics import derive, precomputed_mismatches
from .problems import Problem
from .reader import RawTable, read_results
from .schema import ResultsTable, parse_numbers, validate
from .spec import Settings


@dataclass(frozen=True)
class ModelResults:
    model: str
    frame: pd.DataFrame  # this model's rows, in file order, with the derived columns


@dataclass(frozen=True)
class Results:
    table: ResultsTable
    derived: pd.DataFrame  # every row, in file order, with the derived columns
    warnings: list[Problem] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.table.path

    @property
    def settings(self) -> Settings:
        return self.table.settings

    def models(self) -> list[ModelResults]:
        """One entry per model, in the order models first appear in the file."""
        column = self.table.model_column
        return [
            ModelResults(str(model), rows)
            for model, rows in self.derived.groupby(column, sort=False)
        ]


def load_results(path: str | os.PathLike, settings: Settings = Settings(), shown: str | None = None) -> Results:
    """Read, validate and derive; raises ``InputUnusable`` or ``InvalidResults``. Messages name
    the file as ``shown`` (default: ``path`` as given)."""
    return check_results(parse_results(path, settings, shown))


@dataclass(frozen=True)
class Parsed:
    """A results file read and its numbers parsed, not yet checked. ``unchecked`` holds the
    derived figures when every number parsed and they could be derived: the checks may still
    reject them, so they serve only work that can be thrown away (drawing ahead)."""

    raw: RawTable
    settings: Settings
    numbers: tuple  # schema.parse_numbers: (values, unparsed)
    unchecked: Results | None


def parse_results(path: str | os.PathLike, settings: Settings = Settings(), shown: str | None = None) -> Parsed:
    """The first half of ``load_results``: read the file (``InputUnusable``) and parse its numbers."""
    raw = read_results(path, shown)
    values, unparsed = numbers = parse_numbers(raw, settings)
    unchecked = None
    if not unparsed:
        try:
            with np.errstate(all="ignore"):  # zeros and negatives the checks will name
                table = ResultsTable(raw.path, values, raw.model_column, raw.lines, settings)
                derived = derive(table)
                unchecked = Results(table, derived, precomputed_mismatches(table, derived))
        except Exception:  # noqa: BLE001 - data the checks will reject: derived after them, or never
            unchecked = None
    return Parsed(raw, settings, numbers, unchecked)


def check_results(parsed: Parsed) -> Results:
    """The second half of ``load_results``: the pandera checks (``InvalidResults``), then the
    derived figures (those of ``parsed.unchecked``, now checked)."""
    table = validate(parsed.raw, parsed.settings, parsed.numbers)
    if parsed.unchecked is not None:
        return parsed.unchecked
    derived = derive(table)
    return Results(table, derived, precomputed_mismatches(table, derived))
