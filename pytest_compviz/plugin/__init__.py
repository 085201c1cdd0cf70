"""pytest entry point (``pytest11: compviz``): options, the decision to take part in a run, and
the collection of results CSVs.

Import-light: pytest loads it in every run wherever the package is installed, so pandas, pandera
and matplotlib load only once a CSV is collected. A run with no compviz option, ini value or
``[tool.compviz]`` table registers nothing and does no compviz work. The run's state and its
session-end hooks live in ``session.CompvizSession``.
"""

from __future__ import annotations

import argparse

import pytest

from . import hookspec
from .shared import SESSION_KEY, CompvizWarning, named_args  # noqa: F401 - CompvizWarning is public here


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


def _rule_option(text: str):
    from ..config.rules import RuleError, parse_rule_string

    try:
        return parse_rule_string(text, "--compviz-rule")
    except RuleError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _tolerance_option(text: str) -> dict:
    from ..config.rules import RuleError, parse_tolerance

    try:
        return parse_tolerance(text, repr(text))  # argparse already names the option
    except RuleError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("compviz", "compression results (pytest-compviz)")
    group.addoption(
        "--compviz-input", action="append", default=[], dest="compviz_inputs", metavar="CSV",
        help="results CSV to collect (repeatable). Without positional paths, only these are collected.",
    )
    group.addoption(
        "--compviz-output-dir", dest="compviz_output_dir", metavar="DIR",
        help="where tables and plots are written (default: compviz-report/ beside the configuration file).",
    )
    group.addoption(
        "--compviz-config", dest="compviz_config", metavar="TOML",
        help="read [tool.compviz] (or the whole file) from this TOML file instead of the discovered pyproject.toml.",
    )
    group.addoption(
        "--compviz-rule", action="append", default=[], dest="compviz_rules", type=_rule_option,
        metavar="RULE", help="a threshold rule appended after the configured ones (repeatable), e.g. "
        "\"mode=int8; max-relative-error=2%%\".",
    )
    group.addoption(
        "--compviz-strict", action="store_true", default=False, dest="compviz_strict",
        help="fail rows that no rule sets a check for, and runs that gate nothing.",
    )
    group.addoption(
        "--compviz-baseline-mode", dest="compviz_baseline_mode", metavar="MODE",
        help="mode of the reference row of each model (default: fp32).",
    )
    group.addoption(
        "--compviz-baseline", dest="compviz_baseline", metavar="JSON|CSV",
        help="a saved run (compviz.json, a --compviz-save-baseline file, or a results CSV): each row"
        " it has gets a 'regression' item.",
    )
    group.addoption(
        "--compviz-baseline-missing", dest="compviz_baseline_missing", choices=("error", "warn"),
        default="error", help="when the baseline file does not exist: usage error (default) or warn and run without.",
    )
    group.addoption(
        "--compviz-regression-tolerance", dest="compviz_regression_tolerance", metavar="TOL",
        type=_tolerance_option, help="allowed worsening against the baseline, each part with its unit:"
        " error increase in percentage points and/or rate decrease, e.g. \"0.5%%, 0.05x\" (the default).",
    )
    group.addoption(
        "--compviz-save-baseline", dest="compviz_save_baseline", metavar="JSON",
        help="write this run's rows as a baseline (rows of other models in an existing file are kept).",
    )
    group.addoption(
        "--compviz-no-step-summary", action="store_true", default=False, dest="compviz_no_step_summary",
        help="do not append the summary to $GITHUB_STEP_SUMMARY.",
    )
    group.addoption(
        "--compviz-fail-on-improvement", action="store_true", default=False, dest="compviz_fail_on_improvement",
        help="a regression item fails also when its row is better than the baseline beyond the tolerance"
        " (the baseline is out of date; such a run can be saved with --compviz-save-baseline).",
    )
    group.addoption(
        "--compviz-table-format", dest="compviz_table_format", metavar="FORMAT",
        help="layout of the .md tables: nncf-docs (default; NNCF's README) or nncf-tool (what NNCF's"
        " visualize_compression_results.py writes).",
    )
    parser.addini("compviz_inputs", type="args", default=[],
                  help="results CSVs collected along with the test paths (twin of --compviz-input).")
    parser.addini("compviz_files", type="args", default=[],
                  help="globs of results CSVs to collect from the test paths, e.g. results/*.csv.")
    parser.addini("compviz_output_dir", default="", help="twin of --compviz-output-dir.")
    parser.addini("compviz_table_format", default="", help="twin of --compviz-table-format.")


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
    option = config.option
    if any((option.compviz_inputs, option.compviz_rules, option.compviz_config, option.compviz_output_dir,
            option.compviz_strict, option.compviz_baseline_mode, option.compviz_baseline,
            option.compviz_save_baseline)):
        return True
    if config.getini("compviz_inputs") or config.getini("compviz_files"):
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
    from .session import CompvizSession

    session = CompvizSession(config)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "compviz-session")  # its hooks: reports, outputs, summary
    config.args = session.collection_args(config.args, config.args_source)


def pytest_collect_file(file_path, parent):
    session = parent.config.stash.get(SESSION_KEY, None)
    if session is not None and session.wants(file_path):
        from .nodes import CsvFile

        return CsvFile.for_path(parent, file_path)
    return None
