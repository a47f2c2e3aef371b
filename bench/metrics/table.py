"""The metric table: every metric is a row of data (variants are rows, not subclasses).

Columns: name, kind (fr = full-reference, nr = no-reference, set = distribution over a set),
direction, range, colour convention, input range, backend distribution, the function that
computes it ('module:function', imported lazily), its keyword parameters, weight files
(relative to the torch hub dir), the row version (bump it when numbers change) and a note.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metric:
    """A row of the metric table: name, kind, direction, range, colour space, backend, weights, version."""
    name: str
    kind: str  # "fr" | "nr" | "set"
    higher_is_better: bool
    range: tuple  # (low, high); None = unbounded
    colour: str
    input_range: str
    backend: str  # the distribution whose code computes it
    fn: str
    params: dict = field(default_factory=dict)
    weights: tuple = ()
    ideal: float | None = None
    version: str = "1"
    note: str = ""
    unit: str = ""  # axis and table unit ("dB"); empty for unitless scores
    origin: str = "built-in"  # or the metric card / entry point it came from
    title: str = ""  # axis and caption name when NAME.upper() reads badly

    @property
    def label(self) -> str:
        """The metric's name with its unit, for axes and headers."""
        return self.title or self.name.upper()


INF = None
ROWS = [
    Metric("psnr", "fr", True, (0, INF), "RGB", "[0,255]", "numpy", "bench.metrics.classic:psnr",
           ideal=float("inf"), unit="dB", note="MSE over all pixels and the 3 channels, peak 255; dB"),
    Metric("psnr-y", "fr", True, (0, INF), "Y' (BT.601 luma, full range, unrounded)", "[0,255]", "numpy",
           "bench.metrics.classic:psnr_y", ideal=float("inf"), unit="dB",
           note="PSNR of Y' = 0.299 R + 0.587 G + 0.114 B from the 8-bit RGB values, peak 255; dB"),
    Metric("ssim", "fr", True, (0, 1), "grey (MATLAB rgb2gray, 8-bit)", "[0,255]", "pytorch-msssim",
           "bench.metrics.classic:ssim", {"colour": "grey"}, ideal=1.0,
           note="Wang et al. 11x11 Gaussian, valid filtering, no downsampling; matches the official MATLAB values"),
    Metric("ssim-rgb", "fr", True, (0, 1), "RGB (mean of channels)", "[0,255]", "pytorch-msssim",
           "bench.metrics.classic:ssim", {"colour": "rgb"}, ideal=1.0),
    Metric("ms-ssim", "fr", True, (0, 1), "RGB (mean of per-channel MS-SSIM)", "[0,255]", "pytorch-msssim",
           "bench.metrics.classic:ms_ssim", {"colour": "rgb"}, ideal=1.0,
           note="the learned-compression convention (CompressAI); needs sides >= 161 px"),
    Metric("ms-ssim-grey", "fr", True, (0, 1), "grey (MATLAB rgb2gray, 8-bit)", "[0,255]", "pytorch-msssim",
           "bench.metrics.classic:ms_ssim", {"colour": "grey"}, ideal=1.0,
           note="the IQA convention of the official MATLAB code; needs sides >= 161 px"),
]

