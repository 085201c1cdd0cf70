"""lm-evaluation-harness per-sample outputs (``--log_samples``): which items a run got right.

What lm-eval writes (checked against lm-eval 0.4.13's own output, tests/data/evals/paired):
beside ``results_<date>.json``, one ``samples_<task>_<date>.jsonl`` per task, with the same
``<date>``. Each line is one document: ``doc_id``, ``doc``, ``doc_hash`` (a sha256 of the
document), ``filter``, ``metrics`` (the names of the metrics computed for it) and, under each of
those names, the document's value (``"acc": 1.0``).

Items are keyed by ``doc_hash`` (and, for a dataset that holds the same document twice, by
which occurrence it is), never by ``doc_id``: the position of a document says nothing once the
dataset is reordered or filtered, its hash does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import SourceError, oserror_text
from .lm_eval import find_results_files

# samples_<task>_<isoformat with ':' -> '-'>.jsonl (a task name may itself hold '_')
_SAMPLES_NAME = re.compile(r"^samples_(.+)_(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{1,6})?)\.jsonl$")
_RESULTS_DATE = re.compile(r"^results_(.+)\.json$")

Key = tuple[str, int]  # (doc_hash, occurrence)


@dataclass(frozen=True)
class TaskSamples:
    """One task's samples file: per (metric, filter), each item's value."""

    task: str
    file: str  # as shown
    sha256: str
    values: dict  # (metric, filter) -> {Key: float}

    def correctness(self, metric: str, filter: str) -> dict | None:
        """Item -> right (True) / wrong (False), when every value of the metric is 0 or 1 (an
        accuracy); None for a metric that is not right-or-wrong per item (a perplexity)."""
        values = self.values.get((metric, filter))
        if not values or any(v not in (0.0, 1.0) for v in values.values()):
            return None
        return {key: v == 1.0 for key, v in values.items()}


@dataclass(frozen=True)
class SamplesRun:
    """A run's samples files, one per task."""

    tasks: dict  # task -> TaskSamples

    @property
    def files(self) -> list[tuple[str, str]]:
        return [(t.file, t.sha256) for t in self.tasks.values()]


def read_samples(path: str | os.PathLike, shown: str | None = None) -> SamplesRun:
    """The samples at ``path``: one ``samples_*.jsonl`` file, or a folder (or its one sub-folder,
    lm-eval's ``--output_path`` layout) holding them: the newest run's files, by the date in the
    names (the date of the newest results file, when the folder has one)."""
    path = Path(path)
    shown = str(path) if shown is None else shown
    if path.is_file():
        match = _SAMPLES_NAME.match(path.name)
        task = match.group(1) if match else path.stem
        return SamplesRun({task: read_task_samples(path, shown, task)})
    if not path.is_dir():
        raise SourceError(shown, "no such file or folder")
    folder, folder_shown = path, shown
    if not _samples_in(folder):
        subs = [p for p in sorted(folder.iterdir()) if p.is_dir() and _samples_in(p)]
        if len(subs) != 1:
            raise SourceError(shown, "holds no lm-eval samples_<task>_<date>.jsonl files (run lm-eval with"
                                     " --log_samples)" if not subs else
                              f"holds samples in {len(subs)} sub-folders; name one")
        folder, folder_shown = subs[0], os.path.join(shown, subs[0].name)
    return _read_folder(folder, folder_shown, date=None)


def samples_beside(results_path: str | os.PathLike, shown: str, run=None) -> SamplesRun | None:
    """The samples lm-eval wrote beside the results files the ``lm-eval`` cell (``results_path``,
    a file or a folder, shown as ``shown``) resolves to: same folder, same date. None when it
    wrote none (the run had no --log_samples).

    ``run`` (the ``LmEvalRun`` read from that cell) decides which results file each task's
    figures come from (``LmEvalRun.part_for``); a task's samples are taken from that file's run
    only, never from an older run in the folder: they would pair answers the figures did not
    come from. Without ``run``, the newest results file's samples."""
    files = find_results_files(Path(results_path), shown)
    by_shown = {file_shown: file for file, file_shown in files}
    parts = [(part.file, part) for part in run.parts] if run is not None else [(files[0][1], None)]
    tasks: dict = {}
    for part_shown, part in parts:
        file = by_shown.get(part_shown)
        match = _RESULTS_DATE.match(file.name) if file is not None else None
        if match is None:
            continue
        assert file is not None  # a match was found in its name
        found = _read_folder(file.parent, os.path.dirname(part_shown), date=match.group(1), required=False,
                             wanted=None if part is None else
                             lambda task, part=part: task not in tasks and run.part_for(task) in (part, None))
        tasks.update(found.tasks)
    return SamplesRun(tasks) if tasks else None


