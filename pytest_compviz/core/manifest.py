"""A manifest: a results CSV whose rows point at evaluation outputs instead of (or besides)
typing their numbers in. ``assemble`` reads the outputs and returns the plain results table.

A manifest has at least one of the source columns: ``lm-eval`` (an lm-evaluation-harness results
JSON or its output folder), ``wwb`` (a who_what_benchmark metrics.csv or output folder) and
``model path`` (the model's file or folder, for its size on disk). Paths are relative to the
manifest's folder; an empty source cell means that row has no such source.

Per cell, a number typed in the manifest wins over the file, and an empty cell takes the file's
value, written as ``repr(float)`` so it reads back exactly. Every named source is read, even for
a row that types in all its numbers: a broken path in the manifest is worth knowing about; and a
typed number that disagrees with the file it overrides (beyond the digits it was typed with) is a
warning, so a stale typed value cannot pass for a measurement unseen.

Identities (see docs/identities.md): evaluation outputs are compared by content (sha256), so two
rows reading byte-identical results (a copied folder) are flagged like two rows reading one path;
model folders by the files counted (two rows counting one weight file are flagged); lm-eval runs
of one model are comparable when their own recorded settings agree (``LmEvalResults.settings``).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..problems import InvalidResults, Problem
from ..spec import (DEFAULT_METRICS, KLD_MEAN, KLD_QUANTILES, LLAMA_KLD, LM_EVAL, LM_EVAL_SAMPLES, MODEL_PATH,
                    SAME_TOP, SIZE, SOURCE_COLUMNS, WWB, stderr_column)
from .reader import RawTable
from .sources import Measurement, SourceError
from .sources.lm_eval import read_lm_eval
from .sources.lm_eval_samples import read_samples, samples_beside
from .sources.llama_kld import read_llama_kld
from .sources.model_files import model_size
from .sources.wwb import read_wwb

MODEL_FILE = "model file"  # a file counted in a model's size (a source with no digest)
# Evaluation outputs, identified by content (sha256): two rows reading byte-identical ones are
# flagged as two rows reading one file (``shared_sources``), whatever the kind.
EVALUATION_KINDS = (LM_EVAL, WWB, LM_EVAL_SAMPLES, LLAMA_KLD)

WWB_SIMILARITY = "WWB, similarity"


def lm_eval_metrics(metrics) -> dict[str, tuple[str, str, str]]:
    """Results column -> (task, metric, filter), for the metrics that say where lm-eval keeps them."""
    return {metric.column: metric.lm_eval for metric in metrics if metric.lm_eval is not None}


# The NNCF table's lm-eval columns.
DEFAULT_LM_EVAL_METRICS = lm_eval_metrics(DEFAULT_METRICS)

Source = tuple[str, str, str | None]  # (kind, file as shown, sha256; None for a file stat()ed, not read)


@dataclass(frozen=True)
class Assembled:
    """The plain results table built from a manifest, and what it was built from."""

    raw: RawTable  # same path, lines, model column and own_model as the manifest's
    sources: dict = field(default_factory=dict)  # row index -> tuple of Source, each file read
    warnings: list = field(default_factory=list)  # Problems: results that are not comparable
    samples: dict = field(default_factory=dict)  # row index -> SamplesRun, for core.pairing


def higher_is_better(metrics) -> dict[str, bool]:
    """Results column -> whether a higher value is better (a similarity is: 1 is identical)."""
    return {metric.column: metric.direction != "lower" for metric in metrics}


def assemble(raw: RawTable, base_dir: Path,
             lm_eval_metrics: dict[str, tuple[str, str, str]] | None = None,
             higher: dict[str, bool] | None = None) -> Assembled:
    """The results table ``raw`` (a manifest) describes; InvalidResults lists every source that
    could not be used, by manifest line and source column. ``higher``: each metric column's
    configured direction, checked against lm-eval's own ``higher_is_better``."""
    lm_eval_metrics = DEFAULT_LM_EVAL_METRICS if lm_eval_metrics is None else lm_eval_metrics
    higher = higher_is_better(DEFAULT_METRICS) if higher is None else higher
    builder = _Builder(raw, Path(base_dir), lm_eval_metrics, higher)
    for position, index in enumerate(raw.frame.index):
        builder.fill_row(position, index)
    if builder.problems:
        raise InvalidResults(raw.path, builder.problems)
    return Assembled(builder.table(), builder.sources,
                     builder.mismatches + builder.not_comparable() + builder.shared_sources(), builder.samples)


