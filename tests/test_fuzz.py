"""Fuzzing the reader and validator with mutated copies of data/llama2_asym.csv.

Each example applies a few mutations to the file (cells, columns and lines dropped, duplicated or
garbled; another delimiter, line ending, quoting or encoding; bytes flipped, inserted, deleted;
the file truncated) and loads the result: the only allowed outcomes are a ``Results`` or an
``InvalidResults`` whose every problem is a ``Problem`` with a message. Any other exception fails.

Profiles (tests/conftest.py): "ci" by default (150 examples), ``--hypothesis-profile=long`` for
5,000. The two variants (a lone carriage return, a leading whitespace line) run a third of the
profile's examples: each is the main property's mutated file with one deterministic change, so
the mutations are covered by the main property's examples and the variants need only enough to
meet each change in many files (an example costs ~4 ms invalid, ~20 ms valid: the loader's work).
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import LLAMA2_CSV
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from pytest_compviz.problems import InvalidResults, Problem
from pytest_compviz.core.results import Results, load_results

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")

with LLAMA2_CSV.open(encoding="utf-8", newline="") as _handle:
    ROWS = [row for row in csv.reader(_handle)]

# Cell values worth trying: numbers at and past every bound, non-finite spellings, the baseline
# mode, CSV syntax, whitespace, non-ASCII, NUL.
SPECIAL_CELLS = [
    "", " ", "0", "-0", "1", "1.0", "-1", "0.5", "1.0000001", "-0.0001", "32", "32.5", "1e400", "-1e400",
    "1e-400", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "abc", "1,5", "80%", "0x10", "1_000", "fp32",
    "FP32", "int4", "mode", '"', '""', "'", ",", ";", "\t", "\n", "\r\n", "::", "[x]", "é", "日本", "\ufeff",
    "\x00", "\u2028", "=1+1", "a" * 300,
]
CELL_TEXT = st.one_of(
    st.sampled_from(SPECIAL_CELLS),
    st.sampled_from(SPECIAL_CELLS),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r"), max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def _index(draw, items) -> int:
    return draw(st.integers(0, max(len(items) - 1, 0)))


@st.composite
def mutated_table(draw) -> list[list[str]]:
    rows = [list(row) for row in ROWS]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from([
            "drop cell", "duplicate cell", "garble cell", "garble cell", "garble cell", "drop column",
            "duplicate column", "drop line", "duplicate line", "swap lines", "blank line",
        ]))
        if not rows:
            break
        r = _index(draw, rows)
        row = rows[r]
        c = _index(draw, row)
        if kind == "drop cell" and row:
            del row[c]
        elif kind == "duplicate cell" and row:
            row.insert(c, row[c])
        elif kind == "garble cell":
            if row:
                row[c] = draw(CELL_TEXT)
            else:
                row.append(draw(CELL_TEXT))
        elif kind == "drop column":
            for each in rows:
                if c < len(each):
                    del each[c]
        elif kind == "duplicate column":
            for each in rows:
                if c < len(each):
                    each.insert(c, each[c])
        elif kind == "drop line":
            del rows[r]
        elif kind == "duplicate line":
            rows.insert(r, list(row))
        elif kind == "swap lines":
            other = _index(draw, rows)
            rows[r], rows[other] = rows[other], rows[r]
        elif kind == "blank line":
            rows.insert(r, [])
        note(f"{kind} at row {r}, cell {c}")
    return rows


@st.composite
def mutated_bytes(draw) -> bytes:
    rows = draw(mutated_table())
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=draw(st.sampled_from([","] * 12 + [";", "\t", "|"])),
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
    )
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8"] * 10 + ["utf-8-sig", "utf-16", "utf-16-le", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3]))):
        kind = draw(st.sampled_from(["flip byte", "insert bytes", "delete bytes", "truncate", "swap delimiter"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip byte" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
        elif kind == "insert bytes":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif kind == "delete bytes":
            data = data[:at] + data[at + draw(st.integers(1, 64)):]
        elif kind == "truncate":
            data = data[:at]
        elif kind == "swap delimiter":
            old, new = draw(st.sampled_from([(b",", b";"), (b",", b"\t"), (b";", b","), (b"\n", b"\r\n")]))
            data = data.replace(old, new, draw(st.integers(1, 20)))
        note(f"{kind} at byte {at}")
    return data


def check_outcome(path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        results = load_results(path, shown="fuzzed.csv")
    except InvalidResults as exc:
        assert exc.problems, "InvalidResults without problems"
        for problem in exc.problems:
            assert isinstance(problem, Problem), repr(problem)
            assert problem.message.strip(), repr(problem)
            assert str(problem).startswith("fuzzed.csv"), str(problem)
        event(re.sub(r"\d+|'.*'", "_", exc.problems[0].message)[:50])  # --hypothesis-show-statistics
        return
    event("valid")
    assert isinstance(results, Results)
    assert len(results.derived) > 0
    assert results.models()


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    """A folder for the module (a function-scoped ``tmp_path`` can't be used under @given); each
    example overwrites its test's one file in it."""
    return tmp_path_factory.mktemp("fuzz")


@given(data=mutated_bytes())
def test_mutated_csv_is_results_or_reported_problems(data, fuzz_dir):
    check_outcome(fuzz_dir / "fuzzed.csv", data)


# A third of the loaded profile's examples (the profile is chosen before this module is imported).
VARIANT = settings(max_examples=max(10, settings.default.max_examples // 3))


@VARIANT
@given(data=mutated_bytes(), line=st.integers(0, 10))
def test_mutated_csv_with_a_lone_carriage_return(data, line, fuzz_dir):
    newlines = [m.start() for m in re.finditer(rb"(?<!\r)\n", data)]
    if newlines:
        at = newlines[min(line, len(newlines) - 1)]
        data = data[:at] + b"\r" + data[at + 1:]
    check_outcome(fuzz_dir / "lone_cr.csv", data)


@VARIANT
@given(data=mutated_bytes(), blank=st.sampled_from([" ", "\t", "  \t "]))
def test_mutated_csv_after_a_whitespace_line(data, blank, fuzz_dir):
    check_outcome(fuzz_dir / "whitespace_line.csv", blank.encode() + b"\n" + data)
