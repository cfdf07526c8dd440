//! Serving the application over plain HTTP or HTTPS (rustls), with graceful shutdown.

use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// How long open requests may take to finish once shutdown begins.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` (HTTPS when the config names a certificate and key) until
/// `shutdown` is cancelled, then lets open requests finish.
pub async fn serve(
    app: Router,
    listener: TcpListener,
    config: &Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await?;
        return Ok(());
    };
    let tls = RustlsConfig::from_pem_file(cert, key).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot load the TLS certificate {} and key {}: {e}",
            cert.display(),
            key.display()
        )
    })?;
    let handle = axum_server::Handle::new();
    tokio::spawn({
        let handle = handle.clone();
        async move {
            shutdown.cancelled().await;
            handle.graceful_shutdown(Some(DRAIN));
        }
    });
    axum_server::from_tcp_rustls(listener.into_std()?, tls)?
        .handle(handle)
        .serve(app.into_make_service())
        .await?;
    Ok(())
}
