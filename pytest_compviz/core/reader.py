"""Reading a results CSV into a frame of raw text cells, keeping each row's line in the file.

Every cell stays text here so validation can quote exactly what the file says; numbers are
parsed in ``schema``. Only usage problems (missing path, directory, unreadable) and problems
with the file as a whole (empty, not UTF-8, wrong delimiter, ragged rows) are raised here.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..problems import InputUnusable, InvalidResults, Problem, check_input_path
from ..spec import MODEL, MODE

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class RawTable:
    """A results file as read: text cells, the model column's name, and each row's line."""

    path: str  # as the user gave it: messages name the file this way
    frame: pd.DataFrame  # one column per CSV column, every cell a stripped str
    model_column: str
    lines: pd.Series  # line in the file where each row starts, aligned with frame.index
    own_model: bool = True  # False: the file has no model column; its model is named after the file

    def line_of(self, index) -> int:
        return int(self.lines.loc[index])


def read_results(path: str | os.PathLike, shown: str | None = None) -> RawTable:
    """Read ``path``; the model name is in the column named ``model`` if there is one, else in the
    first column. A file whose first column is already a known column (``mode``...) holds one model,
    named after the file."""
    shown = str(path) if shown is None else shown
    text = _blank_out_empty_rows(_read_text(Path(path), shown))
    if not text.strip():
        raise InvalidResults(shown, [Problem(shown, "file is empty: expected a header line and data rows")])
    try:
        # A row longer than the header stops the C parser; every row of the wrong length is then
        # listed by ``_scan_records``. (on_bad_lines="warn" would list them all in one pass, but
        # pandas before 2.2 writes those lines to sys.stderr instead of warning.)
        cells = pd.read_csv(
            io.StringIO(text), header=None, dtype=str, keep_default_na=False, skip_blank_lines=True,
            on_bad_lines="error",
        )
    except pd.errors.ParserError as exc:
        first = _first_record(text)
        _check_delimiter(shown, text, first or [None])
        if first and "fields in line" in str(exc):
            _scan_records(shown, text, len(first))  # raises: every row of the wrong length, with its line
        raise InvalidResults(shown, [_parser_problem(shown, str(exc), text)]) from None
    header = [str(h).strip() for h in cells.iloc[0]]
    width = len(header)
    frame = cells.iloc[1:].reset_index(drop=True)
    frame.columns = header
    _check_delimiter(shown, text, header)
    frame = _without_unnamed_empty_columns(frame)
    _check_header(shown, list(frame.columns))
    if frame.empty:
        raise InvalidResults(shown, [Problem(shown, "has a header but no data rows", line=1)])
    for column in frame.columns:
        frame[column] = frame[column].str.strip()

    lines = _row_lines(shown, text, frame, width)
    own_model = True
    if MODEL in frame.columns:
        model_column = MODEL
    elif frame.columns[0] in _KNOWN_COLUMNS:
        model_column, own_model = MODEL, False
        frame.insert(0, MODEL, Path(shown).stem)
    else:
        model_column = frame.columns[0]
    return RawTable(shown, frame, model_column, lines, own_model)


def _blank_out_empty_rows(text: str) -> str:
    """Lines of only spaces, or only commas (a spreadsheet's empty rows), become blank lines, which
    are skipped; the line count stays, so line numbers stay right."""
    return _EMPTY_ROW.sub("", text)


_EMPTY_ROW = re.compile(r"^[ \t]*(?:,[ \t]*)*$", re.MULTILINE)


def _without_unnamed_empty_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Spreadsheet exports end rows with empty cells under empty header names: drop those columns
    (an unnamed column with data in it stays, and the header check names it)."""
    empty = [i for i, name in enumerate(frame.columns) if name == "" and (frame.iloc[:, i].str.strip() == "").all()]
    if not empty:
        return frame
    return frame.iloc[:, [i for i in range(frame.shape[1]) if i not in empty]]


# Columns the NNCF layout defines; a first column with one of these names is not a model column.
_KNOWN_COLUMNS = {MODE, "%int4", "%int8", "lora rank", "plot name", "model size, Gb"}


def _read_text(path: Path, shown: str) -> str:
    check_input_path(path, shown)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputUnusable(f"{shown}: cannot be read ({exc.strerror or exc})") from None
    if data.startswith(b"PK\x03\x04"):
        raise InvalidResults(shown, [Problem(
            shown, "is not a CSV file but a zip archive (an Excel workbook?); save it as CSV UTF-8")])
    if data.startswith(_UTF16_BOMS):
        # Spreadsheet exports on Windows: the BOM says plainly what the encoding is.
        try:
            return data.decode("utf-16").replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidResults(
            shown,
            [
                Problem(
                    shown,
                    f"is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded;"
                    " save the file as UTF-8",
                    line=line,
                )
            ],
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InvalidResults(shown, [Problem(
            shown, "contains NUL bytes: a binary file, or UTF-16 text without a byte-order mark;"
            " save the file as UTF-8", line=line)])
    # Old Mac and mixed line endings: one kind of line end for pandas, csv and the line numbers.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_delimiter(shown: str, text: str, header: list[str] | list[None]) -> None:
    """A header with more semicolons (or tabs) than columns was written with that delimiter: say
    so, instead of one wrong-field-count message per row."""
    first_line = text.lstrip("\n").split("\n", 1)[0]
    for delimiter, name in ((";", "semicolon"), ("\t", "tab")):
        if first_line.count(delimiter) >= len(header):
            raise InvalidResults(
                shown,
                [Problem(shown, f"looks {name}-delimited; results files must be comma-separated", line=1)],
            )


def _check_header(shown: str, header: list[str]) -> None:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    unnamed = [position for position, name in enumerate(header, start=1) if name == ""]
    if len(unnamed) > 1:
        problems.append(Problem(shown, f"columns {', '.join(map(str, unnamed))} have no name in the header", line=1))
    for position, name in enumerate(header, start=1):
        if name in seen and name != "":
            problems.append(
                Problem(shown, f"header repeats the column name of column {seen[name]}", line=1, column=name)
            )
        seen.setdefault(name, position)
    if problems:
        raise InvalidResults(shown, problems)


def _parser_problem(shown: str, message: str, text: str) -> Problem:
    # pandas says e.g. "Error tokenizing data. C error: Expected 12 fields in line 5, saw 13"
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, saw = (int(g) for g in found.groups())
        return Problem(shown, _field_count_message(saw, expected), line=line)
    opened = _unclosed_quote(text)
    if opened is not None:
        return Problem(shown, "a quoted field starts on this line and is never closed (a '\"' is missing)",
                       line=text.count("\n", 0, opened) + 1)
    return Problem(shown, f"is not a readable CSV file ({message.splitlines()[-1].strip()})")


def _unclosed_quote(text: str) -> int | None:
    """Offset of the quote that opens a field never closed, if any (``""`` inside a field is an
    escaped quote: it toggles twice)."""
    opened = None
    for match in re.finditer('"', text):
        opened = match.start() if opened is None else None
    return opened


def _field_count_message(saw: int, expected: int) -> str:
    return f"row has {saw} field{'s' if saw != 1 else ''}, the header has {expected}"


def _row_lines(shown: str, text: str, frame: pd.DataFrame, width: int) -> pd.Series:
    """Line where each data row starts. Row i is on line i + 2 unless the file has blank lines or
    quoted fields spanning lines; only then is the file scanned record by record. Rows shorter than
    the header are padded by pandas with empty cells, so rows ending in an empty cell are checked."""
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    needs_scan = physical != len(frame) + 1 or (frame.iloc[:, -1] == "").any()
    if not needs_scan:
        return pd.Series(range(2, len(frame) + 2), index=frame.index)
    return pd.Series(_scan_records(shown, text, width)[1:], index=frame.index)


def _first_record(text: str) -> list[str] | None:
    """The header's fields, as the csv module reads them; None if it can't."""
    try:
        return next((record for record in csv.reader(io.StringIO(text)) if record), None)
    except csv.Error:
        return None


def _scan_records(shown: str, text: str, width: int) -> list[int]:
    """The line each record (header included) starts on; raises with every record whose number
    of fields differs from the header's."""
    starts: list[int] = []
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text))
    end = 0
    for record in reader:
        start, end = end + 1, reader.line_num
        if not record:
            continue
        starts.append(start)
        if len(starts) > 1 and len(record) != width:
            problems.append(Problem(shown, _field_count_message(len(record), width), line=start))
    if problems:
        raise InvalidResults(shown, problems)
    return starts
