"""pytest entry point (``pytest11: compviz``): options and the collection of results CSVs.

Kept to hooks only, and import-light: it is loaded by every pytest run wherever the package is
installed, so pandas, pandera and matplotlib load only once a CSV is collected. The run's state and
its session-end hooks (artifacts, terminal summary) live in ``session.CompvizState``."""

from __future__ import annotations

import argparse

import pytest

from . import hookspec


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


def _rule_option(text: str):
    from .rules import RuleError, parse_rule_string

    try:
        return parse_rule_string(text, "--compviz-rule")
    except RuleError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _tolerance_option(text: str) -> dict:
    from .rules import RuleError, parse_tolerance

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
        help="where tables and plots are written (default: compviz-report/ under the rootdir).",
    )
    group.addoption(
        "--compviz-config", dest="compviz_config", metavar="TOML",
        help="read [tool.compviz] (or the whole file) from this TOML file instead of pyproject.toml.",
    )
    group.addoption(
        "--compviz-rule", action="append", default=[], dest="compviz_rules", type=_rule_option,
        metavar="RULE", help="a threshold rule appended after the configured ones (repeatable), e.g. "
        "\"mode=int8; max-relative-error=2%%\".",
    )
    group.addoption(
        "--compviz-strict", action="store_true", default=False, dest="compviz_strict",
        help="fail rows that no rule sets a check for.",
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
        type=_tolerance_option, help="allowed worsening against the baseline: error in percentage points"
        " and/or rate, e.g. \"0.5%%, 0.05x\" (the default).",
    )
    group.addoption(
        "--compviz-save-baseline", dest="compviz_save_baseline", metavar="JSON",
        help="write this run's rows as a baseline (rows of other models in an existing file are kept).",
    )
    group.addoption(
        "--compviz-no-step-summary", action="store_true", default=False, dest="compviz_no_step_summary",
        help="do not append the summary to $GITHUB_STEP_SUMMARY.",
    )
    parser.addini("compviz_inputs", type="args", default=[],
                  help="results CSVs collected when pytest gets no path (twin of --compviz-input).")
    parser.addini("compviz_files", type="args", default=[],
                  help="globs of results CSVs to collect from the test paths, e.g. results/*.csv.")
    parser.addini("compviz_output_dir", default="", help="twin of --compviz-output-dir.")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # The conftest.py files beside a --compviz-input CSV may implement our hooks, which are read at
    # configure time: load them up front, as pytest does for the paths given on the command line.
    namespace = early_config.known_args_namespace
    inputs = getattr(namespace, "compviz_inputs", None) or []
    paths = getattr(namespace, "file_or_dir", None)
    if inputs and isinstance(paths, list):
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
    if config.args_source == pytest.Config.ArgsSource.ARGS and names_csv(config.args):
        return True
    pyproject = config.rootpath / "pyproject.toml"
    try:
        return "tool.compviz" in pyproject.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _compviz_requested(config):
        return  # no state: every compviz hook below returns at once
    from .session import CompvizState

    state = CompvizState(config)
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(state, "compviz-state")  # its hooks: reports, artifacts, summary
    # Inputs and no positional path: collect just the inputs, as `pytest FILE` would;
    # with positional paths too, collect both.
    if state.inputs:
        given = config.args if config.args_source == pytest.Config.ArgsSource.ARGS else []
        config.args = [*given, *(str(path) for path in state.inputs if path not in state.explicit)]
        state.explicit |= set(state.inputs)


def pytest_collect_file(file_path, parent):
    state = parent.config.stash.get(STATE_KEY, None)
    if state is not None and state.wants(file_path):
        from .items import CsvFile

        return CsvFile.from_parent(parent, path=file_path)
    return None


# Where the run's CompvizState is kept; items.py reads it from here too.
STATE_KEY = pytest.StashKey["object"]()
