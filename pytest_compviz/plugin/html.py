"""pytest-html's results summary (runs after our sessionfinish): each model's plot, embedded so
that a --self-contained-html report shows it, and its table as an HTML table."""

from __future__ import annotations


def results_summary(outputs) -> list[str]:
    import base64
    import html

    from ..report.html_table import STYLE, html_table

    parts = []
    for report in outputs.reports:
        if not report.written:
            continue
        parts.append(f"<h2>compviz: {html.escape(report.run.shown)}</h2>")
        for artifact, model in report.written:
            if artifact.suffix == ".md":
                # The cells the .md was made from: re-parsing the Markdown would have to undo its escaping.
                if artifact in report.tables:
                    parts.append(html_table(report.tables[artifact]))
                continue
            if artifact.suffix != ".png":
                continue
            try:
                data = artifact.read_bytes()
            except OSError:
                continue
            parts.append(f'<p><img alt="{html.escape(model)}" style="max-width:100%" '
                         f'src="data:image/png;base64,{base64.b64encode(data).decode()}"></p>')
    return [STYLE, *parts] if parts else []
