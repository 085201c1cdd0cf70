"""What a team would otherwise run: read the results CSV with pandas, compute the two NNCF
figures, write the table with tabulate and the four-series trade-off plot with pyplot. No
validation, no gates. The baseline of the "main job" benchmark.

    python benchmarks/bare_script.py data/llama2_asym.csv OUTPUT_DIR
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from tabulate import tabulate  # noqa: E402


def main(csv_path: str, output_dir: str) -> None:
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = pd.read_csv(csv_path)
    base = data[data["mode"] == "fp32"].iloc[0]
    data["average relative error"] = (
        (base["lambada-openai, acc"] - data["lambada-openai, acc"]) / base["lambada-openai, acc"]
        + (data["lambada-openai, perplexity"] - base["lambada-openai, perplexity"]) / base["lambada-openai, perplexity"]
        + (1 - data["WWB, similarity"])
        + (data["wikitext, word perplexity"] - base["wikitext, word perplexity"]) / base["wikitext, word perplexity"]
    ) / 4
    data["compression rate"] = base["model size, Gb"] / data["model size, Gb"]
    data = data.sort_values("average relative error", kind="stable")
    table = data[["mode", "%int4", "%int8", "lora rank", "average relative error", "compression rate"]]
    (out / "table.md").write_text(tabulate(table, headers="keys", tablefmt="pipe", showindex=False))

    lora = data[data["lora rank"].notna()]
    gptq = data[data["mode"].str.contains("gptq") & data["lora rank"].isna()]
    free = data[data["mode"] == "int4"]
    mixed = data[~data.index.isin([*lora.index, *gptq.index, *free.index]) & ~data["mode"].isin(["fp32", "int8"])]
    fig, ax = plt.subplots(figsize=(9, 6))
    for rows, label in ((mixed, "mixed"), (lora, "lora"), (gptq, "gptq"), (free, "data-free")):
        ax.plot(rows["average relative error"] * 100, rows["compression rate"], marker="o", label=label)
        for _, row in rows.iterrows():
            ax.annotate(str(row["plot name"]), (row["average relative error"] * 100, row["compression rate"]))
    ax.legend()
    fig.savefig(out / "plot.png")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
