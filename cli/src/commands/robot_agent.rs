//! This machine as a robot: `alq robot register|run|status|install|uninstall|start|stop`,
//! thin wrappers over `alq_robot::agent` and `alq_robot::service`.

use std::time::Duration;

use alq_robot::agent::{self, AgentConfig, AgentError, Identity, Registration};
use alq_robot::service::systemd::{self, Scope};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::remote::{Failure, Outcome, Remote};
use super::robot_settings::RunSettings;
use super::{EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE};

fn failure(error: AgentError) -> Failure {
    let code = match &error {
        e if e.is_unreachable() => EXIT_UNREACHABLE,
        AgentError::BadRegistrationToken(_) | AgentError::Rejected(_) | AgentError::Call(_) => {
            EXIT_FAILED
        }
        _ => EXIT_USAGE,
    };
    Failure {
        code,
        message: error.to_string(),
    }
}

fn robot_dir() -> Result<std::path::PathBuf, Failure> {
    agent::robot_dir().map_err(failure)
}

/// `alq robot register`.
pub async fn register(
    remote: &Remote,
    name: Option<String>,
    labels: Vec<String>,
    insecure_http: bool,
) -> Outcome {
    let (Some(url), Some(token)) = (remote.url.clone(), remote.token.clone()) else {
        return Err(Failure::usage(
            "give the server with --url URL and a registration token with --token alq_reg_... \
             (create one with `alq robot token create`)",
        ));
    };
    let dir = robot_dir()?;
    let identity = agent::register(
        &dir,
        &Registration {
            url,
            token,
            name,
            labels: labels.into_iter().filter(|l| !l.is_empty()).collect(),
            ca_cert: remote.ca_cert.clone(),
            insecure_http,
        },
    )
    .await
    .map_err(failure)?;
    if remote.json {
        println!(
            "{}",
            json!({ "robot_id": identity.robot_id, "name": identity.name, "labels": identity.labels, "url": identity.url, "dir": dir })
        );
    } else {
        println!(
            "Registered robot {} ({}) with {}; identity stored in {}.\nRun it with `alq robot run`, or as a service with `alq robot install`.",
            identity.name,
            identity.robot_id,
            identity.url,
            agent::identity::identity_path(&dir).display()
        );
    }
    Ok(0)
}

/// `alq robot run`: the agent until Ctrl-C or SIGTERM (logging is set up by `main`),
/// with `given` (flags and variables) over the robot's config file.
pub fn run(given: RunSettings, config_file: Option<std::path::PathBuf>) -> u8 {
    let fail = |f: Failure| {
        eprintln!("error: {}", f.message);
        f.code
    };
    let dir = match robot_dir() {
        Ok(dir) => dir,
        Err(f) => return fail(f),
    };
    let from_file = match RunSettings::file(config_file, &dir) {
        Some(path) => match RunSettings::from_file(&path) {
            Ok(settings) => settings,
            Err(message) => return fail(Failure::usage(message)),
        },
        None => RunSettings::default(),
    };
    let settings = given.over(from_file);
    let data_dir = match settings.data_dir {
        Some(dir) => dir,
        None => match agent::robot_data_dir() {
            Ok(dir) => dir,
            Err(e) => return fail(failure(e)),
        },
    };
    // The file's folders are absolute already; the ones given are taken from here.
    let mut allow_paths = Vec::with_capacity(settings.allow_paths.len());
    for path in settings.allow_paths {
        match std::path::absolute(&path) {
            Ok(path) => allow_paths.push(path),
            Err(e) => {
                return fail(Failure::usage(format!(
                    "--allow-path {}: {e}",
                    path.display()
                )));
            }
        }
    }
    // One thread is plenty: jobs run on threads of their own.
    let Some(runtime) = super::runtime(false) else {
        return EXIT_FAILED;
    };
    let config = AgentConfig {
        dir,
        data_dir,
        retention: settings.retention,
        slots: settings.slots,
        grace: settings.grace,
        webdriver_url: settings.webdriver_url,
        browser_startup_timeout: settings.browser_startup_timeout,
        allow_paths,
    };
    let result = runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        // Installed before the agent says it started, so a stop request right after
        // that line still stops it gracefully.
        let stop = super::stop_requested();
        tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                stop.await;
                shutdown.cancel();
            }
        });
        agent::run(config, shutdown).await
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            let f = failure(e);
            eprintln!("error: {}", f.message);
            f.code
        }
    }
}

/// What `alq robot status` found out about the server.
enum Reach {
    /// It answers and knows this robot.
    Ok,
    /// It answers but refuses the robot's token (deleted, or registered again elsewhere).
    Refused(String),
    /// No answer.
    Unreachable(String),
}

