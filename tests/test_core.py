"""The core without pytest or the CLI: read + validate, metrics, Markdown table, plot, artifacts.

Real CSV files in tmp_path, real pandera, real matplotlib. Messages are asserted in full.
"""

from __future__ import annotations

import io
import random

import pandas as pd
import pytest
from PIL import Image

from pytest_compviz.core.metrics import relative_errors
from pytest_compviz.problems import InputUnusable, InvalidResults
from pytest_compviz.report.artifacts import render_artifacts, write_artifacts
from pytest_compviz.report.markdown import markdown_table
from pytest_compviz.report.plot import figure_bytes, plot_points, trade_off_figure
from pytest_compviz.core.results import load_results
from pytest_compviz.spec import DEFAULT_METRICS, Metric, Settings

MODEL = "meta-llama_Llama-2-7b-chat-hf"
SIZE = "model size, Gb"
WPPL = "wikitext, word perplexity"
ACC = "lambada-openai, acc"
LPPL = "lambada-openai, perplexity"
SIM = "WWB, similarity"


def problems_of(path, settings: Settings = Settings()) -> list[str]:
    with pytest.raises(InvalidResults) as info:
        load_results(str(path), settings)
    assert info.value.path == str(path)
    return [str(problem) for problem in info.value.problems]


def table_of(path, settings: Settings = Settings()) -> str:
    (model,) = load_results(str(path), settings).models()
    return markdown_table(model.frame)


def decoded_png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # decodes every pixel: a truncated or corrupt PNG raises here
        return image.size


@pytest.fixture(scope="module")
def llama2(llama2_csv):
    return load_results(str(llama2_csv))


# --- golden table --------------------------------------------------------------------------------


def test_llama2_table_is_the_published_nncf_table(llama2, llama2_expected_md):
    (model,) = llama2.models()
    assert model.model == MODEL
    assert markdown_table(model.frame).encode() == llama2_expected_md
    assert llama2.warnings == []


@pytest.mark.parametrize(
    "variant",
    ["crlf", "bom", "bom+crlf", "shuffled", "reversed", "model header", "model-prefixed header",
     "model column last", "no model column"],
)
def test_layout_variants_give_the_same_table(write_csv, llama2_expected_md, variant):
    rows = write_csv.rows()
    options = {}
    if variant in ("crlf", "bom+crlf"):
        options["newline"] = "\r\n"
    if variant in ("bom", "bom+crlf"):
        options["bom"] = True
    if variant == "shuffled":
        data = rows[1:]
        random.Random(7).shuffle(data)
        rows = [rows[0], *data]
    if variant == "reversed":
        rows = [rows[0], *rows[:0:-1]]
    if variant == "model header":
        rows[0][0] = "model"
    if variant == "model-prefixed header":
        rows[0][0] = "model, int4_asym, gs64"
    if variant == "model column last":
        # A column named `model` wins over the first column, wherever it is.
        rows = [[*row, "model" if n == 0 else "from-model-column"] for n, row in enumerate(rows)]
    if variant == "no model column":
        # The first column is `mode`: one model, named after the file.
        rows = [row[1:] for row in rows]
    path = write_csv("variant.csv", rows, **options)
    (model,) = load_results(str(path)).models()
    assert markdown_table(model.frame).encode() == llama2_expected_md
    expected_model = {"model column last": "from-model-column", "no model column": "variant"}
    assert model.model == expected_model.get(variant, MODEL)


def test_lora_rank_written_as_integer_shows_as_in_seed_table(write_csv):
    path = write_csv(cells={(5, "lora rank"): "32", (8, "lora rank"): "256"})
    table = table_of(path)
    assert "| 100%    | 0%      | 32.0           | 3.9%" in table
    assert "| 100%    | 0%      | 256.0          | 2.5%" in table


