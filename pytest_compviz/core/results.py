"""The core pipeline: CSV -> validated table -> derived metrics, per model."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from .metrics import derive, precomputed_mismatches
from .pareto import Front, front
from ..problems import Problem
from .reader import read_results
from .schema import ResultsTable, validate
from ..spec import ERROR, MODE, RATE, SOURCE_COLUMNS, Settings


@dataclass(frozen=True)
class ModelResults:
    model: str
    frame: pd.DataFrame  # this model's rows, in file order, with the derived columns


@dataclass(frozen=True)
class Results:
    table: ResultsTable
    derived: pd.DataFrame  # every row, in file order, with the derived columns
    warnings: list[Problem] = field(default_factory=list)
    # A manifest's rows: row index -> the files each was assembled from, (kind, file, sha256).
    sources: dict = field(default_factory=dict)
    # Rows with per-sample outputs paired with their reference row's: index -> tuple of pairing.TaskPairing.
    paired: dict = field(default_factory=dict)

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

    @cached_property
    def fronts(self) -> dict[str, Front]:
        """Each model's Pareto front, decided once for the gates and the plot: on the unrounded
        figures, the reference row taking no part."""
        reference = self.settings.reference_mode
        return {
            entry.model: front([(int(index), float(error), float(rate)) for index, mode, error, rate
                                in zip(entry.frame.index, entry.frame[MODE], entry.frame[ERROR], entry.frame[RATE])
                                if str(mode) != reference])
            for entry in self.models()
        }


def load_results(path: str | os.PathLike, settings: Settings = Settings(), shown: str | None = None) -> Results:
    """Read (and, for a manifest, assemble from the evaluation outputs it names), validate and
    derive, in that order: nothing downstream of the checks sees numbers they have not passed.
    Raises ``InputUnusable`` or ``InvalidResults``. Messages name the file as ``shown`` (default:
    ``path`` as given)."""
    raw = read_results(path, shown)
    warnings: list[Problem] = []
    sources: dict = {}
    samples: dict = {}
    if is_manifest(raw.frame.columns):
        assembled = assemble_results(raw, path, settings)
        raw, sources, warnings, samples = assembled.raw, assembled.sources, list(assembled.warnings), assembled.samples
    table = validate(raw, settings)
    derived = derive(table)
    paired = _paired(table, derived, samples, settings) if samples else {}
    return Results(table, derived, warnings + precomputed_mismatches(table, derived), sources, paired)


def _paired(table, derived, samples: dict, settings: Settings) -> dict:
    """Each row's samples paired with its reference row's; InvalidResults for files that share too
    few items with the reference's (``core.pairing``)."""
    from ..problems import InvalidResults
    from .pairing import pair_rows

    paired, problems = pair_rows(derived, table.model_column, settings.reference_mode, samples, table.path,
                                 table.line_of)
    if problems:
        raise InvalidResults(table.path, problems)
    return paired


def is_manifest(columns) -> bool:
    """Whether a header is a manifest's (see ``core.manifest``): cheap, without importing it."""
    return any(column in SOURCE_COLUMNS for column in columns)


def assemble_results(raw, path, settings: Settings):
    """The manifest ``raw`` (read from ``path``) as a plain results table: ``manifest.Assembled``."""
    from pathlib import Path

    from .manifest import assemble, higher_is_better, lm_eval_metrics

    return assemble(raw, Path(path).parent, lm_eval_metrics(settings.metrics), higher_is_better(settings.metrics))
