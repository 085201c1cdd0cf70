"""``comment.md``: the verdict of a run for its pull request, from the run's ``compviz.json`` and,
when kept, the history. Failures first, then the changes against the base, then the details folded
(``<details>``), a Mermaid chart of the trend of the configurations that matter most (GitHub renders
Mermaid in comments; it strips data: images), and a hidden marker that lets a later run update
this comment instead of adding one. Always under GitHub's 65,536-character limit: the least
important parts are cut first, saying so."""

from __future__ import annotations

from collections.abc import Sequence
from ..spec import ERROR, MODE, PLOT_NAME, RATE
from ..core.ledger import Outcome, Status, Verdict
from ..core.names import row_label

MARKER = "<!-- pytest-compviz: pull-request comment -->"
LIMIT = 65536  # GitHub's limit on a comment's body, in characters
_ROOM = LIMIT - 1024  # what the parts may use: the closing lines and the cut notes fit in the rest
TREND_RUNS = 20  # runs shown per Mermaid chart
TREND_CHARTS = 3


def _label(row: dict) -> str:
    return row_label(str(row.get("model")), str(row.get(MODE)), str(row.get(PLOT_NAME) or ""), with_model=True)


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def failures(document: dict) -> list[str]:
    """One line per failed check of the run, and the run's own errors."""
    lines = [_cell(error) for error in document.get("errors") or []]
    for entry in document.get("inputs", []):
        if not entry.get("valid", True):
            lines.append(f"`{_cell(entry.get('file'))}`: invalid data ({len(entry.get('problems', []))} problems)")
    for row in document.get("rows", []):
        for gate in row.get("gates") or []:
            if gate.get("status") == Status.FAILED:
                lines.append(_cell(gate.get("message")))
        regression = row.get("regression")
        if isinstance(regression, dict) and regression.get("status") == Status.FAILED:
            lines.append(f"{_cell(_label(row))}: since the base ({_cell(document.get('baseline'))}): error"
                         f" {regression['baseline error']:.2%} -> {row[ERROR]:.2%} ({regression['error delta'] * 100:+.2f} pp,"
                         f" allowed +{regression['max error increase'] * 100:.2f} pp); rate"
                         f" {regression['baseline rate']:.2f}x -> {row[RATE]:.2f}x")
        for part in ("window", "pareto", "strict"):
            found = row.get(part)
            if isinstance(found, dict) and found.get("status") == Status.FAILED:
                lines.append(_cell(found.get("message")))
    if not lines and document.get("outcome") == "failed":  # a compviz.json written before "errors" was
        lines.append("the run failed for a reason its compviz.json does not record: see summary.md")
    return lines


def delta_table(document: dict) -> list[str]:
    """The rows compared with the base, the largest error rise first."""
    compared = [row for row in document.get("rows", []) if isinstance(row.get("regression"), dict)]
    compared.sort(key=lambda row: -row["regression"]["error delta"])
    lines = ["| configuration | error | Δ error | rate | Δ rate | result |", "|:--|--:|--:|--:|--:|:--|"]
    for row in compared:
        r = row["regression"]
        result = {Verdict.FAILED: "❌ fail", Verdict.PASSED: "✅ pass"}.get(row.get("verdict"), _cell(row.get("verdict")))
        lines.append(f"| {_cell(_label(row))} | {row[ERROR]:.2%} | {r['error delta'] * 100:+.2f} pp |"
                     f" {row[RATE]:.2f}x | {r['rate delta']:+.2f}x | {result} |")
    return lines if compared else []


