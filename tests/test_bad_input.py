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
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import (LLAMA2_CSV, LLAMA2_EXPECTED_MD, NO_CACHE, StandInFigure, compviz_in_process,
                      stand_in_figure_bytes)

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


def artifacts_of(name: str, folder: Path) -> list[str]:
    """The tables and plots of input ``name`` in ``folder`` (its stem, exactly: not long_mode_duplicate's)."""
    stem = name.removesuffix(".csv")
    return [artifact for artifact in artifacts_in(folder) if artifact.rsplit(".", 1)[0] == stem]


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
# The corpus in two compviz runs, not one per file: the data problems (exit 1) and the valid files
# (exit 0), each file named in order on one command line. compviz reports each input on its own
# lines, in order, so each file's lines are asserted by its own test (test_compviz[NAME]) and the
# whole output of each run by test_compviz_runs_print_each_files_lines_and_nothing_else.

DATA_CASES = [case for case in CASES if case.values[1] == DATA]
VALID_CASES = [case for case in CASES if case.values[1] == VALID]
COMPVIZ_RULE = ("--rule", "max-relative-error=40%")


def compviz_stdout(name: str, outcome: str, lines) -> list[str]:
    """What ``compviz`` prints on stdout for one input."""
    if outcome == DATA:
        return [f"{name}: schema failed ({problems_count(len(lines))}); no gates run, no artifacts written"]
    stem = name.removesuffix(".csv")
    return [f"{name}: 9 gates passed, 0 failed", f"  wrote out/{stem}.md, out/{stem}.png"]


def compviz_stderr(name: str, outcome: str, lines) -> list[str]:
    """What ``compviz`` prints on stderr for one input: a valid one prints nothing there."""
    if outcome == DATA:
        return [*expected_lines(name, lines), f"compviz: {name}: {problems_count(len(lines))}; nothing written for it"]
    return []


@pytest.fixture(scope="module")
def compviz_corpus(tmp_path_factory, heavy_modules_loaded) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """The two runs, by outcome: the folder each ran in (with its copies of the corpus files and
    its ``out``) and the finished run. Drawn with conftest's stand-in, as each function-scoped
    test is (this fixture runs before the autouse fixture that installs it)."""
    from pytest_compviz.report import artifacts

    done = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(artifacts, "trade_off_figure", StandInFigure)
        patch.setattr(artifacts, "figure_bytes", stand_in_figure_bytes)
        patch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        for outcome, cases in ((DATA, DATA_CASES), (VALID, VALID_CASES)):
            folder = tmp_path_factory.mktemp(outcome.replace(" ", "_"))
            names = [case.values[0] for case in cases]
            for name in names:
                copy_case(name, folder)
            done[outcome] = folder, compviz_in_process(*names, "--output-dir", "out", *COMPVIZ_RULE, cwd=folder)
    return done


@pytest.mark.parametrize(("name", "outcome", "lines"), CASES)
def test_compviz(name, outcome, lines, compviz_corpus, corpus_hashes):
    folder, done = compviz_corpus[outcome]

    assert_consecutive(done.stdout.splitlines(), compviz_stdout(name, outcome, lines))
    if outcome == DATA:
        assert_consecutive(done.stderr.splitlines(), compviz_stderr(name, outcome, lines))
        assert artifacts_of(name, folder / "out") == []
    else:
        assert not [line for line in done.stderr.splitlines() if name in line], done.stderr
        stem = name.removesuffix(".csv")
        assert artifacts_of(name, folder / "out") == [f"{stem}.md", f"{stem}.png"]
    assert_untouched(name, folder / name, corpus_hashes)


@pytest.mark.parametrize("outcome", [DATA, VALID])
def test_compviz_runs_print_each_files_lines_and_nothing_else(outcome, compviz_corpus):
    folder, done = compviz_corpus[outcome]
    cases = [case.values for case in CASES if case.values[1] == outcome]

    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == (1 if outcome == DATA else 0)
    assert done.stdout.splitlines() == [*(line for case in cases for line in compviz_stdout(*case)),
                                        "wrote out/summary.md, out/compviz.json"]
    assert done.stderr.splitlines() == [line for case in cases for line in compviz_stderr(*case)]
    assert artifacts_in(folder / "out") == sorted(f"{name.removesuffix('.csv')}.{suffix}" for name, _, _ in cases
                                                  if outcome == VALID for suffix in ("md", "png"))


# --- face 2: pytest --compviz-input ---------------------------------------------------------------


def outcomes_by_file(result: pytest.RunResult) -> dict[str, list[str]]:
    """Each input's outcomes (passed/failed/skipped), as ``assert_outcomes`` counts them, by file."""
    by_file: dict[str, list[str]] = {}
    for outcome, reports in zip(("passed", "skipped", "failed"), result.reprec.listoutcomes()):
        for report in reports:
            by_file.setdefault(report.nodeid.split("::")[0], []).append(outcome)
    return by_file


