"""External codecs declared by a card alone (VTM, HM, VVenC, bpgenc, research binaries).

    adapter = "external"
    [params]
    encode = ["EncoderApp", "-i", "{input}", "-b", "{output}", "-q", "{point}", "-wdt", "{width}", "-hgt", "{height}"]
    decode = ["DecoderApp", "-b", "{input}", "-o", "{output}"]
    version = ["EncoderApp", "--version"]      # optional; its first output line is recorded
    timeout = 600                              # seconds per command
    input_format = "yuv444"                    # png | ppm | yuv444 | yuv420 (planar 8-bit)
    output_format = "yuv444"                   # what the decoder writes
    yuv_matrix = "bt601-full"                  # bt601-full | bt709-full | bt601-limited | bt709-limited

Templates are argument lists (a string is split with shlex) and are never run through a shell;
shell syntax (; | & $( ` > <) and unknown placeholders are rejected when the card is loaded.
Placeholders: {input} {output} {point} {width} {height}. A card is trusted like code: it may
name any binary (`sh -c ...` included); the checks catch mistakes, they are no sandbox. A
non-zero exit, a timeout or a missing output raises CodecError with the command's stderr, which
the runner records for that rate point.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import string
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import BadImage, CardError, CodecError
from ..images import read_image, rgb_to_ycbcr, to_uint8, write_png, ycbcr_to_rgb
from .base import Adapter, Encoded

SHELL = re.compile(r"[;|&`<>]|\$\(|\$\{|\n")
FORMATS = ("png", "ppm", "yuv444", "yuv420")


PLACEHOLDERS = ("input", "output", "point", "width", "height")


def argv(template, what: str, card_id: str, card_path: str = "") -> list[str]:
    """A command template as an argument list, checked when the card is loaded (not per task)."""
    where = f"codec card {card_path or card_id!r}"
    parts = shlex.split(template) if isinstance(template, str) else [str(t) for t in template]
    if not parts:
        raise CardError(f"{where}: empty {what} command")
    for p in parts:
        if SHELL.search(p):
            raise CardError(f"{where}: {what} command contains shell syntax in {p!r}; "
                            "templates run without a shell: give a plain argument list")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(p) if f is not None]
        except ValueError as e:
            raise CardError(f"{where}: {what} argument {p!r} is not a valid template ({e}); "
                            "write a literal brace as {{ or }}") from None
        bad = [f for f in fields if f not in PLACEHOLDERS]
        if bad:
            raise CardError(f"{where}: {what} argument {p!r} uses unknown placeholder "
                            f"{', '.join('{' + f + '}' for f in bad)}; valid placeholders: "
                            f"{' '.join('{' + f + '}' for f in PLACEHOLDERS)}")
    return parts


def rgb_to_yuv(rgb: np.ndarray, matrix: str, sub: str) -> bytes:
    """Planar 8-bit Y, Cb, Cr (4:4:4 or 4:2:0 by 2x2 mean, odd sizes edge-padded)."""
    name, rng = matrix.split("-")
    y, cb, cr = rgb_to_ycbcr(rgb, name, rng == "limited")
    if sub == "yuv420":
        h, w = y.shape
        pad = ((0, h % 2), (0, w % 2))
        cb, cr = (np.pad(c, pad, mode="edge") for c in (cb, cr))
        cb, cr = (c.reshape(c.shape[0] // 2, 2, c.shape[1] // 2, 2).mean((1, 3)) for c in (cb, cr))
    return b"".join(to_uint8(p).tobytes() for p in (y, cb, cr))


def yuv_to_rgb(data: bytes, h: int, w: int, matrix: str, sub: str) -> np.ndarray:
    """Planar 8-bit YUV (4:4:4 or 4:2:0) to RGB under a matrix such as bt709-full."""
    name, rng = matrix.split("-")
    ch, cw = ((h + 1) // 2, (w + 1) // 2) if sub == "yuv420" else (h, w)
    need = h * w + 2 * ch * cw
    if len(data) < need:
        raise CodecError(f"decoder wrote {len(data)} bytes of YUV, {need} expected for {w}x{h} {sub}")
    a = np.frombuffer(data[:need], np.uint8).astype(np.float64)
    y = a[:h * w].reshape(h, w)
    cb = a[h * w:h * w + ch * cw].reshape(ch, cw)
    cr = a[h * w + ch * cw:].reshape(ch, cw)
    if sub == "yuv420":
        cb, cr = (np.repeat(np.repeat(c, 2, 0), 2, 1)[:h, :w] for c in (cb, cr))
    return to_uint8(ycbcr_to_rgb(y, cb, cr, name, rng == "limited"))


_LIVE_GROUPS: set[int] = set()  # process groups of codec commands now running in this process


def kill_live_groups() -> None:
    """Kill every codec command (and its children) this process started: used when a worker is
    told to stop, so that a killed task leaves no encoder behind."""
    for pg in list(_LIVE_GROUPS):
        _killpg(pg)


def _killpg(pg: int) -> None:
    try:
        os.killpg(pg, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _LIVE_GROUPS.discard(pg)


def run_group(cmd: list[str], timeout: float, what: str) -> subprocess.CompletedProcess:
    """Run a codec command in its own process group, never through a shell; on timeout, error or
    exit, the whole group is killed, so a script's children (e.g. a `sleep`) never outlive it."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    _LIVE_GROUPS.add(p.pid)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _killpg(p.pid)
        p.communicate()
        raise CodecError(f"{what} ran past its timeout of {timeout:g} s (card params.timeout) and was "
                         f"stopped with its children: {shlex.join(cmd)}") from None
    finally:
        _killpg(p.pid)  # leftovers of a finished command are orphans too
        if p.poll() is None:
            p.kill()
            p.wait()
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


