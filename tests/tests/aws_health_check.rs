//! `routing: healthCheck` on the wire: the failover records and GetHealthCheckStatus read by
//! the Route 53 adapter against moto on loopback, with tests/moto/ext_health_check.py (moto's
//! own GetHealthCheckStatus always answers "Success"; the extension's checkers probe the
//! endpoint). The setup of docs/deployment.md (a PRIMARY/SECONDARY pair of failover records,
//! each with an HTTP health check on its region's endpoint) is made by the AWS CLI, never by
//! drctl, and the AWS CLI reads back the statuses the adapter saw. The endpoints are two tiny
//! HTTP servers on 127.0.0.1 whose answer the test switches between 200 and 503.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_rds::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use drctl_cloud::aws::AwsCloud;
use drctl_cloud::{route53_considers_healthy, Dns, FailoverRole, HealthCheckObservation};
use drctl_e2e::moto::{python_path, repo_root, MotoServer};
use drctl_e2e::sent::{assert_allowed_by_the_policy, SentOperations};
use drctl_schema::FailoverGroupSpec;
use serde_json::{json, Value};

/// A load balancer stand-in: answers every request 200 while `healthy`, else 503.
struct Endpoint {
    port: u16,
    healthy: Arc<AtomicBool>,
}

impl Endpoint {
    fn start() -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let healthy = Arc::new(AtomicBool::new(true));
        let flag = healthy.clone();
        // Detached: it ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request);
                let answer = if flag.load(Ordering::SeqCst) {
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                } else {
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                };
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Endpoint { port, healthy }
    }
}

/// The AWS CLI (awscli, tests/requirements.txt) against the emulator, JSON out.
fn aws(server: &MotoServer, args: &[&str]) -> Value {
    let mut command = Command::new(python_path());
    server.configure(&mut command);
    let out = command
        .args([
            "-m",
            "awscli",
            "--endpoint-url",
            &server.endpoint(),
            "--output",
            "json",
        ])
        .args(args)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .expect("the AWS CLI runs");
    assert!(
        out.status.success(),
        "aws {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_tail(20)
    );
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap()
}

fn health_check_spec() -> FailoverGroupSpec {
    let path = repo_root().join("examples/failovergroup-health-check.yaml");
    let yaml = std::fs::read_to_string(path).unwrap();
    drctl_schema::parse_documents(yaml.as_bytes(), "failovergroup-health-check.yaml")
        .unwrap()
        .remove(0)
        .spec
}

/// docs/deployment.md's setup, by the AWS CLI: the zone, one HTTP health check per region's
/// endpoint and the PRIMARY (regions[0]) / SECONDARY pair of alias records carrying them.
/// Returns the spec pointed at the zone, and the health-check id of each region.
fn set_up(server: &MotoServer, dir: &Path, ports: [u16; 2]) -> (FailoverGroupSpec, Vec<String>) {
    let mut spec = health_check_spec();
    let zone = aws(
        server,
        &[
            "route53",
            "create-hosted-zone",
            "--name",
            "example.com",
            "--caller-reference",
            "hc-zone",
        ],
    );
    let zone_id = zone["HostedZone"]["Id"]
        .as_str()
        .unwrap()
        .trim_start_matches("/hostedzone/");
    spec.dns.hosted_zone_id = zone_id.to_string();
    let mut checks = Vec::new();
    let mut changes = Vec::new();
    for (i, (region, port)) in spec.regions.iter().zip(ports).enumerate() {
        let config = format!("Type=HTTP,IPAddress=127.0.0.1,Port={port},ResourcePath=/healthz,RequestInterval=10,FailureThreshold=1");
        let check = aws(
            server,
            &[
                "route53",
                "create-health-check",
                "--caller-reference",
                region,
                "--health-check-config",
                &config,
            ],
        );
        let id = check["HealthCheck"]["Id"].as_str().unwrap().to_string();
        let target = &spec.dns.targets[region];
        changes.push(json!({
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": spec.dns.record_name,
                "Type": "A",
                "SetIdentifier": format!("{region}-{}", if i == 0 { "primary" } else { "secondary" }),
                "Failover": if i == 0 { "PRIMARY" } else { "SECONDARY" },
                "HealthCheckId": id,
                "AliasTarget": {
                    "HostedZoneId": target.alias_hosted_zone_id,
                    "DNSName": target.alias_dns_name,
                    "EvaluateTargetHealth": false
                }
            }
        }));
        checks.push(id);
    }
    let batch = dir.join("failover-records.json");
    std::fs::write(&batch, json!({ "Changes": changes }).to_string()).unwrap();
    aws(
        server,
        &[
            "route53",
            "change-resource-record-sets",
            "--hosted-zone-id",
            zone_id,
            "--change-batch",
            &format!("file://{}", batch.display()),
        ],
    );
    (spec, checks)
}

