"""The CI loop's part of a run's outputs: this run appended to the history, then per model the
trend plot over the history and the step-change lines for summary.md."""

from __future__ import annotations

import re


def record_and_trend(out, document: dict, options, draw: bool = True) -> str:
    """Append the run (``document``: its compviz.json) to ``options.history`` and write the trend
    plots; the Markdown section for summary.md. What cannot be done goes to ``out.errors``."""
    from ..atomic import atomic_write
    from ..history.git import git_facts
    from ..history.reference import git_folder
    from ..history.store import HistoryError, append_record, read_history, record_of
    from .trend import TREND_RUNS, draw_trend, step_changes, trends

    history = options.history
    if not document.get("rows"):
        return ""
    try:
        facts = git_facts(git_folder(options), history.base_branch)
        append_record(history.path, history.shown, record_of(document, facts), history.keep)
        records = read_history(history.path, history.shown)
    except HistoryError as exc:
        out.errors.append(f"history not written: {exc}")
        return ""
    except OSError as exc:
        out.errors.append(f"history not written: {history.shown}: {exc.strerror or exc}")
        return ""
    models = {str(row.get("model")) for row in document["rows"]}
    recent = records[-TREND_RUNS:]
    try:  # the records' rows are decoded here (read_history reads headers): a damaged line says so now
        by_model = {model: series for model, series in trends(recent, options.settings.reference_mode).items()
                    if model in models}
    except HistoryError as exc:
        out.errors.append(f"history not read: {exc}")
        return ""
    lines = ["## History", "", f"This run was appended to `{history.shown}` ({len(records)} runs kept)."]
    if draw:
        written = []
        for model, series in sorted(by_model.items()):
            path = options.output_dir / f"{slug(model)}.trend.png"
            try:
                atomic_write(path, draw_trend(model, series, recent))
                out.files.append(path)
                written.append(path.name)
            except OSError as exc:
                out.errors.append(f"{options.shown(path)} not written: {exc.strerror or exc}")
        if written:
            lines[-1] += " Trend plots: " + " · ".join(f"[{name}]({name})" for name in written)
    steps = step_changes(by_model)
    lines += ["", "### Step changes", ""]
    lines += [f"- {step.describe()}" for step in steps] or ["No configuration's error moved beyond its noise."]
    return "\n".join(lines) + "\n"


def slug(model: str) -> str:
    """A model name as a file name: ``meta-llama/Llama-2-7b`` -> ``meta-llama_Llama-2-7b``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("._") or "model"
