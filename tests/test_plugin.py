"""The pytest plugin, driven through real pytest runs with ``pytester``."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import DEMO_RULES, LLAMA2_EXPECTED_MD, LLAMA2_ROWS, NO_CACHE, run

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the main job ------------------------------------------------------------------------------


@pytest.mark.draws
def test_main_job_passes_gates_and_writes_seed_exact_table(pytester, results):
    pytester.makefile(".toml", pyproject=DEMO_RULES)
    csv_path = results("llama2_asym.csv")
    before = sha256(csv_path)

    result = run(pytester, "--compviz-input", "llama2_asym.csv")

    # schema + 9 rows x 2 checks
    result.assert_outcomes(passed=19)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        "*= compviz =*",
        "llama2_asym.csv: 18 gates passed, 0 failed",
        "  wrote report/llama2_asym.md, report/llama2_asym.png",
    ])
    assert (pytester.path / "report" / "llama2_asym.md").read_bytes() == LLAMA2_EXPECTED_MD.read_bytes()
    png = (pytester.path / "report" / "llama2_asym.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    assert sha256(csv_path) == before


def test_failing_gate_prints_one_line_and_still_writes_artifacts(pytester, results):
    pytester.makefile(".toml", pyproject=DEMO_RULES.replace('"9%"', '"8%"'))
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv")

    result.assert_outcomes(passed=18, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*_ max-relative-error of int4 (data-free) _*",
        "int4 (data-free): average relative error 8.5% > 8.0% (rule 1, pyproject.toml)",
        "*= compviz =*",
        "llama2_asym.csv: 17 gates passed, 1 failed",
        "  wrote report/llama2_asym.md, report/llama2_asym.png",
        "FAILED llama2_asym.csv::int4 (data-free)::max-relative-error*",  # pytest 9 adds " - MESSAGE"
    ])
    assert "Traceback" not in result.stdout.str()
    assert "pytest_compviz" not in result.stdout.str()  # no frames from the plugin
    assert (pytester.path / "report" / "llama2_asym.md").is_file()


def test_failure_message_shows_enough_decimals_to_tell_value_from_limit(pytester, results):
    results("llama2_asym.csv")
    # int4 data-free error is 8.459%: at one decimal both would read 8.5%.
    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-rule", "mode=int4; max-relative-error=8.45%")
    result.stdout.fnmatch_lines(["int4 (data-free): average relative error 8.46% > 8.45% (--compviz-rule 1 *)"])


# --- collection and ids --------------------------------------------------------------------------


def test_ids_are_file_row_check_and_only_inputs_are_collected(pytester, results):
    pytester.makefile(".toml", pyproject=DEMO_RULES)
    pytester.makepyfile(test_other="def test_other(): pass")
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--co", "-q")

    expected = ["llama2_asym.csv::schema"]
    for row in LLAMA2_ROWS:
        expected += [f"llama2_asym.csv::{row}::max-relative-error", f"llama2_asym.csv::{row}::min-compression-rate"]
    listed = [line for line in result.stdout.lines if line.startswith("llama2_asym.csv::")]
    assert sorted(listed) == sorted(expected)
    assert "test_other" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.OK


def test_positional_paths_and_inputs_are_both_collected(pytester, results):
    pytester.makefile(".toml", pyproject=DEMO_RULES)
    pytester.makepyfile(test_other="def test_other(): pass")
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "test_other.py")

    result.assert_outcomes(passed=20)


def test_csv_named_on_the_command_line_is_collected(pytester, results):
    pytester.makefile(".toml", pyproject=DEMO_RULES)
    results("results/llama2_asym.csv")

    result = run(pytester, "results/llama2_asym.csv")

    result.assert_outcomes(passed=19)
    result.stdout.fnmatch_lines(["results/llama2_asym.csv: 18 gates passed, 0 failed"])


def test_a_node_id_runs_as_given_and_k_selects(pytester, results):
    pytester.makefile(".toml", pyproject=DEMO_RULES)
    results("llama2_asym.csv")

    one = run(pytester, "llama2_asym.csv::int4 (data-free)::max-relative-error", "-v")
    one.assert_outcomes(passed=1)
    one.stdout.fnmatch_lines(["llama2_asym.csv::int4 (data-free)::max-relative-error PASSED*"])

    row = run(pytester, "llama2_asym.csv::int4 + awq + scale estimation (80% int4)")
    row.assert_outcomes(passed=2)

    lora = run(pytester, "--compviz-input", "llama2_asym.csv", "-k", "lora and 256 and rate")
    lora.assert_outcomes(passed=1)


def test_ini_glob_collects_result_files_from_test_paths(pytester, results):
    pytester.makeini("[pytest]\ncompviz_files = results/*.csv\n")
    pytester.makepyfile(test_other="def test_other(): pass")
    results("results/llama2_asym.csv")
    results("elsewhere/ignored.csv")

    result = run(pytester, "--compviz-rule", "max-relative-error=9%")

    result.assert_outcomes(passed=11)  # test_other + schema + 9 rows
    assert "ignored.csv" not in result.stdout.str()


def test_inputs_from_pyproject_are_collected_when_no_path_is_given(pytester, results):
    with_inputs = DEMO_RULES.replace('output-dir = "report"', 'output-dir = "report"\ninputs = ["llama2_asym.csv"]')
    pytester.makefile(".toml", pyproject=with_inputs)
    pytester.makepyfile(test_other="def test_other(): pass")
    results("llama2_asym.csv")

    result = run(pytester)  # the configured inputs and the project's own tests

    result.assert_outcomes(passed=20)
    # Paths named on the command line collect only what they name.
    run(pytester, "test_other.py").assert_outcomes(passed=1)
    run(pytester, "llama2_asym.csv").assert_outcomes(passed=19)


def test_multi_model_rows_carry_the_model_and_each_model_gets_artifacts(pytester, results):
    results("sweep.csv", results.two_models("org/other"))

    result = run(pytester, "--compviz-input", "sweep.csv", "--compviz-rule", "mode=int4; max-relative-error=9%", "--co", "-q")
    result.stdout.fnmatch_lines([
        "sweep.csv::meta-llama_Llama-2-7b-chat-hf/int4 (data-free)::max-relative-error",
        "sweep.csv::org/other/int4 (data-free)::max-relative-error",
    ])

    result = run(pytester, "--compviz-input", "sweep.csv", "--compviz-rule", "mode=int4; max-relative-error=9%")
    result.assert_outcomes(passed=3)
    written = sorted(p.name for p in (pytester.path / "compviz-report").iterdir())
    assert written == [
        "compviz.json", "summary.md",
        "sweep.meta-llama_Llama-2-7b-chat-hf.md", "sweep.meta-llama_Llama-2-7b-chat-hf.png",
        "sweep.org_other.md", "sweep.org_other.png",
    ]


# --- rules ---------------------------------------------------------------------------------------


def test_last_matching_rule_wins_and_command_line_rules_come_last(pytester, results):
    pytester.makefile(".toml", pyproject="""
        [[tool.compviz.rules]]
        mode = "*"
        max-relative-error = "1%"

        [[tool.compviz.rules]]
        mode = "int4"
        max-relative-error = 0.20
    """)
    results("llama2_asym.csv")

    result = run(pytester, "llama2_asym.csv::int4 (data-free)")
    result.assert_outcomes(passed=1)

    result = run(pytester, "llama2_asym.csv::int4 (data-free)", "--compviz-rule", "mode=int*; max-relative-error=5%")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["int4 (data-free): average relative error 8.5% > 5.0% (--compviz-rule 1 'mode=int*; max-relative-error=5%')"])


def test_metric_and_rate_limits(pytester, results):
    pytester.makefile(".toml", pyproject="""
        [[tool.compviz.rules]]
        model = "meta-llama*"
        plot-name = "data-free"
        min-compression-rate = "7.5x"
        metrics = { "WWB, similarity" = { min = 0.8 }, "wikitext, word perplexity" = { max = 13 } }
    """)
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv")

    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines_random([
        "int4 (data-free): compression rate 7.2x < 7.5x (rule 1, pyproject.toml)",
        "int4 (data-free): WWB, similarity 0.778 < 0.800 (rule 1, pyproject.toml)",
    ])


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("mode=int8; max-relative-error=lots",
         "*--compviz-rule 1 'mode=int8; max-relative-error=lots': max-relative-error: 'lots' is not a number"),
        ("mode=int8; speed=2", "*--compviz-rule 1 'mode=int8; speed=2': unknown key 'speed' (known: *"),
        ("mode=int4[; max-relative-error=2%", "*mode: 'int4[' is not a valid glob (unclosed '[')"),
        ("max-relative-error=8", "*max-relative-error: '8' is read as a fraction, which would allow an average"
                                 " relative error of 800%; write \"8%\" for 8 percent, or 0.08"),
        ("mode=int8", "*sets no check (give max-relative-error, min-compression-rate, metrics or a tolerance)"),
    ],
)
def test_a_bad_command_line_rule_is_a_usage_error(pytester, results, rule, message):
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-rule", rule)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_a_bad_pyproject_rule_is_a_usage_error_naming_the_rule(pytester, results):
    pytester.makefile(".toml", pyproject="""
        [[tool.compviz.rules]]
        mode = "*"
        max-relative-error = "8%"

        [[tool.compviz.rules]]
        mode = "int8"
        max-relative-eror = "2%"
    """)
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: compviz: rule 2, pyproject.toml: unknown key 'max-relative-eror' (known: *"])


def test_unmatched_rules_and_ungated_rows_are_reported(pytester, results):
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv",
                 "--compviz-rule", "mode=*lora*; max-relative-error=5%",
                 "--compviz-rule", "mode=int9; max-relative-error=1%")

    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([
        "llama2_asym.csv: 3 gates passed, 0 failed",
        "  ungated rows (6, no rule sets a check): int4 + awq + scale estimation + gptq (gptq); *",
        "*",
        "rule matched no row (a typo?): --compviz-rule 2 'mode=int9; max-relative-error=1%': mode='int9'",
    ])


def test_strict_fails_ungated_rows(pytester, results):
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-strict",
                 "--compviz-rule", "mode=*lora*; max-relative-error=5%")

    result.assert_outcomes(passed=4, failed=6)
    result.stdout.fnmatch_lines(["int4 (data-free): no rule sets a check for this row (--compviz-strict)"])


def test_config_file_option_replaces_pyproject(pytester, results):
    pytester.makefile(".toml", pyproject=DEMO_RULES)
    pytester.makefile(".toml", gates='[[rules]]\nmode = "int4"\nmax-relative-error = "1%"\n')
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-config", "gates.toml")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["int4 (data-free): average relative error 8.5% > 1.0% (rule 1, gates.toml)"])


# --- bad input -----------------------------------------------------------------------------------


def test_schema_failure_lists_every_problem_and_collects_no_rows(pytester, results):
    pytester.makefile(".toml", pyproject=DEMO_RULES)
    path = results("llama2_asym.csv", cells={(3, "lambada-openai, acc"): "1.7", (5, "model size, Gb"): "abc"})
    before = sha256(path)

    result = run(pytester, "--compviz-input", "llama2_asym.csv")

    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "llama2_asym.csv:3: column 'lambada-openai, acc': must be between 0 and 1 (value 1.7)",
        "llama2_asym.csv:5: column 'model size, Gb': is not a number (value 'abc')",
        "llama2_asym.csv: 2 problems; the row checks of this file are not collected until its schema passes",
        "*= compviz =*",
        "llama2_asym.csv: schema failed (2 problems); no gates run, no artifacts written",
    ])
    assert "Traceback" not in result.stdout.str()
    # no table or plot for invalid data; the run's summary says why
    assert sorted(p.name for p in (pytester.path / "report").iterdir()) == ["compviz.json", "summary.md"]
    assert sha256(path) == before


def test_a_bad_input_does_not_stop_the_good_one(pytester, results):
    pytester.makefile(".toml", pyproject=DEMO_RULES)
    results("good.csv")
    results("bad.csv", cells={(11, "mode"): "fp16"})

    result = run(pytester, "--compviz-input", "good.csv", "--compviz-input", "bad.csv")

    result.assert_outcomes(passed=19, failed=1)
    result.stdout.fnmatch_lines([
        "bad.csv:2: column 'mode': model 'meta-llama_Llama-2-7b-chat-hf' has no reference row (mode 'fp32');*",
    ])
    assert sorted(p.name for p in (pytester.path / "report").iterdir()) == [
        "compviz.json", "good.md", "good.png", "summary.md"]
    assert "## bad.csv\n\n❌ **invalid data**" in (pytester.path / "report" / "summary.md").read_text()


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_an_unusable_input_is_a_usage_error(pytester, kind):
    if kind == "directory":
        (pytester.path / "results.csv").mkdir()
    result = run(pytester, "--compviz-input", "results.csv")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    reason = "no such file" if kind == "missing" else "is a directory, expected a CSV file"
    result.stderr.fnmatch_lines([f"ERROR: compviz: input results.csv: {reason}"])


@pytest.mark.all_plugins
def test_plugin_can_be_disabled(pytester, results):
    results("llama2_asym.csv")
    result = run(pytester, "-p", "no:compviz", "--compviz-input", "llama2_asym.csv")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --compviz-input*"])


def test_a_run_without_compviz_input_is_untouched(pytester):
    pytester.makepyfile(test_a="def test_a(): pass")
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "= compviz =" not in result.stdout.str()
    assert not (pytester.path / "compviz-report").exists()


# --- reports -------------------------------------------------------------------------------------


def test_row_figures_and_limit_are_junit_properties(pytester, results):
    import xml.etree.ElementTree as ET

    results("llama2_asym.csv")
    run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-rule", "mode=int4; max-relative-error=9%",
        "--junitxml=junit.xml")

    cases = {case.get("name"): case for case in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    properties = {p.get("name"): p.get("value") for p in cases["max-relative-error"].iter("property")}
    assert properties["mode"] == "int4"
    assert properties["check"] == "max-relative-error"
    assert float(properties["limit"]) == pytest.approx(0.09)
    assert float(properties["average relative error"]) == pytest.approx(0.08459, abs=1e-5)
    assert float(properties["compression rate"]) == pytest.approx(7.18, abs=0.01)


def test_precomputed_column_mismatch_is_a_warning(pytester, results):
    rows = results.rows()
    rows[0].append("compression rate")
    for row in rows[1:]:
        row.append("")
    rows[3][-1] = "9.9x"  # int4 data-free is 7.2x
    results("llama2_asym.csv", rows)

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-rule", "max-relative-error=9%")

    result.assert_outcomes(passed=10, warnings=1)
    result.stdout.fnmatch_lines([
        "*CompvizWarning: llama2_asym.csv:4: column 'compression rate': the file says 9.90x, recomputed 7.18x;*",
    ])


# --- start-up cost (the xdist run, compared with the serial run, is in test_xdist.py) ------------


def test_importing_the_plugin_loads_no_heavy_module():
    code = textwrap.dedent("""
        import sys
        import pytest_compviz.plugin
        heavy = ("pandas", "pandera", "matplotlib", "tabulate", "numpy")
        print(",".join(sorted(m for m in heavy if m in sys.modules)) or "none")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "none"


