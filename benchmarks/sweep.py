"""Generated results files for the benchmarks: `models` x `configurations` rows in the NNCF layout,
each model with its fp32 baseline, figures varied so every row is a distinct valid configuration."""

from __future__ import annotations

import csv
import random
from pathlib import Path

HEADER = ["model", "mode", "%int4", "%int8", "lora rank", "plot name", "model size, Gb",
          "wikitext, word perplexity", "lambada-openai, acc", "lambada-openai, perplexity", "WWB, similarity"]


def write_sweep(path: Path, models: int, configurations: int, seed: int = 0) -> Path:
    """`configurations` rows per model (the first is fp32): int4 ratios on a grid and LoRA ranks,
    so that (model, mode, %int4, %int8, lora rank) never repeats."""
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for m in range(models):
            model = f"org/model-{m:04d}"
            writer.writerow([model, "fp32", 0.0, 0.0, "", "", 25.0, 11.5, 0.71, 3.26, 1.0])
            for c in range(configurations - 1):
                ratio = round((c % 100 + 1) / 100, 2)
                rank = "" if c < 100 else float(8 * (c // 100))
                mode = "int4 + awq + scale estimation" + (" + lora correction" if rank else "")
                writer.writerow([
                    model, mode, ratio, round(1 - ratio, 2), rank, f"{ratio:.0%} r{rank or 0}",
                    round(25.0 / (4 + 3 * ratio) + rng.random() * 0.1, 4),
                    round(11.5 + ratio + rng.random(), 4), round(0.71 - 0.02 * ratio * rng.random(), 4),
                    round(3.26 + 0.2 * ratio * rng.random(), 4), round(1 - 0.15 * ratio * rng.random(), 4),
                ])
    return path
