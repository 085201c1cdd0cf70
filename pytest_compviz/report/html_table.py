"""One model's table as an HTML ``<table>`` (for pytest-html reports), built from the same
formatted cells as its Markdown table, so the two always show the same text.

Built by hand rather than by tabulate: its ``html`` format escapes the headers' ``<br>`` too, and
``unsafehtml`` escapes nothing, so a mode named ``<script>`` would run in the report.
"""

from __future__ import annotations

from html import escape

from .markdown import COLUMNS, header_lines

CLASS = "compviz-table"

# Once per page: left-aligned like the Markdown table (a <th> centres by default), and ruled,
# since pytest-html's stylesheet draws no borders outside its own tables.
STYLE = (f"<style>.{CLASS} th, .{CLASS} td {{text-align: left; vertical-align: top; padding: 2px 8px;"
         f" border: 1px solid #e6e6e6}}</style>")


def html_table(cells: list[list[str]]) -> str:
    """``cells``: ``markdown.table_cells``, plain text; every cell and header word is escaped, the
    headers' line breaks are real ``<br>`` tags."""
    head = "".join(f"<th>{'<br>'.join(escape(word) for word in header_lines(column))}</th>" for column in COLUMNS)
    body = "\n".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in cells)
    return f'<table class="{CLASS}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'
