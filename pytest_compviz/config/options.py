"""One frozen ``RunOptions`` per run, resolved the same way by both faces.

Precedence, per setting: the command line (``--compviz-*`` or ``compviz`` options), then hook
rules (appended), then ``[tool.compviz]``, then pytest's ini options. Relative paths are relative
to where they were written: the command line's to the invocation folder, the configuration's to
its file's folder, ini values to the rootdir.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..spec import Metric, Settings
from .settings import BY_NAME, CLI, deprecations, given_values
from .files import ConfigError, FileConfig
from .history import HistoryOptions, history_options
from .rules import (MAX_ERROR_INCREASE, MAX_RATE_DECREASE, Rule, RuleError, Tolerances, bound_problem,
                    bound_without_significance, parse_tolerance)


@dataclass(frozen=True)
class Given:
    """What one face was told directly (its command line), before any configuration. The fields
    are the ``settings.SETTINGS`` fields of that face (``settings.given_values``)."""

    face: str = CLI  # which face's spellings messages use (``--compviz-rule`` or ``--rule``)
    inputs: tuple[str, ...] = ()
    output_dir: str | None = None
    config: str | None = None
    rules: tuple[Rule, ...] = ()
    strict: bool = False
    reference_mode: str | None = None
    baseline: str | None = None
    baseline_missing: str | None = None
    tolerance: dict | None = None  # parse_tolerance's result
    save_baseline: str | None = None
    fail_on_improvement: bool = False
    table_format: str | None = None
    image_formats: tuple[str, ...] = ()
    no_step_summary: bool = False
    deprecations: tuple[str, ...] = ()  # former spellings used on the command line

    def flag(self, name: str) -> str:
        """How this face spells setting ``name``'s option."""
        return BY_NAME[name].flag_of(self.face)
    # the CI loop (config.history): a history of runs, the run compared with, the window gate
    history: str | None = None
    history_keep: int | None = None
    compare: str | None = None
    compare_branch: str | None = None
    compare_depth: int | None = None
    window: int | None = None


def given_from(namespace, face: str, inputs: tuple[str, ...] = ()) -> Given:
    """What a face's parsed command line says (``inputs``: the face's positional inputs, before
    its ``--input`` ones)."""
    values = given_values(namespace, face)
    values["inputs"] = (*inputs, *values["inputs"])
    return Given(face=face, deprecations=tuple(deprecations(namespace)), **values)


@dataclass(frozen=True)
class Ini:
    """pytest's ini keys (the settings with ``ini=True``; the CLI has none)."""

    inputs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    output_dir: str = ""
    table_format: str = ""


@dataclass(frozen=True)
class RunOptions:
    settings: Settings
    rules: tuple[Rule, ...]
    strict: bool
    output_dir: Path
    inputs: tuple[Path, ...]  # given or configured results files (absolute, normalised)
    input_names: tuple[str, ...]  # each as written, for messages
    file_globs: tuple[str, ...]
    tolerances: Tolerances
    baseline: Path | None
    baseline_shown: str | None
    baseline_missing: str
    save_baseline: Path | None
    step_summary: bool
    image_formats: tuple[str, ...]
    config_file: Path | None  # where [tool.compviz] came from, if anywhere
    invocation: Path  # paths in messages are shown relative to it
    rule_counts: tuple[int, int, int] = (0, 0, 0)  # rules from the file, from hooks, from the command line
    table_format: str = "nncf-docs"  # the .md tables' layout: one of TABLE_FORMATS
    deprecations: tuple[str, ...] = ()  # former spellings this run used: each face warns
    history: HistoryOptions | None = None  # the CI loop's options, when a history is kept

    def shown(self, path: Path) -> str:
        try:
            return os.path.relpath(path, self.invocation)
        except ValueError:  # another drive on Windows
            return str(path)


def resolve(*, given: Given, file_config: FileConfig, invocation: Path, rootdir: Path, ini: Ini = Ini(),
            hook_rules: tuple[Rule, ...] = (), hook_metrics: tuple[Metric, ...] | None = None) -> RunOptions:
    """Raises ``ConfigError`` (a usage error) when the settings can't be combined."""
    metrics = hook_metrics or file_config.metrics or Settings().metrics
    try:
        settings = Settings(reference_mode=given.reference_mode or file_config.reference_mode or "fp32", metrics=metrics)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    root = file_config.root if file_config.path is not None else rootdir

    if given.output_dir:
        output_dir = invocation / given.output_dir
    elif file_config.output_dir:
        output_dir = root / file_config.output_dir
    elif ini.output_dir:
        output_dir = rootdir / ini.output_dir
    else:
        output_dir = root / "compviz-report"

    # The first source that names inputs wins; each is relative to its own folder.
    names, base = list(given.inputs), invocation
    if not names:
        names, base = list(file_config.inputs), root
    if not names:
        names, base = list(ini.inputs), rootdir
    # One file named twice (``r.csv ./r.csv``) is one input, shown as first written.
    named: dict[Path, str] = {}
    for name in names:
        named.setdefault(Path(os.path.normpath(base / name)), name)
    inputs, names = tuple(named), list(named.values())

    baseline, baseline_shown = None, None
    if given.baseline:
        baseline, baseline_shown = Path(os.path.normpath(invocation / given.baseline)), given.baseline
    elif file_config.baseline:
        baseline, baseline_shown = Path(os.path.normpath(root / file_config.baseline)), file_config.baseline

    rules = (*file_config.rules, *hook_rules, *given.rules)
    _check_bounds(rules)
    tolerances = _tolerances(given.tolerance, given.flag("regression-tolerance"), file_config)
    if given.fail_on_improvement or file_config.fail_on_improvement:
        tolerances = replace(tolerances, fail_on_improvement=True)
    return RunOptions(
        settings=settings,
        rules=rules,
        strict=bool(given.strict or file_config.strict),
        output_dir=Path(os.path.normpath(output_dir)),
        inputs=inputs,
        input_names=tuple(names),
        file_globs=(*file_config.files, *ini.files),
        tolerances=tolerances,
        baseline=baseline,
        baseline_shown=baseline_shown,
        baseline_missing=_baseline_missing(given, file_config),
        save_baseline=Path(os.path.normpath(invocation / given.save_baseline)) if given.save_baseline else None,
        step_summary=not given.no_step_summary,
        image_formats=tuple(dict.fromkeys(given.image_formats or ("png",))),
        config_file=file_config.path,
        invocation=invocation,
        rule_counts=(len(file_config.rules), len(hook_rules), len(given.rules)),
        table_format=_table_format(given, file_config, ini),
        deprecations=(*given.deprecations, *file_config.deprecations),
        history=history_options(given, file_config, invocation, root),
    )


