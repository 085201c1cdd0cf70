"""A quality gate never passes by accident: each way a run could silently check less than the
user asked for, through the real faces (in-process pytester runs and compviz runs; a subprocess
where several processes at once are the point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import NO_CACHE, CsvWriter, compviz_in_process

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")

RULES = '[tool.compviz]\n\n[[tool.compviz.rules]]\nmode = "int4"\nmax-relative-error = "8%"\n'  # int4 is 8.46%


def compviz(*args, cwd: Path) -> subprocess.CompletedProcess:
    return compviz_in_process(*args, cwd=cwd)


def pytest_in(pytester: pytest.Pytester, folder: Path, *args) -> subprocess.CompletedProcess:
    """An in-process pytest run started from ``folder`` (rootdir and configuration are found from
    there, as from a shell in that folder), as a finished process: exit status, stdout, stderr."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        result = pytester.runpytest(*NO_CACHE, *map(str, args))
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(args, int(result.ret), result.stdout.str(), result.stderr.str())


def save_baseline(folder: Path, *args: str) -> None:
    """A baseline saved for a test to compare with: ``compviz ARGS --save-baseline ...`` in-process
    (the faces save alike, through one writer; a pytest session would cost twice as much), its
    report aside in saved-report/."""
    done = compviz(*args, "--no-step-summary", "--output-dir", "saved-report", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr


# --- the rules that apply are the user's rules ---------------------------------------------------


def test_monorepo_subfolder_rules_apply_and_the_header_names_their_file(pytester):
    pytester.makeini("[pytest]\n")  # pytest's rootdir and configfile are the top folder's
    sub = pytester.mkdir("sub")
    (sub / "pyproject.toml").write_text(RULES)
    CsvWriter(sub)("r.csv")
    pytester.chdir()
    import os

    os.chdir(sub)
    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-rule", "mode=int8; max-relative-error=5%")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["compviz: 1 rule from pyproject.toml, 1 from the command line",
                                 "r.csv::int4 (data-free)::max-relative-error FAILED*"
                                 if False else "*int4 (data-free): average relative error 8.5% > 8.0% (rule 1, pyproject.toml)"])
    assert (sub / "compviz-report" / "r.md").is_file()  # relative to the configuration's folder


@pytest.mark.parametrize("form", ["space", "equals"])
def test_an_input_outside_the_project_keeps_the_projects_rules_and_output_folder(pytester, form):
    tmp_path = pytester.path
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    (project / "pyproject.toml").write_text(RULES)
    csv = CsvWriter(elsewhere)("r.csv")
    args = ["--compviz-input", csv] if form == "space" else [f"--compviz-input={csv}"]

    done = pytest_in(pytester, project, *args)

    assert done.returncode == 1, done.stdout
    assert "int4 (data-free): average relative error 8.5% > 8.0% (rule 1, pyproject.toml)" in done.stdout
    assert (project / "compviz-report" / "r.md").is_file()
    assert not (elsewhere / "compviz-report").exists() and not (tmp_path / "compviz-report").exists()


@pytest.mark.parametrize("form", ["space", "equals"])
def test_hook_rules_of_the_invocation_folder_apply_to_an_input_outside_it(pytester, form):
    tmp_path = pytester.path
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    (project / "conftest.py").write_text("def pytest_compviz_rules(config):\n"
                                         "    return [{'mode': 'int4', 'max-relative-error': '1%'}]\n")
    csv = CsvWriter(elsewhere)("r.csv")
    args = ["--compviz-input", csv] if form == "space" else [f"--compviz-input={csv}"]

    done = pytest_in(pytester, project, *args)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "int4 (data-free): average relative error 8.5% > 1.0% (rule 1, " in done.stdout


GATES_NOTHING = "r.csv: no row is gated (no rule matches a row and there is no baseline to compare with): this file's"


def test_a_run_that_gates_nothing_warns_and_fails_under_strict_or_w_error(pytester):
    # -W error: test_a_schema_item_failed_by_a_warning_counts_everywhere_and_blocks_the_save's run.
    CsvWriter(pytester.path)("r.csv")

    warned = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv")
    assert warned.ret == pytest.ExitCode.OK
    warned.stdout.fnmatch_lines(["*= warnings summary =*", f"*CompvizWarning: {GATES_NOTHING}*"])

    failed = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-strict")
    assert failed.ret == pytest.ExitCode.TESTS_FAILED
    failed.stdout.fnmatch_lines([f"{GATES_NOTHING}*"])
    assert "INTERNALERROR" not in failed.stdout.str() and "Traceback" not in failed.stdout.str()


# --- a baseline must compare something ------------------------------------------------------------


