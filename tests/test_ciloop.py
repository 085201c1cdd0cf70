"""The CI loop end to end in a scratch git repository: runs on main build the history, a pull
request's run compares with its merge base (not the newest main run), the window gate catches slow
drift and gates a zero-variance history, concurrent saves lose nothing, comment.md is written and
posted to a local stand-in of GitHub's REST endpoints. Faces in-process (compviz's main, pytester);
the trend plot is a stand-in except in the test that decodes it; the window tests' histories are one
real run's record, moved (the window gate reads records only)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pandas  # noqa: F401 - loaded once here: in-process pytester runs drop modules they import, and numpy cannot load twice
import pytest
from conftest import NO_CACHE, STAND_IN_SIGNATURE, CsvWriter

from pytest_compviz.cli import main
from pytest_compviz.core.window import Point, window_verdict
from pytest_compviz.history.store import append_record, bounded, read_history
from pytest_compviz.report.comment import LIMIT, MARKER, comment_markdown
from pytest_compviz.spec import ERROR

GPTQ_LINE = 2  # the gptq row of llama2_asym.csv: error 4.136%
SIMILARITY = 0.8840730565565603  # its WWB similarity; error moves by -Δsimilarity / 4
RULES = '[tool.compviz]\nhistory = "hist"\n[[tool.compviz.rules]]\nmode = "*"\nmax-relative-error = "20%"\n'
CI_VARIABLES = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "GITHUB_HEAD_REF",
                "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "GITHUB_STEP_SUMMARY")


class Repo:
    def __init__(self, folder: Path):
        self.folder = folder
        self.csv = CsvWriter(folder)
        self.commits = 0
        self.git("init", "-q", "-b", "main")  # its author: GIT_AUTHOR_NAME and the others (the fixtures)
        (folder / "pyproject.toml").write_text(RULES)

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.folder, check=True, capture_output=True,
                              text=True).stdout.strip()

    def commit(self, error_rise_pp: float = 0.0) -> str:
        """Commit results whose gptq row's error is ``error_rise_pp`` points above the file's."""
        self.csv("r.csv", cells={(GPTQ_LINE, "WWB, similarity"): repr(SIMILARITY - 4 * error_rise_pp / 100)})
        self.git("add", "r.csv", "pyproject.toml")
        # A number of its own: two commits of one tree, parent and message made in the same second
        # would be one commit (the same hash), and a run recorded for one would be the other's.
        self.commits = getattr(self, "commits", 0) + 1
        self.git("commit", "-q", "--allow-empty", "-m", f"rise {error_rise_pp} ({self.commits})")
        return self.git("rev-parse", "HEAD")

    def history(self, capsys, rises: tuple[float, ...], *args: str) -> None:
        """Main's runs of results whose gptq row's error is each of ``rises`` points above the file's,
        on a commit each: the first run for real, the others its record with that row's similarity
        and error moved as a run of that commit's file records them (the same figures to 1e-17). For
        the window gate, which reads records only: a run each would be ~0.05 s more."""
        self.commit(rises[0])
        assert compviz(capsys, *args)[0] == 0
        (real,) = read_history(self.folder / "hist", "hist")
        for rise in rises[1:]:
            rows = [dict(row) for row in real["rows"]]
            (gptq,) = [row for row in rows if row["mode"].endswith("gptq")]
            gptq["WWB, similarity"] = SIMILARITY - 4 * rise / 100
            gptq[ERROR] += (rise - rises[0]) / 100
            append_record(self.folder / "hist", "hist", {**real, "commit": self.commit(rise), "rows": rows}, keep=1000)


def git_author(monkeypatch) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "ci")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ci@example.org")


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Repo:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    git_author(monkeypatch)
    monkeypatch.chdir(tmp_path)
    return Repo(tmp_path)


def compviz(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["r.csv", "-o", "out", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_pull_request_is_compared_with_its_merge_base_not_the_newest_main_run(repo, capsys, monkeypatch):
    repo.commit(0.0)
    assert compviz(capsys)[0] == 0
    base = repo.commit(0.0)
    assert compviz(capsys)[0] == 0
    repo.git("checkout", "-q", "-b", "pr")
    repo.git("checkout", "-q", "main")
    repo.commit(-2.0)  # main moves on and gets much better: compared with it, the pull request would fail
    assert compviz(capsys)[0] == 0
    repo.git("checkout", "-q", "pr")
    repo.commit(0.3)  # within the 0.5 pp tolerance of its merge base
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    code, out, err = compviz(capsys, "--compare", "base")
    assert (code, err) == (0, "")
    assert "baseline: the merge base of HEAD and main in history hist, " in out
    assert f"commit {base[:10]}" in out

    repo.commit(1.0)  # now worse than the merge base by 1 pp
    code, out, err = compviz(capsys, "--compare", "base")
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1
    assert failed[0].startswith("FAILED r.csv: regression of int4 + awq + scale estimation + gptq (gptq): since the"
                                " baseline (the merge base of HEAD and main in history hist, ")
    assert f"commit {base[:10]}): average relative error 4.14% -> 5.14% (+1.00 pp" in failed[0]
    records = read_history(repo.folder / "hist", "hist")
    assert [r["branch"] for r in records] == ["main", "main", "main", "pr", "pr"]
    assert [r["outcome"] for r in records] == ["passed"] * 4 + ["failed"]
    assert all(r["merge base"] == base for r in records[3:])


def test_a_merge_base_without_a_passing_run_walks_back_and_says_why(repo, capsys, monkeypatch):
    first = repo.commit(0.0)
    assert compviz(capsys)[0] == 0
    repo.commit(0.0)  # main's head: never run
    repo.git("checkout", "-q", "-b", "pr")
    repo.commit(0.0)
    code, out, _ = compviz(capsys, "--compare", "base", "--compare-branch", "main")
    assert code == 0
    assert (f"baseline: 1 commit before the merge base of HEAD and main {repo.git('rev-parse', 'main')[:10]} in history"
            f" hist ({repo.git('rev-parse', 'main')[:10]}: no run recorded)") in out
    assert f"commit {first[:10]}" in out
    code, _, err = compviz(capsys, "--compare", "base", "--compare-branch", "main", "--compare-depth", "1")
    assert code == 0  # depth 1 still reaches it
    repo.git("checkout", "-q", "main")
    repo.commit(0.0)
    repo.commit(0.0)
    repo.git("checkout", "-q", "-b", "pr2")
    code, _, err = compviz(capsys, "--compare", "base", "--compare-branch", "main", "--compare-depth", "1")
    assert code == 2
    assert err.startswith("compviz: error: --compviz-compare base: no passing run of the merge base of HEAD and main")


def test_compare_needs_a_history_and_a_base_branch(repo, capsys):
    repo.commit()
    (repo.folder / "pyproject.toml").write_text(RULES.replace('history = "hist"\n', ""))
    code, _, err = compviz(capsys, "--compare", "base")
    assert (code, err) == (2, "compviz: error: --compare needs a history of runs: give --history DIR"
                              " (or [tool.compviz] history)\n")
    code, _, err = compviz(capsys, "--history", "h", "--compare", "base")
    assert code == 2
    assert err == ("compviz: error: --compviz-compare base: no pull-request base branch known (GITHUB_BASE_REF and"
                   " CI_MERGE_REQUEST_TARGET_BRANCH_NAME are not set): name it with --compviz-compare-branch BRANCH\n")


def test_previous_is_the_newest_passing_run_of_the_branch(repo, capsys):
    repo.commit(0.0)
    assert compviz(capsys)[0] == 0
    repo.commit(3.0)
    assert compviz(capsys, "--compare", "previous")[0] == 1  # 3 pp worse: fails, and is recorded as failed
    code, out, _ = compviz(capsys, "--compare", "previous")
    assert code == 1  # still compared with the last passing run, not with the failed one
    assert "the previous passing run of branch main in history hist (1 newer run failed)" in out


def test_slow_drift_is_caught_by_the_window_gate(repo, capsys):
    repo.history(capsys, (0.0, 0.02, -0.02, 0.01, 0.0, -0.01))  # main's history: stable, with a little scatter
    repo.commit(0.3)  # within the 0.5 pp tolerance of the previous run...
    code, out, _ = compviz(capsys, "--window", "8", "--compare", "previous")
    assert code == 1  # ...but far beyond what six stable runs predict
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1
    assert failed[0].startswith("FAILED r.csv: window of int4 + awq + scale estimation + gptq (gptq): window gate"
                                " (prediction interval: t = 3.36; 99% one-sided; last 6 passing runs ")
    assert "error 4.44% > bound 4.19%" in failed[0]
    repo.commit(0.6)  # the failed run did not join the window: the next step is caught too
    assert compviz(capsys, "--window", "8", "--compare", "previous")[0] == 1


def test_a_zero_variance_history_still_gates(repo, capsys):
    repo.history(capsys, (0.0,) * 5, "--window", "5")  # the same figures every run: no spread
    repo.commit(0.05)
    code, out, _ = compviz(capsys, "--window", "5")
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1, out  # the other rows' figures are the history's own: no spread, and they pass
    assert failed[0].startswith("FAILED r.csv: window of int4 + awq + scale estimation + gptq (gptq): window gate"
                                " (stderr check: no variance over 5 runs; 99% one-sided; last 5 passing runs"), failed
    assert "error 4.19% > bound 4.14%" in failed[0]


def test_window_verdicts_never_lack_a_bound():
    assert window_verdict([], 0.05, None) is None  # a new configuration: nothing to predict from
    few = window_verdict([Point("a", 0.04, 0.001), Point("b", 0.041, 0.001)], 0.05, 0.001)
    assert (few.method, few.why) == ("stderr check", "2 runs, fewer than 4")
    assert not few.passed
    flat = window_verdict([Point(str(i), 0.04) for i in range(6)], 0.04, None)
    assert (flat.method, flat.bound, flat.passed) == ("stderr check", 0.04, True)
    assert not window_verdict([Point(str(i), 0.04) for i in range(6)], 0.0401, None).passed
    noisy = window_verdict([Point(str(i), 0.04 + d) for i, d in enumerate((0.001, -0.001, 0.0005, 0))], 0.043, 0.0)
    assert noisy.method == "prediction interval" and noisy.passed  # 4.3% within its t-based bound


def _record(number: int, configs: int = 3) -> dict:
    rows = [{"input": "r.csv", "model": "m", "own model": True, "mode": f"int4 {c}", "%int4": 1.0, "%int8": 0.0,
             "lora rank": None, "average relative error": 0.01 * number, "compression rate": 4.0, "verdict": "passed"}
            for c in range(configs)]
    return {"schema": "pytest-compviz/history", "version": 1, "time": "t", "commit": f"{number:040x}",
            "branch": "main", "merge base": None, "outcome": "passed", "inputs": [], "rows": rows}


def test_the_history_keeps_the_newest_runs_of_each_configuration_and_skips_a_torn_line(tmp_path):
    for number in range(7):
        append_record(tmp_path / "h", "h", _record(number), keep=4)
    records = read_history(tmp_path / "h", "h")
    assert [r["commit"][-1] for r in records] == ["3", "4", "5", "6"]
    assert bounded([_record(1, 2), _record(2, 1)], keep=1) == [{**_record(1, 2), "rows": _record(1, 2)["rows"][1:]},
                                                                  _record(2, 1)]
    with (tmp_path / "h" / "runs.jsonl").open("ab") as handle:
        handle.write(b'{"schema": "pytest-compviz/hist')  # a writer killed mid-line
    assert len(read_history(tmp_path / "h", "h")) == 4
    append_record(tmp_path / "h", "h", _record(8), keep=10)
    assert [r["commit"][-1] for r in read_history(tmp_path / "h", "h")] == ["3", "4", "5", "6", "8"]
    (tmp_path / "h" / "runs.jsonl").write_text('{"schema": "other"}\n')
    with pytest.raises(Exception, match=r'^history h/runs.jsonl:1: not a pytest-compviz history record'):
        read_history(tmp_path / "h", "h")


# The writers call the saving function only (a run's imports would be ~1 s a process). Each waits for
# the go file, so the two append at the same time: a process's start-up (~0.15 s) is longer than
# its 40 appends. Without the lock, 20-40 of the 80 records were lost in each of 15 tries.
WRITER = """
import json, sys, time
from pathlib import Path
from pytest_compviz.history.store import append_record
folder, name, go, record = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), json.loads(sys.argv[4])
(folder.parent / ("ready-" + name)).touch()
while not go.exists():
    time.sleep(0.001)
