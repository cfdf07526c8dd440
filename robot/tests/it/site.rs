//! A small local web site for the browser tests, served on port 0: one page per
//! situation a workflow meets on real sites (late elements, AJAX, spinners, frames,
//! shadow roots, popups, dialogs, forms, downloads, tables, changing ids).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;

/// A running test site; the server stops when the test's runtime ends.
pub struct Site {
    /// e.g. `http://127.0.0.1:40123`
    pub base: String,
}

impl Site {
    /// The full URL of a path on the site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Starts the site on a free loopback port.
pub async fn start() -> Site {
    let app = Router::new()
        .route("/late", get(|| page(LATE)))
        .route("/ajax", get(|| page(AJAX)))
        .route(
            "/api/message",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "Hello from the server"
            }),
        )
        .route("/spinner", get(|| page(SPINNER)))
        .route("/cover-after-check", get(|| page(COVER_AFTER_CHECK)))
        .route("/frame", get(|| page(FRAME)))
        .route("/frame-inner", get(|| page(FRAME_INNER)))
        .route("/shadow", get(|| page(SHADOW)))
        .route("/popup", get(|| page(POPUP)))
        .route("/child", get(|| page(CHILD)))
        .route("/dialogs", get(|| page(DIALOGS)))
        .route("/form", get(|| page(FORM)))
        .route("/download", get(|| page(DOWNLOAD)))
        .route(
            "/report.csv",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/csv"),
                        (
                            header::CONTENT_DISPOSITION,
                            "attachment; filename=\"report.csv\"",
                        ),
                    ],
                    "name,total\nalice,3\n",
                )
            }),
        )
        .route("/table", get(|| page(TABLE)))
        .route("/dynamic", get(dynamic))
        .merge(crate::actionable_site::routes());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the test site");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Site { base }
}

async fn page(body: &'static str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8></head><body>{body}</body></html>"
    ))
}

/// Element ids change on every load, as on sites built by some frameworks.
async fn dynamic() -> impl IntoResponse {
    static LOADS: AtomicU64 = AtomicU64::new(1);
    let n = LOADS.fetch_add(1, Ordering::Relaxed) * 7919;
    Html(format!(
        "<!doctype html><title>Dynamic</title><body>
        <input id=\"field-{n}\" class=\"name-field\" placeholder=\"Name\">
        <button id=\"btn-{n}\" onclick=\"document.getElementById('out-{n}').textContent =
            'Saved ' + document.getElementById('field-{n}').value\">Save</button>
        <p id=\"out-{n}\" class=\"out\"></p></body>"
    ))
}

const LATE: &str = r#"<title>Late</title><p>Waiting...</p><div id="slot"></div>
<script>
setTimeout(() => {
  const b = document.createElement('button');
  b.id = 'late'; b.textContent = 'Late button';
  b.onclick = () => { document.getElementById('slot').insertAdjacentHTML('beforeend', '<p id="done">Clicked late</p>'); };
  document.getElementById('slot').appendChild(b);
}, 2000);
</script>"#;

const AJAX: &str = r#"<title>Ajax</title><p id="msg">loading</p>
<script>fetch('/api/message').then(r => r.text()).then(t => { document.getElementById('msg').textContent = t; });</script>"#;

const SPINNER: &str = r#"<title>Spinner</title>
<style>.spinner{position:fixed;inset:0;background:rgba(0,0,0,.4)}
@keyframes slide{from{left:0}to{left:300px}} #slide{position:relative;animation:slide 1s linear infinite}</style>
<button id="slide">Sliding</button>
<div class="spinner"></div>
<button id="pay" onclick="document.getElementById('paid').textContent='Paid'">Pay</button>
<p id="paid"></p>
<script>
const ms = Number(new URLSearchParams(location.search).get('ms') || 1500);
if (ms >= 0) setTimeout(() => document.querySelector('.spinner').remove(), ms);
</script>"#;

