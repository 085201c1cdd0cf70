"""What a session collects: the command line's paths with the configured inputs added, and
which files are results inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..config.options import RunOptions
from .state import RunState


def is_input(path: Path, options: RunOptions, explicit: set[Path], rootpath: Path) -> bool:
    """A given or configured input; a CSV named on the command line; a file the globs match."""
    if path in options.inputs:
        return True
    if path in explicit:
        return path.suffix.lower() == ".csv"
    from ..config.globs import matches_globs

    return matches_globs(path, rootpath, options.file_globs)


def collection_args(state: RunState, config: pytest.Config, args: list[str], source) -> list[str]:
    """What pytest collects. ``--compviz-input`` and no path: just the inputs, as ``pytest FILE``
    would; with paths, both. Inputs from the configuration are added to the test paths a plain
    ``pytest`` collects, but never to paths named on the command line."""
    inputs = [str(p) for p in state.options.inputs if p not in state.explicit]
    if config.option.compviz_inputs:
        named = list(args) if source == pytest.Config.ArgsSource.ARGS else []
        state.explicit |= set(state.options.inputs)
        return [*named, *inputs]
    if source == pytest.Config.ArgsSource.ARGS:
        return list(args)  # the configured inputs are not part of this run
    folders = [Path(os.path.normpath(config.invocation_params.dir / a)) for a in args]
    extra = [p for p in inputs if not any(inside(Path(p), folder) for folder in folders)]
    return [*args, *extra]


def inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False
