//! Metrics in the Prometheus text format (a `prometheus-client` registry), and the HTTP
//! endpoint that serves them with `/healthz` and `/readyz`: hyper's HTTP/1 server, so a
//! request that arrives in several TCP segments, a query string (`/metrics?x=1`), HEAD and
//! keep-alive all behave as HTTP says, and a client that never finishes its headers is cut
//! off after [`HEADER_READ_TIMEOUT`].
//!
//! Metric names (relied on by the runbook's alerts): `drctl_reconcile_passes_total`,
//! `drctl_reconcile_errors_total`, `drctl_aws_mutations_total`, `drctl_group_phase`,
//! `drctl_leader`, `drctl_reconcile_duration_seconds` and `drctl_aws_call_duration_seconds`.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use drctl_cloud::{CallObserver, ErrorCategory, Service};
use drctl_schema::Phase;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A client has this long to send a request's headers (on a new or a kept-alive connection).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

const PHASES: [Phase; 6] = [
    Phase::Converged,
    Phase::Progressing,
    Phase::WaitingForApproval,
    Phase::Blocked,
    Phase::Suspended,
    Phase::Degraded,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObservationLabels {
    observation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CategoryLabels {
    category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MutationLabels {
    operation: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    group: String,
    phase: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectiveLabels {
    group: String,
    objective: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabels {
    group: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    service: &'static str,
    operation: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn pass_histogram() -> Histogram {
    // 5 ms to about 41 s: a light pass is a few cached reads, a full one a few AWS calls,
    // and a pass stuck on a 25 s operation timeout still lands in a bucket.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

fn call_histogram() -> Histogram {
    // 10 ms to about 20 s, under the 25 s operation timeout of every AWS call.
    Histogram::new(exponential_buckets(0.01, 2.0, 12))
}

pub struct Metrics {
    registry: Registry,
    passes: Family<ObservationLabels, Counter>,
    reconcile_errors: Family<CategoryLabels, Counter>,
    mutations: Family<MutationLabels, Counter>,
    phases: Family<PhaseLabels, Gauge>,
    objective_misses: Family<ObjectiveLabels, Counter>,
    leader: Gauge,
    reconcile_duration: Histogram,
    aws_calls: HistogramFamily<CallLabels>,
    auto_failover_decisions: Family<OutcomeLabels, Counter>,
    auto_failover_countdown: Family<GroupLabels, Gauge>,
    /// Set once the first pass over all groups has finished (readiness).
    ready: AtomicBool,
    /// Set while the main loop is alive (liveness).
    alive: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let passes = Family::<ObservationLabels, Counter>::default();
        // Both series exist from the start, at 0, so a rate() over them is defined.
        for observation in ["full", "light"] {
            let _ = passes.get_or_create(&ObservationLabels { observation });
        }
        registry.register(
            "drctl_reconcile_passes",
            "Reconcile passes by observation depth",
            passes.clone(),
        );
        let reconcile_errors = Family::<CategoryLabels, Counter>::default();
        registry.register(
            "drctl_reconcile_errors",
            "Failed passes by error category",
            reconcile_errors.clone(),
        );
        let mutations = Family::<MutationLabels, Counter>::default();
        registry.register(
            "drctl_aws_mutations",
            "AWS mutating calls by operation and outcome",
            mutations.clone(),
        );
        let phases = Family::<PhaseLabels, Gauge>::default();
        registry.register(
            "drctl_group_phase",
            "1 for the phase each group is in",
            phases.clone(),
        );
        let objective_misses = Family::<ObjectiveLabels, Counter>::default();
        registry.register(
            "drctl_objective_misses",
            "Operations that finished outside spec.objectives, by group and objective",
            objective_misses.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "drctl_leader",
            "1 while this replica holds the lease",
            leader.clone(),
        );
        let reconcile_duration = pass_histogram();
        registry.register(
            "drctl_reconcile_duration_seconds",
            "Duration of one reconcile pass over one group, failed passes included",
            reconcile_duration.clone(),
        );
        let aws_calls: HistogramFamily<CallLabels> =
            Family::new_with_constructor(call_histogram as fn() -> Histogram);
        registry.register(
            "drctl_aws_call_duration_seconds",
            "Duration of AWS API calls by service and operation, the SDK's retries included",
            aws_calls.clone(),
        );
        let auto_failover_decisions = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "drctl_auto_failover_decisions",
            "Automatic failover decisions by outcome (failover, blocked, refused_concurrent_edit)",
            auto_failover_decisions.clone(),
        );
        let auto_failover_countdown = Family::<GroupLabels, Gauge>::default();
        registry.register(
            "drctl_auto_failover_seconds_until_decision",
            "Seconds until the automatic-failover policy decides, while it counts down (-1: not counting)",
            auto_failover_countdown.clone(),
        );
        Metrics {
            registry,
            auto_failover_decisions,
            auto_failover_countdown,
            passes,
            reconcile_errors,
            mutations,
            phases,
            objective_misses,
            leader,
            reconcile_duration,
            aws_calls,
            ready: AtomicBool::new(false),
            alive: AtomicBool::new(false),
        }
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Metrics::default())
    }

    pub fn observed_pass(&self, full: bool) {
        let observation = if full { "full" } else { "light" };
        self.passes
            .get_or_create(&ObservationLabels { observation })
            .inc();
    }

    pub fn reconcile_duration(&self, elapsed: Duration) {
        self.reconcile_duration.observe(elapsed.as_secs_f64());
    }

    pub fn action(&self, operation: &str, error: Option<ErrorCategory>) {
        let outcome = error.map(|e| e.as_str()).unwrap_or("ok");
        self.mutations
            .get_or_create(&MutationLabels {
                operation: operation.to_string(),
                outcome,
            })
            .inc();
    }

    /// One automatic-failover outcome: `failover`, `blocked`, `refused_concurrent_edit`.
    pub fn auto_failover_decision(&self, outcome: &str) {
        self.auto_failover_decisions
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Seconds until the policy decides for `group` (None: it is not counting down).
    pub fn auto_failover_countdown(&self, group: &str, seconds: Option<u64>) {
        let value = seconds.map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX));
        self.auto_failover_countdown
            .get_or_create(&GroupLabels {
                group: group.to_string(),
            })
            .set(value);
    }

    pub fn reconcile_error(&self, category: &str) {
        self.reconcile_errors
            .get_or_create(&CategoryLabels {
                category: category.to_string(),
            })
            .inc();
    }

    pub fn group_phase(&self, group: &str, phase: Phase) {
        for candidate in PHASES {
            self.phases
                .get_or_create(&PhaseLabels {
                    group: group.to_string(),
                    phase: candidate.as_str(),
                })
                .set(i64::from(candidate == phase));
        }
    }

    /// A finished operation of `group` missed `objective` (`rtoSeconds` or `rpoSeconds`).
    pub fn objective_missed(&self, group: &str, objective: &str) {
        self.objective_misses
            .get_or_create(&ObjectiveLabels {
                group: group.to_string(),
                objective: objective.to_string(),
            })
            .inc();
    }

    pub fn forget_group(&self, group: &str) {
        for candidate in PHASES {
            self.phases.remove(&PhaseLabels {
                group: group.to_string(),
                phase: candidate.as_str(),
            });
        }
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
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

    /// Every metric in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would leave a partial page,
        // which is still better than none for a scrape.
        if let Err(e) = prometheus_text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "encoding the metrics failed part-way");
        }
        out
    }
}

impl CallObserver for Metrics {
    fn aws_call(&self, service: Service, operation: &str, elapsed: Duration, _ok: bool) {
        self.aws_calls
            .get_or_create(&CallLabels {
                service: service.as_str(),
                operation: operation.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// Serve `/metrics`, `/healthz` and `/readyz` until `shutdown`; connections in flight are
/// closed gracefully (the response being written is finished).
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    loop {
        let socket = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                // Out of file descriptors, a connection reset before accept: the endpoint
                // stays up for the next scrape.
                Err(e) => {
                    tracing::warn!(error = %e, "metrics endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let response = respond(&request, &metrics);
                async move { Ok::<_, Infallible>(response) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let connection = builder.serve_connection(TokioIo::new(socket), service);
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "metrics endpoint: connection ended");
            }
        });
    }
}

fn text(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Route by path alone: a query string changes nothing. HEAD is answered as GET, and hyper
/// sends its headers (Content-Length included) without the body.
fn respond(request: &Request<Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, PLAIN, "only GET and HEAD\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match request.uri().path() {
        "/metrics" => text(
            StatusCode::OK,
            prometheus_text::CONTENT_TYPE,
            metrics.render(),
        ),
        "/healthz" if metrics.is_alive() => text(StatusCode::OK, PLAIN, "ok\n"),
        "/healthz" => text(StatusCode::SERVICE_UNAVAILABLE, PLAIN, "not alive\n"),
        "/readyz" if metrics.is_ready() => text(StatusCode::OK, PLAIN, "ready\n"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, PLAIN, "not ready\n"),
        _ => text(StatusCode::NOT_FOUND, PLAIN, "not found\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn metrics_render_in_prometheus_text_format_with_labels() {
        let m = Metrics::new();
        m.observed_pass(true);
        m.observed_pass(false);
        m.observed_pass(false);
        m.action("FailoverGlobalCluster", None);
        m.action("UpdateService", Some(ErrorCategory::Retryable));
        m.reconcile_error("store_unavailable");
        m.group_phase("app", Phase::Progressing);
        m.set_leader(true);
        let text = m.render();
        assert!(text.contains("drctl_reconcile_passes_total{observation=\"light\"} 2"));
        assert!(text.contains("drctl_reconcile_passes_total{observation=\"full\"} 1"));
        assert!(text.contains(
            "drctl_aws_mutations_total{operation=\"UpdateService\",outcome=\"retryable\"} 1"
        ));
        assert!(text.contains("drctl_reconcile_errors_total{category=\"store_unavailable\"} 1"));
        assert!(text.contains("drctl_group_phase{group=\"app\",phase=\"Progressing\"} 1"));
        assert!(text.contains("drctl_group_phase{group=\"app\",phase=\"Converged\"} 0"));
        assert!(text.lines().any(|l| l == "drctl_leader 1"), "{text}");
        assert!(
            !text.contains("# EOF"),
            "OpenMetrics trailer in 0.0.4 text: {text}"
        );
    }

    #[test]
    fn objective_misses_are_counted_by_group_and_objective() {
        let m = Metrics::new();
        m.objective_missed("app", "rtoSeconds");
        m.objective_missed("app", "rtoSeconds");
        m.objective_missed("app", "rpoSeconds");
        let text = m.render();
        assert!(
            text.contains("drctl_objective_misses_total{group=\"app\",objective=\"rtoSeconds\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("drctl_objective_misses_total{group=\"app\",objective=\"rpoSeconds\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn a_forgotten_group_disappears_from_the_phase_gauge() {
        let m = Metrics::new();
        m.group_phase("gone", Phase::Converged);
        m.group_phase("kept", Phase::Blocked);
        m.forget_group("gone");
        let text = m.render();
        assert!(!text.contains("group=\"gone\""), "{text}");
        assert!(text.contains("drctl_group_phase{group=\"kept\",phase=\"Blocked\"} 1"));
    }

    #[test]
    fn pass_durations_and_aws_call_latency_by_service_and_operation_are_histograms() {
        let m = Metrics::new();
        m.reconcile_duration(Duration::from_millis(30));
        m.aws_call(
            Service::Rds,
            "DescribeGlobalClusters",
            Duration::from_millis(120),
            true,
        );
        m.aws_call(
            Service::Route53,
            "GetChange",
            Duration::from_millis(40),
            false,
        );
        let text = m.render();
        assert!(
            text.contains("# TYPE drctl_reconcile_duration_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains("drctl_reconcile_duration_seconds_count 1"),
            "{text}"
        );
        assert!(text.contains("# TYPE drctl_aws_call_duration_seconds histogram"));
        assert!(text.contains(
            "drctl_aws_call_duration_seconds_count{service=\"rds\",operation=\"DescribeGlobalClusters\"} 1"
        ), "{text}");
        assert!(text.contains(
            "drctl_aws_call_duration_seconds_count{service=\"route53\",operation=\"GetChange\"} 1"
        ), "{text}");
    }

    async fn start() -> (
        SocketAddr,
        Arc<Metrics>,
        CancellationToken,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Metrics::new();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, metrics.clone(), shutdown.clone()));
        (addr, metrics, shutdown, server)
    }

    /// Send the request in `pieces` (a short pause between them), read the whole response.
    async fn exchange(addr: SocketAddr, pieces: &[&str]) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            s.write_all(piece.as_bytes()).await.unwrap();
            s.flush().await.unwrap();
        }
        let mut out = String::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
            .await
            .unwrap()
            .unwrap();
        out
    }

    async fn get(addr: SocketAddr, path: &str) -> String {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        exchange(addr, &[&request]).await
    }

    #[tokio::test]
    async fn the_endpoint_serves_metrics_and_reports_readiness_on_loopback() {
        let (addr, metrics, shutdown, server) = start().await;
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
        metrics.set_ready(true);
        metrics.set_alive(true);
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        let page = get(addr, "/metrics").await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.lines().any(|l| l == "drctl_leader 0"), "{page}");
        shutdown.cancel();
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_request_split_across_two_writes_is_answered() {
        let (addr, _metrics, shutdown, server) = start().await;
        let response = exchange(
            addr,
            &[
                "GET /metr",
                "ics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            ],
        )
        .await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("drctl_leader 0"), "{response}");
        shutdown.cancel();
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_query_string_does_not_change_the_route() {
        let (addr, _metrics, shutdown, server) = start().await;
        let response = get(addr, "/metrics?x=1").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(
            response.contains("drctl_reconcile_passes_total"),
            "{response}"
        );
        shutdown.cancel();
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn head_answers_with_headers_and_no_body() {
        let (addr, _metrics, shutdown, server) = start().await;
        let response = exchange(
            addr,
            &["HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
        )
        .await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain"),
            "{head}"
        );
        assert_eq!(body, "", "HEAD must not carry a body");
        shutdown.cancel();
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn an_unknown_path_is_404_and_another_method_is_405() {
        let (addr, _metrics, shutdown, server) = start().await;
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
        let post = exchange(
            addr,
            &["POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"],
        )
        .await;
        assert!(post.starts_with("HTTP/1.1 405"), "{post}");
        shutdown.cancel();
        server.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_never_finishes_its_headers_is_cut_off() {
        let (addr, _metrics, shutdown, server) = start().await;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        // Virtual time: the header read timeout fires without a real wait.
        let read = tokio::time::timeout(HEADER_READ_TIMEOUT * 3, s.read_to_end(&mut out)).await;
        assert!(
            read.is_ok(),
            "the connection was still open after the header timeout"
        );
        shutdown.cancel();
        server.await.unwrap().unwrap();
    }
}
