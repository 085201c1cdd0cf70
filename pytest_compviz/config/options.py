"""One frozen ``RunOptions`` per run, resolved the same way by both faces.

Precedence, per setting: the command line (``--compviz-*`` or ``compviz`` options), then hook
rules (appended), then ``[tool.compviz]``, then pytest's ini options. Relative paths are relative
to where they were written: the command line's to the invocation folder, the configuration's to
its file's folder, ini values to the rootdir.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..spec import Metric, Settings
from .files import ConfigError, FileConfig
from .rules import MAX_ERROR_INCREASE, MAX_RATE_DECREASE, Rule, RuleError, Tolerances, parse_tolerance


@dataclass(frozen=True)
class Given:
    """What one face was told directly (its command line), before any configuration."""

    inputs: tuple[str, ...] = ()
    output_dir: str | None = None
    rules: tuple[Rule, ...] = ()
    strict: bool = False
    baseline_mode: str | None = None
    baseline: str | None = None
    baseline_missing: str = "error"
    tolerance: dict | None = None  # parse_tolerance's result
    save_baseline: str | None = None
    step_summary: bool = True
    image_formats: tuple[str, ...] = ("png",)


@dataclass(frozen=True)
class Ini:
    """pytest's ini twins (the CLI has none)."""

    inputs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    output_dir: str = ""


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
        settings = Settings(baseline_mode=given.baseline_mode or file_config.baseline_mode or "fp32", metrics=metrics)
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
    # One file named twice (``r.csv ./r.csv``) is one input.
    unique = dict.fromkeys((Path(os.path.normpath(base / name)), name) for name in names)
    seen: set[Path] = set()
    pairs = [(path, name) for path, name in unique if not (path in seen or seen.add(path))]
    inputs, names = tuple(path for path, _ in pairs), [name for _, name in pairs]

    baseline, baseline_shown = None, None
    if given.baseline:
        baseline, baseline_shown = Path(os.path.normpath(invocation / given.baseline)), given.baseline
    elif file_config.baseline:
        baseline, baseline_shown = Path(os.path.normpath(root / file_config.baseline)), file_config.baseline

    return RunOptions(
        settings=settings,
        rules=(*file_config.rules, *hook_rules, *given.rules),
        strict=bool(given.strict or file_config.strict),
        output_dir=Path(os.path.normpath(output_dir)),
        inputs=inputs,
        input_names=tuple(names),
        file_globs=(*file_config.files, *ini.files),
        tolerances=_tolerances(given.tolerance, file_config),
        baseline=baseline,
        baseline_shown=baseline_shown,
        baseline_missing=given.baseline_missing,
        save_baseline=Path(os.path.normpath(invocation / given.save_baseline)) if given.save_baseline else None,
        step_summary=given.step_summary,
        image_formats=tuple(dict.fromkeys(given.image_formats)),
        config_file=file_config.path,
        invocation=invocation,
    )


def _tolerances(option_value: dict | None, file_config: FileConfig) -> Tolerances:
    """The command line's tolerance, else [tool.compviz] regression-tolerance, else defaults."""
    found, source = option_value, "--compviz-regression-tolerance"
    if found is None and file_config.regression_tolerance is not None:
        source = f"regression-tolerance, {file_config.path.name}"
        try:
            found = parse_tolerance(file_config.regression_tolerance, source)
        except RuleError as exc:
            raise ConfigError(str(exc)) from None
    if found is None:
        return Tolerances()
    default = Tolerances()
    return Tolerances(found.get(MAX_ERROR_INCREASE, default.error), found.get(MAX_RATE_DECREASE, default.rate), source)


def describe_config(options: RunOptions) -> str | None:
    """The session-header line: ``compviz: 3 rules from sub/pyproject.toml``."""
    count = len(options.rules)
    rules = f"{count} rule{'s' if count != 1 else ''}"
    if options.config_file is None:
        return f"compviz: {rules}, no configuration file"
    return f"compviz: {rules} from {options.shown(options.config_file)}"
