"""Gates that know measurement noise (stderr columns, significance, bound) and the reference
semantics of NNCF's conformance tests (xfail, fail-on-improvement): known answers for the
propagation, the decisions at their boundaries, and real runs through both faces."""

from __future__ import annotations

import json
import math
import subprocess

import pytest
from conftest import LLAMA2_ROWS_BY_LINE, compviz_in_process, run

from pytest_compviz.config.rules import parse_rule_string
from pytest_compviz.core.noise import delta_stderr, error_stderr
from pytest_compviz.core.regression import Regression
from pytest_compviz.spec import Metric
from test_cli import compviz

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")

ACC = Metric("acc", "higher")
SIM = Metric("sim", "similarity")
PPL = Metric("ppl", "lower")
CSV = "llama2_asym.csv"
ROWS = LLAMA2_ROWS_BY_LINE
STDERR_COLUMNS = ["lambada-openai, acc stderr", "lambada-openai, perplexity stderr"]


# --- the propagation, by hand --------------------------------------------------------------------


def test_error_stderr_of_one_metric_is_the_hand_computed_delta_method():
    # t = 1 - r/b; dt/dr = -1/b = -1.25, dt/db = r/b^2 = 0.9375
    row, base = {"acc": 0.6, "acc stderr": 0.01}, {"acc": 0.8, "acc stderr": 0.02}
    assert error_stderr(row, base, [ACC]) == pytest.approx(math.sqrt((1.25 * 0.01) ** 2 + (0.9375 * 0.02) ** 2))


def test_error_stderr_of_two_metrics_adds_variances_and_divides_by_their_count():
    row = {"acc": 0.6, "acc stderr": 0.01, "sim": 0.9, "sim stderr": 0.03}
    base = {"acc": 0.8, "acc stderr": 0.02, "sim": 1.0}
    variance = (1.25 * 0.01) ** 2 + (0.9375 * 0.02) ** 2 + 0.03 ** 2
    assert error_stderr(row, base, [ACC, SIM]) == pytest.approx(math.sqrt(variance) / 2)


def test_a_perplexity_term_has_the_opposite_slopes():
    # t = r/b - 1: dt/dr = 1/b = 0.1, dt/db = -r/b^2 = -0.12
    row, base = {"ppl": 12.0, "ppl stderr": 0.5}, {"ppl": 10.0, "ppl stderr": 0.2}
    assert error_stderr(row, base, [PPL]) == pytest.approx(math.sqrt((0.1 * 0.5) ** 2 + (0.12 * 0.2) ** 2))


def test_a_missing_stderr_counts_as_exact_and_none_at_all_is_unknown():
    row, base = {"acc": 0.6, "acc stderr": 0.01, "sim": 0.9}, {"acc": 0.8, "sim": 1.0}
    assert error_stderr(row, base, [ACC, SIM]) == pytest.approx(1.25 * 0.01 / 2)
    assert error_stderr({"acc": 0.6, "acc stderr": math.nan}, {"acc": 0.8}, [ACC]) is None
    assert error_stderr({"acc": 0.6}, {"acc": 0.8}, [ACC]) is None


def test_a_reference_measured_once_and_reused_is_not_counted_twice():
    now, before = {"acc": 0.6, "acc stderr": 0.01}, {"acc": 0.62, "acc stderr": 0.01}
    base = {"acc": 0.8, "acc stderr": 0.02}
    shared = delta_stderr(now, base, before, dict(base), [ACC])
    # Only the difference of the two slopes in b carries fp32's noise: (0.6 - 0.62) / 0.8^2 * 0.02.
    assert shared == pytest.approx(math.sqrt(2 * (1.25 * 0.01) ** 2 + ((0.6 - 0.62) / 0.64 * 0.02) ** 2))
    # Measured again (another figure): each run's fp32 noise counts, in its own run.
    again = {"acc": 0.81, "acc stderr": 0.02}
    separate = delta_stderr(now, base, before, again, [ACC])
    expected = math.sqrt((1.25 * 0.01) ** 2 + (0.9375 * 0.02) ** 2
                         + (0.01 / 0.81) ** 2 + (0.62 / 0.81 ** 2 * 0.02) ** 2)
    assert separate == pytest.approx(expected)
    assert shared < separate  # counting the shared noise twice would widen the bar: fail open
    assert delta_stderr({"acc": 0.6}, {"acc": 0.8}, {"acc": 0.62}, {"acc": 0.8}, [ACC]) is None