/// Asks the server whether it answers and still knows this robot, without leasing.
async fn reach(identity: &Identity) -> Reach {
    let client = match agent::http::RobotClient::new(
        &identity.url,
        &identity.token,
        identity.ca_cert.as_deref(),
    ) {
        Ok(client) => client,
        Err(e) => return Reach::Unreachable(e.to_string()),
    };
    // A heartbeat for no job: any answer past authentication (404) means the server
    // answers and knows the robot.
    match tokio::time::timeout(Duration::from_secs(10), client.heartbeat(0, 0)).await {
        Ok(Ok(_)) => Reach::Ok,
        Ok(Err(e)) if matches!(e.status(), Some(404 | 409)) => Reach::Ok,
        Ok(Err(e)) if matches!(e.status(), Some(401 | 403)) => Reach::Refused(e.to_string()),
        Ok(Err(e)) => Reach::Unreachable(e.to_string()),
        Err(_) => Reach::Unreachable("no answer within 10 s".to_owned()),
    }
}

/// A time as people read it, to the second.
fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `alq robot status`: exit 0 when the server answers and knows the robot, 1 when it
/// refuses the robot's token, 3 when it cannot be reached (2: not registered).
pub async fn status(as_json: bool) -> Outcome {
    let dir = robot_dir()?;
    let data_dir = match RunSettings::data_dir_without_flags(&dir) {
        Some(dir) => dir,
        None => agent::robot_data_dir().map_err(failure)?,
    };
    let identity = Identity::load(&dir).map_err(failure)?;
    let reach = reach(&identity).await;
    let state = agent::state::read(&dir);
    // A state file whose agent is gone (killed, or the machine lost power) is not an
    // agent running.
    let (state, stale) = match state {
        Some(s) if !s.is_running() => (None, Some(s)),
        state => (state, None),
    };
    if as_json {
        let (reachable, refused, error) = match &reach {
            Reach::Ok => (true, false, None),
            Reach::Refused(e) => (true, true, Some(e)),
            Reach::Unreachable(e) => (false, false, Some(e)),
        };
        println!(
            "{}",
            json!({
                "robot_id": identity.robot_id, "name": identity.name, "url": identity.url,
                "labels": identity.labels, "dir": dir, "data_dir": data_dir,
                "reachable": reachable, "token_refused": refused, "error": error,
                "agent": state,
            })
        );
    } else {
        println!("Robot:   {} ({})", identity.name, identity.robot_id);
        println!("Labels:  {}", identity.labels.join(", "));
        println!("Folders: {} (identity, spool)", dir.display());
        println!("         {} (job folders)", data_dir.display());
        println!("Server:  {}", identity.url);
        match &reach {
            Reach::Ok => println!("         reachable"),
            Reach::Refused(e) => println!(
                "         reachable, but it refuses this robot's token ({e}): register the robot again"
            ),
            Reach::Unreachable(e) => println!("         NOT reachable: {e}"),
        }
        match (&state, &stale) {
            (None, None) => println!(
                "Agent:   not running (no {})",
                agent::state::state_path(&dir).display()
            ),
            (None, Some(s)) => println!(
                "Agent:   not running (pid {}, started {}, ended without a clean stop; `alq robot run` sends what its spool still holds)",
                s.pid,
                when(s.started_at)
            ),
            (Some(s), _) => {
                println!(
                    "Agent:   pid {}, since {}, {} slot(s)",
                    s.pid,
                    when(s.started_at),
                    s.slots
                );
                if s.jobs.is_empty() {
                    println!("Jobs:    none");
                }
                for job in &s.jobs {
                    println!(
                        "Job:     {} attempt {} ({}), since {}",
                        job.job_id,
                        job.attempt,
                        job.workflow,
                        when(job.started_at)
                    );
                }
            }
        }
    }
    Ok(match reach {
        Reach::Ok => 0,
        Reach::Refused(_) => EXIT_FAILED,
        Reach::Unreachable(_) => EXIT_UNREACHABLE,
    })
}

/// The service commands.
pub enum Service {
    /// Write, enable and start the unit.
    Install,
    /// Stop, disable and remove it.
    Uninstall,
    /// Start it.
    Start,
    /// Stop it.
    Stop,
}

/// `alq robot install|uninstall|start|stop`.
pub fn service(action: Service, user: bool) -> u8 {
    let scope = if user { Scope::User } else { Scope::System };
    let result = match action {
        Service::Install => std::env::current_exe()
            .map_err(|e| e.to_string())
            .and_then(|exe| systemd::install(&exe, scope).map_err(|e| e.to_string()))
            .map(|path| format!("Installed and started {}.", path.display())),
        Service::Uninstall => systemd::uninstall(scope)
            .map(|()| format!("Removed {}.", systemd::UNIT_NAME))
            .map_err(|e| e.to_string()),
        Service::Start => systemd::start(scope)
            .map(|()| format!("Started {}.", systemd::UNIT_NAME))
            .map_err(|e| e.to_string()),
        Service::Stop => systemd::stop(scope)
            .map(|()| format!("Stopped {}.", systemd::UNIT_NAME))
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(message) => {
            println!("{message}");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}