def mermaid_trends(records: Sequence[dict], document: dict, reference_mode: str = "fp32") -> list[str]:
    """Up to ``TREND_CHARTS`` xychart blocks: the failed configurations first, then those whose
    error moved most against the base; each over its last ``TREND_RUNS`` runs."""
    from . import trend
    from .trend import trends

    by_key = {(s.model, s.key): s for series in trends(records[-trend.TREND_RUNS:], reference_mode).values() for s in series}
    from ..baseline.load import key_of

    ranked = sorted((row for row in document.get("rows", []) if row.get("verdict") not in (Verdict.REFERENCE, None)),
                    key=lambda row: (row.get("verdict") != Verdict.FAILED,
                                     -abs((row.get("regression") or {}).get("error delta", 0.0))))
    blocks = []
    for row in ranked:
        try:
            series = by_key.get((str(row.get("model")), key_of(row)))
        except (KeyError, TypeError, ValueError):
            continue
        if series is None or len(series.errors) < 2:
            continue
        commits = [(c or "?")[:7] for c in series.commits[-TREND_RUNS:]]
        errors = [round(e * 100, 3) for e in series.errors[-TREND_RUNS:]]
        low, high = min(errors), max(errors)
        pad = max((high - low) * 0.2, 0.05)
        title = _label(row).replace('"', "'")
        blocks += ["```mermaid", "xychart-beta", f'    title "{title}: error, %"',
                   "    x-axis [" + ", ".join(f'"{c}"' for c in commits) + "]",
                   f'    y-axis "error, %" {max(low - pad, 0):.2f} --> {high + pad:.2f}',
                   "    line [" + ", ".join(f"{e:g}" for e in errors) + "]", "```", ""]
        if len(blocks) >= 8 * TREND_CHARTS:
            break
    return blocks


def comment_markdown(document: dict, records: Sequence[dict] | None = None, artifact: str = "compviz-report",
                     reference_mode: str = "fp32") -> str:
    """The comment's Markdown, at most ``LIMIT`` characters."""
    failed = failures(document)
    inputs = document.get("inputs", [])
    passed_count = sum(entry.get("gates passed", 0) for entry in inputs)
    failed_count = sum(entry.get("gates failed", 0) for entry in inputs)
    icon = "✅" if document.get("outcome") == Outcome.PASSED else "❌"
    head = [MARKER, f"## {icon} Compression gates: {passed_count} passed, {failed_count} failed"
            f" (run {_cell(document.get('outcome'))})", ""]
    if document.get("baseline"):
        head += [f"Compared with {_cell(document['baseline'])}.", ""]
    parts: list[list[str]] = []
    if failed:
        parts.append(["### Failures", ""] + [f"- {line}" for line in failed] + [""])
    table = delta_table(document)
    if table:
        shown, folded = table[:2 + 20], table[:2] + table[22:]
        parts.append(["### Against the base", ""] + shown + [""])
        if len(table) > 22:
            parts.append([f"<details><summary>{len(table) - 22} more compared rows</summary>", ""] + folded
                         + ["", "</details>", ""])
    if records:
        charts = mermaid_trends(records, document, reference_mode)
        if charts:
            parts.append(["<details><summary>Trend over the history</summary>", ""] + charts + ["</details>", ""])
    notes = document.get("notes") or []
    if notes:
        parts.append(["<details><summary>Notes</summary>", ""] + [f"- {_cell(n)}" for n in notes]
                     + ["", "</details>", ""])
    tail = [f"Tables, plots and the trend plots are in the `{artifact}` artifact of this run."]
    body, cut = list(head), 0
    for part in parts:
        if len("\n".join(body + part)) > _ROOM:
            if part[0] == "### Failures":  # failures are kept, as many lines as fit
                kept = part[:2]
                for line in part[2:-1]:
                    if len("\n".join(body + kept + [line])) > _ROOM:
                        break
                    kept.append(line)
                body += kept + [f"- … and {len(part) - 1 - len(kept)} more: see summary.md in the artifact", ""]
            cut += 1
            continue
        body += part
    if cut:
        tail.insert(0, f"_{cut} part{'s' if cut != 1 else ''} of this comment cut to stay within GitHub's"
                       f" {LIMIT:,}-character limit: see summary.md in the artifact._")
    return "\n".join(body + tail) + "\n"
