"""The drawing worker (``report.pool``): real forked processes, real drawing."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LLAMA2_CSV

from pytest_compviz.plugin import RENDER_POOL_KEY
from pytest_compviz.report import artifacts
from pytest_compviz.report.artifacts import Artifact, model_jobs
from pytest_compviz.report.pool import RenderPool
from pytest_compviz.results import load_results

pytestmark = [
    pytest.mark.usefixtures("heavy_modules_loaded"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only"),
    # An xdist worker runs execnet's thread, so it never forks a drawing worker (by design).
    pytest.mark.skipif("PYTEST_XDIST_WORKER" in os.environ, reason="no drawing worker in an xdist worker: run without -n"),
]


@pytest.fixture
def jobs(tmp_path):
    return model_jobs(load_results(LLAMA2_CSV), tmp_path / "out", ("png", "svg"))


@pytest.fixture
def pool(monkeypatch):
    monkeypatch.setenv("COMPVIZ_RENDER_PROCESSES", "2")
    started = RenderPool.start()
    assert started is not None, "no worker: this process has more than one thread?"
    yield started
    started.shutdown()


def in_process(jobs) -> list[tuple[Path, bytes]]:
    return [(a.path, a.data) for job in jobs for a in artifacts.render_model(job)]


def test_the_worker_draws_the_same_bytes_as_the_main_process(pool, jobs):
    drawn = pool.submit(jobs).result()

    assert pool._finished == {0: True}  # drawn by the worker, not redrawn here
    assert [(a.path, a.data) for a in drawn] == in_process(jobs)


def test_plots_ignore_style_set_in_the_process(jobs, monkeypatch):
    """The worker forks before conftests load: a style a conftest sets must not make the main
    process draw other bytes than the worker."""
    import matplotlib

    plain = in_process(jobs)
    monkeypatch.setitem(matplotlib.rcParams, "axes.facecolor", "black")
    monkeypatch.setitem(matplotlib.rcParams, "font.size", 20)

    assert in_process(jobs) == plain


def test_jobs_are_plain_data_so_the_worker_never_imports_pandas(jobs, tmp_path):
    """The worker is forked before pandas is imported; a job that needed pandas to unpickle would
    cost it 0.3 s. Unpickled and drawn in a fresh interpreter, no pandas gets imported."""
    (tmp_path / "jobs.pickle").write_bytes(pickle.dumps(jobs))
    code = (
        "import pickle, sys\n"
        "from pytest_compviz.report.artifacts import render_model\n"
        "jobs = pickle.load(open(sys.argv[1], 'rb'))\n"
        "drawn = [render_model(job) for job in jobs]\n"
        "print(len(drawn), 'pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "jobs.pickle")],
                          capture_output=True, text=True, check=True)

    assert done.stdout.split() == ["1", "False"]


def test_a_job_the_worker_fails_is_drawn_in_the_main_process(monkeypatch, jobs):
    real, main = artifacts.render_model, os.getpid()

    def fails_in_workers(job):
        if os.getpid() != main:
            raise RuntimeError("broken worker")
        return real(job)

    monkeypatch.setattr(artifacts, "render_model", fails_in_workers)  # forked workers inherit it
    monkeypatch.setenv("COMPVIZ_RENDER_PROCESSES", "1")
    pool = RenderPool.start()
    try:
        drawn = pool.submit(jobs).result()
    finally:
        pool.shutdown()

    assert pool._finished == {0: False}  # the worker said so; no waiting for silence
    assert [(a.path, a.data) for a in drawn] == in_process(jobs)


def test_a_job_whose_helper_died_is_drawn_in_the_main_process(monkeypatch, tmp_path):
    """A helper killed mid-job sends no news, and the worker that forked it lives on: the main
    process sees the claimant is gone within seconds, not after the 300 s of silence."""
    real, main = artifacts.render_model, os.getpid()

    def helpers_die(job):
        if os.getpid() != main and os.getppid() != main:  # a helper: forked by the worker
            os._exit(1)
        return real(job)

    monkeypatch.setattr(artifacts, "render_model", helpers_die)
    monkeypatch.setenv("COMPVIZ_RENDER_PROCESSES", "2")
    two = model_jobs(load_results(LLAMA2_CSV), tmp_path / "a") + model_jobs(load_results(LLAMA2_CSV), tmp_path / "b")
    pool = RenderPool.start()
    try:
        drawn = pool.submit(two).result()
    finally:
        pool.shutdown()

    assert [(a.path, a.data) for a in drawn] == [(a.path, a.data) for job in two for a in real(job)]


def test_once_the_workers_are_gone_the_main_process_draws_everything(pool, jobs):
    os.killpg(pool._pid, 9)

    drawn = pool.submit(jobs).result()

    assert [(a.path, a.data) for a in drawn] == in_process(jobs)


def test_a_batch_of_several_models_is_shared_with_a_helper_process(monkeypatch, tmp_path):
    import time

    def whose(job):  # stands for a slow plot; says which process drew it
        time.sleep(0.2)
        return [Artifact(job.output_dir / job.stem, str(os.getpid()).encode(), job.model)]

    monkeypatch.setattr(artifacts, "render_model", whose)
    monkeypatch.setenv("COMPVIZ_RENDER_PROCESSES", "2")
    pool = RenderPool.start()
    try:
        fake_jobs = [artifacts.ModelJob(f"m{n}", [], (), f"m{n}", "fp32", 4, None, tmp_path, ("png",))
                     for n in range(6)]
        drawn = pool.submit(fake_jobs).result()
    finally:
        pool.shutdown()

    assert [a.model for a in drawn] == [f"m{n}" for n in range(6)]  # in job order
    drawers = {a.data for a in drawn}
    assert len(drawers) == 2 and str(os.getpid()).encode() not in drawers


def test_shutdown_ends_the_worker_and_removes_the_spool(monkeypatch, jobs):
    monkeypatch.setenv("COMPVIZ_RENDER_PROCESSES", "1")
    pool = RenderPool.start()
    try:
        pool.submit(jobs).result()
    finally:
        pool.shutdown()

    with pytest.raises(ProcessLookupError):
        os.kill(pool._pid, 0)  # reaped, not a zombie
    assert not os.path.exists(pool._spool)


def test_no_worker_when_disabled_or_in_a_threaded_process(monkeypatch):
    import _thread
    import threading

    monkeypatch.setenv("COMPVIZ_RENDER_PROCESSES", "0")
    assert RenderPool.start() is None
    monkeypatch.setenv("COMPVIZ_RENDER_PROCESSES", "1")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert RenderPool.start() is None  # forking a threaded process can deadlock the child
    finally:
        stop.set()
        thread.join()
    # A thread threading does not know of (execnet's, in an xdist worker) counts too.
    started, gate, done = _thread.allocate_lock(), _thread.allocate_lock(), _thread.allocate_lock()
    for lock in (started, gate, done):
        lock.acquire()

    def wait() -> None:
        started.release()
        with gate:
            pass
        done.release()

    _thread.start_new_thread(wait, ())
    started.acquire()
    try:
        pool = RenderPool.start()
        if pool is not None:
            pool.shutdown()
        assert threading.active_count() == 1 and pool is None
    finally:
        gate.release()
        done.acquire()


@pytest.mark.parametrize(("args", "xdist_worker", "forked"), [
    (("--compviz-input", "llama2_asym.csv"), False, True),
    (("llama2_asym.csv",), False, True),
    (("--compviz-input", "llama2_asym.csv", "--collect-only"), False, False),
    (("--compviz-input", "llama2_asym.csv"), True, False),  # the controller draws
    (("test_nothing.py",), False, False),
])
def test_the_plugin_forks_the_worker_only_when_results_files_will_be_drawn(pytester, monkeypatch, args,
                                                                           xdist_worker, forked):
    monkeypatch.setenv("COMPVIZ_RENDER_PROCESSES", "1")
    if xdist_worker:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    else:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.path.joinpath("llama2_asym.csv").write_bytes(LLAMA2_CSV.read_bytes())
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")

    recorder = pytester.inline_run("-p", "no:cacheprovider", *args)

    config = recorder.getcall("pytest_unconfigure").config
    assert (config.stash.get(RENDER_POOL_KEY, None) is not None) is forked


def test_drawing_starts_before_the_pandera_checks(pytester, monkeypatch):
    """The gates and the drawing need only the parsed numbers; started first, the drawing
    overlaps pandera's import and checks."""
    import pytest_compviz.results
    from pytest_compviz.report.pool import RenderPool as Pool

    events = []
    real_validate, real_submit = pytest_compviz.results.validate, Pool.submit
    monkeypatch.setattr(pytest_compviz.results, "validate",
                        lambda *a, **k: events.append("checks") or real_validate(*a, **k))
    monkeypatch.setattr(Pool, "submit", lambda self, jobs: events.append("drawing") or real_submit(self, jobs))
    monkeypatch.setenv("COMPVIZ_RENDER_PROCESSES", "1")
    pytester.path.joinpath("llama2_asym.csv").write_bytes(LLAMA2_CSV.read_bytes())

    result = pytester.runpytest("-p", "no:cacheprovider", "--compviz-input", "llama2_asym.csv")

    assert result.ret == pytest.ExitCode.OK
    assert events == ["drawing", "checks"]
    assert (pytester.path / "compviz-report" / "llama2_asym.png").is_file()


