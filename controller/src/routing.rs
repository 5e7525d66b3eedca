//! `spec.dns.routing: routingControl` (docs/design-contract.md §7.2): observing ARC.
//!
//! The routing controls' states are read on ARC's data plane (GetRoutingControlState), at
//! the cluster's regional endpoints in turn: that is what an outage of us-east-1 leaves
//! standing. What only control planes can tell (the endpoints, from DescribeCluster in
//! us-west-2; the failover records and their health checks, from Route 53 in us-east-1) is
//! read outside operations, kept in `status.observed.routingControl`, and re-checked every
//! `ROUTING_SETUP_RECHECK`: never on the recovery path.

mod health_check;

pub use health_check::{
    live_record, observe_health_checks, serving_region, summarize_health_check, LiveRecord,
    ServingRegion,
};

use std::collections::{BTreeMap, BTreeSet};

use drctl_cloud::{Cloud, CloudError, ClusterEndpoint, FailoverRole, RoutingControlState};
use drctl_schema::{
    ArcEndpoint, FailoverGroupSpec, FailoverGroupStatus, RoutingControlObserved,
    RoutingControlSpec, Timestamp,
};

use crate::observed::{record_points_at, RoutingSetupCheck, RoutingView, Seen};
use crate::planner::deadlines::{elapsed_between, ROUTING_SETUP_RECHECK, ROUTING_SETUP_RETRY};

/// What a group's observation remembers of ARC between passes (in memory).
#[derive(Debug, Clone, Default)]
pub struct RoutingCache {
    /// When the control-plane check was last attempted (millis).
    attempted_at: Option<i64>,
    /// Endpoints that failed in the last pass: tried last in the next one.
    failed: BTreeSet<String>,
}

/// The routing controls of a routingControl group: None for the other modes.
pub fn routing_control(spec: &FailoverGroupSpec) -> Option<&RoutingControlSpec> {
    spec.dns.routing_control()
}

