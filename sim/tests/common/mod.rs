//! Builders shared by the sim's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use drctl_schema::*;
use drctl_sim::*;

pub const EAST: &str = "us-east-1";
pub const WEST: &str = "us-west-2";
pub const GLOBAL: &str = "myapp-global";
pub const PRIMARY: &str = "myapp-primary";
pub const SECONDARY: &str = "myapp-secondary";
pub const ZONE: &str = "Z0123456789";
pub const RECORD: &str = "api.example.com.";
pub const EAST_ALB: &str = "primary-alb-123.us-east-1.elb.amazonaws.com";
pub const WEST_ALB: &str = "dr-alb-456.us-west-2.elb.amazonaws.com";
pub const URL: &str = "https://api.example.com/healthz";

pub fn arn(region: &str, id: &str) -> String {
    format!("arn:aws:rds:{region}:123456789012:cluster:{id}")
}

pub fn primary_arn() -> String {
    arn(EAST, PRIMARY)
}

pub fn secondary_arn() -> String {
    arn(WEST, SECONDARY)
}

fn template(id: &str, region: &str) -> ClusterTemplate {
    ClusterTemplate {
        identifier: id.to_string(),
        engine: Some("aurora-postgresql".to_string()),
        engine_version: Some("16.3".to_string()),
        instance_class: Some("db.r6g.large".to_string()),
        instance_count: Some(1),
        kms_key_id: Some(format!("arn:aws:kms:{region}:123456789012:key/k-{region}")),
        db_subnet_group: Some("db-subnets".to_string()),
        vpc_security_group_ids: vec!["sg-1".to_string()],
    }
}

/// The docs/design-contract.md §1 example group: east writer and DNS owner, one `api` service 6/1.
pub fn spec() -> FailoverGroupSpec {
    let mut clusters = BTreeMap::new();
    clusters.insert(EAST.to_string(), template(PRIMARY, EAST));
    clusters.insert(WEST.to_string(), template(SECONDARY, WEST));
    let mut targets = BTreeMap::new();
    targets.insert(
        EAST.to_string(),
        DnsTarget {
            alias_dns_name: Some(EAST_ALB.to_string()),
            alias_hosted_zone_id: Some("Z35SXDOTRQ7X7K".to_string()),
            value: None,
        },
    );
    targets.insert(
        WEST.to_string(),
        DnsTarget {
            alias_dns_name: Some(WEST_ALB.to_string()),
            alias_hosted_zone_id: Some("Z1H1FL5HABSF5".to_string()),
            value: None,
        },
    );
    let mut regions = BTreeMap::new();
    regions.insert(
        EAST.to_string(),
        EcsServiceRef {
            cluster: "myapp-prod".to_string(),
            service: "api".to_string(),
        },
    );
    regions.insert(
        WEST.to_string(),
        EcsServiceRef {
            cluster: "myapp-prod-dr".to_string(),
            service: "api".to_string(),
        },
    );
    FailoverGroupSpec {
        regions: vec![EAST.to_string(), WEST.to_string()],
        writer: EAST.to_string(),
        dns_owner: None,
        allow_data_loss: false,
        max_lag_seconds: 5,
        suspended: false,
        database: DatabaseSpec {
            global_cluster_identifier: GLOBAL.to_string(),
            clusters,
            kind: Default::default(),
            instances: Default::default(),
        },
        dns: DnsSpec {
            hosted_zone_id: ZONE.to_string(),
            record_name: RECORD.to_string(),
            record_type: RecordType::A,
            ttl: None,
            targets,
            routing: Default::default(),
            routing_control: None,
        },
        compute: ComputeSpec {
            services: vec![ServiceSpec {
                name: "api".to_string(),
                regions,
                active: Capacity {
                    desired: 6,
                    min: 6,
                    max: 24,
                },
                standby: Capacity {
                    desired: 1,
                    min: 1,
                    max: 24,
                },
            }],
        },
        failback: FailbackSpec::default(),
        verify: Some(VerifySpec {
            url: URL.to_string(),
            expect_status: 200,
        }),
        objectives: None,
        auto_failover: None,
        dependencies: None,
    }
}

/// A config with zero call latency and a fixed 500 ms replication lag, so that tests can
/// compute exact expectations.
pub fn exact_config(seed: u64) -> SimConfig {
    let mut cfg = SimConfig::new(seed);
    cfg.timings = cfg.timings.instant_calls();
    cfg.timings.replication_lag = Duration::from_millis(500);
    cfg.timings.replication_lag_jitter = Duration::ZERO;
    cfg
}

/// A provisioned world with exact timings.
pub fn world() -> Arc<SimWorld> {
    let w = SimWorld::new(exact_config(7));
    w.provision(&spec()).unwrap();
    w
}

pub async fn sleep_s(s: u64) {
    tokio::time::sleep(Duration::from_secs(s)).await;
}

/// Sleep in 1 s steps until `pred` holds on the world's ground truth (panics after `max_s`).
pub async fn wait_for(
    world: &SimWorld,
    max_s: u64,
    what: &str,
    pred: impl Fn(&WorldSnapshot) -> bool,
) {
    for _ in 0..max_s {
        if pred(&world.snapshot()) {
            return;
        }
        sleep_s(1).await;
    }
    panic!("timed out waiting for {what}: {:#?}", world.snapshot());
}

pub fn writer_region(s: &WorldSnapshot) -> Option<String> {
    s.global(GLOBAL).and_then(|g| g.writer_region.clone())
}

pub fn alias_record(alb: &str, zone: &str) -> drctl_cloud::DnsRecord {
    drctl_cloud::DnsRecord {
        name: RECORD.to_string(),
        record_type: "A".to_string(),
        ttl: None,
        alias: Some(drctl_cloud::AliasTarget {
            dns_name: alb.to_string(),
            hosted_zone_id: zone.to_string(),
            evaluate_target_health: false,
        }),
        values: vec![],
    }
}

pub fn east_record() -> drctl_cloud::DnsRecord {
    alias_record(EAST_ALB, "Z35SXDOTRQ7X7K")
}

pub fn west_record() -> drctl_cloud::DnsRecord {
    alias_record(WEST_ALB, "Z1H1FL5HABSF5")
}