ALEX = "checkpoints/alexnet-owt-7be5be79.pth"
VGG = "checkpoints/vgg16-397923af.pth"
PIQ = "bench.metrics.piq_backend:score"
PYIQA_FR, PYIQA_NR = "bench.metrics.pyiqa_backend:fr", "bench.metrics.pyiqa_backend:nr"
ROWS += [
    # perceptual full-reference
    Metric("lpips", "fr", False, (0, 1), "RGB", "[-1,1]", "lpips", "bench.metrics.deep:lpips", {"net": "alex"},
           weights=(ALEX,), ideal=0.0, note="LPIPS v0.1, AlexNet features + learned linear layers"),
    Metric("lpips-vgg", "fr", False, (0, 1), "RGB", "[-1,1]", "lpips", "bench.metrics.deep:lpips", {"net": "vgg"},
           weights=(VGG,), ideal=0.0, note="LPIPS v0.1, VGG16; ~20x slower than alex on a CPU"),
    Metric("dists", "fr", False, (0, 1), "RGB", "[0,1]", "piq", "bench.metrics.deep:dists",
           weights=(VGG, "checkpoints/dists_weights.pt"), ideal=0.0,
           note="DISTS (Ding et al. 2020) at full resolution, piq's network; matches the official values"),
    Metric("dists-256", "fr", False, (0, 1), "RGB", "[0,1]", "piq", "bench.metrics.deep:dists", {"resize": True},
           weights=(VGG, "checkpoints/dists_weights.pt"), ideal=0.0,
           note="piq's default: shorter side bilinearly resized to 256 px first (faster, different numbers)"),
    Metric("fsim", "fr", True, (0, 1), "YIQ (FSIMc)", "[0,1]", "piq", PIQ, {"fn": "fsim"}, ideal=1.0),
    Metric("gmsd", "fr", False, (0, INF), "Y (luminance)", "[0,1]", "piq", PIQ, {"fn": "gmsd"}, ideal=0.0),
    Metric("iw-ssim", "fr", True, (0, 1), "Y of YIQ (0.299 R + 0.587 G + 0.114 B, unrounded)", "[0,1]", "piq", PIQ,
           {"fn": "information_weighted_ssim", "ref_first": True}, ideal=1.0, title="IW-SSIM",
           note="Wang & Li 2011, 5 scales; equals the authors' MATLAB iwssim on TID2013 I01 / i01_01_5 (0.946805)"),
    Metric("vsi", "fr", True, (0, 1), "LMN", "[0,1]", "piq", PIQ, {"fn": "vsi"}, ideal=1.0),
    Metric("haarpsi", "fr", True, (0, 1), "YIQ", "[0,1]", "piq", PIQ, {"fn": "haarpsi"}, ideal=1.0,
           note="no official calibration values in the TID2013 set"),
    Metric("vif", "fr", True, (0, INF), "Y", "[0,1]", "pyiqa", PYIQA_FR, {"name": "vif"}, ideal=1.0,
           note="pixel-domain VIF matching the official values; piq's vif_p does not (0.07 vs 0.017 on I03)"),
    Metric("nlpd", "fr", False, (0, INF), "Y", "[0,1]", "pyiqa", PYIQA_FR, {"name": "nlpd"}, ideal=0.0),
    # no-reference realism (scored on the decoded image alone)
    Metric("niqe", "nr", False, (0, INF), "Y (MATLAB rgb2gray)", "[0,1]", "pyiqa", PYIQA_NR, {"name": "niqe"},
           weights=("pyiqa/niqe_modelparameters.mat",), note="LIVE NIQE model parameters"),
    Metric("brisque", "nr", False, (None, None), "grey", "[0,1]", "pyiqa", PYIQA_NR, {"name": "brisque"},
           weights=("pyiqa/brisque_svm_weights.pth",), note="LIVE BRISQUE SVR (774 SVs); piq's differs by 10% on I19"),
    Metric("ilniqe", "nr", False, (0, INF), "RGB", "[0,1]", "pyiqa", PYIQA_NR, {"name": "ilniqe"},
           weights=("pyiqa/ILNIQE_templateModel.mat",), note="~25 s per 512x384 image on one CPU core"),
    Metric("pi", "nr", False, (None, None), "RGB", "[0,1]", "pyiqa", PYIQA_NR, {"name": "pi"},
           weights=("pyiqa/NRQM_model.mat", "pyiqa/niqe_modelparameters.mat"),
           note="Perceptual Index = (10 - NRQM + NIQE) / 2; needs the NRQM model"),
    Metric("musiq", "nr", True, (0, 100), "RGB", "[0,1]", "pyiqa", PYIQA_NR, {"name": "musiq"},
           weights=("pyiqa/musiq_koniq_ckpt-e95806b9.pth",)),
    Metric("clipiqa", "nr", True, (0, 1), "RGB", "[0,1]", "pyiqa", PYIQA_NR, {"name": "clipiqa"},
           weights=("clip/RN50.pt",), note="OpenAI CLIP RN50, read by pyiqa's CLIP loader from <hub>/clip"),
    Metric("topiq-nr", "nr", True, (0, 1), "RGB", "[0,1]", "pyiqa", PYIQA_NR, {"name": "topiq_nr", "backbone_pretrain": False},
           weights=("pyiqa/cfanet_nr_koniq_res50-9a73138b.pth",),
           note="the CFANet checkpoint holds the whole net: timm's ImageNet ResNet-50 (a Hugging Face download) is not fetched"),
]