/// The endpoints kept in the status, in our types.
fn cached_endpoints(cached: Option<&RoutingControlObserved>) -> Vec<ClusterEndpoint> {
    cached
        .map(|c| {
            c.endpoints
                .iter()
                .map(|e| ClusterEndpoint {
                    region: e.region.clone(),
                    endpoint: e.endpoint.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Is the control-plane check due? Only outside operations, unless nothing is known at all
/// (then there is no other way to find an endpoint).
fn check_due(
    status: &FailoverGroupStatus,
    cached: Option<&RoutingControlObserved>,
    cache: &RoutingCache,
    now: Timestamp,
) -> bool {
    let known = cached.is_some_and(|c| !c.endpoints.is_empty());
    if status.operation.is_some() && known {
        return false;
    }
    if cache
        .attempted_at
        .is_some_and(|t| elapsed_between(t, now.millis()) < ROUTING_SETUP_RETRY)
    {
        return false;
    }
    let stale = |t: Option<Timestamp>| {
        t.is_none_or(|t| elapsed_between(t.millis(), now.millis()) >= ROUTING_SETUP_RECHECK)
    };
    !known || cached.is_none_or(|c| stale(c.endpoints_read_at) || stale(c.setup_checked_at))
}

/// Read the routing controls (and, when due, the setup on the control planes).
pub async fn observe_routing(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    status: &FailoverGroupStatus,
    dark_regions: &[String],
    cache: &mut RoutingCache,
) -> Option<RoutingView> {
    let rc = routing_control(spec)?;
    let now = cloud.clock.now();
    let cached = status
        .observed
        .as_ref()
        .and_then(|o| o.routing_control.as_ref());
    let refreshed = if check_due(status, cached, cache, now) {
        cache.attempted_at = Some(now.millis());
        Some(check_setup(cloud, spec, rc, now).await)
    } else {
        None
    };
    let mut endpoints = refreshed
        .as_ref()
        .and_then(|r| r.endpoints.clone())
        .unwrap_or_else(|| cached_endpoints(cached));
    // Known-dark endpoints last: each costs a connect timeout before the next is tried.
    endpoints
        .sort_by_key(|e| cache.failed.contains(&e.endpoint) || dark_regions.contains(&e.region));
    let (states, answered, failed) = read_states(cloud, spec, rc, &endpoints).await;
    cache.failed = failed;
    if let Some(first) = answered {
        endpoints.sort_by_key(|e| e.endpoint != first);
    }
    let setup_problems = refreshed
        .as_ref()
        .and_then(|r| r.problems.clone())
        .or_else(|| {
            cached
                .filter(|c| c.setup_checked_at.is_some())
                .map(|c| c.setup_problems.clone())
        });
    Some(RoutingView {
        states,
        endpoints,
        refreshed,
        setup_problems,
    })
}

/// Each region's control state, every control asked at the first endpoint that answers (an
/// endpoint that fails is skipped for the rest of the pass). Returns the states, the
/// endpoint that answered and the endpoints that failed.
async fn read_states(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    rc: &RoutingControlSpec,
    endpoints: &[ClusterEndpoint],
) -> (
    Seen<BTreeMap<String, RoutingControlState>>,
    Option<String>,
    BTreeSet<String>,
) {
    let mut failed = BTreeSet::new();
    let mut answered = None;
    let mut states = BTreeMap::new();
    if endpoints.is_empty() {
        let why = "no endpoint of the ARC cluster is known yet (DescribeCluster has not answered)";
        return (Seen::Unreachable(why.to_string()), None, failed);
    }
    for region in &spec.regions {
        let Some(arn) = rc.controls.get(region) else {
            continue;
        };
        let mut last: Option<CloudError> = None;
        for endpoint in endpoints {
            if failed.contains(&endpoint.endpoint) {
                continue;
            }
            match cloud.routing.get_routing_control_state(endpoint, arn).await {
                Ok(state) => {
                    states.insert(region.clone(), state);
                    answered.get_or_insert_with(|| endpoint.endpoint.clone());
                    last = None;
                    break;
                }
                Err(e) if e.is_retryable() => {
                    failed.insert(endpoint.endpoint.clone());
                    last = Some(e);
                }
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = last {
            return (Seen::Unreachable(e.to_string()), answered, failed);
        }
        if !states.contains_key(region) {
            let why = "every endpoint of the ARC cluster failed";
            return (Seen::Unreachable(why.to_string()), answered, failed);
        }
    }
    (Seen::Known(states), answered, failed)
}

/// The control-plane check: DescribeCluster's endpoints, and whether the failover records
/// exist, point at the spec's targets and carry RECOVERY_CONTROL health checks on the
/// spec's controls. A part whose control plane does not answer is None.
async fn check_setup(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    rc: &RoutingControlSpec,
    now: Timestamp,
) -> RoutingSetupCheck {
    let endpoints = cloud
        .recovery_config
        .describe_cluster(&rc.cluster_arn)
        .await
        .ok()
        .filter(|e| !e.is_empty());
    RoutingSetupCheck {
        at: now,
        endpoints,
        problems: setup_problems(cloud, spec, rc).await,
    }
}

async fn setup_problems(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    rc: &RoutingControlSpec,
) -> Option<Vec<String>> {
    let dns = &spec.dns;
    let records = cloud
        .dns
        .list_failover_records(
            &dns.hosted_zone_id,
            &dns.record_name,
            dns.record_type.as_str(),
        )
        .await
        .ok()?;
    let mut problems = Vec::new();
    for role in [FailoverRole::Primary, FailoverRole::Secondary] {
        if !records.iter().any(|r| r.role == role) {
            problems.push(format!(
                "{} has no {} failover record",
                dns.record_name,
                role.as_str()
            ));
        }
    }
    for region in &spec.regions {
        let (Some(target), Some(control)) = (dns.targets.get(region), rc.controls.get(region))
        else {
            continue;
        };
        let Some(record) = records
            .iter()
            .find(|r| record_points_at(&r.record, dns.record_type, target))
        else {
            problems.push(format!(
                "no failover record of {} points at spec.dns.targets.{region}",
                dns.record_name
            ));
            continue;
        };
        let Some(check_id) = &record.health_check_id else {
            problems.push(format!(
                "the {} failover record for {region} carries no health check",
                record.role.as_str()
            ));
            continue;
        };
        match cloud.dns.get_health_check(check_id).await.ok()? {
            None => problems.push(format!("health check {check_id} ({region}) does not exist")),
            Some(info)
                if info.check_type != drctl_cloud::RECOVERY_CONTROL_CHECK_TYPE
                    || info.routing_control_arn.as_deref() != Some(control.as_str()) =>
            {
                problems.push(format!(
                    "health check {check_id} of the {region} record is {} on {}, not RECOVERY_CONTROL on spec.dns.routingControl.controls.{region}",
                    info.check_type,
                    info.routing_control_arn.as_deref().unwrap_or("no routing control")
                ))
            }
            Some(_) => {}
        }
    }
    Some(problems)
}

/// `status.observed.routingControl` after this pass: what it read, the rest carried over.
pub fn summarize_routing(
    view: Option<&RoutingView>,
    previous: Option<&RoutingControlObserved>,
) -> Option<RoutingControlObserved> {
    let view = view?;
    let mut out = previous.cloned().unwrap_or_default();
    if let Some(check) = &view.refreshed {
        if let Some(endpoints) = &check.endpoints {
            out.endpoints = endpoints
                .iter()
                .map(|e| ArcEndpoint {
                    region: e.region.clone(),
                    endpoint: e.endpoint.clone(),
                })
                .collect();
            out.endpoints_read_at = Some(check.at);
        }
        if let Some(problems) = &check.problems {
            out.setup_problems = problems.clone();
            out.setup_checked_at = Some(check.at);
        }
    }
    if let Seen::Known(states) = &view.states {
        out.states = states
            .iter()
            .map(|(r, s)| (r.clone(), s.as_str().to_string()))
            .collect();
    }
    Some(out)
}
