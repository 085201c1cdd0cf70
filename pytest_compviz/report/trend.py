"""Each configuration's figures over the runs of a history: the series (``trends``), the commits
where a configuration's error moved (``step_changes``, one change point per series in the spirit
of asv's step detection) and the trend plot per model (``draw_trend``: error and rate over commits,
the stderr band, failed runs marked). Agg ``Figure`` without pyplot; the PNG is byte-identical for
the same history."""

from __future__ import annotations

from collections.abc import Sequence
import io
import math
from dataclasses import dataclass, field

from ..baseline.load import key_of
from ..core.ledger import Verdict
from ..spec import ERROR, MODE, PLOT_NAME, RATE
from ..core.names import configuration_name, short_commit


@dataclass
class Series:
    model: str
    label: str  # "int4 (SE, 40%)"
    key: tuple
    commits: list = field(default_factory=list)  # per run of the configuration, oldest first
    errors: list = field(default_factory=list)
    stderrs: list = field(default_factory=list)  # None where unknown
    rates: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # the row's verdict was failed
    runs: list = field(default_factory=list)  # index of the run in the history


# The trend plots, the step-change report and the comment's charts look at the newest runs only: a
# bounded history still holds up to 1.25 x keep runs per configuration, and decoding all of them
# for a picture would cost most of a run's time.
TREND_RUNS = 200


def trends(records: Sequence[dict], reference_mode: str = "fp32") -> dict[str, list[Series]]:
    """Model -> its configurations' series, in the history's order; the reference rows (the
    baseline mode's) are 0% and 1.0x by definition and are left out."""
    found: dict[tuple, Series] = {}
    for number, record in enumerate(records):
        for row in record["rows"]:
            if row.get(MODE) == reference_mode or row.get("verdict") in (Verdict.REFERENCE, Verdict.NOT_RUN):
                continue
            try:
                key, error, rate = key_of(row), float(row[ERROR]), float(row[RATE])
            except (KeyError, TypeError, ValueError):
                continue
            model = str(row.get("model"))
            series = found.get((model, key))
            if series is None:
                name = configuration_name(str(row[MODE]), str(row.get(PLOT_NAME) or ""))
                series = found[(model, key)] = Series(model, name, key)
            stderr = row.get(f"{ERROR} stderr")
            series.commits.append(record.get("commit"))
            series.errors.append(error)
            series.stderrs.append(float(stderr) if isinstance(stderr, (int, float)) else None)
            series.rates.append(rate)
            series.failed.append(row.get("verdict") == Verdict.FAILED)
            series.runs.append(number)
    by_model: dict[str, list[Series]] = {}
    for series in found.values():
        by_model.setdefault(series.model, []).append(series)
    return by_model


@dataclass(frozen=True)
class Step:
    series: Series
    at: int  # index in the series of the first run after the change
    before: float  # mean error before and after
    after: float

    def describe(self) -> str:
        commit = self.series.commits[self.at]
        return (f"{self.series.model}: {self.series.label}: error {self.before:.2%} -> {self.after:.2%}"
                f" ({(self.after - self.before) * 100:+.2f} pp) from commit {short_commit(commit)}"
                f" ({self.at} run{'s' if self.at != 1 else ''} before, {len(self.series.errors) - self.at} from it)")


MIN_STEP = 0.001  # 0.1 pp: smaller moves are not worth a line


