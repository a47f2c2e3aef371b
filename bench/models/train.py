"""`bench train`: train (or fine-tune) one learned codec, resumable, then export it.

State (model, both optimisers, step, RNG, log) goes to <run-dir>/state.pt every
`checkpoint_every` steps and at the end, written atomically; rerunning the same command resumes
from it. `--init` starts from another run's state or an exported checkpoint (fine-tuning).
Per-step terms are appended to <run-dir>/log.csv (step, loss, bpp, mse, msssim, lpips, seconds).
"""
from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass
class TrainConfig:
    """One training stage: objective, lambda, data, schedule, model widths, checkpoints."""
    run_dir: str
    objective: str = "mse"
    lmbda: float = 0.013
    alpha: float = 1.0
    beta: float = 1.0
    steps: int = 1000
    dataset: str = "bsds500"  # one dataset, or several joined by commas (their images pooled)
    data_dir: str | None = None
    crop: int = 128
    batch: int = 8
    lr: float = 1e-4
    lr_drop_at: int | None = None  # lr / 10 from this step on (the usual end-of-training decay)
    N: int = 64
    M: int = 96
    init: str | None = None
    export: str | None = None
    seed: int = 0
    threads: int = 1
    checkpoint_every: int = 200
    log_every: int = 25
    max_minutes: float | None = None
    device: str = "cpu"  # cpu, cuda, cuda:N: where the steps run; the export is always a CPU model


def _load_images(cfg: TrainConfig, min_side: int) -> list[np.ndarray]:
    from ..datasets import resolve

    imgs = []
    for name in cfg.dataset.split(","):
        for _, im in resolve(name.strip(), cfg.data_dir).images():
            if not isinstance(im, Exception) and min(im.pixels.shape[:2]) >= min_side:
                imgs.append(im.pixels)
    if not imgs:
        from ..errors import DatasetError

        raise DatasetError(f"dataset {cfg.dataset!r}: no usable training images of side >= {min_side}")
    return imgs


def _batch(imgs, cfg, gen):
    import torch

    out = []
    for _ in range(cfg.batch):
        a = imgs[int(torch.randint(len(imgs), (1,), generator=gen))]
        h, w = a.shape[:2]
        y = int(torch.randint(h - cfg.crop + 1, (1,), generator=gen))
        x = int(torch.randint(w - cfg.crop + 1, (1,), generator=gen))
        c = a[y:y + cfg.crop, x:x + cfg.crop]
        if torch.rand(1, generator=gen) < 0.5:
            c = c[:, ::-1]
        if torch.rand(1, generator=gen) < 0.5:
            c = c[::-1]
        out.append(np.ascontiguousarray(c))
    x = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(cfg.device).float() / 255.0
    return x.contiguous(memory_format=torch.channels_last)  # ~8 % faster convolutions on CPU


def _truncate_log(path: Path, step: int) -> None:
    if path.is_file():
        rows = list(csv.reader(open(path)))
        keep = rows[:1] + [r for r in rows[1:] if int(r[0]) <= step]
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows(keep)


def _save(path: Path, obj) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _optimisers(model, lr):
    import torch

    params = {n for n, p in model.named_parameters() if not n.endswith(".quantiles") and p.requires_grad}
    aux = {n for n, p in model.named_parameters() if n.endswith(".quantiles") and p.requires_grad}
    named = dict(model.named_parameters())
    return (torch.optim.Adam([named[n] for n in sorted(params)], lr=lr),
            torch.optim.Adam([named[n] for n in sorted(aux)], lr=1e-3))