# The two layouts NNCF's tables come in. "nncf-docs", the default, is the table of NNCF's README
# and documentation: lora rank as a float (``256.0``), every column left-aligned, a final newline.
# "nncf-tool" is what NNCF's visualize_compression_results.py writes since it pinned tabulate
# 0.10.0 (2026-03): tabulate reads the lora ranks as numbers, so they are integers (``256``),
# right-aligned, unless the column is empty, and the file has no final newline.
NNCF_DOCS = "nncf-docs"
NNCF_TOOL = "nncf-tool"
TABLE_FORMATS = (NNCF_DOCS, NNCF_TOOL)


def _table_format(given: Given, file_config: FileConfig, ini: Ini) -> str:
    """The command line's, else [tool.compviz] table-format, else the ini's, else nncf-docs."""
    for value, source in ((given.table_format, given.flag("table-format")),
                          (file_config.table_format, f"table-format, {getattr(file_config.path, 'name', '')}"),
                          (ini.table_format or None, "compviz_table_format (ini)")):
        if value is None:
            continue
        if value not in TABLE_FORMATS:
            raise ConfigError(f"{source}: {value!r} is not a table format (known: {', '.join(TABLE_FORMATS)})")
        return value
    return NNCF_DOCS


def _baseline_missing(given: Given, file_config: FileConfig) -> str:
    """The command line's, else [tool.compviz] baseline-missing, else "error"."""
    value = given.baseline_missing or file_config.baseline_missing or "error"
    if value not in BY_NAME["baseline-missing"].choices:
        raise ConfigError(f"baseline-missing, {getattr(file_config.path, 'name', '')}: {value!r} is not one of"
                          f" {', '.join(BY_NAME['baseline-missing'].choices)}")
    return value


def _check_bounds(rules) -> None:
    """A ``bound`` no row can have a ``significance`` for is a usage error at once (each row's own
    matching rules are checked when it is gated)."""
    lacking = bound_without_significance(rules)
    if lacking is not None:
        raise ConfigError(bound_problem(lacking, "an earlier one"))


def _tolerances(option_value: dict | None, option: str, file_config: FileConfig) -> Tolerances:
    """The command line's tolerance, else [tool.compviz] regression-tolerance, else defaults; the
    source names a part that was not given as the default."""
    found, source = option_value, option
    if found is None and file_config.tolerance is not None:
        assert file_config.path is not None  # the tolerance was read from that file
        source = f"regression-tolerance, {file_config.path.name}"
        try:
            found = parse_tolerance(file_config.tolerance, source)
        except RuleError as exc:
            raise ConfigError(str(exc)) from None
    if found is None:
        return Tolerances()
    default = Tolerances()
    if MAX_ERROR_INCREASE not in found:
        source += "; default error tolerance"
    if MAX_RATE_DECREASE not in found:
        source += "; default rate tolerance"
    return Tolerances(found.get(MAX_ERROR_INCREASE, default.error), found.get(MAX_RATE_DECREASE, default.rate), source)


def with_glob_inputs(options: RunOptions) -> RunOptions:
    """``options`` with the CSVs its ``files`` globs select added after its inputs: what pytest
    collects when given no path (``config.globs`` decides for both faces), for ``compviz``, which
    has no collection. Found under the configuration's folder (else the invocation folder)."""
    from .globs import glob_inputs

    root = options.config_file.parent if options.config_file is not None else options.invocation
    extra = [path for path in glob_inputs(root, options.file_globs) if path not in options.inputs]
    return replace(options, inputs=options.inputs + tuple(extra),
                   input_names=options.input_names + tuple(options.shown(path) for path in extra))


def describe_config(options: RunOptions) -> str | None:
    """The session-header line: ``compviz: 3 rules from sub/pyproject.toml`` (then those from hooks
    and the command line, if any)."""
    from_file, from_hooks, given = options.rule_counts
    count = f"{from_file} rule{'s' if from_file != 1 else ''}"
    line = f"compviz: {count} from {options.shown(options.config_file)}" if options.config_file is not None \
        else f"compviz: {count}, no configuration file"
    if from_hooks:
        line += f", {from_hooks} from hooks"
    if given:
        line += f", {given} from the command line"
    return line
