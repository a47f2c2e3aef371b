"""Where tasks run: in this process, in a pool of worker processes, or on a Dask cluster.

Every executor takes an iterable of jobs (dicts of plain arguments for `task.compute`) and yields
(job, result) as results arrive; only the caller writes the store. Workers keep their models
loaded between tasks (task.py caches codecs, metrics cache their networks) and take jobs in
chunks of `batch` (task.compute_many batches LPIPS / DISTS across a chunk: the GPU default).

A task that runs past `timeout` seconds is stopped as a whole and recorded as "ran past N s and
was stopped". The task runs in a worker process (with a timeout, the serial executor is a pool of
one): SIGALRM stops Python code in time, and a worker that does not answer `GRACE_S` later (a hang
inside C code) is killed and replaced. On Dask, at most one task per worker thread is in flight
and a task past its deadline gets its worker process restarted. Workers exit when the process
that started them dies (no orphans), and a task whose worker dies is retried once.
"""
from __future__ import annotations

import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

GRACE_S = 2.0  # after SIGALRM, how long a worker may take to answer before it is killed


class TaskTimeout(BaseException):
    """Not an Exception: the per-metric `except Exception` in task.compute must not swallow it."""


def timeout_message(timeout: float, how: str = "") -> str:
    """The failure message of a task stopped by --task-timeout."""
    return f"TaskTimeout: the task ran past {timeout:g} s and was stopped{how}"


def _alarm(signum, frame):
    raise TaskTimeout()


def run_job(job: dict, timeout: float | None = None) -> dict:
    """Run one job (a worker's unit of work) within a timeout."""
    return run_jobs([job], timeout)[0]


def run_jobs(chunk: list, timeout: float | None = None) -> list:
    """Run a chunk of jobs in one call (its network metrics batched across the jobs, see
    task.compute_many) with an optional timeout of `timeout` per job; never raises: one result
    per job, failures included."""
    from . import task

    first = chunk[0]
    if first.get("threads"):  # a Dask worker: the policy is applied on its first task
        pin_threads(first["threads"])
    if first.get("device"):  # and the run's --device, which its environment does not carry
        _dask_device(first["device"])
    use_alarm = bool(timeout) and hasattr(signal, "SIGALRM") and _main_thread()
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout * len(chunk))
    try:
        if len(chunk) == 1:
            return [task.compute(**first["args"])]
        return task.compute_many([j["args"] for j in chunk])
    except TaskTimeout:
        return [_failed(j, timeout_message(timeout * len(chunk), f" (with the {len(chunk) - 1} other tasks of its batch)"
                                           if len(chunk) > 1 else "")) for j in chunk]
    except (KeyboardInterrupt, SystemExit):
        raise  # Ctrl-C stops the run (and is no failure of this task)
    except BaseException as e:  # noqa: BLE001 - a worker must report, not die
        import traceback

        return [_failed(j, f"{type(e).__name__}: {e}", traceback.format_exc()) for j in chunk]
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


_dask_pinned = None


def _dask_device(dev: str) -> None:
    """On a Dask worker process, once: the run's device, and one GPU per worker process
    (a worker named 0, 1, ... as LocalCluster names them takes GPU name % count; others by pid).
    A worker started with its own single-GPU CUDA_VISIBLE_DEVICES (dask-cuda) keeps it."""
    global _dask_pinned
    if _dask_pinned == dev:
        return
    os.environ["BENCH_DEVICE"] = dev
    from .. import devices

    try:
        from distributed import get_worker

        name = get_worker().name
        slot = int(name) if str(name).isdigit() else os.getpid()
    except (ImportError, ValueError):
        slot = os.getpid()
    devices.pin_gpu(slot)
    _dask_pinned = dev


def chunks(jobs, size: int):
    """Consecutive jobs in lists of `size` (the last may be shorter)."""
    chunk = []
    for job in jobs:
        chunk.append(job)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _failed(job, message, tb=""):
    a = job["args"]
    return {"encoding": None, "bitstream": None, "recon_png": None, "scores": [], "features": {},
            "failures": [{"stage": "task", "image": a["image_name"], "codec": a["codec_id"], "point": a["point"],
                          "metric": None, "message": message, "traceback": tb}]}


