"""The outcome ledger: what ran and how it ended, per input, row and check.

The only source of every count and verdict in every output. The pytest plugin fills it from
pytest's reports (on the xdist controller too, from the workers' reports); the ``compviz``
command fills it from its own evaluation of every check. A check with no entry did not run
(deselected, stopped by ``-x``, interrupted): it is "not run", never "passed".
"""

from __future__ import annotations

from dataclasses import dataclass, field

PASSED, FAILED, NOT_RUN = "passed", "failed", "not run"
XFAILED = "xfailed"  # a check a rule marks xfail that failed, as expected: neither passed nor failed
SCHEMA = "schema"  # the check name of a file's validation item (row None)


@dataclass
class Ledger:
    entries: dict = field(default_factory=dict)  # (input key, row index or None, check) -> status
    interrupted: bool = False

    def record(self, input_key: str, row, check: str, status: str) -> None:
        # A check reported twice (setup and call) keeps its worst status.
        if self.entries.get((input_key, row, check)) != FAILED:
            self.entries[(input_key, row, check)] = status

    def status(self, input_key: str, row, check: str) -> str:
        return self.entries.get((input_key, row, check), NOT_RUN)


@dataclass(frozen=True)
class RowVerdict:
    """One row's checks as they ran: ``statuses`` maps check name -> status."""

    statuses: dict

    @property
    def verdict(self) -> str:
        """``failed`` if a check failed; ``not run`` if one did not run; ``passed`` if all passed;
        ``ungated`` when the row has no check."""
        values = set(self.statuses.values())
        if not values:
            return "ungated"
        if FAILED in values:
            return FAILED
        if NOT_RUN in values:
            return NOT_RUN
        # An xfailed check vouches for nothing: the row is no reference for a saved baseline.
        return XFAILED if XFAILED in values else PASSED


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
