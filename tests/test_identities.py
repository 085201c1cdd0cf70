"""Identities (issue 19): a baseline row, a source file and a model's weights are what they claim.
Each case through a real face: in-process pytester runs for the plugin, ``compviz`` (``cli.main``)
in-process for the command, pure functions for the readers. See docs/identities.md."""

from __future__ import annotations

import json
import os

import pytest
from conftest import CsvWriter, compviz_in_process, run

from pytest_compviz.cli import main as compviz_main

pytestmark = pytest.mark.usefixtures("heavy_modules_loaded")

WWB = "WWB, similarity"
ACC = "lambada-openai, acc"
SIZE = "model size, Gb"


def without_model_column(writer: CsvWriter, scale_size: float = 1.0, cells=None) -> list[list[str]]:
    """llama2_asym's rows with the model column dropped: the first column is ``mode``. Sizes
    multiplied by ``scale_size`` (so another "model" has other figures)."""
    rows = writer.rows()
    for (line, column), value in (cells or {}).items():
        rows[line - 1][rows[0].index(column)] = value
    size = rows[0].index(SIZE)
    for row in rows[1:]:
        row[size] = repr(float(row[size]) * scale_size)
    return [row[1:] for row in rows]


def compviz(monkeypatch, folder, capsys, *args) -> tuple[int, str, str]:
    monkeypatch.chdir(folder)
    capsys.readouterr()  # what earlier runs in this test printed
    code = compviz_main([*map(str, args), "--no-step-summary"]) if args[:1] != ("assemble",) else compviz_main(
        list(map(str, args)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def save_baseline(folder, *args: str) -> None:
    """A baseline saved for a test to compare with: ``compviz ARGS --save-baseline ...`` in-process
    (the faces save alike, through one writer; a pytest session would cost twice as much), its
    report aside in saved-report/."""
    done = compviz_in_process(*args, "--no-step-summary", "--output-dir", "saved-report", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr


# The NNCF metrics without WWB's similarity.
THREE_METRICS = """
[tool.compviz]
[[tool.compviz.metrics]]
column = "lambada-openai, acc"
direction = "higher"
[[tool.compviz.metrics]]
column = "lambada-openai, perplexity"
direction = "lower"
[[tool.compviz.metrics]]
column = "wikitext, word perplexity"
direction = "lower"
"""


# --- baselines -----------------------------------------------------------------------------------


def test_two_files_without_a_model_column_keep_their_own_rows_in_one_baseline(pytester, results):
    # llama.csv and phi.csv both start with `mode`: keyed by configuration alone, phi's rows
    # replaced llama's, and llama's next run was compared with phi's figures (phi's sizes differ,
    # so llama's int4 rate "changed" from phi's). Now each input keeps its rows.
    results("llama.csv", without_model_column(results))
    results("phi.csv", without_model_column(results, scale_size=0.5, cells={(4, WWB): "0.5"}))
    for name in ("llama.csv", "phi.csv"):
        save_baseline(pytester.path, name, "--save-baseline", "base.json")
    saved = json.loads((pytester.path / "base.json").read_text(encoding="utf-8"))
    assert sorted({row["input"] for row in saved["rows"]}) == ["llama.csv", "phi.csv"]
    assert len(saved["rows"]) == 20

    results("llama.csv", without_model_column(results, cells={(4, WWB): "0.70"}))
    result = run(pytester, "--compviz-input", "llama.csv", "--compviz-baseline", "base.json", "-rf")

    result.assert_outcomes(passed=9, failed=1)  # llama's own int4 row, compared with llama's figures
    result.stdout.fnmatch_lines(["int4 (data-free): since the baseline (base.json, *): average relative error"
                                 " 8.46% -> 10.41% (+1.95 pp, allowed +0.50 pp); compression rate 7.18x -> 7.18x*",
                                 "FAILED llama.csv::int4 (data-free)::regression*"])


def test_a_baseline_saved_with_other_metrics_is_a_usage_error_naming_both(pytester, results, monkeypatch, capsys):
    # Saved with the four NNCF metrics; compared under three (WWB dropped), a row whose accuracy
    # fell 8% passed its regression check. Both faces refuse the comparison.
    results("r.csv")
    save_baseline(pytester.path, "r.csv", "--save-baseline", "base.json")
    pytester.makepyprojecttoml(THREE_METRICS)
    expected = ("baseline base.json: saved with the metrics 'lambada-openai, acc' (higher), 'lambada-openai,"
                " perplexity' (lower), 'WWB, similarity' (similarity), 'wikitext, word perplexity' (lower); this"
                " run uses 'lambada-openai, acc' (higher), 'lambada-openai, perplexity' (lower), 'wikitext, word"
                " perplexity' (lower): errors computed from other metrics cannot be compared (save a new baseline"
                " with these metrics, or configure the saved ones)")

    result = run(pytester, "--compviz-input", "r.csv", "--compviz-baseline", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: compviz: {expected}"])

    code, _, err = compviz(monkeypatch, pytester.path, capsys, "r.csv", "--baseline", "base.json")
    assert code == 2
    assert err.strip() == f"compviz: error: {expected}"


def test_a_baseline_saved_with_another_baseline_mode_is_a_usage_error(pytester, results):
    results("r.csv")
    save_baseline(pytester.path, "r.csv", "--save-baseline", "base.json")
    rows = results.rows()
    mode = rows[0].index("mode")
    for row in rows[1:]:
        row[mode] = {"fp32": "fp16"}.get(row[mode], row[mode])
    results("r.csv", rows)

    result = run(pytester, "--compviz-input", "r.csv", "--compviz-baseline", "base.json",
                 "--compviz-reference-mode", "fp16")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: compviz: baseline base.json: saved with reference-mode 'fp32'; this run"
                                 " uses 'fp16': errors against another reference cannot be compared"])


def test_a_baseline_written_before_settings_were_recorded_is_checked_by_its_metric_columns(pytester, results):
    results("r.csv")
    save_baseline(pytester.path, "r.csv", "--save-baseline", "base.json")
    document = json.loads((pytester.path / "base.json").read_text(encoding="utf-8"))
    del document["settings"]
    for row in document["rows"]:
        del row[WWB]
    (pytester.path / "base.json").write_text(json.dumps(document), encoding="utf-8")

    result = run(pytester, "--compviz-input", "r.csv", "--compviz-baseline", "base.json")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: compviz: baseline base.json: saved with the metrics 'lambada-openai,"
                                 " acc', 'lambada-openai, perplexity', 'wikitext, word perplexity'; this run uses"
                                 " 'WWB, similarity', 'lambada-openai, acc', 'lambada-openai, perplexity',"
                                 " 'wikitext, word perplexity': *"])


