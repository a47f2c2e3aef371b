"""Hostile inputs to the CI gate (issue 24): every cell the baseline has is judged on the candidate or
the gate fails naming it; an undefined comparison, a killed candidate or a missing cell is a failure of
its own (exit 1) unless explicitly allowed; tolerances are finite, non-negative, with known keys; every
unusable input is exit 2 with the file named, never a traceback; compare.md escapes every name; and
nothing stored is ever changed by a comparison."""
import hashlib
import json
import shutil
import sqlite3

import pandas as pd
import pytest
from conftest import edited_copy

from bench.cli import main

GRID = ["--codec", "jpeg", "--codec", "jpeg2000", "--metric", "psnr", "--metric", "ssim", "--no-progress"]


@pytest.fixture(scope="module")
def base(tmp_path_factory, three_crops):
    d = tmp_path_factory.mktemp("gate-probes")
    assert main(["run", "--dataset", str(three_crops), "--out", str(d / "run"), *GRID]) == 0
    assert main(["export", str(d / "run"), "--format", "csv", "--out", str(d / "records.csv")]) == 0
    return d


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def gate(capsys, baseline, candidate, *extra):
    """(exit code, stdout, stderr, the JSON verdict or None) of one `bench compare`."""
    js = candidate.parent / f"{candidate.name}.verdict.json" if hasattr(candidate, "parent") else None
    rc = main(["compare", str(baseline), str(candidate), *(["--json", str(js)] if js else []), *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    doc = json.loads(js.read_text()) if js and js.is_file() else None
    return rc, out, err, doc


def candidate_csv(base, tmp_path, edit) -> "Path":  # noqa: F821
    """The baseline's per-image CSV, edited (a pandas DataFrame -> DataFrame), as a candidate file."""
    df = pd.read_csv(base / "records.csv", dtype={"point": str, "image": str, "image_sha256": str})
    p = tmp_path / "cand.csv"
    edit(df).to_csv(p, index=False, float_format="%.17g")
    return p


def cells(doc, status):
    return sorted(f"{c['codec']}/{c['metric']}" for c in doc["cells"] if c["status"] == status)


# -- 1. undefined BD-rate ----------------------------------------------------------------------------
def test_a_changed_ladder_11_db_worse_is_never_within_tolerance(base, tmp_path, capsys):
    def worse(df):  # no rate point shared with the baseline, and no overlap of the quality ranges
        df.loc[df.metric == "psnr", "value"] -= 11.0
        df["point"] = (df["point"].astype(float) + 1).map(repr)
        return df

    cand = candidate_csv(base, tmp_path, worse)
    rc, out, _, doc = gate(capsys, base / "records.csv", cand)
    assert rc == 1 and out.startswith("bench compare: FAIL") and len(cells(doc, "missing")) == 4
    rc, out, _, doc = gate(capsys, base / "records.csv", cand, "--allow-missing")
    assert rc == 1 and len(cells(doc, "undefined")) == 4 and "BD-rate undefined" in out


@pytest.mark.parametrize("keep", [[0], [0, 1, 2]])
def test_one_or_three_points_fail_as_missing_and_undefined(base, tmp_path, capsys, keep):
    cand = candidate_csv(base, tmp_path, lambda df: df[df.point_index.isin(keep)])
    rc, out, _, doc = gate(capsys, base / "records.csv", cand)
    assert rc == 1 and "missing" in out and cells(doc, "missing") == ["jpeg/psnr", "jpeg/ssim", "jpeg2000/psnr",
                                                                    "jpeg2000/ssim"]
    rc, out, _, doc = gate(capsys, base / "records.csv", cand, "--allow-missing")
    assert rc == 1 and cells(doc, "undefined") == ["jpeg/psnr", "jpeg/ssim", "jpeg2000/psnr", "jpeg2000/ssim"]
    assert "BD-rate undefined" in out and "allowed by --allow-missing" in out
    rc, out, _, _ = gate(capsys, base / "records.csv", cand, "--allow-missing", "--allow-undefined")
    assert rc == 0 and "allowed by --allow-undefined" in out


def test_a_non_monotone_candidate_is_undefined_not_passed(base, tmp_path, capsys):
    def swap(df):
        sel = (df.codec == "jpeg") & (df.metric == "psnr")
        a, b = sel & (df.point_index == 2), sel & (df.point_index == 5)
        va, vb = df.loc[a, "value"].to_numpy(), df.loc[b, "value"].to_numpy()
        df.loc[a, "value"], df.loc[b, "value"] = vb, va
        return df

    rc, out, _, doc = gate(capsys, base / "records.csv", candidate_csv(base, tmp_path, swap), "--tol", "psnr=100")
    assert rc == 1 and cells(doc, "undefined") == ["jpeg/psnr"] and "not strictly monotone" in out


def test_half_the_ladder_bit_identical_is_missing_not_an_improvement(base, tmp_path, capsys):
    cand = candidate_csv(base, tmp_path, lambda df: df[df.point_index % 2 == 0])
    rc, out, _, doc = gate(capsys, base / "records.csv", cand)
    assert rc == 1 and "improvement" not in cells(doc, "improvement") and cells(doc, "improvement") == []
    cell = next(c for c in doc["cells"] if c["codec"] == "jpeg" and c["metric"] == "psnr")
    assert cell["status"] == "missing" and cell["missing_points"] == [10, 35, 65, 90]
    rc, out, _, doc = gate(capsys, base / "records.csv", cand, "--allow-missing")
    cell = next(c for c in doc["cells"] if c["codec"] == "jpeg" and c["metric"] == "psnr")
    assert rc == 0 and cell["status"] == "unchanged" and cell["bd_rate"] == pytest.approx(0.0, abs=1e-9)


# -- 2. cells that vanish ----------------------------------------------------------------------------
@pytest.mark.parametrize("edit,expect", [
    (lambda df: df[df.metric != "ssim"], ["jpeg/ssim", "jpeg2000/ssim"]),                       # a metric gone
    (lambda df: df[df.codec != "jpeg2000"], ["jpeg2000/psnr", "jpeg2000/ssim"]),                # a codec gone
    (lambda df: df.assign(value=df.value.where(df.metric != "psnr", float("nan"))), ["jpeg/psnr", "jpeg2000/psnr"]),
    (lambda df: df.assign(value=df.value.where(df.metric != "ssim", float("inf"))), ["jpeg/ssim", "jpeg2000/ssim"]),
])
def test_a_baseline_cell_absent_from_the_candidate_fails_naming_it(base, tmp_path, capsys, edit, expect):
    rc, out, _, doc = gate(capsys, base / "records.csv", candidate_csv(base, tmp_path, edit))
    assert rc == 1 and cells(doc, "missing") == expect
    for c in expect:
        assert f"{c} missing" in out.splitlines()[0]


def test_a_killed_candidate_run_fails_and_is_not_touched(base, tmp_path, capsys):
    killed = edited_copy(base / "run", tmp_path / "killed", "UPDATE runs SET finished = NULL")
    before = digest(killed / "bench.sqlite")
    rc, out, _, doc = gate(capsys, base / "run", killed)
    assert rc == 1 and "did not finish" in out and cells(doc, "incomplete") == ["candidate/(whole run)"]
    assert digest(killed / "bench.sqlite") == before


# -- 3. tolerances -------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,msg", [
    (["--tol", "bd_rate=nan"], "must be a finite number >= 0"),
    (["--tol", "bd_rate=-1"], "must be a finite number >= 0"),
    (["--tol", "psnr=inf"], "must be a finite number >= 0"),
    (["--tol", "piont=1"], "'piont' is neither bd_rate nor a metric"),
    (["--tol", "psnr.bd_rat=1"], "'bd_rat' unknown"),
    (["--tolerance", "{toml_nan}"], "[default] bd_rate: tolerance nan must be a finite number"),
    (["--tolerance", "{toml_typo}"], "[metric.psnr] key 'bd_rat' unknown"),
    (["--tolerance", "{toml_table}"], "top-level table 'defualt' unknown"),
])
def test_tolerances_must_be_finite_non_negative_and_known(base, tmp_path, capsys, args, msg):
    files = {"toml_nan": "[default]\nbd_rate = nan\n", "toml_typo": "[metric.psnr]\nbd_rat = 1\n",
             "toml_table": "[defualt]\nbd_rate = 1\n"}
    for k, v in files.items():
        (tmp_path / f"{k}.toml").write_text(v)
    args = [a.format(**{k: tmp_path / f"{k}.toml" for k in files}) for a in args]
    rc, _, err, _ = gate(capsys, base / "run", base / "run", *args)
    assert rc == 2 and msg in err


