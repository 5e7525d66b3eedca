//! Observation: read the cloud through the ports into an `ObservedWorld`.
//!
//! Every shared read goes through `FleetReads`, which batches it with the other groups' reads
//! of the same moment (one DescribeGlobalClusters, DescribeDBClusters per region,
//! ListResourceRecordSets per zone, DescribeServices per ECS cluster). A *light* pass (used
//! while a group is converged) reads only the global cluster, the record and the ECS
//! services, accepts answers a few seconds old, and reuses this group's cached cluster
//! descriptions, scalable targets and lag; anything that looks off triggers a full pass of
//! its own calls before acting. A full pass accepts answers sent after the group's previous
//! pass ended (another group's, too): they already show what that pass did.

use std::collections::BTreeMap;

use std::time::Duration;

use drctl_cloud::{
    ecs_resource_id, region_of_arn, Cloud, CloudError, DbCluster, GlobalCluster, LagQuery,
    SnapshotQuery,
};
use drctl_schema::{FailoverGroupSpec, FailoverGroupStatus, Phase, StepName};

use crate::fleet::{FleetReads, Freshness};
use crate::observed::{
    DnsChangeStatus, Membership, ObservedWorld, Reachability, RegionView, Seen, ServiceView,
    NO_SUCH_CHANGE,
};
use crate::planner::auto_failover::WitnessReading;
use crate::planner::steps::note;

/// What one observation must read beyond the light set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObserveRequest {
    pub full: bool,
    pub instances_in: Vec<String>,
    pub snapshots_in: Vec<String>,
    pub dns_change: Option<String>,
    pub health_url: Option<String>,
    /// The record must be read by a call of this pass (the DNS steps, and full passes
    /// outside operations); otherwise a shared answer a few seconds old will do. Route 53's
    /// control plane takes a few requests a second per account: a fleet in the middle of
    /// a failover cannot read every record fresh on every pass, and the steps before
    /// MoveDns do not look at it. MoveDns itself is a compare-and-swap, so a stale record
    /// costs a retry, never a wrong move.
    pub fresh_record: bool,
    /// A full pass accepts shared answers sent after this (the group's previous pass
    /// ended then); None: only calls of its own.
    pub since: Option<tokio::time::Instant>,
}

/// How many light passes may reuse cached descriptions before a full one.
pub const FULL_RESYNC_EVERY: u32 = 10;

/// What the next observation needs, from the spec and the previous status. Pure.
pub fn needs(
    spec: &FailoverGroupSpec,
    status: &FailoverGroupStatus,
    generation: u64,
    cache: &ObserveCache,
) -> ObserveRequest {
    let mut req = ObserveRequest {
        full: status.phase != Phase::Converged
            || status.operation.is_some()
            || status.observed_generation != generation
            || !cache.has_full()
            || cache.light_passes >= FULL_RESYNC_EVERY,
        since: cache.last_pass_end,
        ..Default::default()
    };
    if let Some(op) = &status.operation {
        let active = |step: StepName| {
            op.step(step)
                .map(|s| !crate::planner::steps::finished(s))
                .unwrap_or(false)
        };
        if [
            StepName::PreserveSnapshot,
            StepName::SnapshotStale,
            StepName::DeleteStale,
            StepName::RecreateSecondary,
        ]
        .iter()
        .any(|s| active(*s))
        {
            req.snapshots_in.push(op.to.clone());
        }
        if [StepName::DeleteStale, StepName::RecreateSecondary]
            .iter()
            .any(|s| active(*s))
        {
            req.instances_in.push(op.to.clone());
        }
        if active(StepName::WaitDnsInSync) {
            req.dns_change = op.notes.get(note::DNS_CHANGE_ID).cloned();
        }
        // Probe while still waiting for INSYNC too: Verify can then pass in the same pass in
        // which the change is seen INSYNC, instead of one poll later.
        if active(StepName::Verify) || active(StepName::WaitDnsInSync) {
            req.health_url = spec.verify.as_ref().map(|v| v.url.clone());
        }
        req.fresh_record = [
            StepName::Preflight,
            StepName::MoveDns,
            StepName::WaitDnsInSync,
            StepName::Verify,
        ]
        .iter()
        .any(|s| active(*s));
    } else {
        req.fresh_record = req.full;
        // A failback may start in this pass: have what its first steps (PreserveSnapshot,
        // SnapshotStale) read in the region it goes back to. Not for other moves: two
        // per-group RDS reads each would cost a mass failover's first pass dearly under
        // RDS's rate limit, and nothing there reads them.
        let writer_moves = status
            .observed
            .as_ref()
            .and_then(|o| o.writer.as_deref())
            .map(|w| w != spec.writer)
            .unwrap_or(false);
        let back_to_last_source = status.last_operation.as_ref().is_some_and(|op| {
            op.type_ == drctl_schema::OperationType::Failover && op.from == spec.writer
        });
        if writer_moves && back_to_last_source {
            req.snapshots_in.push(spec.writer.clone());
            req.instances_in.push(spec.writer.clone());
        } else if let Some(region) = crate::planner::after_failover::snapshots_needed(spec, status)
        {
            // After a failover: the PreserveSnapshot the controller runs by itself.
            req.snapshots_in.push(region);
        }
    }
    req
}

