"""The end of a session on the controller: the ledger from what pytest reported, the file runs
the outputs need (the controller of an xdist run collected nothing: it runs each file through
the pipeline once, which costs less than shipping frames from the workers), and the outputs."""

from __future__ import annotations

from ..core.ledger import FAILED, NOT_RUN, SCHEMA, XFAILED, Ledger
from ..core.messages import plural
from .nodes import row_names


def finish_run(session, interrupted: bool):
    """``session``: ``CompvizSession``. Returns (RunOutputs, whether the run must fail)."""
    paths = [path for path in session.paths_to_report(interrupted) if path.is_file()]
    if not paths:
        return None, False  # a run without results files writes nothing and pays for nothing
    from ..core.pipeline import baseline_problems
    from ..report.outputs import write_run

    runs = [session.file_run(path) for path in paths]
    ledger = fill_ledger(runs, session.reports(), session.rootpath)
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
    outputs = write_run(runs, ledger, session.options, session.baseline, notes, errors, draw=not interrupted)
    return outputs, bool(outputs.errors)


def fill_ledger(runs, reports, rootpath) -> Ledger:
    """Each reported item to (input, row, check): the row's node name identifies it, as
    ``nodes.row_names`` gives it for the run's rows."""
    import os
    from pathlib import Path

    by_path = {run.path: run for run in runs}
    names = {run.path: {name: index for index, name in row_names(run.gates).items()} if run.valid else {}
             for run in runs}
    ledger = Ledger()
    for location, nodeid, status in reports:
        path = Path(os.path.normpath(rootpath / location))
        run = by_path.get(path)
        if run is None:
            continue
        parts = nodeid.split("::")
        if len(parts) == 2 and parts[-1] == SCHEMA:
            ledger.record(run.key, None, SCHEMA, status)
        elif len(parts) >= 3 and parts[-2] in names[path]:
            index, check = names[path][parts[-2]], parts[-1]
            if status == XFAILED and run.gates.row(index).xfail_reason(check) is None:
                status = NOT_RUN  # xfailed by the user's own mark, not a rule's: it did not run as a gate
            ledger.record(run.key, index, check, status)
    return ledger

