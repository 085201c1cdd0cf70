"""Identities (issue 19): a baseline row, a source file and a model's weights are what they claim.
Each case through a real face: in-process pytester runs for the plugin, ``compviz`` (``cli.main``)
in-process for the command, pure functions for the readers. See docs/identities.md."""

from __future__ import annotations

import json
import os

import pytest
from conftest import CsvWriter, run

from pytest_compviz.cli import main as compviz_main

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")

WWB = "WWB, similarity"
ACC = "lambada-openai, acc"
SIZE = "model size, Gb"


def without_model_column(writer: CsvWriter, scale_size: float = 1.0, cells=None) -> list[list[str]]:
    """llama2_asym's rows with the model column dropped: the first column is ``mode``. Sizes
    multiplied by ``scale_size`` (so another "model" has other figures)."""
    rows = writer.rows()
    for (line, column), value in (cells or {}).items():
        rows[line - 1][rows[0].index(column)] = value
    size = rows[0].index(SIZE)
    for row in rows[1:]:
        row[size] = repr(float(row[size]) * scale_size)
    return [row[1:] for row in rows]


def compviz(monkeypatch, folder, capsys, *args) -> tuple[int, str, str]:
    monkeypatch.chdir(folder)
    capsys.readouterr()  # what earlier runs in this test printed
    code = compviz_main([*map(str, args), "--no-step-summary"]) if args[:1] != ("assemble",) else compviz_main(
        list(map(str, args)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# The NNCF metrics without WWB's similarity.
THREE_METRICS = """
[tool.compviz]
[[tool.compviz.metrics]]
column = "lambada-openai, acc"
direction = "higher"
[[tool.compviz.metrics]]
column = "lambada-openai, perplexity"
direction = "lower"
[[tool.compviz.metrics]]
column = "wikitext, word perplexity"
direction = "lower"
"""


# --- baselines -----------------------------------------------------------------------------------


def test_two_files_without_a_model_column_keep_their_own_rows_in_one_baseline(pytester, results):
    # llama.csv and phi.csv both start with `mode`: keyed by configuration alone, phi's rows
    # replaced llama's, and llama's next run was compared with phi's figures (phi's sizes differ,
    # so llama's int4 rate "changed" from phi's). Now each input keeps its rows.
    results("llama.csv", without_model_column(results))
    results("phi.csv", without_model_column(results, scale_size=0.5, cells={(4, WWB): "0.5"}))
    for name in ("llama.csv", "phi.csv"):
        assert run(pytester, "--compviz-input", name, "--compviz-save-baseline", "base.json").ret == 0
    saved = json.loads((pytester.path / "base.json").read_text(encoding="utf-8"))
    assert sorted({row["input"] for row in saved["rows"]}) == ["llama.csv", "phi.csv"]
    assert len(saved["rows"]) == 20

    results("llama.csv", without_model_column(results, cells={(4, WWB): "0.70"}))
    result = run(pytester, "--compviz-input", "llama.csv", "--compviz-baseline", "base.json", "-rf")

    result.assert_outcomes(passed=9, failed=1)  # llama's own int4 row, compared with llama's figures
    result.stdout.fnmatch_lines(["int4 (data-free): since the baseline (base.json, *): average relative error"
                                 " 8.46% -> 10.41% (+1.95 pp, allowed +0.50 pp); compression rate 7.18x -> 7.18x*",
                                 "FAILED llama.csv::int4 (data-free)::regression - *"])


def test_a_baseline_saved_with_other_metrics_is_a_usage_error_naming_both(pytester, results, monkeypatch, capsys):
    # Saved with the four NNCF metrics; compared under three (WWB dropped), a row whose accuracy
    # fell 8% passed its regression check. Both faces refuse the comparison.
    results("r.csv")
    assert run(pytester, "--compviz-input", "r.csv", "--compviz-save-baseline", "base.json").ret == 0
    pytester.makepyprojecttoml(THREE_METRICS)
    expected = ("baseline base.json: saved with the metrics 'lambada-openai, acc' (higher), 'lambada-openai,"
                " perplexity' (lower), 'WWB, similarity' (similarity), 'wikitext, word perplexity' (lower); this"
                " run uses 'lambada-openai, acc' (higher), 'lambada-openai, perplexity' (lower), 'wikitext, word"
                " perplexity' (lower): errors computed from other metrics cannot be compared (save a new baseline"
                " with these metrics, or configure the saved ones)")

    result = run(pytester, "--compviz-input", "r.csv", "--compviz-baseline", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: compviz: {expected}"])

    code, _, err = compviz(monkeypatch, pytester.path, capsys, "r.csv", "--baseline", "base.json")
    assert code == 2
    assert err.strip() == f"compviz: error: {expected}"


def test_a_baseline_saved_with_another_baseline_mode_is_a_usage_error(pytester, results):
    results("r.csv")
    assert run(pytester, "--compviz-input", "r.csv", "--compviz-save-baseline", "base.json").ret == 0
    rows = results.rows()
    mode = rows[0].index("mode")
    for row in rows[1:]:
        row[mode] = {"fp32": "fp16"}.get(row[mode], row[mode])
    results("r.csv", rows)

    result = run(pytester, "--compviz-input", "r.csv", "--compviz-baseline", "base.json",
                 "--compviz-baseline-mode", "fp16")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: compviz: baseline base.json: saved with baseline-mode 'fp32'; this run"
                                 " uses 'fp16': errors against another reference cannot be compared"])


def test_a_baseline_written_before_settings_were_recorded_is_checked_by_its_metric_columns(pytester, results):
    results("r.csv")
    assert run(pytester, "--compviz-input", "r.csv", "--compviz-save-baseline", "base.json").ret == 0
    document = json.loads((pytester.path / "base.json").read_text(encoding="utf-8"))
    del document["settings"]
    for row in document["rows"]:
        del row[WWB]
    (pytester.path / "base.json").write_text(json.dumps(document), encoding="utf-8")

    result = run(pytester, "--compviz-input", "r.csv", "--compviz-baseline", "base.json")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: compviz: baseline base.json: saved with the metrics 'lambada-openai,"
                                 " acc', 'lambada-openai, perplexity', 'wikitext, word perplexity'; this run uses"
                                 " 'WWB, similarity', 'lambada-openai, acc', 'lambada-openai, perplexity',"
                                 " 'wikitext, word perplexity': *"])


