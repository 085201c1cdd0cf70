"""The examples of conftest_examples/, each run as documented in its README, with pytester."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "conftest_examples"
BRANCH_VARIABLES = ("COMPVIZ_BRANCH", "GITHUB_BASE_REF", "GITHUB_REF_NAME")


@pytest.fixture
def example(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, heavy_modules_loaded):
    """Copies an example folder into ``pytester.path`` and runs it as its README says."""
    # A CI run on main must not change which gates example 3 picks.
    for name in BRANCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def run(name: str, *extra: str, edit=None) -> pytest.RunResult:
        shutil.copytree(
            EXAMPLES / name, pytester.path, dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("compviz-report", "__pycache__", ".pytest_cache"),
        )
        if edit is not None:
            edit(pytester.path)
        return pytester.runpytest("--compviz-input", "results.csv", "-p", "no:cacheprovider", *extra)

    return run


def test_every_example_has_a_conftest_and_a_readme():
    folders = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
    assert folders == ["custom_metrics", "main_branch_stricter", "rules_from_code"]
    for folder in folders:
        assert (EXAMPLES / folder / "conftest.py").is_file()
        assert (EXAMPLES / folder / "README.md").is_file()
        assert (EXAMPLES / folder / "results.csv").is_file()


def _passed_properties(result: pytest.RunResult) -> dict[str, dict]:
    """Node id -> user_properties of every passed call, from the in-process run."""
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    return {r.nodeid: dict(r.user_properties) for r in reports if r.when == "call" and r.passed}


# --- 1. rules_from_code ---------------------------------------------------------------------------


def test_rules_from_code(example, pytester: pytest.Pytester):
    result = example("rules_from_code", "-v")

    result.assert_outcomes(passed=37)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        "results.csv::schema PASSED*",
        "results.csv::int4 (data-free)::max-relative-error PASSED*",
        "results.csv::int4 (data-free)::min-compression-rate PASSED*",
        "results.csv::int4 (data-free)::min:WWB, similarity PASSED*",
        "results.csv::int4 (data-free)::max:wikitext, word perplexity PASSED*",
        "*= compviz =*",
        "results.csv: 36 gates passed, 0 failed",
        "  wrote compviz-report/results.md, compviz-report/results.png",
        "*= 37 passed in *",
    ])
    result.stdout.no_fnmatch_line("*rule matched no row*")
    result.stdout.no_fnmatch_line("*ungated rows*")
    assert (pytester.path / "compviz-report" / "results.md").is_file()

    # The limits come from the hook: the general rule, the computed budgets, the LoRA rule.
    props = _passed_properties(result)
    row = "results.csv::int4 + awq + scale estimation ({})::{}"
    expected = {
        "results.csv::int4 + awq + scale estimation + gptq (gptq)::max-relative-error":
            (0.09, "rule 1, conftest.py"),
        row.format("100% int4", "max-relative-error"): (0.06, "rule 2, conftest.py"),
        row.format("80% int4", "max-relative-error"): (0.05, "rule 3, conftest.py"),
        row.format("40% int4", "max-relative-error"): (0.03, "rule 5, conftest.py"),
        row.format("40% int4", "min-compression-rate"): (4.5, "rule 1, conftest.py"),
        row.format("40% int4", "min:WWB, similarity"): (0.75, "rule 1, conftest.py"),
        row.format("40% int4", "max:wikitext, word perplexity"): (12.5, "rule 1, conftest.py"),
        "results.csv::int4 + awq + scale estimation + lora correction (rank 32)::max-relative-error":
            (0.04, "rule 6, conftest.py"),
        "results.csv::int4 + awq + scale estimation + lora correction (rank 32)::min:WWB, similarity":
            (0.88, "rule 6, conftest.py"),
    }
    actual = {nodeid: (props[nodeid]["limit"], props[nodeid]["rule"]) for nodeid in expected}
    assert actual == {nodeid: (pytest.approx(limit), rule) for nodeid, (limit, rule) in expected.items()}


# --- 2. custom_metrics ----------------------------------------------------------------------------


def test_custom_metrics(example, pytester: pytest.Pytester):
    result = example("custom_metrics", "-v")

    result.assert_outcomes(passed=26)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        "results.csv::schema PASSED*",
        "results.csv::int4 (data-free)::max-relative-error PASSED*",
        "results.csv::int4 (data-free)::min-compression-rate PASSED*",
        "results.csv::int4 (data-free)::min:mmlu, acc PASSED*",
        "results.csv::int4 (data-free)::min:gsm8k, acc PASSED*",
        "results.csv::int4 (data-free)::max:wikitext, word perplexity PASSED*",
        "*= compviz =*",
        "results.csv: 25 gates passed, 0 failed",
        "  wrote compviz-report/results.md, compviz-report/results.png",
        "*= 26 passed in *",
    ])
    result.stdout.no_fnmatch_line("*lambada*")
    # The average relative error is the mean over the team's three columns (data-free: 11.1%).
    props = _passed_properties(result)
    data_free = props["results.csv::int4 (data-free)::max-relative-error"]
    assert data_free["average relative error"] == pytest.approx(
        ((0.4640 - 0.4379) / 0.4640 + (0.2320 - 0.1782) / 0.2320 + (12.090 - 11.570) / 11.570) / 3
    )
    assert data_free["limit"] == pytest.approx(0.12)
    assert props["results.csv::int4 + awq + scale estimation (100% int4)::max-relative-error"]["limit"] == (
        pytest.approx(0.07)
    )
    assert "| int4 " in (pytester.path / "compviz-report" / "results.md").read_text(encoding="utf-8")


def test_custom_metrics_bounds_are_checked(example):
    """The hook's definitions validate the file: an accuracy written in percent fails the schema."""

    def percent_on_line_3(folder: Path) -> None:
        csv = folder / "results.csv"
        csv.write_text(csv.read_text(encoding="utf-8").replace(",0.4533,", ",45.33,"), encoding="utf-8")

    result = example("custom_metrics", edit=percent_on_line_3)

    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "results.csv:3: column 'mmlu, acc': must be between 0 and 1*45.33*",
        "results.csv: 1 problem; the row checks of this file are not collected until its schema passes",
        "*= compviz =*",
        "results.csv: schema failed (1 problem); no gates run, no artifacts written",
        "FAILED results.csv::schema*",  # pytest 9 adds " - MESSAGE", 8.0 does not
    ])


