//! `alq server`: the control plane.

use std::path::PathBuf;

use alq_control_plane::Config;
use alq_control_plane::settings::Settings;
use tokio_util::sync::CancellationToken;

/// Options of `alq server`: every setting is a flag, an `ALQ_*` variable and a key of
/// the config file (flags win over variables, which win over the file).
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    settings: Settings,
    /// A TOML file with any of the settings (the flags' names in snake_case).
    #[arg(long, env = "ALQ_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl Args {
    fn into_config(self) -> anyhow::Result<Config> {
        let from_file = match &self.config {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        self.settings.over(from_file).resolve()
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
    // Passwords in the URLs are replaced in this line (Config's Debug).
    tracing::debug!(config = ?config, "Configuration.");
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
