"""The run's state in a pytest session, with no hooks (``hooks.CompvizHooks`` reads and fills
it): the options, the baseline, the file runs, the reports of what ran (the ledger's source),
whether the output folder is marked unfinished, and the outputs once written."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..core.ledger import Status
from ..problems import CompvizError

if TYPE_CHECKING:
    from ..baseline.load import Baseline
    from ..config.options import RunOptions
    from ..core.pipeline import FileRun
    from ..core.window import Window
    from ..report.outputs import RunOutputs

# An item's identity as its report carries it: (input key, row index or None, check).
Identity = tuple[str, object, str]


@dataclass
class RunState:
    options: RunOptions
    rootpath: Path
    explicit: set[Path]  # the paths named on the command line (and --compviz-input's once collected)
    requested: set[Path]  # the configured or given inputs this run collects
    writes_outputs: bool  # not an xdist worker, not --collect-only
    baseline: Baseline | None = None
    window: Window | None = None
    notes: list[str] = field(default_factory=list)
    runs: dict[Path, FileRun] = field(default_factory=dict)
    wanted: dict[Path, bool] = field(default_factory=dict)
    reports: list[tuple[Identity, Status]] = field(default_factory=list)
    reported: set[Path] = field(default_factory=set)  # the inputs reports came from
    started: bool = False  # the output folder says "did not finish" until the run's record is written
    outputs: RunOutputs | None = None  # once written

    @property
    def baseline_description(self) -> str:
        return self.baseline.describe() if self.baseline is not None else ""

    def wants(self, path: Path) -> bool:
        """Whether ``path`` is one of this run's inputs; asked once per file, then per report."""
        path = Path(os.path.normpath(path))
        if path not in self.wanted:
            from .collection import is_input

            self.wanted[path] = is_input(path, self.options, self.explicit, self.rootpath)
        return self.wanted[path]

    def file_run(self, path: Path) -> FileRun:
        """``path`` through the pipeline, once per session."""
        path = Path(os.path.normpath(path))
        if path not in self.runs:
            from ..core.pipeline import run_file

            try:
                self.runs[path] = run_file(path, self.options, self.baseline, window=self.window)
            except CompvizError as exc:  # an unusable input, or a rule its rows cannot use
                raise pytest.UsageError(f"compviz: {exc}") from None
        return self.runs[path]

    def mark_started(self) -> None:
        """Once a run will write outputs, summary.md and compviz.json say it did not finish until
        its record is written (``report.outputs.mark_started``): a run killed or stopped at any
        point never leaves an earlier run's "passed" in the folder."""
        if self.started or not self.writes_outputs:
            return
        self.started = True
        from ..report.outputs import mark_started

        mark_started(self.options)  # an unwritable folder is reported when the record is written

    def record(self, identity: Identity, status: Status) -> None:
        """A report of one of our items; under xdist the controller first hears of a file here."""
        path = Path(identity[0])
        if path not in self.reported and self.wants(path):
            self.reported.add(path)
            self.mark_started()
        if path in self.reported:
            self.reports.append((identity, status))

    def names_csv(self) -> bool:
        return any(p.suffix.lower() == ".csv" for p in self.explicit)

    def paths_to_report(self, interrupted: bool = False) -> list[Path]:
        """Every input of the run: given, configured and collected, named, and (under xdist) those
        the workers' reports name. After an interruption only those already read: a Ctrl-C
        during collection must not read the rest first."""
        if interrupted:  # read already, here or (xdist) by a worker whose reports arrived
            return sorted({*self.runs, *self.reported})
        named = {p for p in self.explicit if p.suffix.lower() == ".csv" and p.is_file()}
        return sorted({*self.requested, *named, *self.reported, *self.runs})
