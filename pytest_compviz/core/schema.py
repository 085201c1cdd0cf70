"""Validation of a results table with pandera, reporting every problem with its CSV line.

Numbers are parsed here, once, from the raw text cells (so messages quote what the file says);
pandera then checks the parsed frame: per-column rules and the rules that span rows (ratio sums,
one reference row per model, duplicate configurations). pandera is imported only when validating.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
import pandas as pd

from ..problems import InvalidResults, Problem
from .reader import RawTable
from ..spec import INT4, INT8, LORA_RANK, MODE, PLOT_NAME, SIZE, Metric, Settings, stderr_column

_MAX_SHOWN_VALUE = 60  # characters of a cell quoted in a message


@dataclass(frozen=True)
class ResultsTable:
    """A validated results file: numeric columns are floats, text columns stripped str."""

    path: str
    frame: pd.DataFrame
    model_column: str
    lines: pd.Series
    settings: Settings
    own_model: bool = True  # False: named after the file (its first column is ``mode``)

    def line_of(self, index) -> int:
        return self._line_numbers[index]

    @cached_property
    def _line_numbers(self) -> dict:
        # Looked up once per row by the gates, the baseline and the reports: a dict, not .loc.
        return {index: int(line) for index, line in self.lines.items()}


def parse_numbers(raw: RawTable, settings: Settings = Settings()) -> tuple[pd.DataFrame, dict[str, list]]:
    """Float copies of the numeric columns present; and, per column, the rows whose non-empty text
    is not a number at all. Nothing is checked yet: that is ``validate``'s job."""
    return _parse_numbers(raw.frame, _numeric_columns(settings))


def validate(raw: RawTable, settings: Settings = Settings(), parsed: tuple | None = None) -> ResultsTable:
    """Parse (unless ``parsed`` is ``parse_numbers``' result) and check ``raw``; raise
    ``InvalidResults`` listing every problem found."""
    values, unparsed = parsed if parsed is not None else parse_numbers(raw, settings)
    problems = [
        Problem(raw.path, "is not a number", raw.line_of(i), column, _shown(raw.frame.at[i, column]))
        for column, indexes in unparsed.items()
        for i in indexes
    ]
    problems += _pandera_problems(raw, values, settings, skip={(c, i) for c, ix in unparsed.items() for i in ix})
    if problems:
        problems.sort(key=lambda p: (p.line or 0, _column_order(raw.frame, p.column)))
        raise InvalidResults(raw.path, problems)
    return ResultsTable(raw.path, values, raw.model_column, raw.lines, settings, raw.own_model)


def _numeric_columns(settings: Settings) -> list[str]:
    metrics = [m.column for m in settings.metrics]
    return [INT4, INT8, LORA_RANK, SIZE] + metrics + [stderr_column(c) for c in metrics]


def _parse_numbers(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, dict[str, list]]:
    """Float copies of the numeric columns present; and, per column, the rows whose non-empty text
    is not a number at all (``nan``/``inf`` are numbers here and fail the finiteness rule)."""
    values = frame.copy()
    unparsed: dict[str, list] = {}
    for column in columns:
        if column not in frame.columns:
            continue
        text = frame[column]
        number = pd.to_numeric(text, errors="coerce").astype("float64")
        bad = number.isna() & (text != "") & ~text.str.lower().isin(("nan", "+nan", "-nan"))
        if bad.any():
            # pandas before 3 reads an overflowing "1e400" as no number; Python reads it as inf
            # (which then fails the finiteness rule, as in pandas 3): ask Python about the rest.
            for index in text.index[bad]:
                try:
                    number.at[index] = float(text.at[index])
                except ValueError:
                    continue
                bad.at[index] = False
        if bad.any():
            unparsed[column] = list(text.index[bad])
        values[column] = number
    return values, unparsed


# --- the pandera schema ------------------------------------------------------------------------

# Each check is named by a key of this table; a failing cell gets this message.
_CELL_MESSAGES = {
    "finite": "is not a finite number",
    "ratio": "must be between 0 and 1",
    "positive": "must be greater than 0",
    "whole": "must be a positive whole number",
    "nonempty": "must not be empty",
    "nonnegative": "must not be negative",
}


def _finite(s: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(s.to_numpy(dtype="float64")), index=s.index)


def _bounds_check(metric: Metric):
    import pandera.pandas as pa

    low, high = metric.minimum, metric.maximum
    if low is None and high is None:
        return None
    name = f"bounds:{_fmt_bound(low)}:{_fmt_bound(high)}"
    return pa.Check(
        lambda s: (s >= (-math.inf if low is None else low)) & (s <= (math.inf if high is None else high)),
        name=name,
    )


def _stderr_range_check(metric: Metric):
    import pandera.pandas as pa

    if metric.minimum is None or metric.maximum is None:
        return None
    most = (metric.maximum - metric.minimum) / 2
    return pa.Check(lambda s: s <= most, name=f"stderr-range:{most:g}")