@pytest.mark.parametrize("configured", [False, True], ids=["plain", "with [tool.compviz]"])
def test_a_pytest_run_without_inputs_loads_no_heavy_module(pytester, configured):
    if configured:  # rules are parsed at start-up; that must stay light too
        pytester.makefile(".toml", pyproject=DEMO_RULES)
    pytester.makepyfile(test_a="""
        import sys
        def test_a():
            heavy = ("pandas", "pandera", "matplotlib", "tabulate", "numpy")
            assert [m for m in heavy if m in sys.modules] == []
    """)
    result = pytester.runpytest_subprocess(*NO_CACHE, "-p", "no:html", "-p", "no:metadata", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)


def test_rules_hook_in_a_conftest_beside_the_input_applies_and_is_named(pytester, results):
    results("sub/llama2_asym.csv")
    (pytester.path / "sub" / "conftest.py").write_text(
        "def pytest_compviz_rules(config):\n"
        "    return [{'mode': 'int4', 'max-relative-error': '5%'}]\n"
    )

    result = run(pytester, "--compviz-input", "sub/llama2_asym.csv")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["int4 (data-free): average relative error 8.5% > 5.0% (rule 1, sub/conftest.py)"])


def test_metrics_hook_replaces_the_default_metrics(pytester, results):
    rows = [[cell for n, cell in enumerate(row) if n != 7] for row in results.rows()]  # no wikitext
    results("llama2_asym.csv", rows)
    pytester.makeconftest("""
        from pytest_compviz.spec import Metric

        def pytest_compviz_metrics(config):
            return [Metric("lambada-openai, acc", "higher", 0, 1), {"column": "WWB, similarity", "direction": "similarity"}]
    """)

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-rule", "mode=int4; max-relative-error=11%")

    # data-free int4 over two metrics: mean(accuracy 2.05%, 1 - similarity 22.19%) = 12.1%
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["int4 (data-free): average relative error 12.1% > 11.0% (--compviz-rule 1 *)"])
    table = (pytester.path / "compviz-report" / "llama2_asym.md").read_text()
    assert "| int4 " in table and "| 12.1% " in table


