"""The history's file (format 2, docs/ci-loop.md): plain JSON lines a script reads, rows decoded
only as used, version 1 still read, unknown versions refused, and the bound's rewrite amortised.
Pure functions over a temporary folder: fast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_compviz.baseline.load import key_of
from pytest_compviz.cli import main
from pytest_compviz.history.reference import window_of
from pytest_compviz.history.store import HistoryError, append_record, over_bound, read_history


def _record(number: int, configs: int = 3, branch: str = "main") -> dict:
    rows = [{"input": "r.csv", "model": "m", "own model": True, "mode": f"int4 {c}", "%int4": 1.0, "%int8": 0.0,
             "lora rank": None, "average relative error": 0.01 * number + 0.001 * c,
             "average relative error stderr": 0.002, "compression rate": 4.0, "verdict": "passed"}
            for c in range(configs)]
    return {"schema": "pytest-compviz/history", "version": 2, "time": "t", "commit": f"{number:040x}",
            "branch": branch, "merge base": None, "outcome": "passed", "inputs": [], "rows": rows}


def _decoded(record) -> bool:
    return dict.__contains__(record, "rows")  # without asking for them (which decodes them)


def test_a_simple_script_reads_the_file_and_rows_of_other_keys_keep_them(tmp_path):
    odd = {"input": "r.csv", "model": "m", "mode": "int8", "%int4": 0.0, "%int8": 1.0,
           "average relative error": 0.003, "compression rate": 2.0, "verdict": "passed"}  # no "own model": counts
    first = _record(1, branch='weird,"rows":[],"columns":"x')  # the header markers inside a string value
    first["rows"].append(odd)
    append_record(tmp_path / "h", "h", first, keep=100)
    append_record(tmp_path / "h", "h", _record(2), keep=100)
    docs = (Path(__file__).parent.parent / "docs" / "ci-loop.md").read_text(encoding="utf-8")
    snippet = docs.split("```python\n", 1)[1].split("```", 1)[0]  # the page's script, as a user copies it
    script = []
    exec(snippet.replace('".compviz-history/runs.jsonl"', repr(str(tmp_path / "h" / "runs.jsonl")))
         .replace('"rows")', '"rows"))').replace("print(", "script.append(("), {"script": script})
    assert script == [(f"{1:040x}"[:10], "passed", 4, "rows"), (f"{2:040x}"[:10], "passed", 3, "rows")]
    for line in (tmp_path / "h" / "runs.jsonl").read_text().splitlines():
        assert json.loads(line)["version"] == 2
    records = read_history(tmp_path / "h", "h")
    assert records[0]["branch"] == 'weird,"rows":[],"columns":"x'
    assert [r["rows"] for r in records] == [first["rows"], _record(2)["rows"]]
    assert "own model" not in records[0]["rows"][-1]  # missing, not null: its model still counts


def test_rows_are_decoded_only_as_far_back_as_the_window_needs(tmp_path):
    for number in range(30):
        append_record(tmp_path / "h", "h", _record(number), keep=100)
    records = read_history(tmp_path / "h", "h")
    assert not any(_decoded(r) for r in records)
    assert records[-1]["commit"] == f"{29:040x}" and records[-1]["outcome"] == "passed"  # headers at once
    window = window_of(records, None, 5, "h")
    key = key_of(_record(0)["rows"][1])
    points = window.points.get(key, ())
    assert [p.error for p in points] == pytest.approx([0.01 * n + 0.001 for n in range(25, 30)])
    assert [_decoded(r) for r in records] == [False] * 25 + [True] * 5
    assert window.points.get(("no", "such", "key"), ()) == ()  # looks through every record, finds none
    assert all(_decoded(r) for r in records)


def test_version_1_records_are_still_read_and_unknown_versions_are_refused(tmp_path):
    folder = tmp_path / "h"
    folder.mkdir()
    old = {**_record(1), "version": 1}
    (folder / "runs.jsonl").write_text(json.dumps(old) + "\n" + json.dumps(old, separators=(",", ":")) + "\n")
    append_record(folder, "h", _record(2), keep=100)
    assert [r["rows"] for r in read_history(folder, "h")] == [old["rows"], old["rows"], _record(2)["rows"]]
    with (folder / "runs.jsonl").open("a") as handle:
        handle.write(json.dumps({**_record(3), "version": 3}) + "\n")
    with pytest.raises(HistoryError, match=r"^history h/runs.jsonl:4: record format version 3; this pytest-compviz"
                                           r" reads versions 1 and 2 \(written by a newer pytest-compviz\?\)$"):
        read_history(folder, "h")


def test_damaged_rows_are_an_error_naming_the_line_when_used(tmp_path, capsys):
    folder = tmp_path / "h"
    append_record(folder, "h", _record(1), keep=100)
    line = (folder / "runs.jsonl").read_bytes()
    (folder / "runs.jsonl").write_bytes(line + line.replace(b'"rows":[[', b'"rows":[[[', 1))
    records = read_history(folder, "h")  # the headers are fine
    assert records[0]["rows"]
    with pytest.raises(HistoryError, match=r"^history h/runs.jsonl:2: not a JSON record \("):
        records[1]["rows"]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "compviz.json").write_text('{"schema": "pytest-compviz/run", "rows": [], "inputs": []}')
    assert main(["comment", "--report", str(tmp_path / "out"), "--history", str(folder), "-o",
                 str(tmp_path / "c.md")]) == 2  # its trend decodes every record: one line, no traceback
    err = capsys.readouterr().err
    assert err.startswith(f"compviz comment: error: history {folder}/runs.jsonl:2: not a JSON record (Expecting")
    assert err.count("\n") == 1
    assert not (tmp_path / "c.md").exists()


def test_the_bound_is_rewritten_once_every_quarter_of_keep_not_per_run(tmp_path):
    assert [over_bound(n, 8) for n in range(7, 14)] == [False, False, False, True, False, True, False]
    assert [over_bound(n, 3) for n in (3, 4, 5)] == [False, True, True]  # keep < 4: every run past it
    folder = tmp_path / "h"
    sizes, rewrites, inode = [], 0, None
    for number in range(30):
        append_record(folder, "h", _record(number), keep=8)
        current = (folder / "runs.jsonl").stat().st_ino
        rewrites += inode is not None and current != inode  # the atomic rewrite replaces the file
        inode = current
        sizes.append(len(read_history(folder, "h")))
    assert max(sizes) == 9 and sizes[-1] in (8, 9)  # never more than keep + keep // 4 - 1
    assert rewrites == 11  # 30 appends, the first 9 within the bound: one rewrite per 2 runs past it
    records = read_history(folder, "h")
    assert [r["commit"] for r in records] == [f"{n:040x}" for n in range(30 - len(records), 30)]


@pytest.mark.parametrize("rows", ["[1]", '[{"input": "r.csv"}]', None], ids=["not an object", "no identity", "Infinity"])
def test_a_tampered_row_is_an_error_naming_the_line_not_a_traceback_or_an_infinite_bound(tmp_path, rows):
    """Found by the adversarial review: a row that is not an object crashed the trend and the
    window with a traceback; json.loads reads Infinity, which made a window's bound infinite."""
    folder = tmp_path / "h"
    append_record(folder, "h", _record(1), keep=100)
    record = json.loads((folder / "runs.jsonl").read_text())
    if rows is None:
        record["rows"][0][record["columns"].index("average relative error")] = float("inf")
        line = json.dumps(record)
    else:
        line = json.dumps({key: value for key, value in record.items() if key not in ("columns", "rows")})
        line = line[:-1] + f', "version": 1, "rows": {rows}}}'.replace('"version": 1, ', "")
        line = line.replace('"version": 2', '"version": 1')
    (folder / "runs.jsonl").write_text(line + "\n")
    with pytest.raises(HistoryError, match=r"^history h/runs.jsonl:1: not a pytest-compviz history record"):
        read_history(folder, "h")[0]["rows"]


