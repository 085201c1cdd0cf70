"""Reading evaluation outputs directly: the lm-eval, wwb and model-size readers, and manifests."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
import statistics
from pathlib import Path

import pytest

from pytest_compviz.core.manifest import assemble, to_csv
from pytest_compviz.core.results import is_manifest
from pytest_compviz.core.reader import read_results
from pytest_compviz.core.sources import SourceError
from pytest_compviz.core.sources.lm_eval import read_lm_eval
from pytest_compviz.core.sources.model_files import GIB, model_size
from pytest_compviz.core.sources.wwb import read_wwb
from pytest_compviz.problems import InvalidResults
from pytest_compviz.spec import SOURCE_COLUMNS, parse_lm_eval_spec

EVALS = Path(__file__).resolve().parent / "data" / "evals"
OLD = EVALS / "lm_eval_0.4" / "results_2024-05-03T12-34-56.123456.json"
NEW = EVALS / "lm_eval_newer" / "results_2025-11-20T09-15-02.654321.json"
WWB_INT4 = EVALS / "wwb_int4"


def lm_eval_json(tasks: dict[str, dict], limit=None, effective: dict | None = None) -> str:
    """A small results file of the 0.4 layout: ``tasks`` maps task -> {"acc,none": 0.7, ...}."""
    results = {task: {"alias": task, **metrics} for task, metrics in tasks.items()}
    n_samples = {task: {"original": 5153, "effective": (effective or {}).get(task, 5153)} for task in tasks}
    return json.dumps({"results": results, "n-samples": n_samples, "config": {"model": "hf", "limit": limit}},
                      indent=2)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def sparse(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb"):
        pass
    os.truncate(path, size)
    return path


def source_error(call) -> SourceError:
    with pytest.raises(SourceError) as info:
        call()
    assert "\n" not in str(info.value)
    return info.value


# --- lm-eval ------------------------------------------------------------------------------------


def test_lm_eval_0_4_file_values_stderr_and_meta():
    run = read_lm_eval(OLD)
    acc = run.measurement("lambada_openai", "acc")
    assert (acc.value, acc.stderr) == (0.710848049679798, 0.006316213519812049)
    assert run.measurement("lambada_openai", "perplexity").value == 3.26198076334924
    assert run.limit is None
    assert run.effective_samples == {"lambada_openai": 5153, "wikitext": 62}
    assert run.sha256 == hashlib.sha256(OLD.read_bytes()).hexdigest()


def test_lm_eval_na_stderr_means_no_stderr():
    word = read_lm_eval(OLD).measurement("wikitext", "word_perplexity")
    assert (word.value, word.stderr) == (11.5702000084492, None)


def test_lm_eval_newer_layout_with_name_and_sample_len():
    run = read_lm_eval(NEW)
    assert run.measurement("lambada_openai", "acc").value == 0.6962934213079759
    assert run.limit == 100
    assert run.effective_samples["lambada_openai"] == 100
    # name/alias/sample_len are not metrics
    error = source_error(lambda: run.measurement("wikitext", "acc"))
    assert "(metrics: word_perplexity, byte_perplexity, bits_per_byte)" in error.what


def test_lm_eval_sample_len_when_no_n_samples(tmp_path):
    data = json.loads(NEW.read_text())
    del data["n-samples"]
    run = read_lm_eval(write(tmp_path / "r.json", json.dumps(data)))
    assert run.effective_samples == {"lambada_openai": 100, "wikitext": 62}


def test_lm_eval_filter(tmp_path):
    path = write(tmp_path / "r.json", lm_eval_json({"gsm8k": {
        "exact_match,strict-match": 0.25, "exact_match_stderr,strict-match": 0.01,
        "exact_match,flexible-extract": 0.3}}))
    run = read_lm_eval(path)
    assert run.measurement("gsm8k", "exact_match", "strict-match").stderr == 0.01
    error = source_error(lambda: run.measurement("gsm8k", "exact_match"))
    assert error.what == ("task 'gsm8k' has no metric 'exact_match' (metrics: exact_match,strict-match,"
                          " exact_match,flexible-extract)")


def test_lm_eval_folder_takes_the_newest_by_the_name_not_mtime(tmp_path):
    old = write(tmp_path / "results_2024-05-03T12-34-56.json", lm_eval_json({"t": {"acc,none": 0.1}}))
    write(tmp_path / "results_2024-05-03T12-34-56.5.json", lm_eval_json({"t": {"acc,none": 0.2}}))
    write(tmp_path / "samples_t_2099-01-01T00-00-00.jsonl", "{}\n")
    os.utime(old, (4e9, 4e9))  # the oldest name, the newest mtime
    run = read_lm_eval(tmp_path, "evals/")
    assert run.file == "evals/results_2024-05-03T12-34-56.5.json"
    assert run.measurement("t", "acc").value == 0.2


def test_lm_eval_output_path_layout_one_sub_folder(tmp_path):
    folder = tmp_path / "out" / "meta-llama__Llama-2-7b-chat-hf"
    shutil.copy(OLD, folder.mkdir(parents=True) or folder / OLD.name)
    run = read_lm_eval(tmp_path / "out", "out")
    assert run.file == f"out/meta-llama__Llama-2-7b-chat-hf/{OLD.name}"


def test_lm_eval_same_date_twice_is_an_error(tmp_path):
    body = lm_eval_json({"t": {"acc,none": 0.1}})
    write(tmp_path / "results_2024-05-03T12-34-56.json", body)
    write(tmp_path / "results_2024-05-03T12-34-56.000000.json", body)
    error = source_error(lambda: read_lm_eval(tmp_path, "e"))
    assert error.file == "e"
    assert error.what.startswith("2 results files have the same date (")


def test_lm_eval_several_sub_folders_are_named(tmp_path):
    for name in ("model_a", "model_b"):
        write(tmp_path / name / "results_2024-05-03T12-34-56.json", lm_eval_json({"t": {"acc,none": 0.1}}))
    error = source_error(lambda: read_lm_eval(tmp_path, "e"))
    assert "several sub-folders to look in (model_a, model_b)" in error.what


@pytest.mark.parametrize("layout, expected", [
    ({}, "no lm-eval results_*.json in this folder"),
    ({"sub/notes.txt": "x"}, "no lm-eval results_*.json in this folder or in its sub-folder 'sub'"),
])
def test_lm_eval_folder_without_results(tmp_path, layout, expected):
    for name, text in layout.items():
        write(tmp_path / name, text)
    assert source_error(lambda: read_lm_eval(tmp_path, "e")).what == expected


@pytest.mark.parametrize("text, expected", [
    ('{"results": 3}', "is not an lm-eval results file (no 'results' dict of tasks)"),
    ('[1, 2]', "is not an lm-eval results file (no 'results' dict of tasks)"),
    ('{"results": {\n  "t": {"acc,none": 0.5,}\n}}', "is not valid JSON: Expecting property name enclosed in"
                                                      " double quotes (line 2, column 25)"),
    (b"\xff\xfe{", "is not valid JSON"),
])
def test_lm_eval_not_a_results_file(tmp_path, text, expected):
    error = source_error(lambda: read_lm_eval(write(tmp_path / "r.json", text), "r.json"))
    assert error.file == "r.json"
    assert error.what.startswith(expected)


def test_lm_eval_missing_task_lists_the_tasks(tmp_path):
    run = read_lm_eval(write(tmp_path / "r.json", lm_eval_json({"lambada_openai": {"acc,none": 0.7}})), "r.json")
    assert str(source_error(lambda: run.measurement("wikitext", "word_perplexity"))) == (
        "r.json: no task 'wikitext' (tasks: lambada_openai)")


def test_lm_eval_na_value_is_an_error(tmp_path):
    run = read_lm_eval(write(tmp_path / "r.json", lm_eval_json({"t": {"acc,none": "N/A"}})))
    assert source_error(lambda: run.measurement("t", "acc")).what == "task 't' metric 'acc' is \"N/A\", not a number"


def test_lm_eval_missing_and_unreadable(tmp_path):
    assert source_error(lambda: read_lm_eval(tmp_path / "nope", "nope")).what == "no such file or folder"
    path = write(tmp_path / "r.json", "{}")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read anything")
        assert source_error(lambda: read_lm_eval(path, "r.json")).what == "cannot be read (permission denied)"
    finally:
        path.chmod(0o644)


# --- wwb ----------------------------------------------------------------------------------------


def test_wwb_folder_similarity_and_stderr_from_per_question():
    result = read_wwb(WWB_INT4, "wwb/int4")
    values = [0.91, 0.72, 0.80, 0.65, 0.8103716372119055]
    assert result.similarity == 0.7780743274423811
    assert result.stderr == pytest.approx(statistics.stdev(values) / math.sqrt(5), rel=1e-12)
    assert (result.file, result.per_question_file, result.prompts) == (
        "wwb/int4/metrics.csv", "wwb/int4/metrics_per_question.csv", 5)


def test_wwb_file_without_per_question_has_no_stderr(tmp_path):
    result = read_wwb(write(tmp_path / "metrics.csv", ",similarity\n0,0.93\n"))
    assert (result.similarity, result.stderr, result.per_question_file) == (0.93, None, None)


def test_wwb_old_per_question_spelling(tmp_path):
    write(tmp_path / "metrics.csv", ",similarity\n0,0.5\n")
    write(tmp_path / "metrics_per_qustion.csv", ",similarity\n0,0.4\n1,0.6\n")
    assert read_wwb(tmp_path).stderr == pytest.approx(0.1)


@pytest.mark.parametrize("text, expected", [
    (",FDT\n0,3.5\n", "has no 'similarity' column (columns: FDT)"),
    (",similarity\n0,0.9\n1,0.8\n", "has 2 data rows; a wwb metrics.csv has one"),
    (",similarity\n", "has 0 data rows; a wwb metrics.csv has one"),
    (",similarity\n0,abc\n", "similarity 'abc' is not a number"),
    (",similarity\n0,nan\n", "similarity 'nan' is not a number"),
    ("", "is empty"),
])
def test_wwb_bad_metrics(tmp_path, text, expected):
    assert source_error(lambda: read_wwb(write(tmp_path / "metrics.csv", text))).what == expected


def test_wwb_missing(tmp_path):
    assert source_error(lambda: read_wwb(tmp_path, "w")).what == "no such file (not a wwb --output folder?)"
    assert source_error(lambda: read_wwb(tmp_path / "x", "x")).what == "no such file or folder"


def test_wwb_bad_per_question(tmp_path):
    write(tmp_path / "metrics.csv", ",similarity\n0,0.5\n")
    write(tmp_path / "metrics_per_question.csv", ",similarity\n0,0.4\n1,\n")
    error = source_error(lambda: read_wwb(tmp_path, "w"))
    assert str(error) == "w/metrics_per_question.csv: similarity of prompt 2 '' is not a number"


# --- model size ---------------------------------------------------------------------------------


def test_size_of_llama2_fp32_folder_sparse(tmp_path):
    weights = 6_738_415_616 * 4
    sparse(tmp_path / "model.safetensors", weights)
    write(tmp_path / "config.json", "{}")
    size = model_size(tmp_path)
    assert round(size.gib, 2) == 25.10
    assert size.bytes == weights and size.gib == weights / GIB
    assert size.files == (tmp_path / "model.safetensors",)


def test_size_openvino_ir_without_tokenizers_or_caches(tmp_path):
    sparse(tmp_path / "openvino_model.bin", 3 * GIB)
    sparse(tmp_path / "openvino_model.xml", 2**20)
    for name in ("openvino_tokenizer.xml", "openvino_tokenizer.bin", "openvino_detokenizer.xml",
                 "openvino_detokenizer.bin", "tokenizer.json", ".cache/x.bin", "__pycache__/y.bin",
                 ".hidden.bin", "notes.xml"):
        sparse(tmp_path / name, GIB)
    size = model_size(tmp_path)
    assert size.bytes == 3 * GIB + 2**20
    assert [p.name for p in size.files] == ["openvino_model.bin", "openvino_model.xml"]


def test_size_onnx_external_data_and_sub_folders(tmp_path):
    sparse(tmp_path / "onnx" / "model.onnx", 100)
    sparse(tmp_path / "onnx" / "model.onnx_data", 1000)
    sparse(tmp_path / "onnx" / "weights.data", 10)
    sparse(tmp_path / "other" / "unrelated.data", 7)  # no .onnx beside it
    sparse(tmp_path / "gguf" / "m.Q4_K_M.gguf", 5)
    assert model_size(tmp_path).bytes == 1115


def test_size_of_one_file_with_its_companion(tmp_path):
    sparse(tmp_path / "openvino_model.xml", 10)
    sparse(tmp_path / "openvino_model.bin", 90)
    assert model_size(tmp_path / "openvino_model.xml").bytes == 100
    assert model_size(tmp_path / "openvino_model.bin").bytes == 90


def test_size_follows_symlinks_and_counts_a_file_once(tmp_path):
    blobs = sparse(tmp_path / "blobs" / "abc123", 500)
    model = tmp_path / "snapshot"
    model.mkdir()
    (model / "model.safetensors").symlink_to(blobs)
    (model / "again").symlink_to(model / "model.safetensors")
    (model / "nested").mkdir()
    (model / "nested" / "model.safetensors").symlink_to(blobs)
    (model / "dangling.json").symlink_to(tmp_path / "missing")
    assert model_size(model).bytes == 500


def test_size_symlink_loop_is_an_error(tmp_path):
    sparse(tmp_path / "m" / "model.bin", 5)
    (tmp_path / "m" / "sub").mkdir()
    (tmp_path / "m" / "sub" / "up").symlink_to(tmp_path / "m")
    error = source_error(lambda: model_size(tmp_path / "m", "m"))
    assert error.what == "symlink loop: sub/up leads back to a folder it is in"


def test_size_links_pointing_at_each_other(tmp_path):
    sparse(tmp_path / "model.bin", 5)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert "symlink loop" in source_error(lambda: model_size(tmp_path, "m")).what


def test_size_folder_without_weights(tmp_path):
    write(tmp_path / "config.json", "{}")
    sparse(tmp_path / "openvino_tokenizer.bin", 5)
    assert source_error(lambda: model_size(tmp_path, "m")).what.startswith("has no model weight files")
    assert source_error(lambda: model_size(tmp_path / "x", "x")).what == "no such file or folder"


# --- manifests ----------------------------------------------------------------------------------

HEADER = ["model", "mode", "%int4", "%int8", "lora rank", "plot name", "model size, Gb",
          "wikitext, word perplexity", "lambada-openai, acc", "lambada-openai, perplexity", "WWB, similarity"]


def manifest(tmp_path: Path, rows: list[dict], header: list[str] | None = None, name="sweep.csv"):
    """A manifest in ``tmp_path`` with ``header`` (HEADER + the source columns) and rows given as
    {column: cell}; returns the RawTable as read_results reads it."""
    header = header or [*HEADER, *SOURCE_COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    path = write(tmp_path / name, buffer.getvalue())
    return read_results(path, shown=name)


def fp32_row(**cells) -> dict:
    return {"model": "llama", "mode": "fp32", "%int4": "0", "%int8": "0", **cells}


def int4_row(**cells) -> dict:
    return {"model": "llama", "mode": "int4", "%int4": "1", "%int8": "0", "plot name": "data-free", **cells}


@pytest.fixture
def evals(tmp_path) -> Path:
    """tmp_path/evals/{fp32,int4}/ (lm-eval folders), wwb/int4/, models/{fp32,int4}/ (sparse)."""
    shutil.copytree(EVALS / "lm_eval_0.4", tmp_path / "evals" / "fp32")
    write(tmp_path / "evals" / "int4" / "llama" / NEW.name, NEW.read_bytes().replace(b'"limit": 100', b'"limit": null')
          .replace(b'"effective": 100', b'"effective": 5153'))
    shutil.copytree(WWB_INT4, tmp_path / "wwb" / "int4")
    sparse(tmp_path / "models" / "fp32" / "model.safetensors", 6_738_415_616 * 4)
    sparse(tmp_path / "models" / "int4" / "openvino_model.bin", 3_755_000_000)
    sparse(tmp_path / "models" / "int4" / "openvino_model.xml", 2_000_000)
    return tmp_path


def test_is_manifest():
    assert is_manifest(["model", "mode", "lm-eval"])
    assert is_manifest(["model path"])
    assert not is_manifest(HEADER)


@pytest.mark.parametrize("text, expected", [
    ("mmlu/acc", ("mmlu", "acc", "none")),
    ("gsm8k/exact_match,strict-match", ("gsm8k", "exact_match", "strict-match")),
    (" wikitext / word_perplexity ", ("wikitext", "word_perplexity", "none")),
])
def test_parse_lm_eval_spec(text, expected):
    assert parse_lm_eval_spec(text) == expected


@pytest.mark.parametrize("text", ["mmlu", "/acc", "mmlu/", "a/b/c", "a/b,c,d"])
def test_parse_lm_eval_spec_refuses(text):
    with pytest.raises(ValueError, match="expected 'task/metric' or 'task/metric,filter'"):
        parse_lm_eval_spec(text)


def test_assemble_fills_values_and_stderr_and_drops_source_columns(evals):
    raw = manifest(evals, [
        fp32_row(**{"lm-eval": "evals/fp32/", "model path": "models/fp32", "WWB, similarity": "1.0"}),
        int4_row(**{"lm-eval": "evals/int4", "wwb": "wwb/int4", "model path": "models/int4"}),
    ])
    assembled = assemble(raw, evals)
    frame = assembled.raw.frame
    assert list(frame.columns) == [*HEADER, "lambada-openai, acc stderr", "lambada-openai, perplexity stderr",
                                   "WWB, similarity stderr"]
    fp32, int4 = frame.iloc[0], frame.iloc[1]
    assert fp32["lambada-openai, acc"] == "0.710848049679798"
    assert fp32["wikitext, word perplexity"] == "11.5702000084492"
    assert fp32["model size, Gb"] == repr(6_738_415_616 * 4 / GIB)
    assert fp32["WWB, similarity"] == "1.0" and fp32["WWB, similarity stderr"] == ""
    assert fp32["lambada-openai, acc stderr"] == "0.006316213519812049"
    assert int4["lambada-openai, perplexity"] == "3.428429823084256"
    assert int4["WWB, similarity"] == "0.7780743274423811"
    assert float(int4["WWB, similarity stderr"]) == pytest.approx(0.043990848635219446)
    assert int4["model size, Gb"] == repr(3_757_000_000 / GIB)
    assert (assembled.raw.path, assembled.raw.model_column, list(assembled.raw.lines)) == ("sweep.csv", "model", [2, 3])
    assert assembled.warnings == []
    kinds = [(kind, shown) for kind, shown, _ in assembled.sources[1]]
    assert kinds == [("lm-eval", f"evals/int4/llama/{NEW.name}"), ("wwb", "wwb/int4/metrics.csv"),
                     ("wwb", "wwb/int4/metrics_per_question.csv"),
                     ("model file", "models/int4/openvino_model.bin"), ("model file", "models/int4/openvino_model.xml")]
    assert [digest for kind, _, digest in assembled.sources[1] if kind == "model file"] == [None, None]
    assert assembled.sources[0][0][2] == hashlib.sha256(OLD.read_bytes()).hexdigest()


def test_assemble_given_number_wins_and_empty_source_cell_is_no_source(evals):
    raw = manifest(evals, [
        fp32_row(**{"wikitext, word perplexity": "11.57", "lambada-openai, acc": "0.71",
                    "lambada-openai, perplexity": "3.26", "WWB, similarity": "1", "model size, Gb": "25.1"}),
        int4_row(**{"lm-eval": "evals/int4/", "lambada-openai, acc": "0.5"}),
    ])
    frame = assemble(raw, evals).raw.frame
    assert list(frame.iloc[0][HEADER[6:]]) == ["25.1", "11.57", "0.71", "3.26", "1"]
    assert frame.iloc[1]["lambada-openai, acc"] == "0.5"
    assert "lambada-openai, acc stderr" not in frame.columns  # the typed number has no file stderr
    assert frame.iloc[1]["lambada-openai, perplexity"] == "3.428429823084256"
    assert frame.iloc[1]["model size, Gb"] == ""  # no model path: left for validation to report


def test_assemble_keeps_a_stderr_typed_in_the_manifest(evals):
    header = ["model", "mode", "lm-eval", "lambada-openai, acc stderr"]
    raw = manifest(evals, [fp32_row(**{"lm-eval": "evals/fp32", "lambada-openai, acc stderr": "0.5"}),
                           int4_row(**{"lm-eval": "evals/fp32", "mode": "int8"})], header=header)
    frame = assemble(raw, evals).raw.frame
    assert list(frame["lambada-openai, acc stderr"]) == ["0.5", "0.006316213519812049"]
    assert list(frame.columns)[:4] == ["model", "mode", "lambada-openai, acc stderr", "lambada-openai, acc"]


def test_assemble_appends_metric_columns_missing_from_the_header(evals):
    header = ["model", "mode", "%int4", "%int8", "lm-eval", "note"]
    raw = manifest(evals, [fp32_row(**{"lm-eval": "evals/fp32", "note": "ref"})], header=header)
    assembled = assemble(raw, evals)
    assert list(assembled.raw.frame.columns) == [
        "model", "mode", "%int4", "%int8", "note", "lambada-openai, acc", "lambada-openai, perplexity",
        "wikitext, word perplexity", "lambada-openai, acc stderr", "lambada-openai, perplexity stderr"]
    text = to_csv(assembled)
    assert text.splitlines()[1] == ("llama,fp32,0,0,ref,0.710848049679798,3.26198076334924,11.5702000084492,"
                                    "0.006316213519812049,0.0763401288315423")
    assert text.endswith("\n") and "\r" not in text


def test_assemble_custom_lm_eval_metrics(evals):
    header = ["model", "mode", "lm-eval"]
    raw = manifest(evals, [fp32_row(**{"lm-eval": "evals/fp32"})], header=header)
    metrics = {"bits": parse_lm_eval_spec("wikitext/bits_per_byte")}
    frame = assemble(raw, evals, metrics).raw.frame
    assert list(frame.columns) == ["model", "mode", "bits"]
    assert frame.iloc[0]["bits"] == "0.6622004366039318"


def test_to_csv_round_trips_through_the_reader(evals):
    raw = manifest(evals, [
        fp32_row(**{"lm-eval": "evals/fp32/", "model path": "models/fp32", "WWB, similarity": "1.0"}),
        int4_row(**{"lm-eval": "evals/int4", "wwb": "wwb/int4", "model path": "models/int4"}),
    ])
    assembled = assemble(raw, evals)
    path = write(evals / "plain.csv", to_csv(assembled))
    again = read_results(path)
    assert again.frame.equals(assembled.raw.frame)
    assert float(again.frame.iloc[1]["WWB, similarity"]) == 0.7780743274423811


def test_to_csv_of_a_manifest_without_model_column(evals):
    header = ["mode", "%int4", "lm-eval"]
    raw = manifest(evals, [{"mode": "fp32", "%int4": "0", "lm-eval": "evals/fp32"}], header=header, name="llama.csv")
    assembled = assemble(raw, evals)
    assert assembled.raw.own_model is False
    assert to_csv(assembled).splitlines()[0] == (
        "mode,%int4,\"lambada-openai, acc\",\"lambada-openai, perplexity\",\"wikitext, word perplexity\","
        "\"lambada-openai, acc stderr\",\"lambada-openai, perplexity stderr\"")


def test_assemble_reads_a_shared_source_once(evals, monkeypatch):
    from pytest_compviz.core import manifest as module

    calls = []
    real = module.read_lm_eval
    monkeypatch.setattr(module, "read_lm_eval", lambda path, shown, *tasks: calls.append(shown) or real(path, shown, *tasks))
    rows = [int4_row(**{"lm-eval": cell, "plot name": str(i)}) for i, cell in enumerate(
        ["evals/fp32", "evals/fp32/", "./evals/fp32", "evals/int4"])]
    assemble(manifest(evals, rows), evals)
    assert calls == ["evals/fp32", "evals/int4"]


def problems_of(raw, base_dir) -> list[str]:
    with pytest.raises(InvalidResults) as info:
        assemble(raw, base_dir)
    assert info.value.path == raw.path
    return [str(problem) for problem in info.value.problems]


def test_assemble_lists_every_problem_with_its_line_and_column(evals):
    root = evals
    write(root / "bad" / "not_lm_eval.json", '{"model": "x"}')
    write(root / "bad" / "na.json", lm_eval_json({
        "lambada_openai": {"acc,none": "N/A", "perplexity,none": 3.0},
        "wikitext": {"word_perplexity,none": 12.0}}))
    write(root / "bad" / "lambada_only.json", lm_eval_json({"lambada_openai": {"acc,none": 0.7, "perplexity,none": 3.0}}))
    write(root / "bad" / "no_acc.json", lm_eval_json({"lambada_openai": {"perplexity,none": 3.0},
                                                       "wikitext": {"word_perplexity,none": 12.0}}))
    write(root / "bad" / "same" / "results_2024-05-03T12-34-56.json", lm_eval_json({"t": {"acc,none": 1}}))
    write(root / "bad" / "same" / "results_2024-05-03T12-34-56.000000.json", lm_eval_json({"t": {"acc,none": 1}}))
    (root / "bad" / "empty").mkdir()
    write(root / "bad" / "wwb_no_sim" / "metrics.csv", ",FDT\n0,1.0\n")
    write(root / "bad" / "wwb_rows" / "metrics.csv", ",similarity\n0,0.9\n1,0.8\n")
    write(root / "bad" / "no_weights" / "config.json", "{}")
    sparse(root / "bad" / "loop" / "model.bin", 5)
    (root / "bad" / "loop" / "up").symlink_to(root / "bad" / "loop")
    ok = {"wikitext, word perplexity": "1", "lambada-openai, acc": "1", "lambada-openai, perplexity": "1",
          "WWB, similarity": "1", "model size, Gb": "1"}
    rows = [
        fp32_row(**{"lm-eval": "evals/missing/"}),                      # 2
        int4_row(**{"lm-eval": "bad/empty/"}),                          # 3
        int4_row(**{"lm-eval": "bad/lambada_only.json"}),               # 4
        int4_row(**{"lm-eval": "bad/same"}),                            # 5
        int4_row(**{"lm-eval": "bad/not_lm_eval.json"}),                # 6
        int4_row(**{"lm-eval": "bad/no_acc.json"}),                     # 7
        int4_row(**{"lm-eval": "bad/na.json"}),                         # 8
        int4_row(**{"wwb": "bad/wwb_no_sim"}),                          # 9
        int4_row(**{"wwb": "bad/wwb_rows/metrics.csv"}),                # 10
        int4_row(**{"model path": "bad/no_weights"}),                   # 11
        int4_row(**{"model path": "bad/loop"}),                         # 12
        int4_row(**{"model path": "models/missing", **ok}),             # 13: given values, the path still matters
        int4_row(**{"lm-eval": "bad/lambada_only.json", **ok}),         # 14: wikitext given: not looked up
    ]
    assert problems_of(manifest(root, rows), root) == [
        "sweep.csv:2: column 'lm-eval': 'evals/missing/': no such file or folder",
        "sweep.csv:3: column 'lm-eval': 'bad/empty/': no lm-eval results_*.json in this folder",
        "sweep.csv:4: column 'lm-eval': 'bad/lambada_only.json': no task 'wikitext' (tasks: lambada_openai)",
        "sweep.csv:5: column 'lm-eval': 'bad/same': 2 results files have the same date"
        " (results_2024-05-03T12-34-56.000000.json, results_2024-05-03T12-34-56.json): keep one",
        "sweep.csv:6: column 'lm-eval': 'bad/not_lm_eval.json': is not an lm-eval results file"
        " (no 'results' dict of tasks)",
        "sweep.csv:7: column 'lm-eval': 'bad/no_acc.json': task 'lambada_openai' has no metric 'acc'"
        " (metrics: perplexity)",
        "sweep.csv:8: column 'lm-eval': 'bad/na.json': task 'lambada_openai' metric 'acc' is \"N/A\", not a number",
        "sweep.csv:9: column 'wwb': 'bad/wwb_no_sim' (metrics.csv): has no 'similarity' column (columns: FDT)",
        "sweep.csv:10: column 'wwb': 'bad/wwb_rows/metrics.csv': has 2 data rows; a wwb metrics.csv has one",
        "sweep.csv:11: column 'model path': 'bad/no_weights': has no model weight files (.safetensors, .bin,"
        " OpenVINO .xml/.bin, .gguf, .onnx)",
        "sweep.csv:12: column 'model path': 'bad/loop': symlink loop: up leads back to a folder it is in",
        "sweep.csv:13: column 'model path': 'models/missing': no such file or folder",
    ]


def test_assemble_problem_inside_a_folder_names_the_file_read(evals):
    write(evals / "evals" / "lambada" / "results_2024-05-03T12-34-56.json",
          lm_eval_json({"lambada_openai": {"acc,none": 0.7, "perplexity,none": 3.0}}))
    problems = problems_of(manifest(evals, [int4_row(**{"lm-eval": "evals/lambada/"})]), evals)
    assert problems == ["sweep.csv:2: column 'lm-eval': 'evals/lambada/' (results_2024-05-03T12-34-56.json):"
                        " no task 'wikitext' (tasks: lambada_openai)"]


def test_assemble_warns_when_one_models_runs_are_not_comparable(evals):
    limited = json.loads(NEW.read_text())  # limit 100, lambada_openai on 100 documents
    write(evals / "evals" / "limited.json", json.dumps(limited))
    write(evals / "evals" / "limited-again.json", json.dumps(limited))
    shutil.copytree(evals / "evals" / "fp32", evals / "evals" / "fp32-other")
    rows = [
        fp32_row(**{"lm-eval": "evals/fp32"}),
        int4_row(**{"lm-eval": "evals/limited.json"}),
        int4_row(**{"lm-eval": "evals/limited-again.json", "plot name": "again"}),
        {**fp32_row(**{"lm-eval": "evals/fp32-other"}), "model": "other"},
        {**int4_row(**{"lm-eval": "evals/int4"}), "model": "other"},
    ]
    assembled = assemble(manifest(evals, rows), evals)
    assert [str(w) for w in assembled.warnings] == [
        "sweep.csv:2: column 'lm-eval': lm-eval results of model 'llama' are not comparable:"
        " limit (line 2: None; lines 3, 4: 100); lambada_openai n-samples (line 2: 5153; lines 3, 4: 100)",
        # The copies this test makes are flagged too: sources are identified by content.
        f"sweep.csv:2: column 'lm-eval': lines 2, 5 read byte-identical lm-eval files ('evals/fp32/{OLD.name}',"
        f" 'evals/fp32-other/{OLD.name}'): one evaluation cannot measure two configurations (a copied folder?)",
        "sweep.csv:3: column 'lm-eval': lines 3, 4 read byte-identical lm-eval files ('evals/limited.json',"
        " 'evals/limited-again.json'): one evaluation cannot measure two configurations (a copied folder?)"]


def test_two_rows_reading_one_evaluation_output_are_named_in_a_warning(evals):
    # A copied path: the compressed row points at the fp32 row's lm-eval folder.
    raw = manifest(evals, [
        fp32_row(**{"lm-eval": "evals/fp32", "model path": "models/fp32", "WWB, similarity": "1.0"}),
        int4_row(**{"lm-eval": "evals/fp32/", "wwb": "wwb/int4", "model path": "models/int4"}),
    ])
    warnings = [str(w) for w in assemble(raw, evals).warnings]
    assert warnings == [f"sweep.csv:2: column 'lm-eval': lines 2, 3 read the same lm-eval file"
                        f" 'evals/fp32/{OLD.name}': one evaluation cannot measure two configurations (a copied path?)"]
