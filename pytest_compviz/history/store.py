"""The history: one folder holding ``runs.jsonl``, one JSON record per run and line, appended under
the baseline's lock file and bounded to the newest ``keep`` runs of each configuration. Plain files a
CI cache or a data branch can carry; docs/ci-loop.md documents the format for scripts.

A record (format version 2; keys in this order, ``rows`` last)::

    {"schema": "pytest-compviz/history", "version": 2, "time": "...", "commit": "...",
     "branch": "main", "merge base": null, "outcome": "passed",
     "inputs": [{"name": "llama2_asym.csv", "sha256": "..."}],
     "columns": ["input", "model", ..., "verdict"],
     "rows": [["llama2_asym.csv", "meta-llama/Llama-2-7b", ..., "passed"], ...]}

A row is a list of values in ``columns`` order; a row whose keys differ from ``columns`` (rows of
one run rarely differ, but a missing key and a null one mean different things) is written as an
object. Version 1 records (each row an object, no ``columns``) are still read.

Reading is lazy because a run uses few records' rows (the base run, the window's last runs): each
line's header (everything before ``"columns"``/``"rows"``) is parsed on reading, its rows only when
``record["rows"]`` is first asked for. Appending does not parse the file; the bound's rewrite is paid
once every ``keep // 4`` runs, not per run (``over_bound``).

A writer killed mid-line leaves a last line without its newline: readers skip it and the next
writer cuts it off before appending. Any other line that is not a record is an error naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import atomic_write
from ..baseline.load import key_of
from ..baseline.store import locked  # the baseline's lock: one writer at a time, portable
from ..problems import CompvizError
from ..spec import ERROR, RATE

SCHEMA = "pytest-compviz/history"
VERSION = 2
READS = (1, 2)  # the record format versions this reader understands
RUNS = "runs.jsonl"
# The parts of a run document's row a history keeps: figures and the verdict, not the checks' details.
_DROPPED = ("gates", "regression", "pareto", "strict", "window", "sources", "line")
# Where a record's header ends. json.dumps escapes every '"' inside a string, so these bytes only
# occur as the record's own keys (a hand-written line spaced otherwise is parsed whole).
_HEADER_ENDS = (b',"columns":', b',"rows":')


class HistoryError(CompvizError):
    """The history can't be read or written; the message names the file (and line)."""


class Record(dict):
    """A record read from the history: its header's keys at once, ``"rows"`` decoded from its line
    on first use (``record["rows"]``, ``record.get("rows")``), as a list of row objects."""

    __slots__ = ("_line", "_where")

    def __init__(self, header: dict, line: bytes, where: str):
        super().__init__(header)
        self._line = line
        self._where = where  # "history h/runs.jsonl:12", for errors

    def __missing__(self, key):
        if key != "rows":
            raise KeyError(key)
        try:
            whole = json.loads(self._line)
        except ValueError as exc:
            raise HistoryError(f"{self._where}: not a JSON record ({exc})") from None
        rows = _rows_of(whole)
        if rows is None:
            raise HistoryError(f"{self._where}: not a pytest-compviz history record (its rows are not a list"
                               " of rows in its columns, each with its identity and finite figures)")
        self["rows"] = rows
        return rows

    def get(self, key, default=None):
        return self[key] if key == "rows" or key in self else default

    @property
    def line(self) -> bytes:
        """The record's line as read (without its newline): rewritten as is when unchanged."""
        return self._line


def _rows_of(record) -> list[dict] | None:
    """The rows of a decoded record (either version) as objects; None when they are malformed."""
    rows = _decoded_rows(record)
    return rows if rows is not None and all(_usable(row) for row in rows) else None


def _usable(row) -> bool:
    """A row the comparisons can use: an object with its identity, its figures finite numbers or
    null (json.loads reads Infinity and NaN, which would make a window's bound infinite)."""
    if not isinstance(row, dict):
        return False
    try:
        key_of(row)
    except (KeyError, TypeError, ValueError):
        return False
    for name in (ERROR, f"{ERROR} stderr", RATE):
        value = row.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            return False
    return True


def _decoded_rows(record) -> list | None:
    if not isinstance(record, dict) or not isinstance(record.get("rows"), list):
        return None
    if record.get("version") == 1:
        return record["rows"]
    columns = record.get("columns")
    if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
        return None
    rows = []
    for row in record["rows"]:
        if isinstance(row, list):
            if len(row) != len(columns):
                return None
            rows.append(dict(zip(columns, row)))
        elif isinstance(row, dict):
            rows.append(row)
        else:
            return None
    return rows


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


