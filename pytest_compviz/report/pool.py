"""Drawing tables and plots in worker processes while pytest loads the results and runs the gates.

Why: importing matplotlib (~0.35 s) and drawing (~0.1 s a plot) are most of a run's cost, and they
need nothing from pytest; they can run beside the imports of pandas and pandera, the validation and
the gate items.

How: ``RenderPool.start()`` forks one worker as the plugin configures, before pandas is imported
(the process then has one thread and a small heap). The worker imports matplotlib and tabulate,
never pandas (jobs are plain data), while the main process loads the first file. Each loaded file's jobs (one per model) are
pickled into a private spool folder and the worker is woken by a byte on a pipe; for a batch of
several jobs it forks helpers, already warm, up to the process limit. A job is claimed by creating
a file exclusively, so no job is drawn twice; its artifacts are pickled back into the spool and
announced on a second pipe. At session end the main process waits for its jobs; a job a worker
failed, or every job once the workers are gone, is drawn in the main process. The bytes are the
same either way.

Only with ``fork`` (Linux) and only while the process runs a single Python thread (forking a
threaded process can deadlock the child): so never on Windows or macOS, nor on a one-CPU machine.
A job whose process died is drawn by the main process as soon as it sees so (claims name their
process), and everything left after five minutes without news. The
workers live in their own process group: Ctrl-C reaches only pytest, which ends them all at
unconfigure. ``COMPVIZ_RENDER_PROCESSES=N`` caps the drawing processes (default: the CPUs this
process may use, at most 8); ``0`` draws everything in the main process.
"""

from __future__ import annotations

import os
import pickle
import select
import shutil
import signal
import sys
import tempfile

# Seconds without any news from the workers before the main process draws what is left itself.
_PATIENCE = 300.0


def _process_limit() -> int:
    setting = os.environ.get("COMPVIZ_RENDER_PROCESSES", "").strip()
    if setting.isdigit():
        return int(setting)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return min(cpus, 8) if cpus > 1 else 0


def _threads() -> int:
    """This process's Python threads, also those started with ``_thread`` (execnet's, in an
    xdist worker), which ``threading.active_count()`` does not see. Native threads without Python
    code (OpenBLAS's pool, started by numpy) are not counted: they are fork-safe."""
    return len(sys._current_frames())


class RenderPool:
    """The main process's side: hands out jobs, collects artifacts, ends the workers."""

    def __init__(self, processes: int):
        self._spool = tempfile.mkdtemp(prefix="compviz-render-")
        opened: list[int] = []
        try:
            wake_read, self._wake = os.pipe()
            opened += (wake_read, self._wake)
            self._news, news_write = os.pipe()
            opened += (self._news, news_write)
            pid = os.fork()
        except OSError:
            for fd in opened:
                os.close(fd)
            shutil.rmtree(self._spool, ignore_errors=True)
            raise
        if pid == 0:  # the worker: never returns
            try:
                os.setpgid(0, 0)
                os.close(self._wake)
                os.close(self._news)
                _Worker(self._spool, wake_read, news_write, processes).run()
            finally:
                os._exit(0)
        try:
            os.setpgid(pid, pid)  # also here: whichever process runs first, the group exists
        except OSError:
            pass  # the worker already did it, or already exited
        os.close(wake_read)
        os.close(news_write)
        self._pid = pid
        self._count = 0
        self._finished: dict[int, bool] = {}  # job number -> drawn (True) or failed (False)
        self._unread = b""
        self._gone = False  # the workers have exited, or can't be reached

    @classmethod
    def start(cls) -> RenderPool | None:
        """A worker, or None where everything is drawn in-process (see the module docstring)."""
        processes = _process_limit()
        if processes < 1 or not sys.platform.startswith("linux") or _threads() > 1:
            return None
        try:
            return cls(processes)
        except OSError:
            return None

    def submit(self, jobs: list) -> Pending:
        numbers = list(range(self._count, self._count + len(jobs)))
        self._count += len(jobs)
        if jobs and not self._gone:
            try:
                _write_pickle(self._spool, f"batch-{numbers[0]:09d}", list(zip(numbers, jobs)))
                os.write(self._wake, b"+")
            except (OSError, pickle.PicklingError):
                self._gone = True
        return Pending(self, numbers, jobs)

    def collect(self, numbers: list[int]) -> dict[int, list | None]:
        """The artifacts of each job, or None for a job the main process must draw."""
        waiting = {n for n in numbers if n not in self._finished}
        poller = select.poll()
        poller.register(self._news, select.POLLIN)
        quiet = 0.0  # seconds without news
        while waiting and not self._gone:
            if not poller.poll(1000):
                quiet += 1
                # A drawing process that died (killed, out of memory) sends no news: its jobs,
                # and all of them after a long silence, are drawn here.
                for number in waiting:
                    if not self._drawing(number) or quiet >= _PATIENCE:
                        self._finished[number] = False
                waiting -= self._finished.keys()
                continue
            quiet = 0.0
            news = os.read(self._news, 65536)
            if not news:  # every worker has exited: what is left is drawn here
                self._gone = True
                break
            *lines, self._unread = (self._unread + news).split(b"\n")
            for line in lines:
                number, outcome = line.split()
                self._finished[int(number)] = outcome == b"ok"
            waiting -= self._finished.keys()
        drawn: dict[int, list | None] = {}
        for number in numbers:
            drawn[number] = None
            if self._finished.get(number):
                try:
                    with open(os.path.join(self._spool, f"result-{number}"), "rb") as handle:
                        drawn[number] = pickle.load(handle)
                except Exception:  # noqa: BLE001 - a lost result costs time, never the artifact
                    pass
        return drawn

    def _drawing(self, number: int) -> bool:
        """Whether a live process has the job, or may still take it (the worker is alive)."""
        try:
            with open(os.path.join(self._spool, f"claim-{number}"), encoding="ascii") as handle:
                text = handle.read()
            if not text:
                return True  # claimed this instant: its process is writing its number
            claimant = int(text)
        except FileNotFoundError:
            claimant = self._pid  # not claimed yet: the worker will, if it lives
        except (OSError, ValueError):
            return True  # being written: ask again in a second
        return _alive(claimant)

    def shutdown(self) -> None:
        """End the workers now (every result this run needs has been collected by then) and
        remove the spool."""
        for fd in (self._wake, self._news):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self._pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self._pid, 0)
        except ChildProcessError:
            pass
        shutil.rmtree(self._spool, ignore_errors=True)


