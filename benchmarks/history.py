"""What a history of 1,000 runs x 100 rows costs, this tree's store against another revision's
(default: main), side by side: appending one run, reading the history and using what a run with
--compviz-compare base --compviz-window 10 uses (one base run's rows, each configuration's last 10
points), decoding every run's rows (what the trend plot adds), and the bound's rewrite. Goal:
append + read under a second; a rewrite not paid per run.

    .venv/bin/python benchmarks/history.py [--against REV]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_compviz.baseline.load import key_of

RUNS, ROWS, WINDOW = 1000, 100, 10
ROOT = Path(__file__).resolve().parent.parent


def record(number: int) -> dict:
    rows = [{"input": "r.csv", "model": "meta-llama/Llama-2-7b", "own model": True, "mode": f"int4 config {row}",
             "%int4": 1.0, "%int8": 0.0, "lora rank": None, "plot name": f"c{row}", "model size, Gb": 3.5,
             "average relative error": 0.04 + row * 1e-4, "average relative error stderr": 0.002,
             "compression rate": 7.1, "wikitext, word perplexity": 11.8, "lambada-openai, acc": 0.70,
             "lambada-openai, perplexity": 3.3, "WWB, similarity": 0.88, "verdict": "passed"} for row in range(ROWS)]
    return {"schema": "pytest-compviz/history", "version": 1, "time": "2026-01-01T00:00:00+00:00",
            "commit": f"{number:040x}", "branch": "main", "merge base": None, "outcome": "passed",
            "inputs": [{"name": "r.csv", "sha256": "0" * 64}], "rows": rows}


def module_at(revision: str, path: str, name: str):
    """``path`` (a module of pytest_compviz) as it is at ``revision``, importable beside this tree's."""
    source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout
    spec = importlib.util.spec_from_loader(f"pytest_compviz.history.{name}", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "pytest_compviz.history"
    exec(compile(source, f"{revision}:{path}", "exec"), module.__dict__)
    sys.modules[spec.name] = module
    return module


def encoder(store):
    if hasattr(store, "encode"):
        return store.encode
    return lambda r: json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def measure(store, reference) -> dict:
    figures = {}
    with tempfile.TemporaryDirectory() as folder:
        history = Path(folder) / "history"
        history.mkdir()
        encode = encoder(store)
        (history / "runs.jsonl").write_bytes(b"".join(encode(record(n)) for n in range(RUNS)))
        figures["size, MiB"] = (history / "runs.jsonl").stat().st_size / 2**20
        start = time.perf_counter()
        store.append_record(history, "history", record(RUNS), keep=10 * RUNS)  # within the bound: appended
        figures["append one run"] = time.perf_counter() - start

        start = time.perf_counter()
        records = store.read_history(history, "history")
        base = next(r for r in reversed(records) if r.get("commit") == f"{RUNS - 5:040x}")
        assert len(base["rows"]) == ROWS  # the base run's rows, as the comparison uses them
        window = reference.window_of(records, None, WINDOW, "history")
        keys = [key_of(row) for row in record(0)["rows"]]
        assert all(len(window.points.get(key, ())) == WINDOW for key in keys)
        figures["read, base run, window"] = time.perf_counter() - start
        figures["append + read"] = figures["append one run"] + figures["read, base run, window"]

        start = time.perf_counter()
        assert sum(len(r["rows"]) for r in records) == (RUNS + 1) * ROWS  # what the trend plot decodes
        figures["decode every run (trend)"] = time.perf_counter() - start
        figures["read + decode every run"] = figures["read, base run, window"] + figures["decode every run (trend)"]

        keep = RUNS - 10  # the file is over the bound: find the append that prunes it, and time it
        prune_every = 1
        if hasattr(store, "over_bound"):
            lines = RUNS + 1
            while not store.over_bound(lines + 1, keep):
                store.append_record(history, "history", record(lines), keep=keep)
                lines += 1
            prune_every = max(1, keep // 4)
        start = time.perf_counter()
        store.append_record(history, "history", record(RUNS + 1000), keep=keep)  # pruned, rewritten
        figures["append that rewrites"] = time.perf_counter() - start
        figures["rewrite per run"] = figures["append that rewrites"] / prune_every
        assert len(store.read_history(history, "history")) == keep
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="main", metavar="REV", help="the revision measured as 'old'")
    args = parser.parse_args()
    from pytest_compviz.history import reference, store

    old_store = module_at(args.against, "pytest_compviz/history/store.py", "_old_store")
    old_reference = module_at(args.against, "pytest_compviz/history/reference.py", "_old_reference")
    old, new = measure(old_store, old_reference), measure(store, reference)
    print(f"history of {RUNS:,} runs x {ROWS} rows; old = {args.against}, new = this tree")
    print(f"  {'seconds (size: MiB)':28}{'old':>9}{'new':>9}{'old/new':>9}")
    for name in old:  # the old store decodes every row on reading: its trend decode is free
        print(f"  {name:28}{old[name]:9.3f}{new[name]:9.3f}{old[name] / max(new[name], 1e-9):8.1f}x")
    print("  goal: append + read under 1 s; 'rewrite per run': the rewrite's cost shared by the runs between"
          " rewrites")


if __name__ == "__main__":
    main()