@pytest.mark.parametrize("stderr, regressed", [(0.005, True), (0.0050001, False), (None, True), (0.0, True)])
def test_a_regression_must_reach_z_when_significance_is_asked(stderr, regressed):
    # +1.0 pp against a 0.5 pp tolerance; z = 0.01 / stderr against significance 2.
    r = Regression(0.03, 0.04, 7.0, 7.0, 0.005, 0.05, "rule", stderr, 2.0)
    assert r.error_regressed is regressed and r.passed is not regressed
    assert Regression(0.03, 0.04, 7.0, 7.0, 0.005, 0.05, "rule", 0.1).error_regressed  # no z asked: as today


def test_an_improvement_fails_only_when_asked_and_only_beyond_the_tolerance():
    better = Regression(0.04, 0.03, 7.0, 7.0, 0.005, 0.05, "rule")
    assert better.passed and not better.only_improved
    asked = Regression(0.04, 0.03, 7.0, 7.0, 0.005, 0.05, "rule", fail_on_improvement=True)
    assert not asked.passed and asked.only_improved and "save this run as the new baseline" in asked.hint()
    assert better.hint() is None
    within = Regression(0.04, 0.036, 7.0, 7.04, 0.005, 0.05, "rule", fail_on_improvement=True)
    assert within.passed
    faster = Regression(0.04, 0.04, 7.0, 7.2, 0.005, 0.05, "rule", fail_on_improvement=True)
    assert not faster.passed and faster.only_improved


def test_bound_needs_significance_and_the_keys_parse():
    rule = parse_rule_string("mode=int4; significance=2; bound=upper; xfail=ISSUE-1; max-relative-error=8%;"
                             " fail-on-improvement=true", "r")
    assert rule.settings == {"significance": 2.0, "bound": "upper", "xfail": "ISSUE-1", "fail-on-improvement": True}
    for text, error in [("significance=0; max-relative-error=8%", "must be a z value greater than 0"),
                        ("bound=lower; significance=2", "the one bound is \"upper\""),
                        ("xfail=ISSUE-1", "marks the checks this rule sets, and it sets none"),
                        ("fail-on-improvement=yes", "must be true or false")]:
        with pytest.raises(Exception, match=error):
            parse_rule_string(text, "r")


# --- real runs -----------------------------------------------------------------------------------


