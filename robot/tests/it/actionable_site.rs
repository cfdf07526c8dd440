//! The test site's pages for actionability (`actionable.rs`): elements in small scroll
//! boxes, under covers, clipped for good, and moved by animations, transitions and
//! scripts. Every page writes what it saw into `#log`, so a test asserts on what the page
//! got, not on what alq believes it did.

use axum::Router;
use axum::response::Html;
use axum::routing::get;

/// The routes, merged into the test site.
pub fn routes() -> Router {
    Router::new()
        .route("/scroll-box", get(|| page(SCROLL_BOX)))
        .route("/nested-boxes", get(|| page(NESTED_BOXES)))
        .route("/half-covered-field", get(|| page(HALF_COVERED_FIELD)))
        .route("/clipped", get(|| page(CLIPPED)))
        .route("/orbit", get(|| page(ORBIT)))
        .route("/movers", get(|| page(MOVERS)))
}

async fn page(body: &'static str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8></head><body>{body}</body></html>"
    ))
}

/// A 300×150 box with both scrollbars; its controls lie past both its right and bottom
/// edges, while their centres are inside the window (so the window never needs to
/// scroll), over a sibling that would take a click made without scrolling the box.
const SCROLL_BOX: &str = r#"<title>Scroll box</title>
<style>
#box{position:absolute;left:20px;top:20px;width:300px;height:150px;overflow:scroll;border:1px solid #888}
#inner{position:relative;width:1000px;height:800px}
#inner>*{position:absolute}
#sibling{position:absolute;left:0;top:0;width:1280px;height:900px;z-index:-1}
</style>
<div id="sibling" onclick="log.textContent += 'sibling;'"></div>
<div id="box"><div id="inner">
  <button id="far" style="left:850px;top:650px" onclick="log.textContent += 'far;'">Far</button>
  <span id="hover-me" style="left:700px;top:500px" onmouseenter="hovered.textContent = 'hovered'">Hover</span>
  <input id="field" style="left:600px;top:700px">
  <input id="tick" type="checkbox" style="left:900px;top:300px" onchange="log.textContent += 'tick=' + this.checked + ';'">
  <select id="pick" style="left:500px;top:760px" onchange="log.textContent += 'pick=' + this.value + ';'">
    <option value="a">A</option><option value="b">B</option></select>
</div></div>
<p id="log" style="position:absolute;top:300px"></p>
<p id="hovered" style="position:absolute;top:340px"></p>"#;

/// A button inside a box inside a box, each scrolled away from it in both directions; its
/// centre is inside the window.
const NESTED_BOXES: &str = r#"<title>Nested boxes</title>
<style>
#outer{position:absolute;left:20px;top:20px;width:400px;height:250px;overflow:auto;border:1px solid}
#outer-inner{position:relative;width:1200px;height:1000px}
#inner{position:absolute;left:500px;top:350px;width:250px;height:120px;overflow:auto;border:1px solid}
#inner-inner{position:relative;width:900px;height:700px}
#deep{position:absolute;left:300px;top:250px}
</style>
<div id="outer"><div id="outer-inner"><div id="inner"><div id="inner-inner">
  <button id="deep" onclick="log.textContent += 'deep;'">Deep</button>
</div></div></div></div>
<p id="log"></p>"#;

/// A field in a 100 px box whose upper half lies under an absolutely positioned block.
/// Scrolled to the box's centre (as WebDriver's Send Keys does) the field's centre is
/// under the block; the page then wipes what is typed, as a page would ignore keys it
/// cannot see a person type.
const HALF_COVERED_FIELD: &str = r#"<title>Half covered field</title>
<style>
#wrap{position:relative;width:300px}
#box{height:100px;overflow:auto;border:1px solid}
#field{display:block;margin:300px 10px}
#block{position:absolute;left:0;top:0;width:300px;height:58px;background:rgba(200,0,0,.6)}
</style>
<div id="wrap"><div id="box"><input id="field"></div><div id="block"></div></div>
<p id="log"></p>
<script>
const field = document.getElementById('field');
field.addEventListener('input', () => {
  const r = field.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  if (hit !== field) { field.value = ''; log.textContent += 'wiped;'; }
});
</script>"#;

