"""pytest entry point (``pytest11: compviz``): options, the decision to take part in a run, and
the collection of results CSVs.

Import-light: pytest loads it in every run wherever the package is installed, so pandas, pandera
and matplotlib load only once a CSV is collected. A run with no compviz option, ini value or
``[tool.compviz]`` table registers nothing and does no compviz work. The pieces: ``startup``
(options, inputs, baseline), ``state.RunState`` (the run's state, no hooks), ``hooks`` (the
session's hook implementations), ``collection``, ``nodes`` (the collection tree) and ``finish``.
"""

from __future__ import annotations

import pytest

from . import hookspec
from .shared import SESSION_KEY, CompvizDeprecationWarning, CompvizWarning, named_args  # noqa: F401 - public here


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    from ..config.settings import add_pytest_options  # stdlib only

    add_pytest_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # The conftest.py files beside a --compviz-input CSV, and those of the folder pytest runs in, may
    # implement our hooks, which are read at configure time: load them up front, as pytest does for
    # the paths given on the command line. (This list only decides which conftests load first;
    # what is collected is decided later.)
    namespace = early_config.known_args_namespace
    inputs = getattr(namespace, "compviz_inputs", None) or []
    paths = getattr(namespace, "file_or_dir", None)
    if inputs and isinstance(paths, list):
        if not paths:
            # A file of the folder, not the folder: pytest would also load the conftests of its
            # test*/ folders (a test suite's, with its own imports), also when an input is missing.
            folder = early_config.invocation_params.dir
            here = next((folder / name for name in ("conftest.py", "pyproject.toml", "pytest.ini", "tox.ini",
                                                     "setup.cfg") if (folder / name).is_file()), None)
            if here is not None:
                paths.append(str(here))
        paths.extend(inputs)


def names_csv(args) -> bool:
    """Whether command-line paths name a results CSV (``FILE.csv`` or ``FILE.csv::ID``)."""
    return any(str(arg).split("::")[0].lower().endswith(".csv") for arg in args)


def _compviz_requested(config: pytest.Config) -> bool:
    """Whether this run could involve compviz at all; cheap, so idle runs stay idle."""
    from ..config.settings import SETTINGS, anything_given  # stdlib only

    if anything_given(config.option):
        return True
    if any(config.getini(setting.ini_name) for setting in SETTINGS if setting.ini):
        return True
    if names_csv(named_args(config)):
        return True
    from ..config.files import find_config_file, has_compviz_table  # stdlib only

    found = find_config_file(config.invocation_params.dir, config.rootpath)
    return found is not None and has_compviz_table(found)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _compviz_requested(config):
        return  # no state: every compviz hook below returns at once
    from .collection import collection_args
    from .hooks import CompvizHooks
    from .startup import start_run

    state = start_run(config)
    for text in state.options.deprecations:
        config.issue_config_time_warning(CompvizDeprecationWarning(text), stacklevel=2)
    config.stash[SESSION_KEY] = state
    config.pluginmanager.register(CompvizHooks(config, state), "compviz-session")  # reports, outputs, summary
    config.args = collection_args(state, config, config.args, config.args_source)


def pytest_collect_file(file_path, parent):
    state = parent.config.stash.get(SESSION_KEY, None)
    if state is not None and state.wants(file_path):
        from .nodes import CsvFile

        return CsvFile.for_path(parent, file_path)
    return None
