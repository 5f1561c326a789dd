"""Where chunks of work run: this process, local worker processes or a Dask cluster.

Sweeps and calibrations cut their work into chunks whose results never depend
on where or in which order they run; this module only decides where, reports
progress, and lets Ctrl-C stop the workers without losing finished chunks.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sim.core.errors import UserError

# What chunk workers run (sweep chunks, calibration particles): imported once by the fork server.
WORKER_MODULES = ("sim.run.sweep.execute", "sim.run.calibrate.simulate")


def ignore_sigint() -> None:
    # The parent handles Ctrl-C (stops submitting, keeps finished chunks); workers just stop with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_init(lifeline) -> None:
    """Set up a worker process: ignore Ctrl-C, and die with the process that started it.

    A parent killed outright (SIGKILL, out of memory) runs no cleanup, and idle
    workers would wait on their task queue for ever, holding their memory. They
    cannot rely on their own parent either: they are children of the
    forkserver, which stays up while any worker holds its lifeline. So each
    worker gets the reading end of a pipe whose only writer is the parent; a
    thread waits on it, and the end of file the kernel delivers when the
    parent dies ends the worker.
    """
    ignore_sigint()
    threading.Thread(target=_watch_parent, args=(lifeline,), daemon=True, name="watch-parent").start()


def _watch_parent(lifeline) -> None:
    try:
        while True:
            lifeline.recv_bytes()
    except (EOFError, OSError):
        os._exit(1)


def resolve_workers(workers: int | None) -> int:
    return (os.cpu_count() or 1) if workers is None else workers


def make_executor(workers: int, scheduler: str | None, client):
    """(executor or None for this process, the Dask client this call opened or None)."""
    if client is not None:
        return client.get_executor(), None
    if scheduler is not None:
        try:
            from dask.distributed import Client
        except ImportError:
            raise UserError("--scheduler needs dask.distributed: pip install 'dyadsim[dask]' "
                            "(or 'dask[distributed]')") from None
        try:
            cl = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise UserError(f"--scheduler: cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        return cl.get_executor(), cl
    if workers <= 1:
        return None, None
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        # Workers fork from a server that has imported the chunk code once, rather than each importing
        # numpy, pandas and pydantic again (a second or more per worker; more than a small chunk's work).
        ctx.set_forkserver_preload(["__main__", *WORKER_MODULES])
    lifeline, keep = ctx.Pipe(duplex=False)
    executor = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=worker_init,
                                      initargs=(lifeline,))
    executor._dyadsim_lifeline = (lifeline, keep)    # the writer lives exactly as long as this process
    return executor, None


@contextmanager
def open_executor(workers: int, scheduler: str | None = None, client=None, needed: bool = True):
    """An executor for the block; on the way out, queued work is dropped and what this opened is closed."""
    executor, own_client = make_executor(workers, scheduler, client) if needed else (None, None)
    try:
        yield executor
    finally:
        if isinstance(executor, cf.ProcessPoolExecutor):
            executor.shutdown(wait=False, cancel_futures=True)
        elif executor is not None and client is None:
            executor.shutdown(wait=False)
        if own_client is not None:
            own_client.close()


def completed(executor, fn: Callable, tasks: Iterable) -> Iterator:
    """``fn(task)`` for every task, as each finishes (in order in this process when there is no executor).

    If anything stops the loop, tasks not yet started are cancelled.
    """
    if executor is None:
        for task in tasks:
            yield fn(task)
        return
    futures = [executor.submit(fn, t) for t in tasks]
    try:
        for fut in cf.as_completed(futures):
            yield fut.result()
    except BaseException:
        for f in futures:
            f.cancel()
        raise


#: Whether library calls that accept ``progress=None`` report it; the CLI turns this on, ``--quiet`` off.
_PROGRESS_DEFAULT = {"enabled": False}


def set_progress(enabled: bool) -> None:
    """Default for :class:`Progress` users called with ``progress=None`` (a notebook stays quiet unless asked)."""
    _PROGRESS_DEFAULT["enabled"] = bool(enabled)


def progress_enabled(progress: bool | None = None) -> bool:
    return _PROGRESS_DEFAULT["enabled"] if progress is None else bool(progress)


class Progress:
    """Work done, rate and ETA: a live bar on a terminal, a plain line every few seconds otherwise.

    Long commands must not look hung: a terminal gets tqdm's bar, a log file
    (or CI) a line every ``every_s`` seconds, and both say how long is left.
    """

    def __init__(self, total: int, done: int = 0, enabled: bool = True, every_s: float | None = None, stream=None,
                 label: str = "sweep", unit: str = "run"):
        self.total, self.done, self.start_done = total, done, done
        self.stream = stream or sys.stderr
        self.t0 = self.last = time.perf_counter()
        # seconds between lines; a task done before the first line is due prints none (a quick command stays
        # quiet, and an error stays the one line on stderr). DYADSIM_PROGRESS_EVERY sets it (tests use 0).
        self.every_s = float(os.environ.get("DYADSIM_PROGRESS_EVERY", 5.0)) if every_s is None else every_s
        self.printed = False
        self.enabled = enabled
        self.label, self.unit = label, unit
        self.bar = None
        if enabled and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=done, unit=unit, file=self.stream, smoothing=0.1, desc=label)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter()
        due = now - self.last >= self.every_s or (self.done >= self.total and self.printed)
        if self.enabled and due:
            self.last, self.printed = now, True
            print(self.line(now), file=self.stream, flush=True)

    def line(self, now: float | None = None) -> str:
        now = now or time.perf_counter()
        rate = (self.done - self.start_done) / max(now - self.t0, 1e-9)
        left = self.total - self.done
        eta = f"{left / rate:.0f} s" if rate > 0 else "?"
        return (f"{self.label}: {self.done}/{self.total} {self.unit}s ({100.0 * self.done / max(self.total, 1):.0f}%), "
                f"{rate:.3g} {self.unit}s/s, {now - self.t0:.0f} s elapsed, ETA {eta}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
