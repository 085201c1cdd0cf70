"""Stricter gates on the main branch than on pull requests, chosen from the environment.

Pull requests get the everyday gates; a push to main (a release candidate) must also meet the
tightened ones. The branch is read from the first of these that is set:

1. ``COMPVIZ_BRANCH``: set it by hand or in any CI; ``main`` or ``master`` selects the main gates.
2. ``GITHUB_BASE_REF``: GitHub Actions sets it only for pull_request events, so a pull request
   *into* main still gets the pull-request gates.
3. ``GITHUB_REF_NAME``: the pushed branch on GitHub Actions.

Nothing set (a local run) means the pull-request gates.
"""

import os

MAIN_BRANCHES = {"main", "master"}

PULL_REQUEST_RULES = [
    {"mode": "*", "max-relative-error": "9%", "min-compression-rate": 4.5},
]

# Appended after the pull-request rules. For each check the last matching rule wins, so these
# tighten the limits they set and keep the others.
MAIN_RULES = PULL_REQUEST_RULES + [
    {"mode": "*", "max-relative-error": "6%"},
]


def gates() -> tuple[bool, str]:
    """(main-branch gates?, the variable that decided it)."""
    for name in ("COMPVIZ_BRANCH", "GITHUB_BASE_REF", "GITHUB_REF_NAME"):
        value = os.environ.get(name, "").strip()
        if value:
            on_main = name != "GITHUB_BASE_REF" and value in MAIN_BRANCHES
            return on_main, f"{name}={value}"
    return False, "no branch variable set"


def pytest_compviz_rules(config):
    on_main, _ = gates()
    return MAIN_RULES if on_main else PULL_REQUEST_RULES


def pytest_report_header(config):
    on_main, reason = gates()
    return f"compviz: {'main-branch gates (stricter)' if on_main else 'pull-request gates'} ({reason})"