def save_baseline(folder, *args: str) -> None:
    """A baseline saved for a test to compare with: ``compviz ARGS --save-baseline ...`` in-process
    (the faces save alike, through one writer; a pytest session would cost twice as much), its
    report aside in saved-report/."""
    done = compviz_in_process(*args, "--no-step-summary", "--output-dir", "saved-report", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr


def checked(pytester, *args: str) -> subprocess.CompletedProcess:
    """``compviz llama2_asym.csv ARGS`` in-process, for a run whose exit status (and compviz.json, in
    compviz-report/ as the pytest runs') is all a test asks of it: half a pytest session's cost."""
    return compviz_in_process(CSV, *args, "--no-step-summary", cwd=pytester.path)


def with_stderr(results, acc_stderr="0.0064", ppl_stderr="0.076", cells=None, name=CSV):
    """llama2_asym.csv with stderr columns for both lambada metrics on every row."""
    rows = results.rows()
    rows[0] += STDERR_COLUMNS
    for row in rows[1:]:
        row += [acc_stderr, ppl_stderr]
    for (line, column), value in (cells or {}).items():
        rows[line - 1][rows[0].index(column)] = value
    return results(name, rows=rows)


def report_json(pytester) -> dict:
    return json.loads((pytester.path / "compviz-report" / "compviz.json").read_text(encoding="utf-8"))


def gate_statuses(document: dict) -> list:
    return [(row["line"], gate["check"], gate["status"], gate["message"]) for row in document["rows"]
            for gate in row.get("gates") or []]


def test_stderr_columns_without_the_keys_change_nothing(pytester, results):
    rule = "mode=int4*; max-relative-error=6%; min:lambada-openai, acc=0.70"
    results(CSV)
    plain = run(pytester, "--compviz-input", CSV, "--compviz-rule", rule)
    plain_gates = gate_statuses(report_json(pytester))
    with_stderr(results)
    noisy = run(pytester, "--compviz-input", CSV, "--compviz-rule", rule)
    assert (noisy.ret, noisy.parseoutcomes()) == (plain.ret, plain.parseoutcomes())
    assert gate_statuses(report_json(pytester)) == plain_gates
    assert "average relative error stderr" in report_json(pytester)["rows"][0]
    assert "CompvizWarning" not in noisy.stdout.str()


def test_a_bound_fails_a_row_that_passes_by_its_value_alone_and_says_why(pytester, results):
    with_stderr(results, acc_stderr="0.0016", ppl_stderr="0.019")
    # rank 32: 3.88% against 4.2%: inside by its value, not by its upper bound (4.33%); the other
    # LoRA rows are inside by both.
    rule = "mode=*lora correction; max-relative-error=4.2%"
    assert checked(pytester, "--rule", rule).returncode == 0
    bounded = run(pytester, "--compviz-input", CSV, "--compviz-rule", f"{rule}; significance=2; bound=upper")
    assert bounded.ret == pytest.ExitCode.TESTS_FAILED
    bounded.assert_outcomes(passed=3, failed=1)  # the schema item and two rows
    message = next(line for line in bounded.stdout.lines if line.startswith(f"{ROWS[5]}: average relative error"))
    assert message.startswith(f"{ROWS[5]}: average relative error 3.9% ± 0.2 pp (upper bound at z = 2: 4.3%) > 4.2%")
    entry = next(g for row in report_json(pytester)["rows"] if row["line"] == 5 for g in row["gates"])
    assert entry["significance"] == 2.0 and entry["bound"] == pytest.approx(entry["value"] + 2 * entry["stderr"])


def test_a_bound_without_any_significance_is_a_usage_error(pytester, results):
    with_stderr(results)
    result = run(pytester, "--compviz-input", CSV, "--compviz-rule", "mode=*; max-relative-error=9%; bound=upper")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "bound = \"upper\" needs a significance (a z value, e.g. 2.0) in this rule or an earlier one" \
        in result.stderr.str()


def test_keys_asked_of_rows_without_stderr_are_checked_as_today_and_named(pytester, results):
    results(CSV)
    result = run(pytester, "--compviz-input", CSV, "--compviz-rule",
                 "mode=int4; max-relative-error=9%; significance=2; bound=upper")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*CompvizWarning: llama2_asym.csv: a rule asks for significance or a bound, but no"
                                 " standard error is known for 1 row*checked as without them: int4 (data-free)"])
    # Strict fails it (compviz's --strict here: every compviz warning fails alike in both faces).
    strict = checked(pytester, "--strict", "--rule", "mode=*; max-relative-error=9%; significance=2; bound=upper")
    assert strict.returncode == 1
    assert any(line.startswith("error: llama2_asym.csv: a rule asks for significance or a bound, but no standard"
                               " error is known") for line in strict.stdout.splitlines()), strict.stdout


def test_significance_lets_a_regression_inside_the_noise_pass_and_a_real_one_fail(pytester, results):
    with_stderr(results, acc_stderr="0.02", ppl_stderr="0.3")
    save_baseline(pytester.path, CSV, "--save-baseline", "base.json")
    worse = {(10, "lambada-openai, acc"): "0.69"}  # 40% int4: +0.7 pp, under 1 stderr
    with_stderr(results, acc_stderr="0.02", ppl_stderr="0.3", cells=worse)
    assert checked(pytester, "--baseline", "base.json").returncode == 1  # as today: +1.0 pp > 0.5 pp
    assert checked(pytester, "--baseline", "base.json", "--rule", "mode=*; significance=2").returncode == 0
    regression = next(row["regression"] for row in report_json(pytester)["rows"] if row["line"] == 10)
    assert regression["significance"] == 2.0 and 0 < regression["error delta"] / regression["error delta stderr"] < 2
    # The same increase measured precisely is significant.
    with_stderr(results, acc_stderr="0.0001", ppl_stderr="0.0001")
    save_baseline(pytester.path, CSV, "--save-baseline", "precise.json")
    with_stderr(results, acc_stderr="0.0001", ppl_stderr="0.0001", cells=worse)
    precise = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "precise.json",
                  "--compviz-rule", "mode=*; significance=2")
    assert precise.ret == pytest.ExitCode.TESTS_FAILED
    precise.stdout.fnmatch_lines([f"{ROWS[10]}: since the baseline *: average relative error 2.47% -> 3.18%"
                                  " (+*pp ± 0.0* pp, z = *, needs z >= 2 to count, allowed +0.50 pp)*"])


