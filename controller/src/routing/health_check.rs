//! `spec.dns.routing: healthCheck` (docs/design-contract.md §7.2, the seeds' pattern):
//! observing which failover record Route 53 answers with.
//!
//! Route 53 moves the traffic itself: PRIMARY while its health check is healthy, else
//! SECONDARY while that one is. drctl reads the pair (ListResourceRecordSets) and each record's
//! health-check status (GetHealthCheckStatus: more than 18% of the checkers healthy) while the
//! Route 53 control plane answers. It does not answer during a us-east-1 outage, although the
//! checkers and DNS go on: then the last known answer is shown, marked stale.

use std::collections::BTreeMap;

use drctl_cloud::{route53_considers_healthy, Cloud, CloudError, FailoverRecord, FailoverRole};
use drctl_schema::{
    DnsRouting, FailoverGroupSpec, FailoverGroupStatus, HealthCheckObserved, Timestamp,
};

use crate::observed::{record_points_at, HealthCheckView, ObservedWorld};

/// The failover record Route 53 was last seen answering with.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRecord {
    /// The region of spec.dns.targets the record points at.
    pub region: String,
    /// When GetHealthCheckStatus said so.
    pub observed_at: Timestamp,
    /// This pass could not read the health checks: `region` is the last known answer, and
    /// Route 53 may have moved the traffic since without drctl seeing it.
    pub stale: bool,
}

/// Which failover record is live, as far as this pass knows (None: never read, or none of
/// the spec's targets).
pub fn live_record(world: &ObservedWorld) -> Option<LiveRecord> {
    let view = world.health_checks.as_ref()?;
    Some(LiveRecord {
        region: view.live.clone()?,
        observed_at: view.checked_at,
        stale: view.stale.is_some(),
    })
}

/// Which region a healthCheck group's steady state sizes as active.
#[derive(Debug, Clone, PartialEq)]
pub enum ServingRegion {
    /// A fresh reading (or, when none of the targets answers, spec.dnsOwner): that region
    /// gets the active capacity, the others standby.
    Known(String),
    /// The reading is stale (the Route 53 control plane, in us-east-1, does not answer, but
    /// its checkers and DNS go on): the region last seen serving keeps the active capacity
    /// and no other region is resized, since Route 53 may have moved traffic there unseen.
    /// None: nothing was ever read, so no region is resized at all.
    Held(Option<LiveRecord>),
}

impl ServingRegion {
    /// May steady state resize `region` to `active` (true) or standby (false)? None: leave
    /// it as it is.
    pub fn sizes(&self, region: &str) -> Option<bool> {
        match self {
            ServingRegion::Known(active) => Some(active == region),
            ServingRegion::Held(Some(last)) if last.region == region => Some(true),
            ServingRegion::Held(_) => None,
        }
    }
}

/// Where a healthCheck group's traffic goes for steady-state compute. Never spec.dnsOwner
/// on a stale reading: during a us-east-1 outage that could scale down the region Route 53
/// is serving.
pub fn serving_region(world: &ObservedWorld, dns_owner: &str) -> ServingRegion {
    match world.health_checks.as_ref() {
        Some(view) if view.stale.is_some() => ServingRegion::Held(live_record(world)),
        Some(view) => {
            ServingRegion::Known(view.live.clone().unwrap_or_else(|| dns_owner.to_string()))
        }
        None => ServingRegion::Held(None),
    }
}

/// Read a healthCheck group's failover records and their health checks (None: another mode).
pub async fn observe_health_checks(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    status: &FailoverGroupStatus,
) -> Option<HealthCheckView> {
    if spec.dns.routing != DnsRouting::HealthCheck {
        return None;
    }
    let now = cloud.clock.now();
    match read(cloud, spec).await {
        Ok((live, healthy, setup_problems)) => Some(HealthCheckView {
            live,
            healthy,
            checked_at: now,
            stale: None,
            setup_problems,
        }),
        Err(e) => {
            let cached = status
                .observed
                .as_ref()
                .and_then(|o| o.health_check.as_ref());
            Some(HealthCheckView {
                live: cached.and_then(|c| c.live.clone()),
                healthy: cached.map(|c| c.healthy.clone()).unwrap_or_default(),
                checked_at: cached.and_then(|c| c.checked_at).unwrap_or(now),
                stale: Some(format!("Route 53 control plane unavailable: {e}")),
                setup_problems: Vec::new(),
            })
        }
    }
}

type Reading = (Option<String>, BTreeMap<String, bool>, Vec<String>);

/// The region of the spec's targets a failover record points at.
fn region_of(spec: &FailoverGroupSpec, record: &FailoverRecord) -> Option<String> {
    spec.dns
        .targets
        .iter()
        .find(|(_, target)| record_points_at(&record.record, spec.dns.record_type, target))
        .map(|(region, _)| region.clone())
}

async fn read(cloud: &Cloud, spec: &FailoverGroupSpec) -> Result<Reading, CloudError> {
    let dns = &spec.dns;
    let records = cloud
        .dns
        .list_failover_records(
            &dns.hosted_zone_id,
            &dns.record_name,
            dns.record_type.as_str(),
        )
        .await?;
    let mut problems = Vec::new();
    let mut healthy = BTreeMap::new();
    let (mut primary, mut secondary) = (None, None);
    for role in [FailoverRole::Primary, FailoverRole::Secondary] {
        let Some(record) = records.iter().find(|r| r.role == role) else {
            problems.push(format!(
                "{} has no {} failover record",
                dns.record_name,
                role.as_str()
            ));
            continue;
        };
        let Some(region) = region_of(spec, record) else {
            problems.push(format!(
                "the {} failover record of {} points at none of spec.dns.targets",
                role.as_str(),
                dns.record_name
            ));
            continue;
        };
        // A record without a health check is always healthy to Route 53.
        let ok = match &record.health_check_id {
            Some(id) => route53_considers_healthy(&cloud.dns.get_health_check_status(id).await?),
            None => {
                problems.push(format!(
                    "the {} failover record ({region}) carries no health check: Route 53 never fails it over",
                    role.as_str()
                ));
                true
            }
        };
        healthy.insert(region.clone(), ok);
        match role {
            FailoverRole::Primary => primary = Some((region, ok)),
            FailoverRole::Secondary => secondary = Some((region, ok)),
        }
    }
    let live = match (&primary, &secondary) {
        (Some((region, true)), _) => Some(region.clone()),
        (_, Some((region, true))) => Some(region.clone()),
        // Both unhealthy: Route 53 answers as if both were healthy, with PRIMARY.
        (Some((region, false)), _) => Some(region.clone()),
        (None, Some((region, false))) => Some(region.clone()),
        (None, None) => None,
    };
    Ok((live, healthy, problems))
}

/// `status.observed.healthCheck` after this pass: a fresh reading, or the last one kept.
pub fn summarize_health_check(
    view: Option<&HealthCheckView>,
    previous: Option<&HealthCheckObserved>,
) -> Option<HealthCheckObserved> {
    let view = view?;
    if view.stale.is_some() {
        return previous.cloned();
    }
    Some(HealthCheckObserved {
        live: view.live.clone(),
        healthy: view.healthy.clone(),
        checked_at: Some(view.checked_at),
        setup_problems: view.setup_problems.clone(),
    })
}