def test_the_linear_step_scan_finds_the_split_the_direct_one_does():
    """report.trend.step_change scans with running sums; the split and the means it reports are
    those of the direct computation (every split's squared deviations summed anew)."""
    import random

    from pytest_compviz.report.trend import Series, step_change

    def direct(errors):
        costs = []
        for at in range(1, len(errors)):
            left, right = errors[:at], errors[at:]
            m1, m2 = sum(left) / len(left), sum(right) / len(right)
            costs.append((sum((e - m1) ** 2 for e in left) + sum((e - m2) ** 2 for e in right), at))
        return min(costs)[1]

    rng = random.Random(7)
    found = 0
    for trial in range(200):
        n = rng.randint(3, 40)
        at = rng.randint(1, n - 1)
        errors = [0.05 + rng.gauss(0, 0.0005) + (0.01 if i >= at else 0.0) * (trial % 2) for i in range(n)]
        series = Series("m", "int4", ("r.csv", "m", "int4", 1.0, 0.0, None), errors=errors, stderrs=[None] * n)
        step = step_change(series)
        if step is not None:
            found += 1
            assert step.at == direct(errors)
            assert step.before == pytest.approx(sum(errors[:step.at]) / step.at, abs=1e-15)
    assert found >= 90  # the series with a 1 pp step (every other trial) are found
