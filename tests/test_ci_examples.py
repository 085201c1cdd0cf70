"""The CI examples work as copied: they validate against the GitHub workflow and GitLab CI
schemas, and their gate commands run end to end (a main run that creates the baseline, then a
pull-request run that regresses and fails), with the runners' variables simulated.

Each example's shell step runs for real in bash (its variables, its `if`, the word splitting of
`$SAVE`); the `pytest` it calls is a stand-in first on PATH that records the arguments the shell
gave it, and pytest then runs in-process (pytester) with exactly those arguments. A subprocess
pytest would add ~2 s a run and nothing the example files decide: the plugin's entry point in a
fresh process is test_plugin.py's (its xdist and import runs)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NO_CACHE, CsvWriter

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BIN = Path(sys.executable).parent
GATES = '[tool.compviz]\n\n[[tool.compviz.rules]]\nmode = "*"\nmax-relative-error = "9%"\n'


def validate(schema: str, *names: str) -> tuple[int, str]:
    """check-jsonschema's command (its CLI, in-process: ~0.35 s of imports saved per file)."""
    from check_jsonschema import main
    from click.testing import CliRunner

    done = CliRunner().invoke(main, ["--builtin-schema", schema, *(str(EXAMPLES / name) for name in names)])
    return done.exit_code, done.output


@pytest.mark.parametrize(("schema", "name"), [("vendor.github-workflows", "github-actions.yml"),
                                               ("vendor.gitlab-ci", "gitlab-ci.yml"),
                                               ("vendor.github-workflows", "github-ci-loop.yml"),
                                               ("vendor.github-workflows", "github-comment.yml"),
                                               ("vendor.gitlab-ci", "gitlab-ci-loop.yml")])
def test_the_example_validates_against_its_ci_schema(schema, name):
    code, output = validate(schema, name)
    assert code == 0, output
    text = (EXAMPLES / name).read_text()
    if name == "github-comment.yml":  # the posting job never runs the pull request's code
        assert "actions/checkout" not in text and "workflow_run" in text
    if name == "github-ci-loop.yml":  # the job running the pull request's code cannot write
        assert "permissions:\n  contents: read\n\njobs" in text


def test_the_schema_check_fails_a_file_of_the_other_ci():
    """The check above can fail: a GitHub workflow is not a GitLab CI file."""
    code, output = validate("vendor.gitlab-ci", "github-actions.yml")
    assert code == 1, output
    assert "Schema validation errors were encountered" in output


def _load(name: str) -> dict:
    from ruamel.yaml import YAML  # comes with check-jsonschema

    return YAML(typ="safe").load((EXAMPLES / name).read_text())


class Runner:
    """The project a CI job checks out (pytester's folder), and its shell steps run in bash."""

    def __init__(self, pytester: pytest.Pytester, scratch: Path):
        self.pytester = pytester
        self.project = pytester.path
        (self.project / "results").mkdir()
        (self.project / "pyproject.toml").write_text(GATES)
        CsvWriter(self.project / "results")("llama2_asym.csv")
        subprocess.run(["git", "init", "-q", str(self.project)], check=True)
        self.shim = scratch / "shim"  # the stand-in `pytest`: records its arguments, one per NUL
        self.shim.mkdir()
        (self.shim / "pytest").write_text('#!/bin/sh\nprintf \'%s\\0\' "$@" > "$PYTEST_ARGV"\n')
        (self.shim / "pytest").chmod(0o755)
        self.argv_file = scratch / "argv"

    def step(self, command: str, env: dict[str, str]) -> pytest.RunResult:
        """``command`` in bash -e (as the runners run a step), then its pytest call in-process."""
        self.argv_file.unlink(missing_ok=True)
        path = f"{self.shim}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}"
        done = subprocess.run(["bash", "-e", "-c", command], cwd=self.project, capture_output=True, text=True,
                              timeout=60, env={**os.environ, **env, "PATH": path, "PYTEST_ARGV": str(self.argv_file)})
        assert done.returncode == 0, done.stdout + done.stderr  # every command before pytest worked
        argv = self.argv_file.read_bytes().decode().split("\0")[:-1]  # the step called pytest, once
        assert argv[:2] == ["--compviz-input", "results/llama2_asym.csv"], argv
        return self.pytester.runpytest(*argv, *NO_CACHE)

    def regress(self) -> None:
        CsvWriter(self.project / "results")("llama2_asym.csv", cells={(4, "WWB, similarity"): "0.6"})  # int4 worse


