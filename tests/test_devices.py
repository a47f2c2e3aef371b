"""--device: where metric networks run. The CPU paths run everywhere; the CUDA cases need a GPU
and say so when skipped."""
import os
import sqlite3

import numpy as np
import pytest
from conftest import need_metric

from bench.cli import main


def _run(tmp_path, name, *extra):
    out = tmp_path / name
    args = ["run", "--codec", "jpeg", "--metric", "psnr", "--metric", "lpips", "--anchor", "jpeg", "--out", str(out),
            "--no-progress", "--image", "astronaut", *extra]
    return main(args), out


def _records(out):
    db = sqlite3.connect(out / "bench.sqlite")
    try:
        return sorted(db.execute("SELECT codec, point_index, metric, metric_version, value FROM records").fetchall())
    finally:
        db.close()


@pytest.fixture(autouse=True)
def _restore_device():
    before = os.environ.get("BENCH_DEVICE")
    yield
    if before is None:
        os.environ.pop("BENCH_DEVICE", None)
    else:
        os.environ["BENCH_DEVICE"] = before


def test_auto_without_a_gpu_is_the_cpu_with_the_same_numbers_and_keys(tmp_path, capsys):
    need_metric("lpips")
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: auto means cuda here (see the CUDA test)")
    rc_cpu, cpu = _run(tmp_path, "cpu", "--device", "cpu")
    rc_auto, auto = _run(tmp_path, "auto")  # the default
    assert rc_cpu == rc_auto == 0, capsys.readouterr().err
    assert _records(cpu) == _records(auto)
    assert all("cuda" not in r[3] for r in _records(auto))


def test_cuda_without_a_gpu_is_an_input_error(tmp_path, capsys):
    need_metric("lpips")
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    rc, out = _run(tmp_path, "cuda", "--device", "cuda")
    err = capsys.readouterr().err
    assert rc == 2 and "torch sees no CUDA device" in err and "--device cpu" in err and "Traceback" not in err
    assert not (out / "bench.sqlite").exists()


def test_an_unknown_device_is_an_input_error(tmp_path, capsys):
    need_metric("lpips")
    rc, _ = _run(tmp_path, "x", "--device", "tpu")
    assert rc == 2 and "valid devices are auto, cpu, cuda, cuda:N" in capsys.readouterr().err


def test_psnr_only_never_resolves_the_device(tmp_path, capsys):
    """No network metric: even --device cuda on a CPU machine is not an error (nothing runs there)."""
    out = tmp_path / "p"
    assert main(["run", "--codec", "jpeg", "--metric", "psnr", "--anchor", "jpeg", "--out", str(out), "--no-progress",
                 "--image", "astronaut", "--device", "cuda"]) == 0, capsys.readouterr().err