def test_saving_into_a_baseline_of_other_metrics_leaves_it_alone(pytester, results):
    results("r.csv")
    save_baseline(pytester.path, "r.csv", "--save-baseline", "base.json")
    before = (pytester.path / "base.json").read_bytes()
    pytester.makepyprojecttoml(THREE_METRICS)
    result = run(pytester, "--compviz-input", "r.csv", "--compviz-save-baseline", "base.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED  # asked for, not written
    result.stdout.fnmatch_lines(["error: baseline not saved: base.json: saved with the metrics 'lambada-openai,"
                                 " acc' (higher), *; this run uses *: errors computed from other metrics cannot be"
                                 " compared (*); not overwritten"])
    assert (pytester.path / "base.json").read_bytes() == before


def test_saving_through_a_symlink_writes_its_target_and_keeps_the_link(pytester, results):
    shared = pytester.path / "shared"
    shared.mkdir()
    (pytester.path / "link.json").symlink_to(shared / "base.json")
    results("r.csv")

    result = run(pytester, "--compviz-input", "r.csv", "--compviz-save-baseline", "link.json")

    assert result.ret == 0
    assert (pytester.path / "link.json").is_symlink()
    assert len(json.loads((shared / "base.json").read_text(encoding="utf-8"))["rows"]) == 10
    assert sorted(p.name for p in shared.iterdir()) == ["base.json"]  # lock and temp file gone
    assert sorted(p.name for p in pytester.path.iterdir() if p.name.startswith(("link", "."))) == ["link.json"]


def test_a_baseline_whose_rows_are_not_objects_is_a_usage_error(pytester, results, monkeypatch, capsys):
    results("r.csv")
    (pytester.path / "base.json").write_text('{"schema": "pytest-compviz/run", "version": 2, "rows": [null]}',
                                             encoding="utf-8")
    expected = "baseline base.json: row 1 must be a JSON object, not null"

    result = run(pytester, "--compviz-input", "r.csv", "--compviz-baseline", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: compviz: {expected}"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()

    code, _, err = compviz(monkeypatch, pytester.path, capsys, "r.csv", "--baseline", "base.json")
    assert (code, err.strip()) == (2, f"compviz: error: {expected}")


@pytest.mark.parametrize("rows, kind", [("[null]", "null"), ("[[1, 2]]", "an array"), ('["x"]', "a string")])
def test_a_baseline_row_that_is_not_an_object_is_named_by_its_kind(tmp_path, rows, kind):
    # The loader's message, which both faces print as a usage error (the test above, for null).
    from pytest_compviz.baseline.load import BaselineError, load_baseline
    from pytest_compviz.spec import Settings

    path = tmp_path / "base.json"
    path.write_text('{"schema": "pytest-compviz/run", "version": 2, "rows": %s}' % rows, encoding="utf-8")

    with pytest.raises(BaselineError) as info:
        load_baseline(path, "base.json", Settings())

    assert str(info.value) == f"baseline base.json: row 1 must be a JSON object, not {kind}"


def test_saving_into_a_file_whose_rows_are_not_objects_is_refused(pytester, results):
    results("r.csv")
    (pytester.path / "base.json").write_text('{"schema": "pytest-compviz/run", "version": 2, "rows": [null]}',
                                             encoding="utf-8")
    result = run(pytester, "--compviz-input", "r.csv", "--compviz-save-baseline", "base.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["error: baseline not saved: base.json: exists but its rows are malformed*;"
                                 " not overwritten"])


# --- sources (manifests) -------------------------------------------------------------------------

from test_manifest_run import MODEL, Sweep, failure_section, lm_eval_file  # noqa: E402

from pytest_compviz.core.sources import SourceError  # noqa: E402
from pytest_compviz.core.sources.lm_eval import read_lm_eval  # noqa: E402
from pytest_compviz.core.sources.model_files import GIB, model_size  # noqa: E402

METRICS = {"lambada-openai, acc": "0.7", "lambada-openai, perplexity": "3.5", WWB: "1.0",
           "wikitext, word perplexity": "11.0"}


def sparse(path, size: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb"):
        pass
    os.truncate(path, size)
    return path


def write_manifest(folder, rows: list[dict], name: str = "sweep.csv"):
    header = list(dict.fromkeys(key for row in rows for key in row))
    lines = [",".join(f'"{c}"' if "," in c else c for c in header)]
    lines += [",".join(f'"{row.get(c, "")}"' if "," in row.get(c, "") else row.get(c, "") for c in header)
              for row in rows]
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def sized_row(mode: str, int8: str, path: str, **cells) -> dict:
    return {"model": "m", "mode": mode, "%int4": "0", "%int8": int8, "plot name": mode, "model path": path,
            **METRICS, **cells}


def test_weights_in_two_formats_count_once_so_a_rate_is_not_doubled(pytester, monkeypatch, capsys):
    # A Hub download with the same 4 GiB as model.safetensors and pytorch_model.bin, an int8 IR of
    # 2 GiB: 2.0x. Counted twice, it read 4.0x and passed min-compression-rate = 3.9.
    sparse(pytester.path / "models/fp32/model.safetensors", 4 * GIB)
    sparse(pytester.path / "models/fp32/pytorch_model.bin", 4 * GIB)
    (pytester.path / "models/fp32/config.json").write_text("{}")
    sparse(pytester.path / "models/int8/openvino_model.bin", 2 * GIB)
    sparse(pytester.path / "models/int8/openvino_model.xml", 0)
    write_manifest(pytester.path, [sized_row("fp32", "0", "models/fp32"),
                                   sized_row("int8", "1", "models/int8", **{WWB: "0.99"})])
    pytester.makepyprojecttoml('[tool.compviz]\n[[tool.compviz.rules]]\nmode = "int8"\nmin-compression-rate = 3.9\n')

    result = run(pytester, "--compviz-input", "sweep.csv")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["int8 (int8): compression rate 2.0x < 3.9x (rule 1, pyproject.toml)"])
    code, out, _ = compviz(monkeypatch, pytester.path, capsys, "sweep.csv", "-v")
    assert code == 1
    assert "  line 2 (fp32 (fp32)): model file models/fp32/model.safetensors" in out.splitlines()  # not the .bin


def test_a_sharded_checkpoint_counts_the_shards_its_index_lists(tmp_path):
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    for name in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"):
        sparse(tmp_path / name, GIB)
    sparse(tmp_path / "consolidated.safetensors", 2 * GIB)  # the same weights, unsharded (Mistral)
    sparse(tmp_path / "pytorch_model-00001-of-00002.bin", GIB)
    (tmp_path / "pytorch_model.bin.index.json").write_text('{"weight_map": {"a": "pytorch_model-00001-of-00002.bin"}}')

    size = model_size(tmp_path, "m")

    assert size.bytes == 2 * GIB
    assert [f.name for f in size.files] == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]

    (tmp_path / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(SourceError) as info:
        model_size(tmp_path, "m")
    assert info.value.what == ("model.safetensors.index.json lists model-00002-of-00002.safetensors, which is not"
                               " there (a partial download?)")


def test_pytorch_bins_alone_and_openvino_ir_keep_counting(tmp_path):
    sparse(tmp_path / "pt/pytorch_model.bin", GIB)
    sparse(tmp_path / "ov/openvino_model.bin", GIB)
    sparse(tmp_path / "ov/openvino_model.xml", 10)
    assert model_size(tmp_path / "pt").bytes == GIB
    assert model_size(tmp_path / "ov").bytes == GIB + 10


def copy_tree(sweep: Sweep, source: str, target: str) -> None:
    import shutil

    shutil.copytree(sweep.folder / source, sweep.folder / target)


@pytest.fixture
def sweep(pytester) -> Sweep:
    from conftest import DEMO_RULES

    pytester.makefile(".toml", pyproject=DEMO_RULES)
    return Sweep(pytester.path)


def test_byte_identical_results_and_a_shared_model_folder_are_flagged_and_fail_under_strict(
        pytester, sweep, monkeypatch, capsys):
    # Line 3 reads a copy of line 2's lm-eval folder: not the same path, the same bytes. Lines 2
    # and 3 also count one model folder.
    copy_tree(sweep, "evals/gptq", "evals/gptq-copy")
    sparse(pytester.path / "models/shared/openvino_model.bin", 3 * GIB)
    sparse(pytester.path / "models/shared/openvino_model.xml", 0)
    sweep.edit({(3, "lm-eval"): "evals/gptq-copy", (2, "model path"): "models/shared",
                (3, "model path"): "models/shared/", (2, "model size, Gb"): "", (3, "model size, Gb"): ""})
    identical = (f"sweep.csv:2: column 'lm-eval': lines 2, 3 read byte-identical lm-eval files"
                 f" ({lm_eval_file('gptq')!r}, {lm_eval_file('gptq').replace('evals/gptq/', 'evals/gptq-copy/')!r}):"
                 " one evaluation cannot measure two configurations (a copied folder?)")
    shared = ("sweep.csv:2: column 'model path': lines 2, 3 count the same model file 'models/shared/openvino_model.bin'"
              " in their model size: two configurations cannot be one model (a copied path?)")

    result = run(pytester, "--compviz-input", "sweep.csv", "--compviz-strict")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    section = failure_section(result, "schema of sweep.csv")
    assert f"{identical} (--compviz-strict)" in section
    assert f"{shared} (--compviz-strict)" in section
    code, out, err = compviz(monkeypatch, pytester.path, capsys, "sweep.csv", "-o", "out")
    assert code == 0
    assert f"warning: {identical}" in err.splitlines() and f"warning: {shared}" in err.splitlines()


def set_n_shot(document: dict) -> None:
    document["n-shot"]["lambada_openai"] = 5


def set_version(document: dict) -> None:
    document["versions"]["wikitext"] = 3.0


def set_max_length(document: dict) -> None:
    document["config"]["model_args"] += ",max_length=2048"


@pytest.mark.parametrize("change, difference", [
    (set_n_shot, "lambada_openai n-shot (lines 2, 3, 5, 6, 7, 8, 9, 10, 11: 0; line 4: 5)"),
    (set_version, "wikitext version (lines 2, 3, 5, 6, 7, 8, 9, 10, 11: 2.0; line 4: 3.0)"),
    (set_max_length, "model_args max_length (lines 2, 3, 5, 6, 7, 8, 9, 10, 11: None; line 4: '2048')"),
])
def test_runs_with_other_recorded_settings_are_not_comparable(tmp_path, change, difference):
    # Through the loader: the warning is the manifest's; how a face prints it (a CompvizWarning, a
    # failure under --compviz-strict) is test_manifest_run's case of another limit.
    from pytest_compviz.core.results import load_results

    sweep = Sweep(tmp_path)
    sweep.edit_lm_eval("data-free", change)

    results = load_results(sweep.manifest, shown="sweep.csv")  # valid: a warning, not a problem

    assert [str(warning) for warning in results.warnings] == [
        f"sweep.csv:2: column 'lm-eval': lm-eval results of model {MODEL!r} are not comparable: {difference}"]
    assert len(results.derived) == 10


def test_a_missing_model_arg_in_some_runs_is_compared_as_recorded(tmp_path):
    base = json.loads(open(Sweep.__init__.__globals__["SWEEP"] / lm_eval_file("gptq")).read())
    with_arg = {**base, "config": {**base["config"], "model_args": "pretrained=x,max_length=4096"}}
    run_ = read_lm_eval(_write(tmp_path / "r.json", with_arg))
    assert run_.settings("wikitext")["model_args max_length"] == "4096"
    assert read_lm_eval(_write(tmp_path / "s.json", base)).settings("wikitext")["model_args max_length"] is None


def _write(path, document):
    path.write_text(json.dumps(document))
    return path


def test_lm_eval_names_a_relative_model_folder_with_a_leading_dot_and_it_is_read(tmp_path):
    # lm_eval --model_args pretrained=./models/int4 --output_path evals/data-free writes
    # evals/data-free/.__models__int4/results_<date>.json. Reading is the loader's: no face needed.
    from pytest_compviz.core.results import load_results

    sweep = Sweep(tmp_path)
    folder = tmp_path / "evals/data-free"
    (folder / "models__data-free").rename(folder / ".__models__data-free")

    results = load_results(sweep.manifest, shown="sweep.csv")

    line_4 = next(index for index in results.derived.index if results.table.line_of(index) == 4)
    [(kind, file, _)] = [source for source in results.sources[line_4] if source[0] == "lm-eval"]
    assert file.startswith("evals/data-free/.__models__data-free/results_"), file
    assert results.warnings == [] and len(results.derived) == 10


def test_tasks_run_one_at_a_time_are_each_read_from_the_newest_file_that_has_them(pytester, sweep, monkeypatch,
                                                                                 capsys):
    path = sweep.lm_eval_json("data-free")
    document = json.loads(path.read_text())
    lambada = {**document, "results": {"lambada_openai": document["results"]["lambada_openai"]}}
    wikitext = {**document, "results": {"wikitext": document["results"]["wikitext"]}}
    folder = path.parent
    path.unlink()
    _write(folder / "results_2026-11-03T09-00-00.json", lambada)  # --tasks lambada_openai, first
    _write(folder / "results_2026-11-03T10-00-00.json", wikitext)  # --tasks wikitext, then
    _write(folder / "results_2026-11-01T10-00-00.json", lambada | {"results": {"lambada_openai": {
        **document["results"]["lambada_openai"], "acc,none": 0.01}}})  # an older lambada run: not read

    result = run(pytester, "--compviz-input", "sweep.csv")
    result.assert_outcomes(passed=19)  # the same figures as the one-file run

    code, out, _ = compviz(monkeypatch, pytester.path, capsys, "sweep.csv", "-o", "out", "-v")
    assert code == 0
    assert ("  line 4 (int4 (data-free)): lm-eval evals/data-free/models__data-free/results_2026-11-03T09-00-00.json;"
            " lm-eval evals/data-free/models__data-free/results_2026-11-03T10-00-00.json;"
            " wwb wwb/data-free/metrics.csv") in out.splitlines()


def test_a_task_in_none_of_a_folders_files_names_them_all(tmp_path):
    _write(tmp_path / "results_2026-11-03T09-00-00.json", {"results": {"a": {"acc,none": 0.5}}})
    _write(tmp_path / "results_2026-11-03T10-00-00.json", {"results": {"b": {"acc,none": 0.5}}})
    with pytest.raises(SourceError) as info:
        read_lm_eval(tmp_path, "evals").measurement("c", "acc")
    assert str(info.value) == "evals: no task 'c' in any of its 2 results files (tasks: b, a)"


def test_lm_evals_higher_is_better_is_checked_against_the_configured_direction(pytester, sweep):
    pytester.makepyprojecttoml("""
[tool.compviz]
[[tool.compviz.metrics]]
column = "lambada-openai, acc"
direction = "lower"
lm-eval = "lambada_openai/acc"
""")
    sweep.edit({(line, "lambada-openai, acc"): "" for line in range(2, 12)})

    result = run(pytester, "--compviz-input", "sweep.csv")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"sweep.csv:2: column 'lm-eval': 'evals/gptq' ({lm_eval_file('gptq')[len('evals/gptq/'):]}):"
                                 " lm-eval records task 'lambada_openai' metric 'acc' as higher is better, but it is"
                                 " configured as lower is better (the metric's direction)"])


