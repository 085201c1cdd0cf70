"""Every sentence a user reads about a gate, built in one place from the gates' numbers."""

from __future__ import annotations

from ..spec import ERROR, RATE
from ..config.rules import PARETO
from .gates import GATED, REGRESSION, Outcome, RowGates
from .window import WINDOW
from .paired_gates import KINDS as PAIRED_KINDS
from ..config.rules import EQUAL, FLIPS, PAIRED_TEST


def outcome_message(label: str, outcome: Outcome) -> str:
    check, rule = outcome.check, outcome.rule
    if check.kind in PAIRED_KINDS and outcome.problem not in ("absent", "empty"):
        return paired_message(label, outcome)
    if outcome.problem == "absent":
        return f"{label}: column {check.column!r} is not in the file ({rule.source})"
    if outcome.problem == "not a number":
        return f"{label}: column {check.column!r} is not a number here (value {outcome.cell!r}) ({rule.source})"
    if outcome.problem == "not finite":
        return f"{label}: column {check.column!r} is not a finite number here (value {outcome.cell!r}) ({rule.source})"
    if outcome.problem == "empty":
        return f"{label}: column {check.column!r} has no value here ({rule.source})"
    bounded = outcome.bounded
    assert outcome.value is not None and bounded is not None  # no problem: the check read a number
    shown_value, shown_limit = shown_pair(check.column, bounded, check.limit)
    relation = ("<=" if outcome.passed else ">") if check.kind == "max" else (">=" if outcome.passed else "<")
    if bounded != outcome.value:  # bound = "upper": the limit holds for the pessimistic bound
        assert outcome.stderr is not None  # a bound differs from its value only by z * stderr
        value, _ = shown_pair(check.column, outcome.value, check.limit)
        spread, _ = shown_pair(check.column, outcome.stderr, check.limit)
        spread = spread[:-1] + " pp" if spread.endswith("%") else spread  # points of error, as summary.md says
        side = "upper" if check.kind == "max" else "lower"
        shown_value = f"{value} ± {spread} ({side} bound at z = {outcome.z:g}: {shown_value})"
    return f"{label}: {check.column} {shown_value} {relation} {shown_limit} ({rule.source})"


def paired_message(label: str, outcome: Outcome) -> str:
    """The sentences of docs/paired.md's checks."""
    check, rule, pairing = outcome.check, outcome.rule, outcome.detail
    if outcome.problem == "no samples":
        return (f"{label}: {check.name}: no per-sample outputs paired with the reference row's (both rows need"
                f" lm-eval samples: run lm-eval with --log_samples, or fill the 'lm-eval samples' column) ({rule.source})")
    if outcome.problem == "no reference":
        return f"{label}: {check.name}: this model has no reference row to compare with ({rule.source})"
    if outcome.problem == "no recovery":
        return (f"{label}: {check.name}: needs a positive {check.column!r} in this row and in the reference row"
                f" ({rule.source})")
    if check.kind == EQUAL:
        what = "int4" if check.name.endswith("int4") else "int8"
        if not outcome.passed:  # NNCF's own wording (tests/post_training in NNCF)
            return (f"{label}: Regression: The number of {what} ops is different than reference"
                    f" {check.limit:.0f} != {outcome.value:g} ({rule.source})")
        return f"{label}: the number of {what} ops is the reference's, {outcome.value:g} ({rule.source})"
    if check.kind == FLIPS:
        assert pairing is not None  # a paired check without a problem has its pairing
        f = pairing.flips
        relation = "<=" if outcome.passed else ">"
        return (f"{label}: {pairing.name}: {f.share:.1%} of answers flipped {relation} {_percent(check.limit)}"
                f" ({f.right_to_wrong} right -> wrong, {f.wrong_to_right} wrong -> right of {f.n} items; accuracy"
                f" {pairing.reference_accuracy:.1%} -> {pairing.compressed_accuracy:.1%}) ({rule.source})")
    if check.kind == PAIRED_TEST:
        assert pairing is not None  # a paired check without a problem has its pairing
        f = pairing.flips
        unpaired = pairing.unpaired_stderr
        z_unpaired = f"z = {f.difference / unpaired:.2f}" if unpaired > 0 else "no spread"
        verdict = "worse than the reference" if not outcome.passed else "not significantly worse than the reference"
        relation = "<" if not outcome.passed else ">="
        return (f"{label}: {pairing.name}: {verdict} on the same {f.n} items: {f.right_to_wrong} right -> wrong,"
                f" {f.wrong_to_right} wrong -> right, difference {f.difference * 100:+.2f} pp ± {f.stderr * 100:.2f} pp"
                f" paired (± {unpaired * 100:.2f} pp as independent runs, {z_unpaired}); exact one-sided McNemar"
                f" p = {outcome.value:.3g} {relation} {check.limit:.3g} ({rule.source})")
    # RECOVERY
    relation = ">=" if outcome.passed else "<"
    return (f"{label}: recovery of {check.column} {outcome.value:.2f} {relation} {check.limit:.2f}"
            f" (compressed vs reference, rounded to 2 decimals as llm-compressor does) ({rule.source})")


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def regression_message(row: RowGates, baseline_description: str) -> str:
    regression = row.regression
    assert regression is not None  # asked only of a row the baseline run has
    text = (f"{row.label}: since the baseline ({baseline_description}): {regression.describe()}"
            f" ({regression.source})")
    if regression.hint():
        text += f"; {regression.hint()}"
    return text