/// (min, max) of each service's scalable target, by (service name, region).
type ScalableBySvc = BTreeMap<(String, String), Seen<Option<(u32, u32)>>>;

/// A region's cluster as last read: did the region answer, and the cluster if it exists.
type RegionRead = (Reachability, Option<DbCluster>);

/// Descriptions kept between passes of one group: the light passes of a converged group reuse
/// them. Regions that do not answer are tracked fleet-wide by `FleetReads`, not here.
#[derive(Debug, Clone, Default)]
pub struct ObserveCache {
    regions: BTreeMap<String, RegionRead>,
    scalable: ScalableBySvc,
    lag: Option<f64>,
    pub light_passes: u32,
    full_seen: bool,
    /// When this group's last pass ended (after its actions).
    last_pass_end: Option<tokio::time::Instant>,
    /// routingControl groups: ARC's endpoints that failed, the last control-plane check.
    routing: crate::routing::RoutingCache,
    /// spec.dependencies: the last reading and when it was made.
    dependencies: Option<crate::dependencies::DependenciesView>,
    dependencies_read_at: Option<tokio::time::Instant>,
    /// The continuous checks' standby-region reading (class offered, quota).
    capacity: crate::continuous::capacity::CapacityCache,
}

/// How old a shared read a light pass accepts: another group's pass a few seconds ago
/// answers it as well as a call of its own would.
pub const LIGHT_MAX_AGE: Duration = Duration::from_secs(5);

impl ObserveCache {
    fn has_full(&self) -> bool {
        self.full_seen
    }

    /// The pass is over, its actions taken: later reads must have been sent after this.
    pub fn mark_pass_end(&mut self) {
        self.last_pass_end = Some(tokio::time::Instant::now());
    }
}

/// Read the world.
pub async fn observe(
    reads: &FleetReads,
    spec: &FailoverGroupSpec,
    status: &FailoverGroupStatus,
    req: &ObserveRequest,
    cache: &mut ObserveCache,
) -> ObservedWorld {
    let cloud = reads.cloud();
    let at = cloud.clock.now();
    let ages = ReadAges::of(spec, req);
    let first = first_reads(reads, spec, status, req, &ages, cache).await;
    remember_full_reads(cache, first.clusters, first.scalable);
    let (regions, instances) =
        database_regions(reads, spec, status, req, &first.global, ages.since, cache).await;
    let witnesses = read_witnesses(cloud, spec, &regions, &first.services).await;
    read_dependencies(cloud, spec, req.full, cache).await;
    let capacity = crate::continuous::capacity::observe(
        cloud,
        spec,
        &regions,
        instances.as_ref(),
        req.full && status.operation.is_none(),
        &mut cache.capacity,
    )
    .await;
    ObservedWorld {
        at,
        global: first.global,
        regions,
        record: first.record,
        dns_change: first.dns_change,
        services: with_scalable(first.services, cache),
        lag_seconds: cache.lag,
        health: first.health,
        full: req.full,
        witnesses,
        suspect_since: None,
        routing: first.routing,
        instances,
        dependencies: cache.dependencies.clone(),
        health_checks: first.health_checks,
        capacity,
    }
}