def _fmt_bound(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _number_column(checks: list, nullable: bool = False, required: bool = True):
    import pandera.pandas as pa

    finite = pa.Check(_finite, name="finite")
    return pa.Column("float64", checks=[finite, *[c for c in checks if c is not None]], nullable=nullable, required=required)


# Pure in its arguments (Settings is frozen) and ~10 ms to build: one schema per model column and
# settings, kept for the few such pairs a process sees (the suite and a sweep load many files).
@functools.lru_cache(maxsize=16)
def _build_schema(model_column: str, settings: Settings):
    import pandera.pandas as pa

    nonempty = pa.Check(lambda s: s != "", name="nonempty")
    ratio = pa.Check(lambda s: (s >= 0) & (s <= 1), name="ratio")
    positive = pa.Check(lambda s: s > 0, name="positive")
    whole = pa.Check(lambda s: (s > 0) & (s == np.floor(s)), name="whole")
    columns = {
        model_column: pa.Column(None, checks=[nonempty]),
        MODE: pa.Column(None, checks=[nonempty]),
        INT4: _number_column([ratio]),
        INT8: _number_column([ratio]),
        LORA_RANK: _number_column([whole], nullable=True, required=False),
        PLOT_NAME: pa.Column(None, required=False),
        SIZE: _number_column([positive]),
    }
    nonnegative = pa.Check(lambda s: s >= 0, name="nonnegative")
    for metric in settings.metrics:
        columns[metric.column] = _number_column(
            [_bounds_check(metric), positive if metric.positive else None]
        )
        # Optional, and empty where a source gives no standard error (lm-eval's "N/A"). Within a
        # bounded metric's range it is at most half the range (a spread of values in [0, 1] has a
        # standard deviation of at most 0.5): a larger one is a unit slip, e.g. points for a fraction.
        columns[stderr_column(metric.column)] = _number_column(
            [nonnegative, _stderr_range_check(metric)], nullable=True, required=False)
    rules = _row_rules(model_column, settings)
    return pa.DataFrameSchema(
        columns,
        checks=[pa.Check(rule.check, name=name) for name, rule in rules.items()],
        strict=False,
    ), rules


def _pandera_problems(raw: RawTable, values: pd.DataFrame, settings: Settings, skip: set) -> list[Problem]:
    import pandera.pandas as pa

    schema, rules = _build_schema(raw.model_column, settings)
    try:
        schema.validate(values, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    problems: list[Problem] = []
    seen_cells: set = set(skip)
    seen_rows: set = set()
    # Per-column failures first: a cell that breaks its column's rule is reported for that, and
    # not again by a rule spanning rows (a 0 reference size is "must be greater than 0").
    cases = cases.sort_values("schema_context", key=lambda c: c != "Column", kind="stable")
    for case in cases.itertuples(index=False):
        check = str(case.check)
        if check == "column_in_dataframe":
            problems.append(Problem(raw.path, "required column is missing", 1, str(case.failure_case)))
            continue
        index = case.index
        if index is None or (isinstance(index, float) and math.isnan(index)):
            # A check that could not run at all (a column of the wrong type): the cells that
            # caused it are reported on their own.
            continue
        if check in rules:
            if (check, index) not in seen_rows:
                seen_rows.add((check, index))
                for problem in rules[check].problems(raw, values, index):
                    cell = (problem.column, index)
                    if cell not in seen_cells:
                        seen_cells.add(cell)
                        problems.append(problem)
            continue
        column = str(case.column)
        if (column, index) in seen_cells:
            continue  # one message per cell: the first failed rule says enough
        seen_cells.add((column, index))
        text = raw.frame.at[index, column]
        problems.append(
            Problem(raw.path, _cell_message(check, text), raw.line_of(index), column,
                    _shown(text) if text != "" else None)
        )
    return problems


def _cell_message(check: str, text: str) -> str:
    if check == "not_nullable":
        return "is empty; a number is required" if text == "" else "is not a finite number"
    if check.startswith("stderr-range:"):
        return (f"must be at most {check.split(':', 1)[1]}, half the metric's range (a standard error in"
                " percent where a fraction is expected?)")
    if check.startswith("bounds:"):
        _, low, high = check.split(":")
        if low and high:
            return f"must be between {low} and {high}"
        return f"must be at least {low}" if low else f"must be at most {high}"
    return _CELL_MESSAGES.get(check, check)


# --- rules that span rows ------------------------------------------------------------------------


@dataclass(frozen=True)
class _RowRule:
    check: Callable[[pd.DataFrame], pd.Series]  # True where the row is fine
    problems: Callable[[RawTable, pd.DataFrame, object], list[Problem]]


def _row_rules(model_column: str, settings: Settings) -> dict[str, _RowRule]:
    reference = settings.reference_mode

    def has(frame: pd.DataFrame, *columns: str) -> bool:
        return all(c in frame.columns for c in columns)

    def ratio_sum_ok(frame: pd.DataFrame) -> pd.Series:
        if not has(frame, INT4, INT8):
            return pd.Series(True, index=frame.index)
        a, b = frame[INT4], frame[INT8]
        own_rules_pass = a.between(0, 1) & b.between(0, 1)  # else that cell's rule says it all
        return ~(own_rules_pass & (a + b > 1 + 1e-9))

    def ratio_sum_problem(raw: RawTable, frame: pd.DataFrame, i) -> list[Problem]:
        a, b = raw.frame.at[i, INT4], raw.frame.at[i, INT8]
        total = frame.at[i, INT4] + frame.at[i, INT8]
        return [Problem(raw.path, "%int4 + %int8 must be at most 1", raw.line_of(i), INT8, f"{a} + {b} = {total:g}")]

    def key_frame(frame: pd.DataFrame) -> pd.DataFrame:
        columns = [model_column, MODE, INT4, INT8] + ([LORA_RANK] if LORA_RANK in frame.columns else [])
        return frame[columns]

    def unique_ok(frame: pd.DataFrame) -> pd.Series:
        if not has(frame, model_column, MODE, INT4, INT8):
            return pd.Series(True, index=frame.index)
        return ~key_frame(frame).duplicated(keep="first") | reference_rows(frame)

    def unique_problem(raw: RawTable, frame: pd.DataFrame, i) -> list[Problem]:
        keys = key_frame(frame)
        same = (keys == keys.loc[i]) | (keys.isna() & keys.loc[i].isna())
        first = same.all(axis=1).idxmax()
        hint = "" if LORA_RANK in frame.columns else f" (the file has no {LORA_RANK!r} column)"
        return [Problem(
            raw.path,
            f"duplicate configuration: line {raw.line_of(first)} has the same model, mode, %int4, %int8"
            f" and lora rank{hint}",
            raw.line_of(i),
            MODE,
            _shown(raw.frame.at[i, MODE]),
        )]

    def reference_rows(frame: pd.DataFrame) -> pd.Series:
        return frame[MODE] == reference

    def one_reference_ok(frame: pd.DataFrame) -> pd.Series:
        """False on each extra reference row, and on the first row of a model with none."""
        if not has(frame, model_column, MODE):
            return pd.Series(True, index=frame.index)
        is_reference = reference_rows(frame)
        extra = is_reference & is_reference.groupby(frame[model_column]).cumsum().gt(1)
        with_reference = set(frame.loc[is_reference, model_column])
        first_of_model = ~frame[model_column].duplicated(keep="first") & (frame[model_column] != "")
        lacking = first_of_model & ~frame[model_column].isin(with_reference)
        return ~(extra | lacking)

    def one_reference_problem(raw: RawTable, frame: pd.DataFrame, i) -> list[Problem]:
        model = frame.at[i, model_column]
        line = raw.line_of(i)
        if frame.at[i, MODE] == reference:
            same = frame.index[(frame[model_column] == model) & reference_rows(frame)]
            return [Problem(
                raw.path,
                f"second reference row ({reference!r}) for model {model!r}; the first is on line"
                f" {raw.line_of(same[0])}; exactly one is needed",
                line, MODE, _shown(raw.frame.at[i, MODE]),
            )]
        return [Problem(
            raw.path,
            f"model {model!r} has no reference row (mode {reference!r}); exactly one is needed to compute"
            " relative errors and compression rates",
            line, MODE,
        )]

    divisors = [SIZE] + [m.column for m in settings.metrics if m.divides_by_reference]

    def reference_nonzero_ok(frame: pd.DataFrame) -> pd.Series:
        ok = pd.Series(True, index=frame.index)
        if not has(frame, MODE):
            return ok
        for column in divisors:
            if column in frame.columns:
                ok &= ~(reference_rows(frame) & (frame[column] == 0))
        return ok

    def reference_nonzero_problem(raw: RawTable, frame: pd.DataFrame, i) -> list[Problem]:
        return [
            Problem(
                raw.path, "reference value must not be 0 (relative errors divide by it)", raw.line_of(i),
                column, _shown(raw.frame.at[i, column]),
            )
            for column in divisors
            if column in frame.columns and frame.at[i, column] == 0
        ]

    return {
        "ratio-sum": _RowRule(ratio_sum_ok, ratio_sum_problem),
        "unique-configuration": _RowRule(unique_ok, unique_problem),
        "one-reference": _RowRule(one_reference_ok, one_reference_problem),
        "reference-nonzero": _RowRule(reference_nonzero_ok, reference_nonzero_problem),
    }


# --- formatting --------------------------------------------------------------------------------


def _shown(text: str) -> str:
    """A cell as quoted in a message: numbers bare, anything else in quotes, long text cut."""
    if len(text) > _MAX_SHOWN_VALUE:
        text = text[: _MAX_SHOWN_VALUE - 3] + "..."
    return text if _NUMBER.fullmatch(text) else repr(text)


# What reads as a number in a CSV; Python's float() also takes "1_000", which a CSV reader doesn't.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.IGNORECASE)


def _column_order(frame: pd.DataFrame, column: str | None) -> int:
    if column is None or column not in frame.columns:
        return -1
    return frame.columns.get_loc(column)
