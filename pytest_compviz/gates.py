"""Applying threshold rules to derived results: one outcome per (row, check), computed once per
file so the pytest items only look their outcome up."""

from __future__ import annotations

from dataclasses import dataclass

from .baseline import Baseline, Regression, Tolerances, row_key
from .results import Results
from .rules import MAX_ERROR_INCREASE, MAX_RATE_DECREASE, Check, Rule, winning_checks
from .spec import ERROR, INT4, INT8, LORA_RANK, MODE, PLOT_NAME, RATE, SIZE


@dataclass(frozen=True)
class Outcome:
    check: Check
    rule: Rule
    value: float | None  # None when the file has no such column
    passed: bool
    message: str  # the one-line failure message (also built for passes, for reports)


@dataclass(frozen=True)
class RowGates:
    row_id: str  # unique within the file; the pytest node name of the row
    label: str  # how messages name the row: "int4 (data-free)"
    line: int
    model: str
    mode: str
    is_baseline: bool
    outcomes: tuple[Outcome, ...]
    properties: tuple[tuple[str, object], ...]  # the row's figures, for JUnit user_properties
    index: object = None  # the row's index in ``Results.derived``
    regression: Regression | None = None  # set when a baseline run has this configuration
    strict: bool = False  # --compviz-strict: an ungated row fails

    @property
    def ungated(self) -> bool:
        return not self.is_baseline and not self.outcomes and self.regression is None

    @property
    def failed(self) -> bool:
        return (any(not o.passed for o in self.outcomes) or (self.regression is not None and not self.regression.passed)
                or (self.strict and self.ungated))

    def gate_counts(self) -> tuple[int, int]:
        """(passed, failed) over the row's items: its checks, its regression, --compviz-strict's."""
        outcomes = [o.passed for o in self.outcomes]
        if self.regression is not None:
            outcomes.append(self.regression.passed)
        if self.strict and self.ungated:
            outcomes.append(False)
        return sum(outcomes), len(outcomes) - sum(outcomes)

    @property
    def strict_message(self) -> str:
        return f"{self.label}: no rule sets a check for this row (--compviz-strict)"

    def regression_message(self, baseline: Baseline) -> str:
        return f"{self.label}: since the baseline ({baseline.describe()}): {self.regression.describe()}" \
               f" ({self.regression.source})"


@dataclass(frozen=True)
class FileGates:
    rows: tuple[RowGates, ...]
    matched_rules: frozenset[str]  # sources of the rules that matched at least one row
    new_rows: tuple[str, ...] = ()  # labels of rows the baseline run did not have
    missing_rows: tuple[str, ...] = ()  # baseline rows of this file's models absent from it


def evaluate(results: Results, rules: list[Rule], baseline: Baseline | None = None,
             tolerances: Tolerances = Tolerances(), strict: bool = False) -> FileGates:
    """Every row's checks, and its comparison with ``baseline`` when that run has the row.
    Baseline-mode rows are the reference (0% error, 1.0x) and are not gated."""
    table = results.table
    frame = results.derived
    multi_model = frame[table.model_column].nunique() > 1
    baseline_mode = results.settings.baseline_mode
    metric_columns = [m.column for m in results.settings.metrics]
    rows: list[RowGates] = []
    matched: set[str] = set()
    used_ids: set[str] = set()
    has_plot_name = PLOT_NAME in frame.columns
    has_lora = LORA_RANK in frame.columns
    new_rows: list[str] = []
    seen_keys: set = set()
    for index, row in zip(frame.index, frame.to_dict("records")):
        model, mode = str(row[table.model_column]), str(row[MODE])
        plot_name = str(row[PLOT_NAME]) if has_plot_name else ""
        line = table.line_of(index)
        row_id = _row_id(model if multi_model else None, mode, plot_name, line, used_ids)
        label = _short(f"{mode} ({plot_name})" if plot_name else mode)
        if multi_model:
            label = f"{_short(model)}: {label}"
        is_baseline = mode == baseline_mode
        outcomes: list[Outcome] = []
        regression = None
        if not is_baseline:
            matching = [rule for rule in rules if rule.matches(model, mode, plot_name)]
            # "matched" means selected a row, even where a later rule overrides all its checks.
            matched.update(rule.source for rule in matching)
            checks = winning_checks(matching)
            for check, rule in checks.values():
                if check.kind != "tolerance":
                    outcomes.append(_outcome(check, rule, label, row.get(check.column, _ABSENT)))
            if baseline is not None:
                key = row_key(model, mode, row[INT4], row[INT8], row[LORA_RANK] if has_lora else None)
                seen_keys.add(key)
                previous = baseline.find(key)
                if previous is None:
                    new_rows.append(label)
                else:
                    regression = _regression(previous, row, checks, tolerances)
        properties = [("model", model), ("mode", mode), ("line", line), (ERROR, row[ERROR]), (RATE, row[RATE]),
                      (SIZE, row[SIZE])] + [(c, row[c]) for c in metric_columns]
        rows.append(RowGates(row_id, label, line, model, mode, is_baseline, tuple(outcomes),
                             tuple((k, _plain(v)) for k, v in properties), index, regression, strict))
    missing: list[str] = []
    if baseline is not None:
        models = {row.model for row in rows}
        for key, previous in baseline.rows.items():
            if key[0] in models and key[1] != baseline_mode and key not in seen_keys:
                name = previous.get(PLOT_NAME) or ""
                label = f"{key[1]} ({name})" if name else key[1]
                missing.append(f"{key[0]}: {label}" if multi_model else label)
    return FileGates(tuple(rows), frozenset(matched), tuple(new_rows), tuple(missing))


