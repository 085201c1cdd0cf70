"""What the plugin's modules share, with no imports between them: the stash key of the run's
session, the warning class, the command line's paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .state import RunState


class CompvizWarning(pytest.PytestWarning):
    """Something the user should see that need not fail the run (a precomputed column that
    disagrees, a run that gates no row). ``-W error::pytest_compviz.plugin.CompvizWarning``
    makes it fail the item that issued it."""


class CompvizDeprecationWarning(CompvizWarning, DeprecationWarning):
    """A former spelling of a setting, read until the next release (the message names the new one)."""


# Where the run's ``state.RunState`` is kept (``config.stash``).
SESSION_KEY: pytest.StashKey[RunState] = pytest.StashKey()


def named_args(config: pytest.Config) -> list[str]:
    """The paths given on the command line (none when pytest fell back to testpaths or the cwd)."""
    return list(config.args) if config.args_source == pytest.Config.ArgsSource.ARGS else []
