//! Status bookkeeping: conditions in the Kubernetes shape and the observed summary.

use drctl_schema::{
    condition_type as ct, Condition, ConditionStatus, FailoverGroupSpec, FailoverGroupStatus,
    MemberSummary, ObservedSummary, ServiceSummary, Timestamp,
};

use crate::observed::{DnsReading, Membership, ObservedWorld};

/// A warning condition of drctl's own (not one of docs/design-contract.md §1's types): True while the
/// running operation went past a replication-lag gate (Preflight or WaitReplicaSynced)
/// without a CloudWatch datapoint, relying on SwitchoverGlobalCluster's RPO-0 guarantee and
/// the member's SynchronizationStatus instead. Reason `ProceededWithoutLagDatapoint` (the
/// message names the step and how long no datapoint came); `LagGateApplied` once no running
/// operation did. Absent until it is first True.
pub const REPLICATION_LAG_UNKNOWN: &str = "ReplicationLagUnknown";

/// Whether the condition `type_` is present and True.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == ConditionStatus::True)
}

/// Set a condition; `lastTransitionTime` changes only when the status value changes.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            if existing.status != status {
                existing.last_transition_time = now;
            }
            existing.status = status;
            existing.reason = reason.to_string();
            existing.message = message.to_string();
        }
        None => conditions.push(Condition {
            type_: type_.to_string(),
            status,
            reason: reason.to_string(),
            message: message.to_string(),
            last_transition_time: now,
        }),
    }
    // A stable order keeps `get -o yaml` diffs quiet.
    let order = [
        ct::READY,
        ct::DATABASE_READY,
        ct::DNS_READY,
        ct::COMPUTE_READY,
        ct::WRITER_DRIFT,
        ct::APPROVAL_REQUIRED,
        REPLICATION_LAG_UNKNOWN,
        ct::DEPENDENCIES_READY,
    ];
    conditions.sort_by_key(|c| {
        order
            .iter()
            .position(|o| *o == c.type_)
            .unwrap_or(order.len())
    });
}

/// What the world looks like, for `status.observed`. Values not read in a light pass are
/// carried over from the previous status.
pub fn summarize(
    spec: &FailoverGroupSpec,
    world: &ObservedWorld,
    previous: &FailoverGroupStatus,
) -> ObservedSummary {
    let prev = previous.observed.clone().unwrap_or_default();
    let members = spec
        .regions
        .iter()
        .map(|region| {
            let view = world.region(region);
            let membership = view.map(|v| v.membership).unwrap_or(Membership::Unknown);
            MemberSummary {
                region: region.clone(),
                // rdsReplica: the DB instance stands where an Aurora cluster would.
                cluster: spec
                    .database
                    .clusters
                    .get(region)
                    .map(|c| c.identifier.clone())
                    .or_else(|| {
                        spec.database
                            .instances
                            .get(region)
                            .map(|i| i.identifier.clone())
                    })
                    .unwrap_or_default(),
                role: membership.as_str().to_string(),
                status: view
                    .and_then(|v| v.cluster.as_ref())
                    .map(|c| c.status.to_string())
                    .or_else(|| {
                        world
                            .instances
                            .as_ref()
                            .and_then(|p| p.instance(region))
                            .map(|i| i.status.as_str().to_string())
                    }),
                synchronization_status: match membership {
                    Membership::Secondary { synced: true } => Some("connected".to_string()),
                    Membership::Secondary { synced: false } => Some("pending-resync".to_string()),
                    _ => None,
                },
            }
        })
        .collect();
    let services = spec
        .compute
        .services
        .iter()
        .flat_map(|svc| svc.regions.keys().map(move |region| (svc, region)))
        .map(|(svc, region)| {
            let view = world.service(&svc.name, region);
            let ecs = view.and_then(|v| v.ecs.known().cloned().flatten());
            let scalable = view
                .and_then(|v| v.scalable.as_ref())
                .and_then(|s| s.known().cloned().flatten());
            let previous = prev
                .services
                .iter()
                .find(|s| s.name == svc.name && s.region == *region);
            ServiceSummary {
                name: svc.name.clone(),
                region: region.clone(),
                desired: ecs.as_ref().map(|e| e.desired),
                running: ecs.as_ref().map(|e| e.running),
                min: scalable.map(|s| s.0).or(previous.and_then(|p| p.min)),
                max: scalable.map(|s| s.1).or(previous.and_then(|p| p.max)),
            }
        })
        .collect();
    ObservedSummary {
        writer: world.writer_region().map(str::to_string),
        dns_owner: match world.dns_reading(spec) {
            DnsReading::Known(owner) => owner,
            DnsReading::Unreachable(_) => prev.dns_owner.clone(),
        },
        replication_lag_seconds: world.lag_seconds.or(prev.replication_lag_seconds),
        members,
        services,
        routing_control: crate::routing::summarize_routing(
            world.routing.as_ref(),
            prev.routing_control.as_ref(),
        ),
        global_writer_endpoint: world
            .global
            .known()
            .and_then(|g| g.as_ref())
            .and_then(|g| g.writer_endpoint.clone())
            .or(prev.global_writer_endpoint.clone()),
        health_check: crate::routing::summarize_health_check(
            world.health_checks.as_ref(),
            prev.health_check.as_ref(),
        ),
    }
}

