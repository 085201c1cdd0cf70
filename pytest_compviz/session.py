"""The per-run state of the pytest plugin: resolved options, the rules, loaded results, outcome
counts and the artifacts written. Registered as a plugin by ``plugin.pytest_configure``.

Loading a CSV (pandas, pandera) happens on first use, never at start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from .config import ConfigError, FileConfig, load_config, metric_from_table
from .problems import CompvizError, InputUnusable, InvalidResults, Problem, check_input_path
from .rules import Rule, RuleError, parse_rule
from .spec import Metric, Settings


@dataclass
class Loaded:
    """One input as loaded: results and their gates, or the problems that stopped it."""

    shown: str
    results: object | None = None  # results.Results
    gates: object | None = None  # gates.FileGates
    problems: list[Problem] = field(default_factory=list)


@dataclass
class FileSummary:
    passed: int = 0
    failed: int = 0
    written: list[Path] = field(default_factory=list)
    error: str | None = None


class CompvizState:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.rootpath = config.rootpath
        invocation = config.invocation_params.dir
        option = config.option
        file_config = _file_config(config)

        try:
            self.settings = Settings(
                baseline_mode=option.compviz_baseline_mode or file_config.baseline_mode or "fp32",
                metrics=_metrics(config, file_config),
            )
        except ValueError as exc:
            raise pytest.UsageError(f"compviz: {exc}") from None
        self.strict = bool(option.compviz_strict or file_config.strict)
        self.rules: list[Rule] = [*file_config.rules, *_hook_rules(config),
                                  *[_renumber(rule, n) for n, rule in enumerate(option.compviz_rules, 1)]]

        output_dir = option.compviz_output_dir
        if output_dir:
            self.output_dir = invocation / output_dir
        elif file_config.output_dir:
            self.output_dir = file_config.root / file_config.output_dir
        elif config.getini("compviz_output_dir"):
            self.output_dir = self.rootpath / config.getini("compviz_output_dir")
        else:
            self.output_dir = self.rootpath / "compviz-report"

        # The first source that names inputs wins; each is relative to its own folder.
        given, base = option.compviz_inputs, invocation
        if not given:
            given, base = list(file_config.inputs), file_config.root
        if not given:
            given, base = config.getini("compviz_inputs"), self.rootpath
        self.inputs = [Path(os.path.normpath(base / name)) for name in given]
        for path, name in zip(self.inputs, given):
            try:
                check_input_path(path, name)
            except InputUnusable as exc:
                raise pytest.UsageError(f"compviz: input {exc}") from None
        self.file_globs = [*file_config.files, *config.getini("compviz_files")]
        # CSVs named on the command line are collected like test files.
        named = config.args if config.args_source == pytest.Config.ArgsSource.ARGS else []
        self.explicit = {Path(os.path.normpath(invocation / arg.split("::")[0])) for arg in named}
        self._loaded: dict[Path, Loaded] = {}
        self.summaries: dict[Path, FileSummary] = {}

    # --- collection -------------------------------------------------------------------------

    def wants(self, path: Path) -> bool:
        path = Path(os.path.normpath(path))
        if path in self.explicit or path in self.inputs:
            return path.suffix.lower() == ".csv" or path in self.inputs
        if path.suffix.lower() != ".csv" or not self.file_globs:
            return False
        try:
            relative = path.relative_to(self.rootpath).as_posix()
        except ValueError:
            relative = path.as_posix()
        return any(fnmatchcase(relative, glob) or fnmatchcase(path.name, glob) for glob in self.file_globs)

    def shown(self, path: Path) -> str:
        """A path as messages show it: relative to where pytest was started, when possible."""
        try:
            return os.path.relpath(path, self.config.invocation_params.dir)
        except ValueError:  # another drive on Windows
            return str(path)

    def load(self, path: Path) -> Loaded:
        """Read, validate, derive and gate ``path`` once per run."""
        path = Path(os.path.normpath(path))
        if path not in self._loaded:
            from .gates import evaluate
            from .results import load_results

            shown = self.shown(path)
            loaded = Loaded(shown)
            try:
                loaded.results = load_results(path, self.settings, shown=shown)
            except InputUnusable as exc:
                raise pytest.UsageError(f"compviz: {exc}") from None
            except InvalidResults as exc:
                loaded.problems = exc.problems
            else:
                loaded.gates = evaluate(loaded.results, self.rules)
            self._loaded[path] = loaded
            self.summaries.setdefault(path, FileSummary())
        return self._loaded[path]

    # --- hooks (this object is registered as a plugin) -----------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        config = self.config
        if hasattr(config, "workerinput") or config.option.collectonly:
            return  # xdist workers and --collect-only write nothing
        if exitstatus in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
            return
        self.write_artifacts()
        if any(summary.error for summary in self.summaries.values()) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a lost report must not pass CI
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if hasattr(self.config, "workerinput") or self.config.option.collectonly:
            return
        lines = self.terminal_lines()
        if lines:
            terminalreporter.write_sep("=", "compviz")
            for line in lines:
                terminalreporter.write_line(line)

    # --- reporting --------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Counts gate outcomes; runs on the controller under xdist too, from workers' reports."""
        if report.when != "call" and not (report.when == "setup" and report.failed):
            return
        # The location is our reportinfo path relative to the rootdir (it may start with ../):
        # unlike the node id, it names files outside the rootdir and of any suffix.
        path = Path(os.path.normpath(self.rootpath / report.location[0]))
        if not self.wants(path) or report.nodeid.endswith("::schema"):
            return
        summary = self.summaries.setdefault(path, FileSummary())
        if report.passed:
            summary.passed += 1
        elif report.failed:
            summary.failed += 1

    def write_artifacts(self) -> None:
        """Table and plot of every input whose schema passed; once, on the controller."""
        paths = sorted({*self.inputs, *self.summaries})
        if not paths:
            return  # a run without results files never pays for pandas and matplotlib
        from .report.artifacts import ArtifactClash, ArtifactPlan, render_artifacts, write_artifacts

        plan = ArtifactPlan(paths)
        for path in paths:
            loaded = self.load(path) if path.is_file() else None
            summary = self.summaries.setdefault(path, FileSummary())
            if loaded is None or loaded.results is None:
                continue
            try:
                artifacts = render_artifacts(loaded.results, self.output_dir)
                plan.claim(artifacts, loaded.shown)
                summary.written = write_artifacts(artifacts)
            except (OSError, ArtifactClash) as exc:
                summary.error = f"artifacts not written: {exc}"

    def unmatched_rules(self) -> list[Rule]:
        gated = [loaded.gates for loaded in self._loaded.values() if loaded.gates is not None]
        if not gated:
            return []  # no file was gated: nothing to say about rules
        matched = set().union(*(gates.matched_rules for gates in gated))
        return [rule for rule in self.rules if rule.source not in matched]

    def terminal_lines(self) -> list[str]:
        lines: list[str] = []
        for path in sorted(self.summaries):
            summary = self.summaries[path]
            loaded = self._loaded.get(path)
            shown = self.shown(path)
            if loaded is not None and loaded.problems:
                lines.append(f"{shown}: schema failed ({len(loaded.problems)} problem"
                             f"{'s' if len(loaded.problems) != 1 else ''}); no gates run, no artifacts written")
                continue
            lines.append(f"{shown}: {summary.passed} gate{'s' if summary.passed != 1 else ''} passed,"
                         f" {summary.failed} failed")
            if loaded is not None and loaded.gates is not None:
                ungated = [row.label for row in loaded.gates.rows if row.ungated]
                if ungated:
                    lines.append(f"  ungated rows ({len(ungated)}, no rule sets a check): " + "; ".join(ungated))
            if summary.written:
                lines.append("  wrote " + ", ".join(self.shown(p) for p in summary.written))
            if summary.error:
                lines.append(f"  {summary.error}")
        for rule in self.unmatched_rules():
            lines.append(f"rule matched no row (a typo?): {rule.source}: {rule.describe()}")
        return lines


