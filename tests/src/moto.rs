//! A local AWS API emulator (moto server) per test, on a loopback port the kernel picks.
//!
//! `MotoServer::start()` runs `tests/moto/serve.py` (which loads every `tests/moto/ext_*.py`
//! extension first) with the repository's virtualenv, waits until the server answers HTTP, and
//! kills it on drop. Each test starts its own server, so tests never see each other's tables or
//! clusters. The venv is made once by `scripts/setup-venv.sh`; when it is missing the start
//! fails with that instruction instead of silently skipping the test.
//!
//! Clients reach it through `env()`: the endpoint, dummy credentials and a fixed region, with
//! every variable that could point at a real AWS account or profile removed.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer before start gives up. A start measures 1.0-1.5 s on
/// an idle 2-core machine and 8-11 s when that machine runs several cargo builds at once.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The line serve.py prints once its socket is bound, followed by the port.
const LISTENING: &str = "serve.py: listening on 127.0.0.1:";

/// The region every emulator test uses.
pub const REGION: &str = "us-east-1";

/// Variables that would make an AWS client look past the emulator: real profiles, credential
/// files, SSO and web identity, per-service endpoint overrides. Removed from every child.
pub const INHERITED_AWS_VARS_TO_REMOVE: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_RDS",
    "AWS_ENDPOINT_URL_ROUTE_53",
    "AWS_ENDPOINT_URL_ECS",
    "AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING",
    "AWS_ENDPOINT_URL_CLOUDWATCH",
    "AWS_DEFAULT_REGION",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
];

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error(
        "the moto emulator's Python ({python}) does not exist: run `scripts/setup-venv.sh` \
         from the repository root once (or set DRCTL_PYTHON to a Python with moto[server])"
    )]
    VenvMissing { python: PathBuf },
    #[error("could not start moto ({python} {script}): {source}")]
    Spawn {
        python: PathBuf,
        script: PathBuf,
        source: std::io::Error,
    },
    #[error("moto exited before answering ({status}); its output:\n{log}")]
    Exited { status: String, log: String },
    #[error("moto did not answer on {endpoint} within {timeout:?}; its output:\n{log}")]
    Timeout {
        endpoint: String,
        timeout: Duration,
        log: String,
    },
    #[error("could not create a log file for moto: {0}")]
    Log(std::io::Error),
    #[error("fixture.py {args:?} failed: {detail}\nmoto log (tail):\n{log}")]
    Fixture {
        args: Vec<String>,
        detail: String,
        log: String,
    },
}

/// A running moto server, killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
    log_dir: tempfile::TempDir,
    started_in: Duration,
}

impl MotoServer {
    /// Start a fresh emulator with `$DRCTL_PYTHON` (default `<repo>/.venv/bin/python`) and
    /// wait until it answers HTTP, for at most [`START_TIMEOUT`].
    ///
    /// The server binds a port the kernel chooses and announces it ([`LISTENING`]). A port
    /// probed here and handed to the child would be free only until another test bound it,
    /// and a test whose server lost that race would talk to another test's emulator.
    pub fn start() -> Result<Self, MotoError> {
        let python = python_path();
        if !python.exists() {
            return Err(MotoError::VenvMissing { python });
        }
        let script = repo_root().join("tests").join("moto").join("serve.py");
        let started = Instant::now();
        let log_dir = tempfile::Builder::new()
            .prefix("drctl-moto-")
            .tempdir()
            .map_err(MotoError::Log)?;
        let log_path = log_dir.path().join("moto.log");
        let log = File::create(&log_path).map_err(MotoError::Log)?;
        let log_err = log.try_clone().map_err(MotoError::Log)?;

        let mut command = Command::new(&python);
        command
            .arg(&script)
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            // Unbuffered so that a crash leaves its traceback in the log.
            .env("PYTHONUNBUFFERED", "1");
        for var in INHERITED_AWS_VARS_TO_REMOVE {
            command.env_remove(var);
        }
        let child = command.spawn().map_err(|source| MotoError::Spawn {
            python: python.clone(),
            script: script.clone(),
            source,
        })?;
        let mut server = MotoServer {
            child,
            port: 0,
            log_dir,
            started_in: Duration::ZERO,
        };
        server.wait_until_answering(started)?;
        server.started_in = started.elapsed();
        Ok(server)
    }

