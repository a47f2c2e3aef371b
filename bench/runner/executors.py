"""Where tasks run: in this process, in a pool of worker processes, or on a Dask cluster.

Every executor takes an iterable of jobs (dicts of plain arguments for `task.compute`) and yields
(job, result) as results arrive; only the caller writes the store. Workers keep their models
loaded between tasks (task.py caches codecs, metrics cache their networks). A task that runs
past `timeout` seconds is recorded as a failure: in this process and in pool workers through
SIGALRM, and in a pool also by killing and replacing a worker that does not return at all. On
Dask, worker threads cannot be interrupted: there only the external codecs' own timeouts apply,
and a task whose worker dies is retried twice by the scheduler before it is recorded as failed.
"""
from __future__ import annotations

import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool


class TaskTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TaskTimeout()


def run_job(job: dict, timeout: float | None = None) -> dict:
    """Run one job with an optional timeout; never raises (failures are part of the result)."""
    from . import task as T

    use_alarm = bool(timeout) and hasattr(signal, "SIGALRM") and _main_thread()
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return T.compute(**job["args"])
    except TaskTimeout:
        return _failed(job, f"TaskTimeout: the task ran past {timeout:g} s and was stopped")
    except BaseException as e:  # noqa: BLE001 - a worker must report, not die
        import traceback

        return _failed(job, f"{type(e).__name__}: {e}", traceback.format_exc())
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _failed(job, message, tb=""):
    a = job["args"]
    return {"encoding": None, "bitstream": None, "recon_png": None, "scores": [], "features": {},
            "failures": [{"stage": "task", "image": a["image_name"], "codec": a["codec_id"], "point": a["point"],
                          "metric": None, "message": message, "traceback": tb}]}


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _init_worker(threads: int):
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def serial(jobs, timeout=None):
    for job in jobs:
        yield job, run_job(job, timeout)


def pool(jobs, workers: int, timeout=None):
    """Bounded submission (2 x workers in flight) to a pool of long-lived worker processes."""
    threads = threads_per_worker(workers)
    jobs = iter(jobs)
    make = lambda: ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(threads,))  # noqa: E731
    ex, inflight, retry = make(), {}, []
    try:
        while True:
            while len(inflight) < 2 * workers:
                job = retry.pop() if retry else next(jobs, None)
                if job is None:
                    break
                inflight[ex.submit(run_job, job, timeout)] = (job, time.monotonic())
            if not inflight:
                return
            done, _ = wait(inflight, timeout=5, return_when=FIRST_COMPLETED)
            broken = False
            for f in done:
                job, _t = inflight.pop(f)
                try:
                    yield job, f.result()
                except BrokenProcessPool:
                    broken = True
                    job["attempts"] = job.get("attempts", 0) + 1
                    if job["attempts"] > 1:
                        yield job, _failed(job, "a worker process died twice while running this task")
                    else:
                        retry.append(job)
            hung = [f for f, (_j, t0) in inflight.items() if timeout and time.monotonic() - t0 > timeout + 30]
            if hung or broken:
                for f in hung:
                    job, _t = inflight.pop(f)
                    yield job, _failed(job, f"TaskTimeout: no answer after {timeout:g} s; its worker was replaced")
                retry.extend(j for j, _t in inflight.values())
                inflight.clear()
                for p in list(getattr(ex, "_processes", {}).values()):
                    p.kill()
                ex.shutdown(wait=False, cancel_futures=True)
                ex = make()
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


def dask(jobs, address: str, timeout=None):
    """Submit to a Dask distributed scheduler; the client gathers results and writes the store."""
    from distributed import Client, as_completed

    client = Client(address, timeout="30s")
    try:
        jobs = iter(jobs)
        n = max(1, sum(client.nthreads().values()))
        futs = {}

        def submit(job):
            futs[client.submit(run_job, job, timeout, pure=False, retries=2)] = (job, time.monotonic())

        for job in jobs:
            submit(job)
            if len(futs) >= 2 * n:
                break
        ac = as_completed(list(futs))
        for f in ac:
            job, t0 = futs.pop(f)
            try:
                res = f.result()
            except Exception as e:  # noqa: BLE001 - e.g. KilledWorker after retries
                res = _failed(job, f"{type(e).__name__} on the Dask cluster: {e}")
            yield job, res
            nxt = next(jobs, None)
            if nxt is not None:
                submit(nxt)
                ac.add(list(futs)[-1])
    finally:
        client.close()
