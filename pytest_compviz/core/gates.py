"""Applying threshold rules (and a baseline run) to derived results: per row, the checks that
apply, their values, limits and rules, computed once per file. Numbers and rule references only:
the sentences are built in ``messages``; whether a check ran is the ledger's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.rules import MAX_ERROR_INCREASE, MAX_RATE_DECREASE, PARETO, Check, Rule, Tolerances, winning_checks
from ..spec import ERROR, INT4, INT8, LORA_RANK, MODE, PLOT_NAME, RATE, SIZE
from .names import short
from .regression import Regression, row_key

REGRESSION = "regression"  # the check name of the comparison with the baseline run
GATED = "gated"  # --compviz-strict's check of a row no rule gates


@dataclass(frozen=True)
class Outcome:
    check: Check
    rule: Rule
    value: float | None  # None when it could not be read (see ``problem``)
    passed: bool
    problem: str | None = None  # "absent", "not a number", "empty", "not finite": why there is no value
    cell: object = None  # the cell as found, for "not a number"


@dataclass(frozen=True)
class Dominator:
    """The row of the same model that dominates a row (``core.pareto``), with its figures."""

    index: object
    label: str
    error: float
    rate: float


@dataclass(frozen=True)
class RowGates:
    index: object  # the row's index in ``Results.derived``
    label: str  # how messages name the row: "int4 (data-free)", "MODEL: int4" in multi-model files
    line: int
    model: str
    mode: str
    plot_name: str
    is_baseline: bool
    outcomes: tuple[Outcome, ...]
    properties: tuple[tuple[str, object], ...]  # the row's figures, for JUnit user_properties
    regression: Regression | None = None  # set when a baseline run has this configuration
    strict: bool = False  # --compviz-strict: an ungated row fails
    dominated_by: Dominator | None = None  # None on the Pareto front, and for the baseline row
    pareto: Rule | None = None  # the rule whose ``pareto = true`` gives the row its pareto check

    @property
    def ungated(self) -> bool:
        return not self.is_baseline and not self.outcomes and self.regression is None and self.pareto is None

    def check_names(self) -> list[str]:
        """The row's checks, as items: its limits, its regression, --compviz-strict's."""
        names = [o.check.name for o in self.outcomes]
        if self.pareto is not None:
            names.append(PARETO)
        if self.regression is not None:
            names.append(REGRESSION)
        if self.strict and self.ungated:
            names.append(GATED)
        return names

    def expected_pass(self, check: str) -> bool:
        """What the data says about ``check`` (whether it ran is another matter)."""
        if check == REGRESSION:
            return self.regression.passed
        if check == GATED:
            return False
        if check == PARETO:
            return self.dominated_by is None
        return next(o.passed for o in self.outcomes if o.check.name == check)


@dataclass(frozen=True)
class FileGates:
    rows: tuple[RowGates, ...]
    matched_rules: frozenset[str]  # sources of the rules that matched at least one row
    new_rows: tuple[str, ...] = ()  # labels of rows the baseline run did not have
    missing_rows: tuple[str, ...] = ()  # baseline rows of this file's models absent from it
    matched_baseline: int = 0  # rows that found their configuration in the baseline run
    multi_model: bool = False


def evaluate(results, rules: tuple[Rule, ...] | list[Rule], baseline=None,
             tolerances: Tolerances = Tolerances(), strict: bool = False) -> FileGates:
    """Every row's checks (``results``: ``core.results.Results``), and its comparison with
    ``baseline`` (``baseline.load.Baseline``) when
    that run has the row. Baseline-mode rows are the reference (0% error, 1.0x) and are not gated."""
    table = results.table
    frame = results.derived
    multi_model = frame[table.model_column].nunique() > 1
    baseline_mode = results.settings.baseline_mode
    metric_columns = [m.column for m in results.settings.metrics]
    rows: list[RowGates] = []
    matched: set[str] = set()
    has_plot_name = PLOT_NAME in frame.columns
    has_lora = LORA_RANK in frame.columns
    new_rows: list[str] = []
    seen_keys: set = set()
    for index, row in zip(frame.index, frame.to_dict("records")):
        model, mode = str(row[table.model_column]), str(row[MODE])
        plot_name = str(row[PLOT_NAME]) if has_plot_name else ""
        line = table.line_of(index)
        label = short(f"{mode} ({plot_name})" if plot_name else mode)
        if multi_model:
            label = f"{short(model)}: {label}"
        is_baseline = mode == baseline_mode
        outcomes: list[Outcome] = []
        regression = None
        pareto = None
        if not is_baseline:
            matching = [rule for rule in rules if rule.matches(model, mode, plot_name)]
            # "matched" means selected a row, even where a later rule overrides all its checks.
            matched.update(rule.source for rule in matching)
            checks = winning_checks(matching)
            for check, rule in checks.values():
                if check.kind == PARETO:
                    pareto = rule
                elif check.kind not in ("tolerance", "off"):
                    outcomes.append(_outcome(check, rule, row.get(check.column, _ABSENT)))
            if baseline is not None:
                key = row_key(model if table.own_model else None, mode, row[INT4], row[INT8],
                              row[LORA_RANK] if has_lora else None)
                seen_keys.add(key)
                previous = baseline.find(key)
                if previous is None:
                    new_rows.append(label)
                else:
                    regression = _regression(previous, row, checks, tolerances)
        properties = [("model", model), ("mode", mode), ("line", line), (ERROR, row[ERROR]), (RATE, row[RATE]),
                      (SIZE, row[SIZE])] + [(c, row[c]) for c in metric_columns]
        rows.append(RowGates(index, label, line, model, mode, plot_name, is_baseline, tuple(outcomes),
                             tuple((k, _plain(v)) for k, v in properties), regression, strict, pareto=pareto))
    rows = _with_dominators(rows)
    missing: list[str] = []
    if baseline is not None:
        models = {row.model for row in rows} if table.own_model else {None}
        for key, previous in baseline.rows.items():
            if key[0] in models and key[1] != baseline_mode and key not in seen_keys:
                name = previous.get(PLOT_NAME) or ""
                label = f"{key[1]} ({name})" if name else key[1]
                missing.append(f"{key[0]}: {label}" if multi_model else label)
    matched_baseline = sum(row.regression is not None for row in rows)
    return FileGates(tuple(rows), frozenset(matched), tuple(new_rows), tuple(missing), matched_baseline, multi_model)


def _with_dominators(rows: list[RowGates]) -> list[RowGates]:
    """Each row with the row that dominates it, on the unrounded figures, per model; the
    baseline row takes no part."""
    from dataclasses import replace

    from .pareto import front

    by_model: dict[str, list[RowGates]] = {}
    for row in rows:
        if not row.is_baseline:
            by_model.setdefault(row.model, []).append(row)
    dominators = {}
    for members in by_model.values():
        figures = {row.index: (float(dict(row.properties)[ERROR]), float(dict(row.properties)[RATE]))
                   for row in members}
        labels = {row.index: row.label for row in members}
        for index, other in front([(i, *figures[i]) for i in figures]).dominated_by.items():
            dominators[index] = Dominator(other, labels[other], *figures[other])
    return [replace(row, dominated_by=dominators[row.index]) if row.index in dominators else row for row in rows]


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


def _outcome(check: Check, rule: Rule, cell) -> Outcome:
    if cell is _ABSENT:
        return Outcome(check, rule, None, False, "absent")
    try:  # metric columns are floats already; an extra column a rule names may still be text
        value = float(cell)
    except (TypeError, ValueError):
        return Outcome(check, rule, None, False, "not a number", cell)
    if value != value:
        return Outcome(check, rule, None, False, "empty")
    if value in (float("inf"), float("-inf")):  # an extra column pandera did not check
        return Outcome(check, rule, None, False, "not finite", cell)
    return Outcome(check, rule, value, check.passes(value))


def _plain(value):
    """numpy scalars to Python ones (JUnit XML and JSON want plain values)."""
    return value.item() if hasattr(value, "item") else value