def test_a_rule_on_a_text_column_fails_its_item_without_a_traceback(pytester, results):
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-rule", "mode=int4; max:plot name=1")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["int4 (data-free): column 'plot name' is not a number here (value 'data-free') (*"])
    assert "Traceback" not in result.stdout.str()


def test_an_input_outside_the_rootdir_is_counted(pytester, results):
    results("other/llama2_asym.csv")
    project = pytester.mkdir("project")
    (project / "pyproject.toml").write_text('[[tool.compviz.rules]]\nmode = "int4"\nmax-relative-error = "9%"\n')
    pytester.chdir()
    import os

    os.chdir(project)
    result = pytester.runpytest(*NO_CACHE, "--compviz-input=../other/llama2_asym.csv")

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["../other/llama2_asym.csv: 1 gate passed, 0 failed"])


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        ("[tool.compviz]\nmetrics = 5\n", "*metrics must be an array of tables*"),
        ("[tool]\ncompviz = 1\n", "*tool.compviz must be a table (?tool.compviz?), not 1"),
        ('[[tool.compviz.metrics]]\ncolumn = "a"\ndirection = "higher"\n[[tool.compviz.metrics]]\ncolumn = "a"\n'
         'direction = "lower"\n', "ERROR: compviz: metric columns must be unique: ['a', 'a']"),
    ],
)
def test_malformed_config_is_a_usage_error(pytester, results, pyproject, message):
    pytester.makefile(".toml", pyproject=pyproject)
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_precomputed_mismatch_under_warnings_as_errors_fails_the_schema_with_its_message(pytester, results):
    rows = results.rows()
    rows[0].append("compression rate")
    for row in rows[1:]:
        row.append("")
    rows[3][-1] = "9.9x"
    results("llama2_asym.csv", rows)

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "-W", "error::pytest_compviz.plugin.CompvizWarning")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["llama2_asym.csv:4: column 'compression rate': the file says 9.90x, recomputed 7.18x;*"])
    assert "Traceback" not in result.stdout.str()


