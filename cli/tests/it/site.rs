//! A small site served by the test on port 0, for workflows that drive the browser.

use std::net::SocketAddr;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;

const FORM: &str = r#"<!doctype html><html><head><title>Form</title></head><body>
<h1>Order</h1>
<input id="name" placeholder="Name">
<button id="go" onclick="document.getElementById('out').textContent = 'Hello ' + document.getElementById('name').value">Go</button>
<p id="out"></p>
<table id="t"><thead><tr><th>Item</th><th>Qty</th></tr></thead>
<tbody><tr><td>Apple</td><td>3</td></tr><tr><td>Pear</td><td>5</td></tr></tbody></table>
</body></html>"#;

/// A page whose `#late` paragraph appears 1.5 s after it loads: a slow step.
const LATE: &str = r#"<!doctype html><html><body><h1>Slow</h1>
<script>setTimeout(() => { const p = document.createElement('p'); p.id = 'late'; p.textContent = 'late'; document.body.appendChild(p); }, 1500);</script>
</body></html>"#;

/// A page that is not there: status 404, with a page of its own.
async fn missing() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><html><head><title>Not here</title></head><body>no</body></html>"),
    )
}

/// A server error with an empty body: Chromium shows its own "HTTP ERROR 500" page.
async fn broken() -> impl IntoResponse {
    StatusCode::INTERNAL_SERVER_ERROR
}

/// A file to download instead of a page.
async fn report_csv() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/csv"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"report.csv\"",
            ),
        ],
        "a,b\n1,2\n",
    )
}

/// Serves the site on a free loopback port until the test process ends.
pub fn serve() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let app = Router::new()
                .route("/form", get(|| async { Html(FORM) }))
                .route("/late", get(|| async { Html(LATE) }))
                .route("/missing", get(missing))
                .route("/broken", get(broken))
                .route("/report.csv", get(report_csv));
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    addr
}
