"""Every count comes from what pytest ran (the ledger), driven through real pytest runs with
``pytester``: checks deselected by -k, stopped by -x or cut off by an interruption are "not run"
alike in the terminal, summary.md and compviz.json (under xdist too: test_xdist.py, and runs
stopped early in test_endings.py); and a saved baseline only takes the rows whose checks ran."""

from __future__ import annotations

import json

import pytest
from conftest import LLAMA2_ROWS_BY_LINE, NO_CACHE, run, table_results

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")

CSV = "llama2_asym.csv"
WWB = "WWB, similarity"
ALL_9 = ("--compviz-rule", "max-relative-error=9%")  # one check per compressed row; all pass

# The compressed rows of llama2_asym.csv, by file line (line 11 is the fp32 baseline row), in
# collection order; their average relative errors: 4.1%, 5.3%, 8.5%, 3.9%, 3.6%, 3.5%, 2.5%,
# 2.7%, 2.5%.
ROWS = LLAMA2_ROWS_BY_LINE
LORA = {line for line, label in ROWS.items() if "lora" in label}
OTHERS = set(ROWS) - LORA

# summary.md's result column, by the ledger's status
SHOWN = {"passed": "✅ pass", "failed": "❌ FAIL", "not run": "⏸ not run"}


def summary_md(pytester, folder: str = "compviz-report") -> str:
    return (pytester.path / folder / "summary.md").read_text(encoding="utf-8")


def compviz_json(pytester, folder: str = "compviz-report") -> dict:
    return json.loads((pytester.path / folder / "compviz.json").read_text(encoding="utf-8"))


def json_verdicts(document: dict) -> dict[int, str]:
    """compviz.json's rows: file line -> verdict (fp32, line 11, is the reference)."""
    return {row["line"]: row["verdict"] for row in document["rows"]}


def counts(document: dict) -> list[tuple[int, int, int]]:
    return [(entry["gates passed"], entry["gates failed"], entry["gates not run"]) for entry in document["inputs"]]


def assert_verdicts(pytester, expected: dict[int, str], folder: str = "compviz-report") -> None:
    """summary.md's table and compviz.json's rows both give each row ``expected[line]``."""
    assert table_results(summary_md(pytester, folder)) == {ROWS[line]: SHOWN[v] for line, v in expected.items()}
    assert json_verdicts(compviz_json(pytester, folder)) == {**expected, 11: "reference"}


# --- 1. -k: what is deselected did not run ---------------------------------------------------------


def test_k_runs_only_the_selected_rows_and_counts_the_others_as_not_run(pytester, results):
    results(CSV)

    result = run(pytester, "--compviz-input", CSV, *ALL_9, "-k", "lora", "-rA")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=3, deselected=7)  # schema + 6 other rows deselected
    ran = {line.split(" ", 1)[1] for line in result.stdout.lines if line.startswith("PASSED ")}
    assert ran == {f"{CSV}::{ROWS[line]}::max-relative-error" for line in LORA}
    result.stdout.fnmatch_lines(["*= compviz =*", f"{CSV}: 3 gates passed, 0 failed, 6 not run"])

    summary = summary_md(pytester)
    assert summary.splitlines()[0] == "# compviz: 3 gates passed, 0 failed, 6 not run"
    assert "❌" not in summary
    document = compviz_json(pytester)
    assert document["outcome"] == "incomplete"  # some checks did not run
    assert counts(document) == [(3, 0, 6)]
    assert_verdicts(pytester, {line: "passed" if line in LORA else "not run" for line in ROWS})
    by_line = {row["line"]: row for row in document["rows"]}
    for line in ROWS:
        [gate] = by_line[line]["gates"]
        assert (gate["check"], gate["status"]) == ("max-relative-error", "passed" if line in LORA else "not run")


# --- 2. a failing check that -k deselected fails nothing ---------------------------------------------


def test_a_failing_check_deselected_by_k_is_neither_a_failure_nor_a_pass(pytester, results):
    results(CSV)
    rules = (*ALL_9, "--compviz-rule", "mode=int4; max-relative-error=8%")  # int4 (data-free) is 8.46%

    result = run(pytester, "--compviz-input", CSV, *rules, "-k", "lora")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=3, deselected=7)
    result.stdout.fnmatch_lines([f"{CSV}: 3 gates passed, 0 failed, 6 not run"])
    assert "data-free" not in result.stdout.str()
    summary = summary_md(pytester)
    assert summary.splitlines()[0] == "# compviz: 3 gates passed, 0 failed, 6 not run"
    assert "❌" not in summary
    assert f"| {ROWS[4]} | 8.5% | 7.2x | error ≤ 8.0% |  | ⏸ not run |" in summary
    document = compviz_json(pytester)
    assert document["outcome"] == "incomplete"  # some checks did not run
    assert counts(document) == [(3, 0, 6)]
    assert json_verdicts(document)[4] == "not run"

    # The same rules without -k: the check runs, and fails.
    full = run(pytester, "--compviz-input", CSV, *rules)
    assert full.ret == pytest.ExitCode.TESTS_FAILED
    full.stdout.fnmatch_lines([f"{CSV}: 8 gates passed, 1 failed"])
    assert compviz_json(pytester)["outcome"] == "failed"
    assert f"- ❌ {ROWS[4]}: average relative error 8.5% > 8.0% (--compviz-rule 2 'mode=int4; max-relative-error=8%')" in (
        summary_md(pytester).splitlines())


# --- 3. -x: what comes after the first failure did not run -------------------------------------------


