"""What reading and pairing lm-eval per-sample outputs costs: a manifest of `--rows` rows (one
model, its fp32 row first), each pointing at its own lm-eval output folder with a results file
and a `samples_<task>_<date>.jsonl` of `--items` lines shaped like lm-eval 0.4's (its keys, in its
order, with a document of `--doc-chars` characters repeated in `arguments`, as a lambada-like
task writes it).

Reported, fastest and median of `--repeat` runs: `load_results` on the manifest (read, assemble,
validate, derive and pair every row with the fp32 row), the samples readers alone, and
`json.loads` of every line alone (the floor: no reader of these files can skip parsing them).
The issue's budget: 20 rows x 5,000 items under 2 s.

    .venv/bin/python benchmarks/paired.py [--rows 20] [--items 5000] [--doc-chars 600] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_compviz.core.results import load_results  # noqa: E402
from pytest_compviz.core.sources.lm_eval_samples import read_samples  # noqa: E402
from pytest_compviz.spec import Metric, Settings  # noqa: E402

REAL = Path(__file__).resolve().parent.parent / "tests" / "data" / "evals" / "paired" / "fp32"
TASK = "paired_choice"
SETTINGS = Settings(metrics=(Metric("choice, acc", "higher", 0.0, 1.0, lm_eval=(TASK, "acc", "none")),))


def build(folder: Path, rows: int, items: int, doc_chars: int) -> Path:
    rng = random.Random(0)
    results = json.loads(next(REAL.glob("results_*.json")).read_text(encoding="utf-8"))
    reference = [rng.random() < 0.7 for _ in range(items)]
    lines = ['model,mode,%int4,%int8,"model size, Gb",lm-eval']
    for row in range(rows):
        right = reference if row == 0 else [r if rng.random() > 0.05 else not r for r in reference]
        date = f"2026-01-{row % 28 + 1:02d}T00-00-00"
        out = folder / f"run{row}"
        out.mkdir()
        results["results"][TASK]["acc,none"] = sum(right) / items
        (out / f"results_{date}.json").write_text(json.dumps(results), encoding="utf-8")
        with (out / f"samples_{TASK}_{date}.jsonl").open("w", encoding="utf-8") as handle:
            for i, r in enumerate(right):
                text = (f"passage {i} " * doc_chars)[:doc_chars]
                handle.write(json.dumps({
                    "doc_id": i, "doc": {"text": text}, "target": " end",
                    "arguments": {"gen_args_0": {"arg_0": text, "arg_1": " end"}},
                    "resps": [[["-1.5", "True"]]], "filtered_resps": [["-1.5", "True"]], "filter": "none",
                    "metrics": ["acc"], "doc_hash": f"{i:064x}", "prompt_hash": f"{i:064x}",
                    "target_hash": f"{i:064x}", "acc": float(r)}) + "\n")
        lines.append(f"m,{'fp32' if row == 0 else f'int4-{row}'},{0 if row == 0 else 1},0,{10 if row == 0 else 2.5},run{row}")
    manifest = folder / "m.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def timed(function, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--doc-chars", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = build(folder, args.rows, args.items, args.doc_chars)
        files = sorted(folder.glob("run*/samples_*.jsonl"))
        size = sum(f.stat().st_size for f in files) / 2**20
        results = load_results(manifest, SETTINGS)
        assert len(results.paired) == args.rows - 1, "every compressed row paired"

        def floor():
            for f in files:
                for line in f.read_bytes().splitlines():
                    json.loads(line)

        print(f"{args.rows} rows x {args.items} items, {size:.0f} MiB of samples files")
        for name, function in (("load_results (read + pair)", lambda: load_results(manifest, SETTINGS)),
                               ("samples readers alone", lambda: [read_samples(f.parent) for f in files]),
                               ("json.loads of every line", floor)):
            best, median = timed(function, args.repeat)
            print(f"  {name:28} fastest {best:6.3f} s, median {median:6.3f} s")


if __name__ == "__main__":
    main()
