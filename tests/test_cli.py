"""The `compviz` command: exit codes, stdout, stderr, files written.

Most runs call ``cli.main`` in-process (conftest.compviz_in_process): a subprocess adds about
1.5 s of imports and nothing else to check. ``script=True`` runs the installed console script in
a subprocess, for the tests where the entry point, argparse's real exit or the process's own
output is the point.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LLAMA2_ROWS, compviz_in_process

MODEL = "meta-llama_Llama-2-7b-chat-hf"
COMPVIZ_SCRIPT = Path(sys.executable).with_name("compviz")


def compviz(*args, cwd: Path, script: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    if not script:
        return compviz_in_process(*args, cwd=cwd, env=env)
    return subprocess.run(
        [str(COMPVIZ_SCRIPT), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120,
        env=None if env is None else {**os.environ, **env},
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def llama2_copy(tmp_path, llama2_csv) -> Path:
    """data/llama2_asym.csv copied into tmp_path/in, so outputs next to it stay in tmp_path."""
    copy = tmp_path / "in" / "llama2_asym.csv"
    copy.parent.mkdir()
    copy.write_bytes(llama2_csv.read_bytes())
    return copy


# --- success -------------------------------------------------------------------------------------


SPELLINGS = [("--input-file", "--output-dir"), ("-i", "-o"), ("--input_file", "--output_dir")]


def test_each_option_spelling_writes_the_golden_table_and_identical_plots(tmp_path, llama2_copy, llama2_expected_md):
    before = sha256(llama2_copy)
    results = [compviz(i, "in/llama2_asym.csv", o, f"out{n}", "--format", "png", "--format", "svg", cwd=tmp_path)
               for n, (i, o) in enumerate(SPELLINGS)]
    names = ["llama2_asym.md", "llama2_asym.png", "llama2_asym.svg"]
    for n, result in enumerate(results):
        assert result.returncode == 0, SPELLINGS[n]
        assert result.stderr.startswith("warning: in/llama2_asym.csv: no row is gated")
        assert f"  wrote {', '.join(f'out{n}/{name}' for name in names)}" in result.stdout.splitlines()
        # and no temp file left behind
        assert files_in(tmp_path / f"out{n}") == ["compviz.json", *names[:1], *names[1:], "summary.md"]
        assert (tmp_path / f"out{n}" / "llama2_asym.md").read_bytes() == llama2_expected_md
    # Three runs, the same plots: drawn from the same data (conftest's stand-in: its bytes are a digest
    # of what the figure is drawn from). Real drawings, byte-identical: test_core's
    # test_renders_are_byte_identical (png and svg) and, across processes, test_endings.py's kill -9 test.
    for name in names[1:]:
        first = (tmp_path / "out0" / name).read_bytes()
        assert all((tmp_path / f"out{n}" / name).read_bytes() == first for n in (1, 2)), name
    assert sha256(llama2_copy) == before


def test_output_dir_defaults_to_compviz_report_as_in_pytest(tmp_path, llama2_copy, llama2_expected_md):
    before = sha256(llama2_copy)
    result = compviz(llama2_copy, cwd=tmp_path)  # positional input (the console script: the "bad option" test)
    assert result.returncode == 0, result.stderr
    assert "  wrote compviz-report/llama2_asym.md, compviz-report/llama2_asym.png" in result.stdout.splitlines()
    assert files_in(tmp_path / "in") == ["llama2_asym.csv"]
    assert files_in(tmp_path / "compviz-report") == ["compviz.json", "llama2_asym.md", "llama2_asym.png",
                                                     "summary.md"]
    assert (tmp_path / "compviz-report" / "llama2_asym.md").read_bytes() == llama2_expected_md
    assert sha256(llama2_copy) == before


def test_two_models_give_one_table_and_plot_each(tmp_path, write_csv, llama2_expected_md):
    source = write_csv("two.csv", write_csv.two_models())
    result = compviz("--input-file", source, "--output-dir", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [f"two.{MODEL}.md", f"two.{MODEL}.png", "two.org_other-model.md", "two.org_other-model.png"]
    assert "  wrote " + ", ".join(f"out/{name}" for name in names) in result.stdout.splitlines()
    assert files_in(tmp_path / "out") == sorted([*names, "compviz.json", "summary.md"])
    assert (tmp_path / "out" / f"two.{MODEL}.md").read_bytes() == llama2_expected_md
    other = (tmp_path / "out" / "two.org_other-model.md").read_text().splitlines()
    assert other[2].endswith("| 0.0%                           | 1.0x                  |")  # its own fp32
    assert other[-1].endswith("| 8.5%                           | 14.4x                 |")


# --- invalid data: exit 1 ----------------------------------------------------------------------------


def test_invalid_input_exits_1_lists_all_problems_and_writes_only_valid_inputs(tmp_path, write_csv):
    bad = write_csv("bad.csv", cells={(2, "%int4"): "x", (4, "WWB, similarity"): "2", (6, "mode"): ""})
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    # A valid file whose precomputed `compression rate` disagrees on line 5: a warning, not an error.
    rows = write_csv.rows()
    rows[0].append("compression rate")
    for line, row in enumerate(rows[1:], start=2):
        row.append("9.9x" if line == 5 else "")
    good = write_csv("good.csv", rows)
    hashes = {path: sha256(path) for path in (bad, empty, good)}

    result = compviz("bad.csv", "empty.csv", "good.csv", "-o", "out", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr == (
        "bad.csv:2: column '%int4': is not a number (value 'x')\n"
        "bad.csv:4: column 'WWB, similarity': must be between 0 and 1 (value 2)\n"
        "bad.csv:6: column 'mode': must not be empty\n"
        "compviz: bad.csv: 3 problems; nothing written for it\n"
        "empty.csv: file is empty: expected a header line and data rows\n"
        "compviz: empty.csv: 1 problem; nothing written for it\n"
        "warning: good.csv:5: column 'compression rate': the file says 9.90x, recomputed 7.02x;"
        " the recomputed value is used\n"
        "warning: good.csv: no row is gated (no rule matches a row and there is no baseline to compare with):"
        " this file's results are not checked\n"
    )
    assert result.stdout.splitlines() == [
        "bad.csv: schema failed (3 problems); no gates run, no artifacts written",
        "empty.csv: schema failed (1 problem); no gates run, no artifacts written",
        "good.csv: 0 gates passed, 0 failed",
        "  ungated rows (9, no rule sets a check): " + "; ".join(LLAMA2_ROWS),
        "  wrote out/good.md, out/good.png",
        "wrote out/summary.md, out/compviz.json",
    ]
    assert files_in(tmp_path / "out") == ["compviz.json", "good.md", "good.png", "summary.md"]
    assert {path: sha256(path) for path in hashes} == hashes


# --- usage errors: exit 2 ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "args, error",
    [
        pytest.param(["--input-file", "missing.csv"], "compviz: error: missing.csv: no such file", id="missing"),
        pytest.param(["-i", "in"], "compviz: error: in: is a directory, expected a CSV file", id="directory"),
        pytest.param(["in/llama2_asym.csv", "missing.csv", "-o", "out"],
                     "compviz: error: missing.csv: no such file", id="valid and missing"),
    ],
)
def test_unusable_input_exits_2_and_writes_nothing(tmp_path, llama2_copy, args, error):
    before = sha256(llama2_copy)
    result = compviz(*args, cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", error + "\n")
    assert files_in(tmp_path) == ["in"]  # no output dir created, nothing written next to the input
    assert files_in(tmp_path / "in") == ["llama2_asym.csv"]
    assert sha256(llama2_copy) == before


@pytest.mark.parametrize(
    "args, error, script",
    [
        pytest.param([], "compviz: error: no input: give a results CSV, e.g. compviz --input-file"
                     " data/llama2_asym.csv, or list inputs (or files globs that match a CSV) in [tool.compviz]",
                     False, id="no input"),
        # Through the console script (the file's one run of the installed entry point): argparse's
        # exit is the process's exit status.
        pytest.param(["--bogus", "in/llama2_asym.csv"], "compviz: error: unrecognized arguments: --bogus", True,
                     id="bad option"),
        # The rest of this line ("(choose from ...)") is argparse's wording, which varies by Python.
        pytest.param(["--format", "bmp", "in/llama2_asym.csv"],
                     "compviz: error: argument --image-format/--format: invalid choice: 'bmp'", False, id="bad format"),
    ],
)
def test_bad_command_line_exits_2_with_usage(tmp_path, llama2_copy, args, error, script):
    result = compviz(*args, cwd=tmp_path, script=script)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("usage: compviz ")
    assert result.stderr.splitlines()[-1].startswith(error)
    assert "Traceback" not in result.stderr
    assert files_in(tmp_path / "in") == ["llama2_asym.csv"]


# --- regressions ----------------------------------------------------------------------------------------


def test_input_named_like_an_output_is_never_overwritten(tmp_path, llama2_csv):
    source = tmp_path / "results.md"
    source.write_bytes(llama2_csv.read_bytes())
    result = compviz(source, "-o", ".", cwd=tmp_path)
    assert source.read_bytes() == llama2_csv.read_bytes(), result.stdout
    assert result.returncode == 1
    assert f"error: {source}: table and plot not written: would overwrite the input file {source}" \
        in result.stdout.splitlines()


def test_two_inputs_with_one_name_do_not_overwrite_each_other(tmp_path, llama2_csv):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "results.csv").write_bytes(llama2_csv.read_bytes())

    result = compviz("a/results.csv", "b/results.csv", "-o", "out", cwd=tmp_path)

    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert "  wrote out/results.md, out/results.png" in lines
    assert "  wrote out/results-2.md, out/results-2.png" in lines  # a distinct name, shown


def test_an_output_dir_that_is_a_file_is_a_usage_error(tmp_path, llama2_csv):
    (tmp_path / "results.csv").write_bytes(llama2_csv.read_bytes())
    (tmp_path / "afile").write_text("")

    result = compviz("-i", "results.csv", "-o", "afile", cwd=tmp_path)

    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("error: ")]
    assert errors[0].startswith("error: results.csv: table and plot not written: ")
    assert errors[1].startswith("error: afile/summary.md not written: ")
    assert "Traceback" not in result.stderr


def test_two_runs_write_the_same_bytes_and_a_rejected_file_gets_nothing(tmp_path, llama2_copy):
    bad = tmp_path / "in" / "bad.csv"
    text = llama2_copy.read_text().splitlines()
    text[10] = text[10].replace(",0.710848049679798,", ",7.10848049679798,")  # the baseline accuracy above 1
    bad.write_text("\n".join(text) + "\n")
    written = {}
    for run in ("first", "second"):
        done = compviz(llama2_copy, bad, "--format", "png", "--format", "svg", "-o", tmp_path / run, cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        written[run] = {name: sha256(tmp_path / run / name) for name in files_in(tmp_path / run)}

    assert sorted(written["first"]) == ["compviz.json", "llama2_asym.md", "llama2_asym.png", "llama2_asym.svg",
                                        "summary.md"]
    for run in written.values():  # the run documents carry their date
        del run["compviz.json"], run["summary.md"]
    assert written["first"] == written["second"]