def test_xfail_marks_the_rules_checks_reports_them_and_does_not_block_a_save(pytester, results):
    results(CSV)
    rules = ["--compviz-rule", "mode=int4; max-relative-error=5%; xfail=ISSUE-7",
             "--compviz-rule", "mode=*lora correction; max-relative-error=4.5%"]
    result = run(pytester, "--compviz-input", CSV, *rules, "--junitxml=j.xml", "--compviz-save-baseline", "b.json",
                 "-rx")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=4, xfailed=1)
    result.stdout.fnmatch_lines(["llama2_asym.csv: 3 gates passed, 0 failed, 1 xfailed",
                                 "XFAIL llama2_asym.csv::int4 (data-free)::max-relative-error - *ISSUE-7"])  # 8.0: "reason: "
    summary = (pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# compviz: 3 gates passed, 0 failed, 1 xfailed")
    assert "- ⚠️ xfail (ISSUE-7): int4 (data-free): average relative error 8.5% > 5.0%" in summary
    assert 'message="ISSUE-7"' in (pytester.path / "j.xml").read_text(encoding="utf-8")
    assert (pytester.path / "b.json").is_file()
    assert report_json(pytester)["inputs"][0]["gates xfailed"] == 1


def test_an_xfail_check_that_passes_fails_strictly_in_both_faces(pytester, results):
    results(CSV)
    rule = "mode=int4; max-relative-error=9%; xfail=ISSUE-7"
    result = run(pytester, "--compviz-input", CSV, "--compviz-rule", rule)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["int4 (data-free): average relative error 8.5% <= 9.0% (*); expected to fail (ISSUE-7)"
                                 " but passes now: drop the rule's xfail (XPASS, strict)"])
    summary = (pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")
    assert "expected to fail (ISSUE-7) but passes now: drop the rule's xfail (XPASS, strict)" in summary
    cli = compviz(CSV, "--rule", rule, "--no-step-summary", cwd=pytester.path)
    assert cli.returncode == 1 and "XPASS, strict" in cli.stdout
    cli_ok = compviz(CSV, "--rule", "mode=int4; max-relative-error=5%; xfail=ISSUE-7", "--no-step-summary",
                     cwd=pytester.path)
    assert cli_ok.returncode == 0 and "0 failed, 1 xfailed" in cli_ok.stdout


def test_fail_on_improvement_fails_a_better_row_and_such_a_run_refreshes_the_baseline(pytester, results):
    results(CSV, cells={(10, "WWB, similarity"): "0.85"})  # 40% int4 a worse run
    save_baseline(pytester.path, CSV, "--save-baseline", "base.json")
    results(CSV)  # now better by 1.5 pp
    assert checked(pytester, "--baseline", "base.json").returncode == 0
    refreshed = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json",
                    "--compviz-fail-on-improvement", "--compviz-save-baseline", "base.json")
    assert refreshed.ret == pytest.ExitCode.TESTS_FAILED
    refreshed.stdout.fnmatch_lines([f"{ROWS[10]}: since the baseline *(default tolerance); better than the baseline"
                                    " beyond the tolerance (fail-on-improvement): the baseline is out of date; save this"
                                    " run as the new baseline"])
    assert "baseline not saved" not in refreshed.stdout.str()
    assert checked(pytester, "--baseline", "base.json", "--fail-on-improvement").returncode == 0  # the new reference
    # A rule's key does the same for its rows; a real regression still blocks the save.
    results(CSV, cells={(10, "WWB, similarity"): "0.85", (9, "WWB, similarity"): "0.99"})
    mixed = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "base.json", "--compviz-save-baseline",
                "base.json", "--compviz-rule", "mode=*; fail-on-improvement=true")
    assert mixed.ret == pytest.ExitCode.TESTS_FAILED
    assert "baseline not saved to base.json: 1 gate failed" in mixed.stdout.str()  # the improvement is not counted


