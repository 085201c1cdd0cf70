"""What a history of 1,000 runs x 100 rows costs: appending one run and reading the history back
(what a run with --compviz-history and --compviz-compare/--compviz-window adds). Goal: under a second.

    .venv/bin/python benchmarks/history.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pytest_compviz.history.store import append_record, read_history

RUNS, ROWS = 1000, 100


def record(number: int) -> dict:
    rows = [{"input": "r.csv", "model": "meta-llama/Llama-2-7b", "own model": True, "mode": f"int4 config {row}",
             "%int4": 1.0, "%int8": 0.0, "lora rank": None, "plot name": f"c{row}", "model size, Gb": 3.5,
             "average relative error": 0.04 + row * 1e-4, "average relative error stderr": 0.002,
             "compression rate": 7.1, "wikitext, word perplexity": 11.8, "lambada-openai, acc": 0.70,
             "lambada-openai, perplexity": 3.3, "WWB, similarity": 0.88, "verdict": "passed"} for row in range(ROWS)]
    return {"schema": "pytest-compviz/history", "version": 1, "time": "2026-01-01T00:00:00+00:00",
            "commit": f"{number:040x}", "branch": "main", "merge base": None, "outcome": "passed",
            "inputs": [{"name": "r.csv", "sha256": "0" * 64}], "rows": rows}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        history = Path(folder) / "history"
        history.mkdir()
        (history / "runs.jsonl").write_text("".join(
            __import__("json").dumps(record(n), separators=(",", ":")) + "\n" for n in range(RUNS)))
        size = (history / "runs.jsonl").stat().st_size
        start = time.perf_counter()
        append_record(history, "history", record(RUNS), keep=RUNS + 1)  # within the bound: appended
        appended = time.perf_counter()
        records = read_history(history, "history")
        read = time.perf_counter()
        append_record(history, "history", record(RUNS + 1), keep=RUNS)  # over the bound: pruned, rewritten
        pruned = time.perf_counter()
    assert len(records) == RUNS + 1
    print(f"history of {RUNS:,} runs x {ROWS} rows ({size / 2**20:.1f} MiB):")
    print(f"  append one run        {appended - start:6.3f} s")
    print(f"  read every run        {read - appended:6.3f} s")
    print(f"  append + read         {read - start:6.3f} s  (goal: under 1 s)")
    print(f"  append over the bound {pruned - read:6.3f} s  (read, keep the newest, rewrite)")


if __name__ == "__main__":
    main()
