//! Standard output for the commands, quiet when the reader has gone.
//!
//! Rust ignores SIGPIPE, so writing to a closed pipe (`drctl demo | head`) is an EPIPE error,
//! and `println!` turns it into a panic with a stack trace and exit 101. The commands print
//! through [`outln!`](crate::outln) and [`out!`](crate::out) instead: once the reader has
//! closed the pipe, further output is dropped and the command finishes as it would have (its
//! exit status unchanged, nothing on stderr), as when stdout is /dev/null. Other write errors
//! (a full disk behind a redirect) are reported once on stderr, not panicked on.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);
static REPORTED: AtomicBool = AtomicBool::new(false);

/// Has the reader of standard output gone?
pub fn stdout_closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Write to standard output and flush; a closed pipe is remembered and never an error.
pub fn write_stdout(bytes: &[u8]) {
    if stdout_closed() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        if e.kind() == ErrorKind::BrokenPipe {
            CLOSED.store(true, Ordering::Relaxed);
        } else if !REPORTED.swap(true, Ordering::Relaxed) {
            eprintln!("error: writing to standard output: {e}");
        }
    }
}

/// `print!` to standard output, quiet on a closed pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format!($($arg)*).as_bytes())
    };
}

/// `println!` to standard output, quiet on a closed pipe.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::output::write_stdout(b"\n")
    };
    ($($arg:tt)*) => {{
        let mut line = format!($($arg)*);
        line.push('\n');
        $crate::cli::output::write_stdout(line.as_bytes())
    }};
}