def strict_message(row: RowGates) -> str:
    return f"{row.label}: no rule sets a check for this row (--compviz-strict)"


def pareto_message(row: RowGates) -> str:
    """``ROW: dominated by ROW2: error a vs b, rate x vs y (RULE)``, or that the row is on the front."""
    source = f" ({row.pareto.source})" if row.pareto is not None else ""
    if row.dominated_by is None:
        return f"{row.label}: on the Pareto front{source}"
    return f"{row.label}: dominated by {row.dominated_by.label}: {dominance_figures(row)}{source}"


def dominance_figures(row: RowGates) -> str:
    """``error 8.5% vs 4.1%, rate 7.2x vs 7.2x``: the row's figures and its dominator's, each pair
    with enough decimals to tell its two figures apart when they differ."""
    figures, by = row.figures, row.dominated_by
    assert by is not None  # asked only of a dominated row
    error = _apart(figures.error * 100, by.error * 100, "%")
    rate = _apart(figures.rate, by.rate, "x")
    return f"error {error[0]} vs {error[1]}, rate {rate[0]} vs {rate[1]}"


def _apart(a: float, b: float, unit: str, decimals: int = 1) -> tuple[str, str]:
    while a != b and decimals < 12 and f"{a:.{decimals}f}" == f"{b:.{decimals}f}":
        decimals += 1
    return f"{a:.{decimals}f}{unit}", f"{b:.{decimals}f}{unit}"


def check_message(row: RowGates, check: str, baseline_description: str = "") -> str:
    """The one line of ``check`` of ``row`` (its failure message when it fails); a check a rule
    marks xfail that passes says so (it fails: strict)."""
    if check == REGRESSION:
        text = regression_message(row, baseline_description)
    elif check == GATED:
        text = strict_message(row)
    elif check == PARETO:
        text = pareto_message(row)
    elif check == WINDOW:
        assert row.window is not None  # the check exists only for a row with a window verdict
        text = f"{row.label}: {row.window.describe()}"
    else:
        text = outcome_message(row.label, next(o for o in row.outcomes if o.check.name == check))
    reason = row.xfail_reason(check)
    if reason is not None and row.expected_pass(check):
        text += f"; expected to fail ({reason}) but passes now: drop the rule's xfail (XPASS, strict)"
    return text


def shown_pair(column: str, value: float, limit: float) -> tuple[str, str]:
    """Value and limit formatted alike: the limit as precisely as it was written, and the value
    with enough decimals to tell it from the limit (8.46% > 8.45%, not 8.5% > 8.4%)."""
    scale, unit, decimals = {ERROR: (100, "%", 1), RATE: (1, "x", 1)}.get(column, (1, "", 3))
    scaled_value, scaled_limit = value * scale, limit * scale
    while decimals < 6 and abs(round(scaled_limit, decimals) - scaled_limit) > 1e-9:
        decimals += 1
    while decimals < 6 and f"{scaled_value:.{decimals}f}" == f"{scaled_limit:.{decimals}f}":
        decimals += 1
    return f"{scaled_value:.{decimals}f}{unit}", f"{scaled_limit:.{decimals}f}{unit}"


def schema_message(shown: str, problems) -> str:
    count = len(problems)
    return ("\n".join(str(p) for p in problems)
            + f"\n{shown}: {count} problem{'s' if count != 1 else ''}; the row checks of this file are not"
            " collected until its schema passes")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"
