//! Configuration of the simulated world: timings (each naming its source in
//! shared/reference/aws-facts.md, or saying that AWS gives none), API rate limits, and fault
//! knobs.

use std::time::Duration;

use drctl_cloud::Service;
use drctl_schema::Timestamp;
use serde::{Deserialize, Serialize};

/// Everything that decides how the world behaves. Two worlds built from equal configs and
/// driven by the same calls produce byte-identical call records.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seeds every random draw (fault draws, lag jitter, fencing failures, slow operations).
    pub seed: u64,
    pub timings: SimTimings,
    pub limits: RateLimits,
    pub faults: RandomFaults,
    /// What happens to an old primary after a managed failover once its region is back.
    pub rejoin_mode: RejoinMode,
    /// Where the simulated application sends its writes.
    pub app_target: AppTarget,
    /// Record the in-memory store's calls in the call record too (service `store`).
    pub record_store_calls: bool,
    /// The wall-clock instant virtual time 0 stands for. [`crate::EPOCH`] (2026-01-01) by
    /// default, so that runs are reproducible; a rehearsal that writes into a real store
    /// starts it at the real now, so that the store's timestamps are real ones.
    pub epoch: Timestamp,
}

impl SimConfig {
    pub fn new(seed: u64) -> Self {
        SimConfig {
            seed,
            timings: SimTimings::default(),
            limits: RateLimits::default(),
            faults: RandomFaults::default(),
            rejoin_mode: RejoinMode::Automatic,
            app_target: AppTarget::GlobalWriter,
            record_store_calls: true,
            epoch: crate::EPOCH,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig::new(0)
    }
}

/// Every duration the world uses. Values are virtual time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimTimings {
    /// FailoverGlobalCluster(AllowDataLoss): time from the call to the target being writer.
    /// aws-facts: "promotes the target in 'a few minutes'" (one field report: a whole failover
    /// in about 8 minutes). We take 2 minutes.
    pub failover_promote: Duration,
    /// SwitchoverGlobalCluster: time from the call until the primary is made read-only.
    /// AWS gives none.
    pub switchover_fence: Duration,
    /// SwitchoverGlobalCluster: time from "target fully synchronized" to "target is writer".
    /// aws-facts says only that the duration grows with the replication lag (the wait for
    /// sync is modelled exactly; this is the promotion itself). AWS gives no figure.
    pub switchover_promote: Duration,
    /// Base replication lag of every secondary. aws-facts: `AuroraGlobalDBRPOLag`
    /// "typically under 1 s".
    pub replication_lag: Duration,
    /// Extra lag drawn (per secondary, per second of virtual time) from 0 to this.
    /// AWS gives none; keeps base + jitter under 1 s by default.
    pub replication_lag_jitter: Duration,
    /// CreateDBCluster (secondary) until `available`. AWS gives none apart from "rebuilding a
    /// secondary takes a few minutes to several hours" (this plus `initial_sync`).
    pub cluster_create: Duration,
    /// A new or rejoined secondary: `pending-resync` until `connected`. aws-facts: "a few
    /// minutes to several hours" (size and distance).
    pub initial_sync: Duration,
    /// CreateDBInstance until `available`. AWS gives none.
    pub instance_create: Duration,
    /// DeleteDBInstance until gone. AWS gives none.
    pub instance_delete: Duration,
    /// DeleteDBCluster until gone. AWS gives none.
    pub cluster_delete: Duration,
    /// CreateDBClusterSnapshot `creating` -> `available`. AWS gives none.
    pub snapshot_create: Duration,
    /// CopyDBClusterSnapshot `copying` -> `available` (same region). AWS gives none.
    pub snapshot_copy: Duration,
    /// After its region recovers, how long until Aurora re-adds the old primary as a
    /// secondary (automatic mode). AWS gives none.
    pub rejoin_delay: Duration,
    /// Route 53 change `PENDING` -> `INSYNC`. aws-facts: "normally within 60 s"; we use the
    /// bound.
    pub dns_insync: Duration,
    /// ECS task from launch to RUNNING. AWS gives none.
    pub task_startup: Duration,
    /// ECS task from scale-down to stopped. AWS gives none.
    pub task_stop: Duration,
    /// Application Auto Scaling pulling desiredCount back inside [min, max] after someone
    /// wrote it outside. aws-facts says only that writing desiredCount "fights" it; AWS
    /// gives no delay.
    pub autoscaling_reconcile: Duration,
    /// A call to a region that is down fails after this (connect timeout). AWS gives none.
    pub unreachable_timeout: Duration,
    /// Round-trip latency per call, by service. AWS gives none.
    pub latency_rds: Duration,
    pub latency_route53: Duration,
    pub latency_ecs: Duration,
    pub latency_autoscaling: Duration,
    pub latency_cloudwatch: Duration,
    pub latency_http: Duration,
    /// ARC's data plane and control-config API, per call. AWS gives none.
    #[serde(default = "default_latency_arc")]
    pub latency_arc: Duration,
    /// A routing control's new state until Route 53's health checkers agree on the
    /// RECOVERY_CONTROL health check bound to it and answer with the other failover record.
    /// AWS documents no figure for RECOVERY_CONTROL checks; for ordinary ones aws-facts gives
    /// a 30 s interval and a failure threshold of 3. We take 30 s: a parameter, not a fact.
    #[serde(default = "default_health_check_propagation")]
    pub health_check_propagation: Duration,
    /// The in-memory store (a DynamoDB stand-in). AWS gives none here.
    pub latency_store: Duration,
}