/// How old this pass's answers may be.
struct ReadAges {
    /// Full reads: sent after the group's last pass (or fresh).
    since: Freshness,
    /// The database and compute reads of this pass (full or light).
    fresh: Freshness,
    /// The DNS record's.
    record: Freshness,
}

impl ReadAges {
    fn of(spec: &FailoverGroupSpec, req: &ObserveRequest) -> Self {
        let since = req.since.map_or(Freshness::Fresh, Freshness::Since);
        // An armed automatic-failover policy looks every ARMED_POLL: its light reads may not
        // be older than that, or the count of afterSeconds would start late.
        let armed = spec.auto_failover.as_ref().is_some_and(|p| p.enabled) && !spec.suspended;
        // Other converged groups resync: their light reads may be as old as the rate budget
        // requires (fleet/coalesce.rs), so a large fleet's steady cost is its listings' pages.
        let light = if armed {
            Freshness::MaxAge(crate::planner::auto_failover::ARMED_POLL)
        } else {
            Freshness::Resync(LIGHT_MAX_AGE)
        };
        ReadAges {
            since,
            fresh: if req.full { since } else { light },
            record: if req.fresh_record { since } else { light },
        }
    }
}

/// The reads that do not depend on each other, made at once.
struct FirstReads {
    global: Seen<Option<GlobalCluster>>,
    record: Seen<Option<drctl_cloud::DnsRecord>>,
    services: Vec<ServiceView>,
    /// Full passes of Aurora groups only.
    clusters: Option<BTreeMap<String, RegionRead>>,
    /// Full passes only.
    scalable: Option<ScalableBySvc>,
    dns_change: Option<Seen<DnsChangeStatus>>,
    health: Option<Seen<u16>>,
    routing: Option<crate::observed::RoutingView>,
    health_checks: Option<crate::observed::HealthCheckView>,
}

async fn first_reads(
    reads: &FleetReads,
    spec: &FailoverGroupSpec,
    status: &FailoverGroupStatus,
    req: &ObserveRequest,
    ages: &ReadAges,
    cache: &mut ObserveCache,
) -> FirstReads {
    let cloud = reads.cloud();
    let since = ages.since;
    let ask_order = ask_order(reads, spec, status);
    let rds = crate::planner::steps::rds_replica::is_rds(spec);
    let clusters_fut = async {
        if req.full && !rds {
            Some(read_clusters(reads, spec, since).await)
        } else {
            None
        }
    };
    let scalable_fut = async {
        if req.full {
            Some(describe_scalable(reads, spec, since).await)
        } else {
            None
        }
    };
    let change_fut = async {
        match &req.dns_change {
            Some(id) => Some(match reads.change(id).await {
                Ok(status) => Seen::Known(DnsChangeStatus::from(status)),
                Err(e) if e.code == NO_SUCH_CHANGE => Seen::Known(DnsChangeStatus::NoSuchChange),
                Err(e) => Seen::Unreachable(e.to_string()),
            }),
            None => None,
        }
    };
    let health_fut = async {
        match &req.health_url {
            Some(url) => Some(match cloud.health.probe(url).await {
                Ok(code) => Seen::Known(code),
                Err(e) => Seen::Unreachable(e.to_string()),
            }),
            None => None,
        }
    };
    // routingControl: the record is a failover pair on the Route 53 control plane, read only
    // by the background setup check; traffic is read on ARC's data plane.
    let routing_mode = spec.dns.routing != drctl_schema::DnsRouting::Upsert;
    let record_fut = async {
        if routing_mode {
            Seen::Known(None)
        } else {
            read_record(reads, spec, ages.record).await
        }
    };
    let dark = reads.dark_rds_regions();
    let routing_fut =
        crate::routing::observe_routing(cloud, spec, status, &dark, &mut cache.routing);
    let global_fut = async {
        if rds {
            // An rdsReplica group has no global cluster: its instances are read below.
            Seen::Known(None)
        } else {
            describe_global(reads, spec, &ask_order, ages.fresh).await
        }
    };
    let health_checks_fut = crate::routing::observe_health_checks(cloud, spec, status);
    let (global, record, services, clusters, scalable, dns_change, health, routing, health_checks) = tokio::join!(
        global_fut,
        record_fut,
        describe_services(reads, spec, ages.fresh),
        clusters_fut,
        scalable_fut,
        change_fut,
        health_fut,
        routing_fut,
        health_checks_fut
    );
    FirstReads {
        global,
        record,
        services,
        clusters,
        scalable,
        dns_change,
        health,
        routing,
        health_checks,
    }
}

