"""What this run is compared with, chosen from the history: ``--compviz-compare base`` (the newest
passing run of the pull request's merge base, or of its nearest recorded first-parent ancestor) or
``previous`` (the newest passing run of this branch), as a ``Baseline``, so the comparison keeps the
saved baseline's tolerances, significance and bounds; and the window of earlier passing runs each
configuration's window gate predicts from. Each choice is said in a note."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Mapping
from pathlib import Path

from ..baseline.document import settings_record
from ..baseline.load import Baseline, BaselineError, key_of, run_baseline, settings_mismatch
from ..core.regression import input_name
from ..core.ledger import UNCHECKED, Outcome, Verdict
from ..core.window import Point, Window
from ..spec import ERROR
from .git import GitFacts, first_parents, git_facts, lineage
from .store import read_history
from ..core.names import short_commit

# Run outcomes a compared-with run may have: a saved baseline's (ledger.BASELINE_OUTCOMES) but
# "incomplete": a run narrowed by -k vouches for a few rows only, and would hide the whole run before it.
PASSING = (Outcome.PASSED, Outcome.IMPROVED)


def git_folder(options) -> Path:
    """Where git is asked: the configuration's folder, else where the run was started (as the run
    document's commit is found)."""
    return options.config_file.parent if options.config_file is not None else options.invocation


def run_reference(options) -> tuple[Baseline | None, Window | None, list[str]]:
    """The baseline (saved, or chosen from the history), the window gate's history, and notes for
    the summary. Raises ``BaselineError`` / ``HistoryError`` (usage errors) when the comparison
    asked for cannot be made."""
    history = options.history
    if history is None or (history.compare is None and history.window is None):
        baseline, notes = run_baseline(options)
        return baseline, None, notes
    records = read_history(history.path, history.shown)
    folder = git_folder(options)
    facts = git_facts(folder, history.base_branch)
    wanted = Wanted(frozenset(input_name(path) for path in options.inputs), settings_record(options.settings))
    if history.compare is None:
        baseline, notes = run_baseline(options)
    else:
        baseline, notes = choose(records, facts, history, folder, options.baseline_missing, wanted)
    window = None
    if history.window is not None:
        window = window_of([r for r in records if wanted.refusal(r, inputs=False) is None], lineage(folder),
                           history.window,
                           history.shown)
        notes.append(f"window gate: each configuration's error against the last {history.window} passing runs"
                     f" of history {history.shown} on this commit's line")
    return baseline, window, notes


class Wanted:
    """What a recorded run must hold to be compared with this one: passing rows of every input this
    run gates (a run of another CSV in the same history says nothing about this one), computed with
    the same reference mode and metrics (errors of another metric set cannot be compared)."""

    def __init__(self, inputs: frozenset[str], settings: dict):
        self.inputs, self.settings = inputs, settings

    def refusal(self, record: dict, inputs: bool = True) -> str | None:
        """Why ``record`` cannot be compared with this run; None when it can. ``inputs`` False: its
        settings only, read from its header (the window's points are per input already, and
        reading every record's rows is what the history's lazy reading avoids)."""
        if inputs:
            held = {row.get("input") for row in _vouched_rows(record)}
            missing = sorted(self.inputs - held)
            if missing:
                return f"holds no passing rows of {', '.join(missing)}"
        mismatch = settings_mismatch(record, self.settings)
        return mismatch[0] if mismatch is not None else None


ANY = Wanted(frozenset(), {})


def _vouched_rows(record: dict) -> list[dict]:
    return [row for row in record["rows"] if row.get("verdict") not in UNCHECKED]


def _as_baseline(record: dict, description: str) -> Baseline:
    rows = {}
    for number, row in enumerate(_vouched_rows(record), start=1):
        try:
            rows[key_of(row)] = row
        except (KeyError, TypeError, ValueError) as exc:
            raise BaselineError(f"{description}: row {number} is incomplete ({exc!r})") from None
    return Baseline(description, rows, record.get("time"), record.get("commit"))


def choose(records: Sequence[dict], facts: GitFacts, history, folder: Path, missing: str = "error",
           wanted: Wanted | None = None):
    """(Baseline or None, notes). No usable run is an error, or a note with ``missing`` = warn."""
    wanted = wanted or ANY
    if history.compare == "base":
        found, why = _base_run(records, facts, history, folder, wanted)
    else:
        found, why = _previous_run(records, facts, history, wanted)
    if found is None:
        if missing == "warn":
            return None, [f"--compviz-compare {history.compare}: {why}; no regression checks this run"]
        raise BaselineError(f"--compviz-compare {history.compare}: {why}")
    record, description = found
    return _as_baseline(record, description), []  # the baseline's description says which run and why