impl Default for SimTimings {
    fn default() -> Self {
        SimTimings {
            failover_promote: Duration::from_secs(120),
            switchover_fence: Duration::from_secs(5),
            switchover_promote: Duration::from_secs(60),
            replication_lag: Duration::from_millis(500),
            replication_lag_jitter: Duration::from_millis(400),
            cluster_create: Duration::from_secs(300),
            initial_sync: Duration::from_secs(600),
            instance_create: Duration::from_secs(600),
            instance_delete: Duration::from_secs(300),
            cluster_delete: Duration::from_secs(120),
            snapshot_create: Duration::from_secs(300),
            snapshot_copy: Duration::from_secs(300),
            rejoin_delay: Duration::from_secs(300),
            dns_insync: Duration::from_secs(60),
            task_startup: Duration::from_secs(30),
            task_stop: Duration::from_secs(0),
            autoscaling_reconcile: Duration::from_secs(60),
            unreachable_timeout: Duration::from_secs(3),
            latency_rds: Duration::from_millis(150),
            latency_route53: Duration::from_millis(100),
            latency_ecs: Duration::from_millis(50),
            latency_autoscaling: Duration::from_millis(50),
            latency_cloudwatch: Duration::from_millis(50),
            latency_http: Duration::from_millis(20),
            latency_arc: default_latency_arc(),
            health_check_propagation: default_health_check_propagation(),
            latency_store: Duration::from_millis(10),
        }
    }
}

fn default_latency_arc() -> Duration {
    Duration::from_millis(100)
}

fn default_health_check_propagation() -> Duration {
    Duration::from_secs(30)
}

impl SimTimings {
    /// Every duration zero except the ones that make the world meaningful: handy for tests
    /// that count calls, not seconds.
    pub fn instant_calls(mut self) -> Self {
        self.latency_rds = Duration::ZERO;
        self.latency_route53 = Duration::ZERO;
        self.latency_ecs = Duration::ZERO;
        self.latency_autoscaling = Duration::ZERO;
        self.latency_cloudwatch = Duration::ZERO;
        self.latency_http = Duration::ZERO;
        self.latency_arc = Duration::ZERO;
        self.latency_store = Duration::ZERO;
        self.unreachable_timeout = Duration::ZERO;
        self
    }

    pub(crate) fn latency(&self, service: SimService) -> Duration {
        match service {
            SimService::Cloud(Service::Rds) => self.latency_rds,
            SimService::Cloud(Service::Route53) => self.latency_route53,
            SimService::Cloud(Service::Ecs) => self.latency_ecs,
            SimService::Cloud(Service::AutoScaling) => self.latency_autoscaling,
            SimService::Cloud(Service::CloudWatch) => self.latency_cloudwatch,
            SimService::Cloud(Service::Http) => self.latency_http,
            SimService::Cloud(Service::RoutingControl | Service::RecoveryControlConfig) => {
                self.latency_arc
            }
            // Control-plane reads, as CloudWatch's: AWS documents no figure.
            SimService::Cloud(Service::S3 | Service::DynamoDb) => self.latency_cloudwatch,
            SimService::Store => self.latency_store,
        }
    }
}

