"""`bench run --target-bpp`: every image at each codec's point nearest each target rate, rate point k of
the run being target k for every image; probes cached; a store shared with a ladder run keeps each run's
own rate-point index; images off their target are named under the table."""
import json
import sqlite3

import pytest

from bench.cli import main
from bench.report.stored import StoredRun


def _run(out, data, *extra):
    return main(["run", "--dataset", str(data), "--codec", "jpeg", "--codec", "jpeg2000", "--metric", "psnr",
                 "--out", str(out), "--no-progress", *extra])


def test_targets_are_matched_per_image_and_cached(tmp_path, three_crops, capsys):
    out = tmp_path / "r"
    assert _run(out, three_crops, "--points", "10,30,50,70,90") == 0  # a ladder run first, in the same store
    assert _run(out, three_crops, "--target-bpp", "0.4,0.8,1.2,1.6", "--bpp-tolerance", "0.02") == 0
    text = capsys.readouterr().out
    run = StoredRun.open(out)
    encs = run.encodings
    assert {e["point_index"] for e in encs} == {0, 1, 2, 3}
    for e in encs:  # target k is rate point k of this run, whatever index another run gave the encoding
        want = [0.4, 0.8, 1.2, 1.6][e["point_index"]]
        assert abs(e["bpp"] / want - 1) < (0.02 if e["codec"] == "jpeg2000" else 0.25), e
    jp = [e for e in encs if e["codec"] == "jpeg2000"]
    assert max(abs(e["bpp"] / [0.4, 0.8, 1.2, 1.6][e["point_index"]] - 1) for e in jp) < 0.02
    rm = run.manifest["rate_matching"]
    assert rm["targets"] == [0.4, 0.8, 1.2, 1.6] and rm["probes_encoded"] > 0
    outside = rm["codecs"]["jpeg"]["outside"]
    assert "Rate matching: each image at each codec's point nearest 0.4, 0.8, 1.2, 1.6 bpp" in text
    if outside:  # JPEG's quality steps rarely land within 2 %: named with their offsets
        assert f"{outside[0][0]} @ {outside[0][1]:g}" in text
    # the earlier ladder run still reads at its own indices
    first = StoredRun.open(out, 1)
    assert sorted({e["point_index"] for e in first.encodings}) == [0, 1, 2, 3, 4]
    # a resumed run searches again from the cached probes: nothing encoded
    assert _run(out, three_crops, "--target-bpp", "0.4,0.8,1.2,1.6", "--bpp-tolerance", "0.02") == 0
    assert " 0 encoded" in capsys.readouterr().out
    assert StoredRun.open(out).manifest["rate_matching"]["probes_encoded"] == 0


def test_targets_out_of_reach_and_named_checkpoints_are_said(tmp_path, three_crops, capsys, monkeypatch):
    out = tmp_path / "r"
    # 0.01 and 0.02 bpp are below what JPEG quality 1 gives: one point, kept by the target it is nearer to
    # (0.02); 0.01 is out of reach
    assert _run(out, three_crops, "--target-bpp", "0.01,0.02,0.8,1.2,1.6", "--anchor", "jpeg2000") == 0
    text = capsys.readouterr().out
    assert "jpeg: out of reach, so those rate points are left out of its curve" in text
    db = sqlite3.connect(out / "bench.sqlite")
    n = [db.execute("SELECT COUNT(*) FROM run_points p JOIN encodings e ON e.key = p.encoding_key "
                    "WHERE e.codec = 'jpeg' AND p.point_index = ?", (k,)).fetchone()[0] for k in (0, 1)]
    assert n == [0, 3]
    man = json.loads(db.execute("SELECT manifest FROM runs").fetchone()[0])
    assert man["rate_matching"]["codecs"]["jpeg"]["unreachable"]
    assert main(["run", "--codec", "jpeg", "--points", "10,20", "--target-bpp", "0.5", "--out", str(tmp_path / "x")]) == 2
    assert "--target-bpp and --points: give one" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["0,0.5", "0.5,0.5", "x", "-1"])
def test_bad_targets_are_refused(bad, capsys):
    assert main(["run", "--target-bpp", bad]) == 2
    assert "--target-bpp" in capsys.readouterr().err


def test_two_workers_match_the_same_points_as_one(tmp_path, three_crops, capsys):
    """The searches run in worker processes with --workers 2 (each probe written to the store from there):
    the same point per image and target, and the same report."""
    runs = {}
    for w in ("1", "2"):
        out = tmp_path / f"w{w}"
        assert _run(out, three_crops, "--target-bpp", "0.5,1.0", "--workers", w) == 0
        run = StoredRun.open(out)
        runs[w] = (sorted((e["image"], e["codec"], e["point_index"], e["point"]) for e in run.encodings),
                   run.manifest["rate_matching"]["codecs"])
        assert run.manifest["rate_matching"]["probes_encoded"] > 0
        assert sqlite3.connect(out / "bench.sqlite").execute("SELECT COUNT(*) FROM probes").fetchone()[0] > 0
    assert runs["1"] == runs["2"]


def test_a_codec_failing_during_the_search_is_named_and_the_run_goes_on(tmp_path, three_crops, capsys, monkeypatch):
    from bench.errors import CodecError
    from bench.runner import matched

    real = matched.bisect

    def flaky(card, ladder, f, target, *a):
        if card["id"] == "jpeg":
            raise CodecError("ffmpeg (libvvenc) failed (187): a probe the encoder refuses")
        return real(card, ladder, f, target, *a)

    monkeypatch.setattr(matched, "bisect", flaky)
    out = tmp_path / "r"
    assert _run(out, three_crops, "--target-bpp", "0.5,1.0", "--anchor", "jpeg2000") == 0
    text = capsys.readouterr().out
    assert "jpeg: the search failed on 3 image(s)" in text and "a probe the encoder refuses" in text
    run = StoredRun.open(out)
    assert {e["codec"] for e in run.encodings} == {"jpeg2000"}
    assert [r[0] for r in run.manifest["rate_matching"]["codecs"]["jpeg"]["failed"]] == ["i0", "i1", "i2"]