def _samples_in(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if _SAMPLES_NAME.match(p.name) and p.is_file()]
    except OSError:
        return []


def _read_folder(folder: Path, shown: str, date: str | None, required: bool = True, wanted=None) -> SamplesRun:
    """The samples files of the run dated ``date`` in ``folder`` (the newest when None); only the
    tasks ``wanted(task)`` accepts, when given."""
    found = [(m.group(1), m.group(2), p) for p in _samples_in(folder) if (m := _SAMPLES_NAME.match(p.name))
             if wanted is None or wanted(m.group(1))]
    if date is None and found:
        date = max(found, key=lambda f: _sortable(f[1]))[1]  # the newest run in the folder
    chosen = sorted((task, p) for task, d, p in found if d == date)
    if not chosen and required:
        raise SourceError(shown, "holds no lm-eval samples_<task>_<date>.jsonl files (run lm-eval with --log_samples)")
    return SamplesRun({task: read_task_samples(p, os.path.join(shown, p.name), task) for task, p in chosen})


_FILTER_KEY = b', "filter": '


def _tail(data: bytes, start: int, end: int, decode) -> dict | None:
    """The keys this reader needs, parsed from the end of the line ``data[start:end]`` only; None
    to parse the line whole.

    lm-eval writes a sample with ``json.dumps`` in the order doc_id, doc, target, arguments, resps,
    filtered_resps, filter, metrics, doc_hash, ..., then the metric values: everything needed
    comes after ``"filter"``, and the document, the prompt and the responses (nearly all of a
    line's bytes) come before it. Inside a JSON string a quote is always escaped, so
    ``, "filter": `` found there is a key, not text of the document. Anything unexpected (another
    layout, a nested "filter" key, a tail that does not parse or lacks a key) falls back to
    parsing the whole line, so the shortcut changes the speed, never the result.
    """
    if data[end - 1:end] == b"\r":
        end -= 1
    at = data.rfind(_FILTER_KEY, start, end)
    if at < 0 or data[end - 1:end] != b"}":
        return None
    try:
        tail = decode("{" + data[at + 2:end].decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(tail, dict) or "doc_hash" not in tail or not isinstance(tail.get("metrics"), list):
        return None
    return tail


def _sortable(date: str) -> str:
    """lm-eval leaves the fraction out when it is 0: pad it so dates sort as times do."""
    seconds, _, fraction = date.partition(".")
    return f"{seconds}.{fraction:0<6}"


def read_task_samples(path: Path, shown: str, task: str) -> TaskSamples:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(shown, oserror_text(exc)) from None
    values: dict = {}
    seen: dict = {}
    decode = json.JSONDecoder().decode  # on str: json.loads would detect the encoding of every tail
    # Lines are found in the bytes, and only each line's tail is decoded and parsed (``_tail``): no
    # copy of the file as text, nor of its lines. Split on b"\n" only: json.dumps(ensure_ascii=False)
    # writes U+2028 and friends inside documents as they are.
    position, size, number = 0, len(data), 0
    while position < size:
        end = data.find(b"\n", position)
        end = size if end < 0 else end
        number += 1
        sample = _tail(data, position, end, decode)
        if sample is None:
            line = data[position:end]
            position = end + 1
            if not line.strip():
                continue
            try:
                sample = json.loads(line)
            except (ValueError, RecursionError):
                raise SourceError(shown, f"line {number}: not a JSON object (is this an lm-eval samples file?)") from None
            if not isinstance(sample, dict):
                raise SourceError(shown, f"line {number}: not a JSON object (is this an lm-eval samples file?)")
        else:
            position = end + 1
        doc_hash = sample.get("doc_hash")
        if not isinstance(doc_hash, str) or not doc_hash:
            raise SourceError(shown, f"line {number}: no doc_hash (lm-eval wrote one from 0.4.3 on)")
        filter = sample.get("filter", "none")
        occurrence = seen.get((filter, doc_hash), 0)
        seen[(filter, doc_hash)] = occurrence + 1
        for metric in sample.get("metrics") or ():
            value = sample.get(metric)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue  # a perplexity's (loglikelihood, length) pair: not a per-item score
            values.setdefault((metric, filter), {})[(doc_hash, occurrence)] = float(value)
    if not seen:
        raise SourceError(shown, "holds no samples")
    return TaskSamples(task, shown, hashlib.sha256(data).hexdigest(), values)