# -- 4. CSV baselines ----------------------------------------------------------------------------------
def test_a_truncated_csv_candidate_is_missing_points_and_says_so(base, tmp_path, capsys):
    lines = (base / "records.csv").read_text().splitlines(keepends=True)
    cand = tmp_path / "truncated.csv"
    cand.write_text("".join(lines[: len(lines) * 2 // 3]))  # cut at a line boundary
    rc, out, _, doc = gate(capsys, base / "records.csv", cand)
    assert rc == 1 and cells(doc, "missing") and "incomplete rate point(s) left out" in out


def test_numeric_image_names_stay_names(base, tmp_path, capsys):
    from bench.report.gate import load_side

    def rename(df):
        df["image"] = df["image"].map({"i0": "000000005001", "i1": "000000010764", "i2": "00042"})
        return df

    side = load_side(candidate_csv(base, tmp_path, rename))
    assert sorted(side.images.values()) == ["000000005001", "000000010764", "00042"]


def test_set_level_scores_survive_the_csv_baseline(base, tmp_path, capsys):
    run = tmp_path / "with-kid"
    shutil.copytree(base / "run", run)
    db = sqlite3.connect(run / "bench.sqlite")
    rid = db.execute("SELECT max(run_id) FROM runs").fetchone()[0]
    for i in range(8):
        db.execute("INSERT INTO set_scores VALUES (?,?,?,?,?,?,?)", (rid, "jpeg", i, "kid", 0.1 / (i + 1), 100, None))
    man = json.loads(db.execute("SELECT manifest FROM runs WHERE run_id=?", (rid,)).fetchone()[0])
    man["metrics"].append("kid")
    man["metric_versions"]["kid"] = "test"
    db.execute("UPDATE runs SET manifest=? WHERE run_id=?", (json.dumps(man), rid))
    db.commit()
    db.close()
    out = tmp_path / "records.csv"
    assert main(["export", str(run), "--format", "csv", "--out", str(out)]) == 0
    capsys.readouterr()
    rows = pd.read_csv(out, dtype={"image": str})
    assert (rows[rows.metric == "kid"].image == "(set)").all() and len(rows[rows.metric == "kid"]) == 8
    rc, outp, _, doc = gate(capsys, out, base / "run")  # the candidate has no KID: the gate must say so
    assert rc == 1 and cells(doc, "missing") == ["jpeg/kid"]
    rc, _, _, doc = gate(capsys, out, run)
    assert rc == 0 and any(c["metric"] == "kid" and c["status"] == "unchanged" for c in doc["cells"])


# -- 5. exit codes -------------------------------------------------------------------------------------
def test_malformed_csv_fields_are_exit_2_naming_the_file(base, tmp_path, capsys):
    def garble(df):
        df["value"] = df["value"].astype(object)
        df.loc[3, "value"] = "abc"
        return df

    cand = candidate_csv(base, tmp_path, garble)
    rc, _, err, _ = gate(capsys, base / "records.csv", cand)
    assert rc == 2 and str(cand) in err and "export it again" in err


def test_a_full_disk_is_exit_2_and_leaves_no_old_verdict(base, tmp_path, capsys, monkeypatch):
    import bench.report.gate as gate_module

    md = tmp_path / "compare.md"
    md.write_text("**✅ bench compare — PASS** (an older verdict)\n")

    def full(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(gate_module, "atomic_write", full)
    rc = main(["compare", str(base / "run"), str(base / "run"), "--markdown", str(md)])
    err = capsys.readouterr().err
    assert rc == 2 and "No space left on device" in err and not md.exists() and "Traceback" not in err


@pytest.mark.parametrize("target", ["bench.sqlite", "folder"])
def test_no_output_may_overwrite_a_store_or_a_folder(base, tmp_path, capsys, target):
    run = tmp_path / "r"
    shutil.copytree(base / "run", run)
    before = digest(run / "bench.sqlite")
    dest = run / "bench.sqlite" if target == "bench.sqlite" else run
    for args in (["compare", str(run), str(run), "--markdown", str(dest)],
                 ["export", str(run), "--format", "csv", "--out", str(dest)],
                 ["table", str(run), "--format", "md", "--out", str(dest)]):
        assert main(args) == 2, args
        assert ("a percept-bench store" if target == "bench.sqlite" else "is a folder") in capsys.readouterr().err
    assert digest(run / "bench.sqlite") == before


# -- 6. Markdown injection -----------------------------------------------------------------------------
def test_names_cannot_break_or_inject_into_compare_md(base, tmp_path, capsys):
    evil = "jp|eg<img src=x onerror=alert(1)>*`"

    def rename(df):
        df["codec"] = df["codec"].replace({"jpeg": evil})
        return df

    b = tmp_path / "b"
    b.mkdir()
    rename_base = candidate_csv(base, b, rename)

    def worse(df):
        df = rename(df)
        df.loc[df.metric == "psnr", "value"] -= 0.5
        return df

    c = tmp_path / "c"
    c.mkdir()
    md = tmp_path / "compare.md"
    rc = main(["compare", str(rename_base), str(candidate_csv(base, c, worse)), "--markdown", str(md)])
    capsys.readouterr()
    text = md.read_text()
    assert rc == 1 and "<img" not in text and "&lt;img" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "regression" in ln]
    assert rows and all(ln.replace("\\|", "").count("|") == 8 for ln in rows)


# -- the gate still passes an unchanged candidate ------------------------------------------------------
def test_an_unchanged_candidate_passes_from_a_store_and_from_its_csv(base, tmp_path, capsys):
    before = digest(base / "run" / "bench.sqlite")
    assert gate(capsys, base / "run", base / "run")[0] == 0
    assert gate(capsys, base / "records.csv", base / "run")[0] == 0
    assert digest(base / "run" / "bench.sqlite") == before


# -- 11. a store on a read-only mount is read, not called corrupt -----------------------------------------
def test_reading_verbs_work_on_a_read_only_mount(base, tmp_path, capsys):
    import os
    import subprocess

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root (mount --bind)")
    src, mnt = tmp_path / "src", tmp_path / "ro"
    shutil.copytree(base / "run", src / "run")
    mnt.mkdir()
    if subprocess.run(["mount", "--bind", str(src), str(mnt)], capture_output=True).returncode != 0:
        pytest.skip("mount --bind is not permitted here")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(mnt)], capture_output=True).returncode != 0:
            pytest.skip("a read-only remount is not permitted here")
        assert main(["table", str(mnt / "run"), "--format", "csv"]) == 0
        assert main(["compare", str(mnt / "run"), str(mnt / "run")]) == 0
        assert main(["export", str(mnt / "run"), "--format", "csv", "--out", str(tmp_path / "r.csv")]) == 0
        assert "not a usable" not in capsys.readouterr().err
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
