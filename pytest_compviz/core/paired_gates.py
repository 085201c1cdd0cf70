"""The outcomes of the checks computed from a row's pairing with its reference row or from the
reference row itself (docs/paired.md): ``max-flips``, ``paired``, ``min-recovery``, and the
exact counts ``num-int4`` / ``num-int8``. ``max-kld`` and ``min-top1`` are plain column limits.

A check that cannot be computed fails with the reason (no samples, no reference row): a gate
the data cannot answer never passes.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ..config.rules import EQUAL, FLIPS, PAIRED_TEST, RECOVERY, Check, Rule
from .paired import one_sided_level

DEFAULT_Z = 1.6448536269514722  # one-sided 5%, when no rule sets a significance
KINDS = (FLIPS, PAIRED_TEST, RECOVERY, EQUAL)


def outcomes(check: Check, rule: Rule, row: dict, reference: dict | None, pairings: tuple, metrics,
             specific: set, z: float | None) -> list:
    """The outcomes of one such check of a row (``min-recovery`` for every metric gives one per
    metric, except metrics a per-metric ``min-recovery:COLUMN`` sets: ``specific``)."""
    from .gates import Outcome

    xfail = rule.xfail
    if check.kind == FLIPS or check.kind == PAIRED_TEST:
        if not pairings:
            return [Outcome(check, rule, None, False, "no samples", xfail=xfail)]
        if check.kind == FLIPS:
            worst = max(pairings, key=lambda p: p.flips.share)
            return [_judged(Outcome(check, rule, worst.flips.share, False, detail=worst, xfail=xfail))]
        level = one_sided_level(z if z is not None else DEFAULT_Z)
        worst = min(pairings, key=lambda p: p.flips.p_worse)
        check = replace(check, limit=level)
        return [_judged(Outcome(check, rule, worst.flips.p_worse, False, detail=worst, xfail=xfail))]
    if check.kind == EQUAL:
        value = _number(row.get(check.column))
        if value is None:
            return [Outcome(check, rule, None, False, "absent" if check.column not in row else "empty",
                            xfail=xfail)]
        return [_judged(Outcome(check, rule, value, False, xfail=xfail))]
    # RECOVERY
    columns = [check.column] if check.column else [m.column for m in metrics if f"{check.name}:{m.column}" not in specific]
    directions = {m.column: m.direction for m in metrics}
    found = []
    for column in columns:
        named = check if check.column else replace(check, name=f"{check.name}:{column}", column=column)
        if reference is None:
            found.append(Outcome(named, rule, None, False, "no reference", xfail=xfail))
            continue
        ratio = recovery(_number(row.get(column)), _number(reference.get(column)), directions.get(column, "higher"))
        if ratio is None:
            found.append(Outcome(named, rule, None, False, "no recovery", xfail=xfail))
            continue
        found.append(_judged(Outcome(named, rule, ratio, False, xfail=xfail)))
    return found


def recovery(value: float | None, reference: float | None, direction: str) -> float | None:
    """llm-compressor's recovery, ``compressed / reference`` rounded to two decimals as it rounds
    it (Python's ``round``: 0.94567 -> 0.95); ``reference / compressed`` for a lower-is-better
    metric, so that 1 is "as good" and less is worse either way. None without two positive values."""
    if value is None or reference is None or value <= 0 or reference <= 0:
        return None
    ratio = reference / value if direction == "lower" else value / reference
    return round(ratio, 2)


def _judged(outcome):
    return replace(outcome, passed=outcome.check.passes(outcome.value))


def _number(cell) -> float | None:
    try:
        value = float(cell)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