def test_file_without_lora_rank_column_has_empty_lora_cells(write_csv):
    rows = [row for row in write_csv.rows() if "lora correction" not in row[1]]
    at = rows[0].index("lora rank")
    path = write_csv(rows=[row[:at] + row[at + 1:] for row in rows])
    lines = table_of(path).splitlines()
    assert lines[0].startswith("| mode ")
    assert "lora<br>rank" in lines[0]
    assert lines[2] == (
        "| fp32                                 | 0%      | 0%      |                |"
        " 0.0%                           | 1.0x                  |"
    )
    assert len(lines) == 2 + 7


# --- metrics -----------------------------------------------------------------------------------


def test_relative_error_per_direction():
    metrics = (Metric("acc", "higher"), Metric("ppl", "lower"), Metric("sim", "similarity"))
    rows = pd.DataFrame({"acc": [0.6, 0.9], "ppl": [12.0, 9.0], "sim": [0.9, 1.0]})
    base = pd.DataFrame({"acc": [0.8, 0.8], "ppl": [10.0, 10.0], "sim": [1.0, 1.0]})
    errors = relative_errors(rows, base, metrics)
    assert list(errors.columns) == ["acc", "ppl", "sim"]
    # higher is better: (base - row) / base; lower is better: (row - base) / base; similarity: 1 - row
    assert errors["acc"].tolist() == pytest.approx([0.25, -0.125])
    assert errors["ppl"].tolist() == pytest.approx([0.2, -0.1])
    assert errors["sim"].tolist() == pytest.approx([0.1, 0.0])


def test_average_relative_error_and_rate_follow_the_guide_formula(llama2):
    frame = llama2.derived
    b = frame[frame["mode"] == "fp32"].iloc[0]
    r = frame[frame["mode"] == "int4 + awq + scale estimation + gptq"].iloc[0]
    expected = (
        (b[ACC] - r[ACC]) / b[ACC]
        + (r[LPPL] - b[LPPL]) / b[LPPL]
        + (1 - r[SIM])
        + (r[WPPL] - b[WPPL]) / b[WPPL]
    ) / 4
    assert r["average relative error"] == pytest.approx(expected, rel=1e-12)
    assert r["average relative error"] == pytest.approx(0.04136, abs=1e-5)
    assert r["compression rate"] == pytest.approx(25.103 / 3.497, rel=1e-12)
    assert b["average relative error"] == 0
    assert b["compression rate"] == 1


def test_custom_baseline_mode_and_metrics(write_csv):
    rows = [
        ["model", "mode", "%int4", "%int8", "model size, Gb", "mmlu, acc", "gsm8k, ppl"],
        ["tiny", "fp16", "0", "0", "14", "0.60", "4.0"],
        ["tiny", "int8", "0", "1", "7", "0.57", "4.2"],
        ["tiny", "int4", "1", "0", "3.5", "0.48", "4.8"],
    ]
    path = write_csv("custom.csv", rows)
    settings = Settings(
        reference_mode="fp16",
        metrics=(Metric("mmlu, acc", "higher", minimum=0, maximum=1), Metric("gsm8k, ppl", "lower", positive=True)),
    )
    results = load_results(str(path), settings)
    frame = results.derived.set_index("mode")
    # int8: mean(0.03/0.6, 0.2/4) = 0.05; int4: mean(0.12/0.6, 0.8/4) = 0.2
    assert frame["average relative error"].tolist() == pytest.approx([0.0, 0.05, 0.2])
    assert frame["compression rate"].tolist() == pytest.approx([1.0, 2.0, 4.0])
    (model,) = results.models()
    assert markdown_table(model.frame) == (
        "| mode   | %int4   | %int8   | lora<br>rank   | average<br>relative<br>error   | compression<br>rate   |\n"
        "|:-------|:--------|:--------|:---------------|:-------------------------------|:----------------------|\n"
        "| fp16   | 0%      | 0%      |                | 0.0%                           | 1.0x                  |\n"
        "| int8   | 0%      | 100%    |                | 5.0%                           | 2.0x                  |\n"
        "| int4   | 100%    | 0%      |                | 20.0%                          | 4.0x                  |\n"
    )
    # The same file under the default settings lacks the NNCF metrics and an fp32 row.
    assert problems_of(path) == [
        f"{path}:1: column '{name}': required column is missing"
        for name in (ACC, LPPL, SIM, WPPL)
    ] + [
        f"{path}:2: column 'mode': model 'tiny' has no reference row (mode 'fp32'); exactly one is"
        " needed to compute relative errors and compression rates"
    ]


