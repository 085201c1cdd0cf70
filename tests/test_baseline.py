"""Regression gating against a saved run and the CI outputs (issue 4), driven through real pytest
runs with ``pytester``: --compviz-save-baseline / --compviz-baseline, tolerances, new and missing
rows, summary.md, compviz.json, the GitHub step summary, JUnit properties, pytest-html, the plot."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from conftest import LLAMA2_CSV, LLAMA2_ROWS_BY_LINE, CsvWriter, run

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")

CSV = "llama2_asym.csv"
MODEL = "meta-llama_Llama-2-7b-chat-hf"
OTHER = "org/other-model"
WWB = "WWB, similarity"
SIZE = "model size, Gb"

# The compressed rows of llama2_asym.csv, by file line (line 11 is the fp32 baseline row).
ROWS = LLAMA2_ROWS_BY_LINE

# Line 4 (int4, data-free) with WWB similarity 0.778 -> 0.70: its error rises 8.46% -> 10.41%.
WORSE_INT4 = {(4, WWB): "0.70"}
# Line 3 (100% int4) with WWB similarity 0.842 -> 0.95: its error falls 5.31% -> 2.60%.
BETTER_AWQ = {(3, WWB): "0.95"}

INT4_ERROR_FAILURE = (
    "int4 (data-free): since the baseline (base.json, *): average relative error 8.46% -> 10.41%"
    " (+1.95 pp, allowed +{allowed} pp); compression rate 7.18x -> 7.18x (+0.00x, allowed -0.05x) ({source})"
)


def save(pytester, results, name: str = CSV, baseline: str = "base.json", rows=None, cells=None) -> dict:
    """Writes ``name`` and saves a baseline from it; returns the saved document."""
    results(name, rows, cells=cells)
    result = run(pytester, "--compviz-input", name, "--compviz-save-baseline", baseline)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    return json.loads((pytester.path / baseline).read_text(encoding="utf-8"))


_SAVED: dict[str, bytes] = {}


@pytest.fixture
def base(pytester, results) -> dict:
    """base.json saved from the unmodified llama2_asym.csv (also written): a real
    --compviz-save-baseline run the first time, a copy of its file after that (keeps the module fast)."""
    if "base.json" not in _SAVED:
        save(pytester, results)
        _SAVED["base.json"] = (pytester.path / "base.json").read_bytes()
    else:
        results(CSV)
        (pytester.path / "base.json").write_bytes(_SAVED["base.json"])
    return json.loads(_SAVED["base.json"])


def outcome_lines(result: pytest.RunResult, outcome: str) -> set[str]:
    """Node ids from the ``-rA`` short summary with this outcome."""
    prefix = f"{outcome} "
    return {line[len(prefix):].split(" - ")[0] for line in result.stdout.lines if line.startswith(prefix)}


def keys(document: dict) -> list[tuple[str, str, str]]:
    return sorted((row["model"], row["mode"], row["plot name"]) for row in document["rows"])


def without_lines(writer: CsvWriter, *lines: int) -> list[list[str]]:
    return [row for number, row in enumerate(writer.rows(), start=1) if number not in lines]


def renamed(writer: CsvWriter, model: str) -> list[list[str]]:
    rows = writer.rows()
    return [rows[0]] + [[model, *row[1:]] for row in rows[1:]]


# --- 1. save, then compare -----------------------------------------------------------------------


def test_save_then_compare_passes_with_a_regression_item_per_compressed_row(pytester, results):
    document = save(pytester, results)

    assert document["schema"] == "pytest-compviz/run"
    assert document["version"] == 2
    assert document["outcome"] == "passed"
    created = datetime.fromisoformat(document["created"])
    assert created.utcoffset() is not None  # a zone-aware timestamp
    assert document["git_commit"] is None  # pytester's tmp dir is no git checkout
    assert [(i["name"], i["sha256"]) for i in document["inputs"]] == [
        (CSV, hashlib.sha256((pytester.path / CSV).read_bytes()).hexdigest())]
    assert len(document["rows"]) == 10  # the fp32 row too
    for row in document["rows"]:
        assert row["model"] == MODEL
        for field in ("mode", "%int4", "%int8", "lora rank", "average relative error", "compression rate"):
            assert field in row, field
    by_line = {row["line"]: row for row in document["rows"]}
    assert by_line[4]["mode"] == "int4"
    assert (by_line[4]["%int4"], by_line[4]["%int8"], by_line[4]["lora rank"]) == (1.0, 0.0, None)
    assert by_line[4]["average relative error"] == pytest.approx(0.08459, abs=1e-5)
    assert by_line[4]["compression rate"] == pytest.approx(25.103 / 3.497)
    assert by_line[8]["lora rank"] == 256.0
    assert by_line[7]["%int8"] == pytest.approx(0.2)
    assert (by_line[11]["mode"], by_line[11]["average relative error"], by_line[11]["compression rate"]) == (
        "fp32", 0.0, 1.0)

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json", "-rA")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=10)  # schema + one regression item per non-fp32 row
    assert outcome_lines(result, "PASSED") == {f"{CSV}::schema"} | {f"{CSV}::{row}::regression"
                                                                    for row in ROWS.values()}
    result.stdout.fnmatch_lines([
        "*= compviz =*",
        f"{CSV}: 9 gates passed, 0 failed",
        f"baseline: base.json, {document['created']}",
    ])
    assert "new since the baseline" not in result.stdout.str()
    assert "missing from this run" not in result.stdout.str()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_saved_baseline_records_the_git_commit_of_a_checkout(pytester, results):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=pytester.path, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], cwd=pytester.path, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=pytester.path, check=True, capture_output=True,
                          text=True).stdout.strip()

    document = save(pytester, results)

    assert document["git_commit"] == head
    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json")
    result.stdout.fnmatch_lines([f"baseline: base.json, {document['created']}, commit {head[:10]}"])


# --- 2. a worse row fails, a better one never does ---------------------------------------------------


def test_a_worse_row_fails_its_regression_item_with_baseline_new_value_and_delta(pytester, results, base):
    results(CSV, cells={**WORSE_INT4, **BETTER_AWQ})

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json", "-rA")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=9, failed=1)
    result.stdout.fnmatch_lines([
        "*_ regression of int4 (data-free) _*",
        INT4_ERROR_FAILURE.format(allowed="0.50", source="default tolerance"),
        "*= compviz =*",
        f"{CSV}: 8 gates passed, 1 failed",
    ])
    assert outcome_lines(result, "FAILED") == {f"{CSV}::int4 (data-free)::regression"}
    assert f"{CSV}::{ROWS[3]}::regression" in outcome_lines(result, "PASSED")  # improved by 2.71 pp
    assert "Traceback" not in result.stdout.str()


def test_an_improvement_never_fails_even_with_zero_tolerance(pytester, results, base):
    # Lower error on line 3, a higher compression rate (smaller model) on line 4.
    results(CSV, cells={**BETTER_AWQ, (4, SIZE): "3.3"})

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json",
                 "--compviz-regression-tolerance", "0%, 0x")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=10)
    summary = (pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")
    assert f"| {ROWS[3]} | 2.6% | 7.2x |  | -2.71 pp, +0.00x | ✅ pass |" in summary
    assert f"| {ROWS[4]} | 8.5% | 7.6x |  | +0.00 pp, +0.43x | ✅ pass |" in summary


# --- 3. tolerances -------------------------------------------------------------------------------


@pytest.mark.parametrize("tolerance, passes", [("3%", True), ("3%, 0.05x", True), ("1%", False)])
def test_command_line_error_tolerance(pytester, results, base, tolerance, passes):
    results(CSV, cells=WORSE_INT4)

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json",
                 "--compviz-regression-tolerance", tolerance)

    if passes:
        assert result.ret == pytest.ExitCode.OK
        result.assert_outcomes(passed=10)
    else:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines([INT4_ERROR_FAILURE.format(allowed="1.00", source="--compviz-regression-tolerance; default rate tolerance")])


@pytest.mark.parametrize("limit, passes", [('"3%"', True), ("0.01", False)])
def test_a_rule_sets_the_error_tolerance_and_is_named(pytester, results, base, limit, passes):
    results(CSV, cells=WORSE_INT4)
    pytester.makefile(".toml", pyproject=f"""
        [[tool.compviz.rules]]
        mode = "int4"
        max-error-increase = {limit}
    """)

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json")

    if passes:
        assert result.ret == pytest.ExitCode.OK
        result.assert_outcomes(passed=10)
        assert "rule matched no row" not in result.stdout.str()
    else:
        result.assert_outcomes(passed=9, failed=1)
        # The rule set the error tolerance; the rate one is still the default.
        result.stdout.fnmatch_lines([INT4_ERROR_FAILURE.format(
            allowed="1.00", source="rule 1, pyproject.toml; default tolerance")])
    rows = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text(encoding="utf-8"))["rows"]
    regression = {row["line"]: row["regression"] for row in rows}
    assert regression[4]["source"] == "rule 1, pyproject.toml; default tolerance"
    assert regression[4]["max error increase"] == pytest.approx(0.03 if passes else 0.01)
    assert regression[3]["source"] == "default tolerance"  # the rule selects mode int4 only
    assert regression[3]["max error increase"] == pytest.approx(0.005)


def test_pyproject_regression_tolerance_is_the_default_and_the_command_line_wins(pytester, results, base):
    results(CSV, cells=WORSE_INT4)
    pytester.makefile(".toml", pyproject="""
        [tool.compviz]
        regression-tolerance = "1%"
    """)

    from_file = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json")
    from_option = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json",
                      "--compviz-regression-tolerance", "3%")

    from_file.assert_outcomes(passed=9, failed=1)
    from_file.stdout.fnmatch_lines([INT4_ERROR_FAILURE.format(
        allowed="1.00", source="regression-tolerance, pyproject.toml; default rate tolerance")])
    from_option.assert_outcomes(passed=10)


# Line 4's model size 3.497 -> 3.52 Gb: its rate falls 7.18x -> 7.13x (-0.047x);
# 3.497 -> 3.6 Gb: 7.18x -> 6.97x (-0.205x).
@pytest.mark.parametrize("size, args, failure", [
    ("3.52", (), None),  # within the default 0.05x
    ("3.52", ("--compviz-regression-tolerance", "0.05x"), None),
    ("3.52", ("--compviz-regression-tolerance", "0.04x"),
     "compression rate 7.18x -> 7.13x (-0.05x, allowed -0.04x) (--compviz-regression-tolerance; default error"
     " tolerance)"),
    ("3.6", (), "compression rate 7.18x -> 6.97x (-0.21x, allowed -0.05x) (default tolerance)"),
    ("3.6", ("--compviz-regression-tolerance", "0.25x"), None),
    ("3.6", ("--compviz-rule", "mode=int4; max-rate-decrease=0.25x"), None),
    ("3.6", ("--compviz-rule", "mode=int4; max-rate-decrease=0.1"),
     "compression rate 7.18x -> 6.97x (-0.21x, allowed -0.10x)"
     " (--compviz-rule 1 'mode=int4; max-rate-decrease=0.1'; default tolerance)"),
])
def test_rate_tolerance(pytester, results, base, size, args, failure):
    results(CSV, cells={(4, SIZE): size})

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json", *args)

    if failure is None:
        assert result.ret == pytest.ExitCode.OK
        result.assert_outcomes(passed=10)
    else:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.assert_outcomes(passed=9, failed=1)
        result.stdout.fnmatch_lines([
            "int4 (data-free): since the baseline (base.json, *): average relative error 8.46% -> 8.46%"
            f" (+0.00 pp, allowed +0.50 pp); {failure}",
        ])


def test_rate_tolerance_from_a_pyproject_rule(pytester, results, base):
    results(CSV, cells={(4, SIZE): "3.6"})
    pytester.makefile(".toml", pyproject="""
        [[tool.compviz.rules]]
        mode = "int4"
        max-rate-decrease = 0.25
        max-error-increase = "1%"
    """)

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json", "--junitxml=junit.xml")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=10)
    cases = {case.get("classname"): case for case in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    properties = {p.get("name"): p.get("value") for p in cases[f"{CSV}.int4 (data-free)"].iter("property")}
    assert float(properties["max rate decrease"]) == pytest.approx(0.25)
    assert float(properties["max error increase"]) == pytest.approx(0.01)


@pytest.mark.parametrize("tolerance, message", [
    ("abc", "tolerance: 'abc' is not a number"),
    ("-1%", "max-error-increase: '-1%' must not be negative"),
    # Error or rate? Every part of the tolerance carries its unit.
    ("0.5", "'0.5' has no unit: write \"0.5%\" for an error increase in percentage points or \"0.5x\" for a"
            " compression-rate decrease"),
    ("12%, 0.05x", None),  # a percent is always accepted
])
def test_a_bad_tolerance_is_a_usage_error(pytester, results, tolerance, message):
    results(CSV)
    result = run(pytester, "--compviz-input", CSV, f"--compviz-regression-tolerance={tolerance}")
    if message is None:
        assert result.ret == pytest.ExitCode.OK
        return
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*error: argument --compviz-regression-tolerance: *{message}"])


@pytest.mark.parametrize("rule, message", [
    ("max-error-increase=0.5", "max-error-increase: '0.5' is read as a fraction, which would allow an increase of"
                               " 50 percentage points; write \"0.5%\" for 0.5 percent, or 0.005"),
    ("max-relative-error=0.5", "max-relative-error: '0.5' is read as a fraction, which would allow an average"
                               " relative error of 50%; write \"0.5%\" for 0.5 percent, or 0.005"),
    ("max-relative-error=1", "max-relative-error: '1' is read as a fraction, which would allow an average"
                             " relative error of 100%; write \"1%\" for 1 percent, or 0.01"),
])
def test_a_bare_error_number_that_reads_as_a_percent_is_refused(pytester, results, rule, message):
    results(CSV)
    result = run(pytester, "--compviz-input", CSV, "--compviz-rule", rule)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}"])


@pytest.mark.parametrize("args", [
    ("--compviz-regression-tolerance=-0.1x",),
    ("--compviz-rule", "mode=int4; max-rate-decrease=-0.1"),
])
def test_a_negative_rate_tolerance_is_a_usage_error(pytester, results, base, args):

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json", *args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*max-rate-decrease: '-0.1*' must not be negative*"])


# --- 4. matching rows ----------------------------------------------------------------------------


def test_a_renamed_file_is_a_new_input_and_the_warning_names_the_saved_one(pytester, results):
    # Rows are identified by their input too (two files may hold one model's modes): a file saved
    # as a.csv and run as b.csv has no regression check, and says which inputs the baseline holds.
    save(pytester, results, name="a.csv")
    results("b.csv", cells=WORSE_INT4)

    result = run(pytester, "--compviz-input", "b.csv", "--compviz-baseline", "base.json")

    result.assert_outcomes(passed=1, warnings=2)  # the schema; no row is gated
    result.stdout.fnmatch_lines(["*b.csv: the baseline base.json holds no rows of 'meta-llama_Llama-2-7b-chat-hf'"
                                 " from input 'b.csv' (it holds rows of 'a.csv'); these rows have no regression"
                                 " check yet*"])


def test_a_results_csv_works_as_the_baseline(pytester, results):
    # The old run wrote 0.2 where the new one has 0.19999999999999996 (line 7): one configuration.
    results("old.csv", cells={(7, "%int8"): "0.2"})
    results("new.csv", cells=WORSE_INT4)

    result = run(pytester, "--compviz-input", "new.csv", "--compviz-baseline", "old.csv")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=9, failed=1)
    result.stdout.fnmatch_lines([
        "int4 (data-free): since the baseline (old.csv): average relative error 8.46% -> 10.41% (+1.95 pp,"
        " allowed +0.50 pp); compression rate 7.18x -> 7.18x (+0.00x, allowed -0.05x) (default tolerance)",
        "baseline: old.csv",
    ])
    assert "new since the baseline" not in result.stdout.str()


def test_an_invalid_csv_baseline_is_a_usage_error(pytester, results):
    results("old.csv", cells={(4, SIZE): "abc"})
    results(CSV)

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "old.csv")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: compviz: baseline old.csv is not valid:", "old.csv:4: column 'model size, Gb'*"])


# --- 5. a missing or unusable baseline -----------------------------------------------------------


def test_a_missing_baseline_is_a_usage_error(pytester, results):
    results(CSV)

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: compviz: baseline base.json: no such file"])
    assert not (pytester.path / "compviz-report").exists()


def test_a_missing_baseline_named_in_pyproject_is_a_usage_error(pytester, results):
    results(CSV)
    pytester.makefile(".toml", pyproject='[tool.compviz]\nbaseline = "baselines/main.json"\n')

    result = run(pytester, "--compviz-input", CSV)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: compviz: baseline baselines/main.json: no such file"])


def test_a_missing_baseline_with_warn_runs_without_and_can_bootstrap_it(pytester, results):
    results(CSV)
    args = ("--compviz-input", CSV, "--compviz-baseline", "base.json", "--compviz-baseline-missing=warn")

    first = run(pytester, *args, "--compviz-save-baseline", "base.json")

    assert first.ret == pytest.ExitCode.OK
    first.assert_outcomes(passed=1)  # the schema only: no regression items
    # The first run on main says what happened, in the terminal and summary.md alike.
    first.stdout.fnmatch_lines(["*= compviz =*", "wrote base.json, compviz-report/summary.md,"
                                " compviz-report/compviz.json", "no baseline yet; this run saved as base.json"])
    assert "::regression" not in first.stdout.str() and "no such file" not in first.stdout.str()
    assert "⚠️ no baseline yet; this run saved as base.json" in (
        pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")

    second = run(pytester, *args)  # the file exists now: compared as usual

    second.assert_outcomes(passed=10)
    assert "no such file" not in second.stdout.str()


@pytest.mark.parametrize("content, message", [
    ("{not json", "baseline base.json: not readable as JSON (*)"),
    ('{"schema": "other"}', 'baseline base.json: not a pytest-compviz run (expected "schema": "pytest-compviz/run")'),
    ('{"schema": "pytest-compviz/run", "version": 3, "rows": []}',
     "baseline base.json: format version 3, this pytest-compviz reads versions 1, 2"),
    ('{"schema": "pytest-compviz/run", "version": 1, "rows": {}}', 'baseline base.json: "rows" must be a list'),
    ('{"schema": "pytest-compviz/run", "version": 1, "rows": [{"model": "m", "mode": "int4"}]}',
     "baseline base.json: row 1 is incomplete or not numeric (KeyError(*))"),
])
@pytest.mark.parametrize("missing", ["error", "warn"])
def test_an_unusable_baseline_is_a_usage_error_even_with_warn(pytester, results, content, message, missing):
    results(CSV)
    (pytester.path / "base.json").write_text(content, encoding="utf-8")

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json",
                 f"--compviz-baseline-missing={missing}")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: compviz: {message}"])


# --- 6. new and missing rows ---------------------------------------------------------------------


def test_new_and_missing_rows_are_listed_in_the_terminal_summary_and_summary_md(pytester, results):
    save(pytester, results, rows=without_lines(results, 10))  # the 40% int4 row is new since
    results(CSV, without_lines(results, 4))  # the data-free int4 row is gone

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json", "-rA")

    assert result.ret == pytest.ExitCode.OK
    # 8 compressed rows: 7 in the baseline, each with a regression item; the new one has none.
    result.assert_outcomes(passed=8)
    assert f"{CSV}::{ROWS[10]}::regression" not in outcome_lines(result, "PASSED")
    result.stdout.fnmatch_lines([
        f"{CSV}: 7 gates passed, 0 failed",
        f"  new since the baseline (1): {ROWS[10]}",
        f"  in the baseline, missing from this run (1): {ROWS[4]}",
    ])
    summary = (pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")
    assert f"\nNew since the baseline: {ROWS[10]}\n" in summary
    assert f"\nIn the baseline, missing from this run: {ROWS[4]}\n" in summary
    [entry] = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text(encoding="utf-8"))["inputs"]
    assert (entry["new rows"], entry["missing rows"]) == ([ROWS[10]], [ROWS[4]])


def test_new_and_missing_rows_of_a_multi_model_file_name_the_model(pytester, results):
    rows = results.two_models(OTHER)
    twin_int4 = next(n for n, row in enumerate(rows) if row[0] == OTHER and row[1] == "int4")
    save(pytester, results, rows=rows)
    results(CSV, [row for n, row in enumerate(rows) if n != twin_int4])

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json")

    result.assert_outcomes(passed=18)  # schema + 9 + 8 regression items
    result.stdout.fnmatch_lines([f"  in the baseline, missing from this run (1): {OTHER}: int4 (data-free)"])
    assert "new since the baseline" not in result.stdout.str()


# --- 7. saving merges into an existing baseline --------------------------------------------------


def test_saving_keeps_other_models_and_replaces_only_this_runs_model(pytester, results):
    save(pytester, results, name="a.csv")
    document = save(pytester, results, name="b.csv", rows=renamed(results, OTHER))

    assert sorted(i["name"] for i in document["inputs"]) == ["a.csv", "b.csv"]
    assert sorted({row["model"] for row in document["rows"]}) == [MODEL, OTHER]
    assert len(document["rows"]) == 20

    # Model A again, now without its data-free int4 row: A's rows are replaced, B's kept.
    document = save(pytester, results, name="a.csv", rows=without_lines(results, 4))

    assert sorted(i["name"] for i in document["inputs"]) == ["a.csv", "b.csv"]
    by_model = {m: [r for r in document["rows"] if r["model"] == m] for m in (MODEL, OTHER)}
    assert len(by_model[MODEL]) == 9 and "int4" not in {r["mode"] for r in by_model[MODEL]}
    assert len(by_model[OTHER]) == 10 and "int4" in {r["mode"] for r in by_model[OTHER]}
    assert len(set(keys(document))) == 19  # no row twice


def test_saving_keeps_rows_of_another_input_of_the_same_model(pytester, results):
    rows = results.rows()
    header, fp32 = rows[0], rows[10]
    save(pytester, results, name="x.csv", rows=[header, *rows[1:4], fp32])  # lines 2-4
    document = save(pytester, results, name="y.csv", rows=[header, *rows[4:10], fp32])  # lines 5-10

    assert sorted(i["name"] for i in document["inputs"]) == ["x.csv", "y.csv"]
    saved = {(row["mode"], row["plot name"]) for row in document["rows"]}
    assert ("int4", "data-free") in saved  # from x.csv
    result = run(pytester, "--compviz-input", "x.csv", "--compviz-baseline", "base.json")
    result.assert_outcomes(passed=4)  # schema + a regression item for each of x.csv's 3 rows
    assert "new since the baseline" not in result.stdout.str()


def test_an_existing_file_that_is_no_baseline_is_not_overwritten(pytester, results):
    results(CSV)
    (pytester.path / "base.json").write_text('{"something": "else"}', encoding="utf-8")

    result = run(pytester, "--compviz-input", CSV, "--compviz-save-baseline", "base.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED  # asked for, not written: the run fails
    result.stdout.fnmatch_lines(["error: baseline not saved: base.json: exists but is not a"
                                 " pytest-compviz run; not overwritten"])
    assert (pytester.path / "base.json").read_text(encoding="utf-8") == '{"something": "else"}'


# --- 8. summary.md and compviz.json --------------------------------------------------------------


def test_summary_md_lists_failures_first_and_links_the_artifacts(pytester, results, base):
    created = base["created"]
    results(CSV, cells={(10, WWB): "0.85"})  # the last row of the file gets worse

    run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json",
        "--compviz-rule", "mode=int4; max-relative-error=8%")

    summary = (pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")
    lines = summary.splitlines()
    assert lines[:4] == ["# compviz: 8 gates passed, 2 failed", "",
                         f"Compared with the baseline run base.json, {created}.", ""]
    assert f"## {CSV} · {MODEL}" in lines
    assert "Artifacts: [llama2_asym.md](llama2_asym.md) · [llama2_asym.png](llama2_asym.png)" in lines
    header = lines.index("| row | error | rate | limits | vs baseline | result |")
    table = lines[header + 2:header + 11]
    assert [row.split(" | ")[0] for row in table] == [
        f"| {ROWS[4]}", f"| {ROWS[10]}", *(f"| {ROWS[n]}" for n in (2, 3, 5, 6, 7, 8, 9))]
    assert table[0] == f"| {ROWS[4]} | 8.5% | 7.2x | error ≤ 8.0% | +0.00 pp, +0.00x | ❌ FAIL |"
    assert table[1] == f"| {ROWS[10]} | 4.0% | 4.8x |  | +1.53 pp, +0.00x | ❌ FAIL |"
    assert all(row.endswith("| ✅ pass |") for row in table[2:])
    assert (f"- ❌ {ROWS[4]}: average relative error 8.5% > 8.0%"
            " (--compviz-rule 1 'mode=int4; max-relative-error=8%')") in lines
    assert (f"- ❌ {ROWS[10]}: since the baseline (base.json, {created}): average relative error"
            " 2.47% -> 4.00% (+1.53 pp, allowed +0.50 pp)") in summary


def test_compviz_json_is_valid_and_is_the_next_runs_baseline(pytester, results, base):
    results(CSV, cells=WORSE_INT4)

    failed = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json")
    failed.assert_outcomes(passed=9, failed=1)

    document = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text(encoding="utf-8"))
    assert (document["schema"], document["version"]) == ("pytest-compviz/run", 2)
    assert document["baseline"].startswith("base.json, ")
    [entry] = document["inputs"]
    assert (entry["name"], entry["valid"], entry["regressions"]) == (CSV, True, 1)
    assert entry["sha256"] == hashlib.sha256((pytester.path / CSV).read_bytes()).hexdigest()
    assert entry["artifacts"] == ["llama2_asym.md", "llama2_asym.png"]
    by_line = {row["line"]: row for row in document["rows"]}
    assert by_line[4]["verdict"] == "failed"
    assert by_line[4]["regression"]["baseline error"] == pytest.approx(0.08459, abs=1e-5)
    assert by_line[4]["regression"]["error delta"] == pytest.approx(0.0195, abs=1e-4)
    assert by_line[3]["verdict"] == "passed"

    # A failed run's output is no baseline: a baseline is a run that passed.
    refused = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "compviz-report/compviz.json")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*baseline compviz-report/compviz.json: is the output of a run that failed;"
                                  " a baseline must be a run that passed"])

    # A passing run's output is the next run's baseline: the worse row is what it is compared with now.
    assert run(pytester, "--compviz-input", CSV, "--compviz-regression-tolerance", "5%").ret == pytest.ExitCode.OK
    run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json", "--compviz-regression-tolerance",
        "5%").assert_outcomes(passed=10)
    again = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "compviz-report/compviz.json")
    assert again.ret == pytest.ExitCode.OK
    again.assert_outcomes(passed=10)


# --- 9. GitHub step summary ----------------------------------------------------------------------


def test_step_summary_is_appended_and_says_where_the_artifacts_are(pytester, results, base, monkeypatch):
    step = pytester.path / "step.md"
    step.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    results(CSV, cells=WORSE_INT4)

    run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json")

    summary = (pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")
    # A CI run's page is not beside the artifacts: the step summary names them and their folder
    # where summary.md links them.
    linked = "Artifacts: [llama2_asym.md](llama2_asym.md) · [llama2_asym.png](llama2_asym.png)"
    named = "Artifacts, in `compviz-report/`: `llama2_asym.md` · `llama2_asym.png`"
    assert linked in summary.splitlines() and "](" not in summary.replace(linked, "")
    assert step.read_text(encoding="utf-8") == (
        "earlier step\n\n" + summary.replace(linked, named)
        + "\n_Tables and plots: `compviz-report/` (upload it as a build artifact)._\n")
    assert "❌ FAIL" in summary


def test_no_step_summary_option_leaves_the_file_alone(pytester, results, monkeypatch):
    step = pytester.path / "step.md"
    step.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    results(CSV)

    result = run(pytester, "--compviz-input", CSV, "--compviz-no-step-summary")

    assert result.ret == pytest.ExitCode.OK
    assert step.read_text(encoding="utf-8") == "earlier step\n"
    assert (pytester.path / "compviz-report" / "summary.md").is_file()


def test_step_summary_is_cut_under_the_limit_with_a_note():
    from pytest_compviz.report.summary import STEP_SUMMARY_LIMIT, step_summary

    markdown = "# compviz: 0 gates passed, 500 failed\n\n" + "".join(f"| row {n} | ❌ FAIL |\n" for n in range(500))
    hint = "`compviz-report/`"

    text = step_summary(markdown, hint, limit=2000)

    assert len(markdown.encode()) > 2000
    assert 2000 - 30 < len(text.encode()) <= 2000  # bytes, not characters: each ❌ is 3 bytes
    cut = "\n_… summary cut to fit 2,000 bytes; the whole summary.md is in `compviz-report/`._\n"
    note = "\n_Tables and plots: `compviz-report/` (upload it as a build artifact)._\n"
    assert text.endswith(cut + note)
    kept = text[:-len(cut + note)]
    assert kept.startswith("\n") and markdown.startswith(kept[1:]) and kept.endswith("| ❌ FAIL |\n")  # cut at a line end, unchanged
    assert STEP_SUMMARY_LIMIT == 1024 * 1024
    short = step_summary("# compviz\n", hint)
    assert short == "\n# compviz\n\n_Tables and plots: `compviz-report/` (upload it as a build artifact)._\n"


# --- 10. JUnit XML under xdist: test_xdist.py (its run compares regression properties with serial) ---


# --- 11. pytest-html -----------------------------------------------------------------------------


@pytest.mark.all_plugins
def test_self_contained_html_report_embeds_the_plot(pytester, results, base):
    pytest.importorskip("pytest_html")
    results(CSV, cells=WORSE_INT4)

    run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json", "--html=r.html",
        "--self-contained-html")

    report = (pytester.path / "r.html").read_text(encoding="utf-8")
    assert f"compviz: {CSV}" in report
    assert report.count("data:image/png;base64,") == 1
    assert report.count('<table class="compviz-table">') == 1  # the model's table, in the summary section
    assert ("<tr><td>int4 + awq + scale estimation + lora correction</td><td>100%</td><td>0%</td><td>256.0</td>"
            in report)


# --- 12. the plot --------------------------------------------------------------------------------


@pytest.mark.draws
def test_plot_with_a_baseline_draws_the_overlay_and_decodes(pytester, results, base):
    import matplotlib.image

    results(CSV, cells=WORSE_INT4)
    args = ("--compviz-input", CSV, "--compviz-regression-tolerance", "3%")  # nothing fails: no red rings

    run(pytester, *args, "--compviz-output-dir", "plain").assert_outcomes(passed=1)
    run(pytester, *args, "--compviz-output-dir", "compared", "--compviz-baseline", "base.json").assert_outcomes(
        passed=10)

    plain = (pytester.path / "plain" / "llama2_asym.png").read_bytes()
    compared = (pytester.path / "compared" / "llama2_asym.png").read_bytes()
    assert plain != compared
    image = matplotlib.image.imread(pytester.path / "compared" / "llama2_asym.png")
    assert image.shape[0] > 400 and image.shape[1] > 600


def test_overlay_draws_faint_baseline_points_arrows_limits_and_rings():
    from pytest_compviz.report.plot import Overlay, plot_points, trade_off_figure
    from pytest_compviz.core.results import load_results

    [entry] = load_results(LLAMA2_CSV).models()
    frame = entry.frame
    int4 = frame.index[frame["mode"] == "int4"][0]
    awq = frame.index[(frame["mode"] == "int4 + awq + scale estimation") & (frame["%int4"] == 1.0)][0]
    overlay = Overlay(failing=frozenset({int4}), error_limits=(("int4, data-free", 0.08),),
                      previous=((int4, 0.06, 7.5), (awq, frame.at[awq, "average relative error"],
                                                      frame.at[awq, "compression rate"])))

    points = plot_points(frame, "fp32")
    plain = trade_off_figure(points, entry.model, "fp32", 4).axes[0]
    drawn = trade_off_figure(points, entry.model, "fp32", 4, overlay).axes[0]

    labels = drawn.get_legend_handles_labels()[1]
    assert "baseline run" in labels and "failed gate" in labels and "max error 8.0%: int4, data-free" in labels
    assert "baseline run" not in plain.get_legend_handles_labels()[1]
    arrows = [a for a in drawn.texts if getattr(a, "arrow_patch", None) is not None]
    assert len(arrows) == 1  # the unchanged row gets no arrow


def test_a_failing_run_is_not_saved_as_the_baseline(pytester, results, base):
    before = (pytester.path / "base.json").read_bytes()
    results(CSV, cells=WORSE_INT4)

    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json",
                 "--compviz-save-baseline", "base.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["baseline not saved to base.json: 1 gate failed"])
    assert (pytester.path / "base.json").read_bytes() == before
    assert "⚠️ baseline not saved to base.json: 1 gate failed" in (
        pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")


def test_a_run_with_an_invalid_input_is_not_saved_as_the_baseline(pytester, results):
    results("good.csv")
    results("bad.csv", cells={(3, "model size, Gb"): "abc"})

    result = run(pytester, "--compviz-input", "good.csv", "--compviz-input", "bad.csv",
                 "--compviz-save-baseline", "base.json")

    result.stdout.fnmatch_lines(["baseline not saved to base.json: 1 input invalid"])
    assert not (pytester.path / "base.json").exists()


def test_a_malformed_existing_baseline_is_kept_with_a_note(pytester, results):
    (pytester.path / "base.json").write_text('{"schema": "pytest-compviz/run", "version": 1, "rows": "x"}')
    results(CSV)

    result = run(pytester, "--compviz-input", CSV, "--compviz-save-baseline", "base.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["error: baseline not saved: base.json: exists but its rows are malformed (*);"
                                 " not overwritten"])
    assert "Traceback" not in result.stdout.str()


def test_a_configured_baseline_does_not_concern_runs_without_results_files(pytester):
    pytester.makefile(".toml", pyproject='[tool.compviz]\nbaseline = "baselines/main.json"\n')
    pytester.makepyfile(test_unit="def test_unit(): pass")

    result = run(pytester)

    result.assert_outcomes(passed=1)