def threads_per_worker(workers: int) -> int:
    """The thread policy, one for every executor: the cores split evenly between the worker
    processes (serial = one worker), at least one each; BENCH_THREADS overrides. Measured here: a
    library left at its own default oversubscribes the cores as soon as two processes run."""
    if os.environ.get("BENCH_THREADS", "").isdigit() and int(os.environ["BENCH_THREADS"]) > 0:
        return int(os.environ["BENCH_THREADS"])
    return max(1, (os.cpu_count() or 1) // max(1, workers))


_pinned: int | None = None


def pin_threads(n: int) -> None:
    """Apply the policy in this process: OpenMP / BLAS through the environment (read when torch is
    imported, so a PSNR-only run never imports it) and torch itself when already imported."""
    global _pinned
    if _pinned == n:
        return
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    _pinned = n


def exit_with_parent() -> None:
    """Make this worker process die with the process that started it (no orphans after a SIGKILL)."""
    import threading

    parent = os.getppid()
    try:  # Linux: the kernel sends SIGKILL when the parent dies
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch():  # elsewhere (and as a fallback): poll for re-parenting
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                _stop_worker(None, None)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _stop_worker(signum, frame):
    """SIGTERM from the pool (a task past its timeout) or the kernel (the parent died): stop the
    codec commands this worker started, then exit."""
    import sys

    ext = sys.modules.get("bench.adapters.external")
    if ext is not None:
        ext.kill_live_groups()
    os._exit(1)


def _init_worker(threads: int, slots=None):
    signal.signal(signal.SIGTERM, _stop_worker)
    exit_with_parent()
    pin_threads(threads)
    if slots is not None:  # this worker's index among the pool's: its GPU
        with slots.get_lock():
            slot, slots.value = slots.value, slots.value + 1
        from .. import devices

        devices.pin_gpu(slot)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def serial(jobs, timeout=None, batch: int = 1):
    """In this process; with a timeout, in one killable worker process (C code ignores SIGALRM)."""
    if timeout:
        yield from pool(jobs, 1, timeout, threads=threads_per_worker(1), batch=batch)
        return
    pin_threads(threads_per_worker(1))
    for chunk in chunks(jobs, batch):
        yield from zip(chunk, run_jobs(chunk, timeout))


def pool(jobs, workers: int, timeout=None, threads: int | None = None, batch: int = 1):
    """Bounded submission to a pool of long-lived worker processes (2 x workers chunks in flight,
    or one per worker with a timeout, so that submission time is start time); a chunk of `batch`
    jobs per submission. Each worker takes a slot number at start: its GPU when several are seen."""
    import multiprocessing

    threads = threads or threads_per_worker(workers)
    jobs = chunks(jobs, batch)

    def make():
        slots = multiprocessing.Value("i", 0)
        return ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(threads, slots))

    depth = workers if timeout else 2 * workers
    ex, inflight, retry = make(), {}, []
    try:
        while True:
            while len(inflight) < depth:
                chunk = retry.pop() if retry else next(jobs, None)
                if chunk is None:
                    break
                inflight[ex.submit(run_jobs, chunk, timeout)] = (chunk, time.monotonic())
            if not inflight:
                return
            done, _ = wait(inflight, timeout=0.5 if timeout else 5, return_when=FIRST_COMPLETED)
            broken = False
            for f in done:
                chunk, _t = inflight.pop(f)
                try:
                    yield from zip(chunk, f.result())
                except BrokenProcessPool:
                    broken = True
                    attempts = chunk[0]["attempts"] = chunk[0].get("attempts", 0) + 1
                    if attempts > 1:
                        for job in chunk:
                            yield job, _failed(job, "a worker process died twice while running this task")
                    else:
                        retry.append(chunk)
            hung = [f for f, (c, t0) in inflight.items() if timeout and time.monotonic() - t0 > timeout * len(c) + GRACE_S]
            if hung or broken:
                for f in hung:
                    chunk, _t = inflight.pop(f)
                    for job in chunk:
                        yield job, _failed(job, timeout_message(timeout * len(chunk), " (its worker process was killed)"))
                retry.extend(c for c, _t in inflight.values())
                inflight.clear()
                _terminate(list(getattr(ex, "_processes", {}).values()))
                ex.shutdown(wait=False, cancel_futures=True)
                ex = make()
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


def _terminate(procs) -> None:
    """SIGTERM (the worker stops its codec commands), then SIGKILL for a worker stuck in C code."""
    for p in procs:
        p.terminate()
    deadline = time.monotonic() + 1.0
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()


def check_scheduler(address: str, wait_s: float = 15.0) -> None:
    """Reach the Dask scheduler before a run records anything; BenchError naming the fix otherwise."""
    from ..errors import BenchError

    try:
        from distributed import Client
    except ImportError:
        raise BenchError("--scheduler needs Dask: pip install 'percept-bench[dask]'") from None
    try:
        Client(address, timeout=f"{wait_s}s").close()
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        raise BenchError(f"--scheduler {address}: cannot reach the Dask scheduler ({type(e).__name__}: {e}); start it "
                         "(`dask scheduler`, with workers) or correct the address; nothing was recorded") from None


def dask(jobs, address: str, timeout=None, batch: int = 1):
    """Submit to a Dask distributed scheduler; the client gathers results and writes the store.

    With a timeout, one task per worker thread is in flight, so submission time is start time; a
    task past timeout + GRACE_S is cancelled and the worker process running it restarted by its
    nanny (a thread cannot be interrupted, a process can)."""
    from distributed import Client
    from distributed import wait as dwait

    client = Client(address, timeout="30s")
    try:
        jobs = chunks(jobs, batch)
        n = max(1, sum(client.nthreads().values()))
        depth = n if timeout else 2 * n
        futs = {}
        while True:
            while len(futs) < depth:
                chunk = next(jobs, None)
                if chunk is None:
                    break
                chunk[0]["threads"] = 1  # one thread per worker thread slot (start workers with --nthreads 1)
                chunk[0]["device"] = os.environ.get("BENCH_DEVICE", "cpu")
                futs[client.submit(run_jobs, chunk, timeout, pure=False, retries=2)] = (chunk, time.monotonic())
            if not futs:
                return
            try:
                done, _ = dwait(list(futs), timeout=0.5 if timeout else 5, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for f in done:
                chunk, _t = futs.pop(f)
                try:
                    res = f.result()
                except Exception as e:  # noqa: BLE001 - e.g. KilledWorker after retries
                    res = [_failed(job, f"{type(e).__name__} on the Dask cluster: {e}") for job in chunk]
                yield from zip(chunk, res)
            hung = [f for f, (c, t0) in futs.items() if timeout and time.monotonic() - t0 > timeout * len(c) + GRACE_S]
            if hung:
                where = {k: w for w, keys in client.processing().items() for k in keys}
                client.cancel(hung)
                busy = sorted({where[f.key] for f in hung if f.key in where})
                if busy:
                    client.restart_workers(busy)
                for f in hung:
                    chunk, _t = futs.pop(f)
                    for job in chunk:
                        yield job, _failed(job, timeout_message(timeout * len(chunk),
                                                                " (its Dask worker process was restarted)"))
    finally:
        client.close()
