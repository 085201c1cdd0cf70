"""The run's CI outputs: ``compviz.json`` (machine-readable; its rows are the baseline format, so
one run's output is the next run's baseline) and ``summary.md`` (per input and model, the gate
table with failures first, links to the tables and plots), plus its GitHub step-summary form.

Every status comes from the ledger (``core.ledger``): a check that did not run says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..baseline.document import result_rows, run_document
from ..core.gates import GATED, REGRESSION
from ..core.window import WINDOW
from ..core.ledger import FAILED, NOT_RUN, PASSED, XFAILED, Verdict
from ..config.rules import MAX_ERROR, PARETO
from ..core.messages import check_message, dominance_figures, plural
from ..spec import ERROR, RATE
from .paired_summary import paired_limit, paired_lines, row_figures

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub's limit per step, in bytes


def _gate_entries(row, statuses: dict) -> list[dict]:
    entries = []
    for o in row.outcomes:
        entry = {"check": o.check.name, "column": o.check.column, "kind": o.check.kind, "limit": o.check.limit,
                 "value": o.value, "status": statuses[o.check.name], "rule": o.rule.source,
                 "message": check_message(row, o.check.name)}
        if o.z is not None:
            entry.update({"stderr": o.stderr, "significance": o.z, "bound": o.bounded})
        if o.xfail is not None:
            entry["xfail"] = o.xfail
        entries.append(entry)
    return entries


def _regression_entry(row, statuses: dict) -> dict | None:
    r = row.regression
    if r is None:
        return None
    entry = {"baseline error": r.baseline_error, "baseline rate": r.baseline_rate,
             "error delta": r.error_delta, "rate delta": r.rate_delta,
             "max error increase": r.error_tolerance, "max rate decrease": r.rate_tolerance,
             "status": statuses[REGRESSION], "source": r.source}
    if r.delta_stderr is not None:
        entry["error delta stderr"] = r.delta_stderr
    if r.significance is not None:
        entry["significance"] = r.significance
    if r.fail_on_improvement:
        entry["fail on improvement"] = True
    if row.regression_xfail is not None:
        entry["xfail"] = row.regression_xfail
    return entry


def _pareto_entry(row, statuses: dict) -> dict | None:
    """Whether another row of the model dominates this one; the check's status where a rule sets
    ``pareto = true``. None for the baseline row, which takes no part."""
    if row.is_reference:
        return None
    by = row.dominated_by
    entry = {"dominated by": by.label if by else None, "dominating error": by.error if by else None,
             "dominating rate": by.rate if by else None}
    if row.pareto is not None:
        entry.update(status=statuses[PARETO], rule=row.pareto.source, message=check_message(row, PARETO))
    return entry


def run_rows(report) -> list[dict]:
    """Baseline-format rows of one input (``outputs.InputReport``), each with its checks' statuses
    and its verdict."""
    run = report.run
    if not run.valid:
        return []
    rows = result_rows(run.results, run.name)
    for row, gates in zip(rows, run.gates.rows):
        statuses = report.verdicts[gates.index].statuses
        row["gates"] = _gate_entries(gates, statuses)
        row["regression"] = _regression_entry(gates, statuses)
        if gates.error_stderr is not None:
            row[f"{ERROR} stderr"] = gates.error_stderr
        row["pareto"] = _pareto_entry(gates, statuses)
        if gates.window is not None:
            w = gates.window
            row["window"] = {"status": statuses[WINDOW], "test": w.method, "why": w.why, "runs": w.runs,
                             "bound": w.bound, "mean": w.mean, "message": check_message(gates, WINDOW)}
        if GATED in statuses:
            row["strict"] = {"status": statuses[GATED], "message": check_message(gates, GATED)}
        row.update(row_figures(run.results.derived, gates.index))
        if gates.index in run.results.paired:
            row["paired"] = [pairing.figures() for pairing in run.results.paired[gates.index]]
        row["verdict"] = Verdict.REFERENCE if gates.is_reference else report.verdicts[gates.index].verdict
    return rows


def run_json(reports, baseline, commit: str | None, outcome: str, notes=(), settings=None, errors=()) -> dict:
    """compviz.json. ``errors``: what failed the run besides its gates (a baseline not saved, a
    history not written, an output not written), so that a reader of this file alone (``compviz
    comment``) can say why a run whose gates all passed failed."""
    inputs, rows = [], []
    for report in reports:
        file_rows = run_rows(report)
        rows += file_rows
        passed, failed, not_run = report.counts()
        gates = report.run.gates
        inputs.append({
            "name": report.run.name, "file": report.run.shown, "sha256": report.run.sha256,
            "valid": report.run.valid,
            "problems": [str(p) for p in report.run.problems],
            "gates passed": passed, "gates failed": failed, "gates not run": not_run,
            "gates xfailed": report.xfailed(),
            "schema": report.schema if report.run.valid else FAILED,
            "regressions": sum(1 for r in file_rows if r["regression"] and r["regression"]["status"] == FAILED),
            "new rows": list(gates.new_rows) if gates else [],
            "missing rows": list(gates.missing_rows) if gates else [],
            "artifacts": [path.name for path, _ in report.written],
            "error": report.error,
        })
    return run_document(inputs, rows, commit, settings, outcome=outcome,
                        baseline=baseline.describe() if baseline else None, notes=list(notes),
                        errors=list(errors))


# --- summary.md ----------------------------------------------------------------------------------


def _limits(row) -> str:
    parts = []
    for o in row.outcomes:
        paired = paired_limit(o.check)
        if paired is not None:
            parts.append(paired)
        elif o.check.column == ERROR:
            parts.append(f"error {'≤' if o.check.kind == 'max' else '≥'} {o.check.limit:.1%}")
        elif o.check.column == RATE:
            parts.append(f"rate {'≥' if o.check.kind == 'min' else '≤'} {o.check.limit:g}x")
        else:
            parts.append(f"'{o.check.column}' {'≥' if o.check.kind == 'min' else '≤'} {o.check.limit:g}")
    if row.pareto is not None:
        parts.append("on the Pareto front")
    return "; ".join(parts)


def _delta(row) -> str:
    r = row.regression
    if r is None:
        return ""
    return f"{r.error_delta * 100:+.2f} pp, {r.rate_delta:+.2f}x"


_RESULT = {FAILED: "❌ FAIL", PASSED: "✅ pass", NOT_RUN: "⏸ not run", XFAILED: "⚠️ xfail", Verdict.UNGATED: "ungated"}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def headline(passed: int, failed: int, not_run: int, interrupted: bool, xfailed: int = 0) -> str:
    text = f"{plural(passed, 'gate')} passed, {failed} failed"
    if xfailed:
        text += f", {xfailed} xfailed"
    if not_run:
        text += f", {not_run} not run"
    if interrupted:
        text += " (the run was interrupted)"
    return text


def summary_markdown(reports, baseline, output_dir: Path, notes=(), errors=(), interrupted: bool = False,
                     artifact_folder: str | None = None) -> str:
    """``summary.md``: links to the artifacts beside it. With ``artifact_folder`` (the step summary,
    shown on a CI run's page, where a relative link leads nowhere) the artifacts are named, with
    the folder they are in, instead of linked."""
    passed = failed = not_run = xfailed = 0
    sections: list[str] = []
    description = baseline.describe() if baseline else ""
    for report in reports:
        run = report.run
        if not run.valid:
            sections.append(f"## {_cell(run.shown)}\n\n❌ **invalid data**, no gates run, no artifacts:\n\n"
                            + "\n".join(f"- `{_cell(p)}`" for p in run.problems) + "\n")
            continue
        counts = report.counts()
        passed, failed, not_run = passed + counts[0], failed + counts[1], not_run + counts[2]
        xfailed += report.xfailed()
        by_model: dict[str, list] = {}
        for row in run.gates.rows:
            by_model.setdefault(row.model, []).append(row)
        for model, rows in by_model.items():
            mine = [path for path, owner in report.written if owner == model]
            lines = [f"## {_cell(run.shown)} · {_cell(model)}", ""]
            if mine and artifact_folder is None:
                lines += ["Artifacts: " + " · ".join(f"[{path.name}]({_link(path, output_dir)})" for path in mine), ""]
            elif mine:
                assert artifact_folder is not None  # the branch above took the None case
                lines += [f"Artifacts, in `{_cell(artifact_folder)}/`: "
                          + " · ".join(f"`{_cell(_link(path, output_dir))}`" for path in mine), ""]
            lines += ["| row | error | rate | limits | vs baseline | result |",
                      "|:--|--:|--:|:--|:--|:--|"]
            verdicts = {row.index: report.verdicts[row.index] for row in rows}
            ordered = sorted((r for r in rows if not r.is_reference or r.outcomes),
                             key=lambda r: verdicts[r.index].verdict != FAILED)
            for row in ordered:
                figures = row.figures
                error = f"{figures.error:.1%}" + (f" ± {row.error_stderr * 100:.1f} pp" if row.error_stderr is not None else "")
                lines.append(f"| {_cell(row.label)} | {error} | {figures.rate:.1f}x | "
                             f"{_cell(_limits(row))} | {_delta(row)} | {_RESULT[verdicts[row.index].verdict]} |")
            sections.append("\n".join(lines) + "\n")
            for row in ordered:
                for check, status in verdicts[row.index].statuses.items():
                    if status == FAILED:
                        sections.append(f"- ❌ {_cell(check_message(row, check, description))}")
                    elif status == XFAILED:
                        sections.append(f"- ⚠️ xfail ({_cell(row.xfail_reason(check))}):"
                                        f" {_cell(check_message(row, check, description))}")
            sections += _pareto_lines(rows)
            sections += paired_lines(rows, run.results.paired, _cell)
        if run.gates.new_rows:
            sections.append("New since the baseline: " + "; ".join(map(_cell, run.gates.new_rows)) + "\n")
        if run.gates.missing_rows:
            sections.append("In the baseline, missing from this run: "
                            + "; ".join(map(_cell, run.gates.missing_rows)) + "\n")
        if report.schema_failed:
            sections.append(f"- ❌ {_cell(run.shown)}: its schema item failed (a warning raised as an error, or"
                            " --compviz-strict): see the run's output\n")
        if report.error:
            sections.append(f"❌ {_cell(report.error)}\n")
    head = [f"# compviz: {headline(passed, failed, not_run, interrupted, xfailed)}", ""]
    if baseline is not None:
        head += [f"Compared with the baseline run {_cell(baseline.describe())}.", ""]
    head += [f"❌ {_cell(error)}\n" for error in errors]
    head += [f"⚠️ {_cell(note)}\n" for note in notes]
    return "\n".join(head + sections).rstrip() + "\n"


def did_not_finish_markdown() -> str:
    """summary.md from the start of a run until its record is written (see
    ``outputs.mark_started``): what a run that was killed or stopped mid-way leaves."""
    return ("# compviz: incomplete: the run did not finish\n\n"
            "⚠️ The run that writes this folder started and did not finish (it is still running, or it was"
            " killed or stopped before writing its outcome). Nothing in this folder is a verdict: the tables"
            " and plots beside this file may be of this run or of an earlier one.\n")


def _pareto_lines(rows) -> list[str]:
    """Per dominated row, the row dominating it; then, for each max-relative-error limit the
    model's rows have (with its rule), the highest-rate row within it."""
    lines = [f"- ⚪ {_cell(row.label)} is dominated by {_cell(row.dominated_by.label)}"
             f" ({dominance_figures(row)})" for row in rows if row.dominated_by is not None]
    compared = [row for row in rows if not row.is_reference]
    limits = sorted({(o.check.limit, o.rule.source) for row in compared for o in row.outcomes
                     if o.check.name == MAX_ERROR})
    parts = []
    for limit, source in limits:
        within = [row for row in compared if row.figures.error <= limit + 1e-12]
        # The highest rate, then the lowest error, then the file's order.
        best = min(within, key=lambda r: (-r.figures.rate, r.figures.error), default=None)
        found = "none within" if best is None else (
            f"{_cell(best.label)}, {best.figures.rate:.1f}x at {best.figures.error:.1%}")
        parts.append(f"{limit:.1%} ({_cell(source)}): {found}")
    if parts:
        lines.append("\nBest compression within each rule's error limit: " + "; ".join(parts))
    return [line + "\n" if i == len(lines) - 1 else line for i, line in enumerate(lines)]


def _link(path: Path, output_dir: Path) -> str:
    return Path(os.path.relpath(path, output_dir)).as_posix().replace(" ", "%20")


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:g} MiB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def step_summary(markdown: str, artifact_hint: str, limit: int = STEP_SUMMARY_LIMIT) -> str:
    """``summary.md`` for ``$GITHUB_STEP_SUMMARY``: local images can't show there, so it says where
    the plots are; cut at a line under ``limit`` bytes, with a note, when too long. It starts
    with a blank line, so it never runs into what earlier steps wrote."""
    note = f"\n_Tables and plots: {artifact_hint} (upload it as a build artifact)._\n"
    text = "\n" + markdown + note
    if len(text.encode()) <= limit:
        return text
    cut_note = f"\n_… summary cut to fit {_size(limit)}; the whole summary.md is in {artifact_hint}._\n"
    budget = limit - len(cut_note.encode()) - len(note.encode()) - 1
    if budget < 0:
        return ""  # not even the notes fit in what is left of the step's summary
    kept, size = ["\n"], 0
    for line in markdown.splitlines(keepends=True):
        size += len(line.encode())
        if size > budget:
            break
        kept.append(line)
    return "".join(kept) + cut_note + note