def test_a_typed_number_that_disagrees_with_its_source_warns(tmp_path):
    # The warning is the loader's; how a face prints a manifest's warning is test_manifest_run's.
    from fnmatch import fnmatchcase

    from pytest_compviz.core.results import load_results

    sweep = Sweep(tmp_path)
    sweep.edit({(4, "lambada-openai, acc"): "0.75"})

    results = load_results(sweep.manifest, shown="sweep.csv")

    [warning] = [str(warning) for warning in results.warnings]
    assert fnmatchcase(warning, "sweep.csv:4: column 'lambada-openai, acc': typed 0.75 overrides 0.* read from lm-eval"
                                " 'evals/data-free': the typed number is used; leave the cell empty to use the"
                                " measured one"), warning


# --- compviz assemble -o --------------------------------------------------------------------------


def test_assemble_writes_through_a_symlink_and_refuses_a_fifo(pytester, sweep, monkeypatch, capsys):
    (pytester.path / "shared").mkdir()
    (pytester.path / "link.csv").symlink_to(pytester.path / "shared" / "results.csv")
    code, _, err = compviz(monkeypatch, pytester.path, capsys, "assemble", "sweep.csv", "-o", "link.csv")
    assert code == 0, err
    assert (pytester.path / "link.csv").is_symlink()
    assert (pytester.path / "shared" / "results.csv").read_text().startswith('"int4_asym, gs64",mode')

    os.mkfifo(pytester.path / "pipe")
    code, out, err = compviz(monkeypatch, pytester.path, capsys, "assemble", "sweep.csv", "-o", "pipe")
    assert (code, out, err) == (2, "", "compviz assemble: error: pipe: is a FIFO, not a regular file; not replaced\n")
    assert (pytester.path / "pipe").is_fifo()