def test_overridden_rule_is_not_reported_as_unmatched(pytester, results):
    pytester.makefile(".toml", pyproject=DEMO_RULES)
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-rule", "max-relative-error=9%")

    result.assert_outcomes(passed=19)
    assert "matched no row" not in result.stdout.str()


def test_no_artifact_overwrites_another(pytester, results):
    results("a/llama2_asym.csv")
    results("b/llama2_asym.csv")
    results("summary.csv")  # its table would be the session's summary.md
    results("Summary2.csv")
    results("summary2.csv")  # one name but for the letter case: one file on macOS and Windows

    result = run(pytester, *[arg for name in ("a/llama2_asym.csv", "b/llama2_asym.csv", "summary.csv", "Summary2.csv",
                                              "summary2.csv") for arg in ("--compviz-input", name)],
                 "--compviz-rule", "mode=int4; max-relative-error=9%")

    result.assert_outcomes(passed=10)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines_random([
        "  wrote compviz-report/llama2_asym.md, compviz-report/llama2_asym.png",
        "  wrote compviz-report/llama2_asym-2.md, compviz-report/llama2_asym-2.png",
        "  wrote compviz-report/summary-2.md, compviz-report/summary-2.png",
        "  wrote compviz-report/Summary2.md, compviz-report/Summary2.png",
        "  wrote compviz-report/summary2-2.md, compviz-report/summary2-2.png",
    ])
    assert (pytester.path / "compviz-report" / "summary.md").read_text().startswith("# compviz:")