def test_x_counts_the_checks_after_the_first_failure_as_not_run(pytester, results):
    results(CSV)
    # 5%: 100% int4 (5.3%, line 3) and data-free (8.5%, line 4) fail; -x stops at line 3.
    result = run(pytester, "--compviz-input", CSV, "--compviz-rule", "max-relative-error=5%", "-x")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2, failed=1)  # schema, gptq; 100% int4
    result.stdout.fnmatch_lines([f"{CSV}: 1 gate passed, 1 failed, 7 not run"])
    summary = summary_md(pytester)
    assert summary.splitlines()[0] == "# compviz: 1 gate passed, 1 failed, 7 not run"
    failures = [line for line in summary.splitlines() if line.startswith("- ❌")]
    assert failures == [f"- ❌ {ROWS[3]}: average relative error 5.3% > 5.0% (--compviz-rule 1 'max-relative-error=5%')"]
    document = compviz_json(pytester)
    assert document["outcome"] == "failed"
    assert counts(document) == [(1, 1, 7)]
    assert_verdicts(pytester, {2: "passed", 3: "failed", **{line: "not run" for line in range(4, 11)}})


# --- 4. an interrupted run counts what ran -----------------------------------------------------------

# A Ctrl-C is Python's default SIGINT handler raising KeyboardInterrupt in the main thread: here,
# in the third item's call. Raised in this process as that handler would raise it (the plugin
# installs no handler of its own: test_plugin.py checks every handler in a real run's process). A
# real SIGINT sent to this process would need the test in the main thread, which an xdist worker
# before 3.6 does not promise; and a subprocess costs ~2 s for no other difference.
INTERRUPT_AT_THIRD_ITEM = """
CALLS = []


def pytest_runtest_call(item):
    CALLS.append(item.nodeid)
    if len(CALLS) == 3:
        raise KeyboardInterrupt
"""


def test_an_interrupted_run_counts_only_what_ran_and_says_so(pytester, results):
    results(CSV)
    pytester.makeconftest(INTERRUPT_AT_THIRD_ITEM)

    # The items: schema, gptq, 100% int4 (interrupted in its call), ...
    result = pytester.runpytest(*NO_CACHE, "--compviz-input", CSV, *ALL_9, no_reraise_ctrlc=True)

    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED, output
    assert "KeyboardInterrupt" in output
    assert "Traceback" not in output and "INTERNALERROR" not in output
    result.stdout.fnmatch_lines([
        "*= compviz =*",
        f"{CSV}: 1 gate passed, 0 failed, 8 not run",
        "*the run was interrupted: the counts are of what ran; tables and plots not drawn",
    ])
    summary = summary_md(pytester)
    assert summary.splitlines()[0] == "# compviz: 1 gate passed, 0 failed, 8 not run (the run was interrupted)"
    document = compviz_json(pytester)
    assert document["outcome"] == "was interrupted"
    assert counts(document) == [(1, 0, 8)]
    assert_verdicts(pytester, {2: "passed", **{line: "not run" for line in range(3, 11)}})
    # only the summaries: no table or plot of an interrupted run
    assert sorted(p.name for p in (pytester.path / "compviz-report").iterdir()) == ["compviz.json", "summary.md"]


# --- 5. a saved baseline takes only the rows that ran, and only from a run that passed -----------------


def test_saving_with_k_keeps_the_deselected_rows_and_a_failing_run_saves_nothing(pytester, results):
    results(CSV)
    save = ("--compviz-input", CSV, *ALL_9, "--compviz-save-baseline", "base.json")
    first = run(pytester, *save)
    assert first.ret == pytest.ExitCode.OK, first.stdout.str()
    saved = json.loads((pytester.path / "base.json").read_text(encoding="utf-8"))
    old = {row["line"]: row for row in saved["rows"]}
    assert len(old) == 10
    assert old[4]["average relative error"] == pytest.approx(0.08459, abs=1e-5)

    # Line 4 (data-free, deselected) gets worse, 8.46% -> 10.41%, which would fail 9% if it ran;
    # line 8 (rank 256, selected) gets better.
    results(CSV, cells={(4, WWB): "0.70", (8, WWB): "0.95"})
    second = run(pytester, *save, "-k", "lora")

    assert second.ret == pytest.ExitCode.OK, second.stdout.str()
    second.stdout.fnmatch_lines([
        f"{CSV}: 3 gates passed, 0 failed, 6 not run",
        "baseline base.json: 6 rows not run (or xfailed) this time keep their saved values",
    ])
    assert compviz_json(pytester)["outcome"] == "incomplete"  # some checks did not run
    assert "not saved" not in second.stdout.str()
    document = json.loads((pytester.path / "base.json").read_text(encoding="utf-8"))
    new = {row["line"]: row for row in document["rows"]}
    assert len(document["rows"]) == 10 and set(new) == set(old)
    for line in OTHERS:  # not run: the previous values, as saved
        assert new[line] == old[line], ROWS[line]
    assert new[4][WWB] == pytest.approx(0.7780743274423811)
    assert new[4]["average relative error"] == pytest.approx(0.08459, abs=1e-5)
    assert new[8][WWB] == 0.95  # ran: the new values
    assert new[8]["average relative error"] < old[8]["average relative error"]
    assert {new[line]["verdict"] for line in LORA} == {"passed"}

    # A selected check fails: nothing is saved.
    before = (pytester.path / "base.json").read_bytes()
    failing = run(pytester, *save, "-k", "lora", "--compviz-rule", "mode=*lora*; max-relative-error=1%")

    assert failing.ret == pytest.ExitCode.TESTS_FAILED
    failing.stdout.fnmatch_lines([
        f"{CSV}: 0 gates passed, 3 failed, 6 not run",
        "baseline not saved to base.json: 3 gates failed",
    ])
    assert (pytester.path / "base.json").read_bytes() == before
    assert "⚠️ baseline not saved to base.json: 3 gates failed" in summary_md(pytester)
    assert compviz_json(pytester)["outcome"] == "failed"