class ExternalAdapter(Adapter):
    """A codec run as external binaries named by its card (encoder, decoder, formats, rate from the bitstream)."""
    name = "external"
    version = "1"

    def __init__(self, card):
        super().__init__(card)
        cid = card.get("id")
        p = self.params
        for k in ("encode", "decode"):
            if k not in p:
                raise CardError(f"codec card {cid!r}: params.{k} (a command template) is required")
        path = card.get("_path", "")
        self.enc_t = argv(p["encode"], "encode", cid, path)
        self.dec_t = argv(p["decode"], "decode", cid, path)
        self.ver_t = argv(p["version"], "version", cid, path) if p.get("version") else None
        self.timeout = float(p.get("timeout", 600))
        self.in_fmt, self.out_fmt = p.get("input_format", "png"), p.get("output_format", "png")
        self.matrix = p.get("yuv_matrix", "bt601-full")
        for f in (self.in_fmt, self.out_fmt):
            if f not in FORMATS:
                raise CardError(f"codec card {cid!r}: format {f!r} not one of {', '.join(FORMATS)}")

    def _exe(self, t):
        exe = shutil.which(t[0]) or (t[0] if os.path.isfile(t[0]) and os.access(t[0], os.X_OK) else None)
        if exe is None:
            raise CodecError(f"{t[0]} not found on PATH; install it or give its full path in the card")
        return exe

    def _run(self, template, subs: dict, what: str) -> subprocess.CompletedProcess:
        cmd = [self._exe(template)] + [a.format(**subs) for a in template[1:]]
        r = run_group(cmd, self.timeout, what)
        if r.returncode != 0:
            err = (r.stderr or r.stdout).decode(errors="replace")[-2000:]
            raise CodecError(f"{what} exited {r.returncode}: {shlex.join(cmd)}\n{err}")
        return r

    def library_version(self) -> str:
        self._exe(self.enc_t)
        self._exe(self.dec_t)
        if not self.ver_t:
            return f"{Path(self.enc_t[0]).name} (no version command in the card)"
        cmd = [self._exe(self.ver_t)] + self.ver_t[1:]
        r = subprocess.run(cmd, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        out = (r.stdout + r.stderr).decode(errors="replace").strip().splitlines()
        return out[0] if out else f"{Path(self.ver_t[0]).name} (printed nothing)"

    def _write(self, path: Path, pixels, fmt):
        if fmt == "png":
            write_png(path, pixels)
        elif fmt == "ppm":
            h, w = pixels.shape[:2]
            path.write_bytes(f"P6\n{w} {h}\n255\n".encode() + np.ascontiguousarray(pixels).tobytes())
        else:
            path.write_bytes(rgb_to_yuv(pixels, self.matrix, fmt))

    def _read(self, path: Path, fmt, h, w):
        if not path.is_file() or path.stat().st_size == 0:
            raise CodecError(f"the decoder wrote no output file {path.name}")
        if fmt in ("png", "ppm"):
            try:
                return read_image(path).pixels
            except BadImage as e:
                why = str(e).split(": ", 1)[-1].split("; replace")[0]
                raise CodecError(f"the decoder ({self.dec_t[0]}) wrote an output that is not a valid {fmt} "
                                 f"image: {why}; check the card's decode command and output_format") from None
        return yuv_to_rgb(path.read_bytes(), h, w, self.matrix, fmt)

    def _ext(self, fmt):
        return {"png": ".png", "ppm": ".ppm"}.get(fmt, ".yuv")

    def encode(self, pixels: np.ndarray, point) -> Encoded:
        h, w = pixels.shape[:2]
        with tempfile.TemporaryDirectory(prefix="bench-ext-") as d:
            src, bit = Path(d) / f"in{self._ext(self.in_fmt)}", Path(d) / "stream.bin"
            self._write(src, pixels, self.in_fmt)
            self._run(self.enc_t, {"input": src, "output": bit, "point": point, "width": w, "height": h}, "encoder")
            if not bit.is_file() or bit.stat().st_size == 0:
                raise CodecError(f"the encoder wrote no bitstream ({bit.name})")
            data = bit.read_bytes()
        # raw YUV decoders get the size from the caller (shape=), never from extra bytes
        return Encoded(data, len(data), {"width": w, "height": h, "bytes_counted": "the encoder's output file"})

    def decode(self, data: bytes, point=None, shape=None) -> np.ndarray:
        if shape is None and self.out_fmt.startswith("yuv"):
            raise CodecError("raw YUV output needs the image size: pass shape=")
        h, w = shape[:2] if shape is not None else (0, 0)
        with tempfile.TemporaryDirectory(prefix="bench-ext-") as d:
            bit, out = Path(d) / "stream.bin", Path(d) / f"out{self._ext(self.out_fmt)}"
            bit.write_bytes(data)
            self._run(self.dec_t, {"input": bit, "output": out, "point": point, "width": w, "height": h}, "decoder")
            return self._read(out, self.out_fmt, h, w)


class BpgAdapter(ExternalAdapter):
    """bpgenc / bpgdec (libbpg) as an external codec with bpgenc's own command line.

    Binaries: params.bpgenc / params.bpgdec, else env BENCH_BPGENC / BENCH_BPGDEC, else PATH.
    Encode: bpgenc -q QP -f 444|420 -e x265 -c ycbcr -b 8 -m LEVEL -o OUT IN.png; bpp counts the
    whole .bpg file (BPG's header is a few bytes)."""

    name = "bpg"
    version = "1"

    def __init__(self, card):
        Adapter.__init__(self, card)
        p = self.params
        enc = p.get("bpgenc") or os.environ.get("BENCH_BPGENC") or "bpgenc"
        dec = p.get("bpgdec") or os.environ.get("BENCH_BPGDEC") or "bpgdec"
        chroma, level = str(p.get("chroma", "444")), str(p.get("level", 8))
        self.enc_t = [enc, "-q", "{point}", "-f", chroma, "-e", "x265", "-c", "ycbcr", "-b", "8", "-m", level,
                      "-o", "{output}", "{input}"]
        self.dec_t = [dec, "-o", "{output}", "{input}"]
        self.ver_t, self.timeout = None, float(p.get("timeout", 300))
        self.in_fmt = self.out_fmt = "png"
        self.matrix = "bt601-full"

    def library_version(self) -> str:
        try:
            exe = self._exe(self.enc_t)
            self._exe(self.dec_t)
        except CodecError as e:
            raise CodecError(f"{e}. Get libbpg from https://bellard.org/bpg/ (build bpgenc with x265), or set "
                             "BENCH_BPGENC / BENCH_BPGDEC or params.bpgenc / params.bpgdec in the card") from None
        r = subprocess.run([exe, "-h"], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        text = (r.stdout + r.stderr).decode(errors="replace")
        m = re.search(r"version\s+(\S+)", text)
        return f"bpgenc {m.group(1) if m else 'unknown version'} ({exe})"

    def encode(self, pixels, point):
        e = super().encode(pixels, point)
        e.info["bytes_counted"] = "the whole .bpg file"
        return e
