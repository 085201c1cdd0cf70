"""Shared fixtures.

Keep each group of fixtures under its own heading; other test modules may add theirs below.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib
import io
import os
import pkgutil
import re
import subprocess
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


# In-process runs load the plugin under test and no other. Every run otherwise finds the
# environment's plugins (xdist, pytest-html, hypothesis, typeguard) through their entry points and
# registers them: ~40% of a small run's time. A test whose run needs them (xdist workers, an HTML
# report, `-p no:compviz`) carries `@pytest.mark.all_plugins`; tests/test_plugin_matrix.py and
# every subprocess run load everything installed, as users' runs do.


@pytest.fixture(autouse=True)
def only_the_plugin_under_test_in_process(request, monkeypatch):
    if "pytester" not in request.fixturenames or request.node.get_closest_marker("all_plugins"):
        return
    # Before pytester: it snapshots sys.modules when created and restores the snapshot after the
    # test, which would unload what heavy_modules_loaded imported first.
    request.getfixturevalue("heavy_modules_loaded")
    pytester = request.getfixturevalue("pytester")
    inline_run = pytester.inline_run

    def only_the_plugin_under_test(*args, plugins=(), **kwargs):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
            # The module itself, not "-p": it is imported already, and "-p" would warn that it
            # cannot be assertion-rewritten.
            return inline_run(*args, plugins=[*plugins, importlib.import_module("pytest_compviz.plugin")], **kwargs)

    monkeypatch.setattr(pytester, "inline_run", only_the_plugin_under_test)


def table_results(summary: str) -> dict[str, str]:
    """summary.md's gate table: row label -> result column."""
    found = {}
    for line in summary.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if line.startswith("| ") and len(cells) == 6 and cells[0] != "row":
            found[cells[0]] = cells[-1]
    return found


@pytest.fixture(autouse=True)
def no_step_summary(monkeypatch):
    """In-process runs read os.environ (and subprocess runs inherit it): never append to a real CI
    step summary from the tests."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)



@pytest.fixture(scope="session")
def heavy_modules_loaded(tmp_path_factory) -> None:
    """In-process pytester runs unload the modules imported during the run; numpy cannot be
    imported twice in one process, and matplotlib's reloaded classes fail its isinstance checks.
    One full report before any run loads every module the plugin uses, so runs keep them. Every
    test that uses ``pytester`` gets it (``plots_drawn_only_where_checked``)."""
    from pytest_compviz.report.artifacts import render_artifacts
    from pytest_compviz.core.results import load_results

    render_artifacts(load_results(LLAMA2_CSV), tmp_path_factory.mktemp("warm"), ("png", "svg"))
    # Every module of the package, once: a run unloads the modules it imported, and the plugin's
    # modules are assertion-rewritten (it is an entry-point plugin) on each import, ~0.05 s a run
    # for the six the plugin imports lazily (re-parsing under assertion rewriting also hit a
    # CPython 3.11 AST recursion error once).
    import pytest_compviz

    for module in pkgutil.walk_packages(pytest_compviz.__path__, "pytest_compviz."):
        importlib.import_module(module.name)


# --- drawing only where a test checks the drawing ------------------------------------------------
# Drawing and encoding a plot is most of an in-process run's time (~0.15 s a plot), and most tests
# only check that a plot file is written beside its table. For those, the two drawing functions
# the report calls are swapped, in this test process only, for a stand-in whose "image" is the
# PNG signature plus a digest of everything the real figure is drawn from: same data, same bytes;
# other data (an overlay, another model), other bytes. Tests that look at the drawing itself (decode
# it, measure it, compare it across processes) carry ``@pytest.mark.draws`` and draw for real;
# subprocess runs always draw for real. The package itself has no switch to skip drawing.

STAND_IN_SIGNATURE = b"\x89PNG\r\n\x1a\ncompviz test stand-in "


def pytest_configure(config):
    config.addinivalue_line("markers", "draws: the test checks drawn plots: draw them for real (see conftest.py)")
    config.addinivalue_line("markers", "all_plugins: in-process runs load every installed plugin (see conftest.py)")


class StandInFigure:
    def __init__(self, *drawn_from):
        self.digest = hashlib.sha256(repr(drawn_from).encode()).hexdigest()


def stand_in_figure_bytes(figure: StandInFigure, image_format: str) -> bytes:
    if image_format not in ("png", "svg"):  # as the real figure_bytes
        raise ValueError(f"unsupported image format {image_format!r} (use png or svg)")
    return STAND_IN_SIGNATURE + f"{image_format} {figure.digest}".encode()


@pytest.fixture(autouse=True)
def plots_drawn_only_where_checked(request, monkeypatch):
    if "pytester" in request.fixturenames:  # before patching: it draws one real report
        request.getfixturevalue("heavy_modules_loaded")
    if request.node.get_closest_marker("draws"):
        return
    from pytest_compviz.report import artifacts, trend

    monkeypatch.setattr(artifacts, "trade_off_figure", StandInFigure)
    monkeypatch.setattr(artifacts, "figure_bytes", stand_in_figure_bytes)
    monkeypatch.setattr(trend, "draw_trend", stand_in_trend)  # the history's trend plots: ~0.25 s each


def stand_in_trend(model, series_list, records) -> bytes:
    drawn_from = StandInFigure(model, series_list, [record.get("commit") for record in records])
    return STAND_IN_SIGNATURE + f"trend {drawn_from.digest}".encode()


# --- modules that start processes run first ------------------------------------------------------
# Under `-n 2` a test that starts processes (a subprocess, xdist workers, hypothesis' hundreds of
# examples) takes seconds; collected last, it keeps one worker busy after the other has finished.
# Their modules go first, in their own order (a module's fixtures are set up once), so the tail of
# a run is made of short in-process tests that the two workers share out evenly.

_STARTS_PROCESSES = re.compile(r"subprocess|Popen|\"-n\"|@given")


def pytest_collection_modifyitems(items):
    # One read of each module's source (inspect.getsource per test cost each worker ~0.6 s).
    modules = {item.module for item in items if getattr(item, "module", None) is not None}
    heavy_modules = {module for module in modules
                     if _STARTS_PROCESSES.search(Path(module.__file__).read_text(encoding="utf-8"))}
    items.sort(key=lambda item: getattr(item, "module", None) not in heavy_modules)  # stable


# --- the compviz command, in-process ----------------------------------------------------------------
# A subprocess adds ~1.5 s of imports per run and tests nothing the entry point tests
# (test_cli.py's console-script runs) don't: run ``cli.main`` here, with the working directory,
# the environment, stdout and stderr of a real run, and the exit status SystemExit would give.


def compviz_in_process(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    from pytest_compviz.cli import main

    argv = [str(arg) for arg in args]
    out, err = io.StringIO(), io.StringIO()
    before, environ = Path.cwd(), dict(os.environ)
    try:
        os.chdir(cwd)
        os.environ.update(env or {})
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exit_:  # argparse's usage errors, --version, --help
                status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        os.chdir(before)
        os.environ.clear()
        os.environ.update(environ)
    return subprocess.CompletedProcess(["compviz", *argv], status, out.getvalue(), err.getvalue())


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
