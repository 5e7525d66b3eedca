//! The built `drctl` binary, for tests that run it as a user would.
//!
//! Located by `DRCTL_BIN`, else next to the test executable's parent directory
//! (`target/<profile>/deps/TEST` -> `target/<profile>/drctl`). Cargo does not build another
//! package's binary for this package's tests, so a missing binary is an error that says how
//! to build it rather than a silent skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum BinError {
    #[error("DRCTL_BIN points at {path}, which does not exist")]
    EnvMissing { path: PathBuf },
    #[error(
        "the drctl binary is not at {path}: run `cargo build -p drctl` first (with the same \
         CARGO_TARGET_DIR and profile as the tests), or set DRCTL_BIN to its path"
    )]
    NotBuilt { path: PathBuf },
    #[error("cannot tell where the test executable is: {0}")]
    NoExe(std::io::Error),
    #[error("`drctl init` of the test's store failed: {run}")]
    InitFailed { run: String },
}

/// Path of the `drctl` binary under test.
pub fn drctl_path() -> Result<PathBuf, BinError> {
    if let Some(path) = std::env::var_os("DRCTL_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(BinError::EnvMissing { path })
        };
    }
    let exe = std::env::current_exe().map_err(BinError::NoExe)?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = profile_dir.join(format!("drctl{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        Err(BinError::NotBuilt { path })
    }
}

/// A `drctl` invocation against one store, with a clean environment: no inherited
/// `DRCTL_STORE`, editor or AWS settings unless the test adds them.
#[derive(Debug, Clone)]
pub struct Drctl {
    bin: PathBuf,
    store: String,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Drctl {
    /// The binary, run with `--store STORE`.
    pub fn new(store: impl Into<String>) -> Result<Drctl, BinError> {
        Ok(Drctl {
            bin: drctl_path()?,
            store: store.into(),
            env: Vec::new(),
            cwd: None,
        })
    }

    /// The binary on a store that `drctl init` has just created (only `init` creates a
    /// file store; every other command refuses a directory that is not one).
    pub fn initialised(store: impl Into<String>) -> Result<Drctl, BinError> {
        let drctl = Drctl::new(store)?;
        let run = drctl.run(&["init"]);
        if run.code != 0 {
            return Err(BinError::InitFailed {
                run: run.to_string(),
            });
        }
        Ok(drctl)
    }

    pub fn store(&self) -> &str {
        &self.store
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Drctl {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn envs<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Drctl {
        for (k, v) in vars {
            self.env.push((k.into(), v.into()));
        }
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Drctl {
        self.cwd = Some(dir.into());
        self
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--store").arg(&self.store).args(args);
        for var in ["DRCTL_STORE", "EDITOR", "VISUAL"] {
            cmd.env_remove(var);
        }
        for var in crate::moto::INHERITED_AWS_VARS_TO_REMOVE {
            cmd.env_remove(var);
        }
        cmd.env("USER", "tester").env("HOSTNAME", "testhost");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Run to completion with no standard input.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    /// Run to completion, feeding `stdin` (if any).
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        use std::io::Write;
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                return Run {
                    code: -1,
                    stdout: String::new(),
                    stderr: format!("could not start {}: {e}", self.bin.display()),
                }
            }
        };
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // The binary may refuse early and close its end: a broken pipe is not our error.
            let _ = pipe.write_all(input);
        }
        match child.wait_with_output() {
            Ok(out) => Run::from_output(out),
            Err(e) => Run {
                code: -1,
                stdout: String::new(),
                stderr: format!("could not wait for drctl: {e}"),
            },
        }
    }
}
