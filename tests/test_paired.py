"""Paired gates (docs/paired.md): the statistics as known answers, lm-eval's own samples files
and a llama.cpp KLD log read end to end, and the checks through real pytest / compviz runs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from conftest import compviz_in_process

from pytest_compviz.config.rules import RuleError, parse_rule
from pytest_compviz.core.paired import (Flips, count_flips, mcnemar_worse, one_sided_level, paired_stderr,
                                        unpaired_stderr)
from pytest_compviz.core.paired_gates import recovery
from pytest_compviz.core.results import load_results
from pytest_compviz.core.sources import SourceError
from pytest_compviz.core.sources.llama_kld import read_llama_kld
from pytest_compviz.core.sources.lm_eval_samples import read_samples, samples_beside
from pytest_compviz.problems import InvalidResults
from pytest_compviz.spec import Metric, Settings

DATA = Path(__file__).resolve().parent / "data"
PAIRED = DATA / "evals" / "paired"  # written by lm-eval 0.4.13 itself (PROVENANCE.md)
KLD_LOG = DATA / "llama_kld" / "IQ4_XS.log"
FP32_DATE, INT4_DATE = "2026-12-04T04-51-59.089086", "2026-12-04T04-52-30.496073"
CHOICE = Metric("choice, acc", "higher", 0.0, 1.0, lm_eval=("paired_choice", "acc", "none"))
SETTINGS = Settings(metrics=(CHOICE,))

PYPROJECT = """
[tool.compviz]
inputs = ["m.csv"]
[[tool.compviz.metrics]]
column = "choice, acc"
direction = "higher"
lm-eval = "paired_choice/acc"
"""


# --- the statistics, by hand and against scipy ------------------------------------------------------


def test_flips_by_hand():
    # items:      1  2  3  4  5
    reference = [1, 1, 0, 0, 1]
    compressed = [1, 0, 1, 0, 0]  # item 2 and 5 right -> wrong, item 3 wrong -> right
    flips = count_flips(reference, compressed)
    assert flips == Flips(5, 2, 1)
    assert (flips.flips, flips.share, flips.right_to_wrong_share, flips.wrong_to_right_share) == (3, 0.6, 0.4, 0.2)
    assert flips.difference == pytest.approx(-0.2)
    # per-item differences 0, -1, +1, 0, -1: mean -0.2, sample variance (3 - 5 * 0.04) / 4 = 0.7
    assert flips.stderr == pytest.approx(math.sqrt(0.7 / 5))
    # 3 flips, 2 of them right -> wrong: P(X >= 2), X ~ Bin(3, 1/2) = (3 + 1) / 8
    assert flips.p_worse == 0.5


def test_count_flips_refuses_unequal_lengths():
    with pytest.raises(ValueError):
        count_flips([1, 0], [1])


def test_the_issues_example_paired_vs_independent_stderr():
    # accuracy 0.7 on 5,000 items, 5% of them flipped, as many each way: 0.32 pp paired, 0.92 pp independent
    assert paired_stderr(5000, 125, 125) * 100 == pytest.approx(0.316, abs=5e-4)
    assert unpaired_stderr(0.7, 0.7, 5000) * 100 == pytest.approx(0.917, abs=5e-4)


def binomtest_greater(successes: int, trials: int) -> float:
    """scipy's exact one-sided binomial test (p = 1/2): the reference implementation. Imported
    here, not at the top: scipy.stats costs each process that collects this module ~1 s."""
    from scipy.stats import binomtest

    return binomtest(successes, trials, 0.5, alternative="greater").pvalue


# One test, not one per case: the first call imports scipy, and one xdist worker pays for it.
MCNEMAR_CASES = [(0, 0), (0, 7), (1, 0), (3, 3), (7, 2), (2, 7), (60, 10), (10, 60), (150, 100), (2900, 3000),
                 (3000, 2900)]


def test_mcnemar_matches_scipys_exact_binomial_test():
    for right_to_wrong, wrong_to_right in MCNEMAR_CASES:
        flips = right_to_wrong + wrong_to_right
        expected = 1.0 if flips == 0 else binomtest_greater(right_to_wrong, flips)
        assert mcnemar_worse(right_to_wrong, wrong_to_right) == pytest.approx(expected, rel=1e-9, abs=1e-300), \
            (right_to_wrong, wrong_to_right)


def test_one_sided_level_of_z():
    assert one_sided_level(1.6448536269514722) == pytest.approx(0.05)
    assert one_sided_level(2.0) == pytest.approx(0.02275, abs=1e-5)


@pytest.mark.parametrize("value, reference, direction, expected", [
    (0.94567, 1.0, "higher", 0.95),  # llm-compressor's own example of its rounding
    (0.944, 1.0, "higher", 0.94),
    (0.70, 0.70, "higher", 1.0),
    (10.5, 10.0, "lower", 0.95),  # perplexity: reference / compressed
    (12.0, 10.0, "lower", 0.83),
    (0.0, 10.0, "lower", None),
    (0.5, 0.0, "higher", None),
])
def test_recovery_as_llm_compressor_rounds_it(value, reference, direction, expected):
    assert recovery(value, reference, direction) == expected


@pytest.mark.parametrize("table, message", [
    ({"max-flips": "150%"}, "rule: max-flips: '150%' must be a share from 0 to 1 (or a percent, e.g. \"5%\")"),
    ({"max-flips": "x"}, "rule: max-flips: 'x' is not a number"),
    ({"paired": "yes"}, "rule: paired: expected true or false, not 'yes'"),
    ({"max-kld": -1}, "rule: max-kld: -1 must not be negative"),
    ({"num-int4": 9.5}, "rule: num-int4: 9.5 must be a whole number of ops, e.g. 94"),
    ({"min-recovery": {}}, "rule: min-recovery: give a limit, or a table of metric column = limit"),
])
def test_bad_paired_rule_keys_say_what_is_wrong(table, message):
    with pytest.raises(RuleError) as info:
        parse_rule(table, "rule")
    assert str(info.value) == message


# --- readers: lm-eval's own samples files, a llama.cpp log ------------------------------------------


def test_lm_eval_samples_read_from_the_folder_and_beside_the_results_file():
    run = read_samples(PAIRED / "fp32", "evals/fp32")
    task = run.tasks["paired_choice"]
    assert task.file == f"evals/fp32/samples_paired_choice_{FP32_DATE}.jsonl"
    right = task.correctness("acc", "none")
    assert len(right) == 120 and sum(right.values()) == 57  # lm-eval's results file says acc 0.475 = 57/120
    beside = samples_beside(PAIRED / "int4" / f"results_{INT4_DATE}.json", f"evals/int4/results_{INT4_DATE}.json")
    assert list(beside.tasks) == ["paired_choice"]
    assert sum(beside.tasks["paired_choice"].correctness("acc", "none").values()) == 63  # acc 0.525


def test_samples_file_that_is_not_lm_evals_is_named_with_its_line(tmp_path):
    bad = tmp_path / "samples_t_2026-01-01T00-00-00.jsonl"
    bad.write_text('{"doc_id": 0, "doc_hash": "a", "metrics": ["acc"], "acc": 1.0}\n{"doc_id": 1}\n')
    with pytest.raises(SourceError) as info:
        read_samples(bad, "s.jsonl")
    assert str(info.value) == "s.jsonl: line 2: no doc_hash (lm-eval wrote one from 0.4.3 on)"
    bad.write_text("not json\n")
    with pytest.raises(SourceError, match=r"^s.jsonl: line 1: not a JSON object"):
        read_samples(bad, "s.jsonl")
    with pytest.raises(SourceError) as info:
        read_samples(tmp_path / "none", "none")
    assert str(info.value) == "none: no such file or folder"


def test_llama_kld_log_read_end_to_end():
    result = read_llama_kld(KLD_LOG, "IQ4_XS.log")
    assert (result.mean, result.mean_stderr) == (0.042532, 0.000364)
    assert result.quantiles == {"Maximum": 10.214425, "99.9%": 1.54568, "99.0%": 0.324855, "Median": 0.023195,
                                "10.0%": 0.000824, "5.0%": 0.000174, "1.0%": 0.000013, "Minimum": -0.000021}
    assert result.same_top == pytest.approx(0.89938) and result.same_top_stderr == pytest.approx(0.00078)


def test_llama_kld_log_cut_short_is_refused(tmp_path):
    text = KLD_LOG.read_text(encoding="utf-8")
    cut = tmp_path / "cut.log"
    cut.write_text(text[:text.index("====== Token")], encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read_llama_kld(cut, "cut.log")
    assert str(info.value) == "cut.log: no 'Same top p: x ± y %' line after the KL divergence block (log cut short?)"
    cut.write_text(text[:text.index("====== KL")], encoding="utf-8")
    with pytest.raises(SourceError, match="no '====== KL divergence statistics ======' block"):
        read_llama_kld(cut, "cut.log")


# --- pairing through load_results -------------------------------------------------------------------


def _manifest(folder: Path, rows: str, header: str = "lm-eval") -> Path:
    path = folder / "m.csv"
    path.write_text(f'model,mode,%int4,%int8,"model size, Gb",{header}\n' + rows, encoding="utf-8")
    return path


def test_real_lm_eval_samples_pair_by_doc_hash(tmp_path):
    shutil.copytree(PAIRED, tmp_path / "evals")
    results = load_results(_manifest(tmp_path, "m,fp32,0,0,10,evals/fp32\nm,int4,1,0,2.5,evals/int4\n"), SETTINGS)
    (pairing,) = results.paired[1]
    assert (pairing.name, pairing.flips) == ("paired_choice/acc", Flips(120, 25, 31))
    assert (pairing.reference_accuracy, pairing.compressed_accuracy) == (0.475, 0.525)  # as lm-eval's results say
    kinds = [kind for kind, _, _ in results.sources[1]]
    assert kinds == ["lm-eval", "lm-eval samples"]


def test_samples_shuffled_still_pair_item_by_item(tmp_path):
    shutil.copytree(PAIRED, tmp_path / "evals")
    samples = tmp_path / "evals" / "int4" / f"samples_paired_choice_{INT4_DATE}.jsonl"
    lines = samples.read_text(encoding="utf-8").splitlines()
    samples.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")  # doc_ids in another order
    results = load_results(_manifest(tmp_path, "m,fp32,0,0,10,evals/fp32\nm,int4,1,0,2.5,evals/int4\n"), SETTINGS)
    assert results.paired[1][0].flips == Flips(120, 25, 31)


def test_too_few_items_in_common_is_the_files_problem(tmp_path):
    shutil.copytree(PAIRED, tmp_path / "evals")
    samples = tmp_path / "evals" / "int4" / f"samples_paired_choice_{INT4_DATE}.jsonl"
    lines = samples.read_text(encoding="utf-8").splitlines()
    samples.write_text("\n".join(lines[:113]) + "\n", encoding="utf-8")  # 113 of 120: 94%
    with pytest.raises(InvalidResults) as info:
        load_results(_manifest(tmp_path, "m,fp32,0,0,10,evals/fp32\nm,int4,1,0,2.5,evals/int4\n"), SETTINGS,
                     shown="m.csv")
    assert [str(p) for p in info.value.problems] == [
        f"m.csv:3: column 'lm-eval samples': 'evals/int4/samples_paired_choice_{INT4_DATE}.jsonl': task"
        f" 'paired_choice': 113 of 120 items in common with the reference row's samples"
        f" 'evals/fp32/samples_paired_choice_{FP32_DATE}.jsonl' (line 2), 94%; pairing needs 95% (another --limit"
        " or dataset version?)"]


def test_the_reference_rows_own_samples_are_refused(tmp_path):
    # A copied path would pair the reference with itself: zero flips, every flip gate passing.
    shutil.copytree(PAIRED, tmp_path / "evals")
    rows = ("m,fp32,0,0,10,evals/fp32,\n"
            f"m,int4,1,0,2.5,evals/int4,evals/fp32/samples_paired_choice_{FP32_DATE}.jsonl\n")
    with pytest.raises(InvalidResults) as info:
        load_results(_manifest(tmp_path, rows, "lm-eval,lm-eval samples"), SETTINGS, shown="m.csv")
    assert [str(p) for p in info.value.problems] == [
        f"m.csv:3: column 'lm-eval samples': 'evals/fp32/samples_paired_choice_{FP32_DATE}.jsonl': task"
        f" 'paired_choice': the same samples as the reference row's 'evals/fp32/samples_paired_choice_{FP32_DATE}.jsonl'"
        " (line 2): a run cannot be paired with itself"]


def test_byte_identical_samples_of_two_rows_are_flagged_like_other_sources(tmp_path):
    # Issue 19's identity by content: a copied samples folder read by two compressed rows is one
    # evaluation measuring two configurations, whatever the file's kind.
    shutil.copytree(PAIRED, tmp_path / "evals")
    shutil.copytree(tmp_path / "evals" / "int4", tmp_path / "evals" / "awq")
    rows = "m,fp32,0,0,10,,evals/fp32,\nm,int4,1,0,2.5,0.525,,evals/int4\nm,int4 + awq,1,0,2.5,0.525,,evals/awq\n"
    results = load_results(_manifest(tmp_path, rows, '"choice, acc",lm-eval,lm-eval samples'), SETTINGS, shown="m.csv")
    assert [str(w) for w in results.warnings] == [
        "m.csv:3: column 'lm-eval samples': lines 3, 4 read byte-identical lm-eval samples files"
        f" ('evals/int4/samples_paired_choice_{INT4_DATE}.jsonl', 'evals/awq/samples_paired_choice_{INT4_DATE}.jsonl'):"
        " one evaluation cannot measure two configurations (a copied folder?)"]


def test_samples_beside_come_from_the_run_each_tasks_figures_come_from(tmp_path):
    # A folder of two runs: the newer one (other task, no samples) and the older one that has the
    # task's figures and samples. The task pairs with the older run's samples; when a newer run
    # re-measured the task without --log_samples, the older samples are not paired with its figures.
    shutil.copytree(PAIRED, tmp_path / "evals")
    int4 = tmp_path / "evals" / "int4"
    newer = json.loads((int4 / f"results_{INT4_DATE}.json").read_text(encoding="utf-8"))
    newer["results"] = {"other_task": {"acc,none": 0.5, "acc_stderr,none": 0.05}}
    (int4 / "results_2026-12-05T00-00-00.json").write_text(json.dumps(newer), encoding="utf-8")
    manifest = _manifest(tmp_path, "m,fp32,0,0,10,evals/fp32\nm,int4,1,0,2.5,evals/int4\n")
    assert load_results(manifest, SETTINGS).paired[1][0].flips == Flips(120, 25, 31)
    newer["results"]["paired_choice"] = {"acc,none": 0.5, "acc_stderr,none": 0.05}
    (int4 / "results_2026-12-05T00-00-00.json").write_text(json.dumps(newer), encoding="utf-8")
    results = load_results(manifest, SETTINGS)
    assert 1 not in results.paired
    assert [kind for kind, _, _ in results.sources[1]] == ["lm-eval"]


# --- the faces ------------------------------------------------------------------------------------------

DOC = json.dumps({"text": "x"})


def _write_run(folder: Path, date: str, right: list[bool], acc_stderr: float) -> None:
    """An lm-eval run's results file and samples file for the task ``paired_choice``, as lm-eval
    lays them out (the real files' keys), with chosen answers."""
    folder.mkdir(parents=True)
    n = len(right)
    acc = sum(right) / n
    document = json.loads((PAIRED / "fp32" / f"results_{FP32_DATE}.json").read_text(encoding="utf-8"))
    document["results"]["paired_choice"].update({"acc,none": acc, "acc_stderr,none": acc_stderr, "sample_len": n})
    document["n-samples"]["paired_choice"] = {"original": n, "effective": n}
    (folder / f"results_{date}.json").write_text(json.dumps(document), encoding="utf-8")
    lines = [json.dumps({"doc_id": i, "doc": {"text": f"item {i}"}, "target": "0", "filter": "none",
                         "metrics": ["acc"], "doc_hash": f"{i:064x}", "acc": float(r)}) for i, r in enumerate(right)]
    (folder / f"samples_paired_choice_{date}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _regression_sweep(folder: Path) -> None:
    """5,000 items: the reference right on 3,500 (0.70); the compressed model loses 60 of them and
    wins 10 others (0.69). Independent runs: -1 pp ± 0.92 pp, z = -1.09, noise at z = 1.645. Paired:
    60 against 10 flips, McNemar p ~ 1e-10."""
    reference = [i < 3500 for i in range(5000)]
    compressed = [(i < 3500 and i >= 60) or (3500 <= i < 3510) for i in range(5000)]
    se = lambda p: math.sqrt(p * (1 - p) / 4999)  # noqa: E731 - lm-eval's sample stderr of a mean
    _write_run(folder / "evals" / "fp32", "2026-01-01T00-00-00", reference, se(0.70))
    _write_run(folder / "evals" / "int4", "2026-01-02T00-00-00", compressed, se(0.69))
    _manifest(folder, "m,fp32,0,0,10,evals/fp32\nm,int4,1,0,2.5,evals/int4\n")




def test_a_regression_the_independent_check_calls_noise_fails_the_paired_one(pytester):
    _regression_sweep(pytester.path)
    pytester.makefile(".toml", pyproject=PYPROJECT + """
[[tool.compviz.rules]]
mode = "int4"
significance = 1.645
paired = true
""")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, failed=1)  # the schema item, and the paired check
    assert result.ret == 1
    p_60_10 = binomtest_greater(60, 70)  # scipy's, not ours
    result.stdout.fnmatch_lines([
        "int4: paired_choice/acc: worse than the reference on the same 5000 items: 60 right -> wrong, 10 wrong ->"
        " right, difference -1.00 pp ± 0.17 pp paired (± 0.92 pp as independent runs, z = -1.09); exact one-sided"
        f" McNemar p = {p_60_10:.3g} < 0.05 (rule 1, pyproject.toml)",
    ])
    summary = (pytester.path / "compviz-report" / "summary.md").read_text(encoding="utf-8")
    assert ("| int4 | paired_choice/acc | 5000 | 60 (1.2%) | 10 (0.2%) | 70.0% → 69.0% | -1.00 pp | 0.17 pp"
            f" | 0.92 pp | {p_60_10:.3g} |") in summary
    (row,) = [r for r in json.loads((pytester.path / "compviz-report" / "compviz.json").read_text())["rows"]
              if r["mode"] == "int4"]
    assert (row["paired"][0]["right to wrong"], row["paired"][0]["wrong to right"]) == (60, 10)
    assert row["paired"][0]["unpaired stderr"] == pytest.approx(math.sqrt((0.7 * 0.3 + 0.69 * 0.31) / 5000))


def test_flips_recovery_and_counts_through_pytest(pytester):
    shutil.copytree(PAIRED, pytester.path / "evals")
    (pytester.path / "m.csv").write_text('model,mode,%int4,%int8,"model size, Gb",lm-eval,num_int4\n'
                                         "m,fp32,0,0,10,evals/fp32,\nm,int4,1,0,2.5,evals/int4,94\n")
    pytester.makefile(".toml", pyproject=PYPROJECT + """
[[tool.compviz.rules]]
mode = "int4"
max-flips = "30%"
min-recovery = 0.95
num-int4 = 95
num-int8 = 0
""")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rA", "-q")
    assert result.ret == 1
    result.stdout.fnmatch_lines_random([
        # pytest 8.0's short summary shows no message: the messages are matched below
        "FAILED m.csv::int4::max-flips*",
        "FAILED m.csv::int4::num-int4*",
        "PASSED m.csv::int4::min-recovery:choice, acc",
        "FAILED m.csv::int4::num-int8*",
    ])
    result.stdout.fnmatch_lines(["int4: column 'num_int8' is not in the file*"])
    result.stdout.fnmatch_lines(["int4: Regression: The number of int4 ops is different than reference 95 != 94"
                                 " (rule 1, pyproject.toml)"])
    result.stdout.fnmatch_lines(["int4: paired_choice/acc: 46.7% of answers flipped > 30% (25 right -> wrong,"
                                 " 31 wrong -> right of 120 items; accuracy 47.5% -> 52.5%) (rule 1, pyproject.toml)"])


def test_a_flip_gate_without_samples_fails_instead_of_passing(pytester):
    shutil.copytree(PAIRED, pytester.path / "evals")
    for name in ("fp32", "int4"):
        for samples in (pytester.path / "evals" / name).glob("samples_*"):
            samples.unlink()
    _manifest(pytester.path, "m,fp32,0,0,10,evals/fp32\nm,int4,1,0,2.5,evals/int4\n")
    pytester.makefile(".toml", pyproject=PYPROJECT + '[[tool.compviz.rules]]\nmax-flips = "50%"\n')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["int4: max-flips: no per-sample outputs paired with the reference row's (both rows"
                                 " need lm-eval samples: run lm-eval with --log_samples, or fill the 'lm-eval samples'"
                                 " column) (rule 1, pyproject.toml)"])


