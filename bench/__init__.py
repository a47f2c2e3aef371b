"""percept-bench: how good does a codec really look?

One pipeline: datasets -> codec adapters -> metrics -> runner (writes the store) -> analysis -> report
(reads the store).
Heavy libraries (torch, imagecodecs, matplotlib) are imported inside the functions that
need them so that `bench --help` and `bench list` stay fast.
"""
import warnings as _warnings

__version__ = "0.1.0"

# Deprecation notices that libraries we call raise at import time (compressai's torch.jit.script
# and torch.cuda.amp.autocast uses, lpips' torchvision `pretrained=`): nothing a user can act on.
for _msg in (r".*torch\.jit\.script.* is deprecated", r".*torch\.cuda\.amp\.autocast.* is deprecated",
             r"The parameter 'pretrained' is deprecated", r"Arguments other than a weight enum"):
    _warnings.filterwarnings("ignore", message=_msg)


def load(run_dir, run_id=None):
    """bench.load(RUN): the per-image records of a stored run as a pandas DataFrame (image, image_sha256,
    codec, point_index, point, bytes, bpp, metric, value, encode_s, decode_s)."""
    from .report.stored import load as _load

    return _load(run_dir, run_id)
