//! The app-tier failover (docs/design-contract.md §7.2): `spec.dnsOwner` names another
//! region than the one DNS serves while the writer is where the spec wants it. Traffic and
//! active compute move to the DNS owner's region; the database is not touched (no
//! Switchover, no Failover, no rebuild): the app there writes through Aurora's global writer
//! endpoint (or write forwarding) to the writer it leaves where it is. RPO 0, no rebuild.
//!
//! Its steps are the contract's, in the switchover's order without the database ones:
//! Preflight, ScaleUpTarget, WaitComputeReady, MoveDns, WaitDnsInSync, Verify,
//! ScaleDownSource. Moving back (dnsOwner = writer again) is the same operation.

use drctl_schema::{FailoverGroupSpec, Operation, OperationType, StepName};

use super::{StepContext, StepEval};
use crate::observed::{DnsReading, ObservedWorld, Seen};

/// The steps of an app-tier failover, in order.
pub const STEPS: [StepName; 7] = [
    StepName::Preflight,
    StepName::ScaleUpTarget,
    StepName::WaitComputeReady,
    StepName::MoveDns,
    StepName::WaitDnsInSync,
    StepName::Verify,
    StepName::ScaleDownSource,
];

/// Note key: the writer region the app-tier failover was planned around. A spec that moves
/// the writer supersedes it (nothing it does is irreversible).
pub const WRITER_NOTE: &str = "appTierWriter";

/// Is an app-tier failover due? Some(the region DNS serves now) when the writer is settled
/// where the spec wants it, DNS is read and serves one of the spec's regions other than
/// `spec.dnsOwner`. Not for `routing: healthCheck` (Route 53 moves that traffic itself).
pub fn needed(spec: &FailoverGroupSpec, world: &ObservedWorld) -> Option<String> {
    if spec.dns.routing == drctl_schema::DnsRouting::HealthCheck {
        return None;
    }
    if world.writer_region() != Some(spec.writer.as_str()) {
        return None;
    }
    match world.dns_reading(spec) {
        DnsReading::Known(Some(current))
            if current != spec.dns_owner() && spec.regions.contains(&current) =>
        {
            Some(current)
        }
        _ => None,
    }
}

/// Has the spec moved away from what this running operation was planned for? A database
/// operation is planned for `spec.writer`; an app-tier failover for `spec.dnsOwner` with the
/// writer it was planned around.
pub fn spec_moved_away(op: &Operation, spec: &FailoverGroupSpec) -> bool {
    if op.type_ != OperationType::AppTierFailover {
        return op.to != spec.writer;
    }
    op.to != spec.dns_owner()
        || op
            .notes
            .get(WRITER_NOTE)
            .is_some_and(|writer| *writer != spec.writer)
}

/// Refined invariant 4, its database half: traffic may go to `region` only while it can
/// reach a writable database. In the writer's own region that is the writer (as before the
/// refinement: a database operation reaches MoveDns only after WaitWriter saw it available).
/// Across regions the global writer counts while its cluster is observed available, its
/// region answers and no global operation is moving it. Ok: the writer's region; Err: why not.
pub fn writable_database(world: &ObservedWorld, region: &str) -> Result<String, String> {
    let Some(writer) = world.writer_region() else {
        return Err("the Aurora writer is not known".to_string());
    };
    if writer == region {
        return Ok(writer.to_string());
    }
    if let Some(state) = world.failover_in_flight() {
        return Err(format!(
            "an Aurora global operation is in flight ({}): the writer is moving",
            state.status
        ));
    }
    let view = world.region(writer);
    if view.is_some_and(|r| r.reachable.is_unreachable()) {
        return Err(format!("the writer's region {writer} does not answer"));
    }
    match view.and_then(|r| r.cluster.as_ref()) {
        Some(c) if c.status.is_available() => Ok(writer.to_string()),
        Some(c) => Err(format!(
            "the writer {} in {writer} is {}, not available",
            c.identifier, c.status
        )),
        None => Err(format!("the writer's cluster in {writer} was not read")),
    }
}

/// Preflight of an app-tier failover: the writer stays and is writable, the target has a DNS
/// target, and the routing is ready. Nothing of the database is asked of the target region:
/// its app reaches the writer across regions.
pub fn preflight(ctx: &StepContext<'_>) -> StepEval {
    let to = ctx.op.to.as_str();
    match &ctx.world.global {
        Seen::Known(Some(_)) => {}
        Seen::Known(None) => {
            return StepEval::Blocked(format!(
                "global cluster {} not found",
                ctx.spec.database.global_cluster_identifier
            ))
        }
        Seen::Unreachable(e) => {
            return StepEval::Wait(format!("cannot read the global cluster: {e}"))
        }
    }
    let writer = match writable_database(ctx.world, to) {
        Ok(writer) => writer,
        Err(why) => return StepEval::Wait(why),
    };
    if writer != ctx.spec.writer {
        return StepEval::Wait(format!(
            "the writer is {writer}, spec.writer is {}: the database moves first",
            ctx.spec.writer
        ));
    }
    if crate::observed::desired_record(ctx.spec, to).is_none() {
        return StepEval::Blocked(format!("spec.dns.targets.{to} is incomplete"));
    }
    if let Some(not_ready) = super::routing::preflight(ctx) {
        return not_ready;
    }
    let how = if writer == to {
        format!("{to} is the writer's own region")
    } else {
        format!(
            "the writer stays in {writer} (available); {to}'s app reaches it through the global writer endpoint"
        )
    };
    StepEval::Done(format!(
        "app-tier failover {} -> {to}, no database step: {how}",
        ctx.op.from
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_tier_failover_runs_only_contract_steps_and_no_database_step() {
        for step in STEPS {
            assert!(!step.is_destructive(), "{step}");
        }
        for db in [
            StepName::Switchover,
            StepName::Failover,
            StepName::WaitWriter,
            StepName::FenceSource,
            StepName::DeleteStale,
            StepName::RecreateSecondary,
        ] {
            assert!(!STEPS.contains(&db), "{db}");
        }
    }
}