class Pending:
    """One file's artifacts, being drawn by the workers."""

    def __init__(self, pool: RenderPool, numbers: list[int], jobs: list):
        self.pool = pool
        self.numbers = numbers
        self.jobs = jobs

    def cancel(self) -> None:
        """Drop the jobs no process has started (claimed here, so the workers skip them)."""
        for number in self.numbers:
            try:
                _claim(self.pool._spool, number)
            except OSError:
                return  # the spool is gone: so are the workers

    def result(self) -> list:
        from .artifacts import render_model

        drawn = self.pool.collect(self.numbers)
        return [artifact for number, job in zip(self.numbers, self.jobs)
                for artifact in (drawn[number] if drawn[number] is not None else render_model(job))]


class _Worker:
    """Runs in the forked worker: waits for batches, draws the jobs it can claim."""

    def __init__(self, spool: str, wake: int, news: int, processes: int):
        self.spool = spool
        self.wake = wake
        self.news = news
        self.processes = processes
        self.helpers: list[int] = []
        self.seen: set[str] = set()

    def run(self) -> None:
        _detach_stdio()
        _warm_up()
        while os.read(self.wake, 4096):  # a byte per batch; end of file when the run is over
            for name in sorted(os.listdir(self.spool)):
                if name.startswith("batch-") and name not in self.seen:
                    self.seen.add(name)
                    with open(os.path.join(self.spool, name), "rb") as handle:
                        jobs = pickle.load(handle)
                    self._start_helpers(jobs)
                    self._draw(jobs)
        # The main process ended without its cleanup (killed): nobody else removes the spool.
        shutil.rmtree(self.spool, ignore_errors=True)

    def _start_helpers(self, jobs: list) -> None:
        """Forks of this warm, single-threaded worker, one per spare process, to share a batch."""
        self.helpers = [pid for pid in self.helpers if os.waitpid(pid, os.WNOHANG) == (0, 0)]
        for _ in range(min(self.processes - 1 - len(self.helpers), len(jobs) - 1)):
            pid = os.fork()
            if pid == 0:
                try:
                    os.close(self.wake)
                    self._draw(jobs)
                finally:
                    os._exit(0)
            self.helpers.append(pid)

    def _draw(self, jobs: list) -> None:
        from .artifacts import render_model

        for number, job in jobs:
            if not _claim(self.spool, number):
                continue
            try:
                _write_pickle(self.spool, f"result-{number}", render_model(job))
                outcome = "ok"
            except BaseException:  # noqa: BLE001 - the main process draws it again, and reports it
                outcome = "failed"
            os.write(self.news, f"{number} {outcome}\n".encode())  # < PIPE_BUF: atomic


def _warm_up() -> None:
    """The imports every job needs, done while the main process loads the results."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import tabulate  # noqa: F401

    from . import artifacts  # noqa: F401


def _detach_stdio() -> None:
    """Nothing the worker prints may reach pytest's output: not through file descriptors 0-2,
    nor through ``sys.stdout``/``sys.stderr``, which may be pytest's capture files by now
    (matplotlib logs "building the font cache" to stderr on a fresh machine)."""
    import faulthandler
    import logging

    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    sys.stdout = sys.stderr = sys.__stdout__ = sys.__stderr__ = sink
    logging.lastResort = None
    faulthandler.disable()


def _claim(spool: str, number: int) -> bool:
    """Takes the job, unless another process has: the claim file is created exclusively, and
    names its process so the main process can tell when that process died."""
    try:
        fd = os.open(os.path.join(spool, f"claim-{number}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    try:
        os.write(fd, str(os.getpid()).encode())
    finally:
        os.close(fd)
    return True


def _alive(pid: int) -> bool:
    """Running, and not a zombie (a dead helper stays one until the worker reaps it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _write_pickle(spool: str, name: str, value) -> None:
    """Written under a temporary name and renamed: a reader never sees half a file."""
    temporary = os.path.join(spool, f".{name}.{os.getpid()}")
    with open(temporary, "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, os.path.join(spool, name))
