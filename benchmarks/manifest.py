"""What `core.manifest.assemble` costs on a sweep-sized manifest, beyond reading the JSONs.

A manifest of `--rows` rows (5 models, their fp32 row first), each row pointing at its own
lm-eval `--output_path` folder (the model sub-folder, two runs of which the newer is read), its
own wwb output folder (metrics.csv + 27 per-prompt similarities with their texts) and its own
OpenVINO model folder whose weights are sparse files of `--weights-gb` (default 4 GB: real sizes,
no disk used) beside the tokenizer files that are not counted.

Reported, fastest and median of `--repeat` runs: assemble(), reading and parsing the same lm-eval
JSON files with json alone (the floor: no reader can skip that), the difference, and each reader
alone over the rows (the lm-eval one includes the JSON parsing).

    .venv/bin/python benchmarks/manifest.py [--rows 500] [--repeat 5] [--weights-gb 4]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_compviz.core.manifest import assemble, to_csv  # noqa: E402
from pytest_compviz.core.reader import read_results  # noqa: E402
from pytest_compviz.core.sources.lm_eval import read_lm_eval  # noqa: E402
from pytest_compviz.core.sources.model_files import model_size  # noqa: E402
from pytest_compviz.core.sources.wwb import read_wwb  # noqa: E402

HEADER = ["model", "mode", "%int4", "%int8", "lora rank", "plot name", "lm-eval", "wwb", "model path"]
MODELS = 5


def lm_eval_document(acc: float, ppl: float, word_ppl: float) -> dict:
    """A results file of lm-eval 0.4's shape and about its real size (~3 KB)."""
    return {
        "results": {
            "lambada_openai": {"alias": "lambada_openai", "perplexity,none": ppl, "perplexity_stderr,none": 0.07,
                               "acc,none": acc, "acc_stderr,none": 0.0063},
            "wikitext": {"alias": "wikitext", "word_perplexity,none": word_ppl, "word_perplexity_stderr,none": "N/A",
                         "byte_perplexity,none": 1.58, "byte_perplexity_stderr,none": "N/A",
                         "bits_per_byte,none": 0.66, "bits_per_byte_stderr,none": "N/A"},
        },
        "group_subtasks": {"wikitext": [], "lambada_openai": []},
        "configs": {task: {"task": task, "dataset_path": f"EleutherAI/{task}", "num_fewshot": 0,
                           "metric_list": [{"metric": m} for m in ("acc", "perplexity")],
                           "output_type": "loglikelihood", "metadata": {"version": 1.0}}
                    for task in ("lambada_openai", "wikitext")},
        "versions": {"lambada_openai": 1.0, "wikitext": 2.0},
        "n-shot": {"lambada_openai": 0, "wikitext": 0},
        "higher_is_better": {"lambada_openai": {"perplexity": False, "acc": True},
                             "wikitext": {"word_perplexity": False}},
        "n-samples": {"wikitext": {"original": 62, "effective": 62},
                      "lambada_openai": {"original": 5153, "effective": 5153}},
        "config": {"model": "openvino", "model_args": "pretrained=models/x", "batch_size": 1, "limit": None,
                   "bootstrap_iters": 100000, "random_seed": 0, "numpy_seed": 1234, "torch_seed": 1234},
        "git_hash": "4f8e479", "date": 1714732496.0, "pretty_env_info": "x" * 1500,
        "model_name": "models/x", "model_name_sanitized": "models__x",
    }