def test_a_file_the_checks_reject_after_drawing_started_is_dropped_quietly(pytester, monkeypatch):
    """Its numbers parse, so gates and drawing start on them (a 0 baseline accuracy divides by
    zero on the way). The checks then reject the file: its jobs are cancelled and never
    collected, nothing is written for it, no warning reaches the user, just the schema failure."""
    import json

    from conftest import CsvWriter

    from pytest_compviz.report.pool import Pending
    from pytest_compviz.report.pool import RenderPool as Pool

    submitted, cancelled, collected = [], [], []
    real_submit, real_cancel, real_result = Pool.submit, Pending.cancel, Pending.result
    monkeypatch.setattr(Pool, "submit", lambda self, jobs: submitted.append(len(jobs)) or real_submit(self, jobs))
    monkeypatch.setattr(Pending, "cancel", lambda self: cancelled.append(self.numbers) or real_cancel(self))
    monkeypatch.setattr(Pending, "result", lambda self: collected.append(self.numbers) or real_result(self))
    monkeypatch.setenv("COMPVIZ_RENDER_PROCESSES", "1")
    CsvWriter(pytester.path)("zero.csv", cells={(11, "lambada-openai, acc"): "0"})

    result = pytester.runpytest("-p", "no:cacheprovider", "--compviz-input", "zero.csv")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*baseline value must not be 0 (relative errors divide by it)*"])
    assert submitted == [1] and cancelled == [[0]] and collected == []
    assert "warnings summary" not in result.stdout.str()
    assert sorted(p.name for p in (pytester.path / "compviz-report").iterdir()) == ["compviz.json", "summary.md"]
    [entry] = json.loads((pytester.path / "compviz-report" / "compviz.json").read_text())["inputs"]
    assert entry["gates passed"] == entry["gates failed"] == 0


def test_an_in_process_run_leaves_the_garbage_collector_as_it_found_it(pytester, monkeypatch):
    """A run of results items only freezes the collector after collection; pytest may run inside
    a process that lives on (pytester, a notebook), so it is unfrozen at unconfigure."""
    import gc

    monkeypatch.delenv("COMPVIZ_GC_FREEZE", raising=False)
    pytester.path.joinpath("llama2_asym.csv").write_bytes(LLAMA2_CSV.read_bytes())
    pytester.makeconftest("import gc\n"
                          "def pytest_runtestloop(session):\n"
                          "    print('frozen objects at run:', gc.get_freeze_count())\n")
    before = gc.get_freeze_count()

    result = pytester.runpytest("-p", "no:cacheprovider", "-s", "--compviz-input", "llama2_asym.csv")

    assert result.ret == pytest.ExitCode.OK
    [line] = [line for line in result.outlines if "frozen objects at run:" in line]
    assert int(line.split(":")[-1]) > before
    assert gc.get_freeze_count() == before