for n in range(40):
    append_record(folder, "h", {**record, "commit": f"{name}-{n}"}, keep=1000)
"""


def test_concurrent_saves_lose_nothing(tmp_path):
    go = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "h"), name, str(go),
                                 json.dumps(_record(1))]) for name in ("a", "b")]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{name}").exists() for name in ("a", "b")):
            assert time.monotonic() < deadline and all(writer.poll() is None for writer in writers), "a writer died"
            time.sleep(0.002)
        go.touch()
        assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    finally:
        for writer in writers:
            writer.kill()
    commits = [record["commit"] for record in read_history(tmp_path / "h", "h")]
    assert sorted(commits) == sorted(f"{name}-{n}" for name in ("a", "b") for n in range(40))


# --- comment.md and its posting ------------------------------------------------------------------


def test_comment_md_puts_failures_first_and_is_posted_once_then_updated(repo, capsys, monkeypatch):
    repo.commit(0.0)
    assert compviz(capsys)[0] == 0  # main's run: the base, and the charts' first point
    repo.git("checkout", "-q", "-b", "pr")
    repo.commit(1.0)
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    assert compviz(capsys, "--compare", "base")[0] == 1
    assert main(["comment", "--report", "out", "--history", "hist", "-o", "comment.md"]) == 0
    text = (repo.folder / "comment.md").read_text()
    assert text.startswith(MARKER + "\n## ❌ Compression gates: 17 passed, 1 failed (run failed)\n")
    assert text.index("### Failures") < text.index("### Against the base") < text.index("```mermaid")
    assert "- meta-llama_Llama-2-7b-chat-hf: int4 + awq + scale estimation + gptq (gptq): since the base" in text
    assert "| meta-llama_Llama-2-7b-chat-hf: int4 + awq + scale estimation + gptq (gptq) | 5.14% | +1.00 pp |" in text

    comments, calls = [], []

    class GitHub(BaseHTTPRequestHandler):  # issues/N/comments (GET, POST), issues/comments/ID (PATCH)
        def _reply(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self):
            return json.loads(self.rfile.read(int(self.headers["Content-Length"])))["body"]

        def do_GET(self):
            calls.append(("GET", self.path, self.headers["Authorization"]))
            self._reply(200, comments if "page=1" in self.path else [])

        def do_POST(self):
            calls.append(("POST", self.path, self.headers["Authorization"]))
            comments.append({"id": 7 + len(comments), "body": self._body(), "user": {"login": "github-actions[bot]"}})
            self._reply(201, {"html_url": f"http://x/{comments[-1]['id']}"})

        def do_PATCH(self):
            calls.append(("PATCH", self.path, self.headers["Authorization"]))
            target = next(c for c in comments if self.path.endswith(f"/{c['id']}"))
            target["body"] = self._body()
            self._reply(200, {"html_url": f"http://x/{target['id']}"})

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), GitHub)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        api = f"http://127.0.0.1:{server.server_port}"
        capsys.readouterr()
        monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
        comments.append({"id": 1, "body": MARKER + " quoted by a person", "user": {"login": "someone"}})
        post = ["comment", "post", "comment.md", "--repo", "org/proj", "--pr", "12", "--api", api]
        assert main(post) == 0
        assert capsys.readouterr().err == "compviz comment post: created http://x/8\n"
        assert main(post) == 0
        assert capsys.readouterr().err == "compviz comment post: updated http://x/8\n"
        assert [c["id"] for c in comments] == [1, 8] and comments[1]["body"] == text
        assert comments[0]["body"] == MARKER + " quoted by a person"  # another user's comment is never edited
        assert {auth for *_, auth in calls} == {"Bearer t0ken"}
        assert [(method, path) for method, path, _ in calls] == [
            ("GET", "/repos/org/proj/issues/12/comments?per_page=100&page=1"), ("POST", "/repos/org/proj/issues/12/comments"),
            ("GET", "/repos/org/proj/issues/12/comments?per_page=100&page=1"), ("PATCH", "/repos/org/proj/issues/comments/8")]
        (repo.folder / "evil.md").write_text("hello")
        assert main(["comment", "post", "evil.md", "--repo", "org/proj", "--pr", "12", "--api", api]) == 2
        assert "is not a pytest-compviz comment" in capsys.readouterr().err
    finally:
        server.shutdown()
        server.server_close()


def test_a_comment_stays_under_githubs_limit_keeping_failures_first():
    rows = [{"model": "m", "mode": f"int4 {n}", "%int4": 1.0, "%int8": 0.0, "verdict": "failed",
             "average relative error": 0.05, "compression rate": 4.0,
             "gates": [{"status": "failed", "message": f"m: int4 {n}: " + "x" * 200}],
             "regression": {"baseline error": 0.04, "baseline rate": 4.0, "error delta": 0.01, "rate delta": 0.0,
                            "max error increase": 0.005, "status": "passed"}} for n in range(2000)]
    text = comment_markdown({"outcome": "failed", "inputs": [], "rows": rows, "baseline": "b"})
    assert len(text) <= LIMIT
    assert "### Failures" in text and "more: see summary.md in the artifact" in text
    assert "cut to stay within GitHub's 65,536-character limit" in text


# --- the pytest face -----------------------------------------------------------------------------


def test_the_plugin_records_and_compares_with_the_merge_base(pytester, monkeypatch):
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    git_author(monkeypatch)
    repo = Repo(pytester.path)
    repo.commit(0.0)
    args = ["--compviz-input", "r.csv", "--compviz-output-dir", "out", "--compviz-no-step-summary", *NO_CACHE]
    pytester.runpytest(*args).assert_outcomes(passed=10)
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "pr")
    repo.commit(1.0)
    result = pytester.runpytest(*args, "--compviz-compare", "base", "--compviz-compare-branch", "main")
    result.assert_outcomes(passed=18, failed=1)
    result.stdout.fnmatch_lines([f"int4 + awq + scale estimation + gptq (gptq): since the baseline (the merge base of HEAD and main in history hist, *,"
                                 f" commit {base[:10]}): average relative error 4.14% -> 5.14%*"])
    trend = (pytester.path / "out" / "meta-llama_Llama-2-7b-chat-hf.trend.png").read_bytes()
    assert trend.startswith(STAND_IN_SIGNATURE + b"trend ")  # drawn for real below
    assert "### Step changes" in (pytester.path / "out" / "summary.md").read_text()
    result = pytester.runpytest(*args, "--compviz-compare", "base")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: compviz: --compviz-compare base: no pull-request base branch known*"])
    result = pytester.runpytest(*args, "--compviz-window", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*error: argument --compviz-window: '0': must be at least 1, not 0"])


@pytest.mark.draws
def test_the_trend_plot_draws_each_configuration_over_the_runs_and_failed_runs_as_red_crosses():
    import io

    import matplotlib.image

    from pytest_compviz.report.trend import draw_trend, trends

    records = [_record(n) for n in range(1, 5)]
    for row in records[1]["rows"]:
        row["average relative error stderr"] = 0.002  # a band around that run
    records[-1] = {**records[-1], "outcome": "failed", "rows": [{**row, "verdict": "failed"}
                                                                for row in records[-1]["rows"]]}
    series = trends(records)["m"]
    assert [len(s.errors) for s in series] == [4, 4, 4]
    drawn = draw_trend("m", series, records)
    assert draw_trend("m", series, records) == drawn  # the same history, the same bytes (as its docstring says)
    image = matplotlib.image.imread(io.BytesIO(drawn), format="png")
    assert image.shape[:2] == (650, 1300)  # 13 x 6.5 inches at 100 dpi
    red = (abs(image[..., 0] - 0xd6 / 255) < 0.02) & (abs(image[..., 1] - 0x27 / 255) < 0.02) & (
        abs(image[..., 2] - 0x28 / 255) < 0.02)  # tab:red: only the failed runs' crosses (the lines are tab10's first three)
    assert red.sum() > 50


# --- what a recorded run must hold to be compared with (found by the adversarial review) -----------


def test_a_run_of_another_input_in_the_same_history_is_never_the_base(repo, capsys):
    """A second CI job on the same commit gating another CSV into the same history: it is not this
    input's base, so the pull request's 3 pp rise is still compared with r.csv's own run."""
    repo.commit(0.0)
    assert compviz(capsys)[0] == 0
    (repo.folder / "s.csv").write_text((repo.folder / "r.csv").read_text())
    from pytest_compviz.cli import main

    assert main(["s.csv", "-o", "out2"]) == 0  # newer than r.csv's run on the same commit
    capsys.readouterr()
    repo.git("checkout", "-q", "-b", "pr")
    repo.commit(3.0)
    code, out, err = compviz(capsys, "--compare", "base", "--compare-branch", "main")
    assert code == 1, (out, err)
    assert "regression of" in out and "holds no rows" not in err


def test_a_run_recorded_with_other_metrics_is_not_compared_with(repo, capsys):
    repo.commit(0.0)
    assert compviz(capsys)[0] == 0
    repo.git("checkout", "-q", "-b", "pr")
    (repo.folder / "pyproject.toml").write_text(RULES + METRICS_WITHOUT_SIMILARITY)
    repo.commit(0.0)
    code, out, err = compviz(capsys, "--compare", "base", "--compare-branch", "main")
    assert code == 2, (out, err)
    assert "no passing run of the merge base" in err
    assert "saved with the metrics" in err


METRICS_WITHOUT_SIMILARITY = "".join(
    f'[[tool.compviz.metrics]]\ncolumn = "{column}"\ndirection = "{direction}"\n' for column, direction in (
        ("lambada-openai, acc", "higher"), ("lambada-openai, perplexity", "lower"),
        ("wikitext, word perplexity", "lower")))
