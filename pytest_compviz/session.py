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

from .baseline import BaselineError, Tolerances
from .config import ConfigError, FileConfig, load_config, metric_from_table
from .plugin import names_csv
from .problems import CompvizError, InputUnusable, InvalidResults, Problem, check_input_path
from .rules import MAX_ERROR_INCREASE, MAX_RATE_DECREASE, Rule, RuleError, parse_rule, parse_tolerance
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
    written: list[tuple[Path, str]] = field(default_factory=list)  # (artifact, model)
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
        self.tolerances = _tolerances(option.compviz_regression_tolerance, file_config)
        named_csv = config.args_source == pytest.Config.ArgsSource.ARGS and names_csv(config.args)
        # A run that can't collect a results file (plain `pytest tests/`) doesn't need the baseline,
        # which may not exist yet.
        may_collect = bool(self.inputs or self.file_globs or named_csv)
        self.baseline, self.notes = _baseline(config, file_config, self.settings) if may_collect else (None, [])
        save = option.compviz_save_baseline
        self.save_baseline = Path(os.path.normpath(invocation / save)) if save else None
        self.outputs_written: list[Path] = []
        self.interrupted = False

        # CSVs named on the command line are collected like test files.
        named = config.args if config.args_source == pytest.Config.ArgsSource.ARGS else []
        self.explicit = {Path(os.path.normpath(invocation / arg.split("::")[0])) for arg in named}
        self._loaded: dict[Path, Loaded] = {}
        self._wanted: dict[Path, bool] = {}
        self._report_paths: dict[str, Path | None] = {}  # report location -> results file, if one
        self.summaries: dict[Path, FileSummary] = {}

    # --- collection -------------------------------------------------------------------------

    def wants(self, path: Path) -> bool:
        path = Path(os.path.normpath(path))
        if path not in self._wanted:  # asked once per file, then per report: remember
            self._wanted[path] = self._decide_wanted(path)
        return self._wanted[path]

    def _decide_wanted(self, path: Path) -> bool:
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
            except Exception as exc:  # noqa: BLE001 - a reader bug must fail this file, not the run
                loaded.problems = [Problem(shown, f"could not be read: {type(exc).__name__}: {exc}"
                                                  " (a pytest-compviz bug: please report it with the file)")]
            else:
                loaded.gates = evaluate(loaded.results, self.rules, self.baseline, self.tolerances, self.strict)
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
        self.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        self.write_outputs()
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

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list, session) -> None:
        """pytest-html (runs after our sessionfinish): each model's plot, embedded so that a
        --self-contained-html report shows it, and its table."""
        import base64
        import html

        for path in sorted(self.summaries):
            written = self.summaries[path].written
            if not written:
                continue
            prefix.append(f"<h2>compviz: {html.escape(self.shown(path))}</h2>")
            for artifact, model in written:
                try:
                    data = artifact.read_bytes()
                except OSError:
                    continue
                if artifact.suffix == ".png":
                    prefix.append(f'<p><img alt="{html.escape(model)}" style="max-width:100%" '
                                  f'src="data:image/png;base64,{base64.b64encode(data).decode()}"></p>')
                elif artifact.suffix == ".md":
                    prefix.append(f"<pre>{html.escape(data.decode())}</pre>")

    # --- reporting --------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Counts gate outcomes; runs on the controller under xdist too, from workers' reports."""
        if report.when != "call" and not (report.when == "setup" and report.failed):
            return
        # The location is our reportinfo path relative to the rootdir (it may start with ../):
        # unlike the node id, it names files outside the rootdir and of any suffix.
        location = report.location[0]
        if location not in self._report_paths:  # once per file, not per report
            path = Path(os.path.normpath(self.rootpath / location))
            self._report_paths[location] = path if self.wants(path) else None
        path = self._report_paths[location]
        if path is None:
            return
        summary = self.summaries.setdefault(path, FileSummary())  # under xdist: how files become known
        if report.nodeid.endswith("::schema"):
            return  # the summary counts gates
        if report.passed:
            summary.passed += 1
        elif report.failed:
            summary.failed += 1

    def write_outputs(self) -> None:
        """Once, on the controller: each valid input's tables and plots; then summary.md and
        compviz.json, the GitHub step summary and the saved baseline, when asked for."""
        paths = sorted({*self.inputs, *self.summaries})
        if not paths:
            return  # a run without results files never pays for pandas and matplotlib
        from .baseline import dumps, git_commit, merged_baseline, sha256_of
        from .report.artifacts import ArtifactClash, ArtifactPlan, render_artifacts, write_artifacts
        from .report.files import atomic_write
        from .report.summary import STEP_SUMMARY_LIMIT, FileReport, run_json, step_summary, summary_markdown

        plan = ArtifactPlan(paths)
        reports: list[FileReport] = []
        for path in paths:
            if not path.is_file():
                continue
            loaded = self.load(path)
            summary = self.summaries.setdefault(path, FileSummary())
            if loaded.results is not None:
                try:
                    artifacts = render_artifacts(loaded.results, self.output_dir, gates=loaded.gates,
                                                 baseline=self.baseline)
                    plan.claim(artifacts, loaded.shown)
                    write_artifacts(artifacts)
                    summary.written = [(a.path, a.model) for a in artifacts]
                except (OSError, ArtifactClash) as exc:
                    summary.error = f"artifacts not written: {exc}"
            reports.append(FileReport(loaded.shown, path.name, sha256_of(path), loaded.results, loaded.gates,
                                      tuple(loaded.problems), tuple(summary.written), summary.error))

        save = self.save_baseline is not None
        if save:
            # A baseline is the last good run: saving a failing or partial one would let quality
            # creep down. The gates' own outcomes count, run or deselected.
            failed = sum(row.failed for loaded in self._loaded.values()
                         if loaded.gates is not None for row in loaded.gates.rows)
            invalid = sum(bool(loaded.problems) for loaded in self._loaded.values())
            why = (f"{failed} gate{'s' if failed != 1 else ''} failed" if failed else
                   f"{invalid} input{'s' if invalid != 1 else ''} invalid" if invalid else
                   "the run was interrupted" if self.interrupted else "")
            if why:
                self.notes.append(f"baseline not saved to {self.shown(self.save_baseline)}: {why}")
                save = False
        commit = git_commit(self.rootpath)
        document = run_json(reports, self.baseline, commit)
        markdown = summary_markdown(reports, self.baseline, self.output_dir, self.notes)
        try:
            for name, data in (("summary.md", markdown.encode()), ("compviz.json", dumps(document))):
                atomic_write(self.output_dir / name, data)
                self.outputs_written.append(self.output_dir / name)
        except OSError as exc:
            self.notes.append(f"summary.md / compviz.json not written: {exc}")
        step_file = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_file and not self.config.option.compviz_no_step_summary:
            try:
                # GitHub's cap is per step: what earlier commands wrote counts too.
                room = STEP_SUMMARY_LIMIT - (os.path.getsize(step_file) if os.path.exists(step_file) else 0)
                with open(step_file, "a", encoding="utf-8") as handle:
                    handle.write(step_summary(markdown, f"`{self.shown(self.output_dir)}/`", max(room, 0)))
            except OSError as exc:
                self.notes.append(f"GITHUB_STEP_SUMMARY not written: {exc}")
        if save:
            try:
                atomic_write(self.save_baseline, dumps(merged_baseline(self.save_baseline, document,
                                                                       self.shown(self.save_baseline))))
                self.outputs_written.append(self.save_baseline)
            except (OSError, BaselineError) as exc:
                self.notes.append(f"baseline not saved: {exc}")
        self.markdown = markdown

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
                if loaded.gates.new_rows:
                    lines.append(f"  new since the baseline ({len(loaded.gates.new_rows)}): "
                                 + "; ".join(loaded.gates.new_rows))
                if loaded.gates.missing_rows:
                    lines.append(f"  in the baseline, missing from this run ({len(loaded.gates.missing_rows)}): "
                                 + "; ".join(loaded.gates.missing_rows))
            if len(summary.written) > 4:  # a sweep: one line, not one path per model
                lines.append(f"  wrote {len(summary.written)} tables and plots to {self.shown(self.output_dir)}/")
            elif summary.written:
                lines.append("  wrote " + ", ".join(self.shown(p) for p, _ in summary.written))
            if summary.error:
                lines.append(f"  {summary.error}")
        for rule in self.unmatched_rules():
            lines.append(f"rule matched no row (a typo?): {rule.source}: {rule.describe()}")
        if self.baseline is not None:
            lines.append(f"baseline: {self.baseline.describe()}")
        if self.outputs_written:
            lines.append("wrote " + ", ".join(self.shown(p) for p in self.outputs_written))
        lines.extend(self.notes)
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