# --- 3. main_branch_stricter ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "header"),
    [
        ({}, "compviz: pull-request gates (no branch variable set)"),
        # GitHub sets GITHUB_BASE_REF on pull requests only, to the branch merged into.
        ({"GITHUB_BASE_REF": "main", "GITHUB_REF_NAME": "7/merge"},
         "compviz: pull-request gates (GITHUB_BASE_REF=main)"),
    ],
    ids=["local", "github-pull-request-into-main"],
)
def test_main_branch_stricter_pull_request(example, monkeypatch, env, header):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    result = example("main_branch_stricter")

    result.assert_outcomes(passed=19)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        header,
        "results.csv ...................*",
        "*= compviz =*",
        "results.csv: 18 gates passed, 0 failed",
        "*= 19 passed in *",
    ])
    result.stdout.no_fnmatch_line("*FAILURES*")


@pytest.mark.parametrize(
    ("env", "header"),
    [
        ({"COMPVIZ_BRANCH": "main"}, "compviz: main-branch gates (stricter) (COMPVIZ_BRANCH=main)"),
        ({"GITHUB_REF_NAME": "main"}, "compviz: main-branch gates (stricter) (GITHUB_REF_NAME=main)"),
    ],
    ids=["COMPVIZ_BRANCH", "github-push-to-main"],
)
def test_main_branch_stricter_on_main(example, monkeypatch, env, header):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    result = example("main_branch_stricter")

    result.assert_outcomes(passed=18, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        header,
        "results.csv .....F.............*",
        "*= FAILURES =*",
        "*_ max-relative-error of int4 (data-free) _*",
        "int4 (data-free): average relative error 8.5% > 6.0% (rule 2, conftest.py)",
        "*= compviz =*",
        "results.csv: 17 gates passed, 1 failed",
        "FAILED results.csv::int4 (data-free)::max-relative-error*",
        "*= 1 failed, 18 passed in *",
    ])
