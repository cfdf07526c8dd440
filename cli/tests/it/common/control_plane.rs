//! A real control plane on port 0 for the server commands' tests, in a background
//! thread with its own runtime, and `alq` runs with a private config folder.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use tokio_util::sync::CancellationToken;

use super::{Run, Workspace};

/// A running control plane on a fresh SQLite database.
pub struct Server {
    pub url: String,
    pub admin_token: String,
    shutdown: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
    /// What it started with, to start it again at the same address on the same data.
    config: alq_control_plane::Config,
    scheme: &'static str,
    port: u16,
    _data: tempfile::TempDir,
}

impl Server {
    /// Over plain HTTP.
    pub fn start() -> Server {
        Self::start_configured(|_| {})
    }

    /// Over plain HTTP, with settings changed from the defaults (heartbeat interval, ...).
    pub fn start_configured(change: impl FnOnce(&mut alq_control_plane::Config)) -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = alq_control_plane::Config {
            data_dir: Some(data.path().join("data")),
            ..alq_control_plane::Config::default()
        };
        change(&mut config);
        Self::start_with(config, data, "http")
    }

    /// The Prometheus text of `/metrics`.
    pub fn metrics(&self) -> String {
        super::robot::get_text(&format!("{}/metrics", self.url))
    }

    /// Registers a robot through the robot API with a registration token from `user`.
    pub fn robot(&self, user: &User, name: &str) -> super::robot::Robot {
        let created = user.json(&["robot", "token", "create"]);
        let token = created["token"].as_str().expect("token");
        super::robot::Robot::register(&self.url, token, name).expect("registered")
    }

    /// Over HTTPS with a self-signed certificate for `localhost`; returns its PEM file.
    pub fn start_tls() -> (Server, PathBuf) {
        Self::start_tls_changed(|_| {})
    }

    /// Over HTTPS, with settings changed.
    pub fn start_tls_changed(
        change: impl FnOnce(&mut alq_control_plane::Config),
    ) -> (Server, PathBuf) {
        let data = tempfile::tempdir().expect("temp dir");
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        let cert_file = data.path().join("cert.pem");
        let key_file = data.path().join("key.pem");
        std::fs::write(&cert_file, cert.cert.pem()).expect("write cert");
        std::fs::write(&key_file, cert.signing_key.serialize_pem()).expect("write key");
        let mut config = alq_control_plane::Config {
            data_dir: Some(data.path().join("data")),
            tls_cert: Some(cert_file.clone()),
            tls_key: Some(key_file),
            ..alq_control_plane::Config::default()
        };
        change(&mut config);
        (Self::start_with(config, data, "https"), cert_file)
    }

    fn start_with(
        config: alq_control_plane::Config,
        data: tempfile::TempDir,
        scheme: &'static str,
    ) -> Server {
        let (port, token, shutdown, thread) = Self::spawn(config.clone(), scheme, 0);
        Server {
            url: format!("{scheme}://localhost:{port}"),
            admin_token: token.expect("a fresh database makes an admin token"),
            shutdown,
            thread: Some(thread),
            config,
            scheme,
            port,
            _data: data,
        }
    }

    /// Serves `config` on `127.0.0.1:port` (0: any free port) in a thread of its own;
    /// returns once it listens.
    fn spawn(
        config: alq_control_plane::Config,
        scheme: &'static str,
        port: u16,
    ) -> (
        u16,
        Option<String>,
        CancellationToken,
        std::thread::JoinHandle<()>,
    ) {
        let shutdown = CancellationToken::new();
        let (ready, started) = mpsc::channel();
        let thread = std::thread::spawn({
            let shutdown = shutdown.clone();
            move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    let (state, token) = alq_control_plane::prepare(config).await.expect("prepare");
                    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                        .await
                        .unwrap_or_else(|e| panic!("bind {scheme} on port {port}: {e}"));
                    let port = listener.local_addr().expect("addr").port();
                    ready.send((port, token)).expect("send");
                    alq_control_plane::run(state, listener, shutdown)
                        .await
                        .expect("serve");
                });
            }
        });
        let (port, token) = started.recv().expect("the server started");
        (port, token, shutdown, thread)
    }

    /// Stops the server as `alq server` does on SIGTERM (parked long-polls answered,
    /// open requests finished) and waits until it no longer listens.
    pub fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the server thread ended cleanly");
        }
    }

    /// Starts a stopped server again at the same address, on the same data folder and
    /// database; the admin token stays valid.
    pub fn restart(&mut self) {
        assert!(
            self.thread.is_none(),
            "stop the server before restarting it"
        );
        let (_, token, shutdown, thread) = Self::spawn(self.config.clone(), self.scheme, self.port);
        assert!(token.is_none(), "the restarted server kept its database");
        self.shutdown = shutdown;
        self.thread = Some(thread);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A user of the CLI: a work folder and a config folder of their own.
pub struct User {
    pub ws: Workspace,
}

impl User {
    pub fn new() -> User {
        User {
            ws: Workspace::new(),
        }
    }

    /// The config folder `alq login` writes to.
    pub fn config_dir(&self) -> PathBuf {
        self.ws.path().join("config")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_alq"));
        command
            .args(args)
            .current_dir(self.ws.path())
            .env("ALQ_CONFIG_DIR", self.config_dir())
            .env_remove("ALQ_URL")
            .env_remove("ALQ_TOKEN")
            .env_remove("ALQ_CA_CERT")
            .env_remove("RUST_LOG");
        command
    }

    /// `alq ARGS`.
    pub fn alq(&self, args: &[&str]) -> Run {
        self.alq_with(args, &[], "")
    }

    /// `alq ARGS` with extra variables and standard input.
    pub fn alq_with(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
        use std::io::Write;
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("run alq");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        Run::from(child.wait_with_output().expect("wait for alq"))
    }

    /// `alq ARGS` started in the background (finish it with [`User::finish`]).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run alq")
    }

    /// Waits for an `alq` started with [`User::spawn`].
    pub fn finish(child: std::process::Child) -> Run {
        Run::from(child.wait_with_output().expect("wait for alq"))
    }

    /// A user logged in to `server` with its admin token.
    pub fn logged_in(server: &Server) -> User {
        User::logged_in_with(server, &server.admin_token)
    }

    /// A user logged in to `server` with `token`.
    pub fn logged_in_with(server: &Server, token: &str) -> User {
        let user = User::new();
        user.alq(&["login", "--url", &server.url, "--token", token])
            .expect_code(0);
        user
    }

    /// `alq ARGS --json`, expecting success, parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.push("--json");
        let run = self.alq(&args);
        run.expect_code(0);
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("--json output is not JSON ({e}):\n{}", run.stdout))
    }
}

