"""The pytest-html report: each model's table as an HTML table (escaped, header line breaks kept)
and its plot, checked in the page pytest-html writes (an in-process run) and in a real headless
Chromium."""

from __future__ import annotations

import base64
import csv
import html
import json
import os
import re
import shutil
import struct
import subprocess

import pytest

from conftest import LLAMA2_CSV

pytest.importorskip("pytest_html")
pytestmark = pytest.mark.all_plugins  # the in-process runs need pytest-html

# A mode that would run as a script, break an entity or end a Markdown cell if not escaped.
NASTY = 'int4 <script>document.title="pwned"</script> & a|b'
MODEL = "meta-llama_Llama-2-7b-chat-hf"
TABLE = '<table class="compviz-table">'


def make_page(pytester):
    """One in-process run with --self-contained-html: llama2_asym.csv with the int4 row's mode
    renamed to ``NASTY``. Returns the folder with r.html, results.csv and compviz-report/."""
    folder = pytester.path
    with LLAMA2_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    mode = rows[0].index("mode")
    [line] = [i for i, row in enumerate(rows) if row[mode] == "int4"]
    rows[line][mode] = NASTY
    with (folder / "results.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    result = pytester.runpytest("-p", "no:cacheprovider", "--compviz-input", "results.csv", "--compviz-rule",
                                "max-relative-error=50%", "--html=r.html", "--self-contained-html")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    return folder


def expected_cells(folder):
    """The cells the run's Markdown table was made from, computed here from the same file."""
    from pytest_compviz.core.results import load_results
    from pytest_compviz.report.markdown import table_cells

    [entry] = load_results(str(folder / "results.csv")).models()
    return table_cells(entry.frame)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_html_table_escapes_every_cell_and_keeps_the_header_breaks():
    from pytest_compviz.report.html_table import html_table

    table = html_table([["a|b <i>", "1%", "", "", "x&y", '"q"']])

    assert table == (
        '<table class="compviz-table">\n'
        "<thead><tr><th>mode</th><th>%int4</th><th>%int8</th><th>lora<br>rank</th>"
        "<th>average<br>relative<br>error</th><th>compression<br>rate</th></tr></thead>\n"
        "<tbody>\n"
        "<tr><td>a|b &lt;i&gt;</td><td>1%</td><td></td><td></td><td>x&amp;y</td><td>&quot;q&quot;</td></tr>\n"
        "</tbody>\n</table>"
    )


def test_html_report_shows_the_table_as_html_escaped(pytester):
    page = make_page(pytester)
    report = (page / "r.html").read_text(encoding="utf-8")
    markdown = (page / "compviz-report" / "results.md").read_text(encoding="utf-8")

    assert report.count(TABLE) == 1 and "<pre>" not in report
    start = report.index(TABLE)
    table = report[start:report.index("</table>", start)]
    assert "<th>lora<br>rank</th>" in table and "<th>average<br>relative<br>error</th>" in table
    assert table.count("<tr>") == 1 + 10  # the header and llama2_asym's 10 rows
    assert "<td>int4 &lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt; &amp; a|b</td>" in table
    assert "<script>document.title" not in report
    assert "a\\|b" in markdown and "a\\|b" not in table  # only the Markdown escapes the pipe
    assert f'<img alt="{MODEL}"' in report


# Appended to a copy of the page: after load, the browser's own view of the summary, as JSON.
# The image with nothing behind its header is a control: it must come out as not decoded.
PROBE = """<img id="compviz-control" src="data:image/png;base64,iVBORw0KGgoAAAAA">
<script>
window.addEventListener("load", () => {
  const summary = document.querySelector(".additional-summary.prefix");
  const table = summary.querySelector("table.compviz-table");
  const size = img => img.complete && img.naturalWidth > 0 ? [img.naturalWidth, img.naturalHeight] : null;
  const probe = document.createElement("pre");
  probe.id = "compviz-probe";
  probe.textContent = JSON.stringify({
    title: document.title,
    headers: [...table.querySelectorAll("thead th")].map(th => th.innerHTML),
    aligns: [...table.querySelectorAll("th, td")].map(cell => getComputedStyle(cell).textAlign),
    rows: [...table.querySelectorAll("tbody tr")].map(tr => [...tr.cells].map(td => td.textContent)),
    plot: size(summary.querySelector('img[alt="%s"]')),
    control: size(document.getElementById("compviz-control")),
    scripts: summary.querySelectorAll("script").length,
    results: document.querySelectorAll("#results-table tbody.results-table-row").length,
  });
  document.body.append(probe);
});
</script>
""" % MODEL


@pytest.fixture(scope="module")
def browser() -> str:
    """Asked for first: without a browser the test skips without making the report."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("COMPVIZ_REQUIRE_BROWSER"):
            pytest.fail("COMPVIZ_REQUIRE_BROWSER is set and chromium is not on PATH")
        pytest.skip("chromium is not on PATH (apt-get install -y --no-install-recommends chromium)")
    return found


@pytest.mark.draws  # Chromium decodes the embedded plot: draw it for real
def test_html_report_in_a_headless_browser(browser, pytester, tmp_path):
    page = make_page(pytester)
    report = (page / "r.html").read_text(encoding="utf-8")
    end = report.rindex("</body>")
    (tmp_path / "probed.html").write_text(report[:end] + PROBE + report[end:], encoding="utf-8")
    png = (page / "compviz-report" / "results.png").read_bytes()
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in report

    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         (tmp_path / "probed.html").as_uri()],
        capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="compviz-probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found, "the probe did not run: " + done.stdout[-2000:]
    seen = json.loads(html.unescape(found.group(1)))
    assert seen["plot"] == list(png_size(png))  # Chromium decoded the embedded plot at its size
    assert seen["control"] is None
    assert seen["headers"][3] == "lora<br>rank" and seen["headers"][4] == "average<br>relative<br>error"
    assert set(seen["aligns"]) == {"left"}  # like the Markdown table; a <th> would centre
    assert seen["rows"] == expected_cells(page)  # the mode's text as written, the pipe unescaped
    assert NASTY in [row[0] for row in seen["rows"]]
    assert seen["scripts"] == 0 and seen["title"] != "pwned"
    assert seen["results"] == 10  # pytest-html's own results table was built by its scripts too