# distribution realism over HiFiC patches (bench.metrics.sets); `fn` names the feature extractor
ROWS += [
    Metric("fid", "set", False, (0, INF), "RGB", "[0,1]", "piq", "inception",
           weights=("checkpoints/pt_inception-2015-12-05-6726825d.pth",), ideal=0.0,
           note="standard FID: Inception-v3 pool3 (pytorch-fid weights) on 256-px HiFiC patches"),
    Metric("kid", "set", False, (None, INF), "RGB", "[0,1]", "piq", "inception",
           weights=("checkpoints/pt_inception-2015-12-05-6726825d.pth",), ideal=0.0,
           note="standard KID (cubic polynomial kernel, unbiased) on Inception-v3 pool3 features"),
    Metric("fid-vgg16", "set", False, (0, INF), "RGB", "[0,1]", "torchvision", "vgg16",
           weights=("checkpoints/vgg16-397923af.pth",), ideal=0.0,
           note="Frechet distance on VGG16 conv5_3 GAP features: NOT comparable to published FID"),
    Metric("kid-vgg16", "set", False, (None, INF), "RGB", "[0,1]", "torchvision", "vgg16",
           weights=("checkpoints/vgg16-397923af.pth",), ideal=0.0,
           note="kernel distance on VGG16 conv5_3 GAP features: NOT comparable to published KID"),
]

# the libvmaf family (optional extra `ctc`): the AOM CTC's VMAF / VMAF-NEG / PSNR-HVS / CIEDE2000 / CAMBI, computed by
# libvmaf (v0.6.1 models) inside the imageio-ffmpeg wheel's ffmpeg on Y'CbCr converted here (bench.metrics.vmaf_backend)
VMAF = "bench.metrics.vmaf_backend:score"
YUV709 = "Y'CbCr BT.709, full range, 4:4:4, 8-bit (converted by percept-bench, not ffmpeg)"
ROWS += [
    Metric("vmaf", "fr", True, (0, 100), YUV709, "[0,255]", "imageio-ffmpeg", VMAF, {"feature": "vmaf"}, title="VMAF",
           note="libvmaf vmaf_v0.6.1; one frame: motion 0; not clipped"),
    Metric("vmaf-neg", "fr", True, (0, 100), YUV709, "[0,255]", "imageio-ffmpeg", VMAF, {"feature": "vmaf-neg"},
           title="VMAF-NEG", note="libvmaf vmaf_v0.6.1neg (no enhancement gain)"),
    Metric("psnr-hvs-y", "fr", True, (0, INF), YUV709, "[0,255]", "imageio-ffmpeg", VMAF, {"feature": "psnr-hvs-y"},
           ideal=float("inf"), unit="dB", title="PSNR-HVS-Y", note="libvmaf psnr_hvs (Daala's PSNR-HVS) on Y'"),
    Metric("psnr-hvs", "fr", True, (0, INF), YUV709, "[0,255]", "imageio-ffmpeg", VMAF, {"feature": "psnr-hvs"},
           ideal=float("inf"), unit="dB", title="PSNR-HVS", note="libvmaf psnr_hvs: (6 Y + Cb + Cr) / 8 of the per-plane values"),
    Metric("ciede2000", "fr", True, (0, INF), YUV709, "[0,255]", "imageio-ffmpeg", VMAF, {"feature": "ciede2000"},
           ideal=float("inf"), unit="dB", title="CIEDE2000", note="libvmaf ciede: 45 - 20 log10(mean dE00), the AOM CTC form"),
    Metric("cambi", "nr", False, (0, INF), YUV709, "[0,255]", "imageio-ffmpeg", "bench.metrics.vmaf_backend:score_nr",
           {"feature": "cambi"}, title="CAMBI", note="libvmaf cambi: banding of the decoded image alone (0: none)"),
]