def test_metric_and_settings_reject_bad_definitions():
    with pytest.raises(ValueError, match=r"metric 'x': direction must be 'higher', 'lower' or 'similarity', not 'up'"):
        Metric("x", "up")
    with pytest.raises(ValueError, match="at least one metric"):
        Settings(metrics=())
    with pytest.raises(ValueError, match="metric columns must be unique"):
        Settings(metrics=(DEFAULT_METRICS[0], DEFAULT_METRICS[0]))


# --- precomputed columns -------------------------------------------------------------------------


def with_precomputed(write_csv, errors: dict[int, str], rates: dict[int, str]):
    """llama2_asym plus precomputed columns holding the seed's rounded values, some overridden."""
    published = {  # line -> (error, rate) as the NNCF table prints them
        2: ("4.1%", "7.2x"), 3: ("5.3%", "7.2x"), 4: ("8.5%", "7.2x"), 5: ("3.9%", "7.0x"),
        6: ("3.6%", "6.6x"), 7: ("3.5%", "6.2x"), 8: ("2.5%", "6.1x"), 9: ("2.7%", "5.4x"),
        10: ("2.5%", "4.8x"), 11: ("0.0%", "1.0x"),
    }
    rows = write_csv.rows()
    rows[0] += ["average relative error", "compression rate"]
    for line in range(2, 12):
        error, rate = published[line]
        rows[line - 1] += [errors.get(line, error), rates.get(line, rate)]
    return write_csv("pre.csv", rows)


def test_agreeing_precomputed_values_give_no_warning(write_csv, llama2_expected_md):
    path = with_precomputed(write_csv, {3: "0.0527", 4: "0.085"}, {6: "6.61", 11: "1"})
    results = load_results(str(path))
    assert results.warnings == []
    assert markdown_table(results.models()[0].frame).encode() == llama2_expected_md


def test_disagreeing_precomputed_values_warn_with_line_and_both_values(write_csv, llama2_expected_md):
    path = with_precomputed(write_csv, {2: "5.0%", 4: "n/a"}, {5: "9.9x", 2: "7.1x"})
    results = load_results(str(path))
    assert [str(w) for w in results.warnings] == [
        f"{path}:2: column 'average relative error': the file says 5.00%, recomputed 4.14%;"
        " the recomputed value is used",
        f"{path}:4: column 'average relative error': precomputed value is not a number; it is ignored"
        " (value 'n/a')",
        f"{path}:2: column 'compression rate': the file says 7.10x, recomputed 7.18x;"
        " the recomputed value is used",
        f"{path}:5: column 'compression rate': the file says 9.90x, recomputed 7.02x;"
        " the recomputed value is used",
    ]
    # Precomputed values are never used: the table is the recomputed one.
    assert markdown_table(results.models()[0].frame).encode() == llama2_expected_md


# --- validation: one rule, one exact message --------------------------------------------------


def cell(line: int, column: str, value: str):
    return lambda w: w(cells={(line, column): value})


def drop(column: str):
    def build(w):
        at = w.header.index(column)
        return w(rows=[row[:at] + row[at + 1:] for row in w.rows()])

    return build


def append_copy_of(line: int):
    return lambda w: w(rows=[*w.rows(), w.rows()[line - 1]])


def raw(data: bytes):
    def build(w):
        path = w.folder / "results.csv"
        path.write_bytes(data)
        return path

    return build


def latin1(w):
    """llama2_asym saved as Latin-1, with a non-ASCII plot name on line 4."""
    return raw(w.text(w.rows()).replace("data-free", "d\xe9ta").encode("latin-1"))(w)


