"""A study end to end against a real server process: links, answers, forged and replayed answers, paths,
oversized bodies, kill -9 mid-study, two raters at once, import/export round trips, the fit's report."""
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from bench.cli import main

pytest.importorskip("flask")
pytest.importorskip("waitress")


@pytest.fixture(scope="module")
def made(tmp_path_factory, three_crops):
    root = tmp_path_factory.mktemp("study")
    run = root / "run"
    assert main(["run", "--dataset", str(three_crops), "--codec", "jpeg", "--codec", "jpeg2000", "--metric", "psnr",
                 "--metric", "ms-ssim", "--out", str(run), "--no-progress"]) == 0
    return run


@pytest.fixture
def study(made, tmp_path, capsys):
    s = tmp_path / "s"
    assert main(["study", "create", str(made), "--out", str(s), "--crop", "64", "--golden-every", "4",
                 "--per-rater", "12"]) == 0
    assert main(["study", "invite", str(s), "alice", "bob"]) == 0
    links = dict(line.split(": ", 1) for line in capsys.readouterr().out.strip().splitlines()[-2:])
    return s, {n: u.rsplit("/", 1)[1] for n, u in links.items()}


class Server:
    """`bench study serve` in its own process on a free port."""

    def __init__(self, folder, port=0):
        self.p = subprocess.Popen([sys.executable, "-m", "bench.cli", "study", "serve", str(folder), "--port", str(port)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        assert "serving" in line, line + self.p.stderr.read()
        self.base = line.split(" on ")[1].split("/ ")[0]

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def post(self, path, body, raw=None):
        data = raw if raw is not None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def next(self, tok):
        return json.loads(self.get(f"/api/{tok}/next")[1])

    def answer(self, tok, q, choice="a"):
        return self.post(f"/api/{tok}/answer", {"id": q["id"], "nonce": q["nonce"], "choice": choice, "ms": 700})

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        self.p.wait(10)


def _judgements(folder):
    import sqlite3

    with sqlite3.connect(folder / "study.sqlite") as db:
        return db.execute("SELECT rater, image, a, b, y, golden, ms FROM judgements ORDER BY id").fetchall()


def test_bad_links_forged_replayed_and_oversized_requests_are_refused(study):
    folder, tok = study
    srv = Server(folder)
    try:
        code, body = srv.get("/r/not-a-token")
        assert code == 403 and b"Unknown link" in body and b"Traceback" not in body
        assert srv.get("/api/not-a-token/next")[0] == 403
        qa, qb = srv.next(tok["alice"]), srv.next(tok["bob"])
        assert srv.get(qa["a"])[1][:4] == b"\x89PNG"
        # images only by a question served to that link: another rater's question, paths, unknown slots
        assert srv.get(f"/img/{tok['alice']}/{qb['id']}/a")[0] == 404
        for bad in ["/img/{t}/{i}/../../study.sqlite", "/img/{t}/{i}/%2e%2e%2fstudy.json", "/img/{t}/{i}/x",
                    "/img/{t}/..%2f..%2fstudy.json/a", "/images/0.png", "/study.sqlite"]:
            code, body = srv.get(bad.format(t=tok["alice"], i=qa["id"]))
            assert code in (403, 404) and b"PNG" not in body[:8], bad
        # answers: only to the question served to this link, with its nonce, once
        assert srv.post(f"/api/{tok['alice']}/answer", {"id": qb["id"], "nonce": qb["nonce"], "choice": "a"})[0] == 403
        assert srv.post(f"/api/{tok['alice']}/answer", {"id": qa["id"], "nonce": "forged", "choice": "a"})[0] == 403
        for bad in [{"id": qa["id"], "nonce": qa["nonce"], "choice": "<script>alert(1)</script>"},
                    {"id": str(qa["id"]), "nonce": qa["nonce"], "choice": "a"}, {"choice": "a"}]:
            assert srv.post(f"/api/{tok['alice']}/answer", bad)[0] == 400
        assert srv.post(f"/api/{tok['alice']}/answer", None, raw=b"{not json")[0] == 400
        big = {"id": qa["id"], "nonce": qa["nonce"], "choice": "a", "note": "x" * 10000}
        assert srv.post(f"/api/{tok['alice']}/answer", big)[0] == 413
        extra = {"id": qa["id"], "nonce": qa["nonce"], "choice": "a", "ms": 812, "comment": "'); DROP TABLE x; --"}
        assert srv.post(f"/api/{tok['alice']}/answer", extra) == (200, {"ok": True})
        assert srv.answer(tok["alice"], qa)[0] == 409  # replayed
        rows = _judgements(folder)
        assert len(rows) == 1 and rows[0][0] == "alice" and rows[0][6] == 812 and "DROP" not in repr(rows)
        with urllib.request.urlopen(f"{srv.base}/r/{tok['alice']}") as r:  # no inline script may run
            assert r.status == 200 and "script-src 'self'" in r.headers["Content-Security-Policy"]
            assert r.headers["Referrer-Policy"] == "no-referrer"
    finally:
        srv.stop()


def test_kill_9_loses_no_answer_and_raters_resume_where_they_were(study):
    folder, tok = study
    srv = Server(folder)
    for _ in range(5):
        assert srv.answer(tok["alice"], srv.next(tok["alice"]))[0] == 200
    pending = srv.next(tok["alice"])  # served, not answered
    srv.stop(signal.SIGKILL)
    assert len(_judgements(folder)) == 5
    srv = Server(folder)
    try:
        again = srv.next(tok["alice"])
        assert (again["id"], again["answered"]) == (pending["id"], 5)  # the same question, progress kept
        while not (q := srv.next(tok["alice"]))["done"]:
            assert srv.answer(tok["alice"], q, "b")[0] == 200
        rows = _judgements(folder)
        assert len(rows) == 12 and sum(r[5] for r in rows) == 3  # every 4th question is golden
        images = [r[1] for r in rows]
        assert all(a != b for a, b in zip(images, images[1:]))  # never the image just judged
    finally:
        srv.stop()


def test_two_raters_at_once(study):
    folder, tok = study
    srv = Server(folder)
    errors = []

    def rate(name):
        try:
            while not (q := srv.next(tok[name]))["done"]:
                assert srv.answer(tok[name], q, "a" if name == "alice" else "tie")[0] == 200
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    try:
        ts = [threading.Thread(target=rate, args=(n,)) for n in tok]
        [t.start() for t in ts]
        [t.join(120) for t in ts]
    finally:
        srv.stop()
    rows = _judgements(folder)
    assert not errors and len(rows) == 24 and {r[0] for r in rows} == {"alice", "bob"}


def _more_bits(folder, sid) -> str:
    """A scripted rater who prefers the side with more bits (and the lossless copy in a golden question)."""
    import sqlite3

    items = {i["id"]: i for i in json.loads((folder / "study.json").read_text())["items"]}
    with sqlite3.connect(folder / "study.sqlite") as db:
        a, b = (items[i] for i in db.execute("SELECT a, b FROM served WHERE id = ?", (sid,)).fetchone())
    rank = lambda i: {"original": 1e9, "degraded": -1}.get(i["condition"], i["bpp"])  # noqa: E731
    return ("a" if rank(a) > rank(b) else "b"), a["condition"] in ("original", "degraded")


def test_results_import_and_export_round_trip(made, study, tmp_path, capsys):
    folder, tok = study
    srv = Server(folder)
    try:
        for k, name in enumerate(tok):
            while not (q := srv.next(tok[name]))["done"]:  # bob errs on one pair in three, never on golden ones
                c, golden = _more_bits(folder, q["id"])
                srv.answer(tok[name], q, c if k == 0 or golden or q["id"] % 3 else {"a": "b", "b": "a"}[c])
    finally:
        srv.stop()
    capsys.readouterr()
    assert main(["study", "results", str(folder), "--format", "json", "--resamples", "100"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["judgements"] == 18 and {m["metric"] for m in res["metrics"]} == {"psnr", "ms-ssim"}
    anchor = next(c for c in res["conditions"] if c["id"] == res["anchor"])
    assert anchor["codec"] == "jpeg2000" and anchor["elo"] == 0  # the run's anchor codec
    for fmt in ("generic", "clic"):
        f = tmp_path / f"{fmt}.csv"
        assert main(["study", "export", str(folder), "--format", fmt, "--out", str(f)]) == 0
        assert main(["study", "import", str(f), "--out", str(tmp_path / fmt)]) == 0
        capsys.readouterr()
        assert main(["study", "results", str(tmp_path / fmt), "--format", "json", "--resamples", "0",
                     "--anchor", res["anchor"]]) == 0
        back = {c["id"]: c["elo"] for c in json.loads(capsys.readouterr().out)["conditions"]}
        assert back == pytest.approx({c["id"]: c["elo"] for c in res["conditions"]}, abs=1e-6)
    # the human column, figure, report section and validation of the same run
    assert main(["table", str(made), "--study", str(folder), "--format", "csv", "--resamples", "100"]) == 0
    csv_rows = capsys.readouterr().out.splitlines()
    assert "human_bd_rate" in csv_rows[0] and "human_bd_rate_ci_low" in csv_rows[0]
    assert main(["table", str(made), "--study", str(folder)]) == 2  # a column for a rendered table only
    assert "--study adds a column to a rendered table" in capsys.readouterr().err
    assert main(["plot", str(made), "--study", str(folder), "--out", str(tmp_path / "fig"), "--format", "png"]) == 0
    assert (tmp_path / "fig" / "rd_human.png").is_file()
    assert main(["report", str(made), "--study", str(folder), "--out", str(tmp_path / "r.html")]) == 0
    assert "Human study: scores against rate" in (tmp_path / "r.html").read_text()
    assert main(["validate-metrics", str(folder), "--resamples", "100"]) == 0
    assert "| psnr | " in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("methodA,methodB,originalName,answerValue\nx,y,img,1\n")
    assert main(["study", "import", str(bad), "--out", str(tmp_path / "b")]) == 2
    assert "bad.csv:2: answerValue '1': expected A, B or draw" in capsys.readouterr().err
    assert main(["study", "results", str(tmp_path / "nowhere")]) == 2


def test_the_viewer_serves_a_run_and_nothing_else(made):
    from waitress.server import create_server

    from bench.study.server import view_app

    srv = create_server(view_app(made), host="127.0.0.1", port=0)
    threading.Thread(target=srv.run, daemon=True).start()
    base = f"http://127.0.0.1:{srv.effective_port}"
    try:
        with urllib.request.urlopen(base + "/api/encodings") as r:
            d = json.loads(r.read())
        with urllib.request.urlopen(f"{base}/img/{d['encodings'][0]['key']}") as r:
            assert r.read()[:4] == b"\x89PNG"
        with urllib.request.urlopen(f"{base}/img/original:{d['images'][0]}") as r:
            assert r.read()[:4] == b"\x89PNG"
        for bad in ("/img/..%2fbench.sqlite", "/img/original:..%2f..%2fetc%2fpasswd", "/bench.sqlite"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(base + bad)
            assert e.value.code == 404
    finally:
        srv.close()


def test_serving_without_flask_says_how_to_install(monkeypatch, study, capsys):
    folder, _ = study
    monkeypatch.setitem(sys.modules, "flask", None)
    assert main(["study", "serve", str(folder)]) == 2
    assert "pip install 'percept-bench[study]'" in capsys.readouterr().err
    assert os.path.isfile(folder / "study.json")


def test_raters_who_fail_golden_questions_are_left_out_and_named(tmp_path, capsys):
    rows = ["methodA,methodB,originalName,answerValue,answerer,isGolden"]
    for k in range(4):
        rows += [f"original,degraded,img{k},A,good,1", f"original,degraded,img{k},B,careless,1"]
        rows += [f"x,y,img{k},A,good,0", f"x,y,img{k},B,careless,0", f"y,z,img{k},A,good,0", f"y,z,img{k},draw,careless,0"]
    f = tmp_path / "clic.csv"
    f.write_text("\n".join(rows) + "\n")
    assert main(["study", "import", str(f), "--out", str(tmp_path / "s")]) == 0
    capsys.readouterr()
    assert main(["study", "results", str(tmp_path / "s"), "--format", "json", "--resamples", "0"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["excluded"] == ["careless"] and res["judgements"] == 8
    good = next(r for r in res["raters"] if r["name"] == "good")
    assert (good["golden"], good["golden_correct"], good["excluded"]) == (4, 4, False)
    elo = {c["id"]: c["elo"] for c in res["conditions"]}
    assert elo["x"] > elo["y"] > elo["z"]  # only the good rater's answers are fitted
    # CLIC files mark a golden answer right with modelProbability = 1, whatever the methods are called
    f.write_text("methodA,methodB,originalName,answerValue,answerer,isGolden,modelProbability\n"
                 + "".join(f"ref,bad,i{k},B,r1,1,1\nref,bad,i{k},A,r2,1,0\nx,y,i{k},A,r1,0,\n" for k in range(3)))
    assert main(["study", "import", str(f), "--out", str(tmp_path / "g")]) == 0
    capsys.readouterr()
    assert main(["study", "results", str(tmp_path / "g"), "--format", "json", "--resamples", "0"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["excluded"] == ["r2"] and {r["name"]: r["golden_correct"] for r in res["raters"]} == {"r1": 3, "r2": 0}


def test_target_rates_are_matched_by_search_and_scored(made, tmp_path, capsys):
    s = tmp_path / "m"
    assert main(["study", "create", str(made), "--out", str(s), "--bpp", "0.5,1.0", "--golden-every", "0"]) == 0
    out = capsys.readouterr().out
    assert "jpeg2000@0.5bpp: mean" in out and "(matched-rate search)" in out
    spec = json.loads((s / "study.json").read_text())
    for c in spec["conditions"]:
        assert abs(c["worst_off"]) < 0.1, c  # each image within 10 % of its target (JPEG's quality steps)
    item = next(i for i in spec["items"] if i["condition"] == "jpeg@0.5bpp")
    assert (s / item["bitstream"]).is_file() and set(item["scores"]) == {"psnr", "ms-ssim"}
    # the kept bitstream decodes to the pixels the raters see
    from bench.adapters import load_codec
    from bench.images import read_image

    px = load_codec("jpeg").adapter.decode((s / item["bitstream"]).read_bytes(), item["point"])
    x, y, w, h = item["box"]
    assert np.array_equal(px[y:y + h, x:x + w], read_image(s / item["file"]).pixels)
