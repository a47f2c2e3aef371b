"""The pages raters and viewers see: the original always on the left, the candidate on the right flipping
between A and B (key F or Space, or a click), answers with one key (1: A looks closer to the original,
2: B, 0: no visible difference), progress shown, 1:1 pixels with Z for 2x and panels that scroll
together for large images. Scripts are served as files so that the pages can forbid inline scripts."""
from __future__ import annotations

import html

STYLE = """<style>
body{font-family:sans-serif;margin:12px;background:#808080;color:#111}
.row{display:flex;gap:12px;align-items:flex-start}
.pane{overflow:auto;max-width:48vw;max-height:78vh;border:2px solid #333;background:#666}
.pane img{display:block;image-rendering:pixelated}
#which{font-size:28px;font-weight:bold;min-width:2em}
button{font-size:16px;margin:4px}
.bar{margin:8px 0}
</style>"""

RATER_HTML = f"""<!doctype html><html><head><meta charset="utf-8"><title>Which looks closer to the original?</title>
{STYLE}</head><body>
<div class="bar"><b>Which of A and B looks closer to the original?</b>
F or Space (or click the right image): flip A/B &middot; 1: A &middot; 2: B &middot; 0: no difference
&middot; Z: zoom 2x &middot; <span id="progress"></span></div>
<div class="row"><div><div>Original</div><div class="pane" id="po"><img id="orig" alt="original"></div></div>
<div><div>Candidate <span id="which">A</span></div><div class="pane" id="pc"><img id="cand" alt="candidate"></div></div></div>
<div class="bar"><button id="flip">Flip (F)</button><button id="ba">A is closer (1)</button>
<button id="bb">B is closer (2)</button><button id="bt">No difference (0)</button></div>
<div id="status"></div>
<script src="/static/study.js"></script></body></html>"""

SCRIPT = r"""
const token = location.pathname.split('/')[2];
let q = null, side = 'a', shown = 0, zoom = 1, busy = false;
const $ = id => document.getElementById(id);
function show() {
  $('cand').src = side === 'a' ? q.a : q.b;
  $('which').textContent = side.toUpperCase();
  document.body.dataset.side = side;
}
function setZoom() {
  for (const im of [$('orig'), $('cand')]) im.style.width = im.naturalWidth ? (im.naturalWidth * zoom) + 'px' : '';
}
async function next() {
  const r = await fetch(`/api/${token}/next`);
  q = await r.json();
  if (q.done) {
    document.body.innerHTML = `<h2>Thank you: all ${q.total} answered.</h2>`;
    document.body.dataset.state = 'done';
    return;
  }
  $('progress').textContent = `${q.answered} / ${q.total} answered`;
  side = 'a';
  await Promise.all([load($('orig'), q.o), load($('cand'), q.a)]);
  const pre = new Image(); pre.src = q.b;
  show(); setZoom(); shown = performance.now(); busy = false;
  document.body.dataset.state = 'ready'; document.body.dataset.question = q.id;
}
function load(im, src) {
  return new Promise(res => { im.onload = res; im.onerror = res; im.src = src; });
}
async function answer(choice) {
  if (!q || q.done || busy) return;
  busy = true; document.body.dataset.state = 'sending';
  const ms = Math.round(performance.now() - shown);
  const r = await fetch(`/api/${token}/answer`, {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({id: q.id, nonce: q.nonce, choice: choice, ms: ms})});
  if (!r.ok) $('status').textContent = (await r.json()).error || r.statusText;
  await next();
}
function flip() { if (q && !q.done) { side = side === 'a' ? 'b' : 'a'; show(); } }
document.addEventListener('keydown', e => {
  if (e.key === 'f' || e.key === 'F' || e.key === ' ') { e.preventDefault(); flip(); }
  else if (e.key === '1') answer('a');
  else if (e.key === '2') answer('b');
  else if (e.key === '0') answer('tie');
  else if (e.key === 'z' || e.key === 'Z') { zoom = zoom === 1 ? 2 : 1; setZoom(); }
});
$('cand').addEventListener('click', flip);
$('flip').addEventListener('click', flip);
$('ba').addEventListener('click', () => answer('a'));
$('bb').addEventListener('click', () => answer('b'));
$('bt').addEventListener('click', () => answer('tie'));
for (const [x, y] of [['po', 'pc'], ['pc', 'po']])
  $(x).addEventListener('scroll', () => { $(y).scrollLeft = $(x).scrollLeft; $(y).scrollTop = $(x).scrollTop; });
next();
"""

VIEWER_HTML = f"""<!doctype html><html><head><meta charset="utf-8"><title>percept-bench viewer</title>{STYLE}</head><body>
<div class="bar">Image <select id="image"></select> A <select id="ea"></select> B <select id="eb"></select>
&middot; F/Space or click: flip A/B &middot; slider: A|B split &middot; Z: zoom 2x
<input type="range" id="split" min="0" max="100" value="100"></div>
<div class="row"><div><div>Original</div><div class="pane" id="po"><img id="orig" alt="original"></div></div>
<div><div>Shown: <span id="which">A</span></div><div class="pane" id="pc" style="position:relative">
<img id="cand" alt="candidate"><img id="over" alt="" style="position:absolute;left:0;top:0"></div></div></div>
<script src="/static/view.js"></script></body></html>"""

VIEWER_SCRIPT = r"""
const $ = id => document.getElementById(id);
let data = null, side = 'a', zoom = 1;
function opts(sel, items) { sel.innerHTML = ''; for (const [v, t] of items) sel.add(new Option(t, v)); }
function fill() {
  const im = $('image').value;
  const es = data.encodings.filter(e => e.image === im).sort((x, y) => x.codec.localeCompare(y.codec) || x.bpp - y.bpp);
  const items = es.map(e => [e.key, `${e.codec} #${e.point} (${e.bpp.toFixed(3)} bpp)`]);
  opts($('ea'), items); opts($('eb'), items);
  if (items.length > 1) $('eb').selectedIndex = 1;
  draw();
}
function draw() {
  $('orig').src = `/img/original:${encodeURIComponent($('image').value)}`;
  $('cand').src = `/img/${side === 'a' ? $('ea').value : $('eb').value}`;
  $('over').src = `/img/${$('eb').value}`;
  $('which').textContent = side.toUpperCase();
  split();
}
function split() {
  const v = +$('split').value;
  $('over').style.clipPath = `inset(0 0 0 ${v}%)`;
  $('over').style.display = v < 100 && side === 'a' ? 'block' : 'none';
}
function flip() { side = side === 'a' ? 'b' : 'a'; draw(); }
document.addEventListener('keydown', e => {
  if (e.target.tagName === 'SELECT') return;
  if (e.key === 'f' || e.key === ' ') { e.preventDefault(); flip(); }
  if (e.key === 'z') {
    zoom = zoom === 1 ? 2 : 1;
    for (const i of [$('orig'), $('cand'), $('over')]) i.style.width = (i.naturalWidth * zoom) + 'px';
  }
});
$('cand').addEventListener('click', flip);
for (const id of ['ea', 'eb']) $(id).addEventListener('change', draw);
$('image').addEventListener('change', fill);
$('split').addEventListener('input', split);
fetch('/api/encodings').then(r => r.json()).then(d => { data = d; opts($('image'), d.images.map(i => [i, i])); fill(); });
"""


def message_page(title: str, text: str) -> str:
    """A small HTML page with a title and one sentence (escaped)."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h2>{html.escape(title)}</h2><p>{html.escape(text)}</p></body></html>")
