"""`bench study serve` and `bench view`: a Flask application served by waitress (a maintained, pure-Python,
multi-threaded WSGI server: no compiler, no event loop, and each answer is one short synchronous SQLite
transaction, which a thread per request suits). Requests name images only by the id of a question
served to that token (never a path); an answer is accepted once, for the question served to that
token, with that question's nonce; bodies over 4 KiB are refused; nothing a rater sends is stored
beyond the choice and the time taken."""
from __future__ import annotations

import hashlib
import sys

from ..errors import BenchError
from .page import RATER_HTML, SCRIPT, VIEWER_HTML, VIEWER_SCRIPT, message_page
from .sampler import next_question
from .store import ORIGINAL, Study

MAX_BODY = 4096
CSP = "default-src 'none'; img-src 'self'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'"


def _secure(resp):
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"  # the token in the URL never leaves in a Referer
    resp.headers["Cache-Control"] = "no-store"
    return resp


def study_app(study: Study):
    """The rater application of one study."""
    from flask import Flask, Response, abort, jsonify, request

    app = Flask("percept-bench-study")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    items = {i["id"]: i for i in study.spec["items"]}
    checked: set[int] = set()
    per = study.spec["per_rater"]

    def rater_or_403(token: str) -> str:
        name = study.rater(token) if len(token) < 64 else None
        if name is None:
            abort(Response(message_page("Unknown link", "This link is not valid for this study. Ask the organiser "
                                        "for your own link."), 403, mimetype="text/html"))
        return name

    def answered(token: str) -> int:
        with study.lock:
            return study.db.execute("SELECT COUNT(*) FROM served WHERE token = ? AND answered = 1",
                                    (token,)).fetchone()[0]

    @app.after_request
    def headers(resp):
        return _secure(resp)

    @app.errorhandler(413)
    def too_large(_e):
        return jsonify(error=f"request body over {MAX_BODY} bytes"), 413

    @app.get("/")
    def index():
        return Response(message_page("percept-bench study", "Open the link the organiser gave you."), mimetype="text/html")

    @app.get("/static/study.js")
    def script():
        return Response(SCRIPT, mimetype="text/javascript")

    @app.get("/r/<token>")
    def page(token):
        rater_or_403(token)
        return Response(RATER_HTML, mimetype="text/html")

    @app.get("/api/<token>/next")
    def next_(token):
        rater_or_403(token)
        row = next_question(study, token)
        if row is None:
            return jsonify(done=True, answered=answered(token), total=per)
        return jsonify(done=False, id=row["id"], nonce=row["nonce"], answered=answered(token), total=per,
                       **{s: f"/img/{token}/{row['id']}/{s}" for s in ("o", "a", "b")})

    @app.get("/img/<token>/<int:sid>/<slot>")
    def image(token, sid, slot):
        rater_or_403(token)
        with study.lock:
            row = study.db.execute("SELECT * FROM served WHERE id = ? AND token = ?", (sid, token)).fetchone()
        if row is None or slot not in ("o", "a", "b"):
            abort(404)
        if slot == "o":
            item = next(i for i in items.values() if i["image"] == row["image"] and i["condition"] == ORIGINAL)
        else:
            item = items[row[slot]]
        data = (study.dir / item["file"]).read_bytes()
        if item["id"] not in checked:
            if hashlib.sha256(data).hexdigest() != item["sha256"]:
                abort(Response(message_page("Study damaged", "An image of this study changed on disk."), 500,
                               mimetype="text/html"))
            checked.add(item["id"])
        return Response(data, mimetype="image/png")

    @app.post("/api/<token>/answer")
    def answer(token):
        name = rater_or_403(token)
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or body.get("choice") not in ("a", "b", "tie") or \
                not isinstance(body.get("id"), int) or not isinstance(body.get("nonce"), str):
            return jsonify(error="expected JSON {id: int, nonce: str, choice: 'a'|'b'|'tie', ms: int}"), 400
        ms = body.get("ms")
        ms = ms if isinstance(ms, int) and 0 <= ms <= 3_600_000 else None
        return _record(study, token, name, body["id"], body["nonce"], body["choice"], ms, items)

    return app


def _record(study: Study, token, name, sid, nonce, choice, ms, items):
    """Store one answer in one transaction: only for the question served to this token, once, with its nonce."""
    import time

    from flask import jsonify

    db = study.db
    with study.lock, db:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("SELECT * FROM served WHERE id = ? AND token = ?", (sid, token)).fetchone()
        if row is None or row["nonce"] != nonce:
            return jsonify(error="this question was not served to this link"), 403
        if row["answered"]:
            return jsonify(error="this question was answered already"), 409
        y = {"a": 1.0, "b": 0.0, "tie": 0.5}[choice]
        db.execute("INSERT INTO judgements (rater, image, a, b, y, golden, ms, at, served_id, source) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'served')",
                   (name, row["image"], items[row["a"]]["condition"], items[row["b"]]["condition"], y, row["golden"],
                    ms, time.time(), sid))
        db.execute("UPDATE served SET answered = 1 WHERE id = ?", (sid,))
    return jsonify(ok=True)


def view_app(run_dir, data_dir=None):
    """The viewer of a stored run: pick image, codecs and rate points, flip or slide against the original."""
    from flask import Flask, Response, abort, jsonify

    from ..images import png_bytes
    from ..report.stored import StoredRun

    run = StoredRun.open(run_dir)
    encs = {e["key"]: e for e in run.encodings}
    app = Flask("percept-bench-view")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.after_request(_secure)

    @app.get("/")
    def page():
        return Response(VIEWER_HTML, mimetype="text/html")

    @app.get("/static/view.js")
    def script():
        return Response(VIEWER_SCRIPT, mimetype="text/javascript")

    @app.get("/api/encodings")
    def listing():
        return jsonify(images=run.images(), encodings=[{"key": k, "image": e["image"], "codec": e["codec"],
                                                        "point": e["point_index"], "bpp": e["bpp"]}
                                                       for k, e in encs.items()])

    @app.get("/img/<key>")
    def image(key):
        if key.startswith("original:") and key[9:] in run.images():
            return Response(png_bytes(run.original(key[9:], data_dir)), mimetype="image/png")
        if key not in encs:
            abort(404)
        return Response(png_bytes(run.reconstruction(encs[key])), mimetype="image/png")

    return app


def serve(app, host: str = "127.0.0.1", port: int = 8765, threads: int = 8, announce=None) -> None:
    """Serve until interrupted (waitress: request bodies capped, a pool of worker threads)."""
    from waitress.server import create_server

    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {host}: anyone who can reach this machine can open the pages; raters still "
              "need their token", file=sys.stderr)
    try:
        srv = create_server(app, host=host, port=port, threads=threads, max_request_body_size=MAX_BODY,
                            ident="percept-bench")
    except OSError as e:
        raise BenchError(f"cannot listen on {host}:{port} ({e.strerror}); choose another --port") from None
    if announce:
        announce(srv.effective_port)
    srv.run()