def test_a_baseline_without_metric_figures_or_with_bad_stderrs_never_crashes_or_widens_the_bar(pytester, results):
    with_stderr(results, acc_stderr="0.02", ppl_stderr="0.3")
    save_baseline(pytester.path, CSV, "--save-baseline", "base.json")
    document = json.loads((pytester.path / "base.json").read_text(encoding="utf-8"))
    for row in document["rows"]:  # an older or hand-made baseline: the derived figures only
        for column in ("lambada-openai, acc", "lambada-openai, acc stderr"):
            row.pop(column, None)
    (pytester.path / "stripped.json").write_text(json.dumps(document), encoding="utf-8")
    with_stderr(results, acc_stderr="0.02", ppl_stderr="0.3", cells={(10, "lambada-openai, acc"): "0.69"})
    stripped = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "stripped.json",
                   "--compviz-rule", "mode=*; significance=2")
    # No figure to measure the change's noise against: checked as without significance, and said.
    assert stripped.ret == pytest.ExitCode.TESTS_FAILED
    assert "INTERNALERROR" not in stripped.stdout.str()
    stripped.stdout.fnmatch_lines(["*no standard error is known for 9 rows*"])
    document["rows"][0]["lambada-openai, perplexity stderr"] = -1
    (pytester.path / "bad.json").write_text(json.dumps(document), encoding="utf-8")
    bad = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "bad.json")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "row 1: 'lambada-openai, perplexity stderr' must be a finite number >= 0 or null, not -1" in bad.stderr.str()


# --- found by the adversarial review ---------------------------------------------------------------

WORSE_40 = {(10, "WWB, similarity"): "0.85"}  # 40% int4: +1.5 pp


def test_an_xfail_on_the_rate_tolerance_does_not_hide_an_error_regression(pytester, results):
    results(CSV)
    save_baseline(pytester.path, CSV, "--save-baseline", "b.json")
    results(CSV, cells=WORSE_40)
    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "b.json", "--compviz-rule",
                 "mode=*; max-rate-decrease=0.05x; xfail=ISSUE-7")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # The eight rows that did not regress XPASS (their mark is out of date); the error regression
    # of 40% int4 fails plainly: a rate tolerance's xfail does not cover it.
    result.assert_outcomes(passed=1, failed=9)
    assert "xfailed" not in result.stdout.str()
    result.stdout.fnmatch_lines([f"{ROWS[10]}: since the baseline *average relative error 2.47% -> 4.00%*"])
    covered = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "b.json", "--compviz-rule",
                  "mode=*; max-error-increase=0.5%; xfail=ISSUE-8")
    covered.assert_outcomes(passed=1, failed=8, xfailed=1)  # ...but the rows that did not regress XPASS


def test_a_row_with_an_xfailed_check_is_not_saved_as_the_reference(pytester, results):
    results(CSV)
    save_baseline(pytester.path, CSV, "--save-baseline", "b.json")
    results(CSV, cells=WORSE_40)
    saved = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "b.json", "--compviz-save-baseline", "b.json",
                "--compviz-rule", "mode=int4 + awq + scale estimation; plot-name=40*; max-error-increase=0.5%;"
                " xfail=ISSUE-8")
    assert saved.ret == pytest.ExitCode.OK
    saved.stdout.fnmatch_lines(["*1 row not run (or xfailed) this time keeps its saved values*"])
    summary = (pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")
    assert f"| {ROWS[10]} | 4.0% | 4.8x |  | +1.53 pp, +0.00x | ⚠️ xfail |" in summary
    # Once the mark is dropped, the saved reference still holds the good figures.
    again = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "b.json")
    assert again.ret == pytest.ExitCode.TESTS_FAILED
    again.assert_outcomes(passed=9, failed=1)