RULES = [
    # required columns
    *[
        pytest.param(drop(name), [f"1: column '{name}': required column is missing"], id=f"missing {name}")
        for name in ("mode", "%int4", "%int8", SIZE, WPPL, ACC, LPPL, SIM)
    ],
    # numbers
    pytest.param(cell(3, SIZE, "abc"), ["3: column 'model size, Gb': is not a number (value 'abc')"],
                 id="text in size"),
    pytest.param(cell(5, "lora rank", "r32"), ["5: column 'lora rank': is not a number (value 'r32')"],
                 id="text in lora rank"),
    pytest.param(cell(4, "%int4", "100%"), ["4: column '%int4': is not a number (value '100%')"],
                 id="percent sign in ratio"),
    pytest.param(cell(3, SIZE, ""), ["3: column 'model size, Gb': is empty; a number is required"],
                 id="blank size"),
    pytest.param(cell(6, ACC, ""), ["6: column 'lambada-openai, acc': is empty; a number is required"],
                 id="blank accuracy"),
    pytest.param(cell(3, WPPL, "inf"), ["3: column 'wikitext, word perplexity': is not a finite number (value inf)"],
                 id="inf"),
    pytest.param(cell(3, WPPL, "-inf"), ["3: column 'wikitext, word perplexity': is not a finite number (value -inf)"],
                 id="-inf"),
    pytest.param(cell(3, SIZE, "nan"), ["3: column 'model size, Gb': is not a finite number (value nan)"],
                 id="nan"),
    pytest.param(cell(9, SIM, "NaN"), ["9: column 'WWB, similarity': is not a finite number (value NaN)"],
                 id="NaN"),
    # ratios
    pytest.param(cell(3, "%int4", "-0.1"), ["3: column '%int4': must be between 0 and 1 (value -0.1)"],
                 id="int4 below 0"),
    pytest.param(cell(3, "%int8", "-0.1"), ["3: column '%int8': must be between 0 and 1 (value -0.1)"],
                 id="int8 below 0"),
    pytest.param(cell(3, "%int4", "1.5"), [
        "3: column '%int4': must be between 0 and 1 (value 1.5)",
    ], id="int4 above 1"),
    pytest.param(cell(7, "%int8", "0.3"), ["7: column '%int8': %int4 + %int8 must be at most 1 (value 0.8 + 0.3 = 1.1)"],
                 id="ratio sum above 1"),
    # lora rank
    pytest.param(cell(5, "lora rank", "-32"), ["5: column 'lora rank': must be a positive whole number (value -32)"],
                 id="lora rank negative"),
    pytest.param(cell(5, "lora rank", "0"), ["5: column 'lora rank': must be a positive whole number (value 0)"],
                 id="lora rank zero"),
    pytest.param(cell(5, "lora rank", "32.5"), ["5: column 'lora rank': must be a positive whole number (value 32.5)"],
                 id="lora rank fractional"),
    # sizes and metrics
    pytest.param(cell(3, SIZE, "0"), ["3: column 'model size, Gb': must be greater than 0 (value 0)"], id="size 0"),
    pytest.param(cell(3, SIZE, "-3.5"), ["3: column 'model size, Gb': must be greater than 0 (value -3.5)"],
                 id="size negative"),
    pytest.param(cell(3, ACC, "1.2"), ["3: column 'lambada-openai, acc': must be between 0 and 1 (value 1.2)"],
                 id="accuracy above 1"),
    pytest.param(cell(3, ACC, "-0.2"), ["3: column 'lambada-openai, acc': must be between 0 and 1 (value -0.2)"],
                 id="accuracy below 0"),
    pytest.param(cell(3, SIM, "1.01"), ["3: column 'WWB, similarity': must be between 0 and 1 (value 1.01)"],
                 id="similarity above 1"),
    pytest.param(cell(3, LPPL, "0"), ["3: column 'lambada-openai, perplexity': must be greater than 0 (value 0)"],
                 id="perplexity 0"),
    pytest.param(cell(3, WPPL, "-3"), ["3: column 'wikitext, word perplexity': must be greater than 0 (value -3)"],
                 id="perplexity negative"),
    # modes and baselines
    pytest.param(cell(3, "mode", ""), ["3: column 'mode': must not be empty"], id="empty mode"),
    pytest.param(cell(11, "mode", "fp16"), [
        f"2: column 'mode': model '{MODEL}' has no reference row (mode 'fp32'); exactly one is needed to"
        " compute relative errors and compression rates"
    ], id="no baseline"),
    pytest.param(cell(4, "mode", "fp32"), [
        f"11: column 'mode': second reference row ('fp32') for model '{MODEL}'; the first is on line 4;"
        " exactly one is needed (value 'fp32')"
    ], id="two baselines"),
    pytest.param(cell(11, ACC, "0"), [
        "11: column 'lambada-openai, acc': reference value must not be 0 (relative errors divide by it) (value 0)"
    ], id="baseline accuracy 0"),
    pytest.param(append_copy_of(4), [
        "12: column 'mode': duplicate configuration: line 4 has the same model, mode, %int4, %int8 and"
        " lora rank (value 'int4')"
    ], id="duplicate configuration"),
    # the file as a whole
    pytest.param(raw(b""), [": file is empty: expected a header line and data rows"], id="empty file"),
    pytest.param(raw(b"\r\n\n"), [": file is empty: expected a header line and data rows"], id="blank lines only"),
    pytest.param(lambda w: w(rows=w.rows()[:1]), [":1: has a header but no data rows"], id="header only"),
    pytest.param(lambda w: w(rows=[*w.rows()[:3], ["x", "int4"], *w.rows()[3:]]),
                 ["4: row has 2 fields, the header has 12"], id="ragged row"),
    pytest.param(latin1, ["4: is not UTF-8 text: byte 0xe9 cannot be decoded; save the file as UTF-8"],
                 id="not utf-8"),
]


