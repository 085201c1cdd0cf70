"""What each way a run can end leaves behind (docs/endings.md): through real runs, serial and,
where pytest-xdist's controller takes another path (a run it stops early), under xdist. Every test
starts from an earlier run's passing outputs in the folder, so an ending that writes nothing, or
writes half, is seen as the stale "passed" it would leave. The xdist run compared with the serial
run (--runxfail, ``--dist loadgroup`` ids among its inputs) is in test_xdist.py."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
from conftest import LLAMA2_ROWS_BY_LINE, NO_CACHE, run

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")

CSV = "llama2_asym.csv"
ROWS = LLAMA2_ROWS_BY_LINE
XFAIL_RULE = ("--compviz-rule", "mode=int4; max-relative-error=5%; xfail=ISSUE-7")  # data-free: 8.5%
DID_NOT_FINISH = "# compviz: incomplete: the run did not finish"


def report(pytester, name: str, folder: str = "compviz-report") -> str:
    return (pytester.path / folder / name).read_text(encoding="utf-8")


def document(pytester, folder: str = "compviz-report") -> dict:
    return json.loads(report(pytester, "compviz.json", folder))


def stale_pass(pytester, results) -> None:
    """An earlier run's passing outputs in compviz-report/."""
    results(CSV)
    assert run(pytester, "--compviz-input", CSV).ret == pytest.ExitCode.OK
    assert document(pytester)["outcome"] == "passed"


