"""Threshold rules: parsing them from TOML tables, ``key=value; ...`` strings or hook dicts, and
matching them to rows. No heavy imports: rules are parsed at pytest start-up, so a bad rule is a
usage error before anything is collected.

A rule selects rows by glob (``model``, ``mode``, ``plot-name``) and sets checks. For each check,
the LAST matching rule that sets it wins, so specific rules go after general ones.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from ..problems import CompvizError

MAX_ERROR = "max-relative-error"
MIN_RATE = "min-compression-rate"
# Regression tolerances against a saved baseline run (not limits on this run's values).
MAX_ERROR_INCREASE = "max-error-increase"
MAX_RATE_DECREASE = "max-rate-decrease"
TOLERANCES = (MAX_ERROR_INCREASE, MAX_RATE_DECREASE)
SELECTORS = ("model", "mode", "plot-name")
# Rule keys that set how checks are made, not a check of their own. ``significance`` and ``bound``
# follow "last matching rule wins", per key; ``xfail`` marks the checks of its own rule.
SIGNIFICANCE = "significance"  # a z value: regressions must be significant, bounds use it
BOUND = "bound"  # "upper": a limit holds for the value's pessimistic confidence bound
XFAIL = "xfail"  # a reason (an issue id): this rule's checks are expected to fail
FAIL_ON_IMPROVEMENT = "fail-on-improvement"  # a regression item fails when the row got better too
SETTINGS = (SIGNIFICANCE, BOUND, XFAIL, FAIL_ON_IMPROVEMENT)
# ``pareto = true``: the row fails when another row of its model dominates it (``core.pareto``);
# ``pareto = false`` in a later rule takes the check off the rows it matches.
PARETO = "pareto"
# Checks on a row's pairing with its reference row and on columns other tools fill (docs/paired.md):
MAX_FLIPS = "max-flips"  # "5%": the share of items answered differently from the reference, worst task
PAIRED = "paired"  # true: fails when the row is significantly worse than the reference (exact McNemar)
MAX_KLD = "max-kld"  # llama.cpp's mean KL divergence from the base model
MIN_TOP1 = "min-top1"  # llama.cpp's "same top p": share of tokens whose top token is the base model's
MIN_RECOVERY = "min-recovery"  # llm-compressor's recovery, for every metric or {column = limit}
NUM_INT4, NUM_INT8 = "num-int4", "num-int8"  # NNCF's exact counts of int4 / int8 compressed ops
PAIRED_KEYS = (MAX_FLIPS, PAIRED, MAX_KLD, MIN_TOP1, MIN_RECOVERY, NUM_INT4, NUM_INT8)
# Kinds of check computed from the pairing or the reference row, not read from the row's own cell.
FLIPS, PAIRED_TEST, RECOVERY, EQUAL = "flips", "paired", "recovery", "equal"


DEFAULT_ERROR_TOLERANCE = 0.005  # 0.5 percentage point
DEFAULT_RATE_TOLERANCE = 0.05


@dataclass(frozen=True)
class Tolerances:
    """A run's regression tolerances, before rules override them per row."""

    error: float = DEFAULT_ERROR_TOLERANCE
    rate: float = DEFAULT_RATE_TOLERANCE
    source: str = "default tolerance"
    fail_on_improvement: bool = False  # the run option; a rule's fail-on-improvement wins for its rows


class RuleError(CompvizError):
    """A rule that cannot be used; the message names the rule and its bad part."""


@dataclass(frozen=True)
class Check:
    """One limit: ``name`` is the item name (``max-relative-error``, ``min:WWB, similarity``)."""

    name: str
    kind: str  # "max" or "min"; "tolerance" for the regression tolerances; "pareto"; "off" (pareto = false)
    column: str  # the derived or metric column the limit applies to
    limit: float

    def passes(self, value: float) -> bool:
        if value != value:  # NaN never passes
            return False
        if self.kind == EQUAL:
            return value == self.limit
        if self.kind in ("max", FLIPS):
            return value <= self.limit + 1e-12
        return value >= self.limit - 1e-12


