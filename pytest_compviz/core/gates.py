"""Applying threshold rules (and a baseline run) to derived results: per row, the checks that
apply, their values, limits and rules, computed once per file. Numbers and rule references only:
the sentences are built in ``messages``; whether a check ran is the ledger's business.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from ..config.rules import (BOUND, FAIL_ON_IMPROVEMENT, MAX_ERROR_INCREASE, MAX_RATE_DECREASE, PARETO,
                            SIGNIFICANCE, TOLERANCES, Check, Rule, Tolerances, loosened, winning_checks,
                            winning_settings)
from ..spec import ERROR, INT4, INT8, LORA_RANK, MODE, PLOT_NAME, RATE, SIZE
from .ledger import FAILED, PASSED, XFAILED
from .names import row_label
from .noise import delta_stderr, error_stderr, metric_stderr
from .paired_gates import KINDS as PAIRED_KINDS, outcomes as paired_outcomes
from .regression import Regression, input_name, row_key
from .window import WINDOW, WindowVerdict

if TYPE_CHECKING:
    from .pairing import TaskPairing

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
    stderr: float | None = None  # the value's standard error, when a rule's bound uses it
    z: float | None = None  # bound = "upper": the limit holds for value + z * stderr (max) or - (min)
    xfail: str | None = None  # the rule that set this check expects it to fail, for this reason
    detail: TaskPairing | None = None  # a paired check's pairing (core.pairing.TaskPairing) its value comes from

    @property
    def bounded(self) -> float | None:
        """The value the limit is checked against: the pessimistic bound, or the value itself."""
        if self.value is None or self.z is None or self.stderr is None:
            return self.value
        return self.value + self.z * self.stderr if self.check.kind == "max" else self.value - self.z * self.stderr


@dataclass(frozen=True)
class Dominator:
    """The row of the same model that dominates a row (``core.pareto``), with its figures."""

    index: Hashable  # the dominating row's index in ``Results.derived``
    label: str
    error: float
    rate: float


@dataclass(frozen=True)
class Figures:
    """A row's derived figures and its metrics' values, as plain Python numbers."""

    error: float  # average relative error
    rate: float  # compression rate
    size: float  # model size, Gb
    metrics: tuple[tuple[str, float], ...]  # (metric column, value), in the metrics' order


@dataclass(frozen=True)
class RowGates:
    index: Hashable  # the row's index in ``Results.derived``
    label: str  # how messages name the row: "int4 (data-free)", "MODEL: int4" in multi-model files
    line: int
    model: str
    mode: str
    plot_name: str
    is_reference: bool
    outcomes: tuple[Outcome, ...]
    figures: Figures
    regression: Regression | None = None  # set when a baseline run has this configuration
    strict: bool = False  # --compviz-strict: an ungated row fails
    error_stderr: float | None = None  # of the average relative error, from the metrics' stderrs
    regression_xfail: str | None = None  # the rule setting this row's tolerances expects a regression
    noise_unknown: bool = False  # a rule asks for significance or a bound, and nothing has a stderr
    dominated_by: Dominator | None = None  # None on the Pareto front, and for the baseline row
    pareto: Rule | None = None  # the rule whose ``pareto = true`` gives the row its pareto check
    loosened: tuple = ()  # (configured check, rule, command-line check, rule): see rules.loosened
    window: WindowVerdict | None = None  # the opt-in window gate over the history

    @property
    def properties(self) -> list[tuple[str, object]]:
        """The row's figures as its items' JUnit user_properties (they reach the xdist controller)."""
        f = self.figures
        return [("model", self.model), ("mode", self.mode), ("line", self.line), (ERROR, f.error), (RATE, f.rate),
                (SIZE, f.size), *f.metrics]

    @property
    def ungated(self) -> bool:
        return not self.is_reference and not self.outcomes and self.regression is None and self.pareto is None

    def check_names(self) -> list[str]:
        """The row's checks, as items: its limits, its regression, --compviz-strict's."""
        names = [o.check.name for o in self.outcomes]
        if self.pareto is not None:
            names.append(PARETO)
        if self.regression is not None:
            names.append(REGRESSION)
        if self.window is not None:
            names.append(WINDOW)
        if self.strict and self.ungated:
            names.append(GATED)
        return names

    def expected_pass(self, check: str) -> bool:
        """What the data says about ``check`` (whether it ran is another matter)."""
        if check == REGRESSION:
            assert self.regression is not None  # the check exists only for a row with a regression
            return self.regression.passed
        if check == GATED:
            return False
        if check == WINDOW:
            assert self.window is not None  # the check exists only for a row with a window verdict
            return self.window.passed
        if check == PARETO:
            return self.dominated_by is None
        return next(o.passed for o in self.outcomes if o.check.name == check)

    def xfail_reason(self, check: str) -> str | None:
        if check == REGRESSION:
            return self.regression_xfail
        if check == WINDOW:
            return None
        if check == PARETO:
            return self.pareto.xfail if self.pareto is not None else None
        return next((o.xfail for o in self.outcomes if o.check.name == check), None)

    def expected_status(self, check: str) -> str:
        """The ledger status the check gets when it runs: an expected failure that fails is
        xfailed; one that passes fails (strict: the mark is out of date)."""
        passed = self.expected_pass(check)
        if self.xfail_reason(check) is not None:
            return FAILED if passed else XFAILED
        return PASSED if passed else FAILED


@dataclass(frozen=True)
class FileGates:
    rows: tuple[RowGates, ...]
    matched_rules: frozenset[str]  # sources of the rules that matched at least one row
    new_rows: tuple[str, ...] = ()  # labels of rows the baseline run did not have
    missing_rows: tuple[str, ...] = ()  # baseline rows of this file's models absent from it
    matched_baseline: int = 0  # rows that found their configuration in the baseline run
    multi_model: bool = False

    def row(self, index) -> RowGates:
        return next(row for row in self.rows if row.index == index)


def evaluate(results, rules: tuple[Rule, ...] | list[Rule], baseline=None,
             tolerances: Tolerances = Tolerances(), strict: bool = False) -> FileGates:
    """Every row's checks (``results``: ``core.results.Results``), and its comparison with
    ``baseline`` (``baseline.load.Baseline``) when
    that run has the row. Reference rows (0% error, 1.0x) are not gated, except by rules naming their mode."""
    table = results.table
    frame = results.derived
    multi_model = frame[table.model_column].nunique() > 1
    reference_mode = results.settings.reference_mode
    metric_columns = [m.column for m in results.settings.metrics]
    rows: list[RowGates] = []
    matched: set[str] = set()
    has_plot_name = PLOT_NAME in frame.columns
    has_lora = LORA_RANK in frame.columns
    new_rows: list[str] = []
    seen_keys: set = set()
    records = frame.to_dict("records")
    metrics = results.settings.metrics
    source = input_name(results.path)  # the input part of each row's identity in the baseline
    references = {str(row[table.model_column]): row for row in records if str(row[MODE]) == reference_mode}
    for index, row in zip(frame.index, records):
        model, mode = str(row[table.model_column]), str(row[MODE])
        plot_name = str(row[PLOT_NAME]) if has_plot_name else ""
        line = table.line_of(index)
        label = row_label(model, mode, plot_name, multi_model)
        is_reference = mode == reference_mode
        outcomes: list[Outcome] = []
        regression = None
        reference = references.get(model)
        sigma = error_stderr(row, reference, metrics) if reference is not None and not is_reference else None
        regression_xfail, noise_unknown = None, False
        pareto = None
        loose: list = []
        if is_reference:
            outcomes = _reference_outcomes(rules, reference_mode, model, mode, plot_name, row, matched)
        else:
            matching = [rule for rule in rules if rule.matches(model, mode, plot_name)]
            # "matched" means selected a row, even where a later rule overrides all its checks.
            matched.update(rule.source for rule in matching)
            checks = winning_checks(matching)
            settings = winning_settings(matching)
            loose = loosened(matching)
            # config.rules._setting made significance a float and fail-on-improvement a bool
            z = cast(float, settings[SIGNIFICANCE][0]) if SIGNIFICANCE in settings else None
            bound = BOUND in settings
            for check, rule in checks.values():
                if check.kind == PARETO:
                    pareto = rule
                elif check.kind in PAIRED_KINDS:  # docs/paired.md: from the pairing or the reference row
                    outcomes.extend(paired_outcomes(check, rule, row, reference, results.paired.get(index, ()),
                                                    metrics, set(checks), z))
                elif check.kind not in ("tolerance", "off"):
                    stderr = sigma if check.column == ERROR else _metric_stderr(row, check.column, metric_columns)
                    outcome = _outcome(check, rule, row.get(check.column, _ABSENT), stderr if bound else None,
                                       z if bound else None, rule.xfail)
                    noise_unknown |= bound and stderr is None and check.column != RATE
                    outcomes.append(outcome)
            if baseline is not None:
                key = row_key(source, model if table.own_model else None, mode, row[INT4], row[INT8],
                              row[LORA_RANK] if has_lora else None)
                seen_keys.add(key)
                previous = baseline.find(key)
                if previous is None:
                    new_rows.append(label)
                else:
                    before_reference = _baseline_reference(baseline, reference, source,
                                                           model if table.own_model else None,
                                                           reference_mode, has_lora)
                    spread = (delta_stderr(row, reference, previous, before_reference, metrics)
                              if reference is not None else None)
                    fail_on_improvement = (cast(bool, settings[FAIL_ON_IMPROVEMENT][0]) if FAIL_ON_IMPROVEMENT in settings
                                           else tolerances.fail_on_improvement)
                    regression = _regression(previous, row, checks, tolerances, spread, z, fail_on_improvement,
                                             strict)
                    noise_unknown |= z is not None and spread is None
                    regression_xfail = _regression_xfail(regression, checks)
        figures = Figures(_plain(row[ERROR]), _plain(row[RATE]), _plain(row[SIZE]),
                          tuple((c, _plain(row[c])) for c in metric_columns))
        rows.append(RowGates(index, label, line, model, mode, plot_name, is_reference, tuple(outcomes),
                             figures, regression, strict, sigma,
                             regression_xfail, noise_unknown and (bool(outcomes) or regression is not None),
                             pareto=pareto, loosened=tuple(loose)))
    rows = _with_dominators(rows, results.fronts)
    missing: list[str] = []
    if baseline is not None:
        models = {row.model for row in rows} if table.own_model else {None}
        seen = {key[1:] for key in seen_keys}  # a saved row without an input matches any input
        for key, previous in baseline.rows.items():
            if key[0] in (source, None) and key[1] in models and key[2] != reference_mode and key[1:] not in seen:
                missing.append(row_label(str(key[1]), key[2], previous.get(PLOT_NAME) or "", multi_model))
    matched_baseline = sum(row.regression is not None for row in rows)
    return FileGates(tuple(rows), frozenset(matched), tuple(new_rows), tuple(missing), matched_baseline, multi_model)


def _reference_outcomes(rules, reference_mode: str, model: str, mode: str, plot_name: str, row: dict,
                        matched: set) -> list[Outcome]:
    """The reference row's own metric limits. Its error (0%) and rate (1.0x) say nothing, but a
    broken reference evaluation (a truncated run, the wrong checkpoint) makes every compressed row
    look good: a rule whose ``mode`` names the reference mode exactly (``mode = "fp32"``, not a
    wildcard, so ``mode = "*"`` rules keep gating compressed rows only) gates its metric limits."""
    matching = [rule for rule in rules if rule.selectors.get("mode") == reference_mode
                and rule.matches(model, mode, plot_name)]
    outcomes = []
    for check, rule in winning_checks(matching).values():
        if check.kind in ("min", "max") and check.column not in (ERROR, RATE):
            outcomes.append(_outcome(check, rule, row.get(check.column, _ABSENT), xfail=rule.xfail))
            matched.add(rule.source)
    return outcomes


def _regression_xfail(regression: Regression, checks: dict) -> str | None:
    """A tolerance rule's xfail covers the part of the regression that rule sets: an error increase
    under ``max-error-increase``'s rule, a rate decrease under ``max-rate-decrease``'s. A failure of
    a part no xfail covers is a plain failure; a passing item is XPASS when any part is marked."""
    marks = {name: checks[name][1].xfail for name in TOLERANCES if name in checks and checks[name][1].xfail}
    if not marks:
        return None
    failing = [name for name, failed in ((MAX_ERROR_INCREASE, regression.error_regressed),
                                         (MAX_RATE_DECREASE, regression.rate_regressed)) if failed]
    if regression.fail_on_improvement and regression.improved:
        failing.append("improvement")  # no tolerance's xfail expects an improvement
    if not failing:
        return next(iter(marks.values()))
    if all(name in marks for name in failing):
        return marks[failing[0]]
    return None


def _metric_stderr(row: dict, column: str, metric_columns) -> float | None:
    """A declared metric's validated standard error; other columns' ``stderr`` columns are not
    validated, so a bound never uses them."""
    return metric_stderr(row, column) if column in metric_columns else None


def _baseline_reference(baseline, reference, source, model, reference_mode: str, has_lora: bool) -> dict | None:
    """The baseline run's reference row of this model, if it kept one: its figures tell whether the
    reference was measured again (its noise then counts in both runs) or reused."""
    if reference is None:
        return None
    return baseline.find(row_key(source, model, reference_mode, reference[INT4], reference[INT8],
                                 reference[LORA_RANK] if has_lora else None))


def _with_dominators(rows: list[RowGates], fronts: dict) -> list[RowGates]:
    """Each row with the row that dominates it on its model's front (``Results.fronts``)."""
    by_index = {row.index: row for row in rows}
    dominators = {}
    for row in rows:
        other = fronts[row.model].dominated_by.get(row.index)
        if other is not None:
            figures = by_index[other].figures
            dominators[row.index] = Dominator(other, by_index[other].label, float(figures.error), float(figures.rate))
    return [replace(row, dominated_by=dominators[row.index]) if row.index in dominators else row for row in rows]


def _regression(previous: dict, row: dict, checks: dict, tolerances: Tolerances, spread=None, z=None,
                fail_on_improvement: bool = False, strict: bool = False) -> Regression:
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
                      error_tolerance, rate_tolerance, "; ".join(dict.fromkeys(sources)), spread, z,
                      fail_on_improvement, strict)


_ABSENT = object()


def _outcome(check: Check, rule: Rule, cell, stderr=None, z=None, xfail=None) -> Outcome:
    # A check that cannot be evaluated (its column absent, its cell empty or not a number) fails
    # whatever the rule's xfail says: an expected failure is about the value, and a check with no
    # value would otherwise xfail forever, unseen.
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
    outcome = Outcome(check, rule, value, False, stderr=stderr, z=z if stderr is not None else None, xfail=xfail)
    bounded = outcome.bounded
    assert bounded is not None  # the value is a number here, so its bound is one too
    return replace(outcome, passed=check.passes(bounded))


def _plain(value):
    """numpy scalars to Python ones (JUnit XML and JSON want plain values)."""
    return value.item() if hasattr(value, "item") else value