# libjxl's Butteraugli, computed by its own reference tool (bench.metrics.tools); sRGB in, 80 nits
ROWS += [
    Metric("butteraugli", "fr", False, (0, INF), "sRGB -> linear, intensity target 80 nits", "[0,255]",
           "binary:butteraugli_main", "bench.metrics.tools:butteraugli", {"stat": "max"}, ideal=0.0,
           title="Butteraugli (max)", note="libjxl butteraugli_main: the maximum of the distance map"),
    Metric("butteraugli-3norm", "fr", False, (0, INF), "sRGB -> linear, intensity target 80 nits", "[0,255]",
           "binary:butteraugli_main", "bench.metrics.tools:butteraugli", {"stat": "3-norm"}, ideal=0.0,
           title="Butteraugli (3-norm)", note="libjxl butteraugli_main --pnorm 3"),
]

# SSIMULACRA 2 (2023), libjxl's tools/ssimulacra2.cc written again in numpy; checked against the C++ tool's
# published scores (tests/test_ssimulacra2.py)
ROWS += [
    Metric("ssimulacra2", "fr", True, (INF, 100), "sRGB -> linear -> XYB (libjxl opsin), 255 nits", "[0,255]", "numpy",
           "bench.metrics.ssimulacra2:score", ideal=100.0, title="SSIMULACRA2",
           note="100 identical, 90 visually lossless at 1:1, 70 high, 50 medium, 30 low quality; negative: severe"),
]

# ColorVideoVDP through its authors' package (bench.metrics.cvvdp_backend)
ROWS += [
    Metric("cvvdp", "fr", True, (0, 10), "sRGB 8-bit on the display model standard_4k (30-inch 4K, 200 cd/m2, 0.7 m)",
           "[0,255]", "cvvdp", "bench.metrics.cvvdp_backend:score", {"display": "standard_4k"}, ideal=10.0,
           unit="JOD", title="ColorVideoVDP", note="pycvvdp's own display model and calibration; 10 JOD = no visible difference"),
]

# PSNR per plane of the 8-bit Y'CbCr the CTC tables use (BT.709 full range 4:4:4, as the libvmaf rows)
ROWS += [Metric(f"psnr-{p}709", "fr", True, (0, INF), f"{label} of Y'CbCr BT.709, full range, 4:4:4, 8-bit", "[0,255]",
                "numpy", "bench.metrics.classic:psnr_plane", {"plane": i, "matrix": "bt709"}, ideal=float("inf"),
                unit="dB", title=f"PSNR-{p.upper()} (BT.709)", note=f"PSNR of the {label} plane, peak 255")
         for i, (p, label) in enumerate([("y", "Y'"), ("cb", "Cb"), ("cr", "Cr")])]

# the JPEG AI common test conditions' metrics as its quality framework computes them (bench.metrics.jpegai): RGB ->
# Y'CbCr BT.709 full range, rounded to 10 bits; every row but FSIM reads Y'
JPEGAI = "bench.metrics.jpegai:score"
JAI = "Y'CbCr BT.709, full range, 10-bit (the JPEG AI framework's conversion)"
JAI_Y = f"Y' of {JAI}"
ROWS += [Metric(f"jpegai-psnr-{p}", "fr", True, (0, INF), f"{p.upper()} of {JAI}", "[0,1]", "numpy", JPEGAI,
                {"fn": "psnr", "plane": i}, ideal=float("inf"), unit="dB", title=f"PSNR-{p.upper()} (JPEG AI)",
                note="peak 1023 on the 10-bit plane (the framework gives 100 for identical images)")
         for i, p in enumerate("yuv")]
