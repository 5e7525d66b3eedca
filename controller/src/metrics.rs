//! Metrics in the Prometheus text format, and the tiny HTTP endpoint that serves them with
//! `/healthz` and `/readyz`. Hand-rolled on tokio's TcpListener: three fixed GET routes do not
//! justify a web framework in a controller's dependency tree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use drctl_cloud::ErrorCategory;
use drctl_schema::Phase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
pub struct Metrics {
    passes_full: AtomicU64,
    passes_light: AtomicU64,
    reconcile_errors: Mutex<BTreeMap<String, u64>>,
    actions: Mutex<BTreeMap<(String, String), u64>>,
    phases: Mutex<BTreeMap<String, Phase>>,
    leader: AtomicBool,
    /// Set once the first pass over all groups has finished (readiness).
    ready: AtomicBool,
    /// Set while the main loop is alive (liveness).
    alive: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a metrics lock must not take the controller down with it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Metrics::default())
    }

    pub fn observed_pass(&self, full: bool) {
        if full {
            self.passes_full.fetch_add(1, Ordering::Relaxed);
        } else {
            self.passes_light.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn action(&self, operation: &str, error: Option<ErrorCategory>) {
        let outcome = error.map(|e| e.as_str()).unwrap_or("ok");
        *lock(&self.actions)
            .entry((operation.to_string(), outcome.to_string()))
            .or_default() += 1;
    }

    pub fn reconcile_error(&self, category: &str) {
        *lock(&self.reconcile_errors)
            .entry(category.to_string())
            .or_default() += 1;
    }

    pub fn group_phase(&self, group: &str, phase: Phase) {
        lock(&self.phases).insert(group.to_string(), phase);
    }

    pub fn forget_group(&self, group: &str) {
        lock(&self.phases).remove(group);
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn set_alive(&self, alive: bool) {
        self.alive.store(alive, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP drctl_reconcile_passes_total Reconcile passes by observation depth."
        );
        let _ = writeln!(out, "# TYPE drctl_reconcile_passes_total counter");
        let _ = writeln!(
            out,
            "drctl_reconcile_passes_total{{observation=\"full\"}} {}",
            self.passes_full.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "drctl_reconcile_passes_total{{observation=\"light\"}} {}",
            self.passes_light.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP drctl_reconcile_errors_total Failed passes by error category."
        );
        let _ = writeln!(out, "# TYPE drctl_reconcile_errors_total counter");
        for (category, n) in lock(&self.reconcile_errors).iter() {
            let _ = writeln!(
                out,
                "drctl_reconcile_errors_total{{category=\"{category}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP drctl_aws_mutations_total AWS mutating calls by operation and outcome."
        );
        let _ = writeln!(out, "# TYPE drctl_aws_mutations_total counter");
        for ((operation, outcome), n) in lock(&self.actions).iter() {
            let _ = writeln!(
                out,
                "drctl_aws_mutations_total{{operation=\"{operation}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP drctl_group_phase 1 for the phase each group is in."
        );
        let _ = writeln!(out, "# TYPE drctl_group_phase gauge");
        for (group, phase) in lock(&self.phases).iter() {
            for candidate in [
                Phase::Converged,
                Phase::Progressing,
                Phase::WaitingForApproval,
                Phase::Blocked,
                Phase::Suspended,
                Phase::Degraded,
            ] {
                let _ = writeln!(
                    out,
                    "drctl_group_phase{{group=\"{}\",phase=\"{}\"}} {}",
                    escape(group),
                    candidate.as_str(),
                    u8::from(candidate == *phase)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP drctl_leader 1 while this replica holds the lease."
        );
        let _ = writeln!(out, "# TYPE drctl_leader gauge");
        let _ = writeln!(
            out,
            "drctl_leader {}",
            u8::from(self.leader.load(Ordering::Relaxed))
        );
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serve `/metrics`, `/healthz` and `/readyz` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    loop {
        let (mut socket, _) = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => accepted?,
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let n = match tokio::time::timeout(
                std::time::Duration::from_secs(5),
                socket.read(&mut buf),
            )
            .await
            {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let request = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
            let path = request
                .lines()
                .next()
                .and_then(|line| line.split_whitespace().nth(1))
                .unwrap_or("/");
            let (code, body, content_type) = route(path, &metrics);
            let response = format!(
                "HTTP/1.1 {code}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

fn route(path: &str, metrics: &Metrics) -> (&'static str, String, &'static str) {
    match path {
        "/metrics" => (
            "200 OK",
            metrics.render(),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        "/healthz" if metrics.is_alive() => ("200 OK", "ok\n".to_string(), "text/plain"),
        "/healthz" => (
            "503 Service Unavailable",
            "not alive\n".to_string(),
            "text/plain",
        ),
        "/readyz" if metrics.is_ready() => ("200 OK", "ready\n".to_string(), "text/plain"),
        "/readyz" => (
            "503 Service Unavailable",
            "not ready\n".to_string(),
            "text/plain",
        ),
        _ => ("404 Not Found", "not found\n".to_string(), "text/plain"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_in_prometheus_text_format_with_labels() {
        let m = Metrics::new();
        m.observed_pass(true);
        m.observed_pass(false);
        m.observed_pass(false);
        m.action("FailoverGlobalCluster", None);
        m.action("UpdateService", Some(ErrorCategory::Retryable));
        m.group_phase("app", Phase::Progressing);
        let text = m.render();
        assert!(text.contains("drctl_reconcile_passes_total{observation=\"light\"} 2"));
        assert!(text.contains(
            "drctl_aws_mutations_total{operation=\"UpdateService\",outcome=\"retryable\"} 1"
        ));
        assert!(text.contains("drctl_group_phase{group=\"app\",phase=\"Progressing\"} 1"));
        assert!(text.contains("drctl_group_phase{group=\"app\",phase=\"Converged\"} 0"));
    }

    #[tokio::test]
    async fn the_endpoint_serves_metrics_and_reports_readiness_on_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Metrics::new();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, metrics.clone(), shutdown.clone()));
        let get = |path: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        assert!(get("/readyz").await.starts_with("HTTP/1.1 503"));
        metrics.set_ready(true);
        metrics.set_alive(true);
        assert!(get("/readyz").await.starts_with("HTTP/1.1 200"));
        assert!(get("/healthz").await.starts_with("HTTP/1.1 200"));
        assert!(get("/metrics").await.contains("drctl_leader 0"));
        assert!(get("/nope").await.starts_with("HTTP/1.1 404"));
        shutdown.cancel();
        server.await.unwrap().unwrap();
    }
}