/// A token bucket: `per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// API rate limits. None: that service never throttles by rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimits {
    /// aws-facts: "RDS API throttling: roughly a 300 burst and 12 requests/s per account per
    /// region".
    pub rds: Option<RateLimit>,
    /// aws-facts: "about 5 requests/s per account" (newer docs: 10/s, burst 50). Per account,
    /// so one bucket for all of Route 53.
    pub route53: Option<RateLimit>,
    /// AWS gives none in aws-facts.
    pub ecs: Option<RateLimit>,
    /// AWS gives none in aws-facts.
    pub autoscaling: Option<RateLimit>,
    /// AWS gives none in aws-facts.
    pub cloudwatch: Option<RateLimit>,
    /// ARC's data plane: mutating calls per regional endpoint (the brief's figure, issue 10:
    /// 3 mutating calls/s per endpoint); reads are not limited here.
    #[serde(default = "default_routing_control_limit")]
    pub routing_control: Option<RateLimit>,
    /// aws-facts: "Fargate task launches: about 100 burst, then 20/s" (per region).
    pub task_launches: RateLimit,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            rds: Some(RateLimit {
                per_second: 12,
                burst: 300,
            }),
            route53: Some(RateLimit {
                per_second: 5,
                burst: 5,
            }),
            ecs: None,
            autoscaling: None,
            cloudwatch: None,
            routing_control: default_routing_control_limit(),
            task_launches: RateLimit {
                per_second: 20,
                burst: 100,
            },
        }
    }
}

fn default_routing_control_limit() -> Option<RateLimit> {
    Some(RateLimit {
        per_second: 3,
        burst: 3,
    })
}

impl RateLimits {
    pub(crate) fn for_service(&self, service: Service) -> Option<RateLimit> {
        match service {
            Service::Rds => self.rds,
            Service::Route53 => self.route53,
            Service::Ecs => self.ecs,
            Service::AutoScaling => self.autoscaling,
            Service::CloudWatch => self.cloudwatch,
            Service::RoutingControl => self.routing_control,
            Service::RecoveryControlConfig | Service::Http | Service::S3 | Service::DynamoDb => {
                None
            }
        }
    }
}

/// Faults drawn from the seed, per call, with these probabilities (0.0 ..= 1.0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceFaults {
    /// The call is refused with the service's throttling error, not applied.
    pub throttle: f64,
    /// The call fails with a 5xx, not applied.
    pub server_error: f64,
    /// The call is applied, then its response is lost (`outcome_unknown`).
    pub lost_response: f64,
    /// Extra latency drawn uniformly from 0 to this on every call.
    pub extra_latency: Duration,
}

/// Random faults for each service, plus slow operations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RandomFaults {
    pub rds: ServiceFaults,
    pub route53: ServiceFaults,
    pub ecs: ServiceFaults,
    pub autoscaling: ServiceFaults,
    pub cloudwatch: ServiceFaults,
    pub http: ServiceFaults,
    /// Both ARC APIs (data plane and control config).
    #[serde(default)]
    pub arc: ServiceFaults,
    /// S3 and DynamoDB, the reads of spec.dependencies.
    #[serde(default)]
    pub dependencies: ServiceFaults,
    /// Probability that a long-running operation (failover, switchover, create, delete,
    /// snapshot, DNS propagation) takes `slow_factor` times its timing.
    pub slow_operation: f64,
    pub slow_factor: u32,
    /// Probability that fencing the old primary during FailoverGlobalCluster fails (aws-facts:
    /// "write fencing of the old primary is best effort (split brain is possible)"). AWS
    /// gives no rate.
    pub fence_failure: f64,
}

impl RandomFaults {
    pub(crate) fn for_service(&self, service: Service) -> ServiceFaults {
        match service {
            Service::Rds => self.rds,
            Service::Route53 => self.route53,
            Service::Ecs => self.ecs,
            Service::AutoScaling => self.autoscaling,
            Service::CloudWatch => self.cloudwatch,
            Service::Http => self.http,
            Service::RoutingControl | Service::RecoveryControlConfig => self.arc,
            Service::S3 | Service::DynamoDb => self.dependencies,
        }
    }

    pub(crate) fn for_service_mut(&mut self, service: Service) -> &mut ServiceFaults {
        match service {
            Service::Rds => &mut self.rds,
            Service::Route53 => &mut self.route53,
            Service::Ecs => &mut self.ecs,
            Service::AutoScaling => &mut self.autoscaling,
            Service::CloudWatch => &mut self.cloudwatch,
            Service::Http => &mut self.http,
            Service::RoutingControl | Service::RecoveryControlConfig => &mut self.arc,
            Service::S3 | Service::DynamoDb => &mut self.dependencies,
        }
    }
}

