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
