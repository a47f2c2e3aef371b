"""First-contact probes: bad images, cards, stores, names, timeouts, signals and degenerate scores.

Every case asserts the message (it names the culprit and the fix), the exit code (README, "Exit
codes") and that nothing already computed was lost: a baseline store in the output directory keeps
its records, or the good part of the run is complete.
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from conftest import need_metric
from PIL import Image

from bench.cli import main

TESTS = Path(__file__).parent
FAKES = TESTS / "fakes"
JPEG_POINTS = 8


# -- helpers ----------------------------------------------------------------------------------
def records(out: Path) -> list:
    db = sqlite3.connect(out / "bench.sqlite")
    try:
        return sorted(db.execute("SELECT image, codec, point_index, metric, value, bpp FROM records").fetchall())
    finally:
        db.close()


def failures(out: Path) -> list:
    db = sqlite3.connect(out / "bench.sqlite")
    try:
        return db.execute("SELECT stage, image, codec, metric, message FROM failures").fetchall()
    finally:
        db.close()


def bench(capsys, *args):
    rc = main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def run_args(data, out, *extra, codecs=("jpeg",), metrics=("psnr",)):
    a = ["run", "--dataset", data, "--out", out, "--no-progress"]
    for c in codecs:
        a += ["--codec", c]
    for m in metrics:
        a += ["--metric", m]
    if "--anchor" not in extra:
        a += ["--anchor", codecs[0]]
    return [str(x) for x in a + list(extra)]


def cli(args, **kw):
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    return subprocess.Popen([sys.executable, "-m", "bench.cli", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def good(tmp_path_factory, astronaut):
    """One good 176x192 image and a baseline store of JPEG x PSNR on it."""
    base = tmp_path_factory.mktemp("probes")
    d = base / "good"
    d.mkdir()
    Image.fromarray(astronaut[:176, 100:292]).save(d / "a.png")
    assert main(run_args(d, base / "store")) == 0
    return d, base / "store", records(base / "store")


@pytest.fixture
def store(good, tmp_path):
    """A copy of the baseline store: a probe must leave its records as they were."""
    _, src, rec = good
    dst = tmp_path / "store"
    shutil.copytree(src, dst)
    return dst, rec


def cards_dir(tmp_path, name, text):
    d = tmp_path / "cards" / "codecs"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.toml").write_text(text)
    return tmp_path / "cards"


# -- bad images: the bad file is a recorded failure naming it; the good image is complete --------
def _png16(path, arr):
    path.write_bytes(imagecodecs.png_encode(arr))


def _bad_images():
    rng = np.random.default_rng(0)

    def truncated(p):
        buf = Path(p).with_suffix(".tmp.png")
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf)
        p.write_bytes(buf.read_bytes()[:200])
        buf.unlink()

    def rgba(p):
        a = np.full((40, 40, 4), 200, np.uint8)
        a[0, 0, 3] = 10
        Image.fromarray(a).save(p)

    def rgba16(p):
        a = np.full((40, 40, 4), 60000, np.uint16)
        a[3, 3, 3] = 0
        _png16(p, a)

    def la(p):
        a = np.full((40, 40, 2), 90, np.uint8)
        a[..., 1] = 128
        Image.fromarray(a, "LA").save(p)

    def palette_transparent(p):
        im = Image.new("P", (40, 40), 0)
        im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
        im.info["transparency"] = 0
        im.save(p, transparency=0)

    return {
        "truncated.png": (truncated, "cannot decode"),
        "empty.png": (lambda p: p.write_bytes(b""), "cannot decode"),
        "random.png": (lambda p: p.write_bytes(rng.integers(0, 255, 4000, dtype=np.uint8).tobytes()), "cannot decode"),
        "text.jpg": (lambda p: p.write_text("not an image at all\n"), "cannot decode"),
        "transparent.png": (rgba, "has transparency"),
        "transparent16.png": (rgba16, "16-bit alpha min 0"),
        "greyalpha.png": (la, "has transparency"),
        "palette.png": (palette_transparent, "has transparency"),
        "cmyk.jpg": (lambda p: Image.new("CMYK", (40, 40), (10, 20, 30, 0)).save(p), "unsupported image mode CMYK"),
        "float.tiff": (lambda p: Image.fromarray(np.ones((40, 40), np.float32)).save(p), "unsupported image mode F"),
        "int32.tif": (lambda p: Image.fromarray(np.full((40, 40), 70000, np.int32)).save(p), "32-bit integer samples"),
        "bad16.png": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x10\x02"),
                      "cannot decode"),
    }


@pytest.mark.parametrize("fname", list(_bad_images()))
def test_bad_image_is_recorded_and_the_rest_of_the_run_completes(fname, good, tmp_path, capsys):
    make, msg = _bad_images()[fname]
    d = tmp_path / "imgs"
    shutil.copytree(good[0], d)
    make(d / fname)
    out = tmp_path / "o"
    rc, so, err = bench(capsys, *run_args(d, out))
    assert rc == 1, err
    assert fname in err and msg in err
    f = failures(out)
    assert len(f) == 1 and f[0][0] == "load" and msg in f[0][4] and fname in f[0][4]
    assert records(out) == good[2]  # the good image: every point, the same numbers
    assert "leaderboard.md" in os.listdir(out)


# -- 16-bit inputs at full depth, scaled by round(v / 257) -------------------------------------
@pytest.mark.parametrize("shape,expected", [
    ((4, 5, 3), [253, 0, 255]), ((4, 5, 4), [253, 0, 255]), ((4, 5), [253, 253, 253])])
def test_16_bit_pngs_are_read_at_full_depth(tmp_path, shape, expected):
    from bench.images import read_image

    a = np.full(shape, 65024, np.uint16)  # 65024 / 257 = 253.0; PIL's high byte would give 254
    if len(shape) == 3:
        a[0, 0, :3] = [128, 128, 65535][:3]  # 128 / 257 = 0.498 -> 0
        a[0, 0, 1] = 128
        a[0, 0, :3] = [65024, 128, 65535]
        if shape[2] == 4:
            a[..., 3] = 65535
    p = tmp_path / "x.png"
    _png16(p, a)
    px = read_image(p).pixels
    assert px.dtype == np.uint8 and px.shape == (4, 5, 3)
    assert px[0, 0].tolist() == expected
    assert px[1, 1].tolist() == [253, 253, 253]


# -- bad cards: refused when loaded, naming the card file; the other codecs' results are complete --
EXT = 'id = "{id}"\nadapter = "external"\n[params]\n{params}\n[ladder]\npoints = [1, 2]\n'
YUV = str(FAKES / "yuv_codec")


def _card(params, **over):
    text = EXT.replace("{params}", params)
    for k, v in over.items():
        text = text.replace(k, v)
    return text


BAD_CARDS = {
    "semicolon": (_card(f'encode = ["{YUV}", "enc;rm", "{{input}}"]\ndecode = ["{YUV}"]'), "shell syntax"),
    "pipe": (_card(f'encode = ["{YUV}", "a|b"]\ndecode = ["{YUV}"]'), "shell syntax"),
    "subshell": (_card(f'encode = "{YUV} $(whoami)"\ndecode = ["{YUV}"]'), "shell syntax"),
    "backtick": (_card(f'encode = ["{YUV}", "`id`"]\ndecode = ["{YUV}"]'), "shell syntax"),
    "redirect": (_card(f'encode = ["{YUV}", "x>y"]\ndecode = ["{YUV}"]'), "shell syntax"),
    "placeholder": (_card(f'encode = ["{YUV}", "{{inptu}}"]\ndecode = ["{YUV}"]'),
                    "unknown placeholder {inptu}; valid placeholders: {input} {output} {point} {width} {height}"),
    "brace": (_card(f'encode = ["{YUV}", "{{input"]\ndecode = ["{YUV}"]'), "not a valid template"),
    "noencode": (_card(f'decode = ["{YUV}"]'), "params.encode (a command template) is required"),
    "emptyencode": (_card(f'encode = []\ndecode = ["{YUV}"]'), "empty encode command"),
    "badformat": (_card(f'encode = ["{YUV}"]\ndecode = ["{YUV}"]\ninput_format = "exr"'), "format 'exr' not one of"),
    "nobinary": (_card('encode = ["/nonexistent/encoder", "{input}"]\ndecode = ["/nonexistent/decoder"]'),
                 "/nonexistent/encoder not found on PATH"),
    "noladder": ('id = "noladder"\nadapter = "jpeg-nope"\n', "unknown adapter 'jpeg-nope'"),
    "emptyladder": ('id = "emptyladder"\nadapter = "imagecodecs"\n[params]\ncodec = "jpeg"\n[ladder]\npoints = []\n',
                    "needs a non-empty `points = [...]`"),
    "badtoml": ('id = "badtoml"\nadapter = \n', "invalid TOML"),
    "idmismatch": ('id = "other"\nadapter = "imagecodecs"\n[ladder]\npoints = [1]\n', "differs from the file name"),
    "noimport": ('id = "noimport"\nadapter = "no_such_module:Codec"\n[ladder]\npoints = [1]\n', "cannot import"),
    "noadapter": ('id = "noadapter"\n[ladder]\npoints = [1]\n', "missing `adapter = ...`"),
}


@pytest.mark.parametrize("name", list(BAD_CARDS))
def test_bad_card_is_skipped_with_its_reason_and_exit_1(name, good, tmp_path, monkeypatch, capsys):
    text, msg = BAD_CARDS[name]
    monkeypatch.setenv("BENCH_CARDS", str(cards_dir(tmp_path, name, text.replace("{id}", name))))
    out = tmp_path / "o"
    rc, so, err = bench(capsys, *run_args(good[0], out, codecs=("jpeg", name)))
    assert rc == 1 and f"skipped codec {name}" in err and msg in err, err
    assert records(out) == good[2]
    rc, so, err = bench(capsys, *run_args(good[0], tmp_path / "o2", "--allow-skips", codecs=("jpeg", name)))
    assert rc == 0 and records(tmp_path / "o2") == good[2]


def test_card_error_names_the_card_file(tmp_path):
    from bench.adapters import load_codec
    from bench.errors import CardError

    os.environ["BENCH_CARDS"] = str(cards_dir(tmp_path, "ph", BAD_CARDS["placeholder"][0].replace("{id}", "ph")))
    try:
        with pytest.raises(CardError, match=str(tmp_path / "cards" / "codecs" / "ph.toml")):
            load_codec("ph")
    finally:
        del os.environ["BENCH_CARDS"]


# -- names and arguments: exit 2 before any work, the store untouched ----------------------------
NAME_ERRORS = {
    "codec": (["--codec", "jpg"], "unknown codec 'jpg'; valid codecs:"),
    "metric": (["--metric", "psnrr"], "unknown metric 'psnrr'; valid metrics:"),
    "dataset": (["--dataset", "kodakk"], "unknown dataset 'kodakk'; valid datasets:"),
    "nodir": (["--dataset", "./no/such/dir"], "./no/such/dir: no such directory"),
    "anchor": (["--anchor", "webp"], "anchor 'webp' is not among the codecs of this run"),
    "image": (["--dataset", "skimage", "--image", "nope"], "no images named nope"),
}


@pytest.mark.parametrize("case", list(NAME_ERRORS))
def test_name_errors_exit_2_and_touch_nothing(case, store, good, capsys):
    out, rec = store
    extra, msg = NAME_ERRORS[case]
    args = run_args(good[0], out)
    for flag in ("--dataset", "--anchor"):
        if flag in extra:
            i = args.index(flag)
            del args[i:i + 2]
    rc, so, err = bench(capsys, *(args + extra))
    assert rc == 2 and msg in err, err
    assert "Traceback" not in err
    assert records(out) == rec


def test_a_file_given_as_dataset_says_it_is_a_file(good, tmp_path, capsys):
    rc, _, err = bench(capsys, *run_args(good[0] / "a.png", tmp_path / "o"))
    assert rc == 2 and "is a file, not a directory" in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("args,msg", [
    (["table", "{tmp}/nowhere"], "no bench.sqlite here"),
    (["plot", "{tmp}/nowhere"], "no bench.sqlite here"),
    (["score", "{img}"], "give a reference and a distorted image"),
    (["score", "{img}", "{tmp}/missing.png"], "missing.png: no such file"),
    (["score", "{img}", "{img}", "--metric", "niqe"], "wrong kind for this mode"),
    (["score", "--no-ref", "{img}", "--metric", "psnr"], "wrong kind for this mode"),
    (["match", "--codec", "jpeg", "--image", "{img}"], "give exactly one target"),
    (["match", "--codec", "jpeg", "--image", "kodim05", "--bpp", "0.3"], "no such file; give an image path, or an image"),
    (["match", "--codec", "jpg", "--image", "{img}", "--bpp", "0.3"], "unknown codec 'jpg'"),
])
def test_command_errors_exit_2_with_the_fix(args, msg, good, tmp_path, capsys):
    img = str(good[0] / "a.png")
    rc, _, err = bench(capsys, *[a.format(tmp=tmp_path, img=img) for a in args])
    assert rc == 2 and msg in err and "Traceback" not in err, err


def test_argparse_rejects_an_unknown_bd_method(capsys):
    with pytest.raises(SystemExit) as e:
        main(["table", "x", "--bd-method", "spline"])
    assert e.value.code == 2 and "invalid choice: 'spline'" in capsys.readouterr().err


def test_dataset_checksum_mismatch_names_the_file(tmp_path, monkeypatch, good, capsys):
    d = tmp_path / "cards" / "datasets"
    d.mkdir(parents=True)
    (d / "mine.toml").write_text('id = "mine"\nsource = "files"\n[[files]]\nname = "a.png"\nsha256 = "' + "0" * 64 + '"\n')
    data = tmp_path / "data" / "mine"
    data.mkdir(parents=True)
    shutil.copy(good[0] / "a.png", data / "a.png")
    monkeypatch.setenv("BENCH_CARDS", str(tmp_path / "cards"))
    rc, _, err = bench(capsys, *run_args("mine", tmp_path / "o", "--data-dir", tmp_path / "data"))
    assert rc == 2 and str(data / "a.png") in err and "does not match the card's" in err


# -- corrupt stores: exit 3, the file untouched, no run started on it ---------------------------
def _corrupt(kind, path: Path, good_store: Path):
    real = (good_store / "bench.sqlite").read_bytes()
    if kind == "random":
        path.write_bytes(np.random.default_rng(1).integers(0, 255, 8192, dtype=np.uint8).tobytes())
    elif kind == "text":
        path.write_text("name,value\na,1\n")
    elif kind == "truncated":
        path.write_bytes(real[: len(real) // 3])
    elif kind == "garbled":
        b = bytearray(real)
        b[4096:8192] = b"\xde\xad\xbe\xef" * 1024
        path.write_bytes(bytes(b))
    elif kind == "foreign":
        path.unlink()
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE invoices (id INTEGER, total REAL)")
        db.commit()
        db.close()


@pytest.mark.parametrize("kind", ["random", "text", "truncated", "garbled", "foreign"])
@pytest.mark.parametrize("verb", ["run", "table", "plot"])
def test_corrupt_store_exits_3_and_is_left_untouched(kind, verb, good, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    db = out / "bench.sqlite"
    shutil.copy(good[1] / "bench.sqlite", db)
    _corrupt(kind, db, good[1])
    before = db.read_bytes()
    args = run_args(good[0], out) if verb == "run" else [verb, out]
    rc, so, err = bench(capsys, *args)
    if kind == "garbled" and rc != 3:  # the damaged pages may lie outside what SQLite reads
        pytest.skip("corruption not reachable in this store's layout")
    assert rc == 3, err
    assert str(db) in err and "not a usable percept-bench store" in err and "Move it aside" in err
    assert "Traceback" not in err
    assert db.read_bytes() == before
    assert not (out / "leaderboard.md").exists() and not (out / "bitstreams").exists()


def test_an_empty_store_file_is_initialised(good, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "bench.sqlite").write_bytes(b"")
    rc, _, err = bench(capsys, *run_args(good[0], out))
    assert rc == 0, err
    assert records(out) == good[2]


# -- nothing computed: exit 4, no leaderboard written as if it were a result ---------------------
def test_only_unavailable_codec_exits_4(good, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_BPGENC", str(tmp_path / "nope"))
    out = tmp_path / "o"
    rc, _, err = bench(capsys, *run_args(good[0], out, codecs=("bpg-444",)))
    assert rc == 4 and "nothing to compute: no usable codec" in err and "bpg-444" in err
    assert not out.exists()


def test_only_unavailable_metric_exits_4(good, tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for v in ("BENCH_WEIGHTS", "TORCH_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(v, str(empty))
    rc, _, err = bench(capsys, *run_args(good[0], tmp_path / "o", metrics=("lpips",)))
    assert rc == 4 and "no usable metric" in err and "alexnet-owt-7be5be79.pth missing" in err


def test_all_images_unreadable_exits_4_and_removes_a_stale_leaderboard(good, store, tmp_path, capsys):
    out, rec = store
    assert (out / "leaderboard.md").exists()
    d = tmp_path / "bad"
    d.mkdir()
    (d / "x.png").write_bytes(b"junk")
    rc, so, err = bench(capsys, *run_args(d, out))
    assert rc == 4 and "no complete rate point" in err and "x.png" in err
    assert not (out / "leaderboard.md").exists() and not (out / "leaderboard.csv").exists()
    assert records(out) == rec  # the earlier run's records are still there


def test_every_encode_failing_exits_4(good, tmp_path, monkeypatch, capsys):
    text = _card(f'encode = ["{FAKES / "failing_codec"}", "fail"]\ndecode = ["{YUV}"]').replace("{id}", "broken")
    monkeypatch.setenv("BENCH_CARDS", str(cards_dir(tmp_path, "broken", text)))
    out = tmp_path / "o"
    rc, _, err = bench(capsys, *run_args(good[0], out, codecs=("broken",)))
    assert rc == 4 and "simulated encoder failure" in err and "no leaderboard written" in err
    assert len(failures(out)) == 2


# -- timeouts bound the whole task, in every executor ------------------------------------------
def _faulty(tmp_path, cls):
    return cards_dir(tmp_path, "faulty", f'id = "faulty"\nadapter = "plugin_example:{cls}"\n[ladder]\npoints = [20, 50, 80]\n')


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
@pytest.mark.parametrize("cls,workers", [("Sleepy", "1"), ("Sleepy", "2"), ("StuckInC", "1"), ("StuckInC", "2")])
def test_task_timeout_stops_a_hung_task(cls, workers, good, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("BENCH_CARDS", str(_faulty(tmp_path, cls)))
    out = tmp_path / "o"
    t0 = time.monotonic()
    rc, _, err = bench(capsys, *run_args(good[0], out, "--workers", workers, "--task-timeout", "2", codecs=("faulty",)))
    assert rc == 1 and time.monotonic() - t0 < 40
    f = failures(out)
    assert len(f) == 1 and "ran past 2 s and was stopped" in f[0][4]
    assert len(records(out)) == 2  # the two other points


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_timeout_bounds_the_metrics_too(good, tmp_path, monkeypatch, capsys):
    """The original bug: a timeout raised inside a metric was swallowed as that metric's error."""
    import bench.metrics as M

    real = M.score

    def slow(name, ref, dist):
        time.sleep(1.5)
        return real(name, ref, dist)

    monkeypatch.setattr(M, "score", slow)  # the worker process is forked: it inherits the patch
    out = tmp_path / "o"
    t0 = time.monotonic()
    rc, _, err = bench(capsys, "run", "--dataset", good[0], "--out", out, "--no-progress", "--codec", "jpeg",
                       "--metric", "psnr", "--metric", "ssim", "--metric", "ssim-rgb", "--task-timeout", "2",
                       "--image", "a")
    wall = time.monotonic() - t0
    f = failures(out)
    assert rc == 4 and len(f) == JPEG_POINTS and all("ran past 2 s and was stopped" in x[4] for x in f)
    assert wall < JPEG_POINTS * 4.5 - 5, wall  # unbounded, 8 tasks x 4.5 s of metrics


