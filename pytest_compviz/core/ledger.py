"""The outcome ledger: what ran and how it ended, per input, row and check.

The only source of every count and verdict in every output. The pytest plugin fills it from
pytest's reports (on the xdist controller too, from the workers' reports); the ``compviz``
command fills it from its own evaluation of every check. A check with no entry did not run
(deselected, stopped by ``-x``, interrupted): it is "not run", never "passed".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """How one check ended, as the ledger, compviz.json and saved runs spell it."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not run"
    XFAILED = "xfailed"  # a check a rule marks xfail that failed, as expected: neither passed nor failed


class Verdict(StrEnum):
    """A row's verdict (compviz.json's ``verdict``): its checks' worst status, or one of these two."""

    PASSED = Status.PASSED.value
    FAILED = Status.FAILED.value
    NOT_RUN = Status.NOT_RUN.value
    XFAILED = Status.XFAILED.value
    UNGATED = "ungated"  # no check applies to the row
    REFERENCE = "reference"  # the reference row (fp32): the others are measured against it


class Outcome(StrEnum):
    """A run's outcome (compviz.json's and a saved run's ``outcome``)."""

    PASSED = Status.PASSED.value
    FAILED = Status.FAILED.value
    INCOMPLETE = "incomplete"  # some checks did not run: those rows are no baseline
    WAS_INTERRUPTED = "was interrupted"
    # From the moment a run that writes outputs starts until its record is written
    # (report.outputs.mark_started): never an earlier run's "passed" beside this run's files.
    DID_NOT_FINISH = "did not finish"
    # A saved run's outcome when the run failed only because rows were better than the old
    # baseline (fail-on-improvement): a refreshed baseline, which later runs may compare with.
    IMPROVED = "improved"


PASSED, FAILED, NOT_RUN, XFAILED = Status.PASSED, Status.FAILED, Status.NOT_RUN, Status.XFAILED
# The outcomes a run a later run compares with may have (baseline.load).
BASELINE_OUTCOMES = (Outcome.PASSED, Outcome.INCOMPLETE, Outcome.IMPROVED)
# Verdicts of rows whose checks did not all run as gates: such a row vouches for nothing.
UNCHECKED = (Verdict.NOT_RUN, Verdict.XFAILED)
SCHEMA = "schema"  # the check name of a file's validation item (row None)


@dataclass
class Ledger:
    entries: dict = field(default_factory=dict)  # (input key, row index or None, check) -> status
    interrupted: bool = False

    def record(self, input_key: str, row, check: str, status: Status) -> None:
        # A check reported twice (setup and call) keeps its worst status.
        if self.entries.get((input_key, row, check)) != FAILED:
            self.entries[(input_key, row, check)] = status

    def status(self, input_key: str, row, check: str) -> Status:
        return self.entries.get((input_key, row, check), NOT_RUN)


@dataclass(frozen=True)
class RowVerdict:
    """One row's checks as they ran: ``statuses`` maps check name -> status."""

    statuses: dict

    @property
    def verdict(self) -> Verdict:
        """``failed`` if a check failed; ``not run`` if one did not run; ``passed`` if all passed;
        ``ungated`` when the row has no check."""
        values = set(self.statuses.values())
        if not values:
            return Verdict.UNGATED
        if FAILED in values:
            return Verdict.FAILED
        if NOT_RUN in values:
            return Verdict.NOT_RUN
        # An xfailed check vouches for nothing: the row is no reference for a saved baseline.
        return Verdict.XFAILED if XFAILED in values else Verdict.PASSED


def row_verdicts(ledger: Ledger, input_key: str, gates) -> dict:
    """Row index -> ``RowVerdict`` for every row of ``gates`` (``core.gates.FileGates``)."""
    return {row.index: RowVerdict({check: ledger.status(input_key, row.index, check) for check in row.check_names()})
            for row in gates.rows}


def fill_from_gates(ledger: Ledger, input_key: str, gates) -> None:
    """Every check evaluated, as the ``compviz`` command runs them all."""
    ledger.record(input_key, None, SCHEMA, PASSED)
    for row in gates.rows:
        for check in row.check_names():
            ledger.record(input_key, row.index, check, row.expected_status(check))