def test_a_semicolon_delimited_file_is_named_as_such(pytester, results):
    text = results.text(results.rows()).replace(",", ";")
    (pytester.path / "semi.csv").write_text(text)

    result = run(pytester, "--compviz-input", "semi.csv")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["semi.csv:1: looks semicolon-delimited; results files must be comma-separated"])


def test_an_unexpected_reader_error_fails_the_file_not_the_run(pytester, results, monkeypatch):
    import pytest_compviz.core.results

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pytest_compviz.core.results, "read_results", broken)
    results("llama2_asym.csv")

    result = run(pytester, "--compviz-input", "llama2_asym.csv")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "llama2_asym.csv: could not be read: RuntimeError: boom (a pytest-compviz bug: please report it with the file)",
    ])
    assert "INTERNALERROR" not in result.stdout.str()


def test_strict_failures_are_counted_in_summary_and_json(pytester, results):
    import json

    results("llama2_asym.csv")

    run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-strict", "--compviz-rule", "mode=int4; max-relative-error=9%")

    summary = (pytester.path / "compviz-report" / "summary.md").read_text()
    assert summary.startswith("# compviz: 1 gate passed, 8 failed")
    assert "- ❌ int4 + awq + scale estimation (40% int4): no rule sets a check for this row (--compviz-strict)" in summary
    document = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text())
    assert document["inputs"][0]["gates failed"] == 8