def test_a_renamed_single_model_file_is_a_new_input_and_never_passes_silently(pytester):
    # Rows are identified by their input (docs/identities.md): matched on configuration alone,
    # two files without a model column (llama.csv, phi.csv) were compared with each other.
    rows = CsvWriter(pytester.path).rows()
    without_model = [row[1:] for row in rows]  # the first column is `mode`: no model of its own
    CsvWriter(pytester.path)("before.csv", without_model)
    save_baseline(pytester.path, "before.csv", "--rule", "max-relative-error=9%", "--save-baseline", "base.json")
    CsvWriter(pytester.path)("after.csv", without_model, cells={(4, "WWB, similarity"): "0.5"})

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "after.csv", "--compviz-baseline", "base.json",
                                "--compviz-strict")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["after.csv: the baseline base.json holds no rows of (no model column) from input"
                                 " 'after.csv' (it holds rows of 'before.csv'); these rows have no regression check"
                                 " yet (--compviz-strict)"])


@pytest.mark.parametrize(("document", "line"), [
    ({"schema": "pytest-compviz/run", "version": 1, "rows": []},
     "error: baseline base.json: holds no rows, so no row can be compared with it"),
])
def test_a_baseline_that_compares_nothing_fails_the_run(pytester, document, line):
    CsvWriter(pytester.path)("r.csv")
    (pytester.path / "base.json").write_text(json.dumps(document))

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-baseline", "base.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([line])


def test_a_baseline_of_the_same_model_matching_no_row_fails_and_of_other_models_warns(pytester):
    writer = CsvWriter(pytester.path)
    writer("r.csv")
    save_baseline(pytester.path, "r.csv", "--rule", "max-relative-error=9%", "--save-baseline", "base.json")
    document = json.loads((pytester.path / "base.json").read_text())
    for row in document["rows"]:
        row["%int4"] = 0.5  # no configuration of this run
    (pytester.path / "same-model.json").write_text(json.dumps(document))
    for row in document["rows"]:
        row["model"] = "org/other"
    (pytester.path / "other-model.json").write_text(json.dumps(document))

    same = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-baseline", "same-model.json")
    assert same.ret == pytest.ExitCode.TESTS_FAILED
    same.stdout.fnmatch_lines(["error: baseline same-model.json: matches none of r.csv's rows (baseline models:"
                               " 'meta-llama_Llama-2-7b-chat-hf'; this input's: 'meta-llama_Llama-2-7b-chat-hf')"])

    other = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-baseline", "other-model.json",
                               "--compviz-rule", "max-relative-error=9%")
    assert other.ret == pytest.ExitCode.OK
    other.stdout.fnmatch_lines(["*CompvizWarning: r.csv: the baseline other-model.json holds no rows of"
                                " 'meta-llama_Llama-2-7b-chat-hf' from input 'r.csv'; these rows have no regression"
                                " check yet"])
    # Strict fails it (compviz's --strict here; the pytest face's is the renamed-file test's).
    strict = compviz("r.csv", "--baseline", "other-model.json", "--rule", "max-relative-error=9%", "--strict",
                     "--no-step-summary", "--output-dir", "strict", cwd=pytester.path)
    assert strict.returncode == 1
    assert ("error: r.csv: the baseline other-model.json holds no rows of 'meta-llama_Llama-2-7b-chat-hf' from input"
            " 'r.csv'; these rows have no regression check yet (--strict)") in strict.stdout.splitlines()


# --- what the user asked for is written, or the run fails ------------------------------------------


def test_a_baseline_that_cannot_be_saved_fails_the_run_and_leaves_the_path_alone(pytester):
    CsvWriter(pytester.path)("r.csv")
    (pytester.path / "adir").mkdir()

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-rule", "max-relative-error=9%",
                                "--compviz-save-baseline", "adir")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["error: baseline not saved: adir: is a directory"])
    assert list((pytester.path / "adir").iterdir()) == []