def test_llama_kld_log_gates_through_compviz(tmp_path):
    shutil.copy(KLD_LOG, tmp_path / "iq4_xs.log")
    (tmp_path / "m.csv").write_text('model,mode,%int4,%int8,"model size, Gb","WWB, similarity",lambada-openai, acc,'
                                    .replace("lambada-openai, acc,", '"lambada-openai, acc",')
                                    + '"lambada-openai, perplexity","wikitext, word perplexity",llama-kld\n'
                                    "m,fp32,0,0,10,1,0.7,3.0,10.0,\nm,int4,1,0,2.5,0.9,0.69,3.1,10.5,iq4_xs.log\n")
    (tmp_path / "pyproject.toml").write_text('[[tool.compviz.rules]]\nmode = "int4"\nmax-kld = 0.05\n'
                                             'min-top1 = "90%"\n')
    done = compviz_in_process("m.csv", "-o", "out", cwd=tmp_path)
    out, err = done.stdout, done.stderr
    assert done.returncode == 1, (out, err)
    assert "int4: same top p 0.899 < 0.900 (rule 1, pyproject.toml)" in out + err
    assert "max-kld" not in [line.split()[0] for line in (out + err).splitlines() if "FAIL" in line]
    row = [r for r in json.loads((tmp_path / "out" / "compviz.json").read_text())["rows"] if r["mode"] == "int4"][0]
    assert row["kld"] == {"KLD, mean": 0.042532, "KLD, mean stderr": 0.000364, "KLD, maximum": 10.214425,
                          "KLD, 99.9%": 1.54568, "KLD, 99%": 0.324855, "KLD, median": 0.023195,
                          "same top p": pytest.approx(0.89938), "same top p stderr": pytest.approx(0.00078)}