def test_saving_into_a_baseline_of_other_metrics_leaves_it_alone(pytester, results):
    results("r.csv")
    assert run(pytester, "--compviz-input", "r.csv", "--compviz-save-baseline", "base.json").ret == 0
    before = (pytester.path / "base.json").read_bytes()
    pytester.makepyprojecttoml(THREE_METRICS)
    result = run(pytester, "--compviz-input", "r.csv", "--compviz-save-baseline", "base.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED  # asked for, not written
    result.stdout.fnmatch_lines(["error: baseline not saved: base.json: saved with the metrics 'lambada-openai,"
                                 " acc' (higher), *; this run uses *: errors computed from other metrics cannot be"
                                 " compared (*); not overwritten"])
    assert (pytester.path / "base.json").read_bytes() == before


def test_saving_through_a_symlink_writes_its_target_and_keeps_the_link(pytester, results):
    shared = pytester.path / "shared"
    shared.mkdir()
    (pytester.path / "link.json").symlink_to(shared / "base.json")
    results("r.csv")

    result = run(pytester, "--compviz-input", "r.csv", "--compviz-save-baseline", "link.json")

    assert result.ret == 0
    assert (pytester.path / "link.json").is_symlink()
    assert len(json.loads((shared / "base.json").read_text(encoding="utf-8"))["rows"]) == 10
    assert sorted(p.name for p in shared.iterdir()) == ["base.json"]  # lock and temp file gone
    assert sorted(p.name for p in pytester.path.iterdir() if p.name.startswith(("link", "."))) == ["link.json"]


@pytest.mark.parametrize("rows, kind", [("[null]", "null"), ("[[1, 2]]", "an array"), ('["x"]', "a string")])
def test_a_baseline_whose_rows_are_not_objects_is_a_usage_error(pytester, results, monkeypatch, capsys, rows, kind):
    results("r.csv")
    (pytester.path / "base.json").write_text(
        '{"schema": "pytest-compviz/run", "version": 2, "rows": %s}' % rows, encoding="utf-8")
    expected = f"baseline base.json: row 1 must be a JSON object, not {kind}"

    result = run(pytester, "--compviz-input", "r.csv", "--compviz-baseline", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: compviz: {expected}"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()

    code, _, err = compviz(monkeypatch, pytester.path, capsys, "r.csv", "--baseline", "base.json")
    assert (code, err.strip()) == (2, f"compviz: error: {expected}")


def test_saving_into_a_file_whose_rows_are_not_objects_is_refused(pytester, results):
    results("r.csv")
    (pytester.path / "base.json").write_text('{"schema": "pytest-compviz/run", "version": 2, "rows": [null]}',
                                             encoding="utf-8")
    result = run(pytester, "--compviz-input", "r.csv", "--compviz-save-baseline", "base.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["error: baseline not saved: base.json: exists but its rows are malformed*;"
                                 " not overwritten"])
