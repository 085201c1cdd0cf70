"""Drawing tables and plots in a worker process while pytest runs the gates.

The plugin forks one worker as it starts loading the first results file: with pandas already
loaded, the worker imports matplotlib while the main process imports pandera and validates, then
draws while pytest runs the gates. At the end of the session the main process draws the jobs still
waiting in the executor (all but the couple already handed to the worker's queue), from the other
end, so a file of many models is drawn on two cores. The bytes are the same as drawn in-process.

``fork`` only, and only while the process has a single thread (forking a threaded process can
deadlock the child): so never on Windows or macOS, under an xdist worker, or when
``COMPVIZ_RENDER_PROCESSES=0``; everything is then drawn in the main process at the end.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor


def _warm_up() -> None:
    """Runs once in the worker as it starts: the imports every job needs."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import tabulate  # noqa: F401


def _ready() -> bool:
    return True


class Pending:
    """Artifacts being drawn. ``result()`` draws here the jobs that can still be cancelled (newest
    first, while the worker works from the oldest), and any job a worker failed."""

    def __init__(self, jobs: list, futures: list[Future]):
        self.jobs = jobs
        self.futures = futures

    def result(self) -> list:
        from .artifacts import render_model

        drawn: dict[int, list] = {}
        for number in reversed(range(len(self.jobs))):
            if self.futures[number].cancel():
                drawn[number] = render_model(self.jobs[number])
        for number, future in enumerate(self.futures):
            if number not in drawn:
                try:
                    drawn[number] = future.result()
                except Exception:  # noqa: BLE001 - a broken worker costs time, never the artifact
                    drawn[number] = render_model(self.jobs[number])
        return [artifact for number in range(len(self.jobs)) for artifact in drawn[number]]


class RenderPool:
    def __init__(self, workers: int):
        self._executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_warm_up)
        self._executor.submit(_ready)  # forks now, so the worker's imports start now

    @classmethod
    def start(cls) -> RenderPool | None:
        """A worker pool, or None where drawing stays in-process (see the module docstring)."""
        setting = os.environ.get("COMPVIZ_RENDER_PROCESSES", "").strip()
        if setting == "0" or not sys.platform.startswith("linux") or threading.active_count() > 1:
            return None
        try:
            return cls(int(setting) if setting.isdigit() else 1)
        except (OSError, ValueError):
            return None

    def submit(self, jobs: list) -> Pending:
        from .artifacts import render_model

        return Pending(jobs, [self._executor.submit(render_model, job) for job in jobs])

    def shutdown(self) -> None:
        """Stop the worker now. Every result this run needs has been collected by then; the
        worker is ended outright, as ``shutdown(wait=True)`` with queued jobs can hang on 3.11."""
        processes = list(getattr(self._executor, "_processes", {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)
