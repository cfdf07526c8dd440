//! `alq asset set|get|list|delete`: values workflows read as `{{ assets.NAME }}`.

use alq_shared::client::AssetKind;
use serde_json::{Value, json};

use super::login::read_stdin_line;
use super::output::{self, Column};
use super::remote::{self, Failure, Outcome, Remote};

/// Options of `alq asset`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create or replace an asset.
    Set(SetArgs),
    /// Show an asset (a credential's password is never shown).
    Get {
        /// Its name.
        name: String,
    },
    /// List the assets.
    List,
    /// Delete an asset.
    Delete {
        /// Its name.
        name: String,
    },
}

/// Options of `alq asset set`.
#[derive(clap::Args)]
struct SetArgs {
    /// Its name, as workflows use it: `{{ assets.NAME }}`.
    name: String,
    /// Its type.
    #[arg(long = "type", value_enum)]
    kind: AssetKind,
    /// The value (text, number, true/false or JSON; not for credentials).
    #[arg(long)]
    value: Option<String>,
    /// A credential's username.
    #[arg(long)]
    username: Option<String>,
    /// A credential's password (prefer --password-stdin: this one shows in `ps`).
    #[arg(long, requires = "username", conflicts_with = "password_stdin")]
    password: Option<String>,
    /// Read a credential's password from standard input.
    #[arg(long, requires = "username")]
    password_stdin: bool,
}

const COLUMNS: &[Column] = &[
    ("NAME", "name"),
    ("TYPE", "type"),
    ("VALUE", "value"),
    ("UPDATED", "updated_at"),
];

/// Runs the subcommand; exit codes as for every server command.
pub fn run(args: Args) -> u8 {
    remote::exec(exec(args))
}

async fn exec(args: Args) -> Outcome {
    let json = args.remote.json;
    match args.command {
        Command::Set(set) => {
            let kind = set.kind;
            let value = value_of(&set, kind)?;
            let client = args.remote.client()?;
            let saved = client.put_asset(&set.name, kind, &value).await?;
            if json {
                output::json(&saved);
            } else {
                println!("Set asset {}.", set.name);
            }
        }
        Command::Get { name } => {
            let client = args.remote.client()?;
            let asset = client.get_asset(&name).await?;
            if json {
                output::json(&asset);
            } else {
                output::record(false, &for_people(&asset));
            }
        }
        Command::List => {
            let client = args.remote.client()?;
            let assets = client.list_assets().await?;
            if json {
                output::json(&assets);
            } else {
                let rows: Vec<Value> = output::items(&assets).iter().map(for_people).collect();
                output::table(&rows, COLUMNS);
            }
        }
        Command::Delete { name } => {
            let client = args.remote.client()?;
            client.delete_asset(&name).await?;
            if json {
                output::json(&json!({ "deleted": name }));
            } else {
                println!("Deleted asset {name}.");
            }
        }
    }
    Ok(0)
}

/// An asset as people see it: a credential's value is its username, the password
/// hidden (the server masks it in any case).
fn for_people(asset: &Value) -> Value {
    let mut asset = asset.clone();
    if asset["type"] == "credential" {
        let username = output::cell(&asset, "value.username");
        asset["value"] = json!(format!("{username} (password hidden)"));
    }
    asset
}

/// The JSON value to store, from `--value` or from the username and password.
fn value_of(set: &SetArgs, kind: AssetKind) -> Result<Value, Failure> {
    if kind != AssetKind::Credential {
        let Some(text) = &set.value else {
            return Err(Failure::usage(format!(
                "asset `{}`: --value is needed for this type (--username and --password are for credentials)",
                set.name
            )));
        };
        return kind
            .parse_text(text)
            .map_err(|e| Failure::usage(format!("asset `{}`: {e}", set.name)));
    }
    let (Some(username), None) = (&set.username, &set.value) else {
        return Err(Failure::usage(format!(
            "asset `{}`: a credential takes --username and --password-stdin (or --password), not --value",
            set.name
        )));
    };
    let password = match (&set.password, set.password_stdin) {
        (Some(password), _) => password.clone(),
        (None, true) => read_stdin_line()?,
        (None, false) => {
            return Err(Failure::usage(format!(
                "asset `{}`: a credential needs --password-stdin (or --password)",
                set.name
            )));
        }
    };
    Ok(json!({ "username": username, "password": password }))
}
