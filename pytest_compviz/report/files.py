"""Writing artifacts atomically, and naming them."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never half of one.

    The temp file sits in the target folder (``os.replace`` is atomic only within one file system);
    concurrent writers each rename their own whole file, and the last one wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def safe_name(text: str) -> str:
    """``text`` usable in a file name on every OS: runs of other characters become ``_``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return cleaned or "model"


def artifact_stem(input_path: str, model: str, single_model: bool) -> str:
    """``STEM`` for a one-model file, ``STEM.MODEL`` when the file holds several models."""
    stem = Path(input_path).stem
    return stem if single_model else f"{stem}.{safe_name(model)}"
