"""The commit a run records (compviz.json's ``git_commit``, a saved baseline's) is read from the
repository's files, not from a git process: each case is checked against ``git rev-parse HEAD``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import run

from pytest_compviz.baseline.document import git_commit


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@example.org", "HOME": str(folder), "PATH": "/usr/bin:/bin"})
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    (folder / "sub").mkdir()
    (folder / "sub" / "results.csv").write_text("a\n")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "first")
    git(folder, "commit", "-q", "--allow-empty", "-m", "second")
    return folder


def test_a_branch_from_the_work_tree_and_a_subfolder(repo):
    head = git(repo, "rev-parse", "HEAD")
    assert git_commit(repo) == head
    assert git_commit(repo / "sub") == head


def test_packed_refs_and_a_detached_head(repo):
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()  # only in packed-refs now
    assert git_commit(repo) == head
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert git_commit(repo) == git(repo, "rev-parse", "HEAD") != head


def test_a_linked_worktree_reads_its_own_head_through_the_common_folder(repo, tmp_path):
    git(repo, "branch", "older", "HEAD~1")
    git(repo, "worktree", "add", "-q", str(tmp_path / "other"), "older")
    assert (tmp_path / "other" / ".git").is_file()
    assert git_commit(tmp_path / "other") == git(repo, "rev-parse", "older") != git_commit(repo)


def test_no_checkout_and_no_commit_yet_record_none(tmp_path):
    assert git_commit(tmp_path) is None
    git(tmp_path, "init", "-q", "-b", "main")
    assert git_commit(tmp_path) is None  # an unborn branch


def test_a_run_records_its_commit_without_starting_a_process(pytester, results, monkeypatch):
    results("results.csv")
    git(pytester.path, "init", "-q", "-b", "main")
    git(pytester.path, "add", "results.csv")
    git(pytester.path, "commit", "-q", "-m", "results")
    started = []
    monkeypatch.setattr(subprocess.Popen, "__init__", lambda self, *args, **kwargs: started.append(args))
    result = run(pytester, "--compviz-input", "results.csv", "--compviz-rule", "max-relative-error=50%")
    monkeypatch.undo()
    assert result.ret == 0
    document = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text(encoding="utf-8"))
    assert document["git_commit"] == git(pytester.path, "rev-parse", "HEAD")
    assert started == []  # the plugin is a guest in the user's process: it starts none
