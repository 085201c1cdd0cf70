"""Sweep manifests run for real through both faces: ``pytest --compviz-input sweep.csv`` (in-process
pytester) and ``compviz`` / ``compviz assemble`` (in-process ``main``): outcomes, exit codes,
messages, and what is (and is not) on disk.

The manifest is a copy of examples/sweep/ (sweep.csv naming lm-eval and wwb outputs), whose table
is the one of data/llama2_asym.csv.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import DEMO_RULES, LLAMA2_CSV, LLAMA2_EXPECTED_MD, LLAMA2_ROWS, LLAMA2_ROWS_BY_LINE, run

from pytest_compviz.cli import main as compviz_main

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")

SWEEP = Path(__file__).resolve().parent.parent / "examples" / "sweep"
MODEL = "meta-llama_Llama-2-7b-chat-hf"
ACC, ACC_STDERR = "lambada-openai, acc", "lambada-openai, acc stderr"
REPORT_SUMMARY = ["compviz.json", "summary.md"]  # what a run writes besides tables and plots

RULES = DEMO_RULES  # every compressed row gated (rule 1)

# The lm-eval folder of each manifest line, and the file read in it.
FOLDER_BY_LINE = {2: "gptq", 3: "100-int4", 4: "data-free", 5: "rank-32", 6: "rank-128", 7: "80-int4",
                  8: "rank-256", 9: "60-int4", 10: "40-int4", 11: "fp32"}


def lm_eval_file(folder: str) -> str:
    """``evals/<folder>/models__<folder>/results_<date>.json`` as the manifest's folder shows it."""
    found = list((SWEEP / "evals" / folder).glob("*/results_*.json"))
    assert len(found) == 1, found
    return found[0].relative_to(SWEEP).as_posix()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


