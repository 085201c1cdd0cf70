"""What git and the CI runner say about this run: its commit and branch, the pull request's target
branch and the merge base with it, and a commit's ancestors. Every question is one short ``git``
call; outside a git work tree (or without git) the answers are None."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Where the CI runners name a pull request's branches (GitHub Actions, GitLab CI).
BASE_BRANCH_VARIABLES = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
BRANCH_VARIABLES = ("GITHUB_HEAD_REF", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME")


@dataclass(frozen=True)
class GitFacts:
    commit: str | None
    branch: str | None
    base_branch: str | None  # the pull request's target branch, when known
    merge_base: str | None  # of HEAD and the target branch
    base_source: str | None = None  # where base_branch came from, for messages


def git(folder: Path, *args: str) -> str | None:
    """``git ARGS`` in ``folder``: its output, stripped; None when git fails or is missing."""
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_facts(folder: Path, base_branch: str | None = None) -> GitFacts:
    """``base_branch``: the option's, which wins over the runners' variables."""
    commit = git(folder, "rev-parse", "HEAD")
    branch = next((os.environ[name] for name in BRANCH_VARIABLES if os.environ.get(name)), None)
    if branch is None and commit is not None:
        named = git(folder, "rev-parse", "--abbrev-ref", "HEAD")
        branch = named if named and named != "HEAD" else None
    source = "--compviz-compare-branch" if base_branch else None
    if not base_branch:
        found = next((name for name in BASE_BRANCH_VARIABLES if os.environ.get(name)), None)
        base_branch, source = (os.environ[found], found) if found else (None, None)
    merge_base = None
    if commit is not None and base_branch:
        # The runner's clone knows the target as origin/BRANCH; a local clone may know BRANCH only.
        for ref in (f"origin/{base_branch}", base_branch):
            merge_base = git(folder, "merge-base", "HEAD", ref)
            if merge_base:
                break
    return GitFacts(commit, branch, base_branch, merge_base, source)


def first_parents(folder: Path, commit: str, count: int) -> list[str]:
    """``commit`` and up to ``count`` of its first-parent ancestors, newest first."""
    found = git(folder, "rev-list", "--first-parent", f"--max-count={count + 1}", commit)
    return found.split() if found else [commit]


def lineage(folder: Path, limit: int = 10000) -> set[str] | None:
    """The commits HEAD descends from (HEAD included), up to ``limit``; None outside git."""
    found = git(folder, "rev-list", f"--max-count={limit}", "HEAD")
    return set(found.split()) if found else None