@pytest.mark.all_plugins  # the workflow asks for an HTML report: pytest-html, as in the CI it is copied to
def test_the_github_workflow_creates_a_baseline_on_main_and_fails_a_regressing_pull_request(
        pytester, tmp_path, monkeypatch):
    steps = {step.get("name"): step for step in _load("github-actions.yml")["jobs"]["gates"]["steps"]}
    gate = steps["Gate the results"]["run"]
    runner = Runner(pytester, tmp_path)
    project = runner.project
    cache = tmp_path / "actions-cache"  # what actions/cache save and restore keep between runs
    summary = tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))  # what the runner sets for the pytest it starts

    def run_on(ref: str) -> pytest.RunResult:
        on_main = ref == "refs/heads/main"
        command = gate.replace("${{ github.ref == 'refs/heads/main' && '--compviz-save-baseline baselines/main.json'"
                               " || '' }}", "--compviz-save-baseline baselines/main.json" if on_main else "")
        assert "${{" not in command
        if cache.exists():  # Restore main's baseline
            (project / "baselines").mkdir(exist_ok=True)
            shutil.copyfile(cache, project / "baselines" / "main.json")
        done = runner.step(command, {"GITHUB_REF": ref, "GITHUB_STEP_SUMMARY": str(summary)})
        if on_main and done.ret == 0:  # Publish the baseline for later runs
            shutil.copyfile(project / "baselines" / "main.json", cache)
        return done

    first = run_on("refs/heads/main")  # no baseline yet: passes and creates it
    assert first.ret == 0, str(first.stdout) + str(first.stderr)
    assert "no baseline yet; this run saved as baselines/main.json" in str(first.stdout)
    assert "no such file" not in str(first.stdout)
    assert "⚠️ no baseline yet; this run saved as baselines/main.json" in summary.read_text()
    assert cache.is_file() and (project / "compviz-report" / "report.html").is_file()
    assert (project / "compviz-report" / "junit.xml").is_file()

    runner.regress()
    pull_request = run_on("refs/pull/1/merge")
    assert pull_request.ret == 1, str(pull_request.stdout)
    assert "int4 (data-free): since the baseline (baselines/main.json" in str(pull_request.stdout)
    assert summary.read_text().count("# compviz:") == 2


@pytest.mark.all_plugins
def test_the_gitlab_job_creates_a_baseline_on_main_and_fails_a_regressing_merge_request(pytester, tmp_path):
    job = _load("gitlab-ci.yml")["compression-gates"]
    script = [line for line in job["script"] if not line.startswith(("pip install", "curl"))]
    assert len(script) == len(job["script"]) - 2  # only the install and the fetch are left to the runner
    runner = Runner(pytester, tmp_path)
    project = runner.project
    artifacts = tmp_path / "artifacts"  # the default branch's last passing job's artifacts

    def run_on(branch: str) -> pytest.RunResult:
        if (artifacts / "baselines" / "main.json").is_file():  # what the curl line fetches
            (project / "baselines").mkdir(exist_ok=True)
            shutil.copyfile(artifacts / "baselines" / "main.json", project / "baselines" / "main.json")
        done = runner.step("\n".join(script), {"CI_COMMIT_BRANCH": branch, "CI_DEFAULT_BRANCH": "main"})
        if branch == "main" and done.ret == 0:
            for path in job["artifacts"]["paths"]:
                source = project / path
                if source.is_file():
                    (artifacts / path).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, artifacts / path)
        return done

    first = run_on("main")
    assert first.ret == 0, str(first.stdout) + str(first.stderr)
    assert (artifacts / "baselines" / "main.json").is_file()
    assert (project / job["artifacts"]["reports"]["junit"]).is_file()

    runner.regress()
    merge_request = run_on("feature")
    assert merge_request.ret == 1, str(merge_request.stdout)
    assert "int4 (data-free): since the baseline (baselines/main.json" in str(merge_request.stdout)
    assert shlex.split(job["variables"]["COMPVIZ_PACKAGE"])  # a placeholder the reader replaces
