"""Writing one run's outputs, the same for both faces: each valid input's tables and plots, then
``summary.md`` and ``compviz.json``, the GitHub step summary, and the saved baseline.

Everything comes from the ``FileRun``s and the ledger. What cannot be written is an error (the
run fails with its one line) and the other outputs are still written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_write
from ..core.ledger import FAILED, NOT_RUN, PASSED, SCHEMA, UNCHECKED, XFAILED, Ledger, Outcome, Status, row_verdicts

if TYPE_CHECKING:
    from ..core.pipeline import FileRun


@dataclass
class InputReport:
    """One input as the outputs describe it."""

    run: FileRun
    verdicts: dict  # row index -> core.ledger.RowVerdict
    written: list = field(default_factory=list)  # (artifact path, its model)
    tables: dict = field(default_factory=dict)  # a written table's path -> the cells it was made from
    error: str | None = None  # its artifacts could not be written
    schema: Status = PASSED  # the ledger's status of the file's schema item

    @property
    def schema_failed(self) -> bool:
        """A valid file whose schema item failed: a warning turned into an error, --compviz-strict."""
        return self.run.valid and self.schema == FAILED

    def counts(self) -> tuple[int, int, int]:
        """(passed, failed, not run) over the input's checks; a failed schema item counts as failed."""
        statuses = [status for verdict in self.verdicts.values() for status in verdict.statuses.values()]
        return statuses.count(PASSED), statuses.count(FAILED) + self.schema_failed, statuses.count(NOT_RUN)

    def xfailed(self) -> int:
        """Checks a rule marks xfail that failed as expected: in no count above."""
        return sum(status == XFAILED for verdict in self.verdicts.values() for status in verdict.statuses.values())

    def improvements_only(self) -> int:
        """Failed regression items whose row only got better (fail-on-improvement)."""
        from ..core.gates import REGRESSION

        if not self.run.valid:
            return 0
        assert self.run.gates is not None  # a valid run has its gates (core.pipeline.run_file sets both)
        return sum(row.regression is not None and row.regression.only_improved
                   and self.verdicts[row.index].statuses.get(REGRESSION) == FAILED for row in self.run.gates.rows)


@dataclass
class RunOutputs:
    """The run's record: every verdict (in ``reports``, from the ledger), each artifact's outcome,
    the baseline save's outcome and the run's outcome. Complete before summary.md and
    compviz.json are rendered from it, so they never say more than what happened."""

    reports: list[InputReport]
    files: list[Path] = field(default_factory=list)  # session files written (summary, json, baseline)
    errors: list[str] = field(default_factory=list)  # each fails the run
    notes: list[str] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  # stale artifacts of inputs that failed validation
    outcome: Outcome = Outcome.PASSED
    markdown: str = ""
    interrupted: bool = False  # the run, or the drawing at its end, was interrupted
    saved: bool = False  # the baseline was saved


def outcome_of(reports: list[InputReport], interrupted: bool, errors=()) -> Outcome:
    """``errors``: what already fails the run (a baseline that compares nothing, an output not
    written, a failed save): such a run is no baseline either."""
    if interrupted:
        return Outcome.WAS_INTERRUPTED
    if errors or any(not r.run.valid for r in reports) or any(r.counts()[1] for r in reports):
        return Outcome.FAILED
    if not reports or any(r.counts()[2] for r in reports):
        return Outcome.INCOMPLETE  # some checks did not run: those rows are no baseline
    return Outcome.PASSED


def mark_started(options) -> str | None:
    """Replace ``summary.md`` and ``compviz.json`` in the output folder with a record saying the
    run did not finish (each atomically). The previous compviz.json's artifact lists are kept in
    it, so stale artifacts can still be found. Returns an error line, or None."""
    from ..baseline.document import dumps, run_document
    from .summary import did_not_finish_markdown

    output_dir = options.output_dir
    previous = _previous_artifacts(output_dir)
    document = run_document([], [], None, outcome=Outcome.DID_NOT_FINISH, baseline=None,
                            notes=["the run that writes this folder started and has not finished (or was"
                                   " stopped): no outcome"], **{"previous artifacts": previous})
    try:
        atomic_write(output_dir / "compviz.json", dumps(document))
        atomic_write(output_dir / "summary.md", did_not_finish_markdown().encode())
    except OSError as exc:
        return f"{options.shown(output_dir)} not writable: {_reason(exc)}"
    return None


