"""Writes the adversarial corpus of tests/test_bad_input.py next to this script.

Run once (``python tests/data/bad/make_corpus.py``) and commit the files; the test table in
tests/test_bad_input.py holds the expected message of each. Every file starts from
data/llama2_asym.csv: header on line 1, the nine compressed rows on lines 2-10, fp32 on line 11.
Deterministic: running it again rewrites the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LLAMA2 = HERE.parents[2] / "data" / "llama2_asym.csv"

with LLAMA2.open(encoding="utf-8", newline="") as handle:
    ROWS = [row for row in csv.reader(handle)]
HEADER = ROWS[0]


def rows() -> list[list[str]]:
    return [list(row) for row in ROWS]


def col(name: str) -> int:
    return HEADER.index(name)


def text(table: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(table)
    return buffer.getvalue()


def cells(changes: dict[tuple[int, str], str]) -> list[list[str]]:
    """llama2_asym with some cells changed, by (file line, column name)."""
    table = rows()
    for (line, name), value in changes.items():
        table[line - 1][col(name)] = value
    return table


def without(name: str) -> list[list[str]]:
    index = col(name)
    return [[c for n, c in enumerate(row) if n != index] for row in rows()]


FILES: dict[str, bytes] = {}


def put(name: str, data: str | bytes) -> None:
    FILES[name] = data.encode("utf-8") if isinstance(data, str) else data


# --- each required column missing ---------------------------------------------------------------
for short, name in [
    ("mode", "mode"), ("int4", "%int4"), ("int8", "%int8"), ("size", "model size, Gb"),
    ("acc", "lambada-openai, acc"), ("lppl", "lambada-openai, perplexity"),
    ("sim", "WWB, similarity"), ("wppl", "wikitext, word perplexity"),
]:
    put(f"missing_{short}.csv", text(without(name)))

# --- cells ----------------------------------------------------------------------------------------
put("text_in_numeric.csv", text(cells({
    (3, "model size, Gb"): "abc", (5, "lambada-openai, acc"): "0,71", (7, "%int4"): "80%", (9, "lora rank"): "r32",
})))
put("blank_required.csv", text(cells({
    (2, "model size, Gb"): "", (4, "%int8"): "", (6, "wikitext, word perplexity"): "  ",
})))
put("inf_nan.csv", text(cells({
    (2, "lambada-openai, acc"): "nan", (3, "wikitext, word perplexity"): "inf", (4, "model size, Gb"): "-inf",
    (5, "WWB, similarity"): "NaN", (6, "lambada-openai, perplexity"): "Infinity", (7, "model size, Gb"): "1e400",
})))
# out of range, one file per ranged column
put("range_int4.csv", text(cells({(2, "%int4"): "1.5", (3, "%int4"): "-0.1"})))
put("range_int8.csv", text(cells({(7, "%int8"): "-0.2", (9, "%int8"): "1.4"})))
put("range_size.csv", text(cells({(2, "model size, Gb"): "0", (3, "model size, Gb"): "-3.497"})))
put("range_acc.csv", text(cells({(2, "lambada-openai, acc"): "1.7", (3, "lambada-openai, acc"): "-0.01"})))
put("range_lppl.csv", text(cells({(2, "lambada-openai, perplexity"): "0", (3, "lambada-openai, perplexity"): "-3.3"})))
put("range_sim.csv", text(cells({(2, "WWB, similarity"): "1.0001", (3, "WWB, similarity"): "-0.5"})))
put("range_wppl.csv", text(cells({(2, "wikitext, word perplexity"): "0", (3, "wikitext, word perplexity"): "-11.8"})))
put("ratio_sum.csv", text(cells({(7, "%int8"): "0.3", (9, "%int8"): "0.5"})))
put("lora_negative.csv", text(cells({(5, "lora rank"): "-32"})))
put("lora_zero.csv", text(cells({(5, "lora rank"): "0"})))
put("lora_fractional.csv", text(cells({(5, "lora rank"): "32.5"})))
put("empty_mode.csv", text(cells({(3, "mode"): "", (6, "mode"): "   "})))

# --- rules spanning rows --------------------------------------------------------------------------
put("no_baseline.csv", text(rows()[:-1]))
put("two_baselines.csv", text(rows() + [rows()[-1]]))
put("baseline_metric_zero.csv", text(cells({(11, "lambada-openai, acc"): "0"})))
duplicate = rows()
duplicate.append(list(duplicate[3]))  # line 12 repeats line 4 (int4 data-free), numbers spelled apart
duplicate[11][col("plot name")] = "data-free again"
duplicate[11][col("%int4")] = "1"
duplicate[11][col("%int8")] = "0"
put("duplicate_config.csv", text(duplicate))
empty_model = rows()
empty_model[4][0] = ""
put("empty_model.csv", text(empty_model))

# --- the file as a whole --------------------------------------------------------------------------
put("empty.csv", b"")
put("blank_lines_only.csv", "\n \n\t\n")
put("header_only.csv", text(rows()[:1]))
ragged = rows()
ragged[2].append("surplus")  # line 3
ragged[7].extend(["surplus", "more"])  # line 8
put("ragged_too_many.csv", text(ragged))
ragged = rows()
ragged[4] = ragged[4][:-2]  # line 5
put("ragged_too_few.csv", text(ragged))
put("duplicate_header.csv", text([[*row, row[1]] for row in rows()]))  # a second 'mode' column
put("trailing_empty_columns.csv", text([[*row, "", ""] for row in rows()]))  # spreadsheet export

# --- delimiters and line endings ------------------------------------------------------------------
put("semicolon.csv", text(rows(), delimiter=";"))
european = [rows()[0]] + [[cell.replace(".", ",") for cell in row] for row in rows()[1:]]
put("semicolon_decimal_comma.csv", text(european, delimiter=";"))
put("tab.csv", text(rows(), delimiter="\t"))
put("crlf_error.csv", text(cells({(6, "model size, Gb"): "abc"}), newline="\r\n"))
put("cr_only.csv", text(rows(), newline="\r"))  # classic Mac OS line endings: valid
blank_lines = text(cells({(4, "model size, Gb"): "abc"})).split("\n")
blank_lines.insert(3, "")  # blank line 4: the int4 data-free row (abc) moves to line 5
blank_lines.insert(7, "")  # blank line 8
blank_lines.insert(8, "")  # blank line 9
put("blank_lines_error.csv", "\n".join(blank_lines))
spaced = text(rows()).split("\n")
spaced.insert(6, "   ")  # a line of spaces between rows
spaced[-1] = " \t "  # and one at the end, after the last newline
put("whitespace_lines.csv", "\n".join(spaced))  # valid: lines of whitespace are blank lines
put("leading_whitespace_line.csv", " \n" + text(rows()))  # valid: a blank line before the header
put("short_header.csv", text([HEADER[:-1]] + rows()[1:]))  # the last column has no name in the header
put("title_line.csv", "Llama-2-7b-chat, INT4_ASYM\n" + text(rows()))  # a title above the header: line 2 is not the header
put("comma_only_rows.csv", text(rows() + [[""] * len(HEADER)] * 2))  # spreadsheet export: valid
put("unclosed_quote.csv", text(rows()).replace(",rank 32,", ',"rank 32,', 1))  # quote opened on line 5

# --- encodings and binary -------------------------------------------------------------------------
put("utf8_bom.csv", b"\xef\xbb\xbf" + text(rows()).encode("utf-8"))  # valid
put("utf16_bom.csv", text(rows()).encode("utf-16"))  # valid: the BOM says it all (little-endian)
put("utf16be_bom.csv", b"\xfe\xff" + text(rows()).encode("utf-16-be"))  # valid
put("utf16_nobom.csv", text(rows()).encode("utf-16-le"))
latin1 = cells({(5, "plot name"): "rang 32 (réf)"})
put("latin1.csv", text(latin1).encode("latin-1"))
put("random_bytes.csv", random.Random(5).randbytes(2048))
workbook = io.BytesIO()
with zipfile.ZipFile(workbook, "w") as archive:  # an .xlsx renamed to .csv
    info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=(2024, 1, 1, 0, 0, 0))
    archive.writestr(info, "<worksheet>" + "<row/>" * 50 + "</worksheet>")
put("xlsx_renamed.csv", workbook.getvalue())

# --- long and quoted ------------------------------------------------------------------------------
LONG_MODE = ("int4 + awq + scale estimation " + "+ tuned " * 1250)[:10_000]
put("long_mode.csv", text(cells({(3, "mode"): LONG_MODE})))  # valid: just long
put("long_mode_duplicate.csv", text(cells({(3, "mode"): LONG_MODE, (4, "mode"): LONG_MODE,
                                           (4, "plot name"): "100% int4"})))
quoted = cells({
    (2, "mode"): "int4 + awq, scale estimation, gptq",
    (2, "plot name"): "gptq,\nwith a note\non three lines",
    (5, "plot name"): 'rank "32",\nsecond line',
})
put("quoted_commas_newlines.csv", text(quoted))  # valid
quoted_bad = cells({
    (2, "plot name"): "gptq,\nwith a note\non three lines",  # line 2 spans lines 2-4
    (5, "plot name"): "rank 32\nsecond line",  # row 4 starts on line 7, spans 7-8
    (6, "model size, Gb"): "abc",  # row 5 starts on line 9
    (11, "lambada-openai, acc"): "1.5",  # the baseline row starts on line 14
})
put("quoted_newlines_error.csv", text(quoted_bad))


if __name__ == "__main__":
    for old in HERE.glob("*.csv"):
        old.unlink()
    for name, data in FILES.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(FILES)} files to {HERE}")
