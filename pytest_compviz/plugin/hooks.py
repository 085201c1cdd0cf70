"""The session's hook implementations, registered as a plugin by ``pytest_configure``: thin, each
reads or fills the run's ``RunState``; the computing is done by ``core`` and ``report``, the end of
the run by ``finish``, the text by ``report.console``."""

from __future__ import annotations

import pytest

from ..config.options import describe_config
from ..core.ledger import FAILED, NOT_RUN, PASSED, XFAILED
from .state import RunState


class CompvizHooks:
    def __init__(self, config: pytest.Config, state: RunState):
        self.config = config
        self.state = state

    def pytest_report_header(self, config: pytest.Config) -> str | None:
        return describe_config(self.state.options)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.state.requested or self.state.names_csv():
            self.state.mark_started()

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
        self.state.record(identity, status)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        state = self.state
        if not state.writes_outputs:
            return  # xdist workers and --collect-only write nothing
        if exitstatus in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
            return  # the folder says the run did not finish, if it was marked
        stopped_early = _stopped_early(self.config)
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED and not stopped_early
        paths = [path for path in state.paths_to_report(interrupted) if path.is_file()]
        if not paths and not state.started:
            return  # a run without results files writes nothing and pays for nothing
        from .finish import finish_run

        try:
            runs = [state.file_run(path) for path in paths]
            state.outputs = finish_run(runs, state.reports, state.options, state.baseline, state.notes,
                                       interrupted, stopped_early)
        except KeyboardInterrupt:  # a second Ctrl-C while writing: the folder says the run did not finish
            session.exitstatus = pytest.ExitCode.INTERRUPTED
            return
        if state.outputs.interrupted:
            session.exitstatus = pytest.ExitCode.INTERRUPTED  # Ctrl-C while drawing
        elif state.outputs.errors and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a lost report must not pass CI

    def pytest_terminal_summary(self, terminalreporter) -> None:
        outputs = self.state.outputs
        if outputs is None:
            return
        from ..report.console import run_lines

        options = self.state.options
        lines = run_lines(outputs, options, self.state.baseline, options.rules, verbose=self.config.option.verbose > 0)
        if lines:
            terminalreporter.write_sep("=", "compviz")
            for line in lines:
                terminalreporter.write_line(line)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list, session) -> None:
        from .html import results_summary

        if self.state.outputs is not None:
            prefix.extend(results_summary(self.state.outputs))


def _stopped_early(config: pytest.Config) -> str | None:
    """Why pytest-xdist's controller stopped the run early (``-x``, ``--maxfail``): it raises an
    interruption, which is not a Ctrl-C, and the run is reported as serial ``-x`` is."""
    dsession = config.pluginmanager.getplugin("dsession")
    reason = getattr(dsession, "shouldstop", None)
    if not isinstance(reason, str) or not reason:
        return None
    # A Ctrl-C that reached a worker stops the run with "<node> received keyboard-interrupt" (xdist's
    # dsession): that run was interrupted, not stopped by -x.
    return None if reason.endswith("keyboard-interrupt") else reason
