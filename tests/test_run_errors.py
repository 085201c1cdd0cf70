"""What fails a run besides its gates (a baseline not saved, an output or a history not written)
is recorded in compviz.json, so `compviz comment`, which reads only that file, says why the run
failed instead of "9 passed, 0 failed" and a red cross with no reason. Faces in-process."""

from __future__ import annotations

import json

from pytest_compviz.cli import main
from pytest_compviz.report.comment import comment_markdown

RULES = '[tool.compviz]\n[[tool.compviz.rules]]\nmode = "*"\nmax-relative-error = "20%"\n'


def test_a_failed_save_is_in_compviz_json_and_in_the_comment(tmp_path, monkeypatch, llama2_csv, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    (tmp_path / "pyproject.toml").write_text(RULES)
    (tmp_path / "saved.json").mkdir()  # the save cannot be written
    assert main([str(llama2_csv), "-o", "out", "--save-baseline", "saved.json"]) == 1
    assert "error: baseline not saved: saved.json: is a directory" in capsys.readouterr().out
    document = json.loads((tmp_path / "out" / "compviz.json").read_text())
    assert document["outcome"] == "failed"
    assert document["errors"] == ["baseline not saved: saved.json: is a directory"]
    assert sum(entry["gates failed"] for entry in document["inputs"]) == 0  # only the save failed

    assert main(["comment", "--report", "out", "-o", "comment.md"]) == 0
    comment = (tmp_path / "comment.md").read_text()
    assert "## ❌ Compression gates: 9 passed, 0 failed (run failed)" in comment
    assert "### Failures\n\n- baseline not saved: saved.json: is a directory\n" in comment


def test_a_passing_run_records_no_error(tmp_path, monkeypatch, llama2_csv):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    (tmp_path / "pyproject.toml").write_text(RULES)
    assert main([str(llama2_csv), "-o", "out"]) == 0
    document = json.loads((tmp_path / "out" / "compviz.json").read_text())
    assert (document["outcome"], document["errors"]) == ("passed", [])
    assert "### Failures" not in comment_markdown(document)


def test_a_failed_run_without_recorded_errors_still_says_it_failed():
    """A compviz.json of an earlier version: failed, no failed check, no "errors"."""
    document = {"schema": "pytest-compviz/run", "outcome": "failed",
                "inputs": [{"gates passed": 9, "gates failed": 0}], "rows": []}
    assert ("### Failures\n\n- the run failed for a reason its compviz.json does not record: see summary.md\n"
            in comment_markdown(document))
