"""The lines the terminal shows at the end of a run, for both faces (pure: the plugin's terminal
reporter and the ``compviz`` command only print them)."""

from __future__ import annotations

from ..core.messages import plural
from .summary import headline


def run_lines(outputs, options, baseline=None, rules=(), verbose: bool = False) -> list[str]:
    """``outputs``: ``report.outputs.RunOutputs``; ``rules``: the run's rules, for the typo guard;
    ``verbose``: also the files each manifest row was assembled from."""
    lines: list[str] = []
    shown = options.shown
    for report in outputs.reports:
        run = report.run
        if not run.valid:
            lines.append(f"{run.shown}: schema failed ({plural(len(run.problems), 'problem')}); no gates run,"
                         " no artifacts written")
            continue
        passed, failed, not_run = report.counts()
        lines.append(f"{run.shown}: {headline(passed, failed, not_run, False, report.xfailed())}")
        gates = run.gates
        ungated = [row.label for row in gates.rows if row.ungated]
        if ungated:
            lines.append(f"  ungated rows ({len(ungated)}, no rule sets a check): " + "; ".join(ungated))
        if gates.new_rows:
            lines.append(f"  new since the baseline ({len(gates.new_rows)}): " + "; ".join(gates.new_rows))
        if gates.missing_rows:
            lines.append(f"  in the baseline, missing from this run ({len(gates.missing_rows)}): "
                         + "; ".join(gates.missing_rows))
        if verbose:
            lines.extend(source_lines(run))
        if len(report.written) > 4:  # a sweep: one line, not one path per model
            lines.append(f"  wrote {len(report.written)} tables and plots to {shown(options.output_dir)}/")
        elif report.written:
            lines.append("  wrote " + ", ".join(shown(p) for p, _ in report.written))
    for rule in unmatched_rules(outputs, rules):
        lines.append(f"rule matched no row (a typo?): {rule.source}: {rule.describe()}")
    if baseline is not None:
        lines.append(f"baseline: {baseline.describe()}")
    if outputs.removed:
        lines.append("removed the previous run's artifacts of invalid inputs: "
                     + ", ".join(shown(p) for p in outputs.removed))
    if outputs.files:
        lines.append("wrote " + ", ".join(shown(p) for p in outputs.files))
    lines.extend(outputs.notes)
    lines.extend(f"error: {error}" for error in outputs.errors)
    return lines


def source_lines(run) -> list[str]:
    """A manifest's rows, each with the files it was assembled from: ``  line 4 (int4): lm-eval
    evals/int4/results_....json; model file models/int4/openvino_model.bin``."""
    sources = run.results.sources
    lines = []
    for row in run.gates.rows:
        found = sources.get(row.index)
        if found:
            lines.append(f"  line {row.line} ({row.label}): " + "; ".join(f"{kind} {file}" for kind, file, _ in found))
    return lines


def unmatched_rules(outputs, rules) -> list:
    gated = [r.run.gates for r in outputs.reports if r.run.valid]
    if not gated:
        return []  # no file was gated: nothing to say about rules
    matched = set().union(*(gates.matched_rules for gates in gated))
    return [rule for rule in rules if rule.source not in matched]
