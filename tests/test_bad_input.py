"""The adversarial corpus (tests/data/bad/, written by make_corpus.py there): every bad input is
a precise failure through both faces, ``compviz`` and ``pytest --compviz-input``, and nothing else
breaks: no traceback, no INTERNALERROR, the input is never modified, no table or plot for it.

``CASES`` is the one table: corpus file -> expected outcome and exact message lines. Lines are
written without the file name, which each face's message starts with (``:3: column ...`` is
``NAME.csv:3: column ...``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LLAMA2_CSV, LLAMA2_EXPECTED_MD, NO_CACHE

from pytest_compviz.cli import main as compviz_main

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")

CORPUS = Path(__file__).resolve().parent / "data" / "bad"
SUMMARY_FILES = ["compviz.json", "summary.md"]  # the plugin writes these for every run

DATA, VALID = "data problem", "valid"


def data(name: str, *lines: str):
    """A file whose data is invalid: exit 1, these message lines (after the file name), in order."""
    return pytest.param(name, DATA, lines, id=name.removesuffix(".csv"))


def valid(name: str):
    """A file that must be read correctly: exit 0, its table and plot written."""
    return pytest.param(name, VALID, (), id=name.removesuffix(".csv"))


MISSING = ":1: column {!r}: required column is missing"
NOT_A_NUMBER = "column {!r}: is not a number (value {})"
EMPTY = "column {!r}: is empty; a number is required"
NOT_FINITE = "column {!r}: is not a finite number (value {})"
RATIO = "column {!r}: must be between 0 and 1 (value {})"
POSITIVE = "column {!r}: must be greater than 0 (value {})"
WHOLE = "column 'lora rank': must be a positive whole number (value {})"
MODEL = "meta-llama_Llama-2-7b-chat-hf"
ACC, LPPL, SIM, WPPL = ("lambada-openai, acc", "lambada-openai, perplexity", "WWB, similarity",
                        "wikitext, word perplexity")
SIZE = "model size, Gb"
LONG_MODE_SHOWN = "'int4 + awq + scale estimation + tuned + tuned + tuned + t...'"

CASES = [
    # each required column missing
    data("missing_mode.csv", MISSING.format("mode")),
    data("missing_int4.csv", MISSING.format("%int4")),
    data("missing_int8.csv", MISSING.format("%int8")),
    data("missing_size.csv", MISSING.format(SIZE)),
    data("missing_acc.csv", MISSING.format(ACC)),
    data("missing_lppl.csv", MISSING.format(LPPL)),
    data("missing_sim.csv", MISSING.format(SIM)),
    data("missing_wppl.csv", MISSING.format(WPPL)),
    # cells
    data("text_in_numeric.csv",
         ":3: " + NOT_A_NUMBER.format(SIZE, "'abc'"),
         ":5: " + NOT_A_NUMBER.format(ACC, "'0,71'"),
         ":7: " + NOT_A_NUMBER.format("%int4", "'80%'"),
         ":9: " + NOT_A_NUMBER.format("lora rank", "'r32'")),
    data("blank_required.csv",
         ":2: " + EMPTY.format(SIZE), ":4: " + EMPTY.format("%int8"), ":6: " + EMPTY.format(WPPL)),
    data("inf_nan.csv",
         ":2: " + NOT_FINITE.format(ACC, "nan"),
         ":3: " + NOT_FINITE.format(WPPL, "inf"),
         ":4: " + NOT_FINITE.format(SIZE, "-inf"),
         ":5: " + NOT_FINITE.format(SIM, "NaN"),
         ":6: " + NOT_FINITE.format(LPPL, "Infinity"),
         ":7: " + NOT_FINITE.format(SIZE, "1e400")),
    data("range_int4.csv", ":2: " + RATIO.format("%int4", "1.5"), ":3: " + RATIO.format("%int4", "-0.1")),
    data("range_int8.csv", ":7: " + RATIO.format("%int8", "-0.2"), ":9: " + RATIO.format("%int8", "1.4")),
    data("range_size.csv", ":2: " + POSITIVE.format(SIZE, "0"), ":3: " + POSITIVE.format(SIZE, "-3.497")),
    data("range_acc.csv", ":2: " + RATIO.format(ACC, "1.7"), ":3: " + RATIO.format(ACC, "-0.01")),
    data("range_lppl.csv", ":2: " + POSITIVE.format(LPPL, "0"), ":3: " + POSITIVE.format(LPPL, "-3.3")),
    data("range_sim.csv", ":2: " + RATIO.format(SIM, "1.0001"), ":3: " + RATIO.format(SIM, "-0.5")),
    data("range_wppl.csv", ":2: " + POSITIVE.format(WPPL, "0"), ":3: " + POSITIVE.format(WPPL, "-11.8")),
    data("ratio_sum.csv",
         ":7: column '%int8': %int4 + %int8 must be at most 1 (value 0.8 + 0.3 = 1.1)",
         ":9: column '%int8': %int4 + %int8 must be at most 1 (value 0.6 + 0.5 = 1.1)"),
    data("lora_negative.csv", ":5: " + WHOLE.format("-32")),
    data("lora_zero.csv", ":5: " + WHOLE.format("0")),
    data("lora_fractional.csv", ":5: " + WHOLE.format("32.5")),
    data("empty_mode.csv", ":3: column 'mode': must not be empty", ":6: column 'mode': must not be empty"),
    data("empty_model.csv", ":5: column 'int4_asym, gs64': must not be empty"),
    # rules spanning rows
    data("no_baseline.csv",
         f":2: column 'mode': model '{MODEL}' has no reference row (mode 'fp32'); exactly one is needed to"
         " compute relative errors and compression rates"),
    data("two_baselines.csv",
         f":12: column 'mode': second reference row ('fp32') for model '{MODEL}'; the first is on line 11;"
         " exactly one is needed (value 'fp32')"),
    data("baseline_metric_zero.csv",
         f":11: column '{ACC}': reference value must not be 0 (relative errors divide by it) (value 0)"),
    data("duplicate_config.csv",  # 1 and 0 on line 12 are line 4's 1.0 and 0.0
         ":12: column 'mode': duplicate configuration: line 4 has the same model, mode, %int4, %int8 and"
         " lora rank (value 'int4')"),
    # the file as a whole
    data("empty.csv", ": file is empty: expected a header line and data rows"),
    data("blank_lines_only.csv", ": file is empty: expected a header line and data rows"),
    data("header_only.csv", ":1: has a header but no data rows"),
    data("ragged_too_many.csv", ":3: row has 13 fields, the header has 12", ":8: row has 14 fields, the header has 12"),
    data("ragged_too_few.csv", ":5: row has 10 fields, the header has 12"),
    data("duplicate_header.csv", ":1: column 'mode': header repeats the column name of column 2"),
    data("unclosed_quote.csv", ":5: a quoted field starts on this line and is never closed (a '\"' is missing)"),
    data("short_header.csv", *[f":{line}: row has 12 fields, the header has 11" for line in range(2, 12)]),
    data("title_line.csv", *[f":{line}: row has 12 fields, the header has 2" for line in range(2, 13)]),
    valid("leading_whitespace_line.csv"),
    valid("trailing_empty_columns.csv"),
    valid("comma_only_rows.csv"),
    valid("whitespace_lines.csv"),
    # delimiters and line endings
    data("semicolon.csv", ":1: looks semicolon-delimited; results files must be comma-separated"),
    data("semicolon_decimal_comma.csv", ":1: looks semicolon-delimited; results files must be comma-separated"),
    data("tab.csv", ":1: looks tab-delimited; results files must be comma-separated"),
    data("crlf_error.csv", ":6: " + NOT_A_NUMBER.format(SIZE, "'abc'")),
    data("blank_lines_error.csv", ":5: " + NOT_A_NUMBER.format(SIZE, "'abc'")),
    valid("cr_only.csv"),
    # encodings and binary
    valid("utf8_bom.csv"),
    valid("utf16_bom.csv"),
    valid("utf16be_bom.csv"),
    data("utf16_nobom.csv",
         ":1: contains NUL bytes: a binary file, or UTF-16 text without a byte-order mark; save the file as UTF-8"),
    data("latin1.csv", ":5: is not UTF-8 text: byte 0xe9 cannot be decoded; save the file as UTF-8"),
    data("random_bytes.csv", ":1: is not UTF-8 text: byte 0x9f cannot be decoded; save the file as UTF-8"),
    data("xlsx_renamed.csv", ": is not a CSV file but a zip archive (an Excel workbook?); save it as CSV UTF-8"),
    # long and quoted
    valid("long_mode.csv"),
    data("long_mode_duplicate.csv",
         ":4: column 'mode': duplicate configuration: line 3 has the same model, mode, %int4, %int8 and lora"
         f" rank (value {LONG_MODE_SHOWN})"),
    valid("quoted_commas_newlines.csv"),
    data("quoted_newlines_error.csv",  # rows start on lines 2 (3 lines), 5, 6, 7 (2 lines), 9, ..., 14
         ":9: " + NOT_A_NUMBER.format(SIZE, "'abc'"), ":14: " + RATIO.format(ACC, "1.5")),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected_lines(name: str, lines) -> list[str]:
    return [name + line for line in lines]


def problems_count(count: int) -> str:
    return f"{count} problem{'s' if count != 1 else ''}"


def assert_consecutive(output: list[str], expected: list[str]) -> None:
    """``expected`` appears in ``output`` as consecutive whole lines (no glob: values hold * and [)."""
    for start in range(len(output) - len(expected) + 1):
        if output[start:start + len(expected)] == expected:
            return
    raise AssertionError("lines not found in order:\n" + "\n".join(expected) + "\n--- in ---\n" + "\n".join(output))


def artifacts_in(folder: Path) -> list[str]:
    """Tables and plots in ``folder`` (summary.md and compviz.json are the run's, not a file's)."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.suffix in (".png", ".svg") or (p.suffix == ".md" and p.name != "summary.md"))


@pytest.fixture(scope="module")
def corpus_hashes() -> dict[str, str]:
    return {path.name: sha256(path) for path in CORPUS.glob("*.csv")}


def copy_case(name: str, folder: Path) -> Path:
    target = folder / name
    shutil.copyfile(CORPUS / name, target)
    return target


def assert_untouched(name: str, copy: Path, corpus_hashes: dict[str, str]) -> None:
    assert sha256(copy) == corpus_hashes[name], f"{name} was modified"
    assert sha256(CORPUS / name) == corpus_hashes[name]


# --- the table covers the corpus ------------------------------------------------------------------


def test_every_corpus_file_has_a_case():
    in_table = [case.values[0] for case in CASES]
    on_disk = sorted(p.name for p in CORPUS.glob("*.csv"))
    assert len(in_table) == len(set(in_table))
    assert sorted(in_table) == on_disk
    assert len(on_disk) >= 32


# --- face 1: compviz --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "outcome", "lines"), CASES)
def test_compviz(name, outcome, lines, tmp_path, monkeypatch, capsys, corpus_hashes):
    monkeypatch.chdir(tmp_path)
    copy = copy_case(name, tmp_path)

    status = compviz_main([name, "--output-dir", "out", "--rule", "max-relative-error=40%"])

    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if outcome == DATA:
        assert err.splitlines() == [
            *expected_lines(name, lines), f"compviz: {name}: {problems_count(len(lines))}; nothing written for it"]
        assert status == 1
        assert out.splitlines() == [f"{name}: schema failed ({problems_count(len(lines))}); no gates run, no"
                                    " artifacts written", "wrote out/summary.md, out/compviz.json"]
        assert artifacts_in(tmp_path / "out") == []
    else:
        stem = name.removesuffix(".csv")
        assert (status, err) == (0, "")
        assert f"  wrote out/{stem}.md, out/{stem}.png" in out.splitlines()
        assert artifacts_in(tmp_path / "out") == [f"{stem}.md", f"{stem}.png"]
    assert_untouched(name, copy, corpus_hashes)


# --- face 2: pytest --compviz-input ---------------------------------------------------------------


DATA_CASES = [case for case in CASES if case.values[1] == DATA]
VALID_CASES = [case for case in CASES if case.values[1] == VALID]


def outcomes_by_file(result: pytest.RunResult) -> dict[str, list[str]]:
    """Each input's outcomes (passed/failed/skipped), as ``assert_outcomes`` counts them, by file."""
    by_file: dict[str, list[str]] = {}
    for outcome, reports in zip(("passed", "skipped", "failed"), result.reprec.listoutcomes()):
        for report in reports:
            by_file.setdefault(report.nodeid.split("::")[0], []).append(outcome)
    return by_file


# The whole corpus in three sessions, not one per file: every input is collected, checked and
# reported on its own, so each file's outcome and message lines are asserted one by one. The
# data cases are split between --tb=long and --tb=native (a one-line failure does not depend on
# the traceback style); the valid files run together, so their session must exit 0.
@pytest.mark.parametrize(("cases", "tb"), [
    pytest.param(DATA_CASES[0::2], "long", id="data problems, tb=long"),
    pytest.param(DATA_CASES[1::2], "native", id="data problems, tb=native"),
    pytest.param(VALID_CASES, "long", id="valid"),
])
def test_pytest(cases, tb, pytester, corpus_hashes):
    names = [case.values[0] for case in cases]
    copies = [copy_case(name, pytester.path) for name in names]

    result = pytester.runpytest(*NO_CACHE, f"--tb={tb}", *[arg for name in names for arg in ("--compviz-input", name)],
                                "--compviz-output-dir", "report")

    everything = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in everything and "INTERNALERROR" not in everything
    report = pytester.path / "report"
    outcomes = outcomes_by_file(result)
    assert sorted(outcomes) == sorted(names)
    if cases[0].values[1] == VALID:  # each session holds one kind of case
        assert result.ret == pytest.ExitCode.OK
        result.assert_outcomes(passed=len(names))
        assert artifacts_in(report) == sorted(f"{name.removesuffix('.csv')}.{suffix}"
                                              for name in names for suffix in ("md", "png"))
    else:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.assert_outcomes(failed=len(names))
        assert artifacts_in(report) == []
        assert sorted(p.name for p in report.iterdir()) == SUMMARY_FILES
    for (name, outcome, lines), copy in zip((case.values for case in cases), copies):
        if outcome == DATA:
            assert outcomes[name] == ["failed"], name
            count = problems_count(len(lines))
            assert_consecutive(result.stdout.lines, [
                *expected_lines(name, lines),
                f"{name}: {count}; the row checks of this file are not collected until its schema passes",
            ])
            assert f"{name}: schema failed ({count}); no gates run, no artifacts written" in result.stdout.lines
        else:
            assert outcomes[name] == ["passed"], name
        assert_untouched(name, copy, corpus_hashes)


# --- usage problems: the input can't be used at all ------------------------------------------------


def _missing(folder: Path) -> str:
    return "results.csv"


def _directory(folder: Path) -> str:
    (folder / "results.csv").mkdir()
    return "results.csv"


def _unreadable(folder: Path) -> str:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    path = folder / "results.csv"
    shutil.copyfile(LLAMA2_CSV, path)
    path.chmod(0)
    return "results.csv"


USAGE = [
    pytest.param(_missing, "no such file", id="missing"),
    pytest.param(_directory, "is a directory, expected a CSV file", id="directory"),
    pytest.param(_unreadable, "cannot be read (permission denied)", id="unreadable"),
]


@pytest.mark.parametrize(("make", "reason"), USAGE)
def test_compviz_usage_problem(make, reason, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    name = make(tmp_path)

    status = compviz_main([name, "--output-dir", "out"])

    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.splitlines() == [f"compviz: error: {name}: {reason}"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("make", "reason"), USAGE)
def test_pytest_usage_problem(make, reason, pytester):
    name = make(pytester.path)

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", name, "--compviz-output-dir", "report")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines + result.stdout.lines if line.startswith("ERROR")]
    assert errors == [f"ERROR: compviz: input {name}: {reason}"]
    everything = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in everything and "INTERNALERROR" not in everything
    assert not (pytester.path / "report").exists()


# --- a very large file ------------------------------------------------------------------------------

LARGE_ROWS = 200_000


def write_large(path: Path, bad: bool) -> None:
    """200,000 rows of one model: distinct %int4 ratios, the baseline last. With ``bad``, text on
    the middle row (line 100,001) and an accuracy above 1 on the last row (line 200,001)."""
    header = LLAMA2_CSV.read_text().splitlines()[0]
    rows = [header]
    for n in range(1, LARGE_ROWS):
        size = "abc" if bad and n == LARGE_ROWS // 2 else f"{3.5 + n / LARGE_ROWS:.6f}"
        rows.append(f"{MODEL},int4 + awq,{n / LARGE_ROWS},0.0,,,{size},11.9,0.70,3.3,0.88,1.0")
    acc = "1.5" if bad else "0.7108"
    rows.append(f"{MODEL},fp32,0.0,0.0,,,25.103,11.57,{acc},3.26,1.0,0.0")
    path.write_text("\n".join(rows) + "\n")


LARGE_PROBLEMS = [
    ":100001: " + NOT_A_NUMBER.format(SIZE, "'abc'"),
    ":200001: " + RATIO.format(ACC, "1.5"),
]


@pytest.fixture(scope="module")
def large_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("large") / "large.csv"
    write_large(path, bad=True)
    return path


def test_large_invalid_file_through_compviz(large_csv, tmp_path, monkeypatch, capsys):
    copy = copy_large(large_csv, tmp_path)
    before = sha256(copy)
    monkeypatch.chdir(tmp_path)

    status = compviz_main(["large.csv", "--output-dir", "out"])

    out, err = capsys.readouterr()
    assert status == 1
    assert out.splitlines()[0] == "large.csv: schema failed (2 problems); no gates run, no artifacts written"
    assert err.splitlines() == [*expected_lines("large.csv", LARGE_PROBLEMS),
                                "compviz: large.csv: 2 problems; nothing written for it"]
    assert sha256(copy) == before
    assert artifacts_in(tmp_path / "out") == []


def test_large_invalid_file_through_pytest(large_csv, pytester):
    copy = copy_large(large_csv, pytester.path)
    before = sha256(copy)

    result = pytester.runpytest(*NO_CACHE, "--tb=native", "--compviz-input", "large.csv",
                                "--compviz-output-dir", "report")

    result.assert_outcomes(failed=1)
    assert_consecutive(result.stdout.lines, [
        *expected_lines("large.csv", LARGE_PROBLEMS),
        "large.csv: 2 problems; the row checks of this file are not collected until its schema passes",
    ])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert sha256(copy) == before
    assert artifacts_in(pytester.path / "report") == []


def test_large_valid_file_loads(tmp_path):
    from pytest_compviz.core.results import load_results

    path = tmp_path / "large.csv"
    write_large(path, bad=False)

    results = load_results(path)

    assert len(results.derived) == LARGE_ROWS
    assert results.table.line_of(results.derived.index[-1]) == LARGE_ROWS + 1


def copy_large(source: Path, folder: Path) -> Path:
    target = folder / "large.csv"
    shutil.copyfile(source, target)
    return target


# --- the 10,000-character mode: valid, with sane ids and messages ---------------------------------


def test_long_mode_is_gated_like_any_row(pytester):
    copy_case("long_mode.csv", pytester.path)

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "long_mode.csv", "--compviz-rule",
                                "max-relative-error=50%")

    result.assert_outcomes(passed=10)  # schema + 9 compressed rows
    table = (pytester.path / "compviz-report" / "long_mode.md").read_text()
    assert "+ tuned + tuned" in table


def call_reports(result: pytest.RunResult) -> list[pytest.TestReport]:
    return [r for r in result.reprec.getreports("pytest_runtest_logreport") if r.when == "call"]


def test_long_mode_gives_short_ids_and_messages(pytester):
    copy_case("long_mode.csv", pytester.path)

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "long_mode.csv", "--compviz-rule",
                                "max-relative-error=1%")

    result.assert_outcomes(passed=1, failed=9)
    for report in call_reports(result):
        assert len(report.nodeid) <= 200
        assert len(str(report.longrepr or "")) <= 300


