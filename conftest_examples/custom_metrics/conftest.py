"""A team's own quality columns instead of the four NNCF ones (lambada, WWB, wikitext).

``pytest_compviz_metrics`` replaces the metric list: these columns are validated (bounds,
positivity), averaged into the "average relative error" and can be gated by rules. Each entry is
a ``pytest_compviz.spec.Metric`` or a dict with the keys of ``[[tool.compviz.metrics]]``.
The rules that gate them are in pyproject.toml.
"""

from pytest_compviz.spec import Metric


def pytest_compviz_metrics(config):
    return [
        # higher is better, an accuracy in [0, 1]: relative error = (base - row) / base
        Metric("mmlu, acc", "higher", minimum=0.0, maximum=1.0),
        Metric("gsm8k, acc", "higher", minimum=0.0, maximum=1.0),
        # lower is better, must be > 0: relative error = (row - base) / base (the dict form)
        {"column": "wikitext, word perplexity", "direction": "lower", "positive": True},
    ]
