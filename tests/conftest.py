"""Shared fixtures.

Keep each group of fixtures under its own heading; other test modules may add theirs below.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

# --- results CSVs built from data/llama2_asym.csv (test_core.py, test_cli.py) ------------------

ROOT = Path(__file__).resolve().parent.parent
LLAMA2_CSV = ROOT / "data" / "llama2_asym.csv"
LLAMA2_EXPECTED_MD = Path(__file__).resolve().parent / "data" / "llama2_asym.expected.md"


class CsvWriter:
    """Writes NNCF-layout CSVs into a test's ``tmp_path``.

    ``rows()`` is a fresh copy of llama2_asym.csv as lists of cells, header included, so
    ``rows()[n - 1]`` is line ``n`` of the file. ``cells`` changes single cells by file line and
    column name: ``write_csv(cells={(3, "model size, Gb"): "abc"})`` puts ``abc`` on line 3.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        with LLAMA2_CSV.open(encoding="utf-8", newline="") as handle:
            self._rows = [row for row in csv.reader(handle)]

    @property
    def header(self) -> list[str]:
        return list(self._rows[0])

    def rows(self) -> list[list[str]]:
        return [list(row) for row in self._rows]

    def text(self, rows: list[list[str]], newline: str = "\n") -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=newline).writerows(rows)
        return buffer.getvalue()

    def two_models(self, other: str = "org/other-model") -> list[list[str]]:
        """llama2_asym's rows for two models, interleaved: the second model's rows are the same but
        its baseline is twice as large, so its compression rates are twice the first model's."""
        rows = self.rows()
        size = rows[0].index("model size, Gb")
        mode = rows[0].index("mode")
        merged = [rows[0]]
        for row in rows[1:]:
            twin = [other, *row[1:]]
            if row[mode] == "fp32":
                twin[size] = str(2 * float(row[size]))
            merged += [row, twin]
        return merged

    def __call__(
        self,
        name: str = "results.csv",
        rows: list[list[str]] | None = None,
        *,
        cells: dict[tuple[int, str], str] | None = None,
        newline: str = "\n",
        bom: bool = False,
    ) -> Path:
        rows = self.rows() if rows is None else [list(row) for row in rows]
        for (line, column), value in (cells or {}).items():
            rows[line - 1][rows[0].index(column)] = value
        data = self.text(rows, newline).encode("utf-8")
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xef\xbb\xbf" + data if bom else data)
        return path


@pytest.fixture
def write_csv(tmp_path: Path) -> CsvWriter:
    return CsvWriter(tmp_path)


@pytest.fixture(scope="session")
def llama2_csv() -> Path:
    return LLAMA2_CSV


@pytest.fixture
def llama2_expected_md() -> bytes:
    return LLAMA2_EXPECTED_MD.read_bytes()


# --- in-process pytester runs (test_plugin.py, test_examples.py) -----------------------------------

NO_CACHE = ("-p", "no:cacheprovider")

# The project's demo rules, as in its pyproject.toml (every compressed row gated by rule 1).
DEMO_RULES = """
[tool.compviz]
output-dir = "report"

[[tool.compviz.rules]]
mode = "*"
max-relative-error = "9%"
min-compression-rate = 4.5

[[tool.compviz.rules]]
mode = "int4 + awq*"
max-relative-error = "6%"
"""

# The compressed rows of llama2_asym.csv as messages name them, by file line (line 11 is fp32).
LLAMA2_ROWS_BY_LINE = {
    2: "int4 + awq + scale estimation + gptq (gptq)",
    3: "int4 + awq + scale estimation (100% int4)",
    4: "int4 (data-free)",
    5: "int4 + awq + scale estimation + lora correction (rank 32)",
    6: "int4 + awq + scale estimation + lora correction (rank 128)",
    7: "int4 + awq + scale estimation (80% int4)",
    8: "int4 + awq + scale estimation + lora correction (rank 256)",
    9: "int4 + awq + scale estimation (60% int4)",
    10: "int4 + awq + scale estimation (40% int4)",
}
LLAMA2_ROWS = list(LLAMA2_ROWS_BY_LINE.values())


@pytest.fixture
def results(pytester: pytest.Pytester) -> CsvWriter:
    """Writes results CSVs into the pytester directory (``results()`` -> results.csv)."""
    return CsvWriter(pytester.path)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*NO_CACHE, *args)


@pytest.fixture(autouse=True)
def no_step_summary(monkeypatch):
    """In-process runs read os.environ (and subprocess runs inherit it): never append to a real CI
    step summary from the tests."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)



@pytest.fixture(scope="session")
def heavy_modules_loaded(tmp_path_factory) -> None:
    """In-process pytester runs unload the modules imported during the run; numpy cannot be
    imported twice in one process, and matplotlib's reloaded classes fail its isinstance checks.
    One full report before any run loads every module the plugin uses, so runs keep them."""
    from pytest_compviz.report.artifacts import render_artifacts
    from pytest_compviz.core.results import load_results

    render_artifacts(load_results(LLAMA2_CSV), tmp_path_factory.mktemp("warm"), ("png", "svg"))
    # Imported lazily at session end: importing them once here means runs don't re-parse them
    # (re-parsing under assertion rewriting hit a CPython 3.11 AST recursion error once).
    import pytest_compviz.baseline  # noqa: F401
    import pytest_compviz.report.summary  # noqa: F401


# --- hypothesis profiles (test_fuzz.py) -------------------------------------------------------------
# Registered here, before pytest configures the hypothesis plugin, so `--hypothesis-profile=long`
# finds them. "ci" is the default: bounded and without an example database, so runs stay fast and
# leave nothing behind; "long" is for local fuzzing sessions.

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci", max_examples=150, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")