def test_external_codec_hang_kills_its_children(good, tmp_path, monkeypatch, capsys):
    marker = "987.25"  # a sleep duration nothing else on the machine uses
    text = (f'id = "spawner"\nadapter = "external"\n[params]\nencode = ["{FAKES / "spawning_codec"}", "{marker}"]\n'
            f'decode = ["{YUV}"]\ntimeout = 1\n[ladder]\npoints = [1, 2]\n')
    monkeypatch.setenv("BENCH_CARDS", str(cards_dir(tmp_path, "spawner", text)))
    rc, _, err = bench(capsys, *run_args(good[0], tmp_path / "o", codecs=("jpeg", "spawner"), metrics=("psnr",)))
    assert rc == 1 and "ran past its timeout of 1 s" in err and "stopped with its children" in err
    time.sleep(0.3)
    left = [p for p in Path("/proc").glob("[0-9]*/cmdline") if marker.encode() in p.read_bytes()]
    assert not left, "an encoder's child outlived it"
    assert records(tmp_path / "o") == good[2]


def test_decoder_writing_garbage_is_blamed(good, tmp_path, monkeypatch, capsys):
    g = FAKES / "garbage_codec"
    text = (f'id = "garbage"\nadapter = "external"\n[params]\nencode = ["{g}", "enc", "{{input}}", "{{output}}"]\n'
            f'decode = ["{g}", "dec", "{{input}}", "{{output}}"]\n[ladder]\npoints = [1, 2]\n')
    monkeypatch.setenv("BENCH_CARDS", str(cards_dir(tmp_path, "garbage", text)))
    rc, _, err = bench(capsys, *run_args(good[0], tmp_path / "o", codecs=("jpeg", "garbage")))
    assert rc == 1 and "the decoder (" in err and "wrote an output that is not a valid png image" in err
    assert "replace the file" not in err
    assert records(tmp_path / "o") == good[2]


