"""All artifacts of one results file, rendered in memory first and then written atomically, so
an input that fails half-way leaves nothing half-written behind."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.rules import MAX_ERROR
from ..atomic import atomic_write
from ..core.names import digest
from ..core.ledger import Verdict
from .files import artifact_stem
from .markdown import NNCF_DOCS, pipe_table, table_cells
from .plot import Overlay, Point, figure_bytes, plot_points, series_error_limits, trade_off_figure

if TYPE_CHECKING:
    from ..core.results import Results


@dataclass(frozen=True)
class Artifact:
    path: Path
    data: bytes
    model: str
    # A table's formatted cells, for other renderings of the same table (pytest-html's).
    cells: list[list[str]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ModelJob:
    """Everything one model's table and plots need, as plain data (no pandas)."""

    model: str
    cells: list[list[str]]  # the table's formatted cells
    points: tuple[Point, ...]
    stem: str
    reference_mode: str
    metric_count: int
    overlay: Overlay
    output_dir: Path
    image_formats: tuple[str, ...]
    table_format: str = NNCF_DOCS


def model_jobs(results: Results, output_dir: Path, image_formats=("png",), gates=None, verdicts=None,
               baseline=None, stems: dict | None = None, table_format: str = NNCF_DOCS) -> list[ModelJob]:
    """One job per model in ``results``; with ``gates`` and the ledger's ``verdicts`` (row index ->
    ``RowVerdict``) the plots mark failed rows and series-wide error limits, and with a
    ``baseline`` run its points. ``stems``: model -> file stem (``plan_stems``)."""
    models = results.models()
    stems = stems or plan_stems([(results.path, [entry.model for entry in models])])[results.path]
    mode = results.settings.reference_mode
    gated = {row.index: row for row in gates.rows} if gates is not None else None
    jobs = []
    for entry in models:
        points = plot_points(entry.frame, mode)
        found = results.fronts[entry.model]
        overlay = replace(_overlay(points, gated, verdicts or {}, baseline), front=found.front,
                          dominated=found.dominated)
        jobs.append(ModelJob(entry.model, table_cells(entry.frame), points, stems[entry.model], mode,
                             len(results.settings.metrics), overlay, output_dir, tuple(image_formats), table_format))
    return jobs


# Names the session's own files take in the output folder: no table or plot may take them.
RESERVED_STEMS = frozenset({"summary", "compviz"})
_LONGEST_STEM = 120


def plan_stems(inputs: list[tuple[str, list[str]]]) -> dict[str, dict[str, str]]:
    """Input -> model -> file stem, for one run's inputs (each with its models, in order): ``STEM``
    for a one-model file, ``STEM.MODEL`` for several. Stems are unique ignoring letter case (macOS
    and Windows file systems), never a session file's name, and at most 120 characters (longer
    ones are cut, with a digest of the whole): a later clash is numbered ``-2``, ``-3``..."""
    used: set[str] = set(RESERVED_STEMS)
    planned: dict[str, dict[str, str]] = {}
    for input_path, models in inputs:
        planned[input_path] = {}
        for model in models:
            stem = artifact_stem(input_path, model, single_model=len(models) == 1)
            if len(stem) > _LONGEST_STEM:
                stem = f"{stem[:100]}-{digest(stem)}"
            planned[input_path][model] = _unique(stem, used)
    return planned


def render_model(job: ModelJob) -> list[Artifact]:
    """The table (``.md``) and plot(s) of one model."""
    return [render_table(job), *render_plots(job)]


def render_table(job: ModelJob) -> Artifact:
    """The model's Markdown table: no drawing, so nothing a plot can raise costs it."""
    return Artifact(job.output_dir / f"{job.stem}.md", pipe_table(job.cells, job.table_format).encode(), job.model,
                    job.cells)


def render_plots(job: ModelJob) -> list[Artifact]:
    """The plot(s) of one model. Plots use matplotlib's default style, whatever a matplotlibrc or
    a conftest sets, so the bytes do not depend on the user's style; ``rc_context`` restores the
    user's settings afterwards, also on an error. A deprecation that matplotlib or a library it
    uses raises while drawing is theirs, not the user's code: under ``-W error`` it must not
    cost the plot, so those two categories are not escalated here (restored on leaving)."""
    import warnings

    import matplotlib

    with warnings.catch_warnings(), matplotlib.rc_context(_default_style()):
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        figure = trade_off_figure(job.points, job.model, job.reference_mode, job.metric_count, job.overlay)
        return [Artifact(job.output_dir / f"{job.stem}.{image_format}", figure_bytes(figure, image_format), job.model)
                for image_format in job.image_formats]


_STYLE: dict | None = None


def _default_style() -> dict:
    global _STYLE
    if _STYLE is None:
        import matplotlib

        # The backend is left alone: it is not a style, and setting it can switch pyplot's.
        _STYLE = {key: value for key, value in matplotlib.rcParamsDefault.items() if key != "backend"}
    return _STYLE


def render_artifacts(results: Results, output_dir: Path, image_formats=("png",), **context) -> list[Artifact]:
    """The table and plot(s) of every model in ``results`` (``context``: see ``model_jobs``)."""
    return [a for job in model_jobs(results, output_dir, image_formats, **context) for a in render_model(job)]


def _overlay(points: tuple[Point, ...], gated: dict | None, verdicts: dict, baseline) -> Overlay:
    """``gated``: the gates of the file's rows by row index (None: not gated); ``verdicts``: the
    ledger's verdict of each row, which decides the failure rings."""
    if gated is None:
        return Overlay()
    rows = [gated[p.index] for p in points if p.index in gated]
    limits = {}
    for row in rows:
        for outcome in row.outcomes:
            if outcome.check.name == MAX_ERROR:
                limits[row.index] = (outcome.check.limit, outcome.rule.source)
    previous = tuple(
        (row.index, row.regression.baseline_error, row.regression.baseline_rate)
        for row in rows if row.regression is not None
    ) if baseline is not None else ()
    return Overlay(
        failing=frozenset(row.index for row in rows
                          if row.index in verdicts and verdicts[row.index].verdict == Verdict.FAILED),
        error_limits=series_error_limits(points, limits),
        previous=previous,
    )


class ArtifactClash(Exception):
    """An artifact would overwrite an input or another input's artifact of the same run."""


class ArtifactPlan:
    """Guards one run's writes: no artifact may replace an input file, and two inputs with the
    same name in different folders must not silently overwrite each other's outputs."""

    def __init__(self, inputs):
        self._inputs = {Path(p).resolve() for p in inputs}
        self._owners: dict[Path, str] = {}

    def claim(self, artifacts: list[Artifact], owner: str) -> None:
        for artifact in artifacts:
            target = artifact.path.resolve()
            if target in self._inputs:
                raise ArtifactClash(f"would overwrite the input file {artifact.path}")
            previous = self._owners.get(target)
            if previous is not None and previous != owner:
                raise ArtifactClash(f"would overwrite {artifact.path}, written for {previous}")
        for artifact in artifacts:
            self._owners[artifact.path.resolve()] = owner


def write_artifacts(artifacts: list[Artifact]) -> list[Path]:
    for artifact in artifacts:
        atomic_write(artifact.path, artifact.data)
    return [artifact.path for artifact in artifacts]


def _unique(stem: str, used: set[str]) -> str:
    """Two model names may map to one file-safe name (``a/b``, ``a_b``): number the later ones."""
    candidate, number = stem, 2
    while candidate.lower() in used:
        candidate, number = f"{stem}-{number}", number + 1
    used.add(candidate.lower())
    return candidate
