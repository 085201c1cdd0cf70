"""The Pareto front of each model's configurations: which rows it dominates, the ``pareto = true``
check, the plot's step line and hollow points, and summary.md's lines."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET

import pytest
from conftest import LLAMA2_EXPECTED_MD, run
from test_cli import compviz

from pytest_compviz.config.rules import RuleError, parse_rule, parse_rule_string
from pytest_compviz.core.gates import evaluate
from pytest_compviz.core.pareto import Front, front
from pytest_compviz.core.results import load_results
from pytest_compviz.report.artifacts import model_jobs, render_artifacts
from pytest_compviz.report.plot import DOMINATED_LABEL, FRONT_LABEL, trade_off_figure

MODEL = "meta-llama_Llama-2-7b-chat-hf"
# llama2_asym.csv's rows, by their index in the results (file line - 2); 9 is fp32.
GPTQ, INT4_100, DATA_FREE, RANK32, RANK128, INT4_80, RANK256, INT4_60, INT4_40, FP32 = range(10)
GPTQ_LABEL = "int4 + awq + scale estimation + gptq (gptq)"
RANK256_LABEL = "int4 + awq + scale estimation + lora correction (rank 256)"


# --- front(), on its own ---------------------------------------------------------------------------


def test_two_identical_points_are_both_on_the_front():
    assert front([("a", 0.05, 7.0), ("b", 0.05, 7.0)]) == Front(("a", "b"), {})


def test_equal_error_and_lower_rate_is_dominated_and_equal_rate_and_higher_error_too():
    assert front([("low", 0.05, 6.0), ("high", 0.05, 7.0)]) == Front(("high",), {"low": "high"})
    assert front([("worse", 0.06, 7.0), ("better", 0.05, 7.0)]) == Front(("better",), {"worse": "better"})


def test_ties_on_the_front_with_a_dominated_point_among_them():
    points = [("a", 0.02, 5.0), ("b", 0.02, 5.0), ("c", 0.04, 6.0), ("d", 0.04, 6.0), ("e", 0.03, 5.0)]
    found = front(points)
    assert found.front == ("a", "b", "c", "d")
    assert found.dominated_by == {"e": "a"}  # a and b tie: the first in the input is named


def test_every_point_on_the_front():
    points = [(n, 0.01 * n, 2.0 + n) for n in range(6)]
    random.Random(1).shuffle(points)
    found = front(points)
    assert found.front == tuple(index for index, _, _ in points)  # in the input's order
    assert found.dominated == frozenset()


def test_one_point_dominating_all_others():
    points = [(0, 0.05, 4.0), (1, 0.08, 6.0), (2, 0.01, 8.0), (3, 0.01, 7.0), (4, 0.02, 8.0)]
    found = front(points)
    assert found.front == (2,)
    assert found.dominated_by == {0: 2, 1: 2, 3: 2, 4: 2}


def test_the_dominating_row_named_has_the_highest_rate_then_the_lowest_error_then_comes_first():
    points = [("p", 0.10, 3.0), ("x", 0.05, 5.0), ("y", 0.04, 6.0), ("z", 0.06, 6.0), ("w", 0.04, 6.0)]
    assert front(points).dominated_by == {"p": "y", "x": "y", "z": "y"}


def test_nan_is_never_compared():
    nan = float("nan")
    found = front([("a", nan, 9.0), ("b", 0.05, 4.0), ("c", 0.01, nan)])
    assert found.front == ("b",)
    assert found.dominated_by == {}


def brute_force(points):
    dominated_by = {}
    for index, error, rate in points:
        dominators = [(-r, e, position, i) for position, (i, e, r) in enumerate(points)
                      if e <= error and r >= rate and (e < error or r > rate)]
        if dominators:
            dominated_by[index] = min(dominators)[3]
    return tuple(i for i, _, _ in points if i not in dominated_by), dominated_by


def test_the_sweep_agrees_with_comparing_every_pair():
    generator = random.Random(7)
    for size in (1, 2, 5, 40, 300):
        # Few distinct values: many ties in error, in rate and in both.
        points = [(n, generator.randint(0, 8) / 100, generator.randint(2, 8) / 1.0) for n in range(size)]
        found = front(points)
        assert (found.front, found.dominated_by) == brute_force(points)


# --- the rows' dominators, in evaluate -------------------------------------------------------------


def int8_row(size: str, metrics: list[str]) -> list[str]:
    return [MODEL, "int8", "0.0", "1.0", "", "int8", size, *metrics, "1.0"]


FP32_METRICS = ["11.5702000084492", "0.710848049679798", "3.26198076334924", "1.0"]
DATA_FREE_METRICS = ["12.09012240191984", "0.6962934213079759", "3.428429823084256", "0.7780743274423811"]


def test_llama2_rows_dominated_and_the_baseline_takes_no_part(llama2_csv):
    gates = evaluate(load_results(str(llama2_csv)), [])
    by_index = {row.index: row for row in gates.rows}
    dominated = {index: row.dominated_by.index for index, row in by_index.items() if row.dominated_by}
    # data-free and 100% int4 have gptq's rate (the same 7.18x) at more error
    assert dominated == {INT4_100: GPTQ, DATA_FREE: GPTQ, INT4_60: RANK256, INT4_40: RANK256}
    assert by_index[DATA_FREE].dominated_by.label == GPTQ_LABEL
    assert by_index[FP32].dominated_by is None  # 0% error: it would dominate nothing only by its rate
    assert all(row.pareto is None and "pareto" not in row.check_names() for row in gates.rows)


def test_the_int8_row_takes_part(write_csv):
    rows = write_csv.rows() + [int8_row("6.7", DATA_FREE_METRICS)]  # data-free's error at 3.7x: dominated
    gates = evaluate(load_results(str(write_csv("int8.csv", rows))), [parse_rule({"pareto": True}, "rule 1")])
    (int8,) = [row for row in gates.rows if row.mode == "int8"]
    assert int8.dominated_by.index == GPTQ
    assert int8.check_names() == ["pareto"] and not int8.expected_pass("pareto")


def test_the_baseline_takes_no_part_in_gates_nor_in_the_plot(write_csv):
    # An int8 row as large as fp32 (1.0x) with the least error: the baseline (0%, 1.0x) would
    # dominate it; without the baseline it is on the front.
    rows = write_csv.rows() + [int8_row("25.103", FP32_METRICS[:3] + ["0.99"])]
    results = load_results(str(write_csv("int8.csv", rows)))
    (int8,) = [row for row in evaluate(results, []).rows if row.mode == "int8"]
    assert int8.dominated_by is None
    (job,) = model_jobs(results, None)
    assert int8.index in job.overlay.front
    assert FP32 not in job.overlay.front and FP32 not in job.overlay.dominated


def test_an_int8_row_dominating_every_other_row(write_csv):
    rows = write_csv.rows() + [int8_row("3.0", FP32_METRICS)]  # fp32's figures at 8.4x
    gates = evaluate(load_results(str(write_csv("int8.csv", rows))), [])
    (int8,) = [row for row in gates.rows if row.mode == "int8"]
    assert int8.dominated_by is None
    others = [row for row in gates.rows if row.mode not in ("int8", "fp32")]
    assert len(others) == 9 and all(row.dominated_by.index == int8.index for row in others)


def test_each_model_has_its_own_front(write_csv):
    gates = evaluate(load_results(str(write_csv("two.csv", write_csv.two_models()))), [])
    for model in {row.model for row in gates.rows}:
        rows = [row for row in gates.rows if row.model == model]
        names = {row.dominated_by.label.split(": ", 1)[1] for row in rows if row.dominated_by}
        assert names == {GPTQ_LABEL, RANK256_LABEL}
    models = {row.index: row.model for row in gates.rows}
    dominated = [row for row in gates.rows if row.dominated_by]
    assert len(dominated) == 8 and all(models[row.dominated_by.index] == row.model for row in dominated)


# --- the rule key ------------------------------------------------------------------------------


def test_pareto_key_in_toml_and_command_line_forms_and_a_later_false_removes_the_check(llama2_csv):
    assert parse_rule({"pareto": True}, "r").checks[0].kind == "pareto"
    assert parse_rule_string("mode=int4; pareto=false", "--compviz-rule").checks[0].kind == "off"
    with pytest.raises(RuleError, match=r"pareto: expected true or false, not 'yes'"):
        parse_rule({"pareto": "yes"}, "r")
    with pytest.raises(RuleError, match=r"pareto: expected true or false, not 1"):
        parse_rule({"pareto": 1}, "r")
    rules = [parse_rule_string("pareto=true", "--compviz-rule 1"),
             parse_rule_string("mode=int4; pareto=false", "--compviz-rule 2")]
    gates = evaluate(load_results(str(llama2_csv)), rules)
    by_index = {row.index: row for row in gates.rows}
    assert by_index[DATA_FREE].check_names() == []  # its check removed
    assert by_index[INT4_100].check_names() == ["pareto"]
    assert by_index[FP32].check_names() == []


# --- through pytest and the compviz command ----------------------------------------------------


PARETO_RULES = """
[[tool.compviz.rules]]
mode = "*"
max-relative-error = "9%"
pareto = true

