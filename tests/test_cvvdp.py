"""ColorVideoVDP: our row equals the authors' own command-line tool (`cvvdp -q`, its file loader, display
model standard_4k) on the same JPEG-distorted images, to the 4 decimals it prints."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.metrics import score

pytest.importorskip("pycvvdp", reason="ColorVideoVDP not installed: pip install 'percept-bench[cvvdp]'")


def test_cvvdp_equals_the_authors_tool(tmp_path, astronaut):
    import imagecodecs

    here = Path(sys.executable).parent / "cvvdp"  # the venv's own script, when the venv is not on PATH
    exe = str(here) if here.is_file() else shutil.which("cvvdp")
    if exe is None:
        pytest.skip("the cvvdp command is not on PATH")
    ref = np.ascontiguousarray(astronaut[:256, :320])
    # BMP: the tool reads PNG through imageio's FreeImage plugin, which it would download
    Image.fromarray(ref).save(tmp_path / "ref.bmp")
    got = {}
    for q in (10, 60):
        dist = imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(ref, level=q))
        Image.fromarray(dist).save(tmp_path / f"d{q}.bmp")
        out = subprocess.run([exe, "-q", "--test", str(tmp_path / f"d{q}.bmp"), "--ref", str(tmp_path / "ref.bmp"),
                              "--display", "standard_4k"], capture_output=True, text=True, timeout=300)
        tool = float(out.stdout.strip().splitlines()[-1])
        got[q] = score("cvvdp", ref, dist)
        assert got[q] == pytest.approx(tool, abs=6e-5), (q, got[q], tool)
    assert got[10] < got[60] < 10 and score("cvvdp", ref, ref) == pytest.approx(10.0, abs=1e-4)
