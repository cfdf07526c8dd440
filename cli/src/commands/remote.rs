//! What every command that talks to the control plane shares: the server flags, the
//! stored login, the exit code of each kind of failure.

use std::path::PathBuf;

use alq_shared::client::login::{self, LoginError};
use alq_shared::client::{Client, ClientError, ClientOptions};

use super::{EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE};

/// Where the server is and how to print; global flags of every server command group.
#[derive(clap::Args, Debug, Clone)]
pub struct Remote {
    /// Server URL [default: the one `alq login` stored].
    #[arg(long, env = "ALQ_URL", global = true)]
    pub url: Option<String>,
    /// API token [default: the one `alq login` stored].
    #[arg(long, env = "ALQ_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Extra trusted root certificate (PEM), for a server with a private CA.
    #[arg(long, env = "ALQ_CA_CERT", global = true)]
    pub ca_cert: Option<PathBuf>,
    /// Print JSON, for scripts, instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// A command that did not succeed: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// The message, printed after `error: `.
    pub message: String,
}

impl Failure {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Failure {
        let code = match &error {
            ClientError::Connect { .. } => EXIT_UNREACHABLE,
            ClientError::InvalidUrl { .. } | ClientError::CaCert { .. } => EXIT_USAGE,
            ClientError::Api { .. } | ClientError::Decode { .. } => EXIT_FAILED,
        };
        Failure {
            code,
            message: error.to_string(),
        }
    }
}

impl From<LoginError> for Failure {
    fn from(error: LoginError) -> Failure {
        Failure {
            code: EXIT_UNREACHABLE,
            message: error.to_string(),
        }
    }
}

/// The result of a command's body: an exit code, or a failure to report.
pub type Outcome = Result<u8, Failure>;

/// Runs a command body on a small runtime and turns its outcome into the exit code.
pub fn exec(body: impl Future<Output = Outcome>) -> u8 {
    let Some(runtime) = super::runtime(false) else {
        return EXIT_FAILED;
    };
    match runtime.block_on(body) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            failure.code
        }
    }
}

impl Remote {
    /// The server options: flags and `ALQ_*` variables over the stored login. The
    /// stored token and certificate go only to the stored server: with another `--url`,
    /// a `--token` is needed.
    pub fn options(&self) -> Result<ClientOptions, Failure> {
        let stored = match (&self.url, &self.token) {
            (Some(_), Some(_)) => None,
            _ => login::load()?,
        };
        let stored = match (stored, &self.url) {
            (Some(stored), Some(url)) if !same_server(&stored.url, url) => {
                return Err(Failure::usage(format!(
                    "the stored login is for {}, not {url}: pass --token (or ALQ_TOKEN) for \
                     this server, or `alq login --url {url} --token TOKEN`",
                    stored.url
                )));
            }
            (stored, _) => stored,
        };
        let url = self
            .url
            .clone()
            .or_else(|| stored.as_ref().map(|s| s.url.clone()));
        let token = self
            .token
            .clone()
            .or_else(|| stored.as_ref().map(|s| s.token.clone()));
        let (Some(url), Some(token)) = (url, token) else {
            return Err(Failure {
                code: EXIT_UNREACHABLE,
                message:
                    "not logged in to an alq server.\nRun `alq login --url URL --token TOKEN` \
                          (the admin token is printed when `alq server` first starts), \
                          or set ALQ_URL and ALQ_TOKEN."
                        .into(),
            });
        };
        let ca_cert = self
            .ca_cert
            .clone()
            .or_else(|| stored.and_then(|s| s.ca_cert));
        Ok(ClientOptions {
            url,
            token,
            ca_cert,
        })
    }

    /// A client of the server these flags name.
    pub fn client(&self) -> Result<Client, Failure> {
        Ok(Client::new(&self.options()?)?)
    }
}

/// Whether two base URLs name the same server (ignoring a trailing slash).
fn same_server(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/')
}
