"""Naming artifacts."""

from __future__ import annotations

import re
from pathlib import Path


def safe_name(text: str) -> str:
    """``text`` usable in a file name on every OS: runs of other characters become ``_``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return cleaned or "model"


def artifact_stem(input_path: str, model: str, single_model: bool) -> str:
    """``STEM`` for a one-model file, ``STEM.MODEL`` when the file holds several models."""
    stem = Path(input_path).stem
    return stem if single_model else f"{stem}.{safe_name(model)}"