# The whole corpus in two sessions, not one per file: every input is collected, checked and
# reported on its own, so each file's outcome and message lines are asserted one by one. The
# valid files run together, so their session must exit 0. (--tb=native: the large file's session
# below; a one-line failure does not depend on the traceback style.)
@pytest.mark.parametrize("cases", [pytest.param(DATA_CASES, id="data problems"), pytest.param(VALID_CASES, id="valid")])
def test_pytest(cases, pytester, corpus_hashes):
    names = [case.values[0] for case in cases]
    copies = [copy_case(name, pytester.path) for name in names]

    result = pytester.runpytest(*NO_CACHE, *[arg for name in names for arg in ("--compviz-input", name)],
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
# One large case, at the pure loader: a valid file of 70,000 rows, so lines run past 65,536 (2**16:
# 16-bit counters, old spreadsheets' last row) and the parser reads the text in many chunks; every
# row is read and derived, each at its own line. Problems are named by those same lines: the faces
# read a 10,000-row file (~750 kB, several of the parser's chunks) with two problems deep in it,
# and print exactly those two, at their lines.

LARGE_ROWS = 70_000
FACE_ROWS = 10_000


def write_large(path: Path, bad: bool, rows: int = LARGE_ROWS) -> None:
    """``rows`` rows of one model: distinct %int4 ratios, the baseline last. With ``bad``, text on
    the middle row (line rows/2 + 1) and an accuracy above 1 on the last row (line rows + 1)."""
    header = LLAMA2_CSV.read_text().splitlines()[0]
    lines = [header]
    for n in range(1, rows):
        size = "abc" if bad and n == rows // 2 else f"{3.5 + n / rows:.6f}"
        lines.append(f"{MODEL},int4 + awq,{n / rows},0.0,,,{size},11.9,0.70,3.3,0.88,1.0")
    acc = "1.5" if bad else "0.7108"
    lines.append(f"{MODEL},fp32,0.0,0.0,,,25.103,11.57,{acc},3.26,1.0,0.0")
    path.write_text("\n".join(lines) + "\n")


def large_problems(rows: int) -> list[str]:
    return [f":{rows // 2 + 1}: " + NOT_A_NUMBER.format(SIZE, "'abc'"), f":{rows + 1}: " + RATIO.format(ACC, "1.5")]


def test_large_valid_file_loads_every_row_at_its_line(tmp_path):
    from pytest_compviz.core.results import load_results

    path = tmp_path / "large.csv"
    write_large(path, bad=False)

    results = load_results(path)

    assert len(results.derived) == LARGE_ROWS
    assert results.table.line_of(results.derived.index[-1]) == LARGE_ROWS + 1
    assert results.table.lines.tolist() == list(range(2, LARGE_ROWS + 2))  # every row: no line lost or shifted


@pytest.fixture(scope="module")
def large_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("large") / "large.csv"
    write_large(path, bad=True, rows=FACE_ROWS)
    return path


def test_large_invalid_file_through_compviz(large_csv, tmp_path, monkeypatch, capsys):
    copy = copy_large(large_csv, tmp_path)
    before = sha256(copy)
    monkeypatch.chdir(tmp_path)

    status = compviz_main(["large.csv", "--output-dir", "out"])

    out, err = capsys.readouterr()
    assert status == 1
    assert out.splitlines()[0] == "large.csv: schema failed (2 problems); no gates run, no artifacts written"
    assert err.splitlines() == [*expected_lines("large.csv", large_problems(FACE_ROWS)),
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
        *expected_lines("large.csv", large_problems(FACE_ROWS)),
        "large.csv: 2 problems; the row checks of this file are not collected until its schema passes",
    ])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert sha256(copy) == before
    assert artifacts_in(pytester.path / "report") == []


def copy_large(source: Path, folder: Path) -> Path:
    target = folder / "large.csv"
    shutil.copyfile(source, target)
    return target


# --- the 10,000-character mode and quoted newlines: valid, with sane ids and messages ---------------
# One session for both files, every row failing a 1% limit: each row is gated like llama2_asym's
# same row (its error in the message is the plain file's), and every id and message stays short
# and on one line.

LLAMA2_ERRORS = sorted(["2.5%", "2.5%", "2.7%", "3.5%", "3.6%", "3.9%", "4.1%", "5.3%", "8.5%"])  # the expected table's


def call_reports(result: pytest.RunResult) -> list[pytest.TestReport]:
    return [r for r in result.reprec.getreports("pytest_runtest_logreport") if r.when == "call"]


