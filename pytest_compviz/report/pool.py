"""Rendering tables and plots in worker processes.

The plugin starts the pool when it loads a file of several models: the workers (forked with
pandas already loaded) import matplotlib and draw while pytest runs the gates, on all the
machine's cores. Linux only (``fork``: a worker
starts in milliseconds); elsewhere, or with ``COMPVIZ_RENDER_PROCESSES=0``, everything is drawn
in the main process at the end of the session, with identical bytes.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor


def _warm_up() -> None:
    """Runs once in each worker as it starts: the imports every job needs."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import pandas  # noqa: F401
    import tabulate  # noqa: F401


def _ready() -> bool:
    return True


class Pending:
    """Artifacts being rendered; ``result()`` waits, and renders here whatever a worker could not."""

    def __init__(self, jobs: list, futures: list[Future]):
        self.jobs = jobs
        self.futures = futures

    def result(self) -> list:
        from .artifacts import render_model

        artifacts = []
        for job, future in zip(self.jobs, self.futures):
            try:
                artifacts.extend(future.result())
            except Exception:  # noqa: BLE001 - a broken worker costs time, never the artifact
                artifacts.extend(render_model(job))
        return artifacts


class RenderPool:
    def __init__(self, workers: int):
        context = multiprocessing.get_context("fork")
        self._executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_warm_up)
        self._executor.submit(_ready)  # starts a worker now, so its imports overlap ours

    @classmethod
    def start(cls) -> RenderPool | None:
        """A pool, or None where rendering stays in-process (see the module docstring)."""
        setting = os.environ.get("COMPVIZ_RENDER_PROCESSES", "")
        if setting.strip() == "0" or not sys.platform.startswith("linux"):
            return None
        workers = int(setting) if setting.strip().isdigit() else min(os.cpu_count() or 1, 4)
        try:
            return cls(max(workers, 1))
        except (OSError, ValueError):
            return None

    def submit(self, jobs: list) -> Pending:
        from .artifacts import render_model

        return Pending(jobs, [self._executor.submit(render_model, job) for job in jobs])

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