[[tool.compviz.rules]]
mode = "int4 + awq*"
max-relative-error = "6%"
"""

DATA_FREE_MESSAGE = (f"int4 (data-free): dominated by {GPTQ_LABEL}: error 8.5% vs 4.1%, rate 7.2x vs 7.2x"
                     " (rule 1, pyproject.toml)")
MIX60_MESSAGE = (f"int4 + awq + scale estimation (60% int4): dominated by {RANK256_LABEL}:"
                 " error 2.7% vs 2.5%, rate 5.4x vs 6.1x (rule 1, pyproject.toml)")


@pytest.mark.usefixtures("heavy_modules_loaded")
def test_a_dominated_row_fails_its_pareto_check_naming_the_row_that_dominates_it(pytester, results):
    pytester.makefile(".toml", pyproject=PARETO_RULES)
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--junitxml=junit.xml")

    # schema + 9 rows x (max-relative-error + pareto); 4 rows dominated
    result.assert_outcomes(passed=15, failed=4)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*_ pareto of int4 (data-free) _*", DATA_FREE_MESSAGE])
    result.stdout.fnmatch_lines([MIX60_MESSAGE])
    failed = {line.split(" - ")[0] for line in result.stdout.lines if line.startswith("FAILED")}
    assert failed == {f"FAILED llama2_asym.csv::{name}::pareto" for name in (
        "int4 + awq + scale estimation (100% int4)", "int4 (data-free)",
        "int4 + awq + scale estimation (60% int4)", "int4 + awq + scale estimation (40% int4)")}
    cases = [case for case in ET.parse(pytester.path / "junit.xml").iter("testcase") if case.get("name") == "pareto"]
    properties = {case.get("classname").rsplit(".", 1)[-1]: {p.get("name"): p.get("value") for p in case.iter("property")}
                  for case in cases}
    data_free = next(props for props in properties.values() if props["mode"] == "int4")
    assert data_free["check"] == "pareto" and data_free["rule"] == "rule 1, pyproject.toml"
    assert data_free["dominated by"] == GPTQ_LABEL
    assert float(data_free["dominating error"]) == pytest.approx(0.041363, abs=1e-6)
    assert float(data_free["dominating rate"]) == pytest.approx(7.178439, abs=1e-6)
    dominated_lines = sorted(int(props["line"]) for props in properties.values() if "dominated by" in props)
    assert len(properties) == 9 and dominated_lines == [3, 4, 9, 10]


def test_compviz_gives_the_same_failures_json_and_summary(tmp_path, llama2_csv):
    (tmp_path / "pyproject.toml").write_text("[tool.compviz]\n" + PARETO_RULES)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "llama2_asym.csv").write_bytes(llama2_csv.read_bytes())

    done = compviz("in/llama2_asym.csv", "-o", "out", "--no-step-summary", cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    assert f"FAILED in/llama2_asym.csv: pareto of int4 (data-free): {DATA_FREE_MESSAGE.removeprefix('int4 (data-free): ')}" in done.stdout.splitlines()
    assert sum(line.startswith("FAILED") for line in done.stdout.splitlines()) == 4
    document = json.loads((tmp_path / "out" / "compviz.json").read_text())
    assert document["version"] == 2
    by_name = {row["plot name"]: row["pareto"] for row in document["rows"]}
    assert by_name[""] is None  # the baseline row takes no part
    assert by_name["data-free"]["dominated by"] == GPTQ_LABEL
    assert by_name["data-free"]["status"] == "failed" and by_name["data-free"]["message"] == DATA_FREE_MESSAGE
    assert by_name["rank 256"] == {"dominated by": None, "dominating error": None, "dominating rate": None,
                                   "status": "passed", "rule": "rule 1, pyproject.toml",
                                   "message": f"{RANK256_LABEL}: on the Pareto front (rule 1, pyproject.toml)"}
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert (f"- ⚪ int4 (data-free) is dominated by {GPTQ_LABEL} (error 8.5% vs 4.1%, rate 7.2x vs 7.2x)"
            in summary.splitlines())
    assert sum(line.startswith("- ⚪ ") for line in summary.splitlines()) == 4
    # 2.470% and 2.455% both show as 2.5%: more decimals tell them apart
    assert (f"- ⚪ int4 + awq + scale estimation (40% int4) is dominated by {RANK256_LABEL}"
            " (error 2.47% vs 2.46%, rate 4.8x vs 6.1x)") in summary.splitlines()
    assert ("Best compression within each rule's error limit:"
            f" 6.0% (rule 2, pyproject.toml): {GPTQ_LABEL}, 7.2x at 4.1%;"
            f" 9.0% (rule 1, pyproject.toml): {GPTQ_LABEL}, 7.2x at 4.1%") in summary.splitlines()
    assert "error ≤ 9.0%; on the Pareto front" in summary
    # The NNCF table stays byte-exact: nothing is added to it.
    assert (tmp_path / "out" / "llama2_asym.md").read_bytes() == LLAMA2_EXPECTED_MD.read_bytes()


def test_summary_says_when_no_row_is_within_a_limit(tmp_path, llama2_csv):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "llama2_asym.csv").write_bytes(llama2_csv.read_bytes())

    done = compviz("in/llama2_asym.csv", "-o", "out", "--no-step-summary", "--rule",
                   "mode=int4 + awq*; max-relative-error=2%", "--rule", "mode=int4; max-relative-error=3%", cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert ("Best compression within each rule's error limit:"
            " 2.0% (--rule 1 'mode=int4 + awq*; max-relative-error=2%'): none within;"
            f" 3.0% (--rule 2 'mode=int4; max-relative-error=3%'): {RANK256_LABEL}, 6.1x at 2.5%"
            ) in summary.splitlines(), summary


# --- the plot ----------------------------------------------------------------------------------


def llama2_figure(llama2_csv):
    (job,) = model_jobs(load_results(str(llama2_csv)), None)
    return job, trade_off_figure(job.points, job.model, job.reference_mode, job.metric_count, job.overlay)


def test_the_plot_draws_the_front_as_a_step_line_and_dominated_points_hollow(llama2_csv):
    job, figure = llama2_figure(llama2_csv)
    assert job.overlay.front == (GPTQ, RANK32, RANK128, INT4_80, RANK256)
    assert job.overlay.dominated == {INT4_100, DATA_FREE, INT4_60, INT4_40}
    axes = figure.axes[0]
    (line,) = [line for line in axes.get_lines() if line.get_label() == FRONT_LABEL]
    assert line.get_drawstyle() == "steps-post"
    by_index = {p.index: p for p in job.points}
    expected = [by_index[i] for i in (RANK256, INT4_80, RANK128, RANK32, GPTQ)]  # by error
    assert list(line.get_xdata()) == [p.error for p in expected] + [by_index[DATA_FREE].error]  # on to the last error
    assert list(line.get_ydata()) == [p.rate for p in expected] + [by_index[GPTQ].rate]
    hollow = {(x, y) for line in axes.get_lines() if line.get_markerfacecolor() == "white"
              and line.get_label() != DOMINATED_LABEL for x, y in zip(line.get_xdata(), line.get_ydata())}
    assert hollow == {(by_index[i].error, by_index[i].rate) for i in (INT4_100, DATA_FREE, INT4_60, INT4_40)}
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend[-2:] == [FRONT_LABEL, DOMINATED_LABEL]


def test_no_hollow_entry_when_every_row_is_on_the_front(write_csv):
    rows = [row for row in write_csv.rows() if row[5] in ("plot name", "gptq", "rank 32", "rank 256", "")]
    (job,) = model_jobs(load_results(str(write_csv("front.csv", rows))), None)
    assert job.overlay.dominated == frozenset() and len(job.overlay.front) == 3
    figure = trade_off_figure(job.points, job.model, job.reference_mode, job.metric_count, job.overlay)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert FRONT_LABEL in legend and DOMINATED_LABEL not in legend


@pytest.mark.draws
def test_the_front_is_a_label_obstacle_and_the_bytes_stay_the_same(llama2_csv, tmp_path, monkeypatch):
    first = [a.data for a in render_artifacts(load_results(str(llama2_csv)), tmp_path, ("png", "svg"))]
    second = [a.data for a in render_artifacts(load_results(str(llama2_csv)), tmp_path, ("png", "svg"))]
    assert first == second
    from pytest_compviz.report import labels

    obstacles = []
    place = labels.place

    def recording_place(labels_, markers, segments, bounds, gap, points=None):
        obstacles.extend(segments)
        return place(labels_, markers, segments, bounds, gap, points)

    monkeypatch.setattr(labels, "place", recording_place)
    _, figure = llama2_figure(llama2_csv)
    monkeypatch.undo()
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    axes = figure.axes[0]
    (line,) = [line for line in axes.get_lines() if line.get_label() == FRONT_LABEL]
    from pytest_compviz.report.labels import _crosses
    from pytest_compviz.report.plot import _step_segments

    vertices = list(zip(line.get_xdata(), line.get_ydata()))
    segments = [(*axes.transData.transform((x0, y0)), *axes.transData.transform((x1, y1)))
                for x0, y0, x1, y1 in _step_segments(vertices)]
    assert len(segments) == 9  # 5 front points and the run on to data-free's error: 5 across, 4 up
    for segment in segments:
        assert any(all(abs(a - b) < 1e-6 for a, b in zip(segment, obstacle)) for obstacle in obstacles), segment
    for text in axes.texts:
        box = tuple(text.get_window_extent(renderer).extents)
        assert not any(_crosses(box, segment) for segment in segments), text.get_text()