def test_the_tail_shortcut_never_changes_what_is_read(tmp_path):
    # lm-eval's key order lets the reader parse only each line's tail; other orders (sorted keys), a
    # document holding the key's text, CRLF line ends and U+2028 in a document read the same.
    real = (PAIRED / "fp32" / f"samples_paired_choice_{FP32_DATE}.jsonl").read_text(encoding="utf-8").splitlines()
    samples = [json.loads(line) for line in real]
    samples[0]["doc"]["question"] = 'tricky, "filter": "none", "metrics": ["acc"], "doc_hash": "x", "acc": 0.0}\u2028'
    other = tmp_path / f"samples_paired_choice_{FP32_DATE}.jsonl"
    other.write_text("\r\n".join(json.dumps(s, sort_keys=i % 2 == 0, ensure_ascii=False)
                                 for i, s in enumerate(samples)) + "\r\n", encoding="utf-8")
    expected = {(s["doc_hash"], 0): s["acc"] == 1.0 for s in samples}
    assert read_samples(other).tasks["paired_choice"].correctness("acc", "none") == expected
    assert read_samples(PAIRED / "fp32").tasks["paired_choice"].correctness("acc", "none") == {
        (s["doc_hash"], 0): s["acc"] == 1.0 for s in map(json.loads, real)}