def _regression(previous: dict, row: dict, checks: dict, tolerances: Tolerances) -> Regression:
    """Rules' ``max-error-increase`` / ``max-rate-decrease`` win over the run's defaults."""
    error_tolerance, rate_tolerance, sources = tolerances.error, tolerances.rate, []
    for name in (MAX_ERROR_INCREASE, MAX_RATE_DECREASE):
        if name in checks:
            check, rule = checks[name]
            if name == MAX_ERROR_INCREASE:
                error_tolerance = check.limit
            else:
                rate_tolerance = check.limit
            sources.append(rule.source)
    if len(sources) < 2:
        sources.append(tolerances.source)
    return Regression(float(previous[ERROR]), float(row[ERROR]), float(previous[RATE]), float(row[RATE]),
                      error_tolerance, rate_tolerance, "; ".join(dict.fromkeys(sources)))


_ABSENT = object()


def _outcome(check: Check, rule: Rule, label: str, cell) -> Outcome:
    if cell is _ABSENT:
        return Outcome(check, rule, None, False,
                       f"{label}: column {check.column!r} is not in the file ({rule.source})")
    try:  # metric columns are floats already; an extra column a rule names may still be text
        value = float(cell)
    except (TypeError, ValueError):
        return Outcome(check, rule, None, False,
                       f"{label}: column {check.column!r} is not a number here (value {cell!r}) ({rule.source})")
    if value != value:
        return Outcome(check, rule, None, False,
                       f"{label}: column {check.column!r} has no value here ({rule.source})")
    passed = check.passes(value)
    shown_value, shown_limit = _shown_pair(check.column, value, check.limit)
    relation = ("<=" if passed else ">") if check.kind == "max" else (">=" if passed else "<")
    return Outcome(check, rule, value, passed,
                   f"{label}: {check.column} {shown_value} {relation} {shown_limit} ({rule.source})")


def _shown_pair(column: str, value: float, limit: float) -> tuple[str, str]:
    """Value and limit formatted alike: the limit as precisely as it was written, and the value
    with enough decimals to tell it from the limit (8.46% > 8.45%, not 8.5% > 8.4%)."""
    scale, unit, decimals = {ERROR: (100, "%", 1), RATE: (1, "x", 1)}.get(column, (1, "", 3))
    scaled_value, scaled_limit = value * scale, limit * scale
    while decimals < 6 and abs(round(scaled_limit, decimals) - scaled_limit) > 1e-9:
        decimals += 1
    while decimals < 6 and f"{scaled_value:.{decimals}f}" == f"{scaled_limit:.{decimals}f}":
        decimals += 1
    return f"{scaled_value:.{decimals}f}{unit}", f"{scaled_limit:.{decimals}f}{unit}"


def _row_id(model: str | None, mode: str, plot_name: str, line: int, used: set[str]) -> str:
    """``mode (plot name)``, prefixed ``model/`` in multi-model files; ``@line N`` only on a clash.

    pytest 9.2 reads ``[...]`` in a node id as the parameters of its last part and ``::`` as a
    separator, so neither may appear inside a row's name: brackets become parentheses."""
    row_id = _short(f"{mode} ({plot_name})" if plot_name else mode)
    if model is not None:
        row_id = f"{_short(model)}/{row_id}"
    row_id = row_id.replace("::", ":").replace("[", "(").replace("]", ")")
    if row_id in used:
        row_id = f"{row_id} @line{line}"
    used.add(row_id)
    return row_id


_LONGEST_NAME = 100


def _short(text: str) -> str:
    """A name fit for a test id and a one-line message: whitespace runs (newlines from quoted
    cells) become one space; a very long name is cut, with a digest of the whole so that two long
    names sharing a start stay apart and each id stays the same from run to run."""
    text = " ".join(text.split())
    if len(text) <= _LONGEST_NAME:
        return text
    import hashlib

    return f"{text[:80]}…#{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def _plain(value):
    """numpy scalars to Python ones (JUnit XML and JSON want plain values)."""
    return value.item() if hasattr(value, "item") else value