# -- signals: no orphans, nothing lost, a killed run's leaderboard says so ----------------------
def test_sigkill_of_the_parent_takes_the_workers_with_it(good, tmp_path):
    p = cli(run_args(good[0], tmp_path / "o", "--workers", "2", codecs=("jpeg", "jpeg2000"), metrics=("psnr", "ms-ssim")))
    deadline = time.monotonic() + 60
    kids = []
    while time.monotonic() < deadline and len(kids) < 2:
        kids = children(p.pid)
        time.sleep(0.2)
    assert len(kids) >= 2, "the pool did not start"
    p.send_signal(signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(k) for k in kids):
        time.sleep(0.2)
    assert not any(alive(k) for k in kids), "worker processes outlived their parent"


def test_a_killed_run_is_resumed_and_its_leaderboard_said_incomplete(good, tmp_path, capsys):
    out = tmp_path / "o"
    p = cli(run_args(good[0], out, codecs=("jpeg", "jpeg2000"), metrics=("psnr", "ssim")))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (out / "bench.sqlite").exists():
            try:
                if sqlite3.connect(out / "bench.sqlite").execute("SELECT COUNT(*) FROM encodings").fetchone()[0] >= 3:
                    break
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    done = records(out)
    rc, so, err = bench(capsys, "table", out)
    assert rc in (0, 4) and ("INCOMPLETE: run 1" in so or "no complete rate point" in err)
    rc, so, err = bench(capsys, *run_args(good[0], out, codecs=("jpeg", "jpeg2000"), metrics=("psnr", "ssim")))
    assert rc == 0 and "INCOMPLETE" not in so
    assert set(done) <= set(records(out))  # nothing computed before the kill was lost