def _tolerances(option_value: dict | None, file_config: FileConfig) -> Tolerances:
    """--compviz-regression-tolerance, else [tool.compviz] regression-tolerance, else defaults."""
    found, source = option_value, "--compviz-regression-tolerance"
    if found is None and file_config.regression_tolerance is not None:
        source = f"regression-tolerance, {file_config.path.name}"
        try:
            found = parse_tolerance(file_config.regression_tolerance, source)
        except RuleError as exc:
            raise pytest.UsageError(f"compviz: {exc}") from None
    if found is None:
        return Tolerances()
    default = Tolerances()
    return Tolerances(found.get(MAX_ERROR_INCREASE, default.error), found.get(MAX_RATE_DECREASE, default.rate), source)


def _baseline(config: pytest.Config, file_config: FileConfig, settings: Settings):
    """The baseline run and notes for the summary; a missing file is a usage error unless
    --compviz-baseline-missing=warn."""
    given = config.option.compviz_baseline
    if given:
        path, shown = config.invocation_params.dir / given, given
    elif file_config.baseline:
        path, shown = file_config.root / file_config.baseline, file_config.baseline
    else:
        return None, []
    if not path.is_file() and config.option.compviz_baseline_missing == "warn":
        return None, [f"baseline {shown}: no such file; no regression checks this run"]
    from .baseline import load_baseline

    try:
        return load_baseline(path, shown, settings), []
    except BaselineError as exc:
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