def to_csv(assembled: Assembled) -> str:
    """The plain results CSV: header and rows, ``\\n`` line ends. A table that had no model column
    is written without the one the reader added, as the manifest was."""
    frame = assembled.raw.frame
    if not assembled.raw.own_model:
        frame = frame.drop(columns=[assembled.raw.model_column])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(frame.columns))
    writer.writerows(frame.itertuples(index=False, name=None))
    return buffer.getvalue()


class _Builder:
    """The manifest's columns as lists of text, filled row by row, then one new frame: writing
    pandas cells one at a time costs far more than the reading."""

    def __init__(self, raw: RawTable, base_dir: Path, lm_eval_metrics: dict, higher: dict):
        self.raw = raw
        self.base_dir = os.path.abspath(base_dir)
        self.lm_eval_metrics = lm_eval_metrics
        self.higher = higher
        self.mismatches: list[Problem] = []  # typed numbers that disagree with their source
        self.columns = {name: list(raw.frame[name]) for name in raw.frame.columns}
        self.rows = len(raw.frame)
        self.problems: list[Problem] = []
        self.sources: dict = {}
        self.lm_eval_runs: dict = {}  # row position -> LmEvalResults, for the comparability check
        self._cache: dict = {}
        self.added_stderr: set[str] = set()  # stderr columns the manifest did not have
        self.samples: dict = {}  # row index -> SamplesRun (sources.lm_eval_samples)

    # --- one row ---------------------------------------------------------------------------

    def fill_row(self, position: int, index) -> None:
        read: list[Source] = []
        cell = self._source_cell(LM_EVAL, position)
        run = None
        if cell:
            run = self._read(LM_EVAL, cell, position, index, self._read_lm_eval)
            if run is not None:
                # Every file a figure is read from (a folder's tasks may come from several runs).
                parts = [run.part_for(task) for task, _, _ in self.lm_eval_metrics.values()]
                used = {part.file: part for part in parts if part is not None} or {run.file: run.parts[0]}
                read += [(LM_EVAL, part.file, part.sha256) for part in used.values()]
                self.lm_eval_runs[position] = run
                for column, (task, metric, filter) in self.lm_eval_metrics.items():
                    self._fill(column, position, index, LM_EVAL, cell,
                               lambda run=run, task=task, metric=metric, filter=filter, column=column:
                               run.measurement(task, metric, filter, self.higher.get(column)))
        cell = self._source_cell(WWB, position)
        if cell:
            result = self._read(WWB, cell, position, index, read_wwb)
            if result is not None:
                read.append((WWB, result.file, result.sha256))
                if result.per_question_file is not None:
                    read.append((WWB, result.per_question_file, result.per_question_sha256))
                self._fill(WWB_SIMILARITY, position, index, WWB, cell,
                           lambda: Measurement(result.similarity, result.stderr))
        self._fill_paired(position, index, read, run)
        cell = self._source_cell(MODEL_PATH, position)
        if cell:
            size = self._read(MODEL_PATH, cell, position, index, model_size)
            if size is not None:  # sizes are stat()ed, not read: no digest, but each file counted
                read += [(MODEL_FILE, self._shown(file), None) for file in size.files]
                self._fill(SIZE, position, index, MODEL_PATH, cell, lambda: Measurement(size.gib))
        self.sources[index] = tuple(read)

    def _read_lm_eval(self, path: Path, cell: str):
        """The lm-eval results ``cell`` names, reading a folder's older files only for the tasks
        the configured metrics need that newer ones lack."""
        return read_lm_eval(path, cell, [task for task, _, _ in self.lm_eval_metrics.values()])

    def _fill_paired(self, position: int, index, read: list, lm_eval_run) -> None:
        """The row's per-sample lm-eval outputs (its ``lm-eval samples`` cell, or the samples
        lm-eval wrote beside the results file its ``lm-eval`` cell names), kept for pairing with
        the reference row (``core.pairing``); and the figures of its ``llama-kld`` log."""
        cell = self._source_cell(LM_EVAL_SAMPLES, position)
        samples = None
        if cell:
            samples = self._read(LM_EVAL_SAMPLES, cell, position, index, read_samples)
        elif lm_eval_run is not None:
            def beside(path: Path, cell: str):  # each task's samples from the run its figures come from
                return samples_beside(path, cell, lm_eval_run)

            samples = self._read(LM_EVAL_SAMPLES, self._source_cell(LM_EVAL, position), position, index, beside)
        if samples is not None:
            read += [(LM_EVAL_SAMPLES, file, sha256) for file, sha256 in samples.files]
            self.samples[index] = samples
        cell = self._source_cell(LLAMA_KLD, position)
        if cell:
            kld = self._read(LLAMA_KLD, cell, position, index, read_llama_kld)
            if kld is not None:
                read.append((LLAMA_KLD, kld.file, kld.sha256))
                self._fill(KLD_MEAN, position, index, LLAMA_KLD, cell, lambda: Measurement(kld.mean, kld.mean_stderr))
                self._fill(SAME_TOP, position, index, LLAMA_KLD, cell,
                           lambda: Measurement(kld.same_top, kld.same_top_stderr))
                for label, column in KLD_QUANTILES.items():
                    if label in kld.quantiles:
                        self._fill(column, position, index, LLAMA_KLD, cell,
                                   lambda label=label: Measurement(kld.quantiles[label]))

    def _shown(self, file) -> str:
        """A counted file as the manifest would name it (relative to its folder)."""
        try:
            return Path(os.path.relpath(file, self.base_dir)).as_posix()
        except ValueError:  # another drive
            return str(file)

    def _source_cell(self, kind: str, position: int) -> str:
        return self.columns[kind][position] if kind in self.columns else ""

    def _read(self, kind: str, cell: str, position: int, index, reader):
        """The source ``cell`` names, read once per resolved path; None (and a Problem) if not."""
        # The cache key is the path the cell names, made absolute and normalised: ``evals/fp32``,
        # ``evals/fp32/`` and ``./evals/fp32`` are one read. (Symlinks are not resolved: that
        # costs a syscall per component, and a miss only means one more read.)
        path = os.path.normpath(os.path.join(self.base_dir, cell))
        key = (kind, path, reader.__name__)  # a folder named as samples, or as the results beside them
        if key not in self._cache:
            try:
                self._cache[key] = reader(Path(path), cell)
            except SourceError as exc:
                self._cache[key] = exc
            except (OSError, ValueError, RecursionError, MemoryError) as exc:
                # The readers turn what they expect into SourceError; anything else still names
                # the file rather than ending the run in a traceback.
                self._cache[key] = SourceError(cell, f"cannot be read ({type(exc).__name__}: {exc})")
        found = self._cache[key]
        if isinstance(found, SourceError):
            self._problem(position, index, kind, cell, found)
            return None
        return found

    def _fill(self, column: str, position: int, index, kind: str, cell: str, measure) -> None:
        """An empty ``column`` cell takes the source's value (and its stderr beside it); a cell
        the manifest fills keeps its text, and is compared with the source's value when the
        source has one (see ``_compare_typed``)."""
        values = self._column(column)
        if values[position] != "":
            self._compare_typed(column, position, index, kind, cell, values[position], measure)
            return
        try:
            measurement = measure()
        except SourceError as exc:
            self._problem(position, index, kind, cell, exc)
            return
        values[position] = repr(float(measurement.value))
        if measurement.stderr is not None:
            name = stderr_column(column)
            if name not in self.columns:
                self.added_stderr.add(name)
            stderrs = self._column(name)
            if stderrs[position] == "":  # a stderr typed in the manifest wins too
                stderrs[position] = repr(float(measurement.stderr))

    def _compare_typed(self, column: str, position: int, index, kind: str, cell: str, typed: str, measure) -> None:
        """A warning when a typed number differs from the measured one by more than half a unit
        of the last digit typed (0.70 stands for 0.7012; 0.75 does not). A source without the
        figure, or typed text that is no number, is left to the rest of the checks."""
        from .metrics import typed_resolution

        try:
            measured = float(measure().value)
        except SourceError:
            return
        parsed = typed_resolution(typed)
        if parsed is None:
            return
        value, resolution = parsed
        if abs(value - measured) > resolution / 2 + 1e-12 * max(1.0, abs(measured)):
            self.mismatches.append(Problem(
                self.raw.path, f"typed {typed.strip()} overrides {measured!r} read from {kind} {cell!r}: the typed"
                               " number is used; leave the cell empty to use the measured one",
                line=self.raw.line_of(index), column=column))

    def _column(self, name: str) -> list[str]:
        """A column's cells, created empty (and appended after the manifest's) when new."""
        if name not in self.columns:
            self.columns[name] = [""] * self.rows
        return self.columns[name]

    def _problem(self, position: int, index, kind: str, cell: str, exc: SourceError) -> None:
        # 'evals/int4/': no task ... ; a file found inside a folder is named too, so the user
        # knows which of the folder's runs was read.
        where = repr(cell)
        if exc.file not in (cell, cell.rstrip("/\\")):
            where += f" ({_inside(exc.file, cell)})"
        self.problems.append(Problem(self.raw.path, f"{where}: {exc.what}",
                                     line=self.raw.line_of(index), column=kind))

    # --- the whole table --------------------------------------------------------------------

    def table(self) -> RawTable:
        """The manifest without its source columns: its other columns in order, then filled
        metric columns it did not have, then the stderr columns."""
        kept = [n for n in self.raw.frame.columns if n not in SOURCE_COLUMNS]
        added = [n for n in self.columns if n not in self.raw.frame.columns]
        names = (kept + [n for n in added if n not in self.added_stderr]
                 + [n for n in added if n in self.added_stderr])
        # The reader's text dtype (object, or pandas' string dtype), so the table is the same
        # kind of frame whether it was typed in or assembled.
        text_dtype = self.raw.frame.dtypes.iloc[0]
        frame = pd.DataFrame({name: self.columns[name] for name in names}, index=self.raw.frame.index,
                             dtype=text_dtype)
        return RawTable(self.raw.path, frame, self.raw.model_column, self.raw.lines, self.raw.own_model)

    def not_comparable(self) -> list[Problem]:
        """One warning per model whose lm-eval results of a task were produced under different
        recorded settings (``LmEvalResults.settings``: limit, compared model args, chat template,
        n-shot, task version, documents evaluated): their differences measure the settings, not
        the model. A run-wide setting that differs alike for every task is named once."""
        models: dict[str, list[int]] = {}
        model_cells = self.columns[self.raw.model_column]
        for position in self.lm_eval_runs:
            models.setdefault(model_cells[position], []).append(position)
        tasks = list(dict.fromkeys(task for task, _, _ in self.lm_eval_metrics.values()))
        warnings = []
        for model, positions in models.items():
            found: dict[str, dict[str, str]] = {}  # setting -> task -> "(line 2: ...; ...)"
            for task in tasks:
                settings = {p: self.lm_eval_runs[p].settings(task) for p in positions
                            if self.lm_eval_runs[p].part_for(task) is not None}
                names = dict.fromkeys(name for values in settings.values() for name in values)
                for name in names:
                    values = {p: values[name] for p, values in settings.items() if name in values}
                    if len(set(map(repr, values.values()))) > 1:
                        found.setdefault(name, {})[task] = self._by_value(values)
            differences = []
            for name, by_task in found.items():
                texts = set(by_task.values())
                if name not in _TASK_SETTINGS and len(texts) == 1 and len(by_task) == len(tasks):
                    differences.append(f"{name} {texts.pop()}")
                else:
                    differences += [f"{task} {name} {text}" for task, text in by_task.items()]
            if differences:
                lines = [self.raw.line_of(self.raw.frame.index[p]) for p in positions]
                warnings.append(Problem(
                    self.raw.path,
                    f"lm-eval results of model {model!r} are not comparable: " + "; ".join(differences),
                    line=min(lines), column=LM_EVAL))
        return warnings

    def shared_sources(self) -> list[Problem]:
        """One warning per evaluation output read by more than one row, by content: one path, or
        byte-identical copies (a copied folder). Two configurations cannot have been measured by
        one run, and their numbers would agree by construction. Likewise one weight file counted
        in two rows' model sizes (one model folder, or a link to it)."""
        readers: dict[tuple[str, str], list[int]] = {}
        files: dict[tuple[str, str], list[str]] = {}
        for index, found in self.sources.items():
            for kind, file, digest in found:
                if kind in EVALUATION_KINDS:
                    key = (kind, digest)
                elif kind == MODEL_FILE:
                    key = (kind, os.path.realpath(os.path.join(self.base_dir, file)))
                else:
                    continue
                readers.setdefault(key, []).append(self.raw.line_of(index))
                files.setdefault(key, []).append(file)
        warnings, said = [], set()
        for (kind, _), lines in readers.items():
            lines = sorted(set(lines))
            named = list(dict.fromkeys(files[(kind, _)]))
            if len(lines) < 2 or (kind, tuple(lines)) in said:
                continue
            said.add((kind, tuple(lines)))  # a model folder's many files: one warning
            if kind == MODEL_FILE:
                message = (f"lines {', '.join(map(str, lines))} count the same model file {named[0]!r} in their"
                           " model size: two configurations cannot be one model (a copied path?)")
                column = MODEL_PATH
            elif len(named) == 1:
                message = (f"lines {', '.join(map(str, lines))} read the same {kind} file {named[0]!r}:"
                           " one evaluation cannot measure two configurations (a copied path?)")
                column = kind
            else:
                message = (f"lines {', '.join(map(str, lines))} read byte-identical {kind} files"
                           f" ({', '.join(map(repr, named))}): one evaluation cannot measure two configurations"
                           " (a copied folder?)")
                column = kind
            warnings.append(Problem(self.raw.path, message, line=lines[0], column=column))
        return warnings

    def _by_value(self, values: dict) -> str:
        """``(line 2: None; lines 3, 4: 100)``: each value once, with the lines that have it."""
        groups: dict[str, list[int]] = {}
        for position, value in values.items():
            groups.setdefault(repr(value), []).append(self.raw.line_of(self.raw.frame.index[position]))
        parts = [f"{'line' if len(lines) == 1 else 'lines'} {', '.join(map(str, lines))}: {value}"
                 for value, lines in groups.items()]
        return f"({'; '.join(parts)})"


# Settings recorded per task (the rest are run-wide: see LmEvalResults.settings).
_TASK_SETTINGS = {"n-shot", "version", "n-samples"}


def _inside(file: str, cell: str) -> str:
    """The part of ``file`` below the folder ``cell``."""
    try:
        return os.path.relpath(file, cell)
    except ValueError:
        return file