def test_runxfail_makes_a_rules_expected_failure_fail_and_never_saves(pytester, results):
    # Serial only: the failure is raised by the item, where it runs (an xdist worker too), and the
    # controller counts it as any failure; test_xdist.py's run has a rule's xfail under --runxfail.
    results(CSV)
    result = run(pytester, "--compviz-input", CSV, *XFAIL_RULE, "--runxfail", "--compviz-save-baseline", "base.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1)  # the schema; the rule's one check
    result.stdout.fnmatch_lines([f"{ROWS[4]}: average relative error 8.5% > 5.0% (--compviz-rule 1 *) (expected to"
                                 " fail: ISSUE-7; run as a failure by --runxfail)"])
    rows = {row["line"]: row["verdict"] for row in document(pytester)["rows"]}
    assert rows[4] == "failed" and document(pytester)["outcome"] == "failed"
    assert not (pytester.path / "base.json").exists()
    assert "baseline not saved to base.json: 1 gate failed" in report(pytester, "summary.md")


# Under xdist a stop is the controller's: it raises an interruption that is not a Ctrl-C, and the
# plugin tells the two apart by xdist's reason (hooks._stopped_early). -x stops on the controller's
# count of failures; --sw (xdist 3.6 and later) stops the worker, and the controller takes the
# worker's reason. --maxfail N is -x's path: pytest parses -x as maxfail=1 (checked below). One
# worker: the stop and its reason are the same with more. The serial -x is in test_ledger.py.
@pytest.mark.all_plugins  # xdist
@pytest.mark.parametrize("stop", [("-x",), ("--sw",)], ids=["x", "sw"])
def test_an_xdist_run_stopped_early_writes_its_outcome_over_the_earlier_pass(pytester, results, stop):
    if stop == ("-x",):
        assert pytester.parseconfig("-x").option.maxfail == pytester.parseconfig("--maxfail", "1").option.maxfail == 1
    stale_pass(pytester, results)
    # --sw needs pytest's cache (in the test's folder)
    result = pytester.runpytest("--compviz-input", CSV, "-n", "1", *stop, "--compviz-rule", "max-relative-error=3%")
    assert result.ret != pytest.ExitCode.OK
    if stop == ("-x",) or result.ret == pytest.ExitCode.INTERRUPTED:  # xdist 3.5 lets --sw's worker go on
        assert result.ret == pytest.ExitCode.INTERRUPTED  # xdist's stop
        result.stdout.fnmatch_lines(["*= compviz =*", "the run stopped early (*): the counts are of what ran"])
    found = document(pytester)
    entry = found["inputs"][0]
    assert found["outcome"] == "failed" and entry["gates failed"] >= 1
    # pytest's counts and compviz's agree, whatever the workers ran before the stop.
    outcomes = result.parseoutcomes()
    assert (entry["gates passed"], entry["gates failed"]) == (outcomes.get("passed", 0) - 1, outcomes["failed"])
    assert entry["gates passed"] + entry["gates failed"] + entry["gates not run"] == 9
    summary = report(pytester, "summary.md")
    assert summary.startswith(f"# compviz: {entry['gates passed']} gate")
    assert "❌ FAIL" in summary


def test_a_failed_save_is_in_compviz_json_summary_md_and_the_step_summary(pytester, results, monkeypatch):
    step = pytester.path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    results(CSV)
    (pytester.path / "other.json").write_text('{"a": 1}', encoding="utf-8")  # another tool's file
    result = run(pytester, "--compviz-input", CSV, "--compviz-save-baseline", "other.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    line = "baseline not saved: other.json: exists but is not a pytest-compviz run; not overwritten"
    result.stdout.fnmatch_lines([f"error: {line}"])
    assert document(pytester)["outcome"] == "failed"
    assert f"❌ {line}" in report(pytester, "summary.md")
    assert f"❌ {line}" in step.read_text(encoding="utf-8")
    assert (pytester.path / "other.json").read_text(encoding="utf-8") == '{"a": 1}'


def test_inputs_outside_the_rootdir_get_distinct_file_named_ids(pytester, results):
    results("a/r.csv")
    results("b/r.csv")
    (pytester.path / "proj").mkdir()
    (pytester.path / "proj" / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    result = pytester.runpytest(*NO_CACHE, "--rootdir", "proj", "-c", "proj/pytest.ini", "--collect-only", "-q",
                                "--compviz-input", "a/r.csv", "--compviz-input", "b/r.csv",
                                "--compviz-rule", "mode=int4; max-relative-error=5%")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert "../a/r.csv::schema" in ids and "../b/r.csv::schema" in ids
    assert f"../a/r.csv::{ROWS[4]}::max-relative-error" in ids
    assert len(ids) == len(set(ids)) == 4


def test_a_failure_is_an_assertion_and_an_invalid_file_points_at_its_problems_line(pytester, results):
    results(CSV, cells={(5, "model size, Gb"): "abc"})
    result = run(pytester, "--compviz-input", CSV, "--junitxml", "junit.xml", "-o", "junit_family=xunit1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    case = ET.parse(pytester.path / "junit.xml").getroot().find(".//testcase")
    assert case.get("line") == "4"  # 0-based, as pytest reports locations: file line 5
    failure = case.find("failure")
    assert failure is not None and case.find("error") is None


def test_a_check_failure_is_an_assertion_error_for_report_consumers(pytester, results):
    results(CSV)
    pytester.makeconftest("""
        def pytest_runtest_makereport(item, call):
            if call.excinfo is not None and call.when == "call":
                print("RAISED", call.excinfo.type.__mro__[1].__name__)
    """)
    result = run(pytester, "--compviz-input", CSV, "--compviz-rule", "mode=int4; max-relative-error=5%", "-s")
    result.stdout.fnmatch_lines(["*RAISED AssertionError*"])


def test_ctrl_c_while_drawing_is_recorded_and_the_summaries_still_written(pytester, results, monkeypatch):
    # Serial only: the controller of an xdist run draws in the same pytest_sessionfinish, after the
    # same checks of the exit status (no stop, no interruption until the drawing), so the Ctrl-C
    # is met by the same code; its counts come from the workers' reports, which test_xdist.py checks.
    stale_pass(pytester, results)
    from pytest_compviz.report import artifacts

    def interrupted(job):
        raise KeyboardInterrupt

    monkeypatch.setattr(artifacts, "render_plots", interrupted)
    result = run(pytester, "--compviz-input", CSV, "--compviz-rule", "max-relative-error=9%")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*= compviz =*", "the run was interrupted while drawing: not every table and plot"
                                 " was written (those written are listed)"])
    assert document(pytester)["outcome"] == "was interrupted"
    assert report(pytester, "summary.md").startswith("# compviz: 9 gates passed, 0 failed (the run was interrupted)")


def test_a_plot_that_fails_costs_neither_the_table_nor_the_summaries(pytester, results, monkeypatch):
    results(CSV)
    from pytest_compviz.report import artifacts

    def broken(job):
        raise RuntimeError("font cache")

    monkeypatch.setattr(artifacts, "render_plots", broken)
    result = run(pytester, "--compviz-input", CSV)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["error: llama2_asym.csv: plot not written: RuntimeError: font cache"])
    assert (pytester.path / "compviz-report" / "llama2_asym.md").is_file()
    assert document(pytester)["inputs"][0]["artifacts"] == ["llama2_asym.md"]


def test_a_third_party_deprecation_while_drawing_under_W_error_costs_nothing(pytester, results, monkeypatch):
    results(CSV)
    import warnings

    from pytest_compviz.report import artifacts

    original = artifacts.trade_off_figure

    def warning(*args, **kwargs):
        warnings.warn("a library's deprecation", DeprecationWarning, stacklevel=2)
        return original(*args, **kwargs)

    monkeypatch.setattr(artifacts, "trade_off_figure", warning)
    result = run(pytester, "--compviz-input", CSV, "-W", "error", "--compviz-rule", "max-relative-error=9%")
    assert result.ret == pytest.ExitCode.OK
    assert document(pytester)["inputs"][0]["artifacts"] == ["llama2_asym.md", "llama2_asym.png"]


# --- subprocesses: a kill and a signal are the point ---------------------------------------------

# The run's record is written summary.md first, then compviz.json. A kill -9 writes nothing: what
# it leaves is the folder as it is at that moment. So one process shows both kills: at the end's
# write of summary.md the folder is copied (what a kill there leaves), and at the end's write of
# compviz.json the process is killed.
KILL_AT = """
import os, shutil, signal
from pytest_compviz.report import outputs

_write = outputs.atomic_write
_seen = []

def killing(path, data):
    _seen.append(path.name)
    if _seen.count(path.name) == 2:  # not the start's "did not finish" record: the end's
        if path.name == "summary.md":
            shutil.copytree(path.parent, path.parent.with_name("killed-at-summary"))
        elif path.name == "compviz.json":
            os.kill(os.getpid(), signal.SIGKILL)
    _write(path, data)

outputs.atomic_write = killing
"""


@pytest.mark.draws  # the killed run's plot is drawn in a fresh process: it must be this process's, byte for byte
def test_kill_9_while_writing_leaves_a_record_that_says_the_run_did_not_finish(pytester, results):
    stale_pass(pytester, results)
    drawn_here = (pytester.path / "compviz-report" / "llama2_asym.png").read_bytes()
    (pytester.path / "compviz-report" / "llama2_asym.png").write_bytes(b"the earlier run's plot")
    pytester.makeconftest(KILL_AT)
    result = pytester.runpytest_subprocess(*NO_CACHE, "--compviz-input", CSV, "-p", "no:html")
    assert result.ret == -signal.SIGKILL
    assert (pytester.path / "killed-at-summary").is_dir(), (
        "no copy: summary.md was not written twice (the start's record, then the end's) before compviz.json's end")
    for folder in ("killed-at-summary", "compviz-report"):  # killed while writing summary.md; compviz.json
        assert (pytester.path / folder / "llama2_asym.png").read_bytes() == drawn_here, (
            f"{folder}: not this run's plot, or plots are not the same across processes (test_cli.py relies on this)")
        found = document(pytester, folder)
        assert found["outcome"] == "did not finish" and found["rows"] == [], folder
        assert found["previous artifacts"] == [{"file": CSV, "artifacts": ["llama2_asym.md", "llama2_asym.png"]}]
    assert report(pytester, "summary.md", "killed-at-summary").startswith(DID_NOT_FINISH)
    # Killed between the two: summary.md is this run's, and compviz.json, the one read as a baseline, says unfinished.
    assert report(pytester, "summary.md").startswith("# compviz: 0 gates passed, 0 failed")
    assert report(pytester, "compviz.json") == report(pytester, "compviz.json", "killed-at-summary")
    (pytester.path / "conftest.py").unlink()  # the killing conftest must not load into this process
    refused = run(pytester, "--compviz-input", CSV, "--compviz-baseline", "compviz-report/compviz.json")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*is the output of a run that did not finish; a baseline must be a run that passed"])


def test_compviz_on_ctrl_c_prints_one_line_and_exits_130(tmp_path, llama2_csv):
    from pytest_compviz import cli

    process = subprocess.Popen([sys.executable, "-c", "from pytest_compviz.cli import main; raise SystemExit(main())",
                                str(llama2_csv), "-o", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    # Interrupted once its output folder says it started (while it reads, gates or draws).
    while not (tmp_path / "out" / "summary.md").exists() and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    if process.returncode == 0:  # finished before the signal arrived: nothing to check here
        pytest.skip("the run finished before the signal")
    assert (process.returncode, err) == (cli.EXIT_INTERRUPTED, "compviz: interrupted\n")
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith(DID_NOT_FINISH) or "(the run was interrupted)" in summary.splitlines()[0]


@pytest.mark.parametrize("reason, stopped_early", [
    ("stopping after 1 failures", "stopping after 1 failures"),  # -x / --maxfail: the controller's count
    ("[gw0] node down: keyboard-interrupt", None),
    ("<WorkerController gw1> received keyboard-interrupt", None),  # xdist's words for Ctrl-C in a worker
    ("", None),
    (None, None),
])
def test_a_ctrl_c_that_reached_an_xdist_worker_is_an_interruption_not_an_early_stop(pytester, reason, stopped_early):
    # No test can send a Ctrl-C to an xdist worker reliably: the decision on xdist's reason is checked alone.
    from types import SimpleNamespace

    from pytest_compviz.plugin.hooks import _stopped_early

    config = pytester.parseconfig()
    config.pluginmanager.register(SimpleNamespace(shouldstop=reason), "dsession")
    assert _stopped_early(config) == stopped_early