def _file_config(config: pytest.Config) -> FileConfig:
    given = config.option.compviz_config
    try:
        if given:
            path = config.invocation_params.dir / given
            if not path.is_file():
                raise ConfigError(f"--compviz-config {given}: no such file")
            return load_config(path, whole_file_is_table=True)
        pyproject = config.rootpath / "pyproject.toml"
        if pyproject.is_file():
            return load_config(pyproject)
    except CompvizError as exc:
        raise pytest.UsageError(f"compviz: {exc}") from None
    return FileConfig(root=config.rootpath)


def _metrics(config: pytest.Config, file_config: FileConfig) -> tuple[Metric, ...]:
    declared = config.hook.pytest_compviz_metrics(config=config)
    if declared is None:
        return file_config.metrics or Settings().metrics
    if not isinstance(declared, (list, tuple)):
        raise pytest.UsageError(f"compviz: pytest_compviz_metrics must return a list, not {declared!r}")
    try:
        return tuple(m if isinstance(m, Metric) else metric_from_table(m, "pytest_compviz_metrics") for m in declared)
    except CompvizError as exc:
        raise pytest.UsageError(f"compviz: {exc}") from None


def _hook_rules(config: pytest.Config) -> list[Rule]:
    """Rules from ``pytest_compviz_rules`` implementations, in registration order (the rootdir's
    conftest.py before deeper ones, so deeper rules win), each named after where it came from."""
    rules: list[Rule] = []
    for impl in config.hook.pytest_compviz_rules.get_hookimpls():
        where = _plugin_label(config, impl.plugin_name)
        returned = impl.function(**{name: config for name in impl.argnames})  # pluggy allows fewer args
        if not isinstance(returned, (list, tuple, type(None))):
            raise pytest.UsageError(f"compviz: pytest_compviz_rules in {where} must return a list, not {returned!r}")
        for number, entry in enumerate(returned or [], start=1):
            try:
                rules.append(entry if isinstance(entry, Rule) else parse_rule(entry, f"rule {number}, {where}"))
            except RuleError as exc:
                raise pytest.UsageError(f"compviz: {exc}") from None
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


def _renumber(rule: Rule, number: int) -> Rule:
    return Rule(rule.source.replace("--compviz-rule", f"--compviz-rule {number}", 1), rule.selectors, rule.checks)

