//! The server under test: `alq server` started from this same binary in a child
//! process (so its memory and CPU are its own), on SQLite in a temporary folder or on a
//! throwaway database of a PostgreSQL server.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// A running `alq server`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bootstrap admin token.
    pub token: String,
    /// The throwaway PostgreSQL database: the server's URL and the database name.
    database: Option<(String, String)>,
}

impl Server {
    /// Starts `alq server` on a free loopback port with its data in `dir` and its log
    /// in `log_path`, on SQLite or on a new database of the PostgreSQL server at
    /// `postgres_url`.
    pub async fn start(
        dir: &Path,
        log_path: &Path,
        postgres_url: Option<&str>,
    ) -> anyhow::Result<Server> {
        let mut database = None;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            // Its own settings only: none of the caller's ALQ_* server variables.
            .env_remove("ALQ_DATABASE_URL")
            .env_remove("ALQ_REDIS_URL")
            .env_remove("ALQ_CONFIG")
            .env_remove("ALQ_LISTEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = postgres_url {
            let name = format!("alq_bench_{}", std::process::id());
            create_database(url, &name).await?;
            command
                .arg("--database-url")
                .arg(with_database(url, &name)?);
            database = Some((url.to_owned(), name));
        }
        let mut child = command.spawn().context("cannot start `alq server`")?;
        let stderr = child.stderr.take().context("no stderr")?;
        // Its log goes to a file in the folder; the first lines give the token and URL.
        let mut log = std::fs::File::create(log_path)
            .with_context(|| format!("cannot write {}", log_path.display()))?;
        let mut lines = BufReader::new(stderr).lines();
        let (mut token, mut url) = (None, None);
        for line in lines.by_ref() {
            let line = line?;
            use std::io::Write as _;
            writeln!(log, "{line}")?;
            let trimmed = line.trim();
            if trimmed.starts_with("alq_pat_") {
                token = Some(trimmed.to_owned());
            }
            if let Some(rest) = trimmed.strip_prefix("alq server listening on ") {
                url = Some(rest.to_owned());
                break;
            }
        }
        std::thread::spawn(move || {
            use std::io::Write as _;
            for line in lines.map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
            }
        });
        let mut server = Server {
            child,
            url: String::new(),
            token: String::new(),
            database,
        };
        match (token, url) {
            (Some(token), Some(url)) => {
                server.token = token;
                server.url = url;
                Ok(server)
            }
            _ => {
                server.stop().await;
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                bail!("`alq server` did not start:\n{log}")
            }
        }
    }

    /// The process id, for its memory and CPU.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s) and drops its database.
    pub async fn stop(mut self) {
        terminate(&mut self.child);
        if let Some((url, name)) = self.database.take()
            && let Err(e) = drop_database(&url, &name).await
        {
            eprintln!("warning: cannot drop the bench database {name}: {e:#}");
        }
    }
}

fn terminate(child: &mut Child) {
    #[cfg(unix)]
    {
        let pid = i32::try_from(child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = pid
            && rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
        {
            for _ in 0..100 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

async fn create_database(url: &str, name: &str) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {url}"))?;
    let sql = format!("CREATE DATABASE {name}");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await
        .with_context(|| format!("cannot create the database {name}"))?;
    admin.close().await?;
    Ok(())
}

async fn drop_database(url: &str, name: &str) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect(url).await?;
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let mut parsed = reqwest::Url::parse(url).with_context(|| format!("bad URL {url}"))?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

/// What `/proc` says about a process: resident memory now and at its peak, and CPU time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcStats {
    /// Resident set size now, bytes.
    pub rss: u64,
    /// Peak resident set size, bytes.
    pub peak_rss: u64,
    /// User plus system CPU time so far.
    pub cpu: Duration,
}

/// Reads `/proc/PID` (Linux); zeros elsewhere.
pub fn proc_stats(pid: u32) -> ProcStats {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // The kernel's USER_HZ is 100 on every Linux alq supports.
    let cpu = Duration::from_millis((ticks(11) + ticks(12)) * 10);
    ProcStats {
        rss: kib("VmRSS:"),
        peak_rss: kib("VmHWM:"),
        cpu,
    }
}
