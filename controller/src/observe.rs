//! Observation: read the cloud through the ports into an `ObservedWorld`.
//!
//! Batched as DESIGN.md §3 asks: one DescribeGlobalClusters, DescribeDBClusters per region,
//! one ListResourceRecordSets for the record, DescribeServices per ECS cluster. A *light* pass
//! (used while a group is converged) reads only the global cluster, the record and the ECS
//! services (4 calls for two regions) and reuses the cached cluster descriptions, scalable
//! targets and lag; anything that looks off triggers a full pass before acting.

use std::collections::BTreeMap;

use drctl_cloud::{
    ecs_resource_id, region_of_arn, Cloud, CloudError, DbCluster, GlobalCluster, SnapshotQuery,
};
use drctl_schema::{FailoverGroupSpec, FailoverGroupStatus, Phase, StepName};

use crate::planner::steps::note;
use crate::world::{
    DnsChangeStatus, Membership, ObservedWorld, RegionView, Seen, ServiceView, NO_SUCH_CHANGE,
};

/// What one observation must read beyond the light set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObserveRequest {
    pub full: bool,
    pub instances_in: Vec<String>,
    pub snapshots_in: Vec<String>,
    pub dns_change: Option<String>,
    pub health_url: Option<String>,
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
    } else {
        // A new operation may start in this pass: have what its first steps read.
        let writer_moves = status
            .observed
            .as_ref()
            .and_then(|o| o.writer.as_deref())
            .map(|w| w != spec.writer)
            .unwrap_or(false);
        if writer_moves {
            req.snapshots_in.push(spec.writer.clone());
            req.instances_in.push(spec.writer.clone());
        }
    }
    req
}

/// (min, max) of each service's scalable target, by (service name, region).
type ScalableBySvc = BTreeMap<(String, String), Seen<Option<(u32, u32)>>>;

/// Descriptions kept between passes of one group.
#[derive(Debug, Clone, Default)]
pub struct ObserveCache {
    regions: BTreeMap<String, (Option<bool>, Option<DbCluster>)>,
    scalable: ScalableBySvc,
    lag: Option<f64>,
    pub light_passes: u32,
    full_seen: bool,
    /// Regions that did not answer, with when they were last asked. A dark region is left
    /// out of the passes and asked again only every `DEAD_REGION_PROBE_MS`, by a probe that
    /// runs beside the passes: its timeouts never hold a pass, so they never sit on the
    /// recovery path (measured: gap to the critical path 8.4 s -> see docs/benchmarks.md).
    dead: BTreeMap<String, i64>,
    /// Background probes of dark regions: in flight, and their answers (region -> answered).
    probing: std::collections::BTreeSet<String>,
    probe_answers: std::sync::Arc<std::sync::Mutex<BTreeMap<String, bool>>>,
}

/// How often a region that did not answer is asked again.
pub const DEAD_REGION_PROBE_MS: i64 = 30_000;

impl ObserveCache {
    fn has_full(&self) -> bool {
        self.full_seen
    }
}

