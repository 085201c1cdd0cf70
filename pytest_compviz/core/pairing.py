"""Pairing each row's per-sample outputs with its model's reference row, item by item.

A row's samples pair with the reference row's by (task, doc_hash); per task and right-or-wrong
metric, the flips (``core.paired``) on the items both runs answered. Runs that share fewer than
``MIN_COMMON`` of their items did not evaluate the same thing (another ``--limit``, another
dataset version): that is a problem of the row's samples file, never a quietly smaller sample.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..problems import Problem
from ..spec import LM_EVAL_SAMPLES, MODE
from .paired import Flips, count_flips, unpaired_stderr

MIN_COMMON = 0.95


@dataclass(frozen=True)
class TaskPairing:
    """One task and metric of a row, paired with the reference row's."""

    task: str
    metric: str
    filter: str
    flips: Flips
    reference_accuracy: float  # on the common items
    compressed_accuracy: float
    file: str  # the row's samples file, as shown
    reference_file: str

    @property
    def name(self) -> str:
        """``task/metric`` (``,filter`` when it is not lm-eval's ``none``), as ``--compviz-lm-eval-metric`` writes it."""
        return f"{self.task}/{self.metric}" + (f",{self.filter}" if self.filter != "none" else "")

    @property
    def unpaired_stderr(self) -> float:
        """The difference's stderr were the two runs independent: what the delta method assumes."""
        return unpaired_stderr(self.reference_accuracy, self.compressed_accuracy, self.flips.n)

    def figures(self) -> dict:
        """Plain numbers for compviz.json and summary.md."""
        f = self.flips
        return {"task": self.task, "metric": self.metric, "filter": self.filter, "items": f.n,
                "right to wrong": f.right_to_wrong, "wrong to right": f.wrong_to_right,
                "right to wrong share": f.right_to_wrong_share, "wrong to right share": f.wrong_to_right_share,
                "flip share": f.share, "reference accuracy": self.reference_accuracy,
                "accuracy": self.compressed_accuracy, "paired difference": f.difference,
                "paired stderr": f.stderr, "unpaired stderr": self.unpaired_stderr,
                "mcnemar p (worse)": f.p_worse}


def pair_rows(frame, model_column: str, reference_mode: str, samples: dict, shown: str,
              line_of) -> tuple[dict, list[Problem]]:
    """``samples``: row index -> ``SamplesRun``. Returns row index -> tuple of TaskPairing (rows
    whose reference row has samples too), and the problems of files that share too few items."""
    models = frame[model_column].astype(str).tolist()
    modes = frame[MODE].astype(str).tolist()
    references = {model: index for index, model, mode in zip(frame.index, models, modes)
                  if mode == reference_mode and index in samples}
    paired: dict = {}
    problems: list[Problem] = []
    reference_answers: dict = {}  # (reference index, task, metric, filter) -> correctness: once per reference
    for index, model, mode in zip(frame.index, models, modes):
        if mode == reference_mode or index not in samples or model not in references:
            continue
        reference_index = references[model]
        found = []
        for task, mine in samples[index].tasks.items():
            theirs = samples[reference_index].tasks.get(task)
            if theirs is None:
                continue
            if mine.sha256 == theirs.sha256:  # zero flips by construction: a copied path, not a measurement
                problems.append(Problem(
                    shown, f"{mine.file!r}: task {task!r}: the same samples as the reference row's {theirs.file!r}"
                           f" (line {line_of(reference_index)}): a run cannot be paired with itself",
                    line=line_of(index), column=LM_EVAL_SAMPLES))
                continue
            for metric, filter in mine.values:
                key = (reference_index, task, metric, filter)
                if key not in reference_answers:
                    reference_answers[key] = theirs.correctness(metric, filter)
                after, before = mine.correctness(metric, filter), reference_answers[key]
                if after is None or before is None:
                    continue
                common = [key for key in before if key in after]
                larger = max(len(before), len(after))
                if len(common) < MIN_COMMON * larger:
                    problems.append(Problem(
                        shown, f"{mine.file!r}: task {task!r}: {len(common)} of {larger} items in common with"
                               f" the reference row's samples {theirs.file!r} (line {line_of(reference_index)}),"
                               f" {len(common) / larger:.0%}; pairing needs {MIN_COMMON:.0%} (another --limit or"
                               " dataset version?)", line=line_of(index), column=LM_EVAL_SAMPLES))
                    continue
                flips = count_flips([before[k] for k in common], [after[k] for k in common])
                n = len(common)
                right_before = sum(before[k] for k in common)
                right_after = right_before - flips.right_to_wrong + flips.wrong_to_right
                found.append(TaskPairing(task, metric, filter, flips, right_before / n, right_after / n,
                                         mine.file, theirs.file))
        if found:
            paired[index] = tuple(found)
    return paired, problems