def _previous_artifacts(output_dir: Path) -> list[dict]:
    """``[{"file": ..., "artifacts": [...]}]`` from the folder's compviz.json (a finished run's
    inputs, or what an unfinished one kept)."""
    try:
        previous = json.loads((output_dir / "compviz.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(previous, dict):
        return []
    entries = previous.get("inputs") or previous.get("previous artifacts") or []
    return [{"file": e.get("file"), "artifacts": list(e.get("artifacts") or [])}
            for e in entries if isinstance(e, dict) and isinstance(e.get("artifacts") or [], list)]


def write_run(runs, ledger: Ledger, options, baseline=None, notes=(), errors=(), draw: bool = True) -> RunOutputs:
    """``runs``: the ``FileRun``s of the inputs, in order; ``options``: ``RunOptions``; ``draw``
    False (an interrupted run) writes no table or plot, only the summaries.

    In order: the tables and plots; the baseline save (decided and done); then the record is
    complete and summary.md, compviz.json and the step summary are rendered from it, and
    written last (compviz.json, the machine-read one, at the very end). A Ctrl-C while drawing
    stops the drawing and is recorded; the summaries are still written."""
    from ..baseline.document import dumps, git_commit
    from .summary import step_summary, summary_markdown, run_json

    output_dir = options.output_dir
    out = RunOutputs([InputReport(run, row_verdicts(ledger, run.key, run.gates) if run.valid else {},
                                  schema=ledger.status(run.key, None, SCHEMA))
                      for run in runs], notes=list(notes), errors=list(errors), interrupted=ledger.interrupted)
    previous = _previous_artifacts(output_dir)
    if draw:
        try:
            _draw(out, options, baseline)
        except KeyboardInterrupt:
            out.interrupted = True
            out.notes.append("the run was interrupted while drawing: not every table and plot was written (those"
                             " written are listed)")
    out.removed = _remove_stale(output_dir, previous, [r for r in out.reports if not r.run.valid],
                                {path for r in out.reports for path, _ in r.written})

    out.outcome = outcome_of(out.reports, out.interrupted, out.errors)
    commit = git_commit(options.config_file.parent if options.config_file else options.invocation)
    if _save_decision(out, options):
        _save(out, run_json(out.reports, baseline, commit, out.outcome, out.notes, options.settings), options)
        out.outcome = outcome_of(out.reports, out.interrupted, out.errors)  # a failed save fails the run

    history_section = ""
    if options.history is not None and not out.interrupted:  # the CI loop (docs/ci-loop.md)
        from .ciloop import record_and_trend

        history_section = record_and_trend(
            out, run_json(out.reports, baseline, commit, out.outcome, out.notes, options.settings), options, draw)
        out.outcome = outcome_of(out.reports, out.interrupted, out.errors)  # a history not written fails the run

    # The record is complete: every text below is rendered from it.
    document = run_json(out.reports, baseline, commit, out.outcome, out.notes, options.settings, out.errors)
    out.markdown = summary_markdown(out.reports, baseline, output_dir, out.notes, out.errors, out.interrupted)
    out.markdown += "\n" + history_section if history_section else ""
    try:
        encoded = dumps(document)
    except ValueError as exc:  # a figure JSON cannot hold (not finite)
        encoded = None
        out.errors.append(f"{options.shown(output_dir / 'compviz.json')} not written: {_reason(exc)}")
    for name, data in (("summary.md", out.markdown.encode()), ("compviz.json", encoded)):
        if data is None:
            continue
        try:
            atomic_write(output_dir / name, data)
            out.files.append(output_dir / name)
        except OSError as exc:
            out.errors.append(f"{options.shown(output_dir / name)} not written: {_reason(exc)}")
    step_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_file and options.step_summary:
        from .summary import STEP_SUMMARY_LIMIT

        try:
            # GitHub's cap is per step: what earlier commands wrote counts too.
            room = STEP_SUMMARY_LIMIT - (os.path.getsize(step_file) if os.path.exists(step_file) else 0)
            with open(step_file, "a", encoding="utf-8") as handle:
                shown = summary_markdown(out.reports, baseline, output_dir, out.notes, out.errors, out.interrupted,
                                         artifact_folder=options.shown(output_dir))
                shown += "\n" + history_section if history_section else ""
                handle.write(step_summary(shown, f"`{options.shown(output_dir)}/`", max(room, 0)))
        except OSError as exc:
            out.errors.append(f"GITHUB_STEP_SUMMARY {step_file} not written: {_reason(exc)}")
    return out


def _draw(out: RunOutputs, options, baseline) -> None:
    """Each valid input's tables, then its plots, rendered in memory and written atomically. A
    table needs no drawing: it is written even when its plot fails."""
    from .artifacts import ArtifactClash, ArtifactPlan, model_jobs, plan_stems, render_plots, render_table

    runs = [report.run for report in out.reports]
    stems = plan_stems([(run.results.path, [m.model for m in run.results.models()]) for run in runs
                        if run.results is not None])  # the valid runs
    plan = ArtifactPlan([run.path for run in runs])
    for report in out.reports:
        run = report.run
        if not run.valid:
            continue
        assert run.results is not None  # valid: it has its results
        try:
            jobs = model_jobs(run.results, options.output_dir, options.image_formats, gates=run.gates,
                              verdicts=report.verdicts, baseline=baseline, stems=stems[run.results.path],
                              table_format=options.table_format)
            tables = [render_table(job) for job in jobs]
            plan.claim(tables, run.shown)
            _write(report, tables)
            plots = [artifact for job in jobs for artifact in render_plots(job)]
            plan.claim(plots, run.shown)
            _write(report, plots)
            # Listed per model, its table then its plots, as they are linked.
            order = {job.output_dir / f"{job.stem}.{ext}": n
                     for n, job in enumerate(jobs) for ext in ("md", *job.image_formats)}
            report.written.sort(key=lambda item: (order.get(item[0], len(order)), item[0].suffix != ".md"))
        except (OSError, ArtifactClash) as exc:
            report.error = f"{run.shown}: {_unwritten(report)} not written: {_reason(exc)}"
        except Exception as exc:  # noqa: BLE001 - one input's drawing must not lose the other reports
            report.error = f"{run.shown}: {_unwritten(report)} not written: {type(exc).__name__}: {exc}"
        if report.error:
            out.errors.append(report.error)


def _write(report: InputReport, artifacts: list) -> None:
    from .artifacts import write_artifacts

    write_artifacts(artifacts)
    report.written += [(a.path, a.model) for a in artifacts]
    report.tables.update({a.path: a.cells for a in artifacts if a.cells is not None})


def _unwritten(report: InputReport) -> str:
    return "plot" if report.tables else "table and plot"


def _save_decision(out: RunOutputs, options) -> bool:
    """A baseline is the last good run: saving a failing, invalid or interrupted one would let
    quality creep down run after run."""
    if options.save_baseline is None:
        return False
    # Failed schema items count; improvements alone do not: saving them is how a reference is refreshed.
    failed = sum(r.counts()[1] - r.improvements_only() for r in out.reports)
    invalid = sum(not r.run.valid for r in out.reports)
    why = ("the run failed: " + out.errors[0] if out.errors else
           f"{failed} gate{'s' if failed != 1 else ''} failed" if failed else
           f"{invalid} input{'s' if invalid != 1 else ''} invalid" if invalid else
           "the run was interrupted" if out.interrupted else
           "no results file was read" if not out.reports else "")
    if why:
        out.notes.append(f"baseline not saved to {options.shown(options.save_baseline)}: {why}")
        return False
    return True


def _vouched(row: dict) -> bool:
    """Every check of the row ran, and none was an expected failure. (A row of a run saved for its
    improvements may still have a deselected check: its verdict then says failed, not not run.)"""
    statuses = [gate["status"] for gate in row.get("gates") or []]
    statuses += [row[part]["status"] for part in ("regression", "pareto", "strict")
                 if isinstance(row.get(part), dict) and "status" in row[part]]
    return not any(status in UNCHECKED for status in statuses)


def _save(out: RunOutputs, document: dict, options) -> None:
    """Rows whose checks did not all run, or that carry an expected failure, are not saved: the
    file keeps their previous values (an xfailed row saved would make its worse figures the
    reference once the mark is dropped)."""
    from ..baseline.load import BaselineError, key_of, missing_baseline_note
    from ..baseline.store import save_baseline

    unvouched = [row for row in document["rows"] if not _vouched(row)]
    keep = {key_of(row) for row in unvouched}
    saved = {**document, "rows": [row for row in document["rows"] if _vouched(row)]}
    if document.get("outcome") == Outcome.FAILED:  # saved anyway: its only failures were rows that got better
        saved["outcome"] = Outcome.IMPROVED
    shown = options.shown(options.save_baseline)
    try:
        save_baseline(options.save_baseline, saved, shown, keep)
        out.files.append(options.save_baseline)
        out.saved = True
        missing = missing_baseline_note(options.baseline_shown) if options.baseline is not None else None
        if options.baseline == options.save_baseline and missing in out.notes:
            # The first run on main: not "no such file" beside "wrote FILE".
            out.notes[out.notes.index(missing)] = f"no baseline yet; this run saved as {shown}"
        if keep:
            out.notes.append(f"baseline {shown}: " + ("1 row not run (or xfailed) this time keeps its saved values"
                             if len(keep) == 1 else f"{len(keep)} rows not run (or xfailed) this time keep their"
                             " saved values"))
    except BaselineError as exc:
        out.errors.append(f"baseline not saved: {exc}")
    except OSError as exc:
        out.errors.append(f"baseline not saved: {shown}: {_reason(exc)}")
    except ValueError as exc:  # a figure JSON cannot hold (not finite)
        out.errors.append(f"baseline not saved: {shown}: {exc}")


def _remove_stale(output_dir: Path, previous: list[dict], invalid: list[InputReport], keep: set) -> list[Path]:
    """An input this run could not validate must not leave the previous run's table and plot to
    be uploaded as current: remove those the previous ``compviz.json`` in the folder (``previous``,
    read before this run replaced it) lists for it (never a glob, which could hit another
    input's files)."""
    if not invalid:
        return []
    removed = []
    shown = {r.run.shown for r in invalid}
    for entry in previous:
        if entry.get("file") not in shown:
            continue
        for name in entry.get("artifacts", []):
            target = output_dir / str(name)
            if Path(str(name)).name != str(name) or target in keep or name in ("summary.md", "compviz.json"):
                continue
            try:
                target.unlink()
                removed.append(target)
            except OSError:
                pass
    return removed


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}" + (f" ({exc.filename})" if exc.filename else "")
    return str(exc)