def train(cfg: TrainConfig) -> dict:
    """Train (or resume) one stage; returns the last step's numbers."""
    import torch

    from . import dpc

    if cfg.objective != "mse" and cfg.crop <= 16 * (dpc.TRAIN_MSSSIM_WIN - 1):
        from ..errors import BenchError

        raise BenchError(f"--crop {cfg.crop}: the {cfg.objective} objective's MS-SSIM needs crops over "
                         f"{16 * (dpc.TRAIN_MSSSIM_WIN - 1)} px (4 downsamplings of a {dpc.TRAIN_MSSSIM_WIN}-px window)")
    torch.set_num_threads(cfg.threads)
    run = Path(cfg.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    state_path = run / "state.pt"
    model = dpc.build(N=cfg.N, M=cfg.M)
    opt, aux_opt = _optimisers(model, cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, wall = 0, 0.0
    if state_path.is_file():
        st = torch.load(state_path, map_location="cpu", weights_only=True)
        model.load_state_dict(st["model"])
        model.to(cfg.device)  # in place (the optimisers keep their parameters); moments follow at load
        opt.load_state_dict(st["opt"])
        aux_opt.load_state_dict(st["aux_opt"])
        gen.set_state(st["rng"])
        step, wall = st["step"], st["wall_s"]
        _truncate_log(run / "log.csv", step)  # rows logged after the last checkpoint are redone
        print(f"resuming {run} at step {step}")
    elif cfg.init:
        src = torch.load(cfg.init, map_location="cpu", weights_only=True)
        if "model" in src:  # another run's state.pt
            model.load_state_dict(src["model"])
        else:  # an exported inference checkpoint (fp16, no entropy tables)
            model = dpc.load(cfg.init)[0].train()
            opt, aux_opt = _optimisers(model, cfg.lr)
        print(f"initialised from {cfg.init}")
    (run / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    objective = dpc.Objective(cfg.objective, cfg.lmbda, cfg.alpha, cfg.beta, device=cfg.device)
    imgs = _load_images(cfg, cfg.crop)
    model = model.to(cfg.device, memory_format=torch.channels_last).train()
    log_path = run / "log.csv"
    new_log = not log_path.is_file()
    deadline = time.time() + 60 * cfg.max_minutes if cfg.max_minutes else None
    with open(log_path, "a", newline="") as lf:
        w = csv.writer(lf)
        if new_log:
            w.writerow(["step", "loss", "bpp", "mse", "msssim", "lpips", "aux", "wall_s"])
        t_last = time.time()
        while step < cfg.steps:
            for g in opt.param_groups:  # set every step: the command's schedule wins over a resumed one
                g["lr"] = cfg.lr / 10 if cfg.lr_drop_at is not None and step >= cfg.lr_drop_at else cfg.lr
            x = _batch(imgs, cfg, gen)
            out = model(x)
            loss, terms = objective(out, x)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            aux = model.aux_loss()
            aux_opt.zero_grad()
            aux.backward()
            aux_opt.step()
            step += 1
            now = time.time()
            wall += now - t_last
            t_last = now
            if step % cfg.log_every == 0 or step == cfg.steps:
                w.writerow([step] + [f"{terms.get(k, float('nan')):.6g}" for k in
                                     ("loss", "bpp", "mse", "msssim", "lpips")] + [f"{float(aux.detach()):.4g}", f"{wall:.1f}"])
                lf.flush()
            stop = deadline is not None and now > deadline
            if step % cfg.checkpoint_every == 0 or step == cfg.steps or stop:
                _save(state_path, {"model": model.state_dict(), "opt": opt.state_dict(),
                                   "aux_opt": aux_opt.state_dict(), "rng": gen.get_state(),
                                   "step": step, "wall_s": wall})
            if stop:
                print(f"stopping at step {step} (--max-minutes); rerun to resume")
                break
    meta = {"arch": "mean_scale_hyperprior", "N": cfg.N, "M": cfg.M, "objective": cfg.objective,
            "lmbda": cfg.lmbda, "alpha": cfg.alpha, "beta": cfg.beta, "steps": step, "crop": cfg.crop,
            "batch": cfg.batch, "lr": cfg.lr, "lr_drop_at": cfg.lr_drop_at, "dataset": cfg.dataset, "init": cfg.init or "",
            "wall_s_this_stage": round(wall, 1)}
    if cfg.export and step >= cfg.steps:
        meta["device"] = cfg.device
        dpc.export(model.cpu().eval(), cfg.export, meta)
        print(f"exported {cfg.export}")
    return {"step": step, "wall_s": wall, "meta": meta}