async fn cloud(server: &MotoServer, sent: &SentOperations) -> AwsCloud {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.endpoint())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .load()
        .await;
    AwsCloud::builder(config)
        .interceptor(SharedInterceptor::new(sent.clone()))
        .build()
}

/// (region, status) of each observation, as the AWS CLI reads GetHealthCheckStatus.
fn cli_statuses(server: &MotoServer, id: &str) -> Vec<(String, String)> {
    let out = aws(
        server,
        &[
            "route53",
            "get-health-check-status",
            "--health-check-id",
            id,
        ],
    );
    out["HealthCheckObservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["Region"].as_str().unwrap().to_string(),
                o["StatusReport"]["Status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn statuses(observations: &[HealthCheckObservation]) -> Vec<(String, String)> {
    observations
        .iter()
        .map(|o| (o.region.clone(), o.status.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failover_records_and_their_health_checks_read_on_the_wire_follow_the_endpoints() {
    let server = MotoServer::start().expect("moto starts (run scripts/setup-venv.sh once)");
    let dir = tempfile::tempdir().unwrap();
    let (east, west) = (Endpoint::start(), Endpoint::start());
    let (spec, checks) = set_up(&server, dir.path(), [east.port, west.port]);
    let sent = SentOperations::default();
    let cloud = cloud(&server, &sent).await;
    let dns = &spec.dns;

    // The pair as the adapter reads it: roles, set identifiers, the health checks.
    let records = cloud
        .list_failover_records(&dns.hosted_zone_id, &dns.record_name, "A")
        .await
        .unwrap();
    let roles: Vec<FailoverRole> = records.iter().map(|r| r.role).collect();
    assert_eq!(roles, [FailoverRole::Primary, FailoverRole::Secondary]);
    let ids: Vec<String> = records
        .iter()
        .map(|r| r.health_check_id.clone().unwrap())
        .collect();
    assert_eq!(ids, checks);
    assert_eq!(
        records[0]
            .record
            .alias
            .as_ref()
            .unwrap()
            .dns_name
            .trim_end_matches('.'),
        "pay-alb-123.us-east-1.elb.amazonaws.com"
    );

    // Both endpoints up: every checker reports success, Route 53 would answer PRIMARY.
    for id in &checks {
        let observations = cloud.get_health_check_status(id).await.unwrap();
        assert_eq!(observations.len(), 16, "{observations:?}");
        assert!(route53_considers_healthy(&observations), "{observations:?}");
        assert!(observations[0]
            .status
            .starts_with("Success: HTTP Status Code 200"));
    }

    // us-east-1's endpoint fails: its check reads unhealthy, us-west-2's stays healthy, so
    // Route 53 answers with the SECONDARY. The AWS CLI reads the same statuses.
    east.healthy.store(false, Ordering::SeqCst);
    let primary = cloud.get_health_check_status(&checks[0]).await.unwrap();
    assert!(!route53_considers_healthy(&primary), "{primary:?}");
    assert!(
        primary
            .iter()
            .all(|o| !o.healthy && o.status.contains("503")),
        "{primary:?}"
    );
    assert_eq!(statuses(&primary), cli_statuses(&server, &checks[0]));
    let secondary = cloud.get_health_check_status(&checks[1]).await.unwrap();
    assert!(route53_considers_healthy(&secondary), "{secondary:?}");
    assert_eq!(statuses(&secondary), cli_statuses(&server, &checks[1]));

    // And back.
    east.healthy.store(true, Ordering::SeqCst);
    let primary = cloud.get_health_check_status(&checks[0]).await.unwrap();
    assert!(route53_considers_healthy(&primary), "{primary:?}");

    // A health check that does not exist: Route 53's code, not retried as if transient.
    let missing = cloud
        .get_health_check_status("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(missing.code, "NoSuchHealthCheck", "{missing}");
    assert!(!missing.is_retryable(), "{missing}");

    // Every call the adapter sent is allowed by `drctl iam-policy` for a healthCheck group,
    // and the health-check read is one of them.
    let sent_names = assert_allowed_by_the_policy(&spec, &sent);
    assert!(
        sent_names.contains("GetHealthCheckStatus"),
        "{sent_names:?}"
    );
    assert!(
        sent_names.contains("ListResourceRecordSets"),
        "{sent_names:?}"
    );
}
