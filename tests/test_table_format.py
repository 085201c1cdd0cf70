"""The two NNCF table layouts: nncf-docs (the default, NNCF's README) and nncf-tool (what NNCF's
visualize_compression_results.py writes since tabulate 0.10.0), checked against NNCF's own
published reference, and every way of choosing one."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import NO_CACHE

from pytest_compviz.core.results import load_results
from pytest_compviz.report.markdown import markdown_table
from test_cli import compviz

NNCF_DATA = Path(__file__).resolve().parent / "data" / "nncf"
PHI3_CSV = NNCF_DATA / "phi3_asym.csv"
# NNCF's reference is the tool's output plus a final newline, which its test strips (and so do we).
PHI3_TOOL_MD = (NNCF_DATA / "phi3_asym.tool.md").read_text(encoding="utf-8")[:-1]


def phi3_table(table_format: str) -> str:
    (model,) = load_results(str(PHI3_CSV)).models()
    return markdown_table(model.frame, table_format)


def test_nncf_tool_format_is_byte_for_byte_nncfs_published_reference():
    assert phi3_table("nncf-tool") == PHI3_TOOL_MD
    assert not PHI3_TOOL_MD.endswith("\n")


def test_nncf_docs_format_keeps_float_ranks_left_aligned_and_a_final_newline():
    table = phi3_table("nncf-docs")
    assert table.endswith("|\n")
    assert "| 100%    | 0%      | 256.0          | 3.9%" in table
    assert "| lora<br>rank   |" in table.splitlines()[0]
    # The two differ in the lora rank column only (and the final newline): on the header, the
    # alignment rule and the three rows with a rank.
    docs_lines, tool_lines = table.splitlines(), PHI3_TOOL_MD.splitlines()
    differing = [n for n, (a, b) in enumerate(zip(docs_lines, tool_lines, strict=True)) if a != b]
    assert differing == [0, 1, 4, 7, 9]
    without_rank = [[line.split("|")[:4] + line.split("|")[5:] for line in lines] for lines in (docs_lines, tool_lines)]
    assert without_rank[0] == without_rank[1]
    assert [line.split("|")[4] for line in tool_lines][2:5] == [" " * 16, " " * 16, " " * 12 + "256 "]


def test_nncf_tool_format_without_any_lora_rank_leaves_the_column_left_aligned(write_csv):
    # tabulate aligns a column of empty cells as text: the tool's table then has a left-aligned
    # lora rank column (checked with NNCF's tool code and tabulate 0.10.0 on this file).
    rows = [row for row in write_csv.rows() if "lora correction" not in row[1]]
    (model,) = load_results(str(write_csv(rows=rows))).models()
    header, rule = markdown_table(model.frame, "nncf-tool").splitlines()[:2]
    assert "| lora<br>rank   |" in header
    assert rule.split("|")[4] == ":" + "-" * 15


def test_an_unknown_table_format_is_refused_by_the_renderer():
    with pytest.raises(ValueError, match="table format must be one of nncf-docs, nncf-tool, not 'nncf'"):
        phi3_table("nncf")


# --- choosing it: [tool.compviz], ini, --compviz-table-format, compviz --table-format --------------------


RULE = '[[tool.compviz.rules]]\nmode = "*"\nmax-relative-error = "20%"\n'


def _project(folder: Path, toml: str = "", ini: str = "") -> None:
    folder.joinpath("phi3_asym.csv").write_bytes(PHI3_CSV.read_bytes())
    text = f"[tool.compviz]\n{toml}\n{RULE}" + (f"[tool.pytest.ini_options]\n{ini}\n" if ini else "")
    folder.joinpath("pyproject.toml").write_text(text, encoding="utf-8")


def _written(folder: Path) -> tuple[str, str]:
    report = folder / "compviz-report"
    return (report / "phi3_asym.md").read_text(encoding="utf-8"), (report / "summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "toml, ini, option, expected",
    [
        pytest.param("", "", (), "nncf-docs", id="default"),
        pytest.param('table-format = "nncf-tool"', "", (), "nncf-tool", id="config"),
        pytest.param("", 'compviz_table_format = "nncf-tool"', (), "nncf-tool", id="ini"),
        pytest.param("", "", ("--compviz-table-format", "nncf-tool"), "nncf-tool", id="option"),
        pytest.param('table-format = "nncf-tool"', "", ("--compviz-table-format", "nncf-docs"), "nncf-docs",
                     id="option wins over config"),
        pytest.param('table-format = "nncf-docs"', 'compviz_table_format = "nncf-tool"', (), "nncf-docs",
                     id="config wins over ini"),
    ],
)
def test_every_way_of_choosing_the_format_writes_that_table(pytester, toml, ini, option, expected):
    _project(pytester.path, toml, ini)
    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "phi3_asym.csv", *option)
    assert result.ret == 0, result.stdout.str()
    table, summary = _written(pytester.path)
    assert table == (PHI3_TOOL_MD if expected == "nncf-tool" else phi3_table("nncf-docs"))
    # summary.md keeps its own layout whichever table format the artifacts take.
    assert "| 256.0 |" not in summary and "| 256 |" not in summary
    assert summary.count("phi3_asym.md") >= 1


def test_compviz_takes_the_format_from_its_option_or_the_config(tmp_path):
    _project(tmp_path, 'table-format = "nncf-tool"')
    assert compviz("phi3_asym.csv", "--no-step-summary", cwd=tmp_path).returncode == 0
    tool_table, tool_summary = _written(tmp_path)
    assert tool_table == PHI3_TOOL_MD
    result = compviz("phi3_asym.csv", "--no-step-summary", "--table-format", "nncf-docs", cwd=tmp_path)
    assert result.returncode == 0
    docs_table, docs_summary = _written(tmp_path)
    assert docs_table == phi3_table("nncf-docs")
    assert docs_summary == tool_summary


@pytest.mark.parametrize(
    "toml, ini, option, error",
    [
        pytest.param("", "", ("--compviz-table-format", "nncf"),
                     "--compviz-table-format: 'nncf' is not a table format (known: nncf-docs, nncf-tool)", id="option"),
        pytest.param('table-format = "markdown"', "", (),
                     "table-format, pyproject.toml: 'markdown' is not a table format (known: nncf-docs, nncf-tool)",
                     id="config"),
        pytest.param("", 'compviz_table_format = "NNCF-TOOL"', (),
                     "compviz_table_format (ini): 'NNCF-TOOL' is not a table format (known: nncf-docs, nncf-tool)",
                     id="ini"),
        pytest.param("table-format = 2", "", (),
                     "table-format must be", id="config not a string"),
    ],
)
def test_an_unknown_format_is_a_usage_error_that_writes_nothing(pytester, toml, ini, option, error):
    _project(pytester.path, toml, ini)
    result = pytester.runpytest(*NO_CACHE, "--compviz-input", "phi3_asym.csv", *option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert error in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert not (pytester.path / "compviz-report").exists()


def test_compviz_refuses_an_unknown_format_with_exit_2(tmp_path):
    _project(tmp_path)
    result = compviz("phi3_asym.csv", "--table-format", "html", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == ("compviz: error: --table-format: 'html' is not a table format"
                                     " (known: nncf-docs, nncf-tool)")
    assert not (tmp_path / "compviz-report").exists()