/// What full reads learned stays in the cache for the light passes after them.
fn remember_full_reads(
    cache: &mut ObserveCache,
    clusters: Option<BTreeMap<String, RegionRead>>,
    scalable: Option<ScalableBySvc>,
) {
    if let Some(clusters) = clusters {
        cache.regions = clusters;
        cache.full_seen = true;
        cache.light_passes = 0;
    } else {
        cache.light_passes = cache.light_passes.saturating_add(1);
    }
    if let Some(scalable) = scalable {
        cache.scalable = scalable;
    }
}

/// Each region's database view (and an rdsReplica group's instance pair), with the lag.
async fn database_regions(
    reads: &FleetReads,
    spec: &FailoverGroupSpec,
    status: &FailoverGroupStatus,
    req: &ObserveRequest,
    global: &Seen<Option<GlobalCluster>>,
    since: Freshness,
    cache: &mut ObserveCache,
) -> (
    BTreeMap<String, RegionView>,
    Option<crate::observed::InstancePairView>,
) {
    let cloud = reads.cloud();
    if crate::planner::steps::rds_replica::is_rds(spec) {
        let observed = crate::observe_rds::observe_instances(cloud, spec, status).await;
        cache.lag = observed.lag;
        return (observed.regions, Some(observed.pair));
    }
    let mut regions = region_views(spec, global.known().and_then(|g| g.as_ref()), cache);
    read_extras(cloud, spec, req, &mut regions).await;
    if req.full {
        cache.lag = read_lag(reads, spec, &regions, since).await;
    }
    (regions, None)
}

/// The services with their scalable targets as last read in full.
fn with_scalable(services: Vec<ServiceView>, cache: &ObserveCache) -> Vec<ServiceView> {
    services
        .into_iter()
        .map(|mut view| {
            if let Some(s) = cache
                .scalable
                .get(&(view.name.clone(), view.region.clone()))
            {
                view.scalable = Some(s.clone());
            }
            view
        })
        .collect()
}

/// spec.dependencies, on full passes when due (`dependencies::read_due`); otherwise the
/// cached reading stands. A group without dependencies makes no call and keeps nothing.
async fn read_dependencies(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    full: bool,
    cache: &mut ObserveCache,
) {
    if spec.dependencies.is_none() {
        cache.dependencies = None;
        return;
    }
    let now = tokio::time::Instant::now();
    if crate::dependencies::read_due(spec, full, cache.dependencies_read_at, now) {
        cache.dependencies = crate::dependencies::read(cloud, spec).await;
        cache.dependencies_read_at = Some(now);
    }
}

/// The witness alarms of spec.autoFailover, each asked in its own region, once the writer's
/// region looks impaired (its database or a service did not answer). Nothing is read while
/// it looks healthy, nor without an enabled policy: a converged group pays nothing for them.
async fn read_witnesses(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    regions: &BTreeMap<String, RegionView>,
    services: &[ServiceView],
) -> Vec<WitnessReading> {
    // A suspended group's policy decides nothing (NotArmed): its witnesses are not read.
    let Some(policy) = spec
        .auto_failover
        .as_ref()
        .filter(|p| p.enabled && !spec.suspended)
    else {
        return Vec::new();
    };
    let writer = spec.writer.as_str();
    let suspicious = regions
        .get(writer)
        .is_some_and(|r| r.reachable.is_unreachable())
        || services
            .iter()
            .any(|s| s.region == writer && matches!(s.ecs, Seen::Unreachable(_)));
    if !suspicious {
        return Vec::new();
    }
    let mut by_region: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for alarm in &policy.witnesses.alarms {
        by_region
            .entry(alarm.region.as_str())
            .or_default()
            .push(alarm.name.clone());
    }
    let calls = by_region.iter().map(|(region, names)| async move {
        let answer = cloud.alarms.describe_alarms(region, names).await;
        (*region, answer)
    });
    let answers: BTreeMap<&str, Result<Vec<drctl_cloud::AlarmReading>, CloudError>> =
        join_all(calls.collect()).await.into_iter().collect();
    policy
        .witnesses
        .alarms
        .iter()
        .map(|alarm| WitnessReading {
            region: alarm.region.clone(),
            name: alarm.name.clone(),
            state: match answers.get(alarm.region.as_str()) {
                Some(Ok(found)) => {
                    Seen::Known(found.iter().find(|r| r.name == alarm.name).map(|r| r.state))
                }
                Some(Err(e)) => Seen::Unreachable(e.to_string()),
                None => Seen::Unreachable("not asked".to_string()),
            },
        })
        .collect()
}

