"""The CI examples work as copied: they validate against the GitHub workflow and GitLab CI
schemas, and their gate commands run end to end (a main run that creates the baseline, then a
pull-request run that regresses and fails), with the runners' variables simulated."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CsvWriter

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BIN = Path(sys.executable).parent
GATES = '[tool.compviz]\n\n[[tool.compviz.rules]]\nmode = "*"\nmax-relative-error = "9%"\n'


@pytest.mark.parametrize(("schema", "name"), [("vendor.github-workflows", "github-actions.yml"),
                                               ("vendor.gitlab-ci", "gitlab-ci.yml")])
def test_the_example_validates_against_its_ci_schema(schema, name):
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(EXAMPLES / name)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _load(name: str) -> dict:
    from ruamel.yaml import YAML  # comes with check-jsonschema

    return YAML(typ="safe").load((EXAMPLES / name).read_text())


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "results").mkdir(parents=True)
    (project / "pyproject.toml").write_text(GATES)
    CsvWriter(project / "results")("llama2_asym.csv")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    return project


def _run(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(["bash", "-e", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PATH": path, "PYTHONDONTWRITEBYTECODE": "", **env})


def _regress(project: Path) -> None:
    CsvWriter(project / "results")("llama2_asym.csv", cells={(4, "WWB, similarity"): "0.6"})  # int4 worse


def test_the_github_workflow_creates_a_baseline_on_main_and_fails_a_regressing_pull_request(tmp_path):
    steps = {step.get("name"): step for step in _load("github-actions.yml")["jobs"]["gates"]["steps"]}
    gate = steps["Gate the results"]["run"]
    project = _project(tmp_path)
    cache = tmp_path / "actions-cache"  # what actions/cache save and restore keep between runs

    def run_on(ref: str) -> subprocess.CompletedProcess:
        on_main = ref == "refs/heads/main"
        command = gate.replace("${{ github.ref == 'refs/heads/main' && '--compviz-save-baseline baselines/main.json'"
                               " || '' }}", "--compviz-save-baseline baselines/main.json" if on_main else "")
        assert "${{" not in command
        if cache.exists():  # Restore main's baseline
            (project / "baselines").mkdir(exist_ok=True)
            shutil.copyfile(cache, project / "baselines" / "main.json")
        done = _run(command, project, {"GITHUB_REF": ref, "GITHUB_STEP_SUMMARY": str(tmp_path / "step.md")})
        if on_main and done.returncode == 0:  # Publish the baseline for later runs
            shutil.copyfile(project / "baselines" / "main.json", cache)
        return done

    first = run_on("refs/heads/main")  # no baseline yet: passes and creates it
    assert first.returncode == 0, first.stdout + first.stderr
    assert "no baseline yet; this run saved as baselines/main.json" in first.stdout
    assert "no such file" not in first.stdout
    assert "⚠️ no baseline yet; this run saved as baselines/main.json" in (tmp_path / "step.md").read_text()
    assert cache.is_file() and (project / "compviz-report" / "report.html").is_file()

    _regress(project)
    pull_request = run_on("refs/pull/1/merge")
    assert pull_request.returncode == 1, pull_request.stdout
    assert "int4 (data-free): since the baseline (baselines/main.json" in pull_request.stdout
    assert (tmp_path / "step.md").read_text().count("# compviz:") == 2


def test_the_gitlab_job_creates_a_baseline_on_main_and_fails_a_regressing_merge_request(tmp_path):
    job = _load("gitlab-ci.yml")["compression-gates"]
    script = [line for line in job["script"] if not line.startswith(("pip install", "curl"))]
    project = _project(tmp_path)
    artifacts = tmp_path / "artifacts"  # the default branch's last passing job's artifacts

    def run_on(branch: str) -> subprocess.CompletedProcess:
        if (artifacts / "baselines" / "main.json").is_file():  # what the curl line fetches
            (project / "baselines").mkdir(exist_ok=True)
            shutil.copyfile(artifacts / "baselines" / "main.json", project / "baselines" / "main.json")
        env = {"CI_COMMIT_BRANCH": branch, "CI_DEFAULT_BRANCH": "main"}
        done = _run("\n".join(script), project, env)
        if branch == "main" and done.returncode == 0:
            for path in job["artifacts"]["paths"]:
                source = project / path
                if source.is_file():
                    (artifacts / path).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, artifacts / path)
        return done

    first = run_on("main")
    assert first.returncode == 0, first.stdout + first.stderr
    assert (artifacts / "baselines" / "main.json").is_file()
    assert (project / job["artifacts"]["reports"]["junit"]).is_file()

    _regress(project)
    merge_request = run_on("feature")
    assert merge_request.returncode == 1, merge_request.stdout
    assert "int4 (data-free): since the baseline (baselines/main.json" in merge_request.stdout
    assert shlex.split(job["variables"]["COMPVIZ_PACKAGE"])  # a placeholder the reader replaces
