"""The end of a session on the controller: the ledger from what pytest reported, and the outputs
of the file runs (the controller of an xdist run collected nothing: it runs each file through
the pipeline once, which costs less than shipping frames from the workers)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..core.ledger import FAILED, NOT_RUN, SCHEMA, XFAILED, Ledger, Status
from ..core.messages import plural

if TYPE_CHECKING:
    from ..baseline.load import Baseline
    from ..config.options import RunOptions
    from ..core.pipeline import FileRun
    from ..report.outputs import RunOutputs
    from .state import Identity


def finish_run(runs: Sequence[FileRun], reports: Iterable[tuple[Identity, Status]], options: RunOptions,
               baseline: Baseline | None, notes: Sequence[str], interrupted: bool,
               stopped_early: str | None) -> RunOutputs:
    """The run's outputs written; their ``errors`` fail the run."""
    from ..core.pipeline import baseline_problems
    from ..report.outputs import write_run

    ledger = fill_ledger(runs, reports)
    ledger.interrupted = interrupted
    errors = baseline_problems(runs, baseline)
    for run in runs:
        # Asked to gate an input that is invalid: the run fails whatever -k or -m selected.
        if not run.valid and ledger.status(run.key, None, SCHEMA) != FAILED:
            errors.append(f"{run.shown}: invalid ({plural(len(run.problems), 'problem')}), and its schema item"
                          " did not run; run it to see them")
    notes = list(notes)
    if interrupted:
        notes.append("the run was interrupted: the counts are of what ran; tables and plots not drawn")
    elif stopped_early:
        notes.append(f"the run stopped early ({stopped_early}): the counts are of what ran")
    return write_run(runs, ledger, options, baseline, notes, errors, draw=not interrupted)


def fill_ledger(runs: Iterable[FileRun], reports: Iterable[tuple[Identity, Status]]) -> Ledger:
    """Each report's (input, row, check) identity, as the item carried it, to its status."""
    by_key = {run.key: run for run in runs}
    # run.gates is set exactly when the run is valid (core.pipeline.run_file sets it with the results)
    indexes = {run.key: {row.index for row in run.gates.rows} if run.gates is not None else set()
               for run in by_key.values()}
    ledger = Ledger()
    for (key, index, check), status in reports:
        run = by_key.get(key)
        if run is None:
            continue
        if index is None:
            ledger.record(key, None, check, status)
            continue
        if index not in indexes[key]:
            continue  # a row this run's reading of the file does not have (the file changed mid-run)
        assert run.gates is not None  # the index is one of its rows, so it has its gates
        if status == XFAILED and run.gates.row(index).xfail_reason(check) is None:
            status = NOT_RUN  # xfailed by the user's own mark, not a rule's: it did not run as a gate
        ledger.record(key, index, check, status)
    return ledger
