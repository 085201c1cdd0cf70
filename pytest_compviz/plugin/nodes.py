"""The collection tree of a results CSV:

    FILE::schema                      the validation of the whole file
    FILE::ROW::CHECK                  one item per row and check, e.g.
    llama2_asym.csv::int4 (data-free)::max-relative-error

A failed item prints one short message and no traceback.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ..core.ledger import FAILED, XFAILED
from ..core.messages import check_message, schema_message
from ..core.names import configuration_name, short
from .shared import SESSION_KEY, CompvizWarning


class CompvizFailure(AssertionError):
    """A data failure: its message is the whole report. An assertion failure, so that report
    consumers (allure, JUnit readers) count it as a failed test, not as a broken one."""


# The user property carrying an item's identity, (input key, row index or None, check), to the
# ledger: on the report itself, so it reaches the xdist controller whatever decorates node ids
# (xdist's ``@group``, other plugins).
IDENTITY = "compviz"


def identity_of(report) -> tuple | None:
    """The (input key, row, check) an item's report carries; None for other plugins' items."""
    for name, value in getattr(report, "user_properties", ()) or ():
        if name == IDENTITY and isinstance(value, (tuple, list)) and len(value) == 3:
            return value[0], value[1], value[2]
    return None


def row_names(gates) -> dict:
    """Row index -> the row's node name: ``mode (plot name)``, prefixed ``model/`` in multi-model
    files, ``@lineN`` added on a clash. pytest reads ``[...]`` in a node id as the parameters of
    its last part and ``::`` as a separator, so brackets become parentheses and ``::`` one colon.
    Names are for people: the ledger reads each report's identity property, never its id."""
    used: set[str] = set()
    names = {}
    for row in gates.rows:
        name = configuration_name(row.mode, row.plot_name)
        if gates.multi_model:
            name = f"{short(row.model)}/{name}"
        name = name.replace("::", ":").replace("[", "(").replace("]", ")")
        if name in used:
            name = f"{name} @line{row.line}"
        used.add(name)
        names[row.index] = name
    return names


class CompvizItem(pytest.Item):
    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, (CompvizFailure, CompvizWarning)):  # a warning under -W error
            return str(excinfo.value)
        if isinstance(excinfo.value, pytest.xfail.Exception) and isinstance(self, CheckItem):
            # A rule's expected failure, shown (pytest 8.0's -rx prints it) as what failed, not
            # as a traceback of this module.
            return check_message(self.row, self.name, self.config.stash[SESSION_KEY].baseline_description)
        return super().repr_failure(excinfo, style)


class CsvFile(pytest.File):
    """A results CSV, run through the pipeline once per session (here, at collection)."""

    @classmethod
    def for_path(cls, parent, path):
        """Its node id is the path from the rootdir, also for a file outside it (``../x.csv``, where
        pytest would leave the file part empty and two such inputs would share their ids)."""
        import os

        try:
            relative = Path(path).relative_to(parent.config.rootpath)
        except ValueError:
            try:
                relative = Path(os.path.relpath(path, parent.config.rootpath))
            except ValueError:  # another drive (Windows)
                relative = Path(path)
        return cls.from_parent(parent, path=path, nodeid=relative.as_posix())

    def collect(self):
        state = self.config.stash[SESSION_KEY]
        state.mark_started()  # this run will write outputs (pytest may create us and not collect us)
        run = state.file_run(self.path)
        yield SchemaItem.from_parent(self, name="schema", run=run)
        if not run.valid:
            return
        assert run.gates is not None  # a valid run has its gates (core.pipeline.run_file sets both)
        names = row_names(run.gates)
        for row in run.gates.rows:
            if row.check_names():
                yield RowNode.from_parent(self, name=names[row.index], row=row, run_key=run.key)


