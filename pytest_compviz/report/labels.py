"""Where each point's label goes on the trade-off plot: clear of the other labels, the markers and
rings, the series' lines, the baseline arrows and the limit lines, and inside the axes.

Pure geometry in display pixels, with no matplotlib: the plot measures the texts and hands over
boxes and segments. Each label tries a fixed list of positions around its point, nearest first,
and takes the one that collides least (ties: the earlier position), so the result, and the
plot's bytes, depend on nothing but the input.
"""

from __future__ import annotations

from dataclasses import dataclass

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels, y up
Segment = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class Label:
    x: float  # the point, in pixels
    y: float
    width: float  # the text's box, in pixels
    height: float
    clearance: float  # the point's marker (or ring) radius, in pixels


# Costs of one collision: another label is the worst (unreadable), a marker hides a point, a line
# through a label only makes it harder to read.
_LABEL, _MARKER, _LINE, _OUTSIDE = 100.0, 30.0, 4.0, 1000.0
# A label nearer to another point than to its own reads as that point's: worse than a line through it.
_AMBIGUOUS = 6.0


def place(labels: list[Label], markers: list[Box], segments: list[Segment], bounds: Box,
          gap: float, points: list[tuple[float, float]] | None = None) -> list[tuple[float, float]]:
    """For each label, the offset of its box's lower-left corner from its point, in pixels.
    Labels are placed in the given order; each one placed is an obstacle for the next.
    ``points``: the plotted points' centres, which a label should not sit nearer to than to its
    own (default: the markers' centres)."""
    if points is None:
        points = [((m[0] + m[2]) / 2, (m[1] + m[3]) / 2) for m in markers]
    placed: list[Box] = []
    offsets = []
    for label in labels:
        candidates = _candidates(label, gap)
        # Only what lies within reach of some position can collide: test each position against those.
        reach = (label.x + min(dx for dx, _ in candidates), label.y + min(dy for _, dy in candidates),
                 label.x + max(dx for dx, _ in candidates) + label.width,
                 label.y + max(dy for _, dy in candidates) + label.height)
        near_markers = [m for m in markers if _overlaps(reach, m)]
        near_points = [p for p in points if reach[0] <= p[0] <= reach[2] and reach[1] <= p[1] <= reach[3]]
        near_segments = [(s, e) for s in segments if _overlaps(reach, e := _extent(s))]
        near_placed = [b for b in placed if _overlaps(reach, b)]
        best, best_cost = None, float("inf")
        for rank, (dx, dy) in enumerate(candidates):
            box = (label.x + dx, label.y + dy, label.x + dx + label.width, label.y + dy + label.height)
            start = rank * 0.01 + (_AMBIGUOUS if _nearer_to_another(box, label, near_points) else 0.0)
            cost = _cost(box, near_placed, near_markers, near_segments, bounds, start, best_cost)
            if cost < best_cost:
                best, best_cost = (dx, dy), cost
                if cost < 0.5:  # collides with nothing: no later position can beat it by enough
                    break
        assert best is not None  # the first candidate's cost is finite, so some candidate was taken
        dx, dy = best
        placed.append((label.x + dx, label.y + dy, label.x + dx + label.width, label.y + dy + label.height))
        offsets.append((dx, dy))
    return offsets


def _candidates(label: Label, gap: float) -> list[tuple[float, float]]:
    """Positions around the point, right-above first (the plot's habit), then the other corners,
    the sides, above and below, and the same again twice and three times as far."""
    w, h, near = label.width, label.height, label.clearance + gap
    found = []
    for scale in (1.0, 2.2, 3.4):
        d = near * scale
        lift = d * 0.35
        found += [
            (d, lift), (d, -h - lift), (-w - d, lift), (-w - d, -h - lift),
            (d, -h / 2), (-w - d, -h / 2), (-w / 2, d), (-w / 2, -h - d),
        ]
    return found


def _cost(box: Box, placed: list[Box], markers: list[Box], segments: list[tuple[Segment, Box]],
          bounds: Box, cost: float, enough: float) -> float:
    """``cost`` plus the box's collisions; ``segments`` each with its extent (the cheap test
    first). Stops counting once the cost reaches ``enough``: that position has lost already."""
    if box[0] < bounds[0] or box[1] < bounds[1] or box[2] > bounds[2] or box[3] > bounds[3]:
        cost += _OUTSIDE
    for weight, boxes in ((_LABEL, placed), (_MARKER, markers)):
        for other in boxes:
            if cost >= enough:
                return cost
            if _overlaps(box, other):
                cost += weight
    for segment, extent in segments:
        if cost >= enough:
            return cost
        if _overlaps(box, extent) and _crosses(box, segment):
            cost += _LINE
    return cost


def _nearer_to_another(box: Box, label: Label, points: list[tuple[float, float]]) -> bool:
    """Whether some other point is nearer to the box than the label's own point."""
    def distance(x: float, y: float) -> float:
        dx = max(box[0] - x, 0.0, x - box[2])
        dy = max(box[1] - y, 0.0, y - box[3])
        return dx * dx + dy * dy

    own = distance(label.x, label.y)
    return any((x, y) != (label.x, label.y) and distance(x, y) < own for x, y in points)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _extent(segment: Segment) -> Box:
    x0, y0, x1, y1 = segment
    # A vertical or horizontal segment has no area: widen it by a pixel so _overlaps sees it.
    return (min(x0, x1) - 1, min(y0, y1) - 1, max(x0, x1) + 1, max(y0, y1) + 1)


def _crosses(box: Box, segment: Segment) -> bool:
    """Whether the segment passes through the box (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = segment
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return False  # parallel to this edge and outside it
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True