# --- gates ---------------------------------------------------------------------------------------


def test_compviz_reads_the_files_globs_pytest_reads(pytester, results, monkeypatch, capsys):
    pytester.makepyprojecttoml('[tool.compviz]\nfiles = ["results/*.csv"]\n[[tool.compviz.rules]]\n'
                               'mode = "int4"\nmax-relative-error = "5%"\n')
    results("results/llama2_asym.csv")
    results("elsewhere/ignored.csv")
    results(".venv/results/hidden.csv")

    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)  # the schema, int4's limit (8.46% > 5%)

    code, out, _ = compviz(monkeypatch, pytester.path, capsys)
    assert code == 1
    assert ("FAILED results/llama2_asym.csv: max-relative-error of int4 (data-free): average relative error 8.5%"
            " > 5.0% (rule 1, pyproject.toml)") in out.splitlines()
    summary = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text())
    assert [entry["file"] for entry in summary["inputs"]] == ["results/llama2_asym.csv"]
    assert summary["outcome"] == "failed"


def test_an_xfail_does_not_hide_a_check_that_cannot_be_evaluated(pytester, results, monkeypatch, capsys):
    pytester.makepyprojecttoml('[tool.compviz]\n[[tool.compviz.rules]]\nmode = "int4"\n'
                               'metrics = { "mmlu, acc" = { min = 0.5 } }\nxfail = "mmlu not measured yet"\n')
    results("r.csv")

    result = run(pytester, "r.csv", "-rf")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED r.csv::int4 (data-free)::min:mmlu, acc*"])
    assert "XFAIL" not in result.stdout.str()
    code, out, _ = compviz(monkeypatch, pytester.path, capsys, "r.csv")
    assert code == 1 and "XFAIL" not in out