/// The region we believe is the writer first (it is the one most likely up), a region known
/// dark last.
fn ask_order(
    reads: &FleetReads,
    spec: &FailoverGroupSpec,
    status: &FailoverGroupStatus,
) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    if let Some(w) = status.observed.as_ref().and_then(|o| o.writer.clone()) {
        order.push(w);
    }
    for r in &spec.regions {
        if !order.contains(r) {
            order.push(r.clone());
        }
    }
    let dark = reads.dark_rds_regions();
    order.sort_by_key(|r| dark.contains(r));
    order
}

async fn read_record(
    reads: &FleetReads,
    spec: &FailoverGroupSpec,
    fresh: Freshness,
) -> Seen<Option<drctl_cloud::DnsRecord>> {
    match reads
        .record(
            &spec.dns.hosted_zone_id,
            &spec.dns.record_name,
            spec.dns.record_type.as_str(),
            fresh,
        )
        .await
    {
        Ok(record) => Seen::Known(record),
        Err(e) => Seen::Unreachable(e.to_string()),
    }
}

/// Each region's spec'd cluster (always fresh: only full passes read them).
async fn read_clusters(
    reads: &FleetReads,
    spec: &FailoverGroupSpec,
    fresh: Freshness,
) -> BTreeMap<String, RegionRead> {
    let calls = spec.regions.iter().filter_map(|region| {
        let template = spec.database.clusters.get(region)?;
        Some(async move {
            let entry = match reads.cluster(region, &template.identifier, fresh).await {
                Ok(cluster) => (Reachability::Answered, cluster),
                Err(e) if e.is_retryable() => (Reachability::Unreachable, None),
                // A non-retryable answer still proves the region is up.
                Err(_) => (Reachability::Answered, None),
            };
            (region.clone(), entry)
        })
    });
    join_all(calls.collect()).await.into_iter().collect()
}

fn region_views(
    spec: &FailoverGroupSpec,
    global: Option<&GlobalCluster>,
    cache: &ObserveCache,
) -> BTreeMap<String, RegionView> {
    let mut regions = BTreeMap::new();
    for region in &spec.regions {
        let (reachable, cluster) = cache
            .regions
            .get(region)
            .cloned()
            .unwrap_or((Reachability::NotAsked, None));
        let identifier = spec
            .database
            .clusters
            .get(region)
            .map(|c| c.identifier.as_str())
            .unwrap_or("");
        let membership = membership(global, region, identifier, reachable, cluster.is_some());
        regions.insert(
            region.clone(),
            RegionView {
                region: region.clone(),
                reachable,
                cluster,
                membership,
                instances: None,
                snapshots: None,
            },
        );
    }
    regions
}

/// Instances and snapshots for the steps in progress: per group, not shared.
async fn read_extras(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    req: &ObserveRequest,
    regions: &mut BTreeMap<String, RegionView>,
) {
    for region in &req.instances_in {
        let Some(view) = regions.get_mut(region) else {
            continue;
        };
        let Some(cluster) = view.cluster.as_ref().map(|c| c.identifier.clone()) else {
            view.instances = Some(Vec::new());
            continue;
        };
        if let Ok(instances) = cloud.aurora.describe_instances(region, &cluster).await {
            view.instances = Some(instances);
        }
    }
    for region in &req.snapshots_in {
        let Some(view) = regions.get_mut(region) else {
            continue;
        };
        let Some(template) = spec.database.clusters.get(region) else {
            continue;
        };
        let query = SnapshotQuery {
            cluster_identifier: Some(template.identifier.clone()),
            snapshot_identifier: None,
            snapshot_type: None,
        };
        if let Ok(snapshots) = cloud
            .aurora
            .describe_cluster_snapshots(region, &query)
            .await
        {
            view.snapshots = Some(snapshots);
        }
    }
}