class SchemaItem(CompvizItem):
    def __init__(self, *, run, **kwargs):
        super().__init__(**kwargs)
        self.run = run
        self.user_properties.append((IDENTITY, (run.key, None, self.name)))

    def runtest(self) -> None:
        if not self.run.valid:
            raise CompvizFailure(schema_message(self.run.shown, self.run.problems))
        from ..core.pipeline import run_warnings, strict_failures

        state = self.config.stash[SESSION_KEY]
        found = run_warnings(self.run, state.baseline)
        failures = strict_failures(found, state.options.strict, "--compviz-strict")
        if failures:  # every one, as compviz --strict lists them
            raise CompvizFailure("\n".join(failures))
        for text, line in found:
            # Located at the results file (its line where there is one), not at this module: the
            # warnings summary then points at what to fix.
            warnings.warn_explicit(CompvizWarning(text), CompvizWarning, self.run.shown, line or 1)

    def reportinfo(self):
        # The domain must not be a suffix of the node id: pytest would turn its dots into "::".
        # The line is the first problem's (a CI annotation points there), else the header's.
        lines = [p.line for p in self.run.problems if p.line is not None]
        return self.path, (min(lines) - 1 if lines else 0), f"schema of {self.run.shown}"


class RowNode(pytest.Collector):
    """One CSV row; its items are its checks."""

    def __init__(self, *, row, run_key: str, **kwargs):
        super().__init__(**kwargs)
        self.row = row
        self.run_key = run_key

    def collect(self):
        for check in self.row.check_names():
            yield CheckItem.from_parent(self, name=check, row=self.row)

    def reportinfo(self):
        return self.path, self.row.line - 1, self.row.label


class CheckItem(CompvizItem):
    """One check of one row: a limit, the regression against the baseline, or strict's."""

    def __init__(self, *, row, **kwargs):
        super().__init__(**kwargs)
        self.row = row
        assert isinstance(self.parent, RowNode)  # a check is collected by its row
        self.user_properties.append((IDENTITY, (self.parent.run_key, _plain_index(row.index), self.name)))
        # The row's figures and the limit travel with the report (JUnit properties, xdist).
        self.user_properties.extend(row.properties)
        self.user_properties.extend(_check_properties(row, self.name))
        if row.xfail_reason(self.name) is not None:
            self.user_properties.append(("xfail", row.xfail_reason(self.name)))

    def runtest(self) -> None:
        status = self.row.expected_status(self.name)
        if status == XFAILED and self.config.option.runxfail:
            # --runxfail turns pytest.xfail() into a no-op: the expected failure would pass (and
            # could be saved). It runs as what it is, a failure, as --runxfail promises.
            state = self.config.stash[SESSION_KEY]
            raise CompvizFailure(check_message(self.row, self.name, state.baseline_description)
                                 + f" (expected to fail: {self.row.xfail_reason(self.name)}; run as a failure by"
                                 " --runxfail)")
        if status == XFAILED:
            # A rule's xfail, marked here rather than by a marker: an expected failure is xfailed
            # with the rule's reason; one that passes again (strict) fails with a message saying
            # to drop the mark, which pytest's own XPASS(strict) line would not say.
            pytest.xfail(self.row.xfail_reason(self.name))
        if status == FAILED:
            state = self.config.stash[SESSION_KEY]
            raise CompvizFailure(check_message(self.row, self.name, state.baseline_description))

    def reportinfo(self):
        return self.path, self.row.line - 1, f"{self.name} of {self.row.label}"


def _plain_index(index):
    """A row index as a plain int where it is one (a numpy integer does not cross to xdist's
    controller); it compares and hashes equal to the original."""
    try:
        return int(index) if int(index) == index else index
    except (TypeError, ValueError):
        return index


def _check_properties(row, check: str) -> list[tuple[str, object]]:
    from ..config.rules import PARETO
    from ..core.gates import GATED, REGRESSION
    from ..core.window import WINDOW

    if check == REGRESSION:
        r = row.regression
        return [("check", "regression"), ("baseline error", r.baseline_error), ("baseline rate", r.baseline_rate),
                ("max error increase", r.error_tolerance), ("max rate decrease", r.rate_tolerance)]
    if check == GATED:
        return [("check", GATED)]
    if check == WINDOW:
        w = row.window
        return [("check", WINDOW), ("window test", w.method), ("window runs", w.runs), ("window bound", w.bound)]
    if check == PARETO:
        by = row.dominated_by
        found = [("check", check), ("rule", row.pareto.source)]
        if by is not None:
            found += [("dominated by", by.label), ("dominating error", by.error), ("dominating rate", by.rate)]
        return found
    outcome = next(o for o in row.outcomes if o.check.name == check)
    return [("check", check), ("limit", outcome.check.limit), ("rule", outcome.rule.source)]
