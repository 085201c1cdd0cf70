"""One results file through the whole pipeline, in order: read -> validate -> derive -> gate.

Both faces call ``run_file``; nothing downstream of validation ever sees numbers the checks did
not pass. The report is drawn later, from the ``FileRun`` and the ledger of what ran.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..problems import InputUnusable, InvalidResults, Problem

if TYPE_CHECKING:  # results.py imports pandas: for the checker only, the plugin loads it when a CSV is collected
    from .gates import FileGates
    from .results import Results


@dataclass(frozen=True)
class FileRun:
    """One input's run: its results and gates, or the problems that stopped it."""

    path: Path  # absolute, normalised: the input's key everywhere
    shown: str  # the path as messages show it
    sha256: str | None
    results: Results | None = None  # when the file is valid
    gates: FileGates | None = None
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def key(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def valid(self) -> bool:
        return self.results is not None


def run_file(path: Path, options, baseline=None, shown: str | None = None, window=None) -> FileRun:
    """``options``: ``config.options.RunOptions``; ``baseline``: ``baseline.load.Baseline``;
    ``window``: ``core.window.Window``, the earlier runs the opt-in window gate predicts from.
    Raises ``InputUnusable`` (a usage error); any other failure is the file's problem."""
    from ..config.rules import RuleError
    from .gates import evaluate
    from .results import load_results

    path = Path(os.path.normpath(path))
    shown = shown if shown is not None else options.shown(path)
    try:
        results = load_results(path, options.settings, shown=shown)
    except InvalidResults as exc:
        return FileRun(path, shown, _sha256(path), problems=tuple(exc.problems))
    except InputUnusable:
        raise
    except Exception as exc:  # noqa: BLE001 - a reader bug fails this file, not the run
        return FileRun(path, shown, _sha256(path), problems=(Problem(
            shown, f"could not be read: {type(exc).__name__}: {exc} (a pytest-compviz bug: please report it"
                   " with the file)"),))
    try:
        gates = evaluate(results, options.rules, baseline, options.tolerances, options.strict)
    except RuleError as exc:  # a rule its rows cannot use (a bound without a significance for them)
        return FileRun(path, shown, _sha256(path), problems=(Problem(shown, str(exc)),))
    if window is not None:
        from .window import apply_window

        gates = apply_window(gates, results, window)
    return FileRun(path, shown, _sha256(path), results, gates, warnings=tuple(results.warnings))


def _sha256(path: Path) -> str | None:
    """The input's digest, for compviz.json and baselines; None if it can't be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def baseline_problems(runs, baseline) -> list[str]:
    """What makes a baseline compare nothing, each a line that fails the run: a baseline with no
    rows, or one that holds rows of an input's models from that input but matches none of its
    rows (a renamed model, the wrong file). A baseline that holds none of an input's rows is not a
    problem (see ``unbaselined``)."""
    if baseline is None:
        return []
    if not baseline.rows:
        return [f"baseline {baseline.path}: holds no rows, so no row can be compared with it"]
    problems = []
    for run in runs:
        if not run.valid or run.gates.matched_baseline:
            continue
        saved = _saved_models(run, baseline)
        models = _models(run)
        if saved & models:
            problems.append(
                f"baseline {baseline.path}: matches none of {run.shown}'s rows (baseline models: "
                f"{_names(saved)}; this input's: {_names(models)})")
    return problems


def unbaselined(run, baseline) -> str | None:
    """A warning when ``baseline`` holds no rows of ``run``'s input and models: they have no
    regression check yet. Names the inputs it does hold, so a renamed file is recognised."""
    if baseline is None or not baseline.rows or not run.valid or run.gates.matched_baseline:
        return None
    models = _models(run)
    if _saved_models(run, baseline) & models:
        return None
    inputs = sorted({key[0] for key in baseline.rows if key[0] is not None})
    held = f" (it holds rows of {', '.join(map(repr, inputs))})" if inputs and run.name not in inputs else ""
    return (f"{run.shown}: the baseline {baseline.path} holds no rows of {_names(models)} from input"
            f" {run.name!r}{held}; these rows have no regression check yet")


def _models(run) -> set:
    if not run.results.table.own_model:
        return {None}
    return {row.model for row in run.gates.rows}


def _saved_models(run, baseline) -> set:
    """The models the baseline holds rows of for this input (a row saved without an input: any)."""
    return {key[1] for key in baseline.rows if key[0] in (run.name, None)}


def _names(models) -> str:
    return ", ".join(sorted("(no model column)" if m is None else repr(m) for m in models))


def run_warnings(run, baseline) -> list[tuple[str, int | None]]:
    """Everything an input's run warns about, each with its line where it has one: what reading
    it found, then (a valid input) ``file_warnings``."""
    found = [(str(w), w.line) for w in run.warnings]
    return found + [(text, None) for text in file_warnings(run, baseline)] if run.valid else found


def strict_failures(warnings: list[tuple[str, int | None]], strict: bool, flag: str) -> list[str]:
    """With strict (``flag``, as the face spells it), every warning fails the run, each named."""
    return [f"{text} ({flag})" for text, _ in warnings] if strict else []


def file_warnings(run, baseline) -> list[str]:
    """What a valid input's run should warn about (and ``--compviz-strict`` fail on): a file that
    gates no row, and a baseline that holds none of its models."""
    found = []
    compressed = [row for row in run.gates.rows if not row.is_reference]
    if compressed and all(row.ungated for row in compressed):
        found.append(f"{run.shown}: no row is gated (no rule matches a row and there is no baseline"
                     " to compare with): this file's results are not checked")
    other_models = unbaselined(run, baseline)
    if other_models:
        found.append(other_models)
    within_noise = [f"{row.label} (+{row.regression.error_delta * 100:.2f} pp, z = {row.regression.z:.2f})"
                    for row in run.gates.rows if row.regression is not None and row.regression.within_noise
                    and not row.regression.strict]  # strict: the row's regression check fails instead
    if within_noise:
        # Passing by significance alone is what the rule asked for, but never silently: a stderr
        # typed in the wrong unit would otherwise switch the regression check off unseen.
        found.append(f"{run.shown}: error increases beyond the tolerance passed as noise (below the rule's"
                     f" significance): " + "; ".join(within_noise))
    if run.gates.missing_rows:
        # A row dropped or renamed since the baseline has no regression check: never silently.
        count = len(run.gates.missing_rows)
        found.append(f"{run.shown}: {count} row{'s' if count != 1 else ''} of the baseline {baseline.path}"
                     f" {'are' if count != 1 else 'is'} missing from this run, so not compared (dropped or"
                     " renamed?): " + "; ".join(run.gates.missing_rows))
    loosening: dict[tuple, list[str]] = {}
    for row in run.gates.rows:
        for old, old_rule, new, new_rule in row.loosened:
            loosening.setdefault((old.name, old.limit, old_rule.source, new.limit, new_rule.source), []).append(row.label)
    for (name, old, old_source, new, new_source), labels in loosening.items():
        found.append(f"{run.shown}: {new_source} loosens {name} from {old:g} ({old_source}) to {new:g} for"
                     f" {len(labels)} row{'s' if len(labels) != 1 else ''}: " + "; ".join(labels))
    noiseless = [row.label for row in run.gates.rows if row.noise_unknown]
    if noiseless:
        found.append(f"{run.shown}: a rule asks for significance or a bound, but no standard error is known for"
                     f" {len(noiseless)} row{'s' if len(noiseless) != 1 else ''} (no '<metric> stderr' values):"
                     " checked as without them: " + "; ".join(noiseless))
    return found