@pytest.mark.parametrize("build, expected", RULES)
def test_validation_rule_message(write_csv, build, expected):
    path = build(write_csv)
    prefix = f"{path}" if expected[0].startswith(":") else f"{path}:"
    assert problems_of(path) == [prefix + line for line in expected]


def test_every_problem_in_a_file_is_reported_at_once(write_csv):
    path = write_csv(cells={
        (2, "%int4"): "x",
        (4, SIM): "2",
        (6, "mode"): "",
        (8, "lora rank"): "0.5",
        (10, SIZE): "",
    })
    assert problems_of(path) == [
        f"{path}:2: column '%int4': is not a number (value 'x')",
        f"{path}:4: column 'WWB, similarity': must be between 0 and 1 (value 2)",
        f"{path}:6: column 'mode': must not be empty",
        f"{path}:8: column 'lora rank': must be a positive whole number (value 0.5)",
        f"{path}:10: column 'model size, Gb': is empty; a number is required",
    ]


def test_lines_count_blank_lines_and_multiline_cells(write_csv):
    rows = write_csv.rows()
    rows[2][rows[0].index("plot name")] = "two\nlines"  # row on line 3 spans lines 3-4
    rows[5][rows[0].index("lora rank")] = "x"  # 6th line of llama2_asym.csv
    text = write_csv.text(rows[:5]) + "\n" + write_csv.text(rows[5:])  # and a blank line before it
    path = write_csv.folder / "results.csv"
    path.write_text(text, encoding="utf-8")
    assert problems_of(path) == [f"{path}:8: column 'lora rank': is not a number (value 'x')"]


def test_each_model_needs_its_own_baseline(write_csv):
    rows = [row for row in write_csv.two_models() if not (row[0] == "org/other-model" and row[1] == "fp32")]
    path = write_csv(rows=rows)
    assert problems_of(path) == [
        f"{path}:3: column 'mode': model 'org/other-model' has no reference row (mode 'fp32'); exactly one"
        " is needed to compute relative errors and compression rates"
    ]


