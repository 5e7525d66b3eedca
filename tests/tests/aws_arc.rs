//! The ARC adapters and the failover-record reads (`routing: routingControl`) on the wire,
//! against moto on loopback with tests/moto/ext_arc.py (moto has no ARC). The setup of
//! docs/deployment.md (cluster, control panel, controls, RECOVERY_CONTROL health checks, the
//! PRIMARY/SECONDARY pair) is made and read back by boto3 (tests/moto/fixture.py), never by
//! drctl. Every operation the SDK sends is checked against `drctl iam-policy`'s policy for the
//! group, and every operation the group needs beyond an upsert group's is exercised.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_rds::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use drctl_cloud::aws::iam::operations_for;
use drctl_cloud::aws::AwsCloud;
use drctl_cloud::{
    ClusterEndpoint, Dns, ErrorCategory, FailoverRole, RecoveryControlConfig, RoutingControlState,
    RoutingControlUpdate, RoutingControls,
};
use drctl_e2e::moto::{repo_root, MotoServer};
use drctl_e2e::sent::{assert_allowed_by_the_policy, SentOperations};
use drctl_schema::{FailoverGroup, FailoverGroupSpec};
use serde_json::Value;

struct World {
    server: MotoServer,
    doc_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
    spec: FailoverGroupSpec,
}

impl World {
    fn start() -> World {
        let server = MotoServer::start().expect("moto starts (run scripts/setup-venv.sh once)");
        let example = repo_root()
            .join("examples")
            .join("failovergroup-routing-control.yaml");
        let setup = server
            .fixture(&["arc-setup", example.to_str().unwrap()])
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        let doc_path = dir.path().join("group.json");
        std::fs::write(&doc_path, setup["document"].to_string()).unwrap();
        let doc: FailoverGroup = serde_json::from_value(setup["document"].clone()).unwrap();
        drctl_schema::validate(&doc).unwrap();
        World {
            server,
            doc_path,
            _dir: dir,
            spec: doc.spec,
        }
    }