def encode(record: dict) -> bytes:
    """``record`` (rows as objects) as its line in the current format, newline included: the
    header's keys first, then ``columns`` (the first row's keys) and the rows as lists."""
    rows = record["rows"]
    columns = list(rows[0]) if rows else []
    compact = [list(row.values()) if list(row) == columns else row for row in rows]
    header = {k: v for k, v in record.items() if k not in ("schema", "version", "columns", "rows")}
    line = {"schema": SCHEMA, "version": VERSION, **header, "columns": columns, "rows": compact}
    return json.dumps(line, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode() + b"\n"


def read_history(folder: Path, shown: str) -> list[Record]:
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


def _parse(data: bytes, shown: str) -> list[Record]:
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a line a killed writer left unfinished
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        records.append(_header(line, f"history {shown}:{number}"))
    return records


def _header(line: bytes, where: str) -> Record:
    """The record of one line, its rows left undecoded when its header can be cut off its line."""
    header = None
    for marker in _HEADER_ENDS:
        end = line.find(marker)
        if end > 0:
            try:
                header = json.loads(line[:end] + b"}")
            except ValueError:
                header = None  # the marker was not at the record's top level: parse the line whole
            break
    if not isinstance(header, dict):
        try:
            header = json.loads(line)
        except ValueError as exc:
            raise HistoryError(f"{where}: not a JSON record ({exc})") from None
        if not isinstance(header, dict) or not isinstance(header.get("rows"), list):
            header = {}
    if header.get("schema") != SCHEMA:
        raise HistoryError(f"{where}: not a pytest-compviz history record"
                           f" (expected \"schema\": \"{SCHEMA}\" and a list of rows)")
    if header.get("version") not in READS:
        raise HistoryError(f"{where}: record format version {header.get('version')!r}; this pytest-compviz reads"
                           f" versions {' and '.join(map(str, READS))} (written by a newer pytest-compviz?)")
    if "rows" not in header:
        return Record(header, line, where)
    rows = _rows_of(header)  # the line was parsed whole: its rows are at hand
    if rows is None:
        raise HistoryError(f"{where}: not a pytest-compviz history record (its rows are not a list of rows in"
                           " its columns)")
    record = Record({k: v for k, v in header.items() if k not in ("columns", "rows")}, line, where)
    record["rows"] = rows
    return record


def over_bound(runs: int, keep: int) -> bool:
    """Whether a file of ``runs`` runs is pruned now. A configuration appears once per run, so
    ``keep`` runs or fewer need no count; beyond that the file is pruned once every ``keep // 4``
    runs (at least every run), so the rewrite's cost is shared by that many runs."""
    margin = max(1, keep // 4)
    return runs > keep and (runs - keep) % margin == 0


def append_record(folder: Path, shown: str, record: dict, keep: int) -> None:
    """Append ``record`` under the lock; every ``keep // 4`` runs beyond ``keep`` (``over_bound``),
    rewrite the file (atomically) with only the newest ``keep`` runs of each configuration."""
    if folder.exists() and not folder.is_dir():
        raise HistoryError(f"history {shown}: is a file; the history is a folder")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RUNS
    line = encode(record)
    with locked(folder / (RUNS + ".lock")):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        data = data[: data.rfind(b"\n") + 1]  # a killed writer's unfinished line goes
        if not over_bound(data.count(b"\n") + 1, keep):
            with path.open("r+b" if path.exists() else "wb") as handle:
                handle.truncate(len(data))
                handle.seek(len(data))
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            return
        # Records that keep every row are written back as read; the others in the current format.
        kept = bounded(_parse(data + line, f"{shown}/{RUNS}"), keep)
        atomic_write(path, b"".join(r.line + b"\n" if isinstance(r, Record) else encode(r) for r in kept))


def configuration(row: dict) -> tuple:
    """What the bound counts runs of: the row's identity (its input, model and configuration)."""
    return key_of(row)


def bounded(records: Sequence[dict], keep: int) -> list[dict]:
    """``records`` with only the newest ``keep`` rows of each configuration; records left with no
    row go. A record that keeps every row is returned itself (so its line can be written back as is)."""
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