@pytest.mark.parametrize("column", [SIZE, WPPL])
def test_zero_baseline_in_positive_column_is_reported_once(write_csv, column):
    path = write_csv(cells={(11, column): "0"})
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:11: column '{column}': ")


def test_infinite_ratio_is_reported_once(write_csv):
    path = write_csv(cells={(3, "%int4"): "inf"})
    assert problems_of(path) == [f"{path}:3: column '%int4': is not a finite number (value inf)"]


def test_unusable_paths(tmp_path):
    with pytest.raises(InputUnusable, match=r"^.*missing\.csv: no such file$"):
        load_results(str(tmp_path / "missing.csv"))
    with pytest.raises(InputUnusable, match=r": is a directory, expected a CSV file$"):
        load_results(str(tmp_path))


def test_the_cached_schema_gives_each_file_its_own_problems(write_csv):
    """One pandera schema serves every file of a model column and settings: a file validated after
    a failing one gets its own verdict, and the failing one the same problems again."""
    bad = write_csv("bad.csv", cells={(4, SIZE): "-1", (6, "%int4"): "2"})
    good = write_csv("good.csv")
    first = problems_of(bad)

    assert len(first) == 2
    assert load_results(str(good)).models()
    assert problems_of(bad) == first
    other = Settings(reference_mode="int8")  # another settings: another schema, another verdict
    assert problems_of(good, other) != [] and load_results(str(good)).models()


# --- several models ------------------------------------------------------------------------------


def test_two_models_each_with_its_own_baseline(write_csv, llama2_expected_md):
    results = load_results(str(write_csv("two.csv", write_csv.two_models())))
    first, second = results.models()
    assert (first.model, second.model) == (MODEL, "org/other-model")
    assert markdown_table(first.frame).encode() == llama2_expected_md
    table = markdown_table(second.frame).splitlines()
    # Same metrics, so the same errors; its baseline is twice as large, so twice the rates.
    assert table[2].startswith("| fp32 ") and table[2].endswith("| 0.0%                           | 1.0x                  |")
    assert table[-1].startswith("| int4 ") and table[-1].endswith("| 8.5%                           | 14.4x                 |")
    compressed = first.frame["mode"] != "fp32"
    assert second.frame["compression rate"][compressed.to_numpy()].tolist() == pytest.approx(
        [2 * rate for rate in first.frame["compression rate"][compressed]]
    )


# --- plot ------------------------------------------------------------------------------------------


def legend_labels(figure) -> list[str]:
    return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


def test_series_classification(llama2):
    (model,) = llama2.models()
    kinds = [point.kind for point in plot_points(model.frame, "fp32")]
    assert kinds == [
        "int4 + GPTQ",
        "mixed precision (int4/int8 ratio)",
        "int4, data-free",
        "int4 + LoRA correction",
        "int4 + LoRA correction",
        "mixed precision (int4/int8 ratio)",
        "int4 + LoRA correction",
        "mixed precision (int4/int8 ratio)",
        "mixed precision (int4/int8 ratio)",
        "reference",
    ]


def test_plot_has_title_axes_legend_and_annotations(llama2):
    (model,) = llama2.models()
    figure = trade_off_figure(plot_points(model.frame, "fp32"), model.model, "fp32", 4)
    axes = figure.axes[0]
    assert axes.get_title() == f"Accuracy/footprint trade-off: {MODEL}"
    assert axes.get_xlabel() == "average relative error vs fp32, % (mean over 4 metrics)"
    assert axes.get_ylabel() == "compression rate (fp32 size / model size)"
    assert legend_labels(figure) == [
        "mixed precision (int4/int8 ratio)", "int4 + LoRA correction", "int4 + GPTQ", "int4, data-free",
        "fp32 (reference)",
    ]
    annotations = sorted(text.get_text() for text in axes.texts)
    assert annotations == sorted(
        ["gptq", "100% int4", "data-free", "rank 32", "rank 128", "80% int4", "rank 256", "60% int4",
         "40% int4", "fp32"]
    )
    width, height = decoded_png_size(figure_bytes(figure, "png"))
    assert width > 0 and height > 0


