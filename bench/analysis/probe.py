"""Blind-spot probe: how far can a metric be pushed by editing the decoded pixels alone (the rate is
held: no re-encoding), and what happens to the other metrics meanwhile?

For each probed metric: signed-gradient steps on the pixels that improve it (step size in grey
levels, pixel values kept in [0, 255], a bounded number of steps, deterministic with a seed),
with every metric recorded on the 8-bit image along the way through the normal scorers. The
measured *gameability* is the largest share of its error (distance to its ideal value) the probed
metric sheds at a step where most held-out metrics are worse than at the start.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import metrics as metric_table

DIFFERENTIABLE = ("psnr", "ms-ssim", "lpips", "dists")
MAX_STEPS, MAX_STEP = 500, 8.0


@dataclass
class Trajectory:
    """One probe: the metric pushed, the scores of every watched metric along the steps."""
    probed: str
    steps: list  # step numbers recorded
    scores: dict  # metric -> [value per recorded step]
    final: np.ndarray = field(repr=False, default=None)  # the probed image (uint8)

    def gain(self, metric: str, k: int = -1) -> float:
        """Change toward better of `metric` at recorded step k against the start (metric units)."""
        v = self.scores[metric]
        return (v[k] - v[0]) * (1 if metric_table.get(metric).higher_is_better else -1)

    def error_removed(self, metric: str, k: int = -1) -> float:
        """The gain as a share of the start's distance to the metric's ideal (PSNR: of its MSE), so
        metrics in different units compare: 1 = a perfect score reached, 0 = no change."""
        v0, v = self.scores[metric][0], self.scores[metric][k]
        ideal = metric_table.get(metric).ideal
        if ideal is None:
            return float("nan")
        if np.isinf(ideal):  # PSNR-like: the share of the MSE removed
            return 1 - 10 ** (-(v - v0) / 10)
        return (v - v0) / (ideal - v0) if ideal != v0 else 0.0

    @property
    def gameability(self) -> float:
        """The largest share of its error the probed metric sheds at a step where most held-out
        metrics are worse than at the start (0: it cannot be pushed without the others following)."""
        others = [m for m in self.scores if m != self.probed]
        best = 0.0
        for k in range(1, len(self.steps)):
            if others and sum(self.gain(m, k) < 0 for m in others) > len(others) / 2:
                best = max(best, self.error_removed(self.probed, k))
        return best


def _quality(metric: str):
    """A differentiable score of x (1x3xHxW in [0, 255]) against ref, higher = better."""
    import torch

    if metric == "psnr":
        return lambda x, r: 10 * torch.log10(255.0 ** 2 / torch.mean((x - r) ** 2).clamp_min(1e-10))
    if metric == "ms-ssim":
        from pytorch_msssim import ms_ssim

        return lambda x, r: ms_ssim(x, r, data_range=255.0)
    if metric == "lpips":
        from ..metrics.deep import lpips_model

        net = lpips_model("alex")
        return lambda x, r: -net(x / 127.5 - 1, r / 127.5 - 1).mean()
    if metric == "dists":
        import piq

        from .. import weights

        weights.configure()
        net = piq.DISTS(reduction="none").eval()  # its own instance: the scorer's was built under inference_mode
        return lambda x, r: piq.perceptual.ContentLoss.forward(net, x / 255.0, r / 255.0).mean() - 1
    raise ValueError(f"{metric}: not differentiable here; probe one of {', '.join(DIFFERENTIABLE)}")


def probe_one(ref: np.ndarray, start: np.ndarray, probed: str, watch: list, *, steps: int, step: float,
              seed: int = 0, every: int | None = None) -> Trajectory:
    """Signed-gradient steps on the decoded pixels that improve one metric, the others recorded."""
    import torch

    if not (1 <= steps <= MAX_STEPS) or not (0 < step <= MAX_STEP):
        raise ValueError(f"steps must be 1..{MAX_STEPS} and step 0..{MAX_STEP} grey levels")
    torch.manual_seed(seed)
    q = _quality(probed)
    r = torch.from_numpy(ref.astype(np.float32)).permute(2, 0, 1)[None]
    x = torch.from_numpy(start.astype(np.float32)).permute(2, 0, 1)[None]
    every = every or max(1, steps // 10)
    traj = Trajectory(probed, [], {m: [] for m in watch})

    def record(k, img):
        traj.steps.append(k)
        for m in watch:
            traj.scores[m].append(metric_table.score(m, ref, img))

    record(0, start)
    for k in range(1, steps + 1):
        x.requires_grad_(True)
        g, = torch.autograd.grad(q(x, r), x)
        with torch.no_grad():
            x = (x + step * torch.sign(g)).clamp(0, 255)
        if k % every == 0 or k == steps:
            img = np.clip(np.rint(x[0].permute(1, 2, 0).numpy()), 0, 255).astype(np.uint8)
            record(k, img)
    traj.final = img
    return traj


def run_probe(ref, start, metrics, *, steps=40, step=0.5, seed=0) -> list[Trajectory]:
    """A probe per differentiable metric of `metrics`, each watching all of them."""
    probed = [m for m in metrics if m in DIFFERENTIABLE]
    if not probed:
        raise ValueError(f"none of {', '.join(metrics)} can be probed; differentiable: {', '.join(DIFFERENTIABLE)}")
    return [probe_one(ref, start, m, metrics, steps=steps, step=step, seed=seed) for m in probed]