/// Lag, seen from the writer, of the other region's secondary.
async fn read_lag(
    reads: &FleetReads,
    spec: &FailoverGroupSpec,
    regions: &BTreeMap<String, RegionView>,
    fresh: Freshness,
) -> Option<f64> {
    let writer = regions
        .values()
        .find(|r| r.membership == Membership::Writer && r.reachable.answered())?;
    let primary = spec.database.clusters.get(&writer.region)?;
    let secondary = spec.other_region(&writer.region)?;
    let query = LagQuery {
        primary_cluster_id: primary.identifier.clone(),
        secondary_region: secondary.to_string(),
    };
    reads.lag(&writer.region, query, fresh).await.ok().flatten()
}

async fn describe_global(
    reads: &FleetReads,
    spec: &FailoverGroupSpec,
    ask_order: &[String],
    fresh: Freshness,
) -> Seen<Option<GlobalCluster>> {
    let mut last: Option<CloudError> = None;
    for region in ask_order {
        match reads
            .global_cluster(region, &spec.database.global_cluster_identifier, fresh)
            .await
        {
            Ok(global) => return Seen::Known(global),
            Err(e) if e.is_retryable() => last = Some(e),
            Err(e) => return Seen::Unreachable(e.to_string()),
        }
    }
    Seen::Unreachable(
        last.map(|e| e.to_string())
            .unwrap_or_else(|| "no region to ask".to_string()),
    )
}

fn membership(
    global: Option<&GlobalCluster>,
    region: &str,
    identifier: &str,
    reachable: Reachability,
    exists: bool,
) -> Membership {
    if let Some(global) = global {
        let member = global.members.iter().find(|m| {
            region_of_arn(&m.cluster_arn) == Some(region)
                && m.cluster_arn.rsplit(':').next() == Some(identifier)
        });
        if let Some(member) = member {
            return if member.is_writer {
                Membership::Writer
            } else {
                Membership::Secondary {
                    synced: !member.is_resyncing(),
                }
            };
        }
    }
    match (reachable, exists) {
        (Reachability::Answered, true) => Membership::Detached,
        (Reachability::Answered, false) => Membership::Missing,
        _ => Membership::Unknown,
    }
}

async fn describe_services(
    reads: &FleetReads,
    spec: &FailoverGroupSpec,
    fresh: Freshness,
) -> Vec<ServiceView> {
    // Shared per (region, ECS cluster): the fleet's services there, ten to a call.
    let calls = spec.compute.services.iter().flat_map(|svc| {
        svc.regions
            .iter()
            .map(move |(region, reference)| async move {
                let ecs = match reads
                    .service(region, &reference.cluster, &reference.service, fresh)
                    .await
                {
                    Ok(found) => Seen::Known(found),
                    Err(e) => Seen::Unreachable(e.to_string()),
                };
                ServiceView {
                    name: svc.name.clone(),
                    region: region.clone(),
                    ecs,
                    scalable: None,
                }
            })
    });
    join_all(calls.collect()).await
}

async fn describe_scalable(
    reads: &FleetReads,
    spec: &FailoverGroupSpec,
    fresh: Freshness,
) -> ScalableBySvc {
    let calls = spec.compute.services.iter().flat_map(|svc| {
        svc.regions.iter().map(move |(region, r)| async move {
            let id = ecs_resource_id(&r.cluster, &r.service);
            let seen = match reads.scalable_target(region, &id, fresh).await {
                Ok(target) => Seen::Known(target),
                Err(e) => Seen::Unreachable(e.to_string()),
            };
            ((svc.name.clone(), region.clone()), seen)
        })
    });
    join_all(calls.collect()).await.into_iter().collect()
}

/// Run futures concurrently and return their outputs in order (a small `join_all`, to keep
/// the `futures` crate out of the tree). Futures run on the current task: no spawning, so
/// borrowed data is fine and simulated runs stay deterministic.
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (fut, out) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