@pytest.mark.draws
def test_file_without_mixed_precision_rows_still_plots(write_csv, tmp_path):
    mixed = {"100% int4", "80% int4", "60% int4", "40% int4"}  # plot names of the mixed-precision rows
    rows = [row for row in write_csv.rows() if row[5] not in mixed]
    rows.append([MODEL, "int8", "0.0", "1.0", "", "int8", "6.7", "11.6", "0.71", "3.26", "0.98", "1.0"])
    results = load_results(str(write_csv("nomixed.csv", rows)))
    (model,) = results.models()
    assert "mixed precision (int4/int8 ratio)" not in {point.kind for point in plot_points(model.frame, "fp32")}
    figure = trade_off_figure(plot_points(model.frame, "fp32"), model.model, "fp32", 4)
    assert legend_labels(figure) == [
        "int4 + LoRA correction", "int4 + GPTQ", "int4, data-free", "fp32 (reference)", "int8",
    ]
    artifacts = render_artifacts(results, tmp_path / "out")
    assert [a.path.name for a in artifacts] == ["nomixed.md", "nomixed.png"]
    width, height = decoded_png_size(artifacts[1].data)
    assert width > 0 and height > 0


def test_one_metric_axis_label_is_singular(write_csv):
    settings = Settings(metrics=(Metric(ACC, "higher", minimum=0, maximum=1),))
    (model,) = load_results(str(write_csv()), settings).models()
    figure = trade_off_figure(plot_points(model.frame, "fp32"), model.model, "fp32", 1)
    assert figure.axes[0].get_xlabel() == "average relative error vs fp32, % (mean over 1 metric)"


# --- artifacts ---------------------------------------------------------------------------------


@pytest.mark.draws
def test_renders_are_byte_identical(llama2, tmp_path):
    first = render_artifacts(llama2, tmp_path, ("png", "svg"))
    second = render_artifacts(llama2, tmp_path, ("png", "svg"))
    assert [a.path.name for a in first] == ["llama2_asym.md", "llama2_asym.png", "llama2_asym.svg"]
    assert [a.data for a in first] == [a.data for a in second]
    svg = first[2].data
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    assert b"<dc:date>" not in svg


@pytest.mark.draws
def test_write_artifacts_writes_every_file_and_no_temp_file(write_csv, tmp_path):
    results = load_results(str(write_csv("two.csv", write_csv.two_models())))
    artifacts = render_artifacts(results, tmp_path / "out")
    written = write_artifacts(artifacts)
    names = ["two.meta-llama_Llama-2-7b-chat-hf.md", "two.meta-llama_Llama-2-7b-chat-hf.png",
             "two.org_other-model.md", "two.org_other-model.png"]
    assert [p.name for p in written] == names
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)
    for artifact in artifacts:
        assert artifact.path.read_bytes() == artifact.data
    for png in (tmp_path / "out").glob("*.png"):
        width, height = decoded_png_size(png.read_bytes())
        assert width > 0 and height > 0


def test_model_names_mapping_to_one_file_name_get_distinct_files(write_csv, tmp_path):
    rows = write_csv.two_models("meta-llama/Llama-2-7b-chat-hf")  # safe name as the first model's
    results = load_results(str(write_csv("two.csv", rows)))
    names = [a.path.name for a in render_artifacts(results, tmp_path)]
    assert names == ["two.meta-llama_Llama-2-7b-chat-hf.md", "two.meta-llama_Llama-2-7b-chat-hf.png",
                     "two.meta-llama_Llama-2-7b-chat-hf-2.md", "two.meta-llama_Llama-2-7b-chat-hf-2.png"]
