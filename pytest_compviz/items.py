"""The collection tree of a results CSV:

    FILE::schema                      the validation of the whole file
    FILE::ROW::CHECK                  one item per row and check, e.g.
    llama2_asym.csv::int4[data-free]::max-relative-error

A failed item prints one short message and no traceback.
"""

from __future__ import annotations

import warnings

import pytest

from .problems import CompvizWarning


class CompvizFailure(Exception):
    """A data failure: its message is the whole report."""


class CompvizItem(pytest.Item):
    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, (CompvizFailure, CompvizWarning)):  # a warning under -W error
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class CsvFile(pytest.File):
    """A results CSV. Loaded (and gated) once per run, here at collection."""

    def collect(self):
        from .plugin import STATE_KEY

        state = self.config.stash[STATE_KEY]
        loaded = state.load(self.path)
        yield SchemaItem.from_parent(self, name="schema", loaded=loaded)
        if loaded.gates is None:
            return
        for row in loaded.gates.rows:
            if row.outcomes or row.regression is not None or (row.ungated and state.strict):
                yield RowNode.from_parent(self, name=row.row_id, row=row)


class SchemaItem(CompvizItem):
    def __init__(self, *, loaded, **kwargs):
        super().__init__(**kwargs)
        self.loaded = loaded

    def runtest(self) -> None:
        problems = self.loaded.problems
        if problems:
            count = len(problems)
            raise CompvizFailure(
                "\n".join(str(p) for p in problems)
                + f"\n{self.loaded.shown}: {count} problem{'s' if count != 1 else ''}; the row checks of this"
                " file are not collected until its schema passes"
            )
        for warning in self.loaded.results.warnings:
            warnings.warn(CompvizWarning(str(warning)), stacklevel=1)

    def reportinfo(self):
        # The domain must not be a suffix of the node id: pytest would turn its dots into "::".
        return self.path, 0, f"schema of {self.loaded.shown}"


class RowNode(pytest.Collector):
    """One CSV row; its items are its checks."""

    def __init__(self, *, row, **kwargs):
        super().__init__(**kwargs)
        self.row = row

    def collect(self):
        for outcome in self.row.outcomes:
            yield CheckItem.from_parent(self, name=outcome.check.name, row=self.row, outcome=outcome)
        if self.row.regression is not None:
            yield RegressionItem.from_parent(self, name="regression", row=self.row)
        if self.row.ungated:  # only collected with --compviz-strict
            yield UngatedItem.from_parent(self, name="gated", row=self.row)

    def reportinfo(self):
        return self.path, self.row.line - 1, self.row.label


class CheckItem(CompvizItem):
    def __init__(self, *, row, outcome, **kwargs):
        super().__init__(**kwargs)
        self.row = row
        self.outcome = outcome
        # The row's figures and the limit travel with the report (JUnit properties, xdist).
        self.user_properties.extend(row.properties)
        self.user_properties.extend([("check", outcome.check.name), ("limit", outcome.check.limit),
                                     ("rule", outcome.rule.source)])

    def runtest(self) -> None:
        if not self.outcome.passed:
            raise CompvizFailure(self.outcome.message)

    def reportinfo(self):
        return self.path, self.row.line - 1, f"{self.name} of {self.row.label}"


class RegressionItem(CompvizItem):
    """The row against the same configuration in the baseline run."""

    def __init__(self, *, row, **kwargs):
        super().__init__(**kwargs)
        self.row = row
        regression = row.regression
        self.user_properties.extend(row.properties)
        self.user_properties.extend([
            ("check", "regression"), ("baseline error", regression.baseline_error),
            ("baseline rate", regression.baseline_rate), ("max error increase", regression.error_tolerance),
            ("max rate decrease", regression.rate_tolerance),
        ])

    def runtest(self) -> None:
        if not self.row.regression.passed:
            from .plugin import STATE_KEY

            raise CompvizFailure(self.row.regression_message(self.config.stash[STATE_KEY].baseline))

    def reportinfo(self):
        return self.path, self.row.line - 1, f"{self.name} of {self.row.label}"


class UngatedItem(CompvizItem):
    def __init__(self, *, row, **kwargs):
        super().__init__(**kwargs)
        self.row = row
        self.user_properties.extend(row.properties)

    def runtest(self) -> None:
        raise CompvizFailure(self.row.strict_message)

    def reportinfo(self):
        return self.path, self.row.line - 1, f"{self.name} of {self.row.label}"

