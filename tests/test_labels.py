"""Point labels on the trade-off plot: clear of each other, of the markers and rings, of the
arrows and limit lines, inside the axes; and the same bytes every time."""

from __future__ import annotations

import itertools

import pytest

from pytest_compviz.core.results import load_results
from pytest_compviz.report.labels import Label, place
from pytest_compviz.report.plot import Overlay, plot_points, trade_off_figure
from pytest_compviz.report.artifacts import render_artifacts

BOUNDS = (0.0, 0.0, 1000.0, 600.0)


def boxes(labels, offsets):
    return [(lab.x + dx, lab.y + dy, lab.x + dx + lab.width, lab.y + dy + lab.height)
            for lab, (dx, dy) in zip(labels, offsets)]


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# --- the placement, on its own -------------------------------------------------------------------


def test_two_labels_of_points_close_together_do_not_overlap():
    # rank 32 and rank 128 of Llama-2: two points a few pixels apart.
    labels = [Label(500, 300, 50, 12, 5), Label(505, 296, 56, 12, 5)]
    first, second = boxes(labels, place(labels, [], [], BOUNDS, gap=4))
    assert not overlap(first, second)


def test_a_label_keeps_off_a_line_when_a_free_position_exists_and_off_markers():
    label = Label(500, 300, 60, 12, 5)
    limit_line = (520, 0, 520, 600)  # right of the point: right-hand positions cross it
    (box,) = boxes([label], place([label], [], [limit_line], BOUNDS, gap=4))
    assert box[2] <= 520  # moved to the left of the line
    marker = (505, 305, 600, 330)  # above right, and the line still there
    (box,) = boxes([label], place([label], [marker], [limit_line], BOUNDS, gap=4))
    assert box[2] <= 520 and not overlap(box, marker)


def test_labels_at_the_edges_stay_inside_the_axes():
    labels = [Label(995, 595, 60, 12, 5), Label(2, 2, 60, 12, 5)]
    for box in boxes(labels, place(labels, [], [], BOUNDS, gap=4)):
        assert BOUNDS[0] <= box[0] and box[2] <= BOUNDS[2] and BOUNDS[1] <= box[1] and box[3] <= BOUNDS[3]


def test_the_first_free_position_is_right_above_the_point():
    label = Label(500, 300, 60, 12, 5)
    ((dx, dy),) = place([label], [], [], BOUNDS, gap=4)
    assert dx > 0 and dy > 0


def test_a_crowd_gets_labels_that_overlap_nothing_when_there_is_room():
    # Eight points on a short diagonal: a crowd that right-above alone would stack.
    labels = [Label(400 + 6 * n, 300 + 4 * n, 55, 12, 5) for n in range(8)]
    markers = [(lab.x - 5, lab.y - 5, lab.x + 5, lab.y + 5) for lab in labels]
    placed = boxes(labels, place(labels, markers, [], BOUNDS, gap=4))
    for a, b in itertools.combinations(placed, 2):
        assert not overlap(a, b)
    for box in placed:
        assert not any(overlap(box, marker) for marker in markers)


# --- on the real plot ----------------------------------------------------------------------------


def drawn_boxes(figure):
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    axes = figure.axes[0]
    # The arrows of a baseline run are annotations without text.
    return {text.get_text(): text.get_window_extent(renderer).extents for text in axes.texts if text.get_text()}


def test_llama2_labels_overlap_no_label_no_marker_and_no_limit_line(llama2_csv):
    results = load_results(str(llama2_csv))
    (model,) = results.models()
    points = plot_points(model.frame, "fp32")
    # The README's plot: one limit per series, the int4 rows failing (rings), and a baseline run
    # whose points moved (arrows).
    overlay = Overlay(
        failing=frozenset(p.index for p in points if p.kind == "int4 + LoRA correction"),
        error_limits=(("int4 + LoRA correction", 0.04), ("mixed precision (int4/int8 ratio)", 0.06),
                      ("int4, data-free", 0.09)),
        previous=tuple((p.index, p.error / 100 - 0.008, p.rate - 0.3) for p in points if p.kind != "reference"),
    )
    figure = trade_off_figure(points, model.model, "fp32", 4, overlay)
    found = drawn_boxes(figure)
    assert sorted(found) == sorted(p.label for p in points)
    axes = figure.axes[0]
    to_pixels = axes.transData.transform
    for (a_name, a), (b_name, b) in itertools.combinations(found.items(), 2):
        assert not overlap(a, b), (a_name, b_name)
    def radius(p):  # of what is drawn at the point, in pixels: a ring, a star, a series marker
        size = 16 if p.index in overlay.failing else 11 if p.kind == "reference" else 7
        return size / 2 * figure.dpi / 72

    for name, box in found.items():
        for p in points:
            x, y = to_pixels((p.error, p.rate))
            r = radius(p)
            assert not overlap(box, (x - r, y - r, x + r, y + r)), (name, p.label)
        for _, limit in overlay.error_limits:
            x = to_pixels((limit * 100, 0))[0]
            assert not box[0] < x < box[2], (name, limit)
        inside = axes.bbox.extents
        assert inside[0] <= box[0] and box[2] <= inside[2] and inside[1] <= box[1] and box[3] <= inside[3]


@pytest.mark.draws
def test_placed_labels_give_the_same_bytes_every_time(llama2_csv, tmp_path):
    results = load_results(str(llama2_csv))
    first = [a.data for a in render_artifacts(results, tmp_path, ("png", "svg"))]
    second = [a.data for a in render_artifacts(results, tmp_path, ("png", "svg"))]
    assert first == second


@pytest.mark.parametrize("count", [1, 250])
def test_any_number_of_points_is_labelled_without_error(write_csv, count):
    # A one-row model and a dense sweep (an evenly spaced subset of 30 labels).
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from sweep import write_sweep

    path = write_sweep(write_csv.folder / "sweep.csv", 1, count + 1)
    (model,) = load_results(str(path)).models()
    figure = trade_off_figure(plot_points(model.frame, "fp32"), model.model, "fp32", 4)
    step = -(-(count + 1) // 30)  # at most 30 labels: every step-th point
    assert len(drawn_boxes(figure)) == len(range(0, count + 1, step)) <= 30