def test_an_improvement_saved_with_a_deselected_check_keeps_that_rows_saved_values(pytester, results):
    results(CSV, cells=WORSE_40)
    save_baseline(pytester.path, CSV, "--save-baseline", "b.json")
    results(CSV)
    result = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "b.json", "--compviz-save-baseline",
                 "b.json", "--compviz-fail-on-improvement", "--compviz-rule", "mode=*; max-relative-error=2%",
                 "-k", "40 and regression")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    saved = {row["line"]: row for row in json.loads((pytester.path / "b.json").read_text(encoding="utf-8"))["rows"]}
    assert saved[10]["WWB, similarity"] == 0.85  # its max-relative-error did not run: not vouched for


def test_a_bound_never_uses_an_unvalidated_stderr_column(pytester, results):
    rows = results.rows()
    rows[0] += ["compression rate stderr", "my score", "my score stderr"]
    for row in rows[1:]:
        row += ["-100", "0.5", "-10"]
    results(CSV, rows=rows)
    result = run(pytester, "--compviz-input", CSV, "--compviz-rule",
                 "mode=int4; significance=2; bound=upper; min-compression-rate=10x; min:my score=0.9")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=2)


def test_a_regression_passed_as_noise_is_said_and_fails_under_strict(pytester, results):
    with_stderr(results, acc_stderr="0.02", ppl_stderr="0.3")
    save_baseline(pytester.path, CSV, "--save-baseline", "b.json")
    with_stderr(results, acc_stderr="0.02", ppl_stderr="0.3", cells={(10, "lambada-openai, acc"): "0.69"})
    rule = ("--compviz-rule", "mode=*; significance=2")
    noisy = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "b.json", *rule)
    assert noisy.ret == pytest.ExitCode.OK
    noisy.stdout.fnmatch_lines(["*error increases beyond the tolerance passed as noise (below the rule's significance):"
                                f" {ROWS[10]} (+0.7* pp, z = *"])
    # Strict fails the row's own regression check, so -k selecting that row alone still fails, and
    # compviz.json records the row as failed (not the file's schema item, which -k leaves out).
    strict = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "b.json", "--compviz-strict", *rule,
                 "-k", "40 and regression")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.assert_outcomes(failed=1, deselected=9)
    strict.stdout.fnmatch_lines([f"*{ROWS[10]}: since the baseline *; passed only as noise (below the rule's"
                                 " significance), which --compviz-strict fails (default tolerance)"])
    document = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text(encoding="utf-8"))
    assert {row["line"]: row["verdict"] for row in document["rows"]}[10] == "failed"


def test_a_stderr_beyond_half_a_bounded_metrics_range_is_refused(pytester, results):
    with_stderr(results, cells={(4, "lambada-openai, acc stderr"): "0.6"})  # points typed for a fraction
    result = run(pytester, "--compviz-input", CSV)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["llama2_asym.csv:4: column 'lambada-openai, acc stderr': must be at most 0.5, half"
                                 " the metric's range*"])


def test_a_bound_without_significance_for_some_rows_fails_that_file_in_one_line(pytester, results):
    results(CSV)
    result = run(pytester, "--compviz-input", CSV, "--compviz-rule", "mode=int8; significance=2",
                 "--compviz-rule", "bound=upper; max-relative-error=9%")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "Traceback" not in result.stdout.str() and "INTERRUPTED" not in result.stdout.str().upper()
    result.stdout.fnmatch_lines(["*--compviz-rule 2 *: bound = \"upper\" needs a significance (a z value, e.g. 2.0) in this"
                                 " rule or an earlier one matching the same rows"])


def test_an_xfail_pareto_check_that_passes_says_to_drop_the_mark(pytester, results):
    results(CSV)
    result = run(pytester, "--compviz-input", CSV, "--compviz-rule", "mode=*gptq; pareto=true; xfail=ISSUE-9",
                 "--compviz-rule", "mode=int4; pareto=true; xfail=ISSUE-10")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1, xfailed=1)  # gptq is on the front; data-free is dominated
    result.stdout.fnmatch_lines([f"{ROWS[2]}: on the Pareto front (*); expected to fail (ISSUE-9) but passes now:"
                                 " drop the rule's xfail (XPASS, strict)"])