def test_quoted_commas_and_newlines_are_gated_like_any_row(pytester):
    copy_case("quoted_commas_newlines.csv", pytester.path)

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "quoted_commas_newlines.csv", "--compviz-rule",
                                "max-relative-error=50%")

    result.assert_outcomes(passed=10)
    table = (pytester.path / "compviz-report" / "quoted_commas_newlines.md").read_text()
    assert "| int4 + awq, scale estimation, gptq " in table


def test_quoted_newlines_give_one_line_ids_and_messages(pytester):
    copy_case("quoted_commas_newlines.csv", pytester.path)

    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "quoted_commas_newlines.csv", "--compviz-rule",
                                "max-relative-error=1%")

    result.assert_outcomes(passed=1, failed=9)
    for report in call_reports(result):
        assert "\n" not in report.nodeid
        assert "\n" not in str(report.longrepr or "")


# --- several inputs: a bad one does not stop the others ---------------------------------------------

BAD_NEIGHBOURS = ["random_bytes.csv", "semicolon.csv", "ragged_too_many.csv"]


def test_pytest_bad_inputs_do_not_stop_the_good_one(pytester, corpus_hashes):
    shutil.copyfile(LLAMA2_CSV, pytester.path / "good.csv")
    inputs = ["good.csv"]
    for name in BAD_NEIGHBOURS:
        copy_case(name, pytester.path)
        inputs.append(name)

    result = pytester.runpytest(*NO_CACHE, *[f"--compviz-input={name}" for name in inputs],
                                "--compviz-rule", "max-relative-error=9%", "--compviz-output-dir", "report")

    result.assert_outcomes(passed=10, failed=3)  # good: schema + 9 rows; each bad: its schema
    assert "good.csv: 9 gates passed, 0 failed" in result.stdout.lines
    for name in BAD_NEIGHBOURS:
        assert f"{name}: schema failed (" in result.stdout.str()
        assert_untouched(name, pytester.path / name, corpus_hashes)
    assert artifacts_in(pytester.path / "report") == ["good.md", "good.png"]
    assert (pytester.path / "report" / "good.md").read_bytes() == (
        LLAMA2_EXPECTED_MD.read_bytes())
    summary = (pytester.path / "report" / "summary.md").read_text()
    for name in BAD_NEIGHBOURS:
        assert f"## {name}\n\n❌ **invalid data**" in summary