def test_ctrl_c_exits_130_and_keeps_the_work(good, tmp_path):
    out = tmp_path / "o"
    # a shell's background job starts with SIGINT ignored (and Python keeps it so): give the child the default
    p = cli(run_args(good[0], out, codecs=("jpeg", "jpeg2000"), metrics=("psnr", "ms-ssim")),
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out / "bitstreams").exists():
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and b"rerun to resume" in err and b"Traceback" not in err, err.decode()
    n = len(records(out))
    assert main(run_args(good[0], out, codecs=("jpeg", "jpeg2000"), metrics=("psnr", "ms-ssim"))) == 0
    assert len(records(out)) >= n


# -- degenerate scores ---------------------------------------------------------------------------
def test_exact_reconstruction_psnr_is_inf_but_kept_out_of_means(good, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(TESTS))
    cards_dir(tmp_path, "ident", 'id = "ident"\nadapter = "plugin_example:Identity"\n[ladder]\npoints = [1, 2, 3, 4]\n')
    monkeypatch.setenv("BENCH_CARDS", str(tmp_path / "cards"))
    out = tmp_path / "o"
    rc, so, err = bench(capsys, *run_args(good[0], out, codecs=("jpeg", "ident"), metrics=("psnr", "ssim")))
    assert rc == 0, err
    vals = {(c, m): v for _, c, _, m, v, _ in records(out) if c == "ident"}
    assert vals[("ident", "psnr")] == float("inf") and vals[("ident", "ssim")] == 1.0
    assert "ident / psnr: point 0 left out of the mean and BD-rate: non-finite psnr (a: exact reconstruction)" in so
    csv = (out / "rd_points.csv").read_text()
    assert "ident,ssim" in csv and "ident,psnr" not in csv and "inf" not in csv


