"""Paired statistics of two models' answers to the same items (stdlib only, pure functions).

The reference and the compressed model answer the same items, so their accuracies are not
independent: most items are answered alike by both. What varies is the items they disagree on,
the flips. With ``b`` items right -> wrong (the reference right, the compressed model wrong) and
``c`` wrong -> right among ``n`` common items:

- the paired difference (compressed minus reference accuracy) is ``(c - b) / n``;
- its standard error is that of the mean of the per-item differences (each -1, 0 or +1), with
  the sample variance (n - 1), as lm-eval computes a mean's stderr: it shrinks with the share of
  flips, not with accuracy (0.7 on 5,000 items with 5% flips: 0.32 pp, against 0.92 pp when the
  two runs are taken as independent);
- the exact one-sided McNemar test: under "neither model is better", each flip is right -> wrong
  with probability 1/2, so ``p = P(X >= b)`` for ``X ~ Binomial(b + c, 1/2)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Flips:
    """The paired comparison of one task: counts of items, and what follows from them."""

    n: int  # items both runs answered
    right_to_wrong: int  # right in the reference, wrong in the compressed run
    wrong_to_right: int

    @property
    def flips(self) -> int:
        return self.right_to_wrong + self.wrong_to_right

    @property
    def share(self) -> float:
        """Flips in both directions, as a share of the common items."""
        return self.flips / self.n if self.n else 0.0

    @property
    def right_to_wrong_share(self) -> float:
        return self.right_to_wrong / self.n if self.n else 0.0

    @property
    def wrong_to_right_share(self) -> float:
        return self.wrong_to_right / self.n if self.n else 0.0

    @property
    def difference(self) -> float:
        """Compressed minus reference accuracy on the common items."""
        return (self.wrong_to_right - self.right_to_wrong) / self.n if self.n else 0.0

    @property
    def stderr(self) -> float:
        return paired_stderr(self.n, self.right_to_wrong, self.wrong_to_right)

    @property
    def p_worse(self) -> float:
        """Exact one-sided McNemar p-value of "the compressed model is worse"."""
        return mcnemar_worse(self.right_to_wrong, self.wrong_to_right)


def count_flips(reference, compressed) -> Flips:
    """``reference`` and ``compressed``: the same items' correctness, in the same order (truthy:
    right)."""
    n = right_to_wrong = wrong_to_right = 0
    for before, after in zip(reference, compressed, strict=True):
        n += 1
        if before and not after:
            right_to_wrong += 1
        elif after and not before:
            wrong_to_right += 1
    return Flips(n, right_to_wrong, wrong_to_right)


def paired_stderr(n: int, right_to_wrong: int, wrong_to_right: int) -> float:
    """Standard error of the paired difference: sqrt(sample variance of the per-item differences / n)."""
    if n < 2:
        return 0.0
    mean = (wrong_to_right - right_to_wrong) / n
    squares = right_to_wrong + wrong_to_right  # each flip's difference squared is 1
    variance = (squares - n * mean * mean) / (n - 1)
    return math.sqrt(max(variance, 0.0) / n)


def unpaired_stderr(accuracy_reference: float, accuracy_compressed: float, n: int) -> float:
    """The independent approximation the paired one replaces: two binomial stderrs combined."""
    if n < 1:
        return 0.0
    return math.sqrt((accuracy_reference * (1 - accuracy_reference)
                      + accuracy_compressed * (1 - accuracy_compressed)) / n)


def mcnemar_worse(right_to_wrong: int, wrong_to_right: int) -> float:
    """P(X >= right_to_wrong), X ~ Binomial(flips, 1/2): exact, in integers (no float overflow for
    thousands of flips). No flips: 1.0 (nothing speaks against the compressed model)."""
    m = right_to_wrong + wrong_to_right
    if m == 0 or right_to_wrong == 0:
        return 1.0
    tail = 0
    term = math.comb(m, right_to_wrong)
    for k in range(right_to_wrong, m + 1):
        tail += term
        term = term * (m - k) // (k + 1)  # C(m, k+1) from C(m, k), exactly
    return min(1.0, tail / (1 << m))  # int / int: correctly rounded even where 2**m overflows a float


def one_sided_level(z: float) -> float:
    """The one-sided significance level of a z value (1.645 -> 0.05): a rule's ``significance``."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))
