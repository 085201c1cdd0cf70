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
  ``n-shot[task]``, ``versions[task]`` and ``higher_is_better[task][metric]`` record the few-shot
  count, the task's version and the metric's direction; ``config.model_args`` is the
  ``--model_args`` string (or dict) the model was loaded with.
- Tasks run one at a time into one output folder (``--tasks lambada_openai``, then ``--tasks
  wikitext``) leave one results file per run: each task is read from the newest file that has it
  (``LmEvalRun``), and each figure names the file it came from.
- lm-eval names the folder for ``pretrained=./models/int4`` ``.__models__int4``: a leading dot that
  is its sanitised ``./`` (or ``../``), not a hidden folder, so those are looked in.
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


# ``--model_args`` keys that change what a task measures (context length, the BOS token,
# truncation, generation length). The keys that name or load the model (``pretrained``, ``dtype``,
# ``device``, ``revision``, backend options...) differ between a reference and its compressed
# variants by design, so they are not compared.
COMPARED_MODEL_ARGS = ("max_length", "add_bos_token", "truncation", "max_gen_toks")


@dataclass(frozen=True)
class LmEvalResults:
    """One lm-eval results file as read."""

    file: str  # the file as shown: the path given, or the folder joined with the file found in it
    sha256: str
    results: dict  # task -> {"<metric>,<filter>": value, ...}
    limit: object = None  # config.limit: None, an int count or a float fraction
    effective_samples: dict = field(default_factory=dict)  # task -> documents evaluated
    n_shot: dict = field(default_factory=dict)  # task -> few-shot count, as recorded
    versions: dict = field(default_factory=dict)  # task -> task version, as recorded
    higher_is_better: dict = field(default_factory=dict)  # task -> {metric: bool}
    run_settings: tuple = ()  # ((name, value), ...): the run-wide settings compared (see settings)

    def settings(self, task: str) -> dict:
        """What must be equal for two results of ``task`` to measure models, not settings: the
        run-wide ones (limit, the compared model args, chat template...) then the task's own."""
        found = dict(self.run_settings)
        found.update({"n-shot": self.n_shot.get(task), "version": self.versions.get(task),
                      "n-samples": self.effective_samples.get(task)})
        return found

    @property
    def tasks(self) -> list[str]:
        return list(self.results)

    def measurement(self, task: str, metric: str, filter: str = "none", higher: bool | None = None) -> Measurement:
        """The value of ``metric`` under ``filter`` in ``task`` and its stderr; SourceError if the
        task or metric is missing or the value is not a number, or if ``higher`` (whether the
        configured metric is higher-is-better) contradicts the file's ``higher_is_better``."""
        if task not in self.results:
            raise SourceError(self.file, f"no task {task!r} (tasks: {_listing(self.tasks)})")
        metrics = self.results[task]
        key = f"{metric},{filter}"
        if key not in metrics:
            raise SourceError(self.file, f"task {task!r} has no metric {_metric_name(key)!r}"
                                         f" (metrics: {_listing(_metric_names(metrics))})")
        recorded = self.higher_is_better.get(task, {}).get(metric)
        if higher is not None and isinstance(recorded, bool) and recorded != higher:
            raise SourceError(self.file, f"lm-eval records task {task!r} metric {metric!r} as"
                                         f" {'higher' if recorded else 'lower'} is better, but it is configured as"
                                         f" {'higher' if higher else 'lower'} is better (the metric's direction)")
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


@dataclass(frozen=True)
class LmEvalRun:
    """What a manifest's lm-eval cell names: one results file, or a folder's results files, newest
    first, each task read from the newest file that has it."""

    parts: tuple  # LmEvalResults, newest first
    shown: str  # the file or folder as the cell names it

    @property
    def file(self) -> str:
        return self.parts[0].file

    @property
    def sha256(self) -> str:
        return self.parts[0].sha256

    @property
    def limit(self):
        return self.parts[0].limit

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(task for part in self.parts for task in part.tasks))

    @property
    def effective_samples(self) -> dict:
        found = {}
        for task in self.tasks:
            part = self.part_for(task)
            assert part is not None  # self.tasks are the parts' own tasks
            if task in part.effective_samples:
                found[task] = part.effective_samples[task]
        return found

    def part_for(self, task: str) -> LmEvalResults | None:
        """The newest file that has ``task``."""
        return next((part for part in self.parts if task in part.results), None)

    def measurement(self, task: str, metric: str, filter: str = "none", higher: bool | None = None) -> Measurement:
        part = self.part_for(task)
        if part is None:
            if len(self.parts) == 1:
                return self.parts[0].measurement(task, metric, filter, higher)
            raise SourceError(self.shown, f"no task {task!r} in any of its {len(self.parts)} results files"
                                          f" (tasks: {_listing(self.tasks)})")
        return part.measurement(task, metric, filter, higher)

    def settings(self, task: str) -> dict:
        part = self.part_for(task)
        return part.settings(task) if part is not None else {}