impl Run {
    /// Asserts that standard output contains every piece.
    pub fn stdout_has(&self, pieces: &[&str]) -> &Self {
        for piece in pieces {
            assert!(
                self.stdout.contains(piece),
                "stdout lacks {piece:?}:\n{}",
                self.stdout
            );
        }
        self
    }

    /// Standard output parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("--json output is not JSON ({e}):\n{}", self.stdout))
    }

    /// Standard output read as the table `alq` prints: one map per row, from each
    /// header to the cell under it (cut at the headers' positions).
    pub fn table(&self) -> Vec<std::collections::BTreeMap<String, String>> {
        let mut lines = self.stdout.lines();
        let header: Vec<char> = lines.next().expect("a header line").chars().collect();
        let mut starts = vec![0];
        for i in 2..header.len() {
            if header[i] != ' ' && header[i - 1] == ' ' && header[i - 2] == ' ' {
                starts.push(i);
            }
        }
        let cut = |line: &[char], i: usize| -> String {
            let end = starts
                .get(i + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .min(line.len());
            line.get(starts[i]..end.max(starts[i]))
                .map(|c| c.iter().collect::<String>().trim().to_owned())
                .unwrap_or_default()
        };
        let names: Vec<String> = (0..starts.len()).map(|i| cut(&header, i)).collect();
        lines
            .filter(|line| *line != "(none)")
            .map(|line| {
                let line: Vec<char> = line.chars().collect();
                names
                    .iter()
                    .enumerate()
                    .map(|(i, name)| (name.clone(), cut(&line, i)))
                    .collect()
            })
            .collect()
    }

    /// The row of [`Run::table`] whose `column` is `value`.
    pub fn row(&self, column: &str, value: &str) -> std::collections::BTreeMap<String, String> {
        self.table()
            .into_iter()
            .find(|row| row.get(column).is_some_and(|v| v == value))
            .unwrap_or_else(|| panic!("no row with {column} = {value}:\n{}", self.stdout))
    }
}

/// A workflow file that `alq validate` accepts.
pub const HELLO: &str = r#"{
  "name": "hello",
  "inputs": {
    "count": {"type": "integer", "default": 1},
    "who": {"type": "string", "default": "world"}
  },
  "steps": [
    {"action": "log", "message": "hello {{ inputs.who }} x{{ inputs.count }}"}
  ]
}
"#;