def test_two_processes_saving_different_models_into_one_baseline_keep_both(tmp_path):
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from pytest_compviz.baseline.store import save_baseline
        model = sys.argv[1]
        for n in range(40):
            row = {"input": model + ".csv", "model": model, "mode": "int4", "%int4": 1.0, "%int8": 0.0,
                   "lora rank": None, "average relative error": 0.01 * n, "compression rate": 7.0}
            document = {"schema": "pytest-compviz/run", "version": 2, "inputs": [{"name": model + ".csv"}],
                        "rows": [row]}
            save_baseline(Path("base.json"), document, "base.json")
    """)
    processes = [subprocess.Popen([sys.executable, "-c", script, model], cwd=tmp_path) for model in ("a", "b")]
    assert [p.wait(timeout=60) for p in processes] == [0, 0]

    rows = json.loads((tmp_path / "base.json").read_text())["rows"]
    assert sorted(row["model"] for row in rows) == ["a", "b"]
    assert not list(tmp_path.glob("*.lock")) and not list(tmp_path.glob(".base.json.*"))


def test_an_invalid_input_leaves_no_stale_table_or_plot_of_an_earlier_run(pytester):
    writer = CsvWriter(pytester.path)
    writer("r.csv")
    writer("other.csv")
    # The earlier run is compviz's, in-process (the faces write one report alike; half the cost).
    earlier = compviz("r.csv", "other.csv", "--rule", "max-relative-error=9%", "--no-step-summary", cwd=pytester.path)
    assert earlier.returncode == 0, earlier.stdout + earlier.stderr
    report = pytester.path / "compviz-report"
    assert (report / "r.png").is_file()
    writer("r.csv", cells={(3, "model size, Gb"): "abc"})

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-input", "other.csv",
                                "--compviz-rule", "max-relative-error=9%")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert not (report / "r.md").exists() and not (report / "r.png").exists()
    assert (report / "other.md").is_file() and (report / "other.png").is_file()
    result.stdout.fnmatch_lines(["removed the previous run's artifacts of invalid inputs: compviz-report/r.md,"
                                 " compviz-report/r.png"])


def test_an_invalid_input_fails_the_run_whatever_k_selects(pytester):
    CsvWriter(pytester.path)("bad.csv", cells={(3, "model size, Gb"): "abc"})
    pytester.makepyfile(test_unit="def test_lora(): pass")

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "bad.csv", "test_unit.py", "-k", "lora")

    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["error: bad.csv: invalid (1 problem), and its schema item did not run; run it to see them"])


# --- bad text never crashes the report --------------------------------------------------------------


def test_dollar_signs_and_control_characters_are_drawn_and_reported_literally(pytester):
    writer = CsvWriter(pytester.path)
    rows = writer.two_models(other=r"cost $5 and $\frac{1}$")
    for row in rows[1:]:
        if row[0] != r"cost $5 and $\frac{1}$":
            row[0] = r"llama $\undefinedcmd$"
    rows[1][5] = "gptq\x01\x7f"
    rows[3][5] = r"$\frac{1}$"
    writer("r.csv", rows)

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-rule", "max-relative-error=50%",
                                "--junitxml", "junit.xml")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert "Traceback" not in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()
    assert len(list((pytester.path / "compviz-report").glob("*.png"))) == 2
    ET.parse(pytester.path / "junit.xml")  # parses: no control character in ids or properties
    assert "\x01" not in (pytester.path / "junit.xml").read_text()


def test_a_300_character_model_name_gets_a_short_file_name(pytester):
    writer = CsvWriter(pytester.path)
    writer("r.csv", writer.two_models("x" * 300))

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-rule", "max-relative-error=50%")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    names = sorted(p.name for p in (pytester.path / "compviz-report").glob("*.png"))
    assert len(names) == 2 and all(len(name) < 130 for name in names)


# --- the compviz command reads the same configuration -------------------------------------------------


def test_compviz_reads_declared_metrics_rules_and_exits_1_on_a_failed_gate(tmp_path):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.compviz]
        inputs = ["results.csv"]
        output-dir = "out"

        [[tool.compviz.metrics]]
        column = "mmlu, acc"
        direction = "higher"

        [[tool.compviz.rules]]
        mode = "*"
        max-relative-error = "1%"
    """))
    example = Path(__file__).resolve().parent.parent / "conftest_examples" / "custom_metrics" / "results.csv"
    (tmp_path / "results.csv").write_bytes(example.read_bytes())

    done = compviz(cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    assert "required column is missing" not in done.stderr
    assert "FAILED results.csv: max-relative-error of int4 (data-free)" in done.stdout
    document = json.loads((tmp_path / "out" / "compviz.json").read_text())
    assert document["outcome"] == "failed"
    assert (tmp_path / "out" / "results.png").is_file()


def test_a_summary_that_cannot_be_written_fails_the_run_and_the_rest_is_written(pytester):
    CsvWriter(pytester.path)("r.csv")
    (pytester.path / "compviz-report" / "summary.md").mkdir(parents=True)  # a directory in its place

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-rule", "max-relative-error=9%")

    result.assert_outcomes(passed=10)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["error: compviz-report/summary.md not written: Is a directory*"])
    report = pytester.path / "compviz-report"
    assert (report / "r.md").is_file() and (report / "r.png").is_file() and (report / "compviz.json").is_file()


def test_a_configured_input_does_not_concern_a_run_of_named_test_files(pytester):
    pytester.makefile(".toml", pyproject='[tool.compviz]\ninputs = ["r.csv"]\nbaseline = "missing.json"\n')
    CsvWriter(pytester.path)("r.csv", cells={(3, "model size, Gb"): "abc"})  # invalid, but not asked for
    pytester.makepyfile(test_unit="def test_unit(): pass")

    result = pytester.runpytest(*NO_CACHE, "test_unit.py")

    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    assert not (pytester.path / "compviz-report").exists()


