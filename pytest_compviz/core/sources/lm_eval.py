"""lm-evaluation-harness results files: find the right one, read a metric and its stderr.

What lm-eval writes (checked against EleutherAI/lm-evaluation-harness):

- ``lm_eval --output_path DIR`` writes ``DIR/<model name>/results_<date>.json``; the model folder
  is the model name with each run of ``"<>:/|\\?*[]`` replaced by ``__``, and ``<date>`` is
  ``datetime.now().isoformat()`` with ``:`` replaced by ``-`` (``2024-05-03T12-34-56.123456``,
  no fraction when the microseconds are 0). Each run adds a file, so the newest is the one named
  with the latest date; the file times say nothing reliable after a copy or a checkout.
- ``results[task]`` maps ``"<metric>,<filter>"`` to the value and ``"<metric>_stderr,<filter>"``
  to its standard error, which is the string ``"N/A"`` when lm-eval could not compute one (no
  stderr function for the metric, e.g. wikitext's perplexities, or a single sample). Task dicts
  also hold ``alias``, and on the newer line ``name`` and ``sample_len``.
- ``config.limit`` is the ``--limit`` the run used (None: all documents), and
  ``n-samples[task]`` is ``{"original": N, "effective": n}``: the documents actually evaluated.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import Measurement, SourceError, finite_number, oserror_text

# lm-eval's own results file name: results_<isoformat with ':' -> '-'>.json
_RESULTS_NAME = re.compile(r"^results_(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{1,6})?)\.json$")

# Keys of a task dict that are not "<metric>,<filter>" pairs.
_TASK_INFO_KEYS = {"alias", "name", "sample_len", "sample_count", "samples"}


@dataclass(frozen=True)
class LmEvalResults:
    """One lm-eval results file as read."""

    file: str  # the file as shown: the path given, or the folder joined with the file found in it
    sha256: str
    results: dict  # task -> {"<metric>,<filter>": value, ...}
    limit: object = None  # config.limit: None, an int count or a float fraction
    effective_samples: dict = field(default_factory=dict)  # task -> documents evaluated

    @property
    def tasks(self) -> list[str]:
        return list(self.results)

    def measurement(self, task: str, metric: str, filter: str = "none") -> Measurement:
        """The value of ``metric`` under ``filter`` in ``task`` and its stderr; SourceError if the
        task or metric is missing or the value is not a number."""
        if task not in self.results:
            raise SourceError(self.file, f"no task {task!r} (tasks: {_listing(self.tasks)})")
        metrics = self.results[task]
        key = f"{metric},{filter}"
        if key not in metrics:
            raise SourceError(self.file, f"task {task!r} has no metric {_metric_name(key)!r}"
                                         f" (metrics: {_listing(_metric_names(metrics))})")
        value = finite_number(metrics[key])
        if value is None:
            raise SourceError(self.file, f"task {task!r} metric {_metric_name(key)!r} is"
                                         f" {json.dumps(metrics[key])}, not a number")
        stderr_key = f"{metric}_stderr,{filter}"
        stderr = metrics.get(stderr_key)
        if stderr is None or stderr == "N/A":  # lm-eval's "no stderr for this metric"
            return Measurement(value)
        number = finite_number(stderr)
        if number is None:
            raise SourceError(self.file, f"task {task!r} stderr {_metric_name(stderr_key)!r} is"
                                         f" {json.dumps(stderr)}, not a number or \"N/A\"")
        return Measurement(value, number)


def read_lm_eval(path: str | os.PathLike, shown: str | None = None) -> LmEvalResults:
    """Read the results file at ``path``, or the newest one in the folder ``path`` (or in its
    one sub-folder, the layout of ``--output_path DIR``)."""
    path = Path(path)
    shown = str(path) if shown is None else shown
    file, file_shown = find_results_file(path, shown)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise SourceError(file_shown, f"cannot be read ({oserror_text(exc)})") from None
    return parse_results(data, file_shown)


def find_results_file(path: Path, shown: str) -> tuple[Path, str]:
    """The results file ``path`` names, and how to show it."""
    try:
        if not path.is_dir():
            if not path.exists():
                raise SourceError(shown, "no such file or folder")
            return path, shown
        found = _newest_in(path, shown)
        if found is not None:
            return found, os.path.join(shown, found.name)
        folders = _sub_folders(path)
        if not folders:
            raise SourceError(shown, "no lm-eval results_*.json in this folder")
        if len(folders) > 1:
            raise SourceError(shown, "no lm-eval results_*.json in this folder, and several sub-folders"
                                     f" to look in ({_listing([f.name for f in folders])}): name one")
        folder = folders[0]
        folder_shown = os.path.join(shown, folder.name)
        found = _newest_in(folder, folder_shown)
        if found is None:
            raise SourceError(shown, f"no lm-eval results_*.json in this folder or in its sub-folder"
                                     f" {folder.name!r}")
        return found, os.path.join(folder_shown, found.name)
    except OSError as exc:
        raise SourceError(shown, f"cannot be read ({oserror_text(exc)})") from None


def _newest_in(folder: Path, shown: str) -> Path | None:
    """The ``results_*.json`` with the latest date in its name; None if there is none. One
    scandir, no stat: a sweep's manifest points at hundreds of these folders."""
    with os.scandir(folder) as entries:
        candidates = sorted(e.name for e in entries
                            if e.name.startswith("results_") and e.name.endswith(".json") and e.is_file())
    if len(candidates) <= 1:
        return folder / candidates[0] if candidates else None
    dated = []
    for name in candidates:
        when = _date_key(name)
        if when is None:
            raise SourceError(os.path.join(shown, name),
                              "is not named like lm-eval's results_<date>.json, so the newest of the"
                              f" {len(candidates)} results files cannot be told")
        dated.append((when, name))
    dated.sort()
    newest_date, newest = dated[-1]
    tied = [name for when, name in dated if when == newest_date]
    if len(tied) > 1:
        raise SourceError(shown, f"{len(tied)} results files have the same date"
                                 f" ({_listing(tied)}): keep one")
    return folder / newest


