"""The results table in the NNCF tool's Markdown format, character for character.

Every cell is formatted here and tabulate is told not to parse numbers, so the output does not
depend on tabulate's number handling.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..config.options import NNCF_DOCS, NNCF_TOOL, TABLE_FORMATS
from ..spec import ERROR, INT4, INT8, LORA_RANK, MODE, RATE

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = (MODE, INT4, INT8, LORA_RANK, ERROR, RATE)



def _ratio(value: float) -> str:
    return f"{value:.0%}"


def _lora_rank(value: float) -> str:
    return "" if value is None or math.isnan(value) else str(float(value))


def _error(value: float) -> str:
    return f"{value:.1%}"


def _rate(value: float) -> str:
    return f"{value:.1f}x"


def _text(value) -> str:
    """A text cell, on one line (a newline would end the Markdown row). A ``|`` stays as it is:
    only the Markdown needs it escaped, and ``pipe_table`` does that, so other formats built from
    these cells (the HTML table) show the original text."""
    return str(value).replace("\r", " ").replace("\n", " ")


_FORMATS = {MODE: _text, INT4: _ratio, INT8: _ratio, LORA_RANK: _lora_rank, ERROR: _error, RATE: _rate}


def sort_by_error(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by average relative error, ascending; ties keep the file's order."""
    return frame.sort_values(ERROR, kind="stable")


def header_lines(column: str) -> list[str]:
    """A column's header, one word a line: the tables stay narrow."""
    return column.split(" ")


def table_cells(frame: pd.DataFrame) -> list[list[str]]:
    """The formatted cells of one model's derived rows, sorted as the table shows them; plain
    text, each format escapes them its own way."""
    rows = sort_by_error(frame)
    blank = [""] * len(rows)
    columns = [[_FORMATS[c](value) for value in rows[c]] if c in rows.columns else blank for c in COLUMNS]
    return [list(cells) for cells in zip(*columns)]


def pipe_table(cells: list[list[str]], table_format: str = NNCF_DOCS) -> str:
    """The Markdown table of ``table_cells`` in one of ``TABLE_FORMATS``. Every cell is formatted
    here, never by tabulate's number parsing, so the bytes do not depend on tabulate's version."""
    from tabulate import tabulate

    headers = ["<br>".join(header_lines(column)) for column in COLUMNS]
    align = ["left"] * len(COLUMNS)
    escaped = [[cell.replace("|", "\\|") for cell in row] for row in cells]  # a | would end the cell
    if table_format == NNCF_TOOL:
        rank = COLUMNS.index(LORA_RANK)
        escaped = [[*row[:rank], _whole(row[rank]), *row[rank + 1:]] for row in escaped]
        if any(row[rank] for row in escaped):
            align[rank] = "right"
    elif table_format != NNCF_DOCS:
        raise ValueError(f"table format must be one of {', '.join(TABLE_FORMATS)}, not {table_format!r}")
    text = tabulate(escaped, headers=headers, tablefmt="pipe", colalign=align, disable_numparse=True)
    return text + "\n" if table_format == NNCF_DOCS else text


def _whole(cell: str) -> str:
    """``256.0`` -> ``256``: lora ranks are validated whole numbers."""
    return str(int(float(cell))) if cell else ""


def markdown_table(frame: pd.DataFrame, table_format: str = NNCF_DOCS) -> str:
    """The table of one model's derived rows."""
    return pipe_table(table_cells(frame), table_format)
