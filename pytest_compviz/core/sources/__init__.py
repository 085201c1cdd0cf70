"""Readers for the evaluation outputs a manifest points at: lm-evaluation-harness results
(``lm_eval``), who_what_benchmark similarity (``wwb``) and model size on disk (``model_files``).

Every reader raises ``SourceError`` for anything wrong with what it was pointed at, never an
OSError, ValueError or traceback: the manifest turns each one into a Problem on its line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...problems import CompvizError


class SourceError(CompvizError):
    """One thing wrong with one source file, printed as ``FILE: what``.

    ``file`` is the file at fault as shown to the user (for a folder, the file found in it, or the
    folder itself when no file was found); ``what`` is the one-line reason without the file name,
    so a caller can put its own context in front of it."""

    def __init__(self, file: str, what: str):
        self.file = file
        self.what = what
        super().__init__(f"{file}: {what}")


@dataclass(frozen=True)
class Measurement:
    """One metric value and its standard error (None: the source gives none)."""

    value: float
    stderr: float | None = None


def finite_number(value: object) -> float | None:
    """``value`` as a float if it is a real, finite JSON/CSV number; else None. (JSON booleans
    are ints in Python: ``true`` is not a metric value.)"""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def number_from_text(text: str) -> float | None:
    """A CSV cell as a finite float, or None."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def oserror_text(exc: OSError) -> str:
    """``no such file or folder``, ``permission denied``...: the reason without the path (the
    caller names the file once)."""
    reason = exc.strerror or type(exc).__name__
    return reason[0].lower() + reason[1:]