    /// Each region's control state as boto3 reads it on the data plane.
    fn states(&self) -> Value {
        self.server
            .fixture(&["arc-states", self.doc_path.to_str().unwrap()])
            .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn cloud(&self, sent: &SentOperations) -> AwsCloud {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.server.endpoint())
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "test",
            )))
            .load()
            .await;
        AwsCloud::builder(config)
            .interceptor(SharedInterceptor::new(sent.clone()))
            .build()
    }

    fn control(&self, region: &str) -> String {
        self.spec.dns.routing_control.as_ref().unwrap().controls[region].clone()
    }

    fn flip_to(&self, on: &str) -> Vec<RoutingControlUpdate> {
        self.spec
            .regions
            .iter()
            .map(|region| RoutingControlUpdate {
                control_arn: self.control(region),
                state: if region == on {
                    RoutingControlState::On
                } else {
                    RoutingControlState::Off
                },
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_arc_port_method_round_trips_through_the_emulator_and_is_allowed_by_the_iam_policy() {
    let world = World::start();
    let sent = SentOperations::default();
    let cloud = world.cloud(&sent).await;
    let rc = world.spec.dns.routing_control.clone().unwrap();

    // --- Control config: the cluster's regional endpoints --------------------------------
    let endpoints: Vec<ClusterEndpoint> = cloud.describe_cluster(&rc.cluster_arn).await.unwrap();
    let regions: Vec<&str> = endpoints.iter().map(|e| e.region.as_str()).collect();
    assert_eq!(
        regions,
        [
            "us-east-1",
            "us-west-2",
            "eu-west-1",
            "ap-northeast-1",
            "ap-southeast-2"
        ]
    );
    let missing = cloud
        .describe_cluster("arn:aws:route53-recovery-control::123456789012:cluster/nope")
        .await
        .unwrap_err();
    assert_eq!(missing.code, "ResourceNotFoundException");
    assert_eq!(missing.category, ErrorCategory::NeedsSpecChange);

    // --- Route 53: the failover pair and its RECOVERY_CONTROL health checks --------------
    let dns = &world.spec.dns;
    let records = cloud
        .list_failover_records(&dns.hosted_zone_id, &dns.record_name, "A")
        .await
        .unwrap();
    let roles: Vec<FailoverRole> = records.iter().map(|r| r.role).collect();
    assert_eq!(roles, [FailoverRole::Primary, FailoverRole::Secondary]);
    // Route 53 returns names with the trailing dot; moto leaves them as written.
    assert_eq!(
        records[1]
            .record
            .alias
            .as_ref()
            .unwrap()
            .dns_name
            .trim_end_matches('.'),
        "shop-dr-alb-456.us-west-2.elb.amazonaws.com"
    );
    for (record, region) in records.iter().zip(["us-east-1", "us-west-2"]) {
        let check = cloud
            .get_health_check(record.health_check_id.as_deref().unwrap())
            .await
            .unwrap()
            .expect("the health check exists");
        assert_eq!(check.check_type, "RECOVERY_CONTROL");
        assert_eq!(check.routing_control_arn, Some(world.control(region)));
    }
    assert_eq!(
        cloud
            .get_health_check("00000000-0000-0000-0000-000000000000")
            .await
            .unwrap(),
        None
    );

    // --- Data plane: read, then flip both controls in ONE request -------------------------
    let east = &endpoints[0];
    let west = &endpoints[1];
    assert_eq!(
        cloud
            .get_routing_control_state(east, &world.control("us-east-1"))
            .await
            .unwrap(),
        RoutingControlState::On
    );
    cloud
        .update_routing_control_states(west, &world.flip_to("us-west-2"))
        .await
        .unwrap();
    assert_eq!(
        world.states(),
        serde_json::json!({"us-east-1": "Off", "us-west-2": "On"}),
        "boto3 reads the flip back"
    );
    assert_eq!(
        cloud
            .get_routing_control_state(&endpoints[3], &world.control("us-west-2"))
            .await
            .unwrap(),
        RoutingControlState::On
    );

    // The safety rule refuses every control Off: a typed category, nothing changed.
    let all_off = world.flip_to("nowhere");
    let refused = cloud
        .update_routing_control_states(west, &all_off)
        .await
        .unwrap_err();
    assert_eq!(refused.code, "ConflictException");
    assert_eq!(refused.category, ErrorCategory::NeedsOperator);
    assert!(!refused.outcome_unknown, "a 4xx refusal changed nothing");
    assert_eq!(
        world.states(),
        serde_json::json!({"us-east-1": "Off", "us-west-2": "On"})
    );

    // An endpoint nobody listens on: retryable, and known not sent (the caller moves on to
    // the next endpoint; a blind retry of an update would be one too many).
    let dead = ClusterEndpoint {
        region: "eu-west-1".to_string(),
        endpoint: "http://127.0.0.1:1/v1".to_string(),
    };
    let unreachable = cloud
        .update_routing_control_states(&dead, &world.flip_to("us-east-1"))
        .await
        .unwrap_err();
    assert!(unreachable.is_retryable(), "{unreachable}");
    assert!(!unreachable.outcome_unknown, "{unreachable}");

    // --- Every operation sent is allowed by the policy; every one the group adds ran ------
    let sent_names = assert_allowed_by_the_policy(&world.spec, &sent);
    let upsert_ops: BTreeSet<&str> = operations_for(&upsert_spec())
        .iter()
        .map(|op| op.name)
        .collect();
    let added: BTreeSet<String> = operations_for(&world.spec)
        .iter()
        .map(|op| op.name)
        .filter(|name| !upsert_ops.contains(name))
        .map(str::to_string)
        .collect();
    assert_eq!(
        added,
        BTreeSet::from(
            [
                "DescribeCluster",
                "GetHealthCheck",
                "GetRoutingControlState",
                "UpdateRoutingControlStates"
            ]
            .map(str::to_string)
        )
    );
    assert!(
        added.is_subset(&sent_names),
        "not exercised: {:?}",
        added.difference(&sent_names).collect::<Vec<_>>()
    );
}

fn upsert_spec() -> FailoverGroupSpec {
    let yaml = std::fs::read_to_string(repo_root().join("examples/failovergroup.yaml")).unwrap();
    drctl_schema::parse_documents(yaml.as_bytes(), "failovergroup.yaml")
        .unwrap()
        .remove(0)
        .spec
}
