"""Which conftest.py files implement a compviz hook: one scan for both faces (pytest refuses to
run when it did not load one; ``compviz`` says their rules are not applied). Read as text: a
conftest is never imported here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def implements_compviz_hook(conftest: Path) -> bool:
    try:
        return conftest.is_file() and "def pytest_compviz_" in conftest.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def folders_up(start: Path, stop: Path, leave: bool = True) -> Iterator[Path]:
    """``start``, then each folder above it, up to ``stop`` or the file system's root. With
    ``leave`` False, a ``start`` outside ``stop`` yields only itself."""
    folder = start
    while True:
        yield folder
        if folder == stop or folder.parent == folder or (not leave and not folder.is_relative_to(stop)):
            return
        folder = folder.parent