/// DatabaseReady, DnsReady, ComputeReady from the observed world against the spec.
pub fn set_readiness(
    status: &mut FailoverGroupStatus,
    spec: &FailoverGroupSpec,
    world: &ObservedWorld,
    now: Timestamp,
) {
    let writer = world.writer_region();
    let (db, db_reason, db_message) = if writer == Some(spec.writer.as_str()) {
        (
            ConditionStatus::True,
            "WriterAsSpecified",
            format!("{} is the writer", spec.writer),
        )
    } else if let Some(w) = writer {
        (
            ConditionStatus::False,
            "WriterElsewhere",
            format!("the writer is {w}, spec.writer is {}", spec.writer),
        )
    } else {
        (
            ConditionStatus::Unknown,
            "WriterUnknown",
            "the writer could not be observed".to_string(),
        )
    };
    set_condition(
        &mut status.conditions,
        ct::DATABASE_READY,
        db,
        db_reason,
        &db_message,
        now,
    );

    let owner = spec.dns_owner();
    let routing_mode = crate::routing::routing_control(spec).is_some();
    let (dns, dns_reason, dns_message) =
        if spec.dns.routing == drctl_schema::DnsRouting::HealthCheck {
            health_check_dns_ready(spec, world)
        } else {
            match world.dns_reading(spec) {
                DnsReading::Known(Some(current)) if current == owner => (
                    ConditionStatus::True,
                    "PointsAtOwner",
                    if routing_mode {
                        format!(
                    "the routing control of {owner} is On, the other Off: {} answers with {owner}",
                    spec.dns.record_name
                )
                    } else {
                        format!("{} points at {owner}", spec.dns.record_name)
                    },
                ),
                DnsReading::Unreachable(e) => (
                    ConditionStatus::Unknown,
                    if routing_mode {
                        "RoutingControlsUnreadable"
                    } else {
                        "Route53Unavailable"
                    },
                    e,
                ),
                DnsReading::Known(current) => (
                    ConditionStatus::False,
                    "PointsElsewhere",
                    format!(
                        "{} points at {}, spec.dnsOwner is {owner}",
                        spec.dns.record_name,
                        current.as_deref().unwrap_or("no spec target")
                    ),
                ),
            }
        };
    set_condition(
        &mut status.conditions,
        ct::DNS_READY,
        dns,
        dns_reason,
        &dns_message,
        now,
    );

    let short = crate::planner::steps::compute_shortfall(spec, world, owner);
    let (compute, reason, message) = if short.is_empty() {
        (
            ConditionStatus::True,
            "ActiveCapacityRunning",
            format!("services in {owner} run their active desired count"),
        )
    } else {
        (ConditionStatus::False, "CapacityShort", short.join("; "))
    };
    set_condition(
        &mut status.conditions,
        ct::COMPUTE_READY,
        compute,
        reason,
        &message,
        now,
    );

    let ready = [ct::DATABASE_READY, ct::DNS_READY, ct::COMPUTE_READY]
        .iter()
        .all(|t| is_true(&status.conditions, t));
    // Provisional; `finish` sets the final Ready from the phase.
    set_condition(
        &mut status.conditions,
        ct::READY,
        if ready {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        "Evaluating",
        "",
        now,
    );
}

/// ReplicationLagUnknown from the running operation's notes (see the constant).
pub fn set_lag_gate_warning(status: &mut FailoverGroupStatus, now: Timestamp) {
    let bypassed = status
        .operation
        .as_ref()
        .and_then(|op| op.notes.get(crate::planner::steps::note::LAG_GATE_BYPASSED))
        .cloned();
    match bypassed {
        Some(detail) => set_condition(
            &mut status.conditions,
            REPLICATION_LAG_UNKNOWN,
            ConditionStatus::True,
            "ProceededWithoutLagDatapoint",
            &detail,
            now,
        ),
        None if status
            .conditions
            .iter()
            .any(|c| c.type_ == REPLICATION_LAG_UNKNOWN) =>
        {
            set_condition(
                &mut status.conditions,
                REPLICATION_LAG_UNKNOWN,
                ConditionStatus::False,
                "LagGateApplied",
                "",
                now,
            )
        }
        None => {}
    }
}

/// DnsReady of a `routing: healthCheck` group: where Route 53 answers, honestly, including
/// when it sends traffic to a region that can reach no writable database (it moves traffic
/// on its health checks, never asking drctl), or when the answer is only the last known one.
fn health_check_dns_ready(
    spec: &FailoverGroupSpec,
    world: &ObservedWorld,
) -> (ConditionStatus, &'static str, String) {
    let owner = spec.dns_owner();
    let record = &spec.dns.record_name;
    match world.dns_reading(spec) {
        DnsReading::Unreachable(e) => {
            let reason = match &world.health_checks {
                Some(view) if !view.setup_problems.is_empty() => "HealthCheckSetupIncomplete",
                Some(view) if view.stale.is_some() => "HealthCheckStatusStale",
                _ => "HealthCheckStatusUnknown",
            };
            (ConditionStatus::Unknown, reason, e)
        }
        DnsReading::Known(Some(live)) => {
            let database = match crate::planner::steps::app_tier::writable_database(world, &live)
            {
                Ok(_) => String::new(),
                Err(why) => format!(
                    "; its app can reach no writable database ({why}): Route 53 moved traffic before the writer did, writes fail until it does"
                ),
            };
            if live == owner {
                (
                    ConditionStatus::True,
                    "PointsAtOwner",
                    format!("Route 53 answers {record} with {owner}'s failover record (its health check is healthy){database}"),
                )
            } else {
                (
                    ConditionStatus::False,
                    "PointsElsewhere",
                    format!(
                        "Route 53 answers {record} with {live}, spec.dnsOwner is {owner}: routing healthCheck moves traffic only when a health check fails{database}"
                    ),
                )
            }
        }
        DnsReading::Known(None) => (
            ConditionStatus::False,
            "PointsElsewhere",
            format!("Route 53 answers {record} with none of spec.dns.targets"),
        ),
    }
}