/// What Aurora does with the old primary after a managed failover, once its region is back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejoinMode {
    /// aws-facts: Aurora snapshots the old volume as `rds:unplanned-global-failover-*` and
    /// adds the old primary back as a secondary by itself.
    Automatic,
    /// The rejoin fails: the old primary comes back detached, standalone and writable, with
    /// diverged data (the runbook's failback case).
    Stale,
}

/// Which cluster the simulated application writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppTarget {
    /// The global cluster's writer member (a global writer endpoint).
    GlobalWriter,
    /// Whatever cluster sits in the region the DNS record currently resolves to (the data
    /// plane's view). Exposes split brain when a stale primary is still served by DNS.
    FollowDns,
}

/// What a simulated CloudWatch alarm (a witness of automatic failover) reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmModel {
    /// An honest witness (synthetics probing a region from outside): ALARM while `region`
    /// is down for its users, OK otherwise. A controller's own partition does not move it.
    WhileRegionDown { region: String },
    /// A lying witness: stuck in this state whatever happens.
    Stuck(drctl_cloud::AlarmState),
}

/// How much of a region an outage takes down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutageScope {
    /// Everything in the region; for us-east-1 that includes the Route 53 control plane.
    Full,
    /// The region's own services only; the Route 53 control plane stays up even for
    /// us-east-1 (a partial regional event).
    RegionalServicesOnly,
}

/// A service as the sim's call record knows it: a cloud service or the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimService {
    Cloud(Service),
    Store,
}

impl SimService {
    pub fn as_str(self) -> &'static str {
        match self {
            SimService::Cloud(s) => s.as_str(),
            SimService::Store => "store",
        }
    }
}

/// A deterministic, one-shot fault for calls that match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// `rds`, `route53`, `ecs`, `application-autoscaling`, `cloudwatch`, `http`; None: any.
    pub service: Option<String>,
    /// e.g. `FailoverGlobalCluster`; None: any.
    pub operation: Option<String>,
    pub region: Option<String>,
    pub caller: Option<String>,
    /// A substring of the call's resource (a group's service or URL, say); None: any.
    #[serde(default)]
    pub resource: Option<String>,
    pub kind: FaultKind,
    /// How many matching calls it hits.
    pub times: u32,
}

impl FaultRule {
    pub fn new(kind: FaultKind) -> Self {
        FaultRule {
            service: None,
            operation: None,
            region: None,
            caller: None,
            resource: None,
            kind,
            times: 1,
        }
    }

    pub fn service(mut self, service: Service) -> Self {
        self.service = Some(service.as_str().to_string());
        self
    }

    pub fn operation(mut self, operation: &str) -> Self {
        self.operation = Some(operation.to_string());
        self
    }

    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_string());
        self
    }

    pub fn caller(mut self, caller: &str) -> Self {
        self.caller = Some(caller.to_string());
        self
    }

    /// Only calls whose resource contains `part` (one group's calls, when names are unique).
    pub fn resource(mut self, part: &str) -> Self {
        self.resource = Some(part.to_string());
        self
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// Refused with the service's throttling error; not applied.
    Throttle,
    /// A 5xx; not applied.
    ServerError,
    /// Applied, then the response is lost: CloudError with `outcome_unknown`.
    LostResponse,
    /// The call takes this many extra milliseconds.
    LatencyMs(u64),
}

/// Something that happens to the world at a virtual time (see `SimWorld::schedule`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScheduledFault {
    RegionOutage {
        region: String,
        scope: OutageScope,
    },
    RegionRecover {
        region: String,
    },
    /// Only the region's app tier (ECS, the load balancer) goes down; Aurora stays up.
    AppTierOutage {
        region: String,
    },
    AppTierRecover {
        region: String,
    },
    Route53ControlPlaneOutage,
    Route53ControlPlaneRecover,
    SetRejoinMode(RejoinMode),
    SetServiceFaults {
        service: String,
        faults: ServiceFaults,
    },
    /// Override one region's replication lag (None: back to the configured model).
    SetReplicationLag {
        region: String,
        lag_ms: Option<u64>,
    },
}