def _newest_passing(records: list[dict], commit: str, wanted: Wanted) -> tuple[dict | None, int]:
    """The newest passing record of ``commit`` that can be compared with this run, and how many of
    its records could not (failed, or of other inputs or settings)."""
    failed = 0
    for record in reversed(records):
        if record.get("commit") != commit:
            continue
        if record.get("outcome") in PASSING and wanted.refusal(record) is None:
            return record, failed
        failed += 1
    return None, failed


def _base_run(records, facts: GitFacts, history, folder: Path, wanted: Wanted):
    if not facts.base_branch:
        return None, ("no pull-request base branch known (GITHUB_BASE_REF and CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
                      " are not set): name it with --compviz-compare-branch BRANCH")
    if facts.merge_base is None:
        return None, (f"no merge base of HEAD and {facts.base_branch} ({facts.base_source}) found by git merge-base:"
                      " is this a git work tree with the base branch fetched (actions/checkout: fetch-depth: 0)?")
    where = f"the merge base of HEAD and {facts.base_branch}"
    skipped: list[str] = []
    for distance, commit in enumerate(first_parents(folder, facts.merge_base, history.depth)):
        record, failed = _newest_passing(records, commit, wanted)
        if record is not None:
            if distance == 0:
                return (record, f"{where} in history {history.shown}"), None
            because = "; ".join(skipped)
            return (record, f"{distance} commit{'s' if distance != 1 else ''} before {where}"
                    f" {short_commit(facts.merge_base)} in history {history.shown} ({because})"), None
        skipped.append(f"{short_commit(commit)}: " + (f"{failed} run{'s' if failed != 1 else ''} failed or not comparable"
                                                 f" ({_why_not(records, commit, wanted)}), no passing one"
                                                 if failed else "no run recorded"))
    return None, (f"no passing run of {where} ({short_commit(facts.merge_base)}) or of its {history.depth} first-parent"
                  f" ancestors in history {history.shown} (the newest: {'; '.join(skipped[:3])})")


def _why_not(records, commit: str, wanted: Wanted) -> str:
    """Why the newest record of ``commit`` was not taken."""
    for record in reversed(records):
        if record.get("commit") == commit:
            if record.get("outcome") not in PASSING:
                return f"the newest {record.get('outcome')}"
            return f"the newest {wanted.refusal(record)}"
    return "none"


def _previous_run(records, facts: GitFacts, history, wanted: Wanted):
    if not facts.branch:
        return None, "this run's branch is unknown (no git branch, GITHUB_REF_NAME or CI_COMMIT_REF_NAME)"
    failed = 0
    for record in reversed(records):
        if record.get("branch") != facts.branch:
            continue
        if record.get("outcome") in PASSING and wanted.refusal(record) is None:
            skipped = f" ({failed} newer run{'s' if failed != 1 else ''} failed)" if failed else ""
            return (record, f"the previous passing run of branch {facts.branch} in history {history.shown}{skipped}"), None
        failed += 1
    return None, (f"no passing run of branch {facts.branch} in history {history.shown}"
                  + (f" ({failed} failed)" if failed else ""))


def window_of(records: list[dict], ancestry: set[str] | None, size: int, shown: str) -> Window:
    """Per configuration, the passing runs of commits HEAD descends from (all runs outside git),
    oldest first, the newest ``size`` of each. The records' rows are decoded newest first, only as
    far back as a configuration asked for needs (``WindowPoints``)."""
    eligible = [record for record in records if ancestry is None or record.get("commit") in ancestry]
    return Window(WindowPoints(eligible, size), size, f"history {shown}")


class WindowPoints(Mapping):
    """Configuration (RowKey) -> its newest ``size`` passing points, oldest first. Asking for one
    decodes records from the newest back until it has ``size`` points or the records run out, so a
    run whose configurations all ran lately reads the rows of about ``size`` records, not all."""

    def __init__(self, records: list[dict], size: int):
        self._pending = records[::-1]  # newest first
        self._next = 0
        self._size = size
        self._found: dict = {}  # key -> points, newest first

    def _decode_next(self) -> bool:
        if self._next >= len(self._pending):
            return False
        record = self._pending[self._next]
        self._next += 1
        for row in record["rows"]:
            if row.get("verdict") != Verdict.PASSED:
                continue
            try:
                key = key_of(row)
                error = float(row[ERROR])
            except (KeyError, TypeError, ValueError):
                continue
            stderr = row.get(f"{ERROR} stderr")
            self._found.setdefault(key, []).append(
                Point(record.get("commit"), error, float(stderr) if isinstance(stderr, (int, float)) else None))
        return True

    def __getitem__(self, key) -> tuple:
        while len(self._found.get(key, ())) < self._size and self._decode_next():
            pass
        if key not in self._found:
            raise KeyError(key)
        return tuple(self._found[key][: self._size][::-1])

    def _all(self) -> dict:
        while self._decode_next():
            pass
        return self._found

    def __iter__(self):
        return iter(list(self._all()))

    def __len__(self) -> int:
        return len(self._all())