def build(root: Path, rows: int, weights: int) -> tuple[Path, list[Path]]:
    """The manifest and the lm-eval files assemble() will read."""
    json_files = []
    manifest_rows = []
    per_model = rows // MODELS
    for r in range(rows):
        model, config = f"org/model-{r // per_model}", r % per_model
        ratio = round((config % 100 + 1) / 100, 2)
        mode = "fp32" if config == 0 else "int4 + awq + scale estimation"
        folder = root / "evals" / f"row{r:04d}" / model.replace("/", "__")
        folder.mkdir(parents=True)
        old = folder / "results_2024-05-03T12-34-56.123456.json"
        new = folder / "results_2024-05-04T08-00-01.654321.json"
        old.write_text(json.dumps(lm_eval_document(0.5, 4.0, 13.0), indent=2))
        new.write_text(json.dumps(lm_eval_document(0.71 - 0.01 * ratio, 3.26 + ratio, 11.5 + ratio), indent=2))
        json_files.append(new)
        wwb = root / "wwb" / f"row{r:04d}"
        wwb.mkdir(parents=True)
        (wwb / "metrics.csv").write_text(f",similarity\n0,{1 - 0.1 * ratio!r}\n")
        with (wwb / "metrics_per_question.csv").open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["", "similarity", "prompt", "source_model", "optimized_model"])
            for q in range(27):
                writer.writerow([q, 1 - 0.1 * ratio + (q % 5 - 2) * 0.01, f"Prompt {q}?",
                                 "A reference answer,\nover two lines. " * 8, "An answer. " * 16])
        weights_dir = root / "models" / f"row{r:04d}"
        weights_dir.mkdir(parents=True)
        for name, size in (("openvino_model.bin", weights if config == 0 else weights // 4),
                           ("openvino_model.xml", 2_000_000), ("openvino_tokenizer.bin", 5_000_000),
                           ("openvino_tokenizer.xml", 20_000), ("openvino_detokenizer.bin", 1_000_000),
                           ("openvino_detokenizer.xml", 10_000), ("tokenizer.json", 1_800_000),
                           ("config.json", 700)):
            with (weights_dir / name).open("wb"):
                pass
            os.truncate(weights_dir / name, size)  # sparse: the apparent size, no blocks
        manifest_rows.append([model, mode, 0.0 if config == 0 else ratio, 0.0, "", f"{ratio:.0%}",
                              f"evals/row{r:04d}/", f"wwb/row{r:04d}", f"models/row{r:04d}"])
    manifest = root / "sweep.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(manifest_rows)
    return manifest, json_files


def timings(call, repeat: int) -> tuple[float, float]:
    """(fastest, median) of ``repeat`` calls: on a shared machine the fastest is the steadier."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def read_jsons(files: list[Path]) -> None:
    for file in files:
        json.loads(file.read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--weights-gb", type=float, default=4.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compviz-manifest-") as folder:
        root = Path(folder)
        start = time.perf_counter()
        manifest, json_files = build(root, args.rows, int(args.weights_gb * 1e9))
        print(f"built {args.rows} rows in {time.perf_counter() - start:.1f} s"
              f" (apparent model bytes {sum(f.stat().st_size for f in (root / 'models').rglob('*')) / 1e12:.2f} TB)")
        raw = read_results(manifest, shown="sweep.csv")
        first = time.perf_counter()
        assembled = assemble(raw, root)
        first = time.perf_counter() - first
        assert len(assembled.raw.frame) == args.rows and not assembled.warnings
        assert assembled.raw.frame.iloc[0]["model size, Gb"] == repr(int(args.weights_gb * 1e9 + 2e6) / 2**30)
        whole = timings(lambda: assemble(raw, root), args.repeat)
        jsons = timings(lambda: read_jsons(json_files), args.repeat)
        readers = {kind: timings(lambda reader=reader, folder=folder: [reader(root / folder / f"row{r:04d}", "x")
                                                                 for r in range(args.rows)],
                                 args.repeat)
                   for kind, reader, folder in (("lm-eval", read_lm_eval, "evals"), ("wwb", read_wwb, "wwb"),
                                                ("model path", model_size, "models"))}
        csv_text = timings(lambda: to_csv(assembled), args.repeat)
        print(f"{'':34}{'fastest':>9}{'median':>9}   (ms, {args.repeat} runs; load average"
              f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        row = "{:34}{:9.1f}{:9.1f}"
        print(row.format("assemble, first call", first * 1000, first * 1000))
        print(row.format("assemble", *(t * 1000 for t in whole)))
        print(row.format(f"json.loads of the {len(json_files)} lm-eval files", *(t * 1000 for t in jsons)))
        print(row.format("assemble beyond the JSONs", *((w - j) * 1000 for w, j in zip(whole, jsons))))
        for kind, times in readers.items():
            print(row.format(f"  of which {kind} reader alone", *(t * 1000 for t in times)))
        print(row.format("to_csv", *(t * 1000 for t in csv_text)))

if __name__ == "__main__":
    main()