def test_a_higher_is_better_metric_with_a_negative_reference_reads_worse_as_positive():
    import pandas as pd

    from pytest_compviz.core.metrics import relative_errors
    from pytest_compviz.spec import Metric

    metrics = (Metric("loglik", "higher"), Metric("nll", "lower"))
    rows = pd.DataFrame({"loglik": [-3.0, -1.0], "nll": [-1.0, -3.0]})  # worse, then better
    reference = pd.DataFrame({"loglik": [-2.0, -2.0], "nll": [-2.0, -2.0]})

    errors = relative_errors(rows, reference, metrics)

    assert errors["loglik"].tolist() == [0.5, -0.5]
    assert errors["nll"].tolist() == [0.5, -0.5]


def test_a_rule_naming_the_baseline_mode_gates_the_reference_rows_own_metrics(pytester, results, monkeypatch,
                                                                              capsys):
    # A broken reference evaluation (accuracy 0.1) makes every compressed row's error look small.
    pytester.makepyprojecttoml('[tool.compviz]\n'
                               '[[tool.compviz.rules]]\nmode = "*"\nmax-relative-error = "9%"\n'
                               '[[tool.compviz.rules]]\nmode = "fp32"\nmax-relative-error = "1%"\n'
                               'metrics = { "lambada-openai, acc" = { min = 0.6 } }\n')
    results("r.csv", cells={(11, ACC): "0.1"})

    result = run(pytester, "r.csv", "-rf")

    # The wildcard rule does not gate the reference; its error limit would say nothing (0%).
    result.assert_outcomes(passed=10, failed=1)  # the schema and 9 compressed rows "pass": the reference is wrong
    result.stdout.fnmatch_lines(["fp32: lambada-openai, acc 0.100 < 0.600 (rule 2, pyproject.toml)",
                                 "FAILED r.csv::fp32::min:lambada-openai, acc*"])
    assert "r.csv::fp32::max-relative-error" not in result.stdout.str()
    code, out, _ = compviz(monkeypatch, pytester.path, capsys, "r.csv")
    assert code == 1
    assert any(line.startswith("FAILED r.csv: min:lambada-openai, acc of fp32:") for line in out.splitlines())


