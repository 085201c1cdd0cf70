"""who_what_benchmark (openvino.genai tools/who_what_benchmark) output: the similarity and an
estimate of its standard error.

What wwb writes with ``--output DIR`` (checked against openvinotoolkit/openvino.genai):

- ``DIR/metrics.csv``: ``pd.DataFrame([all_metrics]).to_csv(...)``, the index included, so the
  header is ``,similarity`` (more columns when more metrics were asked for) and there is one row,
  ``0,<mean similarity>``.
- ``DIR/metrics_per_question.csv``: one row per prompt, a ``similarity`` column (the per-prompt
  cosine similarity whose mean is the similarity above) beside the prompt and both answers, which
  are free text: quoted fields that may span lines. Older wwb releases spelled the file
  ``metrics_per_qustion.csv``; both names are looked for, the right spelling first.

The standard error of the mean similarity is estimated from the per-prompt values as the sample
standard deviation (ddof=1) over sqrt(n); none without that file or with fewer than 2 prompts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
from dataclasses import dataclass

from . import SourceError, number_from_text, oserror_text

METRICS_FILE = "metrics.csv"
PER_QUESTION_FILES = ("metrics_per_question.csv", "metrics_per_qustion.csv")
SIMILARITY = "similarity"


@dataclass(frozen=True)
class WwbResult:
    """A wwb run's similarity, its estimated stderr, and the files it came from."""

    file: str  # metrics.csv as shown
    sha256: str
    similarity: float
    stderr: float | None = None
    per_question_file: str | None = None  # as shown, when read
    per_question_sha256: str | None = None
    prompts: int | None = None  # rows of the per-question file


def read_wwb(path: str | os.PathLike, shown: str | None = None) -> WwbResult:
    """Read ``path``: a metrics.csv, or the wwb output folder holding one."""
    path = os.fspath(path)
    shown = path if shown is None else shown
    if os.path.isdir(path):
        path, shown = os.path.join(path, METRICS_FILE), os.path.join(shown, METRICS_FILE)
        missing = "no such file (not a wwb --output folder?)"
    else:
        missing = "no such file or folder"
    data = _read(path, shown, missing)
    assert data is not None  # ``missing`` is given: a missing file raises
    similarity = _similarity(data, shown)
    result = WwbResult(shown, hashlib.sha256(data).hexdigest(), similarity)
    return _with_stderr(result, os.path.dirname(path), os.path.dirname(shown))


def _read(path: str, shown: str, missing: str | None) -> bytes | None:
    """The file's bytes; ``missing`` None: None when there is no such file."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        if missing is None:
            return None
        raise SourceError(shown, missing) from None
    except OSError as exc:
        raise SourceError(shown, f"cannot be read ({oserror_text(exc)})") from None


def _similarity(data: bytes, shown: str) -> float:
    header, rows = _records(data, shown)
    column = _similarity_column(header, shown)
    if len(rows) != 1:
        raise SourceError(shown, f"has {len(rows)} data rows; a wwb metrics.csv has one")
    cell = rows[0][column] if column < len(rows[0]) else ""
    value = number_from_text(cell.strip())
    if value is None:
        raise SourceError(shown, f"similarity {cell.strip()!r} is not a number")
    return value


def _with_stderr(result: WwbResult, folder: str, folder_shown: str) -> WwbResult:
    for name in PER_QUESTION_FILES:
        shown = os.path.join(folder_shown, name)
        data = _read(os.path.join(folder, name), shown, None)
        if data is None:
            continue
        values = _per_question(data, shown)
        return WwbResult(result.file, result.sha256, result.similarity, _stderr_of_mean(values),
                         shown, hashlib.sha256(data).hexdigest(), len(values))
    return result


def _per_question(data: bytes, shown: str) -> list[float]:
    header, rows = _records(data, shown)
    column = _similarity_column(header, shown)
    values = []
    for number, row in enumerate(rows, start=1):
        cell = row[column].strip() if column < len(row) else ""
        value = number_from_text(cell)
        if value is None:
            raise SourceError(shown, f"similarity of prompt {number} {cell!r} is not a number")
        values.append(value)
    return values


def _stderr_of_mean(values: list[float]) -> float | None:
    n = len(values)
    if n < 2:
        return None
    mean = math.fsum(values) / n
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return math.sqrt(variance) / math.sqrt(n)


def _records(data: bytes, shown: str) -> tuple[list[str], list[list[str]]]:
    """Header and non-blank rows, with the csv module: wwb's answer columns are quoted text."""
    try:
        text = data.decode("utf-8-sig")
        records = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
    except UnicodeDecodeError:
        raise SourceError(shown, "is not UTF-8 text") from None
    except csv.Error as exc:
        raise SourceError(shown, f"is not a readable CSV file ({exc})") from None
    if not records:
        raise SourceError(shown, "is empty")
    return [c.strip() for c in records[0]], records[1:]


def _similarity_column(header: list[str], shown: str) -> int:
    if SIMILARITY not in header:
        named = [c for c in header if c]
        raise SourceError(shown, f"has no {SIMILARITY!r} column (columns: {', '.join(named) or 'none'})")
    return header.index(SIMILARITY)
