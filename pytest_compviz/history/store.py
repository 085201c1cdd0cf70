"""The history: one folder holding ``runs.jsonl``, one JSON record per run and line, appended under
the baseline's lock file and bounded to the newest ``keep`` runs of each configuration. Plain files a
CI cache or a data branch can carry.

A record::

    {"schema": "pytest-compviz/history", "version": 1, "time": "...", "commit": "...",
     "branch": "main", "merge base": null, "outcome": "passed",
     "inputs": [{"name": "llama2_asym.csv", "sha256": "..."}],
     "rows": [{baseline row format, "average relative error stderr", "verdict"}]}

A writer killed mid-line leaves a last line without its newline: readers skip it and the next
writer cuts it off before appending. Any other line that is not a record is an error naming it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import atomic_write
from ..baseline.load import key_of
from ..baseline.store import _locked  # the baseline's lock: one writer at a time, portable
from ..problems import CompvizError

SCHEMA = "pytest-compviz/history"
VERSION = 1
RUNS = "runs.jsonl"
# The parts of a run document's row a history keeps: figures and the verdict, not the checks' details.
_DROPPED = ("gates", "regression", "pareto", "strict", "window", "sources", "line")


class HistoryError(CompvizError):
    """The history can't be read or written; the message names the file (and line)."""


def record_of(document: dict, facts, time: str | None = None) -> dict:
    """This run's record, from its run document (``compviz.json``) and ``facts`` (``git.GitFacts``)."""
    rows = [{k: v for k, v in row.items() if k not in _DROPPED} for row in document.get("rows", [])]
    return {
        "schema": SCHEMA, "version": VERSION,
        "time": time or datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "commit": facts.commit, "branch": facts.branch, "merge base": facts.merge_base,
        "outcome": document.get("outcome"),
        "settings": document.get("settings"),  # reference mode and metrics: a comparison checks them
        "inputs": [{"name": entry.get("name"), "sha256": entry.get("sha256")} for entry in document.get("inputs", [])
                   if entry.get("valid", True)],
        "rows": rows,
    }


def read_history(folder: Path, shown: str) -> list[dict]:
    """Every record, oldest first; none when the history does not exist yet."""
    path = folder / RUNS
    if folder.exists() and not folder.is_dir():
        raise HistoryError(f"history {shown}: is a file; the history is a folder")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise HistoryError(f"history {shown}/{RUNS}: cannot be read ({exc.strerror or exc})") from None
    return _parse(data, f"{shown}/{RUNS}")


def _parse(data: bytes, shown: str) -> list[dict]:
    lines = data.split(b"\n")
    torn = lines.pop()  # after the last newline: empty, or a line a killed writer left unfinished
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise HistoryError(f"history {shown}:{number}: not a JSON record ({exc})") from None
        if not isinstance(record, dict) or record.get("schema") != SCHEMA or not isinstance(record.get("rows"), list):
            raise HistoryError(f"history {shown}:{number}: not a pytest-compviz history record"
                               f" (expected \"schema\": \"{SCHEMA}\" and a list of rows)")
        if record.get("version") != VERSION:
            raise HistoryError(f"history {shown}:{number}: record format version {record.get('version')!r}; this"
                               f" pytest-compviz reads version {VERSION}")
        records.append(record)
    del torn
    return records


def append_record(folder: Path, shown: str, record: dict, keep: int) -> None:
    """Append ``record`` under the lock; when a configuration then has more than ``keep`` runs,
    rewrite the file (atomically) without its oldest ones."""
    if folder.exists() and not folder.is_dir():
        raise HistoryError(f"history {shown}: is a file; the history is a folder")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RUNS
    line = json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode() + b"\n"
    with _locked(folder / (RUNS + ".lock")):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        data = data[: data.rfind(b"\n") + 1]  # a killed writer's unfinished line goes
        # A configuration appears once per run, so a file of fewer runs than ``keep`` needs no count.
        if data.count(b"\n") + 1 <= keep:
            with path.open("r+b" if path.exists() else "wb") as handle:
                handle.truncate(len(data))
                handle.seek(len(data))
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            return
        records = bounded(_parse(data, f"{shown}/{RUNS}") + [record], keep)
        atomic_write(path, b"".join(json.dumps(r, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
                                    + b"\n" for r in records))


def configuration(row: dict) -> tuple:
    """What the bound counts runs of: the row's identity (its input, model and configuration)."""
    return key_of(row)


def bounded(records: list[dict], keep: int) -> list[dict]:
    """``records`` with only the newest ``keep`` rows of each configuration; records left with no
    row go."""
    seen: dict[tuple, int] = {}
    kept = []
    for record in reversed(records):
        rows = []
        for row in record["rows"]:
            key = configuration(row)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= keep:
                rows.append(row)
        if rows:
            kept.append({**record, "rows": rows} if len(rows) != len(record["rows"]) else record)
    return kept[::-1]
