"""Which results files the ``files`` globs (``[tool.compviz] files``, pytest's ``compviz_files``)
select: one matcher for both faces. pytest asks it of each file it collects under its test paths;
``compviz`` walks the configuration's folder the way pytest's collection would and asks it of each
CSV found there.

A glob matches a CSV's path relative to the root (``results/*.csv``) or its name (``*.csv``).
"""

from __future__ import annotations

import os
from fnmatch import fnmatch, fnmatchcase
from pathlib import Path

# pytest's default norecursedirs, and what it skips besides (virtual environments).
_NO_RECURSE = ("*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}", "__pycache__")


def matches_globs(path: Path, root: Path, globs) -> bool:
    """Whether ``path`` (a file) is a results file the ``globs`` select, relative to ``root``."""
    if path.suffix.lower() != ".csv" or not globs:
        return False
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        relative = path.as_posix()
    return any(fnmatchcase(relative, glob) or fnmatchcase(path.name, glob) for glob in globs)


def glob_inputs(root: Path, globs) -> list[Path]:
    """The CSVs under ``root`` the ``globs`` select, sorted, skipping the folders pytest does not
    collect from (hidden ones, virtual environments, build outputs)."""
    if not globs:
        return []
    found = []
    for folder, sub_folders, files in os.walk(root):
        sub_folders[:] = sorted(name for name in sub_folders
                                if not any(fnmatch(name, pattern) for pattern in _NO_RECURSE)
                                and not os.path.exists(os.path.join(folder, name, "pyvenv.cfg")))
        for name in sorted(files):
            path = Path(os.path.normpath(os.path.join(folder, name)))
            if matches_globs(path, root, globs):
                found.append(path)
    return found
