"""pytest-html's results summary (runs after our sessionfinish): each model's plot, embedded so
that a --self-contained-html report shows it, and its table."""

from __future__ import annotations


def results_summary(outputs) -> list[str]:
    import base64
    import html

    parts = []
    for report in outputs.reports:
        if not report.written:
            continue
        parts.append(f"<h2>compviz: {html.escape(report.run.shown)}</h2>")
        for artifact, model in report.written:
            try:
                data = artifact.read_bytes()
            except OSError:
                continue
            if artifact.suffix == ".png":
                parts.append(f'<p><img alt="{html.escape(model)}" style="max-width:100%" '
                             f'src="data:image/png;base64,{base64.b64encode(data).decode()}"></p>')
            elif artifact.suffix == ".md":
                parts.append(f"<pre>{html.escape(data.decode())}</pre>")
    return parts