def test_the_plugin_leaves_the_garbage_collector_signals_and_processes_alone(pytester, results):
    """A guest in the user's process: no frozen objects, the collector's thresholds as they were,
    every signal handler as it was (so Ctrl-C reaches pytest as the KeyboardInterrupt it handles),
    no child process, from the first test to the interpreter's exit. One run does all of the
    plugin's work (read, validate, gate, draw, write) while a user's test runs too; whether the
    CSV came by --compviz-input or as a path only decides, at configure time, what is collected."""
    results("llama2_asym.csv")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    pytester.makeconftest(
        "import atexit, gc, multiprocessing, signal, threading, pytest\n"
        "START = gc.get_threshold()\n"
        "HANDLERS = {s: signal.getsignal(s) for s in signal.valid_signals()}\n"
        "def state():\n"
        "    signals = ('signals kept' if {s: signal.getsignal(s) for s in signal.valid_signals()} == HANDLERS\n"
        "               and signal.getsignal(signal.SIGINT) is signal.default_int_handler else 'signals changed')\n"
        "    return (gc.get_freeze_count(), gc.get_threshold() == START, gc.isenabled(),\n"
        "            len(multiprocessing.active_children()), threading.active_count(), signals)\n"
        "def pytest_runtestloop(session):\n"
        "    print('state at run:', state())\n"
        "IN_ITEMS = set()\n"
        "@pytest.hookimpl(trylast=True)\n"  # inside every wrapper: Ctrl-C must reach a check as it runs
        "def pytest_runtest_call(item):\n"
        "    IN_ITEMS.add(state())\n"
        "@pytest.hookimpl(trylast=True)\n"
        "def pytest_unconfigure(config):\n"
        "    print('state in items:', IN_ITEMS.pop() if len(IN_ITEMS) == 1 else sorted(map(str, IN_ITEMS)))\n"
        "    print('state at unconfigure:', state())\n"
        "atexit.register(lambda: print('state at exit:', state()))\n"
    )

    result = pytester.runpytest_subprocess(*NO_CACHE, "-s", "--compviz-input", "llama2_asym.csv", "test_nothing.py",
                                           "--compviz-rule", "max-relative-error=9%")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1 + 10)  # the user's test; the schema and 9 gates
    result.stdout.fnmatch_lines(["llama2_asym.csv: 9 gates passed, 0 failed",
                                 "  wrote compviz-report/llama2_asym.md, compviz-report/llama2_asym.png"])
    states = dict(line.split(": ") for line in result.outlines if line.startswith(("state at ", "state in ")))
    assert set(states) == {"state at run", "state in items", "state at unconfigure", "state at exit"}
    for state in states.values():
        # frozen, thresholds kept, enabled, children, Python threads, signal handlers
        assert state == "(0, True, True, 0, 1, 'signals kept')"
    assert not list(pytester.path.glob("compviz-render-*"))