    fn wait_until_answering(&mut self, started: Instant) -> Result<(), MotoError> {
        let deadline = started + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(MotoError::Exited {
                    status: status.to_string(),
                    log: self.log(),
                });
            }
            if self.port == 0 {
                self.port = announced_port(&self.log()).unwrap_or(0);
            }
            if self.port != 0 && answers_http(self.port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(MotoError::Timeout {
                    endpoint: self.endpoint(),
                    timeout: START_TIMEOUT,
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`, the value of AWS_ENDPOINT_URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// How long this server took from spawn until it answered.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The environment an AWS client needs to talk to this emulator and nothing else. Apply it
    /// together with removing [`INHERITED_AWS_VARS_TO_REMOVE`] (see [`MotoServer::configure`]).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            // Point profile files at nothing, so that a developer's ~/.aws cannot leak in.
            ("AWS_CONFIG_FILE", "/dev/null".to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_string()),
        ]
    }

    /// Point a child process (for example the `drctl` binary) at this emulator.
    pub fn configure<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        for var in INHERITED_AWS_VARS_TO_REMOVE {
            command.env_remove(var);
        }
        command.envs(self.env())
    }

    /// What the server printed so far (requests, tracebacks): for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_dir.path().join("moto.log"))
            .unwrap_or_else(|err| format!("(could not read the moto log: {err})"))
    }

    /// The last `lines` lines of [`MotoServer::log`].
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log(), lines)
    }

    /// Run `tests/moto/fixture.py ARGS` (boto3: the independent client that builds and
    /// inspects test worlds) against this emulator, and parse the JSON it prints.
    pub fn fixture(&self, args: &[&str]) -> Result<serde_json::Value, MotoError> {
        let failed = |detail: String| MotoError::Fixture {
            args: args.iter().map(|a| a.to_string()).collect(),
            detail,
            log: self.log_tail(40),
        };
        let mut command = std::process::Command::new(python_path());
        command
            .arg(repo_root().join("tests").join("moto").join("fixture.py"))
            .args(args);
        self.configure(&mut command);
        let output = command.output().map_err(|e| failed(e.to_string()))?;
        if !output.status.success() {
            return Err(failed(String::from_utf8_lossy(&output.stderr).into_owned()));
        }
        serde_json::from_slice(&output.stdout)
            .map_err(|e| failed(format!("its output is not JSON: {e}")))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // serve.py also exits by itself when orphaned; this is the prompt path.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `lines` lines of `text`, for failure messages.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `$DRCTL_PYTHON`, else the repository's venv.
pub fn python_path() -> PathBuf {
    match std::env::var_os("DRCTL_PYTHON") {
        Some(python) if !python.is_empty() => PathBuf::from(python),
        _ => repo_root().join(".venv").join("bin").join("python"),
    }
}

/// The workspace root (this crate lives in `<repo>/tests`).
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// The port in serve.py's [`LISTENING`] line, once the log has it.
fn announced_port(log: &str) -> Option<u16> {
    log.lines()
        .find_map(|line| line.strip_prefix(LISTENING))
        .and_then(|port| port.trim().parse().ok())
}

/// A full HTTP exchange rather than a bare connect: the port answering proves moto's app is
/// serving, not only that some socket is listening.
fn answers_http(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_starts_answers_dynamodb_and_stops_on_drop() {
        let server = MotoServer::start().expect("moto starts (run scripts/setup-venv.sh once)");
        let port = server.port();
        assert!(answers_http(port));
        eprintln!("moto answered after {:?}", server.started_in());
        drop(server);
        assert!(!answers_http(port), "moto still answers after drop");
    }

    #[test]
    fn two_emulators_started_at_once_never_share_a_port() {
        let servers: Vec<MotoServer> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..4).map(|_| scope.spawn(MotoServer::start)).collect();
            starts
                .into_iter()
                .map(|start| start.join().unwrap().unwrap())
                .collect()
        });
        let mut ports: Vec<u16> = servers.iter().map(MotoServer::port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), servers.len(), "ports: {ports:?}");
        for server in &servers {
            assert!(server.log().contains(LISTENING), "{}", server.log());
        }
    }

    #[test]
    fn the_announced_port_is_read_from_the_listening_line_only() {
        let log = "serve.py: extensions loaded: ext_a\nserve.py: listening on 127.0.0.1:41234\n";
        assert_eq!(announced_port(log), Some(41234));
        assert_eq!(announced_port("serve.py: extensions loaded: ext_a\n"), None);
        assert_eq!(announced_port("serve.py: listening on 127.0.0.1:\n"), None);
    }

    #[test]
    fn missing_python_fails_with_setup_instruction() {
        let err = MotoError::VenvMissing {
            python: PathBuf::from("/nonexistent/python"),
        };
        assert!(err.to_string().contains("scripts/setup-venv.sh"));
    }
}
