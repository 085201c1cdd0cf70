"""The start of a session that involves compviz: the options resolved from every source (the
command line, ini keys, ``[tool.compviz]``, the ``pytest_compviz_*`` hooks), the inputs checked,
and the baseline read. Every problem is a ``pytest.UsageError`` with one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..config.files import ConfigError, FileConfig, metric_from_table, read_file_config
from ..config.options import Ini, RunOptions, given_from, resolve
from ..config.rules import Rule, RuleError, parse_rule
from ..config.settings import PYTEST, SETTINGS
from ..problems import CompvizError, InputUnusable, check_input_path
from ..spec import Metric
from .collection import inside
from .shared import named_args
from .state import RunState


def start_run(config: pytest.Config) -> RunState:
    try:
        options = _resolve_options(config)
    except CompvizError as exc:
        raise pytest.UsageError(f"compviz: {exc}") from None
    invocation = Path(config.invocation_params.dir)
    explicit = {Path(os.path.normpath(invocation / arg.split("::")[0])) for arg in named_args(config)}
    # The configured or given inputs this run collects: all of them with --compviz-input or no
    # path on the command line; none when paths are named (`pytest tests/test_unit.py`).
    named_paths = config.args_source == pytest.Config.ArgsSource.ARGS
    requested = set(options.inputs) if config.option.compviz_inputs or not named_paths else set()
    for path, name in zip(options.inputs, options.input_names):
        if path in requested:
            try:
                check_input_path(path, name)
            except InputUnusable as exc:
                raise pytest.UsageError(f"compviz: input {exc}") from None
    state = RunState(options, config.rootpath, explicit, requested,
                     writes_outputs=not hasattr(config, "workerinput") and not config.option.collectonly)
    # A run that can't collect a results file (`pytest tests/`) doesn't need the baseline,
    # which may not exist yet.
    if requested or options.file_globs or state.names_csv():
        from ..history.reference import run_reference

        try:
            state.baseline, state.window, state.notes = run_reference(options)
        except CompvizError as exc:
            raise pytest.UsageError(f"compviz: {exc}") from None
    return state


def _resolve_options(config: pytest.Config) -> RunOptions:
    invocation = Path(config.invocation_params.dir)
    option = config.option
    file_config = read_file_config(option.compviz_config, invocation, config.rootpath, "--compviz-config")
    _check_unloaded_conftests(config, invocation, file_config)
    given = given_from(option, PYTEST)
    # mypy is wrong here: each field gets its own ini value (a tuple or a string), which the
    # checker cannot follow through one dict of keyword arguments.
    ini = Ini(**{s.field: (tuple(config.getini(s.ini_name)) if s.repeat else config.getini(s.ini_name))  # type: ignore[arg-type]
                 for s in SETTINGS if s.ini})
    rootdir = config.rootpath if inside(invocation, config.rootpath) else invocation
    return resolve(given=given, file_config=file_config, invocation=invocation, rootdir=rootdir, ini=ini,
                   hook_rules=tuple(_hook_rules(config)), hook_metrics=_hook_metrics(config))


def _check_unloaded_conftests(config: pytest.Config, invocation: Path, file_config: FileConfig) -> None:
    """A conftest.py between the invocation folder and the configuration's that implements a
    compviz hook but that pytest did not load (its rootdir was chosen from an input outside the
    project) would silently drop its rules: refuse to run."""
    from ..config.conftests import folders_up, implements_compviz_hook

    top = file_config.path.parent.resolve() if file_config.path is not None else invocation.resolve()
    for folder in folders_up(invocation.resolve(), top, leave=False):
        conftest = folder / "conftest.py"
        if config.pluginmanager.get_plugin(str(conftest)) is None and implements_compviz_hook(conftest):
            cut = config.known_args_namespace.confcutdir or config.rootpath
            raise ConfigError(
                f"{conftest} implements a pytest_compviz hook but pytest did not load it (rootdir"
                f" {config.rootpath}, conftests loaded below {cut}); run pytest from the project without"
                " a --confcutdir or --rootdir above it")


def _hook_metrics(config: pytest.Config) -> tuple[Metric, ...] | None:
    declared = config.hook.pytest_compviz_metrics(config=config)
    if declared is None:
        return None
    if not isinstance(declared, (list, tuple)):
        raise ConfigError(f"pytest_compviz_metrics must return a list, not {declared!r}")
    return tuple(m if isinstance(m, Metric) else metric_from_table(m, "pytest_compviz_metrics") for m in declared)


def _hook_rules(config: pytest.Config) -> list[Rule]:
    """Rules from ``pytest_compviz_rules`` implementations, in registration order (the rootdir's
    conftest.py before deeper ones, so deeper rules win), each named after where it came from."""
    rules: list[Rule] = []
    for impl in config.hook.pytest_compviz_rules.get_hookimpls():
        where = _plugin_label(config, impl.plugin_name)
        returned = impl.function(**{name: config for name in impl.argnames})  # pluggy allows fewer args
        if not isinstance(returned, (list, tuple, type(None))):
            raise ConfigError(f"pytest_compviz_rules in {where} must return a list, not {returned!r}")
        for number, entry in enumerate(returned or [], start=1):
            try:
                rules.append(entry if isinstance(entry, Rule) else parse_rule(entry, f"rule {number}, {where}"))
            except RuleError as exc:
                raise ConfigError(str(exc)) from None
    return rules


def _plugin_label(config: pytest.Config, name: str) -> str:
    """A conftest's path relative to the rootdir; other plugins by their registered name."""
    path = Path(name)
    if path.is_absolute() and path.name == "conftest.py":
        try:
            return path.relative_to(config.rootpath).as_posix()
        except ValueError:
            return str(path)
    return name
