"""Hooks pytest-compviz adds, for conftest.py files and plugins.

Implement them in a ``conftest.py`` at the rootdir (it is loaded before compviz reads its rules).
"""

import pytest


@pytest.hookspec
def pytest_compviz_rules(config: pytest.Config) -> list | None:
    """Return threshold rules to add, as dicts in the ``[[tool.compviz.rules]]`` form, e.g.
    ``[{"mode": "int8", "max-relative-error": "1%"}]``.

    They go after the rules of pyproject.toml and before ``--compviz-rule`` ones; as everywhere,
    the last matching rule wins per check."""


@pytest.hookspec(firstresult=True)
def pytest_compviz_metrics(config: pytest.Config) -> list | None:
    """Return the metric definitions to use instead of the default four NNCF metrics, as
    ``pytest_compviz.spec.Metric`` objects or dicts like
    ``{"column": "mmlu, acc", "direction": "higher", "min": 0, "max": 1}``. The first
    implementation returning a list wins."""