def test_score_json_is_strict_for_identical_images(good, capsys):
    img = str(good[0] / "a.png")
    rc, so, _ = bench(capsys, "score", img, img, "--metric", "psnr", "--metric", "ssim", "--json")
    assert rc == 0
    data = json.loads(so, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert data["psnr"] is None and data["notes"]["psnr"] == "+inf" and data["ssim"] == 1.0


def test_vif_of_identical_images_is_its_ideal(good):
    need_metric("vif")
    from bench import metrics as M

    flat = np.full((64, 64, 3), 77, np.uint8)
    assert M.score("vif", flat, flat) == 1.0
    a = np.asarray(Image.open(good[0] / "a.png"))
    assert M.score("vif", a, a) == 1.0


def test_niqe_on_a_flat_image_is_a_message_not_a_traceback(tmp_path, capsys):
    need_metric("niqe")
    p = tmp_path / "flat.png"
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(p)
    rc, so, err = bench(capsys, "score", "--no-ref", p, "--metric", "niqe")
    assert rc == 1 and "niqe cannot score" in err and "the image is flat" in err and "Traceback" not in err


def test_no_reference_bd_rates_carry_a_caveat(good, tmp_path, capsys):
    need_metric("brisque")
    rc, so, err = bench(capsys, *run_args(good[0], tmp_path / "o", codecs=("jpeg", "jpeg2000"),
                                          metrics=("psnr", "brisque")))
    assert rc == 0, err
    assert "brisque BD-rate† (%) ↓" in so and "no-reference realism scores of the decoded image alone, not fidelity" in so


# -- files deleted under a run directory are noticed and recomputed ------------------------------
@pytest.mark.parametrize("what", ["recon", "bitstreams", "one-recon", "one-bitstream"])
def test_deleted_files_are_recomputed(what, store, good, capsys):
    """A deleted bitstream is encoded again; a deleted kept reconstruction (--keep-recon) is
    decoded again from its bitstream, without encoding."""
    out, rec = store
    keep = ["--keep-recon"] if "recon" in what else []
    assert bench(capsys, *run_args(good[0], out, *keep))[0] == 0  # the PNGs of a kept run, from the bitstreams
    assert len(list((out / "recon").rglob("*.png"))) == (JPEG_POINTS if keep else 0)
    if what in ("recon", "bitstreams"):
        shutil.rmtree(out / what)
        lost = JPEG_POINTS
    else:
        victim = sorted((out / ("recon" if what == "one-recon" else "bitstreams")).rglob("*.*"))[0]
        victim.unlink()
        lost = 1
    rc, so, _ = bench(capsys, *run_args(good[0], out, *keep))
    assert rc == 0 and f"{0 if keep else lost} encoded" in so
    assert records(out) == rec
    assert len(list((out / "recon").rglob("*.png"))) == (JPEG_POINTS if keep else 0)
    assert len(list((out / "bitstreams").rglob("*.bin"))) == JPEG_POINTS


def test_a_later_metric_decodes_the_stored_bitstreams(store, good, capsys, tmp_path):
    """No reconstruction files by default: a metric added later decodes each bitstream again
    (checked against the stored pixel sha256) and scores exactly what a kept PNG would give."""
    out, _ = store
    rc, so, _ = bench(capsys, *run_args(good[0], out, metrics=("psnr", "ssim")))
    assert rc == 0 and "0 encoded" in so and f"{JPEG_POINTS} scores computed" in so
    kept = tmp_path / "kept"
    assert bench(capsys, *run_args(good[0], kept, "--keep-recon", metrics=("psnr", "ssim")))[0] == 0
    assert records(out) == records(kept)
    assert not (out / "recon").exists()


def test_a_decoder_that_no_longer_gives_the_stored_pixels_is_encoded_again(store, good, capsys):
    out, rec = store
    db = sqlite3.connect(out / "bench.sqlite")
    with db:  # as if the decoder had changed since: the stored pixel hash no longer matches
        db.execute("UPDATE encodings SET recon_sha256 = 'ff' || substr(recon_sha256, 3) WHERE point_index = 0")
    db.close()
    rc, so, _ = bench(capsys, *run_args(good[0], out, metrics=("psnr", "ssim")))
    assert rc == 0 and "1 encoded" in so
    assert [r for r in records(out) if r[3] == "psnr"] == rec


# -- checkpoints: the right culprit -------------------------------------------------------------
@pytest.fixture
def learned_card(tmp_path):
    pytest.importorskip("compressai")
    d = tmp_path / "cards" / "codecs"
    d.mkdir(parents=True)

    def make(payload: bytes | None = None, src: Path | None = None):
        ck = d / "model.pt"
        if src is not None:
            shutil.copy(src, ck)
        else:
            ck.write_bytes(payload)
        (d / "mine.toml").write_text('id = "mine"\nadapter = "learned"\n[ladder]\npoints = ["model.pt"]\n')
        from bench.adapters import load_codec

        os.environ["BENCH_CARDS"] = str(tmp_path / "cards")
        return load_codec("mine"), ck

    yield make
    os.environ.pop("BENCH_CARDS", None)


def _encode(codec):
    return codec.adapter.encode(np.zeros((64, 64, 3), np.uint8), "model.pt")


def test_random_bytes_checkpoint_is_not_a_checkpoint(learned_card):
    from bench.errors import CodecError

    codec, ck = learned_card(np.random.default_rng(3).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(CodecError, match="not a PyTorch checkpoint") as e:
        _encode(codec)
    assert "could run code" not in str(e.value) and "mine.toml" in str(e.value)


def test_truncated_checkpoint_is_truncated(learned_card):
    from bench.errors import CodecError

    real = TESTS.parent / "codecs" / "learned" / "dpc-1.pt"
    codec, ck = learned_card(real.read_bytes()[:50000])
    with pytest.raises(CodecError, match="truncated or corrupt checkpoint"):
        _encode(codec)


def test_code_pickle_is_refused(learned_card, tmp_path):
    import pickle

    from bench.errors import CodecError

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    codec, ck = learned_card(pickle.dumps({"state_dict": Evil()}, protocol=2))
    with pytest.raises(CodecError, match="could run code"):
        _encode(codec)
    assert not (tmp_path / "pwned").exists()


def test_wrong_shape_checkpoint_names_card_and_architecture(learned_card, tmp_path):
    import torch

    from bench.errors import CodecError

    real = torch.load(TESTS.parent / "codecs" / "learned" / "dpc-1.pt", weights_only=True)
    real["meta"]["N"], real["meta"]["M"] = 128, 192  # metadata that does not match the weights
    p = tmp_path / "wrong.pt"
    torch.save(real, p)
    codec, ck = learned_card(src=p)
    with pytest.raises(CodecError, match=r"mine\.toml, point 'model\.pt'.*mean_scale_hyperprior N=128 M=192"):
        _encode(codec)


# -- output when not on a terminal ----------------------------------------------------------------
def test_plain_progress_lines_in_a_log():
    import io

    from bench.runner.progress import Progress

    buf = io.StringIO()
    p = Progress(10, enabled=True, every_s=0.0, stream=buf)
    for _ in range(10):
        p.update()
    p.close()
    lines = buf.getvalue().splitlines()
    assert "\r" not in buf.getvalue() and len(lines) == 11
    assert lines[-1].startswith("bench run: 10/10 tasks (100%)") and "ETA" in lines[-1]
    silent = io.StringIO()
    q = Progress(10, enabled=False, stream=silent)
    q.update(10)
    q.close()
    assert silent.getvalue() == ""


def test_a_logged_run_shows_life_and_no_library_warnings(good, tmp_path):
    p = cli(["run", "--dataset", good[0], "--out", tmp_path / "o", "--codec", "jpeg", "--metric", "psnr",
             "--anchor", "jpeg"])
    out, err = p.communicate(timeout=120)
    err = err.decode()
    assert p.returncode == 0, err
    assert f"bench run: {JPEG_POINTS}/{JPEG_POINTS} tasks (100%)" in err
    assert "Warning" not in err and "deprecated" not in err


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_task_timeout_on_dask_restarts_the_hung_worker(good, tmp_path, monkeypatch, capsys):
    distributed = pytest.importorskip("distributed", reason="dask extra not installed")
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", str(TESTS))  # the worker processes import the plugin too
    monkeypatch.setenv("BENCH_CARDS", str(_faulty(tmp_path, "StuckInC")))
    out = tmp_path / "o"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        t0 = time.monotonic()
        rc, _, err = bench(capsys, *run_args(good[0], out, "--scheduler", cluster.scheduler_address,
                                             "--task-timeout", "2", codecs=("faulty",)))
    assert rc == 1 and time.monotonic() - t0 < 90, err
    f = failures(out)
    assert len(f) == 1 and "ran past 2 s and was stopped (its Dask worker process was restarted)" in f[0][4]
    assert len(records(out)) == 2
