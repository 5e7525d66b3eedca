//! Shared by the ship_* tests (Dockerfile, manifests, GitOps example, runbook): where the
//! repository is, the drctl binary, and a controller process with its HTTP endpoint.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use drctl_e2e::bin::{drctl_path, Drctl};

/// The repository's root (this package lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

pub fn read_repo_file(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `drctl <args> --help`, as the user sees it.
pub fn help_of(args: &[&str]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--help");
    let out = Command::new(drctl_path().unwrap())
        .args(&all)
        .env_remove("DRCTL_STORE")
        .output()
        .unwrap();
    assert!(out.status.success(), "drctl {all:?} failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The long flags (`--name`) a help text documents.
pub fn flags_in_help(help: &str) -> Vec<String> {
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .split('=')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// `[possible values: a, b]` of the option `flag` in a help text.
pub fn possible_values(help: &str, flag: &str) -> Vec<String> {
    let line = help
        .lines()
        .find(|l| l.trim_start().starts_with(flag))
        .unwrap_or_else(|| panic!("{flag} not in help:\n{help}"));
    let Some(start) = line.find("[possible values: ") else {
        return Vec::new();
    };
    let rest = &line[start + "[possible values: ".len()..];
    rest[..rest.find(']').unwrap()]
        .split(", ")
        .map(str::to_string)
        .collect()
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET `path` on 127.0.0.1:`port`; the status code and body, or None if nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    Some((code, body))
}

/// Poll `check` every 100 ms until it returns Some or `limit` passes. Processes run in real
/// time: this bounds the wait, it does not measure anything.
pub fn eventually<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Environment for `--cloud aws` processes that must never reach AWS: static fake credentials,
/// no profile or instance metadata, and every endpoint on a closed loopback port. With no
/// group in the store the controller makes no AWS call at all; this makes sure of it.
pub fn offline_aws_env(region: &str) -> Vec<(String, String)> {
    [
        ("AWS_REGION", region),
        ("AWS_ACCESS_KEY_ID", "AKIDTESTONLY"),
        ("AWS_SECRET_ACCESS_KEY", "test-only-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_CONFIG_FILE", "/nonexistent/drctl-test-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/drctl-test-credentials",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A `drctl controller` process, killed when dropped.
pub struct ControllerProcess {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl ControllerProcess {
    /// Start `drctl --store STORE <args>` with `env`; stderr goes to `log`.
    pub fn start(
        store: &str,
        args: &[String],
        env: &[(String, String)],
        port: u16,
        log: PathBuf,
    ) -> Self {
        let drctl = Drctl::new(store).unwrap().envs(env.iter().cloned());
        // Only `drctl init` creates a file store (idempotent: replicas share one).
        if store.starts_with("file://") {
            let init = drctl.run(&["init"]);
            assert_eq!(init.code, 0, "{init}");
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = drctl.command(&refs);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = cmd.spawn().unwrap();
        ControllerProcess { child, port, log }
    }

    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.port, path)
    }

    /// Wait until `path` answers `code`, within `limit`.
    pub fn answers(&self, path: &str, code: u16, limit: Duration) -> bool {
        eventually(limit, || self.get(path).filter(|(c, _)| *c == code)).is_some()
    }

    pub fn is_leader(&self) -> bool {
        self.get("/metrics")
            .map(|(_, body)| body.lines().any(|l| l.trim() == "drctl_leader 1"))
            .unwrap_or(false)
    }

    /// SIGTERM, as the kubelet sends it, then wait up to `grace` for the exit status.
    pub fn terminate(&mut self, grace: Duration) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        eventually(grace, || self.child.try_wait().unwrap()).map(|s| s.code().unwrap_or(-1))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