def test_compviz_bad_inputs_do_not_stop_the_good_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in BAD_NEIGHBOURS[:2]:
        copy_case(name, tmp_path)
    shutil.copyfile(LLAMA2_CSV, tmp_path / "good.csv")

    status = compviz_main([BAD_NEIGHBOURS[0], "good.csv", BAD_NEIGHBOURS[1], "--output-dir", "out"])

    out, err = capsys.readouterr()
    assert status == 1
    assert "  wrote out/good.md, out/good.png" in out.splitlines()
    assert f"compviz: {BAD_NEIGHBOURS[0]}: 1 problem; nothing written for it" in err.splitlines()
    assert f"compviz: {BAD_NEIGHBOURS[1]}: 1 problem; nothing written for it" in err.splitlines()
    assert artifacts_in(tmp_path / "out") == ["good.md", "good.png"]


# --- two sessions writing one output dir at once --------------------------------------------------


def test_two_concurrent_sessions_leave_every_output_whole(tmp_path):
    from PIL import Image

    shutil.copyfile(LLAMA2_CSV, tmp_path / "llama2_asym.csv")
    command = [sys.executable, "-m", "pytest", *NO_CACHE, "--compviz-input",
               "llama2_asym.csv", "--compviz-output-dir", "shared", "--compviz-rule", "max-relative-error=9%"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    sessions = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True) for _ in range(2)]
    outputs = [session.communicate(timeout=180)[0] for session in sessions]

    for session, output in zip(sessions, outputs):
        assert session.returncode == 0, output
        assert "10 passed" in output
    shared = tmp_path / "shared"
    assert sorted(p.name for p in shared.iterdir()) == [
        "compviz.json", "llama2_asym.md", "llama2_asym.png", "summary.md"]  # no temp file left
    assert (shared / "llama2_asym.md").read_bytes() == LLAMA2_EXPECTED_MD.read_bytes()
    with Image.open(shared / "llama2_asym.png") as image:
        image.load()  # decodes every byte: a torn file fails here
        assert image.format == "PNG" and image.width > 100
    json.loads((shared / "compviz.json").read_text())
    assert "llama2_asym.csv" in (shared / "summary.md").read_text()
