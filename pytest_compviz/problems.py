"""Errors the core reports: a usage problem (the input can't be used at all) or a list of data
problems, each pointing at a file, line and column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a results file, printed as ``FILE:LINE: column 'NAME': what (value V)``."""

    path: str
    message: str
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        text = f"{where}: "
        if self.column is not None:
            text += f"column {self.column!r}: "
        text += self.message
        if self.value is not None:
            text += f" (value {self.value})"
        return text


class CompvizError(Exception):
    """Base of the errors the core raises on purpose."""


class InputUnusable(CompvizError):
    """The input path can't be read at all (missing, a directory, unreadable): a usage error."""


def check_input_path(path, shown: str) -> None:
    """Raise ``InputUnusable`` (``SHOWN: why``) unless ``path`` is a readable file. Cheap, so both
    faces call it before any work: the plugin at start-up, the CLI before writing anything."""
    import os
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise InputUnusable(f"{shown}: no such file")
    if path.is_dir():
        raise InputUnusable(f"{shown}: is a directory, expected a CSV file")
    if not os.access(path, os.R_OK):
        raise InputUnusable(f"{shown}: cannot be read (permission denied)")


class InvalidResults(CompvizError):
    """The file was read but its data is invalid; ``problems`` lists every problem found."""

    def __init__(self, path: str, problems: list[Problem]):
        self.path = path
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