def test_lpips_on_cuda_matches_the_cpu_and_is_keyed_apart(tmp_path, astronaut, capsys):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine: the GPU path is exercised where one exists")
    need_metric("lpips")
    from bench import metrics as M

    rng = np.random.default_rng(0)
    dist = np.clip(astronaut.astype(int) + rng.integers(-20, 21, astronaut.shape), 0, 255).astype(np.uint8)
    os.environ["BENCH_DEVICE"] = "cpu"
    cpu, key_cpu = M.score("lpips", astronaut, dist), M.version_key("lpips")
    os.environ["BENCH_DEVICE"] = "cuda"
    gpu, key_gpu = M.score("lpips", astronaut, dist), M.version_key("lpips")
    assert gpu == pytest.approx(cpu, abs=1e-4) and key_gpu == key_cpu + "|cuda"


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_one_gpu_per_worker_process(monkeypatch):
    """Pool workers take slots 0, 1, ... at start; with --device auto/cuda and several GPUs
    visible each sees only GPU slot % count; an explicit cuda:N or the CPU leaves them alone."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from bench import devices
    from bench.runner import executors

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    for req, want in (("auto", {"3", "5"}), ("cuda", {"3", "5"}), ("cuda:1", {"3,5"}), ("cpu", {"3,5"})):
        monkeypatch.setenv("BENCH_DEVICE", req)
        slots = multiprocessing.Value("i", 0)
        with ProcessPoolExecutor(2, initializer=executors._init_worker, initargs=(1, slots)) as ex:
            seen = set(ex.map(_visible_after_a_pause, range(8)))
        assert seen == want, req
    monkeypatch.setenv("BENCH_DEVICE", "auto")
    for slot, gpu in ((0, "3"), (1, "5"), (2, "3")):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
        devices.pin_gpu(slot)
        assert os.environ["CUDA_VISIBLE_DEVICES"] == gpu
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4")  # one GPU: nothing to split
    devices.pin_gpu(1)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "4" and devices.visible_gpus() == ["4"]


def _visible_after_a_pause(_):
    import time

    time.sleep(0.2)  # both workers take tasks
    return os.environ.get("CUDA_VISIBLE_DEVICES")


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_lpips_and_dists_batched_across_tasks_equal_the_per_task_scores(tmp_path, capsys):
    """--batch 4: each worker call scores 4 tasks' LPIPS / DISTS in one pass per image shape
    (the GPU default); the records equal the per-task run's (on this CPU: exactly)."""
    need_metric("lpips")
    need_metric("dists")
    out = {}
    for b in ("1", "4"):
        rc, out[b] = _run(tmp_path, f"b{b}", "--device", "cpu", "--metric", "dists", "--batch", b,
                          "--image", "coffee")
        assert rc == 0, capsys.readouterr().err
    one, four = _records(out["1"]), _records(out["4"])
    assert len(one) == 2 * 8 * 3 and [r[:4] for r in one] == [r[:4] for r in four]
    assert max(abs(a[4] - b[4]) for a, b in zip(one, four)) <= 1e-6


def test_a_failing_batch_is_scored_again_task_by_task(monkeypatch, astronaut):
    need_metric("lpips")
    from bench import metrics as M
    from bench.runner import task as T

    rng = np.random.default_rng(1)
    small = astronaut[:200, :240]
    noisy = np.clip(small.astype(int) + rng.integers(-9, 10, small.shape), 0, 255).astype(np.uint8)
    jobs = [dict(image_name=n, pixels=p, codec_id="jpeg", point_index=0, point=q, metric_names=["psnr", "lpips"])
            for n, p, q in (("a", small, 30), ("b", small, 60), ("c", noisy, 30), ("d", small[:160], 30))]
    calls = []
    real = M.score_many
    monkeypatch.setattr(M, "score_many", lambda n, r, d: calls.append(len(d)) or real(n, r, d))
    batched = T.compute_many(jobs)
    assert sorted(calls) == [1, 3]  # grouped by shape: 3 of 200 x 240, 1 of 160 x 240
    single = [T.compute(**j) for j in jobs]
    for b, s in zip(batched, single):
        assert {x["metric"]: x["value"] for x in b["scores"]} == pytest.approx(
            {x["metric"]: x["value"] for x in s["scores"]}, abs=1e-6)

    def broken(n, r, d):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(M, "score_many", broken)
    again = T.compute_many(jobs)  # every task still scored, one by one
    assert [len(o["scores"]) for o in again] == [2, 2, 2, 2] and not any(o["failures"] for o in again)


def test_batch_and_workers_below_one_are_input_errors(tmp_path, capsys):
    for opt in ("--batch", "--workers"):
        assert main(["run", "--codec", "jpeg", "--metric", "psnr", "--out", str(tmp_path / "x"), opt, "0"]) == 2
        assert f"{opt} 0: give a whole number of at least 1" in capsys.readouterr().err


def test_batched_lpips_on_cuda_matches_one_by_one(astronaut):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine: the GPU path is exercised where one exists")
    need_metric("lpips")
    from bench import metrics as M

    rng = np.random.default_rng(2)
    dists = [np.clip(astronaut.astype(int) + rng.integers(-k, k + 1, astronaut.shape), 0, 255).astype(np.uint8)
             for k in (5, 10, 20, 40)]
    os.environ["BENCH_DEVICE"] = "cuda"
    many = M.score_many("lpips", [astronaut] * 4, dists)
    one = [M.score("lpips", astronaut, d) for d in dists]
    assert many == pytest.approx(one, abs=1e-5) and many == sorted(many)