@dataclass(frozen=True)
class Rule:
    source: str  # e.g. "rule 3, pyproject.toml": how failure messages name it
    selectors: dict[str, str] = field(default_factory=dict)  # "model"/"mode"/"plot-name" -> glob
    checks: tuple[Check, ...] = ()
    settings: dict = field(default_factory=dict)  # SETTINGS key -> value

    @property
    def xfail(self) -> str | None:
        return self.settings.get(XFAIL)

    def matches(self, model: str, mode: str, plot_name: str) -> bool:
        values = {"model": model, "mode": mode, "plot-name": plot_name}
        return all(fnmatchcase(values[key], pattern) for key, pattern in self.selectors.items())

    def describe(self) -> str:
        """The selectors as written, e.g. ``mode='int8'``; ``every row`` when there are none."""
        if not self.selectors:
            return "every row"
        return ", ".join(f"{key}={pattern!r}" for key, pattern in self.selectors.items())


def parse_rule(table: dict, source: str) -> Rule:
    """A rule from a TOML table or a hook's dict:

    ``{"mode": "int8", "max-relative-error": "2%", "min-compression-rate": 3.9,
       "metrics": {"WWB, similarity": {"min": 0.9}}}``
    """
    if not isinstance(table, dict):
        raise RuleError(f"{source}: a rule must be a table of keys and values, not {table!r}")
    selectors: dict[str, str] = {}
    checks: list[Check] = []
    settings: dict = {}
    for key, value in table.items():
        if key in SELECTORS:
            selectors[key] = _glob(value, key, source)
        elif key in SETTINGS:
            settings[key] = _setting(key, value, source)
        elif key == MAX_ERROR:
            checks.append(Check(MAX_ERROR, "max", "average relative error", _percent_or_number(value, key, source)))
        elif key == MIN_RATE:
            checks.append(Check(MIN_RATE, "min", "compression rate", _rate(value, key, source)))
        elif key == MAX_ERROR_INCREASE:
            checks.append(Check(key, "tolerance", "average relative error", _error_tolerance(value, key, source)))
        elif key == MAX_RATE_DECREASE:
            checks.append(Check(key, "tolerance", "compression rate", _rate(value, key, source)))
        elif key == "metrics":
            checks.extend(_metric_checks(value, source))
        elif key == PARETO:
            checks.append(Check(PARETO, PARETO if _bool(value, key, source) else "off", "", 0.0))
        elif key in PAIRED_KEYS:
            checks.extend(_paired_check(key, value, source))
        elif isinstance(key, str) and (key.startswith("min:") or key.startswith("max:")):
            kind, column = key.split(":", 1)
            checks.append(_metric_check(column.strip(), kind, value, source))
        else:
            known = ", ".join([*SELECTORS, MAX_ERROR, MIN_RATE, *TOLERANCES, "metrics", PARETO, *PAIRED_KEYS, "min:COLUMN",
                               "max:COLUMN", *SETTINGS])
            raise RuleError(f"{source}: unknown key {key!r} (known: {known})")
    if XFAIL in settings and not checks:
        raise RuleError(f"{source}: {XFAIL} marks the checks this rule sets, and it sets none")
    if not checks and not settings:
        raise RuleError(f"{source}: sets no check (give {MAX_ERROR}, {MIN_RATE}, metrics or a tolerance)")
    return Rule(source, selectors, tuple(checks), settings)


def _paired_check(key: str, value, source: str) -> list[Check]:
    """The checks of docs/paired.md's keys."""
    from ..spec import KLD_MEAN, NUM_INT4 as INT4_COUNT, NUM_INT8 as INT8_COUNT, SAME_TOP

    if key == MAX_FLIPS:
        return [Check(key, FLIPS, "flips", _share(value, key, source))]
    if key == PAIRED:
        return [Check(key, PAIRED_TEST if _bool(value, key, source) else "off", "paired", 0.0)]
    if key == MAX_KLD:
        limit = _number(value, key, source)
        if limit < 0:
            raise RuleError(f"{source}: {key}: {value!r} must not be negative")
        return [Check(key, "max", KLD_MEAN, limit)]
    if key == MIN_TOP1:
        return [Check(key, "min", SAME_TOP, _share(value, key, source))]
    if key == MIN_RECOVERY:
        if isinstance(value, dict):
            if not value:
                raise RuleError(f"{source}: {key}: give a limit, or a table of metric column = limit")
            return [Check(f"{key}:{column}", RECOVERY, str(column), _share(limit, f"{key}:{column}", source, 2.0))
                    for column, limit in value.items()]
        return [Check(key, RECOVERY, "", _share(value, key, source, 2.0))]
    # NUM_INT4 / NUM_INT8: an exact count
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise RuleError(f"{source}: {key}: {value!r} must be a whole number of ops, e.g. 94")
    return [Check(key, EQUAL, INT4_COUNT if key == NUM_INT4 else INT8_COUNT, float(int(value)))]


