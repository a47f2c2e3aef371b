"""The standard FID / KID path (Inception-v3 pool3, pytorch-fid's weights file) without the real
weights: a same-architecture network with random weights is saved under the expected file name,
so the real loading code runs; our Fréchet distance and KID are checked against clean-fid's on
the same features."""
import numpy as np
import pytest

from bench import metrics as M
from bench.metrics import sets

cleanfid = pytest.importorskip("cleanfid.fid", reason="clean-fid (test extra) is the reference implementation")
piq = pytest.importorskip("piq")


@pytest.fixture
def random_inception(tmp_path, monkeypatch):
    import torch
    from piq.feature_extractors import fid_inception as F
    from torchvision import models

    torch.manual_seed(0)
    net = models.inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=True)
    net.Mixed_5b, net.Mixed_5c, net.Mixed_5d = F.FIDInceptionA(192, 32), F.FIDInceptionA(256, 64), F.FIDInceptionA(288, 64)
    net.Mixed_6b, net.Mixed_6c = F.FIDInceptionC(768, 128), F.FIDInceptionC(768, 160)
    net.Mixed_6d, net.Mixed_6e = F.FIDInceptionC(768, 160), F.FIDInceptionC(768, 192)
    net.Mixed_7b, net.Mixed_7c = F.FIDInceptionE1(1280), F.FIDInceptionE2(2048)
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    sd = net.state_dict()
    torch.save(sd, hub / "pt_inception-2015-12-05-6726825d.pth")
    from bench import weights

    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "torch"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # weights.configure() exports it: restore it after
    sets._inception.cache_clear()
    yield sd
    sets._inception.cache_clear()
    weights._configured = None  # the next configure() points torch.hub back at the real weights


def test_standard_inception_path_loads_the_named_file(random_inception, astronaut):
    ok, why = M.availability("fid")
    assert ok, why
    model = sets._inception()
    first = random_inception["Conv2d_1a_3x3.conv.weight"].numpy()
    assert any(v.shape == first.shape and np.array_equal(v.numpy(), first) for v in model.state_dict().values())
    last = random_inception["Mixed_7c.branch_pool.conv.weight"].numpy()
    assert any(v.shape == last.shape and np.array_equal(v.numpy(), last) for v in model.state_dict().values())
    f = sets.features(np.ascontiguousarray(astronaut), "inception")
    assert f.shape == (len(sets.patches(astronaut)), 2048) and np.isfinite(f).all()


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_frechet_distance_and_kid_equal_clean_fid_on_inception_features(random_inception, astronaut):
    img = np.ascontiguousarray(astronaut)
    noisy = np.clip(img.astype(int) + np.random.default_rng(0).integers(-40, 40, img.shape), 0, 255).astype(np.uint8)
    a = np.concatenate([sets.features(np.roll(img, s, axis=1), "inception") for s in range(0, 120, 8)])
    b = np.concatenate([sets.features(np.roll(noisy, s, axis=1), "inception") for s in range(0, 120, 8)])
    ours = sets.frechet_distance(a, b)
    ref = cleanfid.frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert ours == pytest.approx(ref, rel=1e-4)
    m = min(len(a), len(b))
    assert sets.kernel_distance(a, b, subsets=1, subset_size=m) == pytest.approx(
        cleanfid.kernel_distance(a, b, num_subsets=1, max_subset_size=m), rel=1e-9)


def test_frechet_distance_and_kid_equal_clean_fid_on_well_conditioned_features():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (500, 32))  # as many as b: both KIDs then use every row, no random subset
    b = rng.normal(0.3, 1.2, (500, 32)) @ rng.normal(0, 0.4, (32, 32)) + rng.normal(0, 1, (500, 32))
    ref = cleanfid.frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert sets.frechet_distance(a, b) == pytest.approx(ref, rel=1e-9)
    assert sets.kernel_distance(a, b, subsets=1, subset_size=500) == pytest.approx(
        cleanfid.kernel_distance(a, b, num_subsets=1, max_subset_size=500), rel=1e-9)
    assert sets.frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
