"""The CI-loop options (history, comparison with an earlier run, window gate), parsed in one place
for both faces: ``--compviz-history`` / ``[tool.compviz] history``, ``--compviz-history-keep``,
``--compviz-compare``, ``--compviz-compare-branch``, ``--compviz-compare-depth``, ``--compviz-window``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

COMPARE_MODES = ("base", "previous")


@dataclass(frozen=True)
class HistoryOptions:
    path: Path  # the history folder
    shown: str  # as written, for messages
    keep: int = 100  # newest runs kept per configuration
    compare: str | None = None  # "base" or "previous": the earlier run this one is compared with
    base_branch: str | None = None  # the pull request's target branch, when not from the CI's variables
    depth: int = 20  # ancestors walked back from the merge base to find a recorded run
    window: int | None = None  # the window gate over the last K passing runs; None: off


def history_options(given, file_config, invocation: Path, root: Path) -> HistoryOptions | None:
    """From ``given`` (``config.options.Given``) and ``[tool.compviz] history``; the command line
    wins. Raises ``ConfigError`` when an option needs a history and there is none."""
    from .files import ConfigError

    if given.history:
        path, shown = Path(os.path.normpath(invocation / given.history)), given.history
    elif file_config.history:
        path, shown = Path(os.path.normpath(root / file_config.history)), file_config.history
    else:
        needing = [given.flag(name) for name, value in (("compare", given.compare), ("window", given.window))
                   if value is not None]
        if needing:
            raise ConfigError(f"{needing[0]} needs a history of runs: give {given.flag('history')} DIR"
                              " (or [tool.compviz] history)")
        return None
    if given.compare is not None and given.baseline:
        raise ConfigError(f"{given.flag('compare')} and {given.flag('baseline')} both name what to compare with:"
                          " give one")
    return HistoryOptions(path, shown, keep=given.history_keep or 100, compare=given.compare,
                          base_branch=given.compare_branch, depth=given.compare_depth or 20, window=given.window)


def positive_int(text: str, what: str) -> int:
    """An option's whole number >= 1; ``ValueError`` with the sentence to show otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{what}: must be at least 1, not {value}")
    return value
