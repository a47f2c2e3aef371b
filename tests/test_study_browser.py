"""A study answered through the real page in headless Chromium: scripted raters with a known latent
preference flip with the keyboard and answer with one key; the answers land in the store; a server
killed mid-session loses nothing and the page carries on; two raters at once."""
import os
import signal
import socket
import sqlite3

import pytest
from test_figures import _chromium
from test_study import Server, made, study  # noqa: F401 - the fixtures

pytest.importorskip("flask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conditions(folder, served_id):
    """What the scripted rater 'sees': the conditions shown as A and B, with their bpp."""
    import json

    spec = json.loads((folder / "study.json").read_text())
    items = {i["id"]: i for i in spec["items"]}
    with sqlite3.connect(folder / "study.sqlite") as db:
        a, b = db.execute("SELECT a, b FROM served WHERE id = ?", (served_id,)).fetchone()
    return items[a], items[b]


def _answer(page, folder):
    """One question: flip to B and back with F, then press 1 or 2 for the side with more bits (the latent
    preference), or 1 for the lossless copy in a golden question. Returns the side chosen."""
    page.wait_for_function("document.body.dataset.state === 'ready' || document.body.dataset.state === 'done'")
    if page.evaluate("document.body.dataset.state") == "done":
        return None
    sid = int(page.evaluate("document.body.dataset.question"))
    a, b = _conditions(folder, sid)
    src_a = page.get_attribute("#cand", "src")
    page.keyboard.press("f")
    assert page.evaluate("document.body.dataset.side") == "b" and page.get_attribute("#cand", "src") != src_a
    page.keyboard.press("f")
    assert page.evaluate("document.body.dataset.side") == "a"
    rank = lambda i: 1e9 if i["condition"] == "original" else -1 if i["condition"] == "degraded" else i["bpp"]  # noqa: E731
    key = "1" if rank(a) > rank(b) else "2"
    page.keyboard.press(key)
    page.wait_for_function(f"document.body.dataset.question !== '{sid}' || document.body.dataset.state === 'done'")
    return key


def test_raters_answer_in_the_browser_and_a_restart_loses_nothing(study):  # noqa: F811
    folder, tok = study
    exe = _chromium()
    if os.environ.get("CI"):
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    port = _free_port()
    srv = Server(folder, port)
    errors = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
            pages = {}
            for name in tok:  # two raters, each in their own browser context, answering in turn
                # (the page forbids eval; Playwright's waiting predicates need it, in the test only)
                pages[name] = browser.new_context(bypass_csp=True).new_page()
                pages[name].on("pageerror", lambda e: errors.append(str(e)))
                pages[name].goto(f"{srv.base}/r/{tok[name]}")
            for _ in range(5):
                for name in tok:
                    assert _answer(pages[name], folder)
            srv.stop(signal.SIGKILL)  # mid-session
            with sqlite3.connect(folder / "study.sqlite") as db:
                assert db.execute("SELECT COUNT(*) FROM judgements").fetchone()[0] == 10
            srv = Server(folder, port)
            for name in tok:
                pages[name].reload()
                pages[name].wait_for_function("document.body.dataset.state === 'ready'")
                assert "5 / 12 answered" in pages[name].inner_text("#progress")
            while any([_answer(pages[n], folder) for n in tok]):
                pass
            assert "all 12 answered" in pages["alice"].inner_text("body")
            browser.close()
    finally:
        srv.stop()
    assert not errors, errors
    with sqlite3.connect(folder / "study.sqlite") as db:
        rows = db.execute("SELECT rater, a, b, y, golden, ms FROM judgements").fetchall()
    assert len(rows) == 24 and {r[0] for r in rows} == {"alice", "bob"}
    assert all(r[5] is not None and r[5] >= 0 for r in rows)  # time taken, measured by the page
    golden = [r for r in rows if r[4]]
    assert len(golden) == 6 and all((r[1] == "original") == (r[3] == 1) for r in golden)


def test_the_viewer_flips_and_slides_in_the_browser(made):  # noqa: F811
    import subprocess
    import sys

    exe = _chromium()
    if os.environ.get("CI"):
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    p = subprocess.Popen([sys.executable, "-m", "bench.cli", "view", str(made), "--port", "0"], stdout=subprocess.PIPE,
                         text=True)
    try:
        base = p.stdout.readline().split(" on ")[1].split("/ ")[0]
        errors = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(bypass_csp=True).new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base + "/")
            page.wait_for_function("() => document.getElementById('ea').options.length > 1")
            page.wait_for_function("() => document.getElementById('cand').naturalWidth > 0")
            a = page.get_attribute("#cand", "src")
            page.keyboard.press("f")
            assert page.inner_text("#which") == "B" and page.get_attribute("#cand", "src") != a
            page.keyboard.press("f")
            page.fill("#split", "40")
            page.dispatch_event("#split", "input")
            assert page.evaluate("getComputedStyle(document.getElementById('over')).display") == "block"
            assert page.evaluate("document.getElementById('orig').naturalWidth") > 0
            browser.close()
        assert not errors, errors
    finally:
        p.terminate()
        p.wait(10)
