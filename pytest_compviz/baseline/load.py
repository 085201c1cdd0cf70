"""Loading a saved run as the baseline of this one: a ``compviz.json``, a
``--compviz-save-baseline`` file, or a results CSV in the input format."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..core.regression import RowKey, row_key
from ..problems import CompvizError, InvalidResults
from ..spec import ERROR, INT4, INT8, LORA_RANK, MODE, RATE, Settings
from .document import READABLE_VERSIONS, SCHEMA, result_rows


class BaselineError(CompvizError):
    """The baseline can't be used (missing, unreadable, wrong format, not a passing run)."""


def key_of(row: dict) -> RowKey:
    """A saved row's key; rows of a file without a model column (``own model`` false) match on
    the configuration alone. Version 1 rows carry no such flag: their model counts."""
    model = row["model"] if row.get("own model", True) else None
    return row_key(model, row[MODE], row[INT4], row[INT8], row.get(LORA_RANK))


@dataclass(frozen=True)
class Baseline:
    path: str
    rows: dict  # RowKey -> row dict
    created: str | None = None
    commit: str | None = None

    def find(self, key: RowKey) -> dict | None:
        return self.rows.get(key)

    def describe(self) -> str:
        parts = [self.path]
        if self.created:
            parts.append(self.created)
        if self.commit:
            parts.append(f"commit {self.commit[:10]}")
        return ", ".join(parts)


def load_baseline(path: Path, shown: str, settings: Settings) -> Baseline:
    """A ``compviz.json`` / saved baseline, or a results CSV in the input format. A run document
    of a run that failed or was interrupted is refused: a baseline is a run that passed."""
    if not path.is_file():
        raise BaselineError(f"baseline {shown}: no such file")
    if path.suffix.lower() != ".json":
        from ..core.results import load_results

        try:
            results = load_results(path, settings, shown=shown)
        except InvalidResults as exc:
            raise BaselineError(f"baseline {shown} is not valid:\n{exc}") from None
        except CompvizError as exc:
            raise BaselineError(f"baseline {exc}") from None
        return _index(shown, result_rows(results, path.name), None, None)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"baseline {shown}: not readable as JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise BaselineError(f"baseline {shown}: not a pytest-compviz run (expected \"schema\": \"{SCHEMA}\")")
    if document.get("version") not in READABLE_VERSIONS:
        raise BaselineError(f"baseline {shown}: format version {document.get('version')!r}, this"
                            f" pytest-compviz reads versions {', '.join(map(str, READABLE_VERSIONS))}")
    outcome = document.get("outcome", "passed")
    if outcome not in ("passed", "incomplete", "improved"):  # improved: see report.outputs.IMPROVED
        raise BaselineError(f"baseline {shown}: is the output of a run that {outcome}; a baseline must be a"
                            " run that passed")
    rows = document.get("rows")
    if not isinstance(rows, list):
        raise BaselineError(f"baseline {shown}: \"rows\" must be a list")
    for number, row in enumerate(rows, start=1):
        try:
            key_of(row)
            figures = float(row[ERROR]), float(row[RATE])
        except (KeyError, TypeError, ValueError) as exc:
            raise BaselineError(f"baseline {shown}: row {number} is incomplete or not numeric ({exc!r})") from None
        if not all(math.isfinite(figure) for figure in figures):
            raise BaselineError(f"baseline {shown}: row {number} has a figure that is not a finite number")
        for key, value in row.items():  # standard errors widen a significance test: only sound ones
            if isinstance(key, str) and key.endswith(" stderr") and value is not None and not (
                    isinstance(value, (int, float)) and not isinstance(value, bool)
                    and math.isfinite(value) and value >= 0):
                raise BaselineError(f"baseline {shown}: row {number}: {key!r} must be a finite number >= 0 or"
                                    f" null, not {value!r}")
    # A row whose checks did not run in that run (deselected, xfailed, skipped) was never vouched
    # for: it is no reference.
    checked = [row for row in rows if row.get("verdict") not in ("not run", "xfailed")]
    return _index(shown, checked, document.get("created"), document.get("git_commit"))


def _index(shown: str, rows: list[dict], created, commit) -> Baseline:
    return Baseline(shown, {key_of(row): row for row in rows}, created, commit)


def run_baseline(options) -> tuple[Baseline | None, list[str]]:
    """The baseline ``options`` (``RunOptions``) asks for, and notes for the summary: none when
    none is asked for; a missing file is a ``BaselineError`` unless ``baseline_missing`` is warn."""
    if options.baseline is None:
        return None, []
    if not options.baseline.is_file() and options.baseline_missing == "warn":
        return None, [missing_baseline_note(options.baseline_shown)]
    return load_baseline(options.baseline, options.baseline_shown, options.settings), []


def missing_baseline_note(shown: str) -> str:
    """What a run says when its baseline file does not exist (``baseline_missing`` warn)."""
    return f"baseline {shown}: no such file; no regression checks this run"