def _share(value, key: str, source: str, most: float = 1.0) -> float:
    """``"5%"`` or ``0.05``, from 0 to ``most``."""
    if isinstance(value, str) and value.strip().endswith("%"):
        number = _number(value.strip()[:-1], key, source) / 100
    else:
        number = _number(value, key, source)
    if not 0 <= number <= most:
        raise RuleError(f"{source}: {key}: {value!r} must be a share from 0 to {most:g} (or a percent, e.g. \"5%\")")
    return number


def _setting(key: str, value, source: str):
    if key == SIGNIFICANCE:
        z = _number(value, key, source)
        if z <= 0:
            raise RuleError(f"{source}: {key}: {value!r} must be a z value greater than 0, e.g. 2.0")
        return z
    if key == BOUND:
        if value != "upper":
            raise RuleError(f"{source}: {key}: {value!r} is not a bound; the one bound is \"upper\"")
        return value
    if key == XFAIL:
        if not isinstance(value, str) or not value.strip():
            raise RuleError(f"{source}: {key}: give the reason, e.g. an issue id: xfail = \"ISSUE-123\"")
        return value.strip()
    # FAIL_ON_IMPROVEMENT: a TOML boolean, or true/false in the command-line form
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise RuleError(f"{source}: {key}: {value!r} must be true or false")
    return value


def parse_rule_string(text: str, source: str) -> Rule:
    """``"mode=int8; max-relative-error=2%; min:WWB, similarity=0.9"`` (the command-line form)."""
    table: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise RuleError(f"{source}: {part.strip()!r} is not key=value")
        table[key.strip()] = value.strip()
    return parse_rule(table, f"{source} {text!r}")


def _metric_checks(value, source: str) -> list[Check]:
    if not isinstance(value, dict):
        raise RuleError(f"{source}: metrics must map a column to {{min = ..., max = ...}}, not {value!r}")
    checks = []
    for column, limits in value.items():
        if not isinstance(limits, dict) or not limits or set(limits) - {"min", "max"}:
            raise RuleError(
                f"{source}: metrics.{column!r} must be a table with min and/or max, not {limits!r}"
            )
        for kind, limit in limits.items():
            checks.append(_metric_check(column, kind, limit, source))
    return checks


_DERIVED = {"average relative error": f'{MAX_ERROR} (e.g. "8%")', "compression rate": f'{MIN_RATE} (e.g. "4.5x")'}


def _metric_check(column: str, kind: str, value, source: str) -> Check:
    if not column:
        raise RuleError(f"{source}: {kind}: needs a column name, e.g. {kind}:WWB, similarity")
    if column in _DERIVED:  # their limits take units: the keys made for them check those
        raise RuleError(f"{source}: {kind}:{column}: limit the derived column with {_DERIVED[column]}")
    return Check(f"{kind}:{column}", kind, column, _number(value, f"{kind}:{column}", source))


