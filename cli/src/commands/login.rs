//! `alq login` and `alq logout`: the server and token every other server command uses.

use std::io::BufRead;
use std::path::PathBuf;

use alq_shared::client::login::{self, StoredLogin};
use alq_shared::client::{Client, ClientError, ClientOptions};

use super::remote::{self, Failure, Outcome};
use super::{EXIT_FAILED, EXIT_USAGE};

/// Options of `alq login`.
#[derive(clap::Args)]
pub struct Args {
    /// The server's URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "ALQ_URL")]
    pub url: String,
    /// The API token (`alq_pat_...`).
    #[arg(
        long,
        env = "ALQ_TOKEN",
        hide_env_values = true,
        required_unless_present = "token_stdin"
    )]
    pub token: Option<String>,
    /// Read the token from standard input (keeps it out of the shell history).
    #[arg(long)]
    pub token_stdin: bool,
    /// Extra trusted root certificate (PEM), for a server with a private CA.
    #[arg(long, env = "ALQ_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

/// Options of `alq logout`.
#[derive(clap::Args)]
pub struct LogoutArgs {}

/// Checks the token against the server, then stores the login (mode 0600).
pub fn run(args: Args) -> u8 {
    remote::exec(login(args))
}

async fn login(args: Args) -> Outcome {
    let token = if args.token_stdin {
        read_stdin_line()?
    } else {
        args.token.clone().unwrap_or_default()
    };
    if token.trim().is_empty() {
        return Err(Failure::usage("the token is empty"));
    }
    let ca_cert = match &args.ca_cert {
        Some(path) => Some(std::path::absolute(path).map_err(|e| {
            Failure::usage(format!(
                "cannot use the CA certificate {}: {e}",
                path.display()
            ))
        })?),
        None => None,
    };
    let options = ClientOptions {
        url: args.url.trim().trim_end_matches('/').to_owned(),
        token: token.trim().to_owned(),
        ca_cert,
    };
    let client = Client::new(&options)?;
    match client.list_workflows().await {
        Ok(_) => {}
        Err(ClientError::Api { status: 401, body }) => {
            return Err(Failure {
                code: EXIT_FAILED,
                message: format!(
                    "the server at {} refused this token: {}\nCheck the token: the admin token is \
                     printed once when `alq server` first starts; `alq token create` makes more.",
                    options.url, body.message
                ),
            });
        }
        Err(error) => return Err(error.into()),
    }
    let path = login::save(&StoredLogin {
        url: options.url.clone(),
        token: options.token,
        ca_cert: options.ca_cert,
    })
    .map_err(|e| Failure {
        code: EXIT_FAILED,
        message: e.to_string(),
    })?;
    println!(
        "Logged in to {} (saved in {}).",
        options.url,
        path.display()
    );
    Ok(0)
}

/// Reads one line of standard input (a token, a password) without its line end.
pub fn read_stdin_line() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Removes the stored login.
pub fn logout(_args: LogoutArgs) -> u8 {
    match login::remove() {
        Ok(Some(path)) => {
            println!("Logged out (removed {}).", path.display());
            0
        }
        Ok(None) => {
            println!("Not logged in: nothing to remove.");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}
