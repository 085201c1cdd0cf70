"""The run's CI outputs: ``compviz.json`` (machine-readable; its rows are the baseline format, so
one run's output is the next run's baseline) and ``summary.md`` (per input and model, the gate
table with failures first, links to the tables and plots), plus its GitHub step-summary form."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..baseline import result_rows, run_document
from ..problems import Problem
from ..spec import ERROR, RATE

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub's limit per step, in bytes


@dataclass(frozen=True)
class FileReport:
    """One input of the run, as the outputs describe it."""

    shown: str  # the path as messages show it
    name: str  # the file name: what a baseline remembers
    sha256: str | None
    results: object | None = None  # results.Results, when the schema passed
    gates: object | None = None  # gates.FileGates
    problems: tuple[Problem, ...] = ()
    written: tuple[tuple[Path, str], ...] = ()  # (artifact path, its model)
    error: str | None = None  # artifacts that could not be written


def _gate_entries(row) -> list[dict]:
    return [
        {"check": o.check.name, "column": o.check.column, "kind": o.check.kind, "limit": o.check.limit,
         "value": o.value, "passed": o.passed, "rule": o.rule.source, "message": o.message}
        for o in row.outcomes
    ]


def _regression_entry(row) -> dict | None:
    r = row.regression
    if r is None:
        return None
    return {"baseline error": r.baseline_error, "baseline rate": r.baseline_rate,
            "error delta": r.error_delta, "rate delta": r.rate_delta,
            "max error increase": r.error_tolerance, "max rate decrease": r.rate_tolerance,
            "passed": r.passed, "source": r.source}


def run_rows(report: FileReport) -> list[dict]:
    """Baseline-format rows of one input, each with its gates and regression outcome."""
    if report.results is None:
        return []
    rows = result_rows(report.results, report.name)
    for row, gates in zip(rows, report.gates.rows):
        row["gates"] = _gate_entries(gates)
        row["regression"] = _regression_entry(gates)
        row["passed"] = not gates.failed
    return rows


def run_json(reports: list[FileReport], baseline, commit: str | None) -> dict:
    inputs, rows = [], []
    for report in reports:
        file_rows = run_rows(report)
        rows += file_rows
        inputs.append({
            "name": report.name, "file": report.shown, "sha256": report.sha256,
            "valid": report.results is not None,
            "problems": [str(p) for p in report.problems],
            "gates passed": sum(row.gate_counts()[0] for row in report.gates.rows) if report.gates else 0,
            "gates failed": sum(row.gate_counts()[1] for row in report.gates.rows) if report.gates else 0,
            "regressions": sum(1 for r in file_rows if r["regression"] and not r["regression"]["passed"]),
            "new rows": list(report.gates.new_rows) if report.gates else [],
            "missing rows": list(report.gates.missing_rows) if report.gates else [],
            "artifacts": [path.name for path, _ in report.written],
        })
    return run_document(inputs, rows, commit, baseline=baseline.describe() if baseline else None)


# --- summary.md ----------------------------------------------------------------------------------


def _limits(row) -> str:
    parts = []
    for o in row.outcomes:
        if o.check.column == ERROR:
            parts.append(f"error {'≤' if o.check.kind == 'max' else '≥'} {o.check.limit:.1%}")
        elif o.check.column == RATE:
            parts.append(f"rate {'≥' if o.check.kind == 'min' else '≤'} {o.check.limit:g}x")
        else:
            parts.append(f"{o.check.column} {'≥' if o.check.kind == 'min' else '≤'} {o.check.limit:g}")
    return ", ".join(parts)


def _delta(row) -> str:
    r = row.regression
    if r is None:
        return ""
    return f"{r.error_delta * 100:+.2f} pp, {r.rate_delta:+.2f}x"


def _result(row) -> str:
    if row.failed:
        return "❌ FAIL"
    if row.ungated:
        return "ungated"
    return "✅ pass"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(reports: list[FileReport], baseline, output_dir: Path, notes: list[str] = ()) -> str:
    passed = failed = 0
    sections: list[str] = []
    for report in reports:
        if report.results is None:
            sections.append(f"## {_cell(report.shown)}\n\n❌ **invalid data**, no gates run, no artifacts:\n\n"
                            + "\n".join(f"- `{_cell(p)}`" for p in report.problems) + "\n")
            continue
        by_model: dict[str, list] = {}
        for row in report.gates.rows:
            by_model.setdefault(row.model, []).append(row)
            row_passed, row_failed = row.gate_counts()
            passed, failed = passed + row_passed, failed + row_failed
        for model, rows in by_model.items():
            links = [f"[{path.name}]({_link(path, output_dir)})" for path, owner in report.written
                     if owner == model]
            lines = [f"## {_cell(report.shown)} · {_cell(model)}", ""]
            if links:
                lines += ["Artifacts: " + " · ".join(links), ""]
            lines += ["| row | error | rate | limits | vs baseline | result |",
                      "|:--|--:|--:|:--|:--|:--|"]
            ordered = sorted((r for r in rows if not r.is_baseline), key=lambda r: not r.failed)
            for row in ordered:
                figures = dict(row.properties)
                lines.append(f"| {_cell(row.label)} | {figures[ERROR]:.1%} | {figures[RATE]:.1f}x | "
                             f"{_cell(_limits(row))} | {_delta(row)} | {_result(row)} |")
            sections.append("\n".join(lines) + "\n")
            for row in ordered:
                if row.failed:
                    for o in row.outcomes:
                        if not o.passed:
                            sections.append(f"- ❌ {_cell(o.message)}")
                    if row.regression is not None and not row.regression.passed:
                        sections.append(f"- ❌ {_cell(row.regression_message(baseline))}")
                    if row.strict and row.ungated:
                        sections.append(f"- ❌ {_cell(row.strict_message)}")
        if report.gates.new_rows:
            sections.append("New since the baseline: " + "; ".join(map(_cell, report.gates.new_rows)) + "\n")
        if report.gates.missing_rows:
            sections.append("In the baseline, missing from this run: "
                            + "; ".join(map(_cell, report.gates.missing_rows)) + "\n")
        if report.error:
            sections.append(f"⚠️ {_cell(report.error)}\n")
    head = [f"# compviz: {passed} gate{'s' if passed != 1 else ''} passed, {failed} failed", ""]
    if baseline is not None:
        head += [f"Compared with the baseline run {_cell(baseline.describe())}.", ""]
    head += [f"⚠️ {_cell(note)}\n" for note in notes]
    return "\n".join(head + sections).rstrip() + "\n"


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
