"""Saving this run into a baseline file: read, merge and write under a lock, so two sessions
saving different models into one file at once both keep their rows."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
import os
import time
from contextlib import contextmanager
from pathlib import Path

from ..atomic import atomic_write, write_target
from .document import NotARunDocument, dumps, read_run_document
from .load import BaselineError, check_settings, key_of


def save_baseline(path: Path, document: dict, shown: str, keep: AbstractSet = frozenset()) -> None:
    """Merge ``document`` into ``path`` (see ``merged``) and write it atomically, under a lock
    file beside it. ``keep``: keys of rows this run did not check (not run): their saved values
    stay. Raises ``BaselineError`` (the file left as it was) or ``OSError``. A symlink is written
    through, and locked beside its target: two links to one shared file share its lock."""
    if path.is_dir():
        raise BaselineError(f"{shown}: is a directory")
    path = write_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.with_name(path.name + ".lock")):
        atomic_write(path, dumps(merged(path, document, shown, keep)))


@contextmanager
def locked(lock: Path, timeout: float = 60.0):
    """An exclusive lock by creating ``lock``; a lock older than ``timeout`` is taken as left by
    a killed process. Portable (no fcntl): the file is created with O_EXCL."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > timeout:
                    lock.unlink(missing_ok=True)
                    continue
            except FileNotFoundError:
                continue
            if time.monotonic() > deadline:
                raise BaselineError(f"{lock}: locked by another run for {timeout:.0f} s") from None
            time.sleep(0.02)
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def merged(existing: Path, document: dict, shown: str | None = None, keep: AbstractSet = frozenset()) -> dict:
    """``document`` plus the rows and inputs of ``existing`` this run did not cover: a run over
    some models never drops the saved rows of the others."""
    if not existing.exists():
        return document
    shown = shown or str(existing)
    try:
        old = read_run_document(existing)
    except (OSError, NotARunDocument) as exc:
        reason = exc.reason if isinstance(exc, NotARunDocument) else f"not readable as JSON ({exc})"
        raise BaselineError(f"{shown}: exists but is {reason}; not overwritten") from None
    if "settings" in document:  # one file, one way of computing errors: never a mix of rows
        try:
            check_settings(old, document["settings"], shown)
        except BaselineError as exc:
            raise BaselineError(f"{str(exc).removeprefix('baseline ')}; not overwritten") from None
    try:
        return _merged(old, document, keep)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise BaselineError(f"{shown}: exists but its rows are malformed ({exc!r}); not overwritten") from None


def _merged(old: dict, document: dict, keep: AbstractSet) -> dict:
    # An old row is replaced when this run has its configuration, or re-saved its input and model
    # (so a row removed from that file goes); rows of other inputs and models stay, and so do the
    # rows this run did not check.
    keys = {key_of(row) for row in document["rows"]}
    covered = {(row["input"], row["model"]) for row in document["rows"]}
    names = {entry["name"] for entry in document["inputs"]}
    kept_rows = [row for row in old.get("rows", [])
                 if key_of(row) in keep and key_of(row) not in keys
                 or key_of(row) not in keys and (row.get("input"), row.get("model")) not in covered]
    kept_inputs = [entry for entry in old.get("inputs", []) if entry.get("name") not in names]
    return {**document, "inputs": kept_inputs + document["inputs"], "rows": kept_rows + document["rows"]}
