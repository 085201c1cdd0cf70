"""The Pareto front of one model's configurations: pure, on plain numbers.

A configuration is dominated when another has a lower or equal error and a higher or equal
compression rate, one of them strictly. Two configurations with the same error and the same rate
do not dominate each other: both stay on the front. The caller decides which rows take part (the
baseline row does not); a row whose error or rate is NaN is never compared: it is neither on the
front nor dominated, and dominates nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Front:
    front: tuple = ()  # the non-dominated indexes, in the input's order
    dominated_by: dict = field(default_factory=dict)  # dominated index -> the index of one row dominating it

    @property
    def dominated(self) -> frozenset:
        return frozenset(self.dominated_by)


def front(points) -> Front:
    """``points``: ``(index, error, rate)`` tuples. Of the rows dominating a row, the one named is
    the one with the highest rate, then the lowest error, then the first in the input. O(n log n):
    after sorting by error (ascending), every row that could dominate a row comes before it, and
    the best of those is kept as the sweep goes."""
    compared = [(error, rate, position, index) for position, (index, error, rate) in enumerate(points)
                if not (math.isnan(error) or math.isnan(rate))]
    # Error ascending, then rate descending: a row's equals in error that follow it have no higher rate.
    compared.sort(key=lambda p: (p[0], -p[1], p[2]))
    best = None  # (-rate, error, position, index) of the best row so far: highest rate, then lowest error
    on_front: list[tuple[int, object]] = []
    dominated_by = {}
    for error, rate, position, index in compared:
        mine = (-rate, error, position, index)
        if best is None or mine[:3] < best[:3]:
            best = mine
        best_rate, best_error = -best[0], best[1]
        if best_rate > rate or (best_rate == rate and best_error < error):
            dominated_by[index] = best[3]
        else:
            on_front.append((position, index))
    return Front(tuple(index for _, index in sorted(on_front, key=lambda p: p[0])),
                 {index: dominated_by[index] for _, _, _, index in sorted(compared, key=lambda p: p[2])
                  if index in dominated_by})