def step_change(series: Series) -> Step | None:
    """The single split of the series into before / after that leaves the least squared deviation
    from the two means, when the move between the means stands out from the scatter within them
    (three standard deviations) and from the runs' own standard errors (three)."""
    n = len(series.errors)
    if n < 2:
        return None
    # Running sums make the scan linear (a long history has thousands of runs per configuration);
    # the errors are centred first, so the sums of squares keep their precision.
    centre = sum(series.errors) / n
    errors = [e - centre for e in series.errors]
    total, total_sq = sum(errors), sum(e * e for e in errors)
    best, left, left_sq = None, 0.0, 0.0
    for at in range(1, n):
        left += errors[at - 1]
        left_sq += errors[at - 1] ** 2
        right, right_sq = total - left, total_sq - left_sq
        cost = (left_sq - left * left / at) + (right_sq - right * right / (n - at))
        if best is None or cost < best[0] - 1e-18:
            best = (cost, at)
    assert best is not None  # n >= 2: the first split is always taken
    at = best[1]
    before_runs, after_runs = series.errors[:at], series.errors[at:]
    before, after = sum(before_runs) / at, sum(after_runs) / (n - at)
    cost = sum((e - before) ** 2 for e in before_runs) + sum((e - after) ** 2 for e in after_runs)
    within = math.sqrt(cost / (n - 2)) if n > 2 else 0.0
    known = [s for s in series.stderrs if s is not None]
    noise = math.sqrt(sum(s * s for s in known) / len(known)) if known else 0.0
    if abs(after - before) < max(3 * within, 3 * noise, MIN_STEP):
        return None
    return Step(series, at, before, after)


def step_changes(by_model: dict[str, list[Series]]) -> list[Step]:
    return [step for series_list in by_model.values() for series in series_list
            if (step := step_change(series)) is not None]


def draw_trend(model: str, series_list: list[Series], records: Sequence[dict]) -> bytes:
    """The trend PNG of one model: error (%) with its stderr band above, rate below, over the runs
    (labelled by commit); failed runs are red crosses."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.size": 9}):
        figure = Figure(figsize=(13, 6.5), dpi=100)
        FigureCanvasAgg(figure)
        error_axes, rate_axes = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        # tab10 is a ListedColormap; the registry's type says only Colormap, which has no colors
        colors = matplotlib.colormaps["tab10"].colors  # type: ignore[attr-defined]
        bad_points = []  # failed runs, drawn last so the legend names them once, at its end
        for number, series in enumerate(sorted(series_list, key=lambda s: s.label)):
            color = colors[number % len(colors)]
            x, errors = series.runs, [e * 100 for e in series.errors]
            # Cut in the middle: configurations of one method differ at the end ("... (rank 256)").
            label = series.label if len(series.label) <= 48 else series.label[:20] + "…" + series.label[-27:]
            error_axes.plot(x, errors, marker="o", markersize=4, color=color, label=label.replace("$", r"\$"))
            if any(s is not None for s in series.stderrs):
                spread = [(s or 0.0) * 100 for s in series.stderrs]
                error_axes.fill_between(x, [e - s for e, s in zip(errors, spread)],
                                        [e + s for e, s in zip(errors, spread)], color=color, alpha=0.15, linewidth=0)
            rate_axes.plot(x, series.rates, marker="o", markersize=3, color=color)
            bad_points += [(x[i], errors[i], series.rates[i]) for i, failed in enumerate(series.failed) if failed]
        if bad_points:
            error_axes.plot([p[0] for p in bad_points], [p[1] for p in bad_points], linestyle="none", marker="X",
                            markersize=10, color="tab:red", label="failed run", zorder=5)
            rate_axes.plot([p[0] for p in bad_points], [p[2] for p in bad_points], linestyle="none", marker="X",
                           markersize=8, color="tab:red", zorder=5)
        runs = sorted({run for series in series_list for run in series.runs})
        every = max(1, math.ceil(len(runs) / 25))  # about 25 labels at most
        shown = runs[::every]
        rate_axes.set_xticks(shown)
        rate_axes.set_xticklabels([(records[run].get("commit") or "?")[:7] for run in shown], rotation=60,
                                  ha="right", fontfamily="monospace")
        error_axes.set_ylabel("average relative error, %")
        rate_axes.set_ylabel("compression rate, x")
        rate_axes.set_xlabel("commit (oldest to newest run)")
        error_axes.set_title(f"{model}: trend over {len(runs)} run{'s' if len(runs) != 1 else ''}", parse_math=False)
        for axes in (error_axes, rate_axes):
            axes.grid(True, alpha=0.3)
        error_axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        figure.subplots_adjust(left=0.08, right=0.66, top=0.94, bottom=0.14, hspace=0.08)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
