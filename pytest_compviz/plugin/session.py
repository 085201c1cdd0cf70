"""The run's state for the pytest plugin: its options, the file runs, the reports of what ran
(the ledger's source) and the session-end outputs. Registered as a plugin by ``pytest_configure``;
the computing is done by ``core`` and ``report``, the text by ``report.console``.
"""

from __future__ import annotations


import os
from pathlib import Path

import pytest

from ..config.files import ConfigError, FileConfig, metric_from_table, read_file_config
from ..config.options import Given, Ini, RunOptions, describe_config, resolve
from ..config.settings import PYTEST, SETTINGS, deprecations, given_values
from ..config.rules import Rule, RuleError, parse_rule
from ..core.ledger import FAILED, NOT_RUN, PASSED, XFAILED
from ..problems import CompvizError, InputUnusable, check_input_path
from ..spec import Metric
from .shared import named_args


class CompvizSession:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.rootpath = config.rootpath
        invocation = Path(config.invocation_params.dir)
        option = config.option
        try:
            file_config = read_file_config(option.compviz_config, invocation, self.rootpath, "--compviz-config")
            self._check_unloaded_conftests(invocation, file_config)
            values = given_values(option, PYTEST)
            given = Given(face=PYTEST, **{**values, "inputs": tuple(values["inputs"]), "rules": tuple(values["rules"]),
                                          "image_formats": tuple(values["image_formats"])},
                          deprecations=tuple(deprecations(option)))
            ini = Ini(**{s.field: (tuple(config.getini(s.ini_name)) if s.repeat else config.getini(s.ini_name))
                         for s in SETTINGS if s.ini})
            rootdir = self.rootpath if _inside(invocation, self.rootpath) else invocation
            self.options: RunOptions = resolve(
                given=given, file_config=file_config, invocation=invocation, rootdir=rootdir, ini=ini,
                hook_rules=tuple(_hook_rules(config)), hook_metrics=_hook_metrics(config))
        except CompvizError as exc:
            raise pytest.UsageError(f"compviz: {exc}") from None
        self.explicit = {Path(os.path.normpath(invocation / arg.split("::")[0])) for arg in named_args(config)}
        # The configured or given inputs this run collects: all of them with --compviz-input or no
        # path on the command line; none when paths are named (`pytest tests/test_unit.py`).
        named_paths = config.args_source == pytest.Config.ArgsSource.ARGS
        self.requested: set[Path] = (set(self.options.inputs) if option.compviz_inputs or not named_paths
                                     else set())
        for path, name in zip(self.options.inputs, self.options.input_names):
            if path in self.requested:
                try:
                    check_input_path(path, name)
                except InputUnusable as exc:
                    raise pytest.UsageError(f"compviz: input {exc}") from None
        # A run that can't collect a results file (`pytest tests/`) doesn't need the baseline,
        # which may not exist yet.
        may_collect = bool(self.requested or self.options.file_globs
                           or any(p.suffix.lower() == ".csv" for p in self.explicit))
        self.baseline, self.window, self.notes = None, None, []
        if may_collect:
            from ..history.reference import run_reference

            try:
                self.baseline, self.window, self.notes = run_reference(self.options)
            except CompvizError as exc:
                raise pytest.UsageError(f"compviz: {exc}") from None
        self._runs: dict[Path, object] = {}  # path -> core.pipeline.FileRun
        self._wanted: dict[Path, bool] = {}
        self._reports: list[tuple[tuple, str]] = []  # ((input key, row, check), status)
        self._reported: set[Path] = set()  # the inputs reports came from
        self._started = False  # the output folder says "did not finish" until the run's record is written
        self.outputs = None  # report.outputs.RunOutputs, once written

    @property
    def baseline_description(self) -> str:
        return self.baseline.describe() if self.baseline is not None else ""

    # --- start-up ---------------------------------------------------------------------------

    def _check_unloaded_conftests(self, invocation: Path, file_config: FileConfig) -> None:
        """A conftest.py between the invocation folder and the configuration's that implements a
        compviz hook but that pytest did not load (its rootdir was chosen from an input outside the
        project) would silently drop its rules: refuse to run."""
        top = file_config.path.parent.resolve() if file_config.path is not None else invocation.resolve()
        folder = invocation.resolve()
        while True:
            conftest = folder / "conftest.py"
            if conftest.is_file() and self.config.pluginmanager.get_plugin(str(conftest)) is None:
                try:
                    implements = "def pytest_compviz_" in conftest.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    implements = False
                if implements:
                    cut = self.config.known_args_namespace.confcutdir or self.rootpath
                    raise ConfigError(
                        f"{conftest} implements a pytest_compviz hook but pytest did not load it (rootdir"
                        f" {self.rootpath}, conftests loaded below {cut}); run pytest from the project without"
                        " a --confcutdir or --rootdir above it")
            if folder == top or folder.parent == folder or not _inside(folder, top):
                break
            folder = folder.parent

    def collection_args(self, args: list[str], source) -> list[str]:
        """What pytest collects. ``--compviz-input`` and no path: just the inputs, as ``pytest FILE``
        would; with paths, both. Inputs from the configuration are added to the test paths a plain
        ``pytest`` collects, but never to paths named on the command line."""
        inputs = [str(p) for p in self.options.inputs if p not in self.explicit]
        if self.config.option.compviz_inputs:
            named = list(args) if source == pytest.Config.ArgsSource.ARGS else []
            self.explicit |= set(self.options.inputs)
            return [*named, *inputs]
        if source == pytest.Config.ArgsSource.ARGS:
            return list(args)  # the configured inputs are not part of this run
        folders = [Path(os.path.normpath(self.config.invocation_params.dir / a)) for a in args]
        extra = [p for p in inputs if not any(_inside(Path(p), folder) for folder in folders)]
        return [*args, *extra]

    def pytest_report_header(self, config: pytest.Config) -> str | None:
        return describe_config(self.options)

    # --- collection -------------------------------------------------------------------------

    def wants(self, path: Path) -> bool:
        path = Path(os.path.normpath(path))
        if path not in self._wanted:  # asked once per file, then per report: remember
            self._wanted[path] = self._decide_wanted(path)
        return self._wanted[path]

    def _decide_wanted(self, path: Path) -> bool:
        if path in self.options.inputs:
            return True
        if path in self.explicit:
            return path.suffix.lower() == ".csv"
        from ..config.globs import matches_globs

        return matches_globs(path, self.rootpath, self.options.file_globs)

    def file_run(self, path: Path):
        """``path`` through the pipeline, once per session."""
        path = Path(os.path.normpath(path))
        if path not in self._runs:
            from ..core.pipeline import run_file

            try:
                self._runs[path] = run_file(path, self.options, self.baseline, window=self.window)
            except CompvizError as exc:  # an unusable input, or a rule its rows cannot use
                raise pytest.UsageError(f"compviz: {exc}") from None
        return self._runs[path]

    def file_warnings(self, run) -> list[str]:
        """What the file's schema item warns about (fails, with --compviz-strict)."""
        from ..core.pipeline import file_warnings

        return file_warnings(run, self.baseline)

    # --- the run ----------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """What ran; on the controller under xdist too, from the workers' reports. Each of our
        items' reports carries its (input, row, check) identity: nothing is read from node ids."""
        from .nodes import identity_of

        identity = identity_of(report)
        if identity is None:
            return  # a user's test: no work per report
        if report.when == "call":
            status = (PASSED if report.passed else FAILED if report.failed
                      else XFAILED if hasattr(report, "wasxfail") else NOT_RUN)
        elif report.when == "setup" and not report.passed:
            status = FAILED if report.failed else NOT_RUN
        else:
            return
        path = Path(identity[0])
        if path not in self._reported and self.wants(path):
            self._reported.add(path)
            self.mark_started()  # under xdist, the controller first hears of a file here
        if path in self._reported:
            self._reports.append((identity, status))

    # --- the outputs: marked unfinished when the run starts, its record written when it ends ----

    def _writes_outputs(self) -> bool:
        """Whether this process writes the run's outputs: not an xdist worker, not --collect-only."""
        return not hasattr(self.config, "workerinput") and not self.config.option.collectonly

    @property
    def started(self) -> bool:
        return self._started

    def mark_started(self) -> None:
        """Once a run will write outputs, summary.md and compviz.json say it did not finish until
        its record is written (``report.outputs.mark_started``): a run killed or stopped at any
        point never leaves an earlier run's "passed" in the folder."""
        if self._started or not self._writes_outputs():
            return
        self._started = True
        from ..report.outputs import mark_started

        mark_started(self.options)  # an unwritable folder is reported when the record is written

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.requested or any(p.suffix.lower() == ".csv" for p in self.explicit):
            self.mark_started()

    @property
    def stopped_early(self) -> str | None:
        """Why pytest-xdist's controller stopped the run early (``-x``, ``--maxfail``): it
        raises an interruption, which is not a Ctrl-C, and the run is reported as serial ``-x`` is."""
        dsession = self.config.pluginmanager.getplugin("dsession")
        reason = getattr(dsession, "shouldstop", None)
        return reason if isinstance(reason, str) and reason else None

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        if not self._writes_outputs():
            return  # xdist workers and --collect-only write nothing
        if exitstatus in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
            return  # the folder says the run did not finish, if it was marked
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED and not self.stopped_early
        if not self._started and not self.paths_to_report(interrupted):
            return  # a run without results files writes nothing and pays for nothing
        from .finish import finish_run

        try:
            self.outputs, failed = finish_run(self, interrupted)
        except KeyboardInterrupt:  # a second Ctrl-C while writing: the folder says the run did not finish
            session.exitstatus = pytest.ExitCode.INTERRUPTED
            return
        if self.outputs is not None and self.outputs.interrupted:
            session.exitstatus = pytest.ExitCode.INTERRUPTED  # Ctrl-C while drawing
        elif failed and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a lost report must not pass CI

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.outputs is None:
            return
        from ..report.console import run_lines

        lines = run_lines(self.outputs, self.options, self.baseline, self.options.rules,
                          verbose=self.config.option.verbose > 0)
        if lines:
            terminalreporter.write_sep("=", "compviz")
            for line in lines:
                terminalreporter.write_line(line)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list, session) -> None:
        from .html import results_summary

        if self.outputs is not None:
            prefix.extend(results_summary(self.outputs))

    # --- what finish.py reads ---------------------------------------------------------------

    def paths_to_report(self, interrupted: bool = False) -> list[Path]:
        """Every input of the run: given, configured and collected, named, and (under xdist) those
        the workers' reports name. After an interruption only those already read: a Ctrl-C
        during collection must not read the rest first."""
        if interrupted:  # read already, here or (xdist) by a worker whose reports arrived
            return sorted({*self._runs, *self._reported})
        named = {p for p in self.explicit if p.suffix.lower() == ".csv" and p.is_file()}
        return sorted({*self.requested, *named, *self._reported, *self._runs})

    def reports(self) -> list[tuple[tuple, str]]:
        return list(self._reports)


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


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
