//! HTTPS with a certificate made in the test: trusted when its CA is given, refused
//! otherwise.

use alq_control_plane::{Config, prepare, run};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_the_configured_certificate() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let config = Config {
        data_dir: Some(dir.path().join("data")),
        tls_cert: Some(cert_file),
        tls_key: Some(key_file),
        ..Config::default()
    };
    let (state, _) = prepare(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(run(state, listener, shutdown.clone()));

    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!("https://localhost:{port}/healthz");
    let response = trusting
        .get(&url)
        .send()
        .await
        .expect("HTTPS with the CA trusted");
    assert_eq!(response.status(), 200);

    let stranger = reqwest::Client::new();
    let error = stranger
        .get(&url)
        .send()
        .await
        .expect_err("an unknown CA must be refused");
    assert!(
        error.is_connect() || error.to_string().contains("certificate"),
        "{error:?}"
    );
    let plain = reqwest::Client::new()
        .get(format!("http://localhost:{port}/healthz"))
        .send()
        .await;
    assert!(
        plain.is_err() || plain.is_ok_and(|r| r.status() != 200),
        "plain HTTP must not be served"
    );

    shutdown.cancel();
    server.await.unwrap().unwrap();
}