def test_long_mode_and_quoted_newlines_are_gated_like_any_row_with_short_one_line_ids_and_messages(pytester):
    names = ["long_mode.csv", "quoted_commas_newlines.csv"]
    for name in names:
        copy_case(name, pytester.path)

    result = pytester.runpytest(*NO_CACHE, *[f"--compviz-input={name}" for name in names],
                                "--compviz-rule", "max-relative-error=1%")

    result.assert_outcomes(passed=2, failed=18)  # each file: its schema, and 9 rows above 1%
    reports = call_reports(result)
    assert len(reports) == 20
    errors: dict[str, list[str]] = {name: [] for name in names}
    for report in reports:
        message = str(report.longrepr or "")
        assert len(report.nodeid) <= 200 and "\n" not in report.nodeid, report.nodeid
        assert len(message) <= 300 and "\n" not in message, message
        if report.failed:
            found = re.search(r": average relative error (\S+%) > 1\.0% ", message)
            assert found, message
            errors[report.nodeid.split("::")[0]].append(found.group(1))
    assert {name: sorted(found) for name, found in errors.items()} == {name: LLAMA2_ERRORS for name in names}
    assert "+ tuned + tuned" in (pytester.path / "compviz-report" / "long_mode.md").read_text()
    table = (pytester.path / "compviz-report" / "quoted_commas_newlines.md").read_text()
    assert "| int4 + awq, scale estimation, gptq " in table


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
# Two real processes, each a whole pytest session (pytest.main: options, collection, gates, drawing,
# the outputs written atomically), writing one folder at the same moment. They are forked from
# this process, which has already imported everything, and released together through a pipe: a
# fresh interpreter per session would spend ~1.5 s importing pytest, pandas and matplotlib first
# (and start the two writes further apart).


def _session_in_child(folder: Path, release: tuple[int, int], log: Path, args: list[str]) -> None:
    """In a forked child: wait for the release, run one pytest session in ``folder`` with its output
    in ``log``, and exit with the session's status, never returning into this test run."""
    status = 70
    try:
        os.close(release[1])  # only the parent releases: if it never does, the read ends and so does the child
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = open(1, "w", closefd=False)  # the child ends with os._exit: nothing to close
        sys.stderr = open(2, "w", closefd=False)
        os.chdir(folder)
        if os.read(release[0], 1):
            started = time.monotonic()  # one clock for every process of the machine
            done = int(pytest.main(args))
            log.with_suffix(".times").write_text(f"{started} {time.monotonic()}")
            status = done
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # nothing may escape the child into the test run
        import traceback

        status = 70
        traceback.print_exc()
        sys.stderr.flush()
    finally:
        os._exit(status)


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"session {pid} did not finish in {timeout} s")


@pytest.mark.draws  # the plot is decoded below: draw it for real
# Python 3.12 warns at a fork in a process with another thread (an xdist worker has execnet's I/O
# thread): the children touch nothing of it, run a session of their own and leave by os._exit.
@pytest.mark.filterwarnings(r"ignore:This process \(pid=\d+\) is multi-threaded:DeprecationWarning")
def test_two_concurrent_sessions_leave_every_output_whole(tmp_path):
    from PIL import Image

    shutil.copyfile(LLAMA2_CSV, tmp_path / "llama2_asym.csv")
    args = [*NO_CACHE, "-p", "no:xdist", "-q", "--compviz-input", "llama2_asym.csv", "--compviz-output-dir",
            "shared", "--compviz-rule", "max-relative-error=9%"]
    logs = [tmp_path / f"session{n}.log" for n in range(2)]
    release = os.pipe()
    pids = []
    try:
        for log in logs:
            pid = os.fork()
            if pid == 0:
                _session_in_child(tmp_path, release, log, args)
            pids.append(pid)
        os.write(release[1], b"go")  # one byte each: both start now
    finally:
        os.close(release[0])
        os.close(release[1])
    statuses = [_wait(pid, timeout=120) for pid in pids]

    for status, log in zip(statuses, logs):
        output = log.read_text()
        assert status == 0, output
        assert "10 passed" in output
    (start_a, end_a), (start_b, end_b) = [map(float, log.with_suffix(".times").read_text().split()) for log in logs]
    assert max(start_a, start_b) < min(end_a, end_b), "the two sessions did not run at the same time"
    shared = tmp_path / "shared"
    assert sorted(p.name for p in shared.iterdir()) == [
        "compviz.json", "llama2_asym.md", "llama2_asym.png", "summary.md"]  # no temp file left
    assert (shared / "llama2_asym.md").read_bytes() == LLAMA2_EXPECTED_MD.read_bytes()
    with Image.open(shared / "llama2_asym.png") as image:
        image.load()  # decodes every byte: a torn file fails here
        assert image.format == "PNG" and image.width > 100
    json.loads((shared / "compviz.json").read_text())
    assert "llama2_asym.csv" in (shared / "summary.md").read_text()
