"""Loading a saved run as the baseline of this one: a ``compviz.json``, a
``--compviz-save-baseline`` file, or a results CSV in the input format."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..core.regression import RowKey, row_key
from ..core.ledger import BASELINE_OUTCOMES, UNCHECKED, Outcome
from ..problems import CompvizError, InvalidResults
from ..spec import ERROR, INT4, INT8, LORA_RANK, MODE, RATE, Settings
from .document import READABLE_VERSIONS, ROW_FIELDS, NotARunDocument, read_run_document, result_rows, settings_record
from ..core.names import short_commit


class BaselineError(CompvizError):
    """The baseline can't be used (missing, unreadable, wrong format, not a passing run)."""


def key_of(row: dict, any_input: bool = False) -> RowKey:
    """A saved row's key: its input, its model, its configuration (see ``core.regression``). Rows
    of a file without a model column (``own model`` false) have no model; version 1 rows carry no
    such flag: their model counts. ``any_input``: the rows of a results CSV given as the baseline,
    which stand for whatever input is compared with them."""
    if not isinstance(row, dict):
        raise TypeError(f"a row must be a JSON object, not {_json_kind(row)}")
    model = row["model"] if row.get("own model", True) else None
    return row_key(None if any_input else row["input"], model, row[MODE], row[INT4], row[INT8], row.get(LORA_RANK))


def _json_kind(value) -> str:
    return {type(None): "null", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def check_settings(document: dict, current: dict, shown: str) -> None:
    """Raise ``BaselineError`` naming both sides when ``settings_mismatch`` finds one."""
    mismatch = settings_mismatch(document, current)
    if mismatch is not None:
        difference, consequence = mismatch
        raise BaselineError(f"baseline {shown}: {difference}" + (f": {consequence}" if consequence else ""))


_OTHER_METRICS = ("errors computed from other metrics cannot be compared (save a new baseline with these"
                  " metrics, or configure the saved ones)")


def settings_mismatch(document: dict, current: dict) -> tuple[str, str] | None:
    """Why a saved run cannot be compared with this one, as (what differs, why that matters); None
    when it can. A saved run's errors were computed with its reference mode and metrics; compared
    under other ones, a dropped metric would hide the fall it measured. Documents written before
    ``settings`` was recorded: their metric columns are read off their rows (directions and the
    reference mode are then unknown, and not checked). ``current``: the
    ``document.settings_record`` of this run."""
    saved = document.get("settings")
    if saved is None:
        rows = [row for row in document.get("rows", []) if isinstance(row, dict)]
        columns = {key for row in rows for key, value in row.items() if key not in ROW_FIELDS
                   and not key.endswith(" stderr") and isinstance(value, (int, float)) and not isinstance(value, bool)}
        wanted = {metric["column"] for metric in current["metrics"]}
        if rows and columns != wanted:
            return (f"saved with the metrics {_columns(sorted(columns))}; this run uses {_columns(sorted(wanted))}",
                    _OTHER_METRICS)
        return None
    if not isinstance(saved, dict):
        return "\"settings\" must be an object", ""
    if saved.get("reference mode") != current["reference mode"]:
        return (f"saved with reference-mode {saved.get('reference mode')!r}; this run uses"
                f" {current['reference mode']!r}", "errors against another reference cannot be compared")
    if saved.get("metrics") != current["metrics"]:
        return (f"saved with the metrics {_metrics(saved.get('metrics'))}; this run uses {_metrics(current['metrics'])}",
                _OTHER_METRICS)
    return None


def _columns(columns) -> str:
    return ", ".join(repr(column) for column in columns) or "none"


def _metrics(metrics) -> str:
    if not isinstance(metrics, list):
        return repr(metrics)
    return ", ".join(f"{m.get('column')!r} ({m.get('direction')})" if isinstance(m, dict) else repr(m)
                     for m in metrics) or "none"


@dataclass(frozen=True)
class Baseline:
    path: str
    rows: dict  # RowKey -> row dict
    created: str | None = None
    commit: str | None = None

    def find(self, key: RowKey) -> dict | None:
        """The saved row of ``key``; a row saved without an input (a CSV baseline) matches any."""
        found = self.rows.get(key)
        return found if found is not None else self.rows.get((None, *key[1:]))

    def describe(self) -> str:
        parts = [self.path]
        if self.created:
            parts.append(self.created)
        if self.commit:
            parts.append(f"commit {short_commit(self.commit)}")
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
        return _index(shown, result_rows(results, path.name), None, None, any_input=True)
    try:
        document = read_run_document(path)
    except (OSError, NotARunDocument) as exc:
        raise BaselineError(f"baseline {shown}: {_unreadable(exc)}") from None
    if document.get("version") not in READABLE_VERSIONS:
        raise BaselineError(f"baseline {shown}: format version {document.get('version')!r}, this"
                            f" pytest-compviz reads versions {', '.join(map(str, READABLE_VERSIONS))}")
    outcome = document.get("outcome", Outcome.PASSED)
    if outcome not in BASELINE_OUTCOMES:  # improved: see core.ledger.Outcome.IMPROVED
        raise BaselineError(f"baseline {shown}: is the output of a run that {outcome}; a baseline must be a"
                            " run that passed")
    rows = document.get("rows")
    if not isinstance(rows, list):
        raise BaselineError(f"baseline {shown}: \"rows\" must be a list")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise BaselineError(f"baseline {shown}: row {number} must be a JSON object, not {_json_kind(row)}")
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
    check_settings(document, settings_record(settings), shown)
    # A row whose checks did not run in that run (deselected, xfailed, skipped) was never vouched
    # for: it is no reference.
    checked = [row for row in rows if row.get("verdict") not in UNCHECKED]
    return _index(shown, checked, document.get("created"), document.get("git_commit"))


def _unreadable(exc: OSError | NotARunDocument) -> str:
    return exc.reason + exc.hint if isinstance(exc, NotARunDocument) else f"not readable as JSON ({exc})"


def _index(shown: str, rows: list[dict], created, commit, any_input: bool = False) -> Baseline:
    return Baseline(shown, {key_of(row, any_input): row for row in rows}, created, commit)


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