# --- found by an adversarial review --------------------------------------------------------------


def test_a_run_whose_checks_did_not_all_run_is_incomplete_and_its_unchecked_rows_are_no_baseline(pytester):
    writer = CsvWriter(pytester.path)
    writer("r.csv")
    save_baseline(pytester.path, "r.csv", "--rule", "max-relative-error=20%", "--save-baseline", "base.json")
    writer("r.csv", cells={(4, "WWB, similarity"): "0.5"})  # int4 (data-free) much worse
    partial = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-baseline", "base.json",
                                 "-k", "lora", "--compviz-output-dir", "partial")
    assert partial.ret == pytest.ExitCode.OK
    document = json.loads((pytester.path / "partial" / "compviz.json").read_text())
    assert document["outcome"] == "incomplete"

    # Its compviz.json as the next baseline: the rows it did not check are not references.
    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-baseline",
                                "partial/compviz.json", "--compviz-rule", "max-relative-error=20%")
    result.assert_outcomes(passed=13)  # schema, 9 limits, the 3 lora rows' regressions: no other regression item
    result.stdout.fnmatch_lines(["  new since the baseline (6): *int4 (data-free)*"])


def test_a_schema_item_failed_by_a_warning_counts_everywhere_and_blocks_the_save(pytester):
    CsvWriter(pytester.path)("r.csv")  # no rule: its schema item warns that it gates nothing

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "-W", "error::pytest_compviz.plugin.CompvizWarning",
                                "--compviz-save-baseline", "base.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"{GATES_NOTHING}*"])
    assert "INTERNALERROR" not in result.stdout.str() and "Traceback" not in result.stdout.str()
    assert not (pytester.path / "base.json").exists()
    document = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text())
    assert (document["outcome"], document["inputs"][0]["schema"], document["inputs"][0]["gates failed"]) == (
        "failed", "failed", 1)
    assert (pytester.path / "compviz-report" / "summary.md").read_text().startswith("# compviz: 0 gates passed, 1 failed")


def test_an_infinite_value_in_a_gated_extra_column_fails_its_check_without_a_traceback(pytester):
    writer = CsvWriter(pytester.path)
    rows = writer.rows()
    rows[0].append("mmlu")
    for row in rows[1:]:
        row.append("0.6")
    rows[3][-1] = "inf"
    writer("r.csv", rows)

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-rule", "min:mmlu=0.5")

    result.assert_outcomes(passed=9, failed=1)
    result.stdout.fnmatch_lines(["int4 (data-free): column 'mmlu' is not a finite number here (value *inf*) (--compviz-rule 1 *"])
    assert "Traceback" not in result.stdout.str()
    assert json.loads((pytester.path / "compviz-report" / "compviz.json").read_text())["outcome"] == "failed"


def test_a_baseline_with_a_figure_that_is_not_finite_is_refused(pytester):
    CsvWriter(pytester.path)("r.csv")
    row = {"input": "r.csv", "model": "m", "mode": "int4", "%int4": 1.0, "%int8": 0.0, "lora rank": None,
           "average relative error": "nan", "compression rate": 7.0}
    (pytester.path / "base.json").write_text(json.dumps({"schema": "pytest-compviz/run", "version": 2, "rows": [row]}))

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-baseline", "base.json")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*baseline base.json: row 1 has a figure that is not a finite number"])


def test_derived_columns_take_their_own_keys_with_units(pytester):
    CsvWriter(pytester.path)("r.csv")
    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "r.csv", "--compviz-rule", "max:average relative error=8")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*max:average relative error: limit the derived column with max-relative-error*"])


def test_compviz_names_a_hook_conftest_beside_its_input_and_reads_a_file_named_twice_once(tmp_path):
    (tmp_path / "results").mkdir()
    CsvWriter(tmp_path / "results")("r.csv")
    (tmp_path / "results" / "conftest.py").write_text("def pytest_compviz_rules(config):\n    return []\n")

    done = compviz("results/r.csv", "./results/r.csv", "--rule", "max-relative-error=9%", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "compviz: results/conftest.py implements pytest_compviz hooks" in done.stderr
    assert done.stdout.count("results/r.csv: 9 gates passed, 0 failed") == 1


def test_a_missing_input_is_named_before_any_test_suite_conftest_loads(pytester):
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    pytester.mkdir("tests")
    (pytester.path / "tests" / "conftest.py").write_text("import not_installed_anywhere\n")

    done = pytest_in(pytester, pytester.path, "--compviz-input", "nope.csv")

    assert done.returncode == 4
    assert done.stderr.strip().splitlines()[-1] == "ERROR: compviz: input nope.csv: no such file"