OUTPUT_DIRS = {"report", "out", "plain", "manifest"}  # where the tests' runs write


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` but the runs' outputs: relative path -> bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] not in OUTPUT_DIRS}


class Sweep:
    """examples/sweep copied into a folder, with helpers to change the copy."""

    def __init__(self, folder: Path):
        self.folder = folder
        shutil.copytree(SWEEP, folder, dirs_exist_ok=True)
        self.manifest = folder / "sweep.csv"

    def edit(self, cells: dict[tuple[int, str], str]) -> None:
        """Set manifest cells by (file line, column); a new column is added, empty elsewhere."""
        with self.manifest.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        for (line, column), value in cells.items():
            if column not in rows[0]:
                for row in rows:
                    row.append(column if row is rows[0] else "")
            rows[line - 1][rows[0].index(column)] = value
        with self.manifest.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)

    def lm_eval_json(self, folder: str) -> Path:
        return self.folder / lm_eval_file(folder)

    def edit_lm_eval(self, folder: str, change) -> Path:
        path = self.lm_eval_json(folder)
        document = json.loads(path.read_text())
        change(document)
        path.write_text(json.dumps(document, indent=2))
        return path


@pytest.fixture
def sweep(pytester) -> Sweep:
    pytester.makefile(".toml", pyproject=RULES)
    return Sweep(pytester.path)


def compviz(capsys, *args: str) -> tuple[int, str, str]:
    """``compviz ARGS`` in this process, in the current folder: (exit status, stdout, stderr)."""
    capsys.readouterr()  # drop what came before (an in-process pytester run prints here too)
    status = compviz_main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def item_outcomes(result, prefix: str) -> dict[str, str]:
    """``-v`` lines ``PREFIX::row::check PASSED`` -> {"row::check": "PASSED"}."""
    found = {}
    for line in result.stdout.lines:
        if line.startswith(prefix + "::") and " " in line:
            for outcome in ("PASSED", "FAILED", "ERROR", "SKIPPED"):
                if f" {outcome}" in line:
                    found[line[len(prefix) + 2:line.index(f" {outcome}")]] = outcome
    return found


def source_line(line: int) -> str:
    label = LLAMA2_ROWS_BY_LINE.get(line, "fp32")
    files = f"lm-eval {lm_eval_file(FOLDER_BY_LINE[line])}"
    if line != 11:  # the fp32 row has no wwb output: its similarity is typed in (1.0)
        files += f"; wwb wwb/{FOLDER_BY_LINE[line]}/metrics.csv"
    return f"  line {line} ({label}): {files}"


# --- 1. the example manifest through pytest ---------------------------------------------------------


def test_manifest_gives_the_plain_csvs_items_table_and_json_with_sources(pytester, sweep):
    shutil.copyfile(LLAMA2_CSV, pytester.path / "llama2_asym.csv")
    before = snapshot(pytester.path)

    result = run(pytester, "--compviz-input", "sweep.csv", "--compviz-input", "llama2_asym.csv", "-v")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=38)
    manifest_items, plain_items = item_outcomes(result, "sweep.csv"), item_outcomes(result, "llama2_asym.csv")
    expected = {f"{row}::{check}" for row in LLAMA2_ROWS for check in ("max-relative-error", "min-compression-rate")}
    assert set(plain_items) == expected | {"schema"}
    assert manifest_items == plain_items
    assert set(manifest_items.values()) == {"PASSED"}
    lines = result.stdout.lines
    start = lines.index("sweep.csv: 18 gates passed, 0 failed")
    assert lines[start + 1:start + 12] == [*(source_line(n) for n in range(2, 12)),
                                          "  wrote report/sweep.md, report/sweep.png"]
    plain = lines.index("llama2_asym.csv: 18 gates passed, 0 failed")
    assert lines[plain + 1] == "  wrote report/llama2_asym.md, report/llama2_asym.png"  # no sources: none listed

    report = pytester.path / "report"
    assert (report / "sweep.md").read_bytes() == LLAMA2_EXPECTED_MD.read_bytes()
    assert (report / "llama2_asym.md").read_bytes() == LLAMA2_EXPECTED_MD.read_bytes()
    rows = json.loads((report / "compviz.json").read_text())["rows"]
    manifest_rows = [row for row in rows if row["input"] == "sweep.csv"]
    assert [row["line"] for row in manifest_rows] == list(range(2, 12))
    for row in manifest_rows:
        folder = FOLDER_BY_LINE[row["line"]]
        lm_eval = sweep.lm_eval_json(folder)
        expected_sources = [{"kind": "lm-eval", "file": lm_eval_file(folder), "sha256": sha256(lm_eval)}]
        if row["line"] != 11:
            wwb = pytester.path / "wwb" / folder / "metrics.csv"
            expected_sources.append({"kind": "wwb", "file": f"wwb/{folder}/metrics.csv", "sha256": sha256(wwb)})
        assert row["sources"] == expected_sources
        lambada = json.loads(lm_eval.read_text())["results"]["lambada_openai"]
        # pandas before 2.2 does not always parse text to the nearest float (to_numeric's fast
        # parser; seen 1.1e-14 relative off on 2.1.1): equal to the file's figure within 1e-13 there,
        # exactly on newer pandas.
        assert (row[ACC], row[ACC_STDERR]) == pytest.approx((lambada["acc,none"], lambada["acc_stderr,none"]),
                                                            rel=1e-13, abs=0)
        assert "wikitext, word perplexity stderr" not in row  # lm-eval's "N/A": no stderr
    plain_rows = [row for row in rows if row["input"] == "llama2_asym.csv"]
    assert all("sources" not in row and ACC_STDERR not in row for row in plain_rows)
    assert snapshot(pytester.path) == before  # the manifest and its sources untouched


def test_manifest_without_verbose_lists_no_source_files(pytester, sweep):
    result = run(pytester, "--compviz-input", "sweep.csv")

    result.assert_outcomes(passed=19)
    assert "sweep.csv: 18 gates passed, 0 failed" in result.stdout.lines
    assert "  wrote report/sweep.md, report/sweep.png" in result.stdout.lines
    assert not [line for line in result.stdout.lines if line.startswith("  line ")]
    assert "evals/" not in result.stdout.str()


# --- 2. compviz assemble ----------------------------------------------------------------------------


def test_assemble_writes_a_plain_csv_whose_report_is_the_manifests(pytester, sweep, capsys):
    from pytest_compviz.core.reader import read_results
    from pytest_compviz.core.results import load_results

    before = snapshot(pytester.path)

    status, out, err = compviz(capsys, "assemble", "sweep.csv", "-o", "results.csv")

    assert (status, out) == (0, "")
    assert err == "wrote results.csv: 10 rows from 19 source files\n"  # 10 lm-eval files, 9 wwb
    written = (pytester.path / "results.csv").read_text(encoding="utf-8")
    header = read_results(pytester.path / "results.csv").frame.columns
    assert not {"lm-eval", "wwb", "model path"} & set(header)  # a plain results CSV
    assert list(header)[-2:] == [ACC_STDERR, "lambada-openai, perplexity stderr"]
    plain = load_results(pytester.path / "results.csv")  # validated as a plain CSV...
    assert plain.sources == {}
    manifest = load_results(sweep.manifest)  # ...to the same numbers as the manifest
    assert plain.derived.equals(manifest.derived)

    # Standard output without -o: the same text, nothing written. From the folder above, so the
    # manifest's paths are taken relative to its own folder, not the current one.
    (pytester.path / "up").mkdir()
    shutil.move(pytester.path / "sweep.csv", pytester.path / "up" / "sweep.csv")
    for name in ("evals", "wwb"):
        shutil.move(pytester.path / name, pytester.path / "up" / name)
    status, out, err = compviz(capsys, "assemble", "up/sweep.csv")
    assert (status, err) == (0, "")
    assert out == written
    for name in ("sweep.csv", "evals", "wwb"):
        shutil.move(pytester.path / "up" / name, pytester.path / name)
    (pytester.path / "up").rmdir()

    # compviz on the assembled file and on the manifest: byte-identical tables and plots; -v lists
    # the manifest's sources only.
    status, out, err = compviz(capsys, "results.csv", "-o", "plain", "-v")
    assert status == 0, err
    assert out.splitlines()[:2] == ["results.csv: 18 gates passed, 0 failed", "  wrote plain/results.md, plain/results.png"]
    status, out, err = compviz(capsys, "sweep.csv", "-o", "manifest", "-v")
    assert status == 0, err
    assert out.splitlines()[:12] == ["sweep.csv: 18 gates passed, 0 failed", *(source_line(n) for n in range(2, 12)),
                                     "  wrote manifest/sweep.md, manifest/sweep.png"]
    assert (pytester.path / "plain" / "results.md").read_bytes() == LLAMA2_EXPECTED_MD.read_bytes()
    assert (pytester.path / "manifest" / "sweep.md").read_bytes() == LLAMA2_EXPECTED_MD.read_bytes()
    assert (pytester.path / "plain" / "results.png").read_bytes() == (pytester.path / "manifest" / "sweep.png").read_bytes()
    assert snapshot(pytester.path) == {**before, "results.csv": written.encode()}


# --- 3. bad sources: the schema item fails with the one line; nothing written --------------------

DATA_FREE_JSON = lm_eval_file("data-free")  # line 4's


def drop_wikitext(document: dict) -> None:
    del document["results"]["wikitext"]


BAD_SOURCES = [
    pytest.param(lambda s: shutil.rmtree(s.folder / "evals" / "data-free"),
                 "sweep.csv:4: column 'lm-eval': 'evals/data-free': no such file or folder", id="missing folder"),
    pytest.param(lambda s: s.lm_eval_json("data-free").unlink(),
                 "sweep.csv:4: column 'lm-eval': 'evals/data-free': no lm-eval results_*.json in this folder"
                 " or in its sub-folder 'models__data-free'", id="no results json"),
    pytest.param(lambda s: s.edit_lm_eval("data-free", drop_wikitext),
                 "sweep.csv:4: column 'lm-eval': 'evals/data-free' (models__data-free/"
                 f"{Path(DATA_FREE_JSON).name}): no task 'wikitext' (tasks: lambada_openai)", id="task missing"),
    pytest.param(lambda s: (s.folder / "wwb" / "data-free" / "metrics.csv").write_text(",similarity\n0,0.77\n1,0.78\n"),
                 "sweep.csv:4: column 'wwb': 'wwb/data-free' (metrics.csv): has 2 data rows; a wwb metrics.csv"
                 " has one", id="wwb rows"),
    pytest.param(lambda s: s.lm_eval_json("data-free").write_text('{"results": }'),
                 "sweep.csv:4: column 'lm-eval': 'evals/data-free' (models__data-free/"
                 f"{Path(DATA_FREE_JSON).name}): is not valid JSON: Expecting value (line 1, column 13)",
                 id="invalid json"),
]


def failure_section(result, title: str) -> list[str]:
    """The lines of the failure report headed ``_ TITLE _``, up to the next section."""
    lines = result.stdout.lines
    start = next(n for n, line in enumerate(lines) if line.startswith("_") and f" {title} " in line)
    end = next(n for n in range(start + 1, len(lines)) if lines[n].startswith(("_", "=")))
    return lines[start + 1:end]


def assert_clean(result) -> None:
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text


def test_a_bad_source_fails_the_schema_item_through_both_faces_and_writes_nothing(pytester, capsys):
    # Each way of breaking a source in a copy of the sweep of its own (a folder per case), all the
    # copies in one pytest session and one compviz run: each input is collected, checked and
    # reported on its own, so each case's lines are asserted one by one.
    pytester.makefile(".toml", pyproject=RULES)
    cases = []
    for case in BAD_SOURCES:
        break_it, problem = case.values
        folder = case.id.replace(" ", "-")
        break_it(Sweep(pytester.path / folder))
        (pytester.path / folder / "results.csv").write_text("a stale results.csv\n")
        cases.append((f"{folder}/sweep.csv", f"{folder}/{problem}"))  # the manifest as given, its line
    before = snapshot(pytester.path)

    result = run(pytester, *[arg for manifest, _ in cases for arg in ("--compviz-input", manifest)])

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=len(cases))
    for manifest, problem in cases:
        assert failure_section(result, f"schema of {manifest}") == [
            problem, f"{manifest}: 1 problem; the row checks of this file are not collected until its schema passes"]
        assert f"{manifest}: schema failed (1 problem); no gates run, no artifacts written" in result.stdout.lines
    assert_clean(result)
    assert names_in(pytester.path / "report") == REPORT_SUMMARY

    for manifest, problem in cases:
        status, out, err = compviz(capsys, "assemble", manifest, "-o", manifest.replace("sweep.csv", "results.csv"))
        assert (status, out) == (1, ""), manifest
        assert err.splitlines() == [problem, f"compviz assemble: {manifest}: 1 problem; nothing written"]

    status, out, err = compviz(capsys, *[manifest for manifest, _ in cases], "-o", "out")
    assert status == 1
    assert err.splitlines() == [line for manifest, problem in cases
                                for line in (problem, f"compviz: {manifest}: 1 problem; nothing written for it")]
    assert names_in(pytester.path / "out") == REPORT_SUMMARY
    assert snapshot(pytester.path) == before  # the manifests, their sources and the old results.csv files


def test_assemble_usage_errors_exit_2_and_write_nothing(pytester, sweep, capsys):
    shutil.copyfile(LLAMA2_CSV, pytester.path / "plain.csv")
    before = snapshot(pytester.path)

    cases = {
        ("plain.csv", "-o", "results.csv"): "compviz assemble: error: plain.csv: is not a manifest: its header has"
                                            " none of the source columns lm-eval, wwb, model path, lm-eval samples, llama-kld",
        ("sweep.csv", "-o", "sweep.csv"): "compviz assemble: error: sweep.csv: is the manifest itself; name another file",
        ("sweep.csv", "-o", "./evals/../sweep.csv"): "compviz assemble: error: ./evals/../sweep.csv: is the manifest"
                                                     " itself; name another file",
        ("missing.csv", "-o", "results.csv"): "compviz assemble: error: missing.csv: no such file",
        # A file the manifest was just assembled from: overwriting it would lose an evaluation's output.
        ("sweep.csv", "-o", "wwb/gptq/metrics.csv"): "compviz assemble: error: wwb/gptq/metrics.csv: is a source"
                                                     " of the manifest (line 2, wwb); name another file",
        ("sweep.csv", "-o", f"./{lm_eval_file('fp32')}"): f"compviz assemble: error: ./{lm_eval_file('fp32')}: is"
                                                          " a source of the manifest (line 11, lm-eval); name"
                                                          " another file",
    }
    for args, error in cases.items():
        status, out, err = compviz(capsys, "assemble", *args)
        assert (status, out, err) == (2, "", error + "\n"), args
    assert snapshot(pytester.path) == before
    assert not (pytester.path / "results.csv").exists()


# --- 4. comparability ---------------------------------------------------------------------------------

NOT_COMPARABLE = (f"sweep.csv:2: column 'lm-eval': lm-eval results of model {MODEL!r} are not comparable:"
                  " limit (lines 2, 3, 5, 6, 7, 8, 9, 10, 11: None; line 4: 100)")


def limit_100(document: dict) -> None:
    document["config"]["limit"] = 100


def test_runs_with_different_limits_warn_and_strict_fails_them(pytester, sweep, capsys):
    sweep.edit_lm_eval("data-free", limit_100)

    result = run(pytester, "--compviz-input", "sweep.csv")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=19, warnings=1)
    result.stdout.fnmatch_lines(["*= warnings summary =*", f"*CompvizWarning: {NOT_COMPARABLE}"])

    strict = run(pytester, "--compviz-input", "sweep.csv", "--compviz-strict", "--compviz-output-dir", "out")

    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.assert_outcomes(passed=18, failed=1)
    assert failure_section(strict, "schema of sweep.csv") == [NOT_COMPARABLE + " (--compviz-strict)"]
    strict.stdout.fnmatch_lines(["FAILED sweep.csv::schema*"])
    assert_clean(strict)

    status, out, err = compviz(capsys, "sweep.csv", "-o", "out", "--strict")
    assert status == 1
    assert f"error: {NOT_COMPARABLE} (--strict)" in out.splitlines()
    assert "warning: " not in err

    status, out, err = compviz(capsys, "assemble", "sweep.csv", "-o", "results.csv")  # a warning, not a failure
    assert status == 0
    assert err.splitlines()[0] == f"warning: {NOT_COMPARABLE}"


# --- 5. stderr columns of a plain results CSV ---------------------------------------------------------


def stderr_rows(results, cells: dict[int, str]) -> list[list[str]]:
    """llama2_asym.csv with an ``lambada-openai, acc stderr`` column: ``cells`` by file line."""
    rows = results.rows()
    rows[0].append(ACC_STDERR)
    for line, row in enumerate(rows[1:], start=2):
        row.append(cells.get(line, ""))
    return rows


def test_bad_stderr_cells_are_reported_by_line_and_column(pytester, results, capsys):
    path = results("llama2_asym.csv", stderr_rows(results, {2: "-0.01", 3: "inf", 4: "abc", 5: "", 6: "nan", 7: "0"}))
    before = path.read_bytes()
    expected = [
        f"llama2_asym.csv:2: column {ACC_STDERR!r}: must not be negative (value -0.01)",
        f"llama2_asym.csv:3: column {ACC_STDERR!r}: is not a finite number (value inf)",
        f"llama2_asym.csv:4: column {ACC_STDERR!r}: is not a number (value 'abc')",
    ]

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-rule", "max-relative-error=9%")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    assert failure_section(result, "schema of llama2_asym.csv") == [
        *expected, "llama2_asym.csv: 3 problems; the row checks of this file are not collected until its schema passes"]
    assert_clean(result)
    status, out, err = compviz(capsys, "llama2_asym.csv", "-o", "out")
    assert status == 1
    assert err.splitlines() == [*expected, "compviz: llama2_asym.csv: 3 problems; nothing written for it"]
    assert path.read_bytes() == before


def test_stderr_cells_pass_through_to_compviz_json(pytester, results):
    results("llama2_asym.csv", stderr_rows(results, {2: "0.0064", 3: "", 7: "0", 11: "1e-3", 6: "nan"}))

    result = run(pytester, "--compviz-input", "llama2_asym.csv", "--compviz-rule", "max-relative-error=9%")

    result.assert_outcomes(passed=10)
    rows = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text())["rows"]
    assert {row["line"]: row[ACC_STDERR] for row in rows if ACC_STDERR in row} == {2: 0.0064, 7: 0.0, 11: 0.001}
    assert (pytester.path / "compviz-report" / "llama2_asym.md").read_bytes() == LLAMA2_EXPECTED_MD.read_bytes()


# --- 6. metrics that name their lm-eval source ----------------------------------------------------------

MMLU_CONFIG = """
[tool.compviz]
output-dir = "report"

[[tool.compviz.metrics]]
column = "mmlu, acc"
direction = "higher"
min = 0.0
max = 1.0
lm-eval = "{spec}"

[[tool.compviz.rules]]
mode = "int4"
max-relative-error = "3%"
"""


INT4_BYTES = 7 * 2**29  # 3.5 GiB


def write_mmlu_sweep(folder: Path) -> None:
    """mmlu.csv: an fp32 and an int4 row whose mmlu accuracy is in their lm-eval results only, and
    the int4 row's size in its model folder only."""
    for mode, acc, stderr in (("fp32", 0.46, 0.004), ("int4", 0.45, 0.0041)):
        document = {"results": {"mmlu": {"alias": "mmlu", "acc,none": acc, "acc_stderr,none": stderr}},
                    "n-samples": {"mmlu": {"original": 14042, "effective": 14042}},
                    "config": {"model": "hf", "limit": None}}
        path = folder / "evals" / mode / "results_2026-01-01T00-00-00.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(document))
    weights = folder / "models" / "int4" / "model.safetensors"  # sparse: 3.5 GiB on paper only
    weights.parent.mkdir(parents=True)
    with weights.open("wb"):
        pass
    os.truncate(weights, INT4_BYTES)
    (weights.parent / "config.json").write_text("{}")  # not a weight file
    (folder / "mmlu.csv").write_text(
        'model,mode,%int4,%int8,"model size, Gb","mmlu, acc",lm-eval,model path\n'
        "llama,fp32,0,0,13.5,,evals/fp32,\n"
        "llama,int4,1,0,,,evals/int4/,models/int4\n")


def test_a_configured_lm_eval_metric_is_filled_from_the_results(pytester, capsys):
    pytester.makefile(".toml", pyproject=MMLU_CONFIG.format(spec="mmlu/acc"))
    write_mmlu_sweep(pytester.path)

    result = run(pytester, "--compviz-input", "mmlu.csv", "-v")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2)
    assert "  line 3 (int4): lm-eval evals/int4/results_2026-01-01T00-00-00.json;" \
           " model file models/int4/model.safetensors" in result.stdout.lines
    rows = json.loads((pytester.path / "report" / "compviz.json").read_text())["rows"]
    assert [(row["mmlu, acc"], row["mmlu, acc stderr"]) for row in rows] == [(0.46, 0.004), (0.45, 0.0041)]
    assert [row["model size, Gb"] for row in rows] == [13.5, 3.5]
    assert rows[1]["average relative error"] == pytest.approx(0.01 / 0.46)
    assert rows[1]["sources"][1] == {"kind": "model file", "file": "models/int4/model.safetensors", "sha256": None}
    table = (pytester.path / "report" / "mmlu.md").read_text()
    assert "| int4   | 100%    | 0%      |                | 2.2%                           | 3.9x " in table

    status, out, err = compviz(capsys, "assemble", "mmlu.csv")
    assert (status, err) == (0, "")
    assert out.splitlines() == ['model,mode,%int4,%int8,"model size, Gb","mmlu, acc","mmlu, acc stderr"',
                                "llama,fp32,0,0,13.5,0.46,0.004", "llama,int4,1,0,3.5,0.45,0.0041"]


def test_a_bad_lm_eval_spec_is_a_usage_error_naming_the_config_file(pytester, capsys):
    pytester.makefile(".toml", pyproject=MMLU_CONFIG.format(spec="mmlu"))
    (pytester.path / "gates.toml").write_text(MMLU_CONFIG.format(spec="mmlu/acc,a,b"))
    write_mmlu_sweep(pytester.path)

    result = run(pytester, "--compviz-input", "mmlu.csv")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == ("ERROR: compviz: metric 1, pyproject.toml: lm-eval metric 'mmlu': expected"
                                      " 'task/metric' or 'task/metric,filter'")
    assert_clean(result)
    for args, prefix, file, spec in (
            (["mmlu.csv", "-o", "out"], "compviz", "pyproject.toml", "mmlu"),
            (["mmlu.csv", "-o", "out", "--config", "gates.toml"], "compviz", "gates.toml", "mmlu/acc,a,b"),
            (["assemble", "mmlu.csv", "-o", "results.csv"], "compviz assemble", "pyproject.toml", "mmlu"),
            (["assemble", "mmlu.csv", "--config", "gates.toml"], "compviz assemble", "gates.toml", "mmlu/acc,a,b")):
        status, out, err = compviz(capsys, *args)
        assert (status, out, err) == (2, "", f"{prefix}: error: metric 1, {file}: lm-eval metric {spec!r}: expected"
                                             " 'task/metric' or 'task/metric,filter'\n"), args
    assert not (pytester.path / "out").exists() and not (pytester.path / "results.csv").exists()
    assert not (pytester.path / "report").exists()


# --- 7. what could pass when it should fail ------------------------------------------------------------


def test_a_number_typed_in_the_manifest_wins_over_its_file_and_is_gated(pytester, sweep, capsys):
    sweep.edit({(4, ACC): "0.5"})  # data-free: its lm-eval file says 0.696

    result = run(pytester, "--compviz-input", "sweep.csv")

    result.assert_outcomes(passed=18, failed=1)  # schema + 17 gates
    result.stdout.fnmatch_lines(["int4 (data-free): average relative error 15.4% > 9.0% (rule 1, pyproject.toml)"])
    table = (pytester.path / "report" / "sweep.md").read_text().splitlines()
    expected = LLAMA2_EXPECTED_MD.read_text().splitlines()
    changed = [(old, new) for old, new in zip(expected, table) if old != new]
    assert len(table) == len(expected) and len(changed) == 1
    assert changed[0][0].startswith("| int4   ") and "| 8.5% " in changed[0][0]
    assert changed[0][1] == changed[0][0].replace("| 8.5% ", "| 15.4%")
    rows = {row["line"]: row for row in json.loads((pytester.path / "report" / "compviz.json").read_text())["rows"]}
    assert rows[4][ACC] == 0.5 and ACC_STDERR not in rows[4]  # the typed number has no file stderr
    assert rows[3][ACC] == json.loads(sweep.lm_eval_json("100-int4").read_text())["results"]["lambada_openai"]["acc,none"]
    assert ACC_STDERR in rows[3]

    status, out, _ = compviz(capsys, "assemble", "sweep.csv")
    assert status == 0
    line4 = next(csv.reader([out.splitlines()[3]]))
    header = next(csv.reader([out.splitlines()[0]]))
    assert (line4[header.index(ACC)], line4[header.index(ACC_STDERR)]) == ("0.5", "")


def test_a_row_with_no_source_and_no_numbers_is_invalid_not_skipped(pytester, sweep, capsys):
    sweep.edit({(4, "lm-eval"): ""})
    (pytester.path / "results.csv").write_text("a stale results.csv\n")
    before = snapshot(pytester.path)
    expected = [f"sweep.csv:4: column {column!r}: is empty; a number is required"
                for column in (ACC, "lambada-openai, perplexity", "wikitext, word perplexity")]

    result = run(pytester, "--compviz-input", "sweep.csv")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    assert failure_section(result, "schema of sweep.csv") == [
        *expected, "sweep.csv: 3 problems; the row checks of this file are not collected until its schema passes"]
    assert names_in(pytester.path / "report") == REPORT_SUMMARY
    status, out, err = compviz(capsys, "assemble", "sweep.csv", "-o", "results.csv")
    assert (status, out) == (1, "")
    assert err.splitlines() == [*expected, "compviz assemble: sweep.csv: 3 problems; nothing written"]
    assert snapshot(pytester.path) == before
