"""The end of a session on the controller: the ledger from what pytest reported, the file runs
the outputs need (the controller of an xdist run collected nothing: it runs each file through
the pipeline once, which costs less than shipping frames from the workers), and the outputs."""

from __future__ import annotations

from ..core.ledger import FAILED, NOT_RUN, SCHEMA, XFAILED, Ledger
from ..core.messages import plural


def finish_run(session, interrupted: bool):
    """``session``: ``CompvizSession``. Returns (RunOutputs, whether the run must fail)."""
    paths = [path for path in session.paths_to_report(interrupted) if path.is_file()]
    if not paths and not session.started:
        return None, False  # a run without results files writes nothing and pays for nothing
    from ..core.pipeline import baseline_problems
    from ..report.outputs import write_run

    runs = [session.file_run(path) for path in paths]
    ledger = fill_ledger(runs, session.reports())
    ledger.interrupted = interrupted
    errors = baseline_problems(runs, session.baseline)
    for run in runs:
        # Asked to gate an input that is invalid: the run fails whatever -k or -m selected.
        if not run.valid and ledger.status(run.key, None, SCHEMA) != FAILED:
            errors.append(f"{run.shown}: invalid ({plural(len(run.problems), 'problem')}), and its schema item"
                          " did not run; run it to see them")
    notes = list(session.notes)
    if interrupted:
        notes.append("the run was interrupted: the counts are of what ran; tables and plots not drawn")
    elif session.stopped_early:
        notes.append(f"the run stopped early ({session.stopped_early}): the counts are of what ran")
    outputs = write_run(runs, ledger, session.options, session.baseline, notes, errors, draw=not interrupted)
    return outputs, bool(outputs.errors)


def fill_ledger(runs, reports) -> Ledger:
    """Each report's (input, row, check) identity, as the item carried it, to its status."""
    by_key = {run.key: run for run in runs}
    indexes = {run.key: {row.index for row in run.gates.rows} if run.valid else set() for run in runs}
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
        if status == XFAILED and run.gates.row(index).xfail_reason(check) is None:
            status = NOT_RUN  # xfailed by the user's own mark, not a rule's: it did not run as a gate
        ledger.record(key, index, check, status)
    return ledger