def _date_key(name: str) -> str | None:
    """A key that sorts as the date in the name does: the fixed-width date and time, then the
    fraction padded to microseconds (lm-eval leaves it out when it is 0)."""
    match = _RESULTS_NAME.match(name)
    if not match:
        return None
    seconds, _, fraction = match.group(1).partition(".")
    return f"{seconds}.{fraction:0<6}"


def _sub_folders(folder: Path) -> list[Path]:
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith((".", "__pycache__")))
    return [folder / name for name in names]


def parse_results(data: bytes, shown: str) -> LmEvalResults:
    """An lm-eval results file's bytes, as read from ``shown``."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        document = json.loads(data)
    except json.JSONDecodeError as exc:
        raise SourceError(shown, f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise SourceError(shown, f"is not valid JSON ({type(exc).__name__})") from None
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, dict) or not all(isinstance(v, dict) for v in results.values()):
        raise SourceError(shown, "is not an lm-eval results file (no 'results' dict of tasks)")
    config = document.get("config")
    limit = config.get("limit") if isinstance(config, dict) else None
    return LmEvalResults(shown, digest, results, limit, _effective_samples(document, results))


def _effective_samples(document: dict, results: dict) -> dict:
    """task -> documents evaluated: ``n-samples[task]["effective"]`` (0.4.x), else the task's
    ``sample_len`` (newer line); tasks with neither are left out."""
    counts = {}
    n_samples = document.get("n-samples")
    for task, metrics in results.items():
        entry = n_samples.get(task) if isinstance(n_samples, dict) else None
        count = entry.get("effective") if isinstance(entry, dict) else None
        if count is None:
            count = metrics.get("sample_len")
        if isinstance(count, int) and not isinstance(count, bool):
            counts[task] = count
    return counts


def _metric_name(key: str) -> str:
    """``acc,none`` -> ``acc``; other filters stay: ``exact_match,strict-match``."""
    metric, _, filter = key.partition(",")
    return metric if filter == "none" else key


def _metric_names(metrics: dict) -> list[str]:
    return [_metric_name(key) for key in metrics
            if key not in _TASK_INFO_KEYS and "," in key and "_stderr," not in key]


def _listing(names: list[str]) -> str:
    return ", ".join(names) if names else "none"