/// Elements that never become actionable: buttons that no scrolling can show (past the
/// edge of an `overflow: clip` box, which does not scroll, and left of an
/// `overflow: hidden` box's start, as a box cannot scroll to negative offsets), a
/// disabled button, a read-only field and a button that never stops moving.
const CLIPPED: &str = r#"<title>Clipped</title>
<style>
#clip{position:relative;width:200px;height:100px;overflow:clip;border:1px solid}
#hidden{position:relative;width:200px;height:100px;overflow:hidden;border:1px solid}
@keyframes sway{from{margin-left:0}to{margin-left:200px}}
#restless{animation:sway 2s linear infinite alternate}
</style>
<button id="off" disabled>Off</button><input id="locked" readonly value="fixed">
<button id="restless">Restless</button>
<div id="clip"><button id="past-clip" style="position:absolute;left:320px;top:10px">Past</button></div>
<div id="hidden"><button id="before-start" style="position:absolute;left:-150px;top:10px">Before</button></div>"#;

/// A button that orbits for 5 s by a CSS keyframe animation once `#start` is clicked.
/// `#log` says whether its click came while it moved or after it stopped.
const ORBIT: &str = r#"<title>Orbit</title>
<style>
@keyframes orbit{from{transform:rotate(0deg) translateX(120px) rotate(0deg)}
  to{transform:rotate(360deg) translateX(120px) rotate(-360deg)}}
#orbiter{position:absolute;left:300px;top:250px}
#orbiter.run{animation:orbit 1s linear 5}
</style>
<button id="start">Start</button>
<button id="orbiter">Orbiter</button>
<p id="log"></p>
<script>
let state = 'still';
const orbiter = document.getElementById('orbiter');
document.getElementById('start').onclick = () => { state = 'moving'; orbiter.classList.add('run'); };
orbiter.addEventListener('animationend', () => { state = 'stopped'; });
orbiter.onclick = () => { log.textContent += 'clicked while ' + state + ';'; };
</script>"#;

/// Buttons moved when their start button is clicked: by a CSS transition of `left` and
/// `top`, by a CSS transition of `transform`, and by a script that moves it a little on
/// every animation frame (no CSS animation runs then). Each click logs whether the button
/// was still moving.
const MOVERS: &str = r#"<title>Movers</title>
<style>
.mover{position:absolute;left:40px;top:200px}
#by-left{transition:left 1.5s linear,top 1.5s linear}
#by-transform{top:300px;transition:transform 1.5s ease-out}
#by-script{top:400px}
</style>
<button id="start-left" onclick="go('by-left', (b) => { b.style.left = '700px'; b.style.top = '260px'; })">Start left</button>
<button id="start-transform" onclick="go('by-transform', (b) => { b.style.transform = 'translate(600px, 40px)'; })">Start transform</button>
<button id="start-script" onclick="slide()">Start script</button>
<button id="by-left" class="mover">By left</button>
<button id="by-transform" class="mover">By transform</button>
<button id="by-script" class="mover">By script</button>
<p id="log" style="position:absolute;top:600px"></p>
<script>
const moving = {};
for (const b of document.querySelectorAll('.mover')) {
  b.onclick = () => { log.textContent += b.id + (moving[b.id] ? ' while moving;' : ' at rest;'); };
  b.addEventListener('transitionend', () => { moving[b.id] = false; });
}
function go(id, move) { moving[id] = true; move(document.getElementById(id)); }
function slide() {
  const b = document.getElementById('by-script');
  moving['by-script'] = true;
  const start = performance.now();
  const step = (now) => {
    const t = Math.min((now - start) / 1500, 1);
    b.style.left = (40 + 600 * t) + 'px';
    if (t < 1) requestAnimationFrame(step); else moving['by-script'] = false;
  };
  requestAnimationFrame(step);
}
</script>"#;
