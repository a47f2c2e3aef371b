"""The runner at scale: parallel workers, crash safety under SIGKILL, Dask, faults, concurrency."""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main

TESTS = Path(__file__).parent


def records(out):
    db = sqlite3.connect(out / "bench.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT image, codec, point_index, metric, value, bpp FROM records").fetchall()
    assert len(rows) == len(set((r[:4]) for r in rows)), "duplicate records"
    return sorted(rows)


def grid(out, data, *extra):
    return ["run", "--dataset", str(data), "--codec", "jpeg", "--codec", "jpeg2000", "--metric", "psnr",
            "--metric", "ssim", "--out", str(out), "--no-progress", *extra]


def cli(args, **kw):
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    return subprocess.Popen([sys.executable, "-m", "bench.cli", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, **kw)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted serial run of the small grid."""
    from PIL import Image
    from skimage import data

    base = tmp_path_factory.mktemp("ref")
    d = base / "imgs"
    d.mkdir()
    a = data.astronaut()
    Image.fromarray(a[:176, 100:292]).save(d / "a.png")
    Image.fromarray(a[300:468, 250:450]).save(d / "b.png")
    assert main(grid(base / "out", d)) == 0
    return d, records(base / "out")


def test_two_workers_give_the_same_numbers_as_one(reference, tmp_path):
    d, ref = reference
    assert main(grid(tmp_path / "o", d, "--workers", "2")) == 0
    assert records(tmp_path / "o") == ref


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_sigkill_at_random_moments_then_resume(reference, tmp_path):
    d, ref = reference
    rng = random.Random(1234)
    out = tmp_path / "o"
    for _ in range(4):
        p = cli(grid(out, d))
        time.sleep(rng.uniform(0.8, 5.0))
        p.send_signal(signal.SIGKILL)
        p.wait()
        if out.joinpath("bench.sqlite").exists():
            records(out)  # the store is consistent after every kill
    assert main(grid(out, d)) == 0
    assert records(out) == ref
    assert not list(out.rglob("*.tmp")), "temp files left behind"


def test_two_concurrent_runs_on_one_directory(reference, tmp_path):
    d, ref = reference
    out = tmp_path / "o"
    ps = [cli(grid(out, d)) for _ in range(2)]
    errs = [p.communicate(timeout=900)[1].decode() for p in ps]
    assert [p.returncode for p in ps] == [0, 0], errs
    assert records(out) == ref


class _LockedThenFree:
    """A connection whose WAL switch is refused at once `refusals` times, as SQLite does (no busy
    handler) while a concurrent run is creating the same new store."""
    def __init__(self, refusals, error="database is locked"):
        self.left, self.error, self.calls = refusals, error, 0

    def execute(self, sql):
        self.calls += 1
        if self.left:
            self.left -= 1
            raise sqlite3.OperationalError(self.error)


def test_the_wal_switch_waits_out_a_concurrent_opener_and_passes_other_errors_on():
    from bench.store import _wal
    db = _LockedThenFree(2)
    _wal(db)
    assert db.calls == 3
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _wal(_LockedThenFree(1, "disk I/O error"))
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _wal(_LockedThenFree(10**6), wait_s=0.2)  # a lock that never goes is not waited on forever


def _faulty_card(tmp_path, cls):
    c = tmp_path / "cards" / "codecs"
    c.mkdir(parents=True, exist_ok=True)
    (c / "faulty.toml").write_text(f'id = "faulty"\nadapter = "plugin_example:{cls}"\n[ladder]\npoints = [20, 50, 80]\n')
    return tmp_path / "cards"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_task_that_raises_is_recorded_and_the_run_goes_on(reference, tmp_path, monkeypatch, workers, capsys):
    d, _ = reference
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("BENCH_CARDS", str(_faulty_card(tmp_path, "Raising")))
    args = ["run", "--dataset", str(d), "--codec", "jpeg", "--codec", "faulty", "--anchor", "jpeg",
            "--metric", "psnr", "--out", str(tmp_path / "o"), "--no-progress", "--workers", workers]
    assert main(args) == 1
    cap = capsys.readouterr()
    assert "adapter bug at quality 50" in cap.err and "2 failed" in cap.out
    db = sqlite3.connect(tmp_path / "o" / "bench.sqlite")
    tbs = [t for (t,) in db.execute("SELECT traceback FROM failures")]
    assert len(tbs) == 2 and all("RuntimeError: adapter bug" in t for t in tbs)
    assert db.execute("SELECT COUNT(*) FROM encodings WHERE codec='faulty'").fetchone()[0] == 4
    assert main(args + ["--allow-failures"]) == 0


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_task_that_hangs_is_stopped_by_the_timeout(reference, tmp_path, monkeypatch, workers, capsys):
    d, _ = reference
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("BENCH_CARDS", str(_faulty_card(tmp_path, "Sleepy")))
    t0 = time.time()
    rc = main(["run", "--dataset", str(d), "--codec", "faulty", "--metric", "psnr", "--out", str(tmp_path / "o"),
               "--no-progress", "--workers", workers, "--task-timeout", "2"])
    assert rc == 1 and time.time() - t0 < 60
    db = sqlite3.connect(tmp_path / "o" / "bench.sqlite")
    msgs = [m for (m,) in db.execute("SELECT message FROM failures")]
    assert len(msgs) == 2 and all("TaskTimeout" in m for m in msgs)
    assert db.execute("SELECT COUNT(*) FROM encodings").fetchone()[0] == 4


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_dask_localcluster_over_tcp_matches_and_survives_a_killed_worker(reference, tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask extra not installed")
    import threading

    d, ref = reference
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  protocol="tcp", dashboard_address=None) as cluster:
        addr = cluster.scheduler_address
        assert addr.startswith("tcp://127.0.0.1:")
        assert main(grid(tmp_path / "a", d, "--scheduler", addr)) == 0
        assert records(tmp_path / "a") == ref
        # tasks sent in chunks of 3 (the GPU path's batching), and in chunks of 2 to a pool: the same records
        assert main(grid(tmp_path / "c", d, "--scheduler", addr, "--batch", "3")) == 0
        assert records(tmp_path / "c") == ref
        assert main(grid(tmp_path / "p", d, "--workers", "2", "--batch", "2")) == 0
        assert records(tmp_path / "p") == ref
        # again, killing one worker process while the grid runs
        rc = []
        t = threading.Thread(target=lambda: rc.append(main(grid(tmp_path / "b", d, "--scheduler", addr))))
        t.start()
        with distributed.Client(addr) as c:
            db = tmp_path / "b" / "bench.sqlite"
            deadline = time.time() + 120
            while time.time() < deadline and not (db.exists() and sqlite3.connect(db).execute(
                    "SELECT name FROM sqlite_master WHERE name='encodings'").fetchone() and sqlite3.connect(db).execute(
                    "SELECT COUNT(*) FROM encodings").fetchone()[0] >= 2):
                time.sleep(0.05)
            pids = c.run(os.getpid)
            os.kill(next(iter(pids.values())), signal.SIGKILL)
        t.join(300)
        assert rc == [0]
        assert records(tmp_path / "b") == ref