/// Take in the answers of finished probes and start one for each dark region whose interval
/// is up. A region that answered is read in full by this pass again.
fn probe_dark_regions(cloud: &Cloud, spec: &FailoverGroupSpec, cache: &mut ObserveCache, now: i64) {
    let answers = std::mem::take(
        &mut *cache
            .probe_answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for (region, answered) in answers {
        cache.probing.remove(&region);
        if answered {
            cache.dead.remove(&region);
        } else {
            cache.dead.insert(region, now);
        }
    }
    let due: Vec<String> = cache
        .dead
        .iter()
        .filter(|(region, asked)| {
            now - **asked >= DEAD_REGION_PROBE_MS && !cache.probing.contains(*region)
        })
        .map(|(region, _)| region.clone())
        .collect();
    for region in due {
        let Some(template) = spec.database.clusters.get(&region) else {
            continue;
        };
        cache.probing.insert(region.clone());
        let (cloud, id, answers) = (
            cloud.clone(),
            template.identifier.clone(),
            cache.probe_answers.clone(),
        );
        tokio::spawn(async move {
            let result = cloud
                .aurora
                .describe_clusters(&region, std::slice::from_ref(&id))
                .await;
            // A non-retryable answer (say, access denied) still proves the region is up.
            let answered = !matches!(&result, Err(e) if e.is_retryable());
            answers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(region, answered);
        });
    }
}

/// Read the world.
pub async fn observe(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    status: &FailoverGroupStatus,
    req: &ObserveRequest,
    cache: &mut ObserveCache,
) -> ObservedWorld {
    let at = cloud.clock.now();
    probe_dark_regions(cloud, spec, cache, at.millis());
    // A dark region stays out of the pass until a probe has seen it answer.
    let skip: Vec<String> = cache.dead.keys().cloned().collect();
    // Ask the region we believe is the writer first (it is the one most likely up), and a
    // region known dark last.
    let mut ask_order: Vec<String> = Vec::new();
    if let Some(w) = status.observed.as_ref().and_then(|o| o.writer.clone()) {
        ask_order.push(w);
    }
    for r in &spec.regions {
        if !ask_order.contains(r) {
            ask_order.push(r.clone());
        }
    }
    ask_order.sort_by_key(|r| cache.dead.contains_key(r));

    let global_fut = describe_global(cloud, spec, &ask_order);
    let record_fut = async {
        match cloud
            .dns
            .get_record(
                &spec.dns.hosted_zone_id,
                &crate::world::fqdn(&spec.dns.record_name),
                spec.dns.record_type.as_str(),
            )
            .await
        {
            Ok(record) => Seen::Known(record),
            Err(e) => Seen::Unreachable(e.to_string()),
        }
    };
    let services_fut = describe_services(cloud, spec, &skip);
    let clusters_fut = async {
        if !req.full {
            return None;
        }
        let mut calls = Vec::new();
        for region in &spec.regions {
            let Some(template) = spec.database.clusters.get(region) else {
                continue;
            };
            if skip.contains(region) {
                continue;
            }
            let (cloud, region, id) = (cloud.clone(), region.clone(), template.identifier.clone());
            calls.push(async move {
                let result = cloud
                    .aurora
                    .describe_clusters(&region, std::slice::from_ref(&id))
                    .await;
                let entry = match result {
                    Ok(mut clusters) => (Some(true), clusters.pop()),
                    Err(e) if e.is_retryable() => (Some(false), None),
                    // A non-retryable answer still proves the region is up.
                    Err(_) => (Some(true), None),
                };
                (region, entry)
            });
        }
        let mut out: BTreeMap<String, (Option<bool>, Option<DbCluster>)> =
            join_all(calls).await.into_iter().collect();
        for region in &skip {
            out.insert(region.clone(), (Some(false), None));
        }
        Some(out)
    };
    let scalable_fut = async {
        if !req.full {
            return None;
        }
        Some(describe_scalable(cloud, spec, &skip).await)
    };
    let change_fut = async {
        match &req.dns_change {
            Some(id) => Some(match cloud.dns.get_change(id).await {
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
    let (global, record, services, clusters, scalable, dns_change_in_sync, health) = tokio::join!(
        global_fut,
        record_fut,
        services_fut,
        clusters_fut,
        scalable_fut,
        change_fut,
        health_fut
    );

    // Remember which regions did not answer (only those actually asked this time).
    let mut asked_dark: BTreeMap<String, bool> = BTreeMap::new();
    if let Some(clusters) = &clusters {
        for (region, (reachable, _)) in clusters {
            if !skip.contains(region) {
                asked_dark.insert(region.clone(), *reachable == Some(false));
            }
        }
    }
    for view in &services {
        if skip.contains(&view.region) {
            continue;
        }
        let dark = matches!(&view.ecs, Seen::Unreachable(_));
        let entry = asked_dark.entry(view.region.clone()).or_insert(dark);
        *entry = *entry || dark;
    }
    for (region, dark) in asked_dark {
        if dark {
            cache.dead.insert(region, at.millis());
        } else {
            cache.dead.remove(&region);
        }
    }

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

    let mut regions = BTreeMap::new();
    for region in &spec.regions {
        let (reachable, cluster) = cache.regions.get(region).cloned().unwrap_or((None, None));
        let identifier = spec
            .database
            .clusters
            .get(region)
            .map(|c| c.identifier.as_str())
            .unwrap_or("");
        let membership = membership(
            global.known().and_then(|g| g.as_ref()),
            region,
            identifier,
            reachable,
            cluster.is_some(),
        );
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

    // Extras for the steps in progress, only in regions that answer.
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

    // Lag, seen from the writer, of the other region's secondary.
    if req.full {
        let writer = regions
            .values()
            .find(|r| r.membership == Membership::Writer)
            .map(|r| r.region.clone());
        cache.lag = match writer {
            Some(writer) if regions.get(&writer).and_then(|r| r.reachable) == Some(true) => {
                let primary = spec
                    .database
                    .clusters
                    .get(&writer)
                    .map(|c| c.identifier.clone())
                    .unwrap_or_default();
                match spec.other_region(&writer) {
                    Some(secondary) => cloud
                        .lag
                        .replication_lag(&writer, &primary, secondary)
                        .await
                        .ok()
                        .flatten(),
                    None => None,
                }
            }
            _ => None,
        };
    }

    let services = services
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
        .collect();

    ObservedWorld {
        at,
        global,
        regions,
        record,
        dns_change: dns_change_in_sync,
        services,
        lag_seconds: cache.lag,
        health,
        full: req.full,
    }
}

async fn describe_global(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    ask_order: &[String],
) -> Seen<Option<GlobalCluster>> {
    let mut last: Option<CloudError> = None;
    for region in ask_order {
        match cloud
            .aurora
            .describe_global_cluster(region, &spec.database.global_cluster_identifier)
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
    reachable: Option<bool>,
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
                    synced: member.synchronization_status.as_deref() != Some("pending-resync"),
                }
            };
        }
    }
    match (reachable, exists) {
        (Some(true), true) => Membership::Detached,
        (Some(true), false) => Membership::Missing,
        _ => Membership::Unknown,
    }
}

async fn describe_services(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    skip: &[String],
) -> Vec<ServiceView> {
    // One DescribeServices per (region, ECS cluster), covering every service there.
    let mut batches: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for svc in &spec.compute.services {
        for (region, reference) in &svc.regions {
            batches
                .entry((region.clone(), reference.cluster.clone()))
                .or_default()
                .push((svc.name.clone(), reference.service.clone()));
        }
    }
    let calls = batches.into_iter().map(|((region, cluster), members)| {
        let cloud = cloud.clone();
        let dark = skip.contains(&region);
        async move {
            let names: Vec<String> = members.iter().map(|(_, s)| s.clone()).collect();
            let result = if dark {
                Err(format!(
                    "{region} did not answer recently; not asked again yet"
                ))
            } else {
                cloud
                    .ecs
                    .describe_services(&region, &cluster, &names)
                    .await
                    .map_err(|e| e.to_string())
            };
            (region, members, result)
        }
    });
    let mut views = Vec::new();
    for (region, members, result) in join_all(calls.collect()).await {
        for (name, service) in members {
            let ecs = match &result {
                Ok(found) => Seen::Known(found.iter().find(|s| s.service == service).cloned()),
                Err(e) => Seen::Unreachable(e.clone()),
            };
            views.push(ServiceView {
                name,
                region: region.clone(),
                ecs,
                scalable: None,
            });
        }
    }
    views
}

async fn describe_scalable(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    skip: &[String],
) -> ScalableBySvc {
    let mut out = BTreeMap::new();
    for region in &spec.regions {
        if skip.contains(region) {
            for svc in &spec.compute.services {
                if svc.regions.contains_key(region) {
                    out.insert(
                        (svc.name.clone(), region.clone()),
                        Seen::Unreachable(format!("{region} did not answer recently")),
                    );
                }
            }
            continue;
        }
        let wanted: Vec<(String, String)> = spec
            .compute
            .services
            .iter()
            .filter_map(|svc| {
                svc.regions
                    .get(region)
                    .map(|r| (svc.name.clone(), ecs_resource_id(&r.cluster, &r.service)))
            })
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let ids: Vec<String> = wanted.iter().map(|(_, id)| id.clone()).collect();
        let result = cloud
            .autoscaling
            .describe_scalable_targets(region, &ids)
            .await;
        for (name, id) in wanted {
            let seen = match &result {
                Ok(targets) => Seen::Known(
                    targets
                        .iter()
                        .find(|t| t.resource_id == id)
                        .map(|t| (t.min, t.max)),
                ),
                Err(e) => Seen::Unreachable(e.to_string()),
            };
            out.insert((name, region.clone()), seen);
        }
    }
    out
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