ROWS += [
    Metric("jpegai-ms-ssim", "fr", True, (0, 1), JAI_Y, "[0,1023]", "pytorch-msssim", JPEGAI, {"fn": "ms-ssim"}, ideal=1.0,
           title="MS-SSIM-Y (JPEG AI)", note="pytorch-msssim on 1023 x Y', data range 1023; sides < 164 px zero-padded"),
    Metric("jpegai-vif", "fr", True, (0, INF), JAI_Y, "[0,1]", "IQA_pytorch", JPEGAI, {"fn": "vif"}, ideal=1.0,
           title="VIF-Y (JPEG AI)",
           note="IQA_pytorch VIFs: the spatial-domain multi-scale VIF (vifp_mscale), not the wavelet VIF of the vif row"),
    Metric("jpegai-nlpd", "fr", False, (0, INF), JAI_Y, "[0,1]", "IQA_pytorch", JPEGAI, {"fn": "nlpd"}, ideal=0.0,
           title="NLPD-Y (JPEG AI)", note="IQA_pytorch NLPD, one channel: within 0.03 of the authors' MATLAB, not equal"),
    Metric("jpegai-iw-ssim", "fr", True, (0, 1), JAI_Y, "[0,255]", "piq", JPEGAI, {"fn": "iw-ssim"}, ideal=1.0,
           title="IW-SSIM-Y (JPEG AI)", note="piq's IW-SSIM (= the authors' MATLAB) on 255 x Y', reference first"),
    Metric("jpegai-fsim", "fr", True, (0, 1), "RGB rounded to 10 bits (FSIMc: piq converts to YIQ)", "[0,1]", "piq", JPEGAI,
           {"fn": "fsim"}, ideal=1.0, title="FSIM (JPEG AI)", note="piq fsim, chromatic, on the framework's 10-bit RGB"),
    Metric("jpegai-vmaf", "fr", True, (0, 100), JAI_Y, "[0,1023]", "imageio-ffmpeg", JPEGAI, {"fn": "vmaf"},
           title="VMAF (JPEG AI)", note="libvmaf vmaf_v0.6.1 on the 10-bit planes (yuv444p10le); one frame: motion 0"),
    Metric("jpegai-psnr-hvs", "fr", True, (0, INF), JAI_Y, "[0,1]", "numpy", JPEGAI, {"fn": "psnr-hvs"}, ideal=float("inf"),
           unit="dB", title="PSNR-HVS-Y (JPEG AI)",
           note="Ponomarenko's PSNR-HVS (not -M), peak 1; equal to psnr_hvsm, which the framework calls"),
]

# the AOM CTC's SSIM / MS-SSIM in dB and APSNR, from the libvmaf run of the rows above (its --aom_ctc v1.0 options); no
# `ideal`: libvmaf scores an exact copy with a finite cap (108 dB for 8 bits), as the CTC tables carry it
ROWS += [
    Metric("ssim-db", "fr", True, (0, INF), YUV709, "[0,255]", "imageio-ffmpeg", VMAF, {"feature": "ssim-db"}, unit="dB",
           title="SSIM-Y (dB)", note="libvmaf float_ssim on Y', -10 log10(1 - SSIM), clipped as --aom_ctc"),
    Metric("ms-ssim-db", "fr", True, (0, INF), YUV709, "[0,255]", "imageio-ffmpeg", VMAF, {"feature": "ms-ssim-db"},
           unit="dB", title="MS-SSIM-Y (dB)",
           note="libvmaf float_ms_ssim on Y' (low-pass before each downsampling), -10 log10(1 - MS-SSIM), clipped"),
]
ROWS += [Metric(f"apsnr-{p}", "fr", True, (0, INF), YUV709, "[0,255]", "imageio-ffmpeg", VMAF, {"feature": f"apsnr-{p}"},
                unit="dB", title=f"APSNR-{p.upper()}",
                note="libvmaf APSNR (SSE summed over a sequence's frames, floored at 0.5): a one-frame image's PSNR, "
                     "finite for an exact reconstruction; the mean over images as every row")
         for p in ("y", "cb", "cr")]