/// An overlay that appears after every check alq and WebDriver make and before the
/// press lands (the gap a moving element or a hover menu uses on a busy machine), made
/// certain: it opens on the first mouse move over the page, which WebDriver sends just
/// before the press, and closes 1.5 s later.
const COVER_AFTER_CHECK: &str = r#"<title>Cover after check</title>
<style>#cover{position:fixed;inset:0;background:rgba(0,0,0,.1);display:none}</style>
<button id="target" onclick="document.getElementById('log').textContent += 'target;'">Target</button>
<div id="cover" onmousedown="document.getElementById('log').textContent += 'cover;'"></div>
<p id="log"></p>
<script>
let shown = false;
document.addEventListener('mousemove', () => {
  if (shown) return;
  shown = true;
  const cover = document.getElementById('cover');
  cover.style.display = 'block';
  setTimeout(() => { cover.style.display = 'none'; }, 1500);
}, true);
</script>"#;

const FRAME: &str = r#"<title>Frame</title><h1>Outer</h1><iframe id="inner" src="/frame-inner" width="400" height="200"></iframe>"#;

const FRAME_INNER: &str = r#"<input id="q"><button onclick="document.getElementById('echo').textContent='Echo: '+document.getElementById('q').value">Go</button><p id="echo"></p>"#;

const SHADOW: &str = r#"<title>Shadow</title><my-widget></my-widget>
<script>
customElements.define('my-widget', class extends HTMLElement {
  connectedCallback() {
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = '<div class="box"><button id="deep">Shadow button</button><span class="out"></span></div>';
    root.querySelector('#deep').onclick = () => { root.querySelector('.out').textContent = 'Shadow clicked'; };
  }
});
</script>"#;

const POPUP: &str = r#"<title>Opener</title>
<a id="link" href="/child" target="_blank">Open child</a>
<button onclick="setTimeout(() => window.open('/child?via=js'), 500)">Open later</button>"#;

const CHILD: &str = r#"<title>Child page</title><h1 id="child">I am the child</h1>"#;

const DIALOGS: &str = r#"<title>Dialogs</title>
<button onclick="alert('Hello alert')">Alert</button>
<button onclick="document.getElementById('answer').textContent = confirm('Sure?') ? 'yes' : 'no'">Confirm</button>
<button onclick="document.getElementById('answer').textContent = 'name=' + prompt('Your name?')">Prompt</button>
<p id="answer"></p>"#;

const FORM: &str = r#"<title>Form</title>
<input id="name" value="prefilled"><p id="inputs">0</p>
<script>let n = 0; document.getElementById('name').addEventListener('input', () => { document.getElementById('inputs').textContent = String(++n); });</script>
<select id="color"><option value="r">Red</option><option value="g">Green</option><option value="b">Blue</option></select>
<p id="color-out"></p>
<script>document.getElementById('color').addEventListener('change', e => { document.getElementById('color-out').textContent = 'color=' + e.target.value; });</script>
<label><input type="checkbox" id="agree"> I agree</label>
<input id="file" type="file" style="display:none" onchange="const f = this.files[0]; f.text().then(t => { document.getElementById('file-out').textContent = f.name + ': ' + t; })">
<p id="file-out"></p>
<form onsubmit="event.preventDefault(); document.getElementById('submitted').textContent = 'Submitted ' + document.getElementById('name').value"><input id="search"></form>
<p id="submitted"></p>"#;

const DOWNLOAD: &str = r#"<title>Download</title><a id="get" href="/report.csv">Get report</a>"#;

const TABLE: &str = r#"<title>Table</title>
<table id="people"><thead><tr><th>Name</th><th>Age</th></tr></thead>
<tbody><tr><td>Alice</td><td>31</td></tr><tr><td> Bob </td><td>42</td></tr></tbody></table>
<table id="plain"><tr><td>Key</td><td>Value</td></tr><tr><td>a</td><td>1</td></tr></table>
<ul><li class="item">one</li><li class="item">two</li><li class="item" data-x="3">three</li></ul>"#;
