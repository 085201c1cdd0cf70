"""Beside the plugins real teams run, every report tells one story: pytest's counts, compviz.json,
summary.md and JUnit agree, for a passing and a failing run. Each plugin that is installed takes
part (they are not in the ``test`` extra: pytest-randomly seeds numpy, which loads it in every
run, and pytest-rerunfailures starts a thread, both of which other tests of this suite forbid);
two runs in all, with every available plugin active at once. The runs are subprocesses when a
plugin that changes the process it runs in is installed (pytest-randomly reseeds the random
generators, pytest-rerunfailures starts a thread, pytest-cov starts a tracer), and in-process
otherwise: pytest-html alone (the ``test`` extra's) changes nothing of the process, and a
subprocess costs ~2 s a run."""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ET

import pytest
from conftest import NO_CACHE

pytestmark = [pytest.mark.usefixtures("heavy_modules_loaded"), pytest.mark.all_plugins]  # beside the others

CSV = "llama2_asym.csv"

# plugin module -> what it adds to the command line
PLUGINS = {
    "pytest_randomly": (),  # active once installed: it reorders the items
    "pytest_rerunfailures": ("--reruns", "1"),
    "pytest_cov": ("--cov", "--cov-report="),
    "pytest_html": ("--html", "report.html"),
    "pytest_jsonreport": ("--json-report", "--json-report-file", "report.json"),
    "allure_pytest": ("--alluredir", "allure"),
    "pytest_github_actions_annotate_failures": (),
}
AVAILABLE = [name for name in PLUGINS if importlib.util.find_spec(name) is not None]
CHANGE_THE_PROCESS = {"pytest_randomly", "pytest_rerunfailures", "pytest_cov"}


@pytest.mark.parametrize("failing", [False, True], ids=["passing", "failing"])
def test_every_report_agrees_beside_the_available_plugins(pytester, results, monkeypatch, failing):
    if not AVAILABLE:
        pytest.skip("none of the plugins is installed")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # the annotation plugin writes only on GitHub
    results(CSV)
    limit = "8%" if failing else "9%"  # int4 (data-free) alone is above 8%: 8.5%
    extra = [arg for name in AVAILABLE for arg in PLUGINS[name]]
    runner = pytester.runpytest_subprocess if CHANGE_THE_PROCESS & set(AVAILABLE) else pytester.runpytest_inprocess
    result = runner(*NO_CACHE, "--compviz-input", CSV, "--junitxml", "junit.xml",
                    "--compviz-rule", f"max-relative-error={limit}", *extra)
    assert result.ret == (pytest.ExitCode.TESTS_FAILED if failing else pytest.ExitCode.OK)
    outcomes = result.parseoutcomes()
    passed, failed = outcomes.get("passed", 0), outcomes.get("failed", 0)
    assert (passed, failed) == ((9, 1) if failing else (10, 0))  # the schema item and 9 rows
    document = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text(encoding="utf-8"))
    entry = document["inputs"][0]
    assert (entry["gates passed"] + 1, entry["gates failed"], entry["gates not run"]) == (passed, failed, 0)
    assert document["outcome"] == ("failed" if failing else "passed")
    summary = (pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith(f"# compviz: {passed - 1} gates passed, {failed} failed\n")
    suite = ET.parse(pytester.path / "junit.xml").getroot().find("testsuite")
    assert (int(suite.get("tests")) - int(suite.get("failures")) - int(suite.get("errors")),
            int(suite.get("failures")), int(suite.get("errors"))) == (passed, failed, 0)
    if "pytest_jsonreport" in AVAILABLE:
        summary_json = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))["summary"]
        assert (summary_json.get("passed", 0), summary_json.get("failed", 0)) == (passed, failed)
    if "allure_pytest" in AVAILABLE:
        statuses = sorted(json.loads(path.read_text(encoding="utf-8"))["status"]
                          for path in (pytester.path / "allure").glob("*-result.json"))
        # Never "broken" (a plain exception); a rerun's first attempt is a result of its own.
        assert set(statuses) == ({"passed", "failed"} if failing else {"passed"})
        assert statuses.count("passed") == passed
    if "pytest_github_actions_annotate_failures" in AVAILABLE and failing:
        # At the row's line of the file (4), not at plugin code or line 1.
        annotation = f"::error file={CSV},line=4::max-relative-error of int4 (data-free)%0A"
        assert any(line.startswith(annotation) for line in result.stdout.lines + result.stderr.lines)