def read_lm_eval(path: str | os.PathLike, shown: str | None = None, tasks=None) -> LmEvalRun:
    """Read the results file at ``path``, or the results files in the folder ``path`` (or in its
    one sub-folder, the layout of ``--output_path DIR``): each task from the newest that has it.
    ``tasks``: the tasks wanted; older files are read only until they are all found (a folder of
    repeated full runs costs one read), all of them when None."""
    path = Path(path)
    shown = str(path) if shown is None else shown
    parts: list[LmEvalResults] = []
    wanted = None if tasks is None else set(tasks)
    for file, file_shown in find_results_files(path, shown):
        if wanted is not None and parts and not wanted:
            break
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise SourceError(file_shown, f"cannot be read ({oserror_text(exc)})") from None
        parts.append(parse_results(data, file_shown))
        if wanted is not None:
            wanted -= set(parts[-1].results)
    return LmEvalRun(tuple(parts), shown)


def find_results_files(path: Path, shown: str) -> list[tuple[Path, str]]:
    """The results files ``path`` names, newest first, and how to show each."""
    try:
        if not path.is_dir():
            if not path.exists():
                raise SourceError(shown, "no such file or folder")
            return [(path, shown)]
        found = _dated_in(path, shown)
        if found:
            return [(file, os.path.join(shown, file.name)) for file in found]
        folders = _sub_folders(path)
        if not folders:
            raise SourceError(shown, "no lm-eval results_*.json in this folder")
        if len(folders) > 1:
            raise SourceError(shown, "no lm-eval results_*.json in this folder, and several sub-folders"
                                     f" to look in ({_listing([f.name for f in folders])}): name one")
        folder = folders[0]
        folder_shown = os.path.join(shown, folder.name)
        found = _dated_in(folder, folder_shown)
        if not found:
            raise SourceError(shown, f"no lm-eval results_*.json in this folder or in its sub-folder"
                                     f" {folder.name!r}")
        return [(file, os.path.join(folder_shown, file.name)) for file in found]
    except OSError as exc:
        raise SourceError(shown, f"cannot be read ({oserror_text(exc)})") from None


def _dated_in(folder: Path, shown: str) -> list[Path]:
    """The ``results_*.json`` files, latest date in the name first; empty if there is none. One
    scandir, no stat: a sweep's manifest points at hundreds of these folders."""
    with os.scandir(folder) as entries:
        candidates = sorted(e.name for e in entries
                            if e.name.startswith("results_") and e.name.endswith(".json") and e.is_file())
    if len(candidates) <= 1:
        return [folder / candidates[0]] if candidates else []
    dated = []
    for name in candidates:
        when = _date_key(name)
        if when is None:
            raise SourceError(os.path.join(shown, name),
                              "is not named like lm-eval's results_<date>.json, so the newest of the"
                              f" {len(candidates)} results files cannot be told")
        dated.append((when, name))
    dated.sort(reverse=True)
    dates = [when for when, _ in dated]
    for when in dict.fromkeys(dates):
        tied = sorted(name for date, name in dated if date == when)
        if len(tied) > 1:
            raise SourceError(shown, f"{len(tied)} results files have the same date"
                                     f" ({_listing(tied)}): keep one")
    return [folder / name for _, name in dated]


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
        names = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("__pycache__")
                       and (not e.name.startswith(".") or _sanitised_relative(e.name)))
    return [folder / name for name in names]


def _sanitised_relative(name: str) -> bool:
    """lm-eval's folder for a relative model path: ``./models/int4`` -> ``.__models__int4``,
    ``../m`` -> ``..__m`` (each run of its unsafe characters became ``__``)."""
    return re.match(r"^\.{1,2}__", name) is not None


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
    config = config if isinstance(config, dict) else {}
    limit = config.get("limit")
    return LmEvalResults(shown, digest, results, limit, _effective_samples(document, results),
                         _per_task(document, "n-shot"), _per_task(document, "versions"),
                         _per_task(document, "higher_is_better", dict), _run_settings(document, config))


def _per_task(document: dict, key: str, kind=None) -> dict:
    """``document[key]`` as task -> value (empty when absent or not a dict), values of ``kind``."""
    found = document.get(key)
    if not isinstance(found, dict):
        return {}
    return {task: value for task, value in found.items() if kind is None or isinstance(value, kind)}


def _run_settings(document: dict, config: dict) -> tuple:
    """The run-wide settings two compared runs must share: ``--limit``, the compared
    ``--model_args`` (see COMPARED_MODEL_ARGS), generation arguments, and the chat template and
    system instruction (by their recorded digests). Absent ones are left out, so an older file
    that records less is compared on what it records."""
    found = [("limit", config.get("limit"))]
    if config.get("model_args") is not None:  # recorded: a key left out is the default (None)
        args = _model_args(config.get("model_args"))
        found += [(f"model_args {key}", args.get(key)) for key in COMPARED_MODEL_ARGS]
    if config.get("gen_kwargs") is not None:
        found.append(("gen_kwargs", config.get("gen_kwargs")))
    for key in ("fewshot_as_multiturn", "chat_template_sha", "system_instruction_sha"):
        if document.get(key) is not None:
            found.append((key, document.get(key)))
    return tuple(found)


def _model_args(value) -> dict:
    """``"pretrained=x,max_length=2048"`` (or a dict, newer lm-eval) as a dict of text values."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, str):
        return {}
    pairs = (item.partition("=") for item in value.split(",") if "=" in item)
    return {key.strip(): text.strip() for key, _, text in pairs}


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