def test_a_row_missing_since_the_baseline_warns_and_fails_under_strict(pytester, results, monkeypatch, capsys):
    results("r.csv")
    save_baseline(pytester.path, "r.csv", "--save-baseline", "base.json")
    rows = results.rows()
    results("r.csv", [row for number, row in enumerate(rows, 1) if number != 4])  # int4 (data-free) dropped
    warning = ("r.csv: 1 row of the baseline base.json is missing from this run, so not compared (dropped or"
               " renamed?): int4 (data-free)")

    result = run(pytester, "r.csv", "--compviz-baseline", "base.json")
    result.assert_outcomes(passed=9, warnings=1)
    result.stdout.fnmatch_lines([f"*CompvizWarning: {warning}"])

    strict = run(pytester, "r.csv", "--compviz-baseline", "base.json", "--compviz-strict")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.stdout.fnmatch_lines([f"{warning} (--compviz-strict)"])
    code, out, _ = compviz(monkeypatch, pytester.path, capsys, "r.csv", "--baseline", "base.json", "--strict")
    assert code == 1 and f"error: {warning} (--strict)" in out.splitlines()


def test_a_command_line_rule_that_loosens_a_configured_one_is_not_silent(pytester, results, monkeypatch, capsys):
    pytester.makepyprojecttoml('[tool.compviz]\n[[tool.compviz.rules]]\nmode = "int4"\nmax-relative-error = "6%"\n')
    results("r.csv")
    warning = ("r.csv: --compviz-rule 1 'mode=int4; max-relative-error=9%' loosens max-relative-error from 0.06 (rule 1, pyproject.toml) to 0.09 for"
               " 1 row: int4 (data-free)")

    loose = run(pytester, "r.csv", "--compviz-rule", "mode=int4; max-relative-error=9%")
    loose.assert_outcomes(passed=2, warnings=1)
    loose.stdout.fnmatch_lines([f"*CompvizWarning: {warning}"])

    # Tightening is what the command line is for: no warning (in either face: rules.loosened decides).
    code, _, err = compviz(monkeypatch, pytester.path, capsys, "r.csv", "--rule", "mode=int4; max-relative-error=5%")
    assert code == 1  # int4's 8.5% > 5%: the tighter limit applies
    assert "warning" not in err, err

    code, out, err = compviz(monkeypatch, pytester.path, capsys, "r.csv", "--rule", "mode=int4; max-relative-error=9%")
    assert code == 0
    assert ("warning: r.csv: --rule 1 'mode=int4; max-relative-error=9%' loosens max-relative-error from 0.06 (rule 1, pyproject.toml) to 0.09 for 1 row:"
            " int4 (data-free)") in err.splitlines()
