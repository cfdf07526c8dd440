//! `alq server`: the control plane.

use std::net::SocketAddr;
use std::path::PathBuf;

use alq_control_plane::Config;
use tokio_util::sync::CancellationToken;

/// Options of `alq server`; each flag can also be an `ALQ_*` variable or a key of the
/// config file (flags win over variables, which win over the file).
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "ALQ_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// `postgres://...` or `sqlite://...` [default: SQLite in the data folder].
    #[arg(long, env = "ALQ_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Redis, for several replicas.
    #[arg(long, env = "ALQ_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Where SQLite and blobs live [default: the OS data folder].
    #[arg(long, env = "ALQ_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// TLS certificate chain (PEM); with --tls-key, serves HTTPS.
    #[arg(long, env = "ALQ_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "ALQ_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// How long events are kept for SSE resume and outbox consumers, in seconds
    /// [default: 604800, 7 days].
    #[arg(long, env = "ALQ_EVENT_RETENTION_S")]
    pub event_retention_s: Option<u64>,
    /// How often the event stream sends a heartbeat comment, in ms [default: 15000].
    #[arg(long, env = "ALQ_EVENT_HEARTBEAT_MS")]
    pub event_heartbeat_ms: Option<u64>,
    /// A TOML file with any of the settings above (same names, snake_case).
    #[arg(long, env = "ALQ_CONFIG")]
    pub config: Option<PathBuf>,
}

impl Args {
    fn into_config(self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        config.database_url = self.database_url.or(config.database_url);
        config.redis_url = self.redis_url.or(config.redis_url);
        config.data_dir = self.data_dir.or(config.data_dir);
        config.tls_cert = self.tls_cert.or(config.tls_cert);
        config.tls_key = self.tls_key.or(config.tls_key);
        config.event_retention_s = self.event_retention_s.unwrap_or(config.event_retention_s);
        config.event_heartbeat_ms = self.event_heartbeat_ms.unwrap_or(config.event_heartbeat_ms);
        config.check()?;
        Ok(config)
    }
}

/// Raises this process's soft limit of open files to its hard limit: every parked robot
/// holds a connection, and the usual soft limit (1,024) is far below what a server with
/// thousands of robots needs. Returns the limit now in force (`None` when unknown).
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum {
            let raised = Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                return limit.maximum;
            }
        }
        limit.current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Serves until Ctrl-C or SIGTERM.
pub fn run(args: Args) -> u8 {
    raise_open_files_limit();
    let config = match args.into_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return super::EXIT_USAGE;
        }
    };
    let Some(runtime) = super::runtime(true) else {
        return super::EXIT_FAILED;
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            super::EXIT_FAILED
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let tls = config.tls_cert.is_some();
    let scheme = if tls { "https" } else { "http" };
    // Bind first: the admin token is made once, so it must never be lost to a port
    // that is taken; and the message can give the real address when the port is 0.
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let (state, admin_token) = alq_control_plane::prepare(config).await?;
    let address = listener.local_addr()?;
    if let Some(token) = admin_token {
        eprintln!(
            "Created the default tenant. Its admin token, shown only this once:\n\n    {token}\n"
        );
        eprintln!("Use it with: alq login --url {scheme}://{address} --token {token}\n");
    }
    // Before the "listening" line: a SIGTERM right after it must stop the server cleanly.
    let stop = super::stop_requested();
    eprintln!("alq server listening on {scheme}://{address}");
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            stop.await;
            eprintln!("Shutting down...");
            shutdown.cancel();
        }
    });
    alq_control_plane::run(state, listener, shutdown).await
}
