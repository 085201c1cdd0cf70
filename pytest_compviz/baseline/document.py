"""The run document: the JSON format shared by ``compviz.json`` and ``--compviz-save-baseline``
files, and the baseline row format inside it.

Version 2 (this one) adds, per row, each check's status (``passed``, ``failed``, ``not run``) and
the row's verdict, per run the ``outcome``, and ``own model`` per row; version 1 documents still
load as baselines. A document also records ``settings``: the reference mode and the metrics (column
and direction) its errors were computed with; a run whose settings differ cannot be compared with
it (``baseline.load.check_settings``). The key is optional, so documents written before it was
added still load: their metric columns are read off their rows.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from ..spec import ERROR, INT4, INT8, LORA_RANK, MODE, PLOT_NAME, RATE, SIZE, stderr_column

SCHEMA = "pytest-compviz/run"
VERSION = 2
READABLE_VERSIONS = (1, 2)


class NotARunDocument(Exception):
    """A file that is not a run document: ``reason`` says why (not JSON, or another schema)."""

    def __init__(self, reason: str, hint: str = ""):
        super().__init__(reason + hint)
        self.reason = reason  # "not readable as JSON (...)" or "not a pytest-compviz run"
        self.hint = hint  # what a run document has, for the message of a file named as one


def read_run_document(path: Path) -> dict:
    """A run document (``compviz.json``, a saved baseline) as a dict, its schema checked; the
    one reader of every face. ``FileNotFoundError`` passes through: callers word it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: UnicodeDecodeError and JSONDecodeError
        raise NotARunDocument(f"not readable as JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise NotARunDocument("not a pytest-compviz run", f" (expected \"schema\": \"{SCHEMA}\")")
    return document


def result_rows(results, input_name: str) -> list[dict]:
    """One plain dict per row of ``results``: the file's figures and the derived ones."""
    table = results.table
    metric_columns = [m.column for m in results.settings.metrics]
    rows = []
    for index, row in zip(results.derived.index, results.derived.to_dict("records")):
        lora = row.get(LORA_RANK)
        entry = {
            "input": input_name,
            "line": table.line_of(index),
            "model": str(row[table.model_column]),
            "own model": table.own_model,
            MODE: str(row[MODE]),
            INT4: float(row[INT4]),
            INT8: float(row[INT8]),
            LORA_RANK: None if lora is None or lora != lora else float(lora),
            PLOT_NAME: str(row.get(PLOT_NAME, "") or ""),
            SIZE: float(row[SIZE]),
            ERROR: float(row[ERROR]),
            RATE: float(row[RATE]),
        }
        entry.update({column: float(row[column]) for column in metric_columns})
        for column in metric_columns:  # standard errors, where the file or its sources gave one
            error = row.get(stderr_column(column))
            if error is not None and error == error:
                entry[stderr_column(column)] = float(error)
        if index in results.sources:  # a manifest row: the evaluation outputs it was built from
            entry["sources"] = [{"kind": kind, "file": file, "sha256": digest}
                                for kind, file, digest in results.sources[index]]
        rows.append(entry)
    return rows


# The fields of a saved row that are not metric columns (see ``result_rows`` and
# ``report.summary.run_rows``): what is left of a row's numbers are its metrics.
ROW_FIELDS = frozenset({"input", "line", "model", "own model", MODE, INT4, INT8, LORA_RANK, PLOT_NAME, SIZE,
                        ERROR, RATE, "sources", "gates", "regression", "pareto", "strict", "verdict"})


def settings_record(settings) -> dict:
    """What a saved run's errors depend on besides its rows: ``{"reference mode": ..., "metrics":
    [{"column": ..., "direction": ...}, ...]}``, metrics in the order they are averaged."""
    return {"reference mode": settings.reference_mode,
            "metrics": [{"column": m.column, "direction": m.direction} for m in settings.metrics]}


def git_commit(folder: Path) -> str | None:
    """The checked-out commit when ``folder`` is in a git work tree; None otherwise (no checkout,
    no commit yet, or refs kept in a form this does not read, such as reftable). Read from the
    repository's files, as ``git rev-parse HEAD`` would answer: the plugin starts no process in the
    user's run. Follows a ``.git`` file (worktrees, submodules), ``commondir``, loose and packed refs."""
    try:
        git_dir = _git_dir(folder.resolve())
        if git_dir is None:
            return None
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head if _is_object_id(head) else None  # a detached HEAD holds the commit itself
        ref = head[len("ref: "):].strip()
        common = git_dir
        if (git_dir / "commondir").is_file():
            common = (git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()).resolve()
        for base in dict.fromkeys((git_dir, common)):
            if (base / ref).is_file():
                found = (base / ref).read_text(encoding="utf-8").strip()
                return found if _is_object_id(found) else None
        if (common / "packed-refs").is_file():
            for line in (common / "packed-refs").read_text(encoding="utf-8").splitlines():
                object_id, _, name = line.partition(" ")
                if name == ref and _is_object_id(object_id):
                    return object_id
        return None
    except (OSError, UnicodeDecodeError):
        return None


def _git_dir(folder: Path) -> Path | None:
    """The repository folder of the work tree holding ``folder``: ``.git``, or where a ``.git``
    file points (``gitdir: ...``)."""
    for candidate in (folder, *folder.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            text = dot_git.read_text(encoding="utf-8").strip()
            if not text.startswith("gitdir: "):
                return None
            return (candidate / text[len("gitdir: "):].strip()).resolve()
    return None


def _is_object_id(text: str) -> bool:
    """A full SHA-1 (40) or SHA-256 (64) object id in hex."""
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def run_document(inputs: list[dict], rows: list[dict], commit: str | None, settings=None, **extra) -> dict:
    """The JSON document of a run; ``rows`` in the baseline row format; ``settings`` (``spec.Settings``)
    recorded so a later comparison can tell it computed its errors the same way."""
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "git_commit": commit,
        **({"settings": settings_record(settings)} if settings is not None else {}),
        **extra,
        "inputs": inputs,
        "rows": rows,
    }


def dumps(document: dict) -> bytes:
    """The document as JSON with one row per line: readable, diff-friendly, and four times faster
    to write than indenting every row's fields (2,000 rows: 0.02 s instead of 0.08 s)."""
    rows = document.get("rows", [])
    head = json.dumps({k: v for k, v in document.items() if k != "rows"}, indent=2, ensure_ascii=False,
                      allow_nan=False)
    body = ",\n".join("    " + json.dumps(row, ensure_ascii=False, allow_nan=False) for row in rows)
    return (head[:-2] + ',\n  "rows": [\n' + body + "\n  ]\n}\n").encode()