def _number(value, key: str, source: str) -> float:
    if isinstance(value, bool):
        raise RuleError(f"{source}: {key}: {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RuleError(f"{source}: {key}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise RuleError(f"{source}: {key}: {value!r} is not a finite number")
    return number


def _percent_or_number(value, key: str, source: str, refuse_from: float = 0.5) -> float:
    """``"8%"`` or ``0.08``: a fraction. A bare number that would allow ``refuse_from`` (as a
    fraction) or more is almost surely meant as percent: refused, showing both readings."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return _number(value.strip()[:-1], key, source) / 100
    number = _number(value, key, source)
    if number >= refuse_from:
        allowed = (f"an increase of {number * 100:g} percentage points" if key == MAX_ERROR_INCREASE
                   else f"an average relative error of {number * 100:g}%")
        raise RuleError(
            f"{source}: {key}: {value!r} is read as a fraction, which would allow {allowed};"
            f" write \"{number:g}%\" for {number:g} percent, or {number / 100:g}"
        )
    return number


def _error_tolerance(value, key: str, source: str) -> float:
    """Percentage points of average relative error: ``"0.5%"`` or ``0.005`` (a bare 0.1 or more,
    10 points, is refused as a likely percent)."""
    number = _percent_or_number(value, key, source, refuse_from=0.1)
    if number < 0:
        raise RuleError(f"{source}: {key}: {value!r} must not be negative")
    return number


def parse_tolerance(text: str, source: str = "--compviz-regression-tolerance") -> dict[str, float]:
    """``"0.5%"`` (error, percentage points), ``"0.05x"`` (rate), or both: ``"0.5%, 0.05x"``. Every
    part carries its unit: a bare ``"0.5"`` could be either and is refused."""
    found: dict[str, float] = {}
    for part in re.split(r"[,;]", str(text)):
        part = part.strip()
        if not part:
            continue
        if part.lower().endswith("x"):
            found[MAX_RATE_DECREASE] = _rate(part, MAX_RATE_DECREASE, source)
        elif part.endswith("%"):
            found[MAX_ERROR_INCREASE] = _error_tolerance(part, MAX_ERROR_INCREASE, source)
        else:
            _number(part, "tolerance", source)  # not a number at all: say that first
            raise RuleError(f"{source}: {part!r} has no unit: write \"{part}%\" for an error increase in"
                            f" percentage points or \"{part}x\" for a compression-rate decrease")
    if not found:
        raise RuleError(f"{source}: give an error tolerance like 0.5% and/or a rate tolerance like 0.05x")
    return found


def _rate(value, key: str, source: str) -> float:
    if isinstance(value, str) and value.strip().lower().endswith("x"):
        value = value.strip()[:-1]
    number = _number(value, key, source)
    if number < 0:
        raise RuleError(f"{source}: {key}: {value!r} must not be negative")
    return number


def _bool(value, key: str, source: str) -> bool:
    """A TOML boolean, or ``true`` / ``false`` as the command-line form writes it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RuleError(f"{source}: {key}: expected true or false, not {value!r}")


def _glob(value, key: str, source: str) -> str:
    if not isinstance(value, str) or not value:
        raise RuleError(f"{source}: {key}: expected a glob pattern string, not {value!r}")
    # fnmatch reads an unclosed "[" literally; that is almost always a typo, so refuse it.
    if re.search(r"\[[^\]]*$", value):
        raise RuleError(f"{source}: {key}: {value!r} is not a valid glob (unclosed '[')")
    return value


def winning_checks(matching: list[Rule]) -> dict[str, tuple[Check, Rule]]:
    """The checks set by the rules that match one row: per check name, the last rule's."""
    return {check.name: (check, rule) for rule in matching for check in rule.checks}


def bound_without_significance(rules) -> Rule | None:
    """The first of ``rules`` whose ``bound`` has no ``significance`` (a z value) in it or in an
    earlier one of ``rules``: such a bound cannot be computed. Checked over all rules when they are
    read (none can have one) and over each row's matching rules when it is gated."""
    seen = False
    for rule in rules:
        seen |= SIGNIFICANCE in rule.settings
        if BOUND in rule.settings and not seen:
            return rule
    return None


def bound_problem(rule: Rule, earlier: str) -> str:
    return f"{rule.source}: {BOUND} = \"upper\" needs a {SIGNIFICANCE} (a z value, e.g. 2.0) in this rule or {earlier}"


def winning_settings(matching: list[Rule]) -> dict[str, tuple[object, Rule]]:
    """``significance``, ``bound`` and ``fail-on-improvement`` of one row: per key, the last matching
    rule's. A ``bound`` needs a ``significance`` from the same or an earlier matching rule."""
    lacking = bound_without_significance(matching)
    if lacking is not None:
        raise RuleError(bound_problem(lacking, "an earlier one matching the same rows"))
    found: dict[str, tuple[object, Rule]] = {}
    for rule in matching:
        for key, value in rule.settings.items():
            if key != XFAIL:
                found[key] = (value, rule)
    return found


def from_command_line(rule: Rule) -> bool:
    """A rule given on the command line (``--compviz-rule N``, ``compviz --rule N``)."""
    return rule.source.startswith("--")


def loosened(matching: list[Rule]) -> list[tuple[Check, Rule, Check, Rule]]:
    """Where a command-line rule, winning for one row, sets a looser limit than a configured rule
    it overrides: (configured check, its rule, command-line check, its rule). Tightening from the
    command line is what it is for; loosening a configured gate must not be silent."""
    found = []
    winners = winning_checks(matching)
    for name, (check, rule) in winners.items():
        if not from_command_line(rule) or check.kind not in ("max", "min", "tolerance"):
            continue
        for earlier in matching:
            if from_command_line(earlier):
                continue
            for old in earlier.checks:
                if old.name == name and _looser(check, old):
                    found.append((old, earlier, check, rule))
    return found


def _looser(new: Check, old: Check) -> bool:
    """A ``min`` lowered, a ``max`` or a tolerance raised."""
    return new.limit < old.limit - 1e-12 if new.kind == "min" else new.limit > old.limit + 1e-12
