//! The DNS steps of `spec.dns.routing: routingControl`: traffic moves by flipping ARC
//! routing controls on the data plane, never by a Route 53 control-plane call.

use drctl_cloud::{RoutingControlState, RoutingControlUpdate};
use drctl_schema::{RoutingControlSpec, StepName};

use super::{StepContext, StepEval};
use crate::observed::{DnsReading, ObservedWorld, RoutingView};
use crate::planner::action::Action;
use crate::planner::deadlines::{elapsed_between, format_elapsed, HEALTH_CHECK_PROPAGATION};

/// The one call that sends traffic to `owner`: its control On and every other Off, in ONE
/// UpdateRoutingControlStates (so the safety rule sees both at once, and at no instant are
/// both Off), to the endpoints in the order observation found them answering. None: no
/// endpoint known.
pub fn routing_action(
    spec: &drctl_schema::FailoverGroupSpec,
    rc: &RoutingControlSpec,
    view: &RoutingView,
    owner: &str,
) -> Option<Action> {
    if view.endpoints.is_empty() {
        return None;
    }
    let updates = spec
        .regions
        .iter()
        .filter_map(|region| {
            rc.controls.get(region).map(|arn| RoutingControlUpdate {
                control_arn: arn.clone(),
                state: if region == owner {
                    RoutingControlState::On
                } else {
                    RoutingControlState::Off
                },
            })
        })
        .collect();
    Some(Action::UpdateRoutingControlStates {
        cluster_arn: rc.cluster_arn.clone(),
        endpoints: view.endpoints.clone(),
        updates,
        region: owner.to_string(),
    })
}

/// Problems the last setup check found, as one line (None: none, or never checked).
pub fn setup_problems(world: &ObservedWorld) -> Option<String> {
    world
        .routing
        .as_ref()
        .and_then(|r| r.setup_problems.as_ref())
        .filter(|p| !p.is_empty())
        .map(|p| p.join("; "))
}

/// MoveDns once the gate of invariant 4 is passed.
pub fn move_traffic(ctx: &StepContext<'_>, rc: &RoutingControlSpec, owner: &str) -> StepEval {
    let Some(view) = ctx.world.routing.as_ref() else {
        return StepEval::Wait("the routing controls were not read".to_string());
    };
    if let DnsReading::Unreachable(e) = ctx.world.dns_reading(ctx.spec) {
        return StepEval::Wait(format!("ARC data plane: {e}"));
    }
    if let Some(problems) = setup_problems(ctx.world) {
        return StepEval::Blocked(format!(
            "the failover records are not set up for routing controls: {problems}"
        ));
    }
    match routing_action(ctx.spec, rc, view, owner) {
        Some(action) => StepEval::Act(
            vec![action],
            format!("turn the routing control of {owner} On and the other Off"),
        ),
        None => StepEval::Wait(
            "no endpoint of the ARC cluster is known yet (DescribeCluster has not answered)"
                .to_string(),
        ),
    }
}

/// WaitDnsInSync: the state reads back changed (MoveDns is done when it does), then Route
/// 53's health checkers need `HEALTH_CHECK_PROPAGATION` to agree and answer with the other
/// record. Counted from when MoveDns saw the new state.
pub fn wait_health_checkers(ctx: &StepContext<'_>) -> StepEval {
    // The operation's own destination, as MoveDns uses (see `dns_destination`).
    let owner = super::dns_destination(ctx);
    match ctx.world.dns_reading(ctx.spec) {
        DnsReading::Unreachable(e) => return StepEval::Wait(format!("ARC data plane: {e}")),
        DnsReading::Known(current) if current.as_deref() != Some(owner) => {
            return StepEval::Reopen(
                StepName::MoveDns,
                format!("the routing control of {owner} no longer reads On alone"),
            )
        }
        DnsReading::Known(_) => {}
    }
    let since = [StepName::MoveDns, StepName::WaitDnsInSync]
        .iter()
        .filter_map(|s| ctx.op.step(*s))
        .find_map(|s| s.finished_at.or(s.started_at))
        .map_or(ctx.now.millis(), |t| t.millis());
    let waited = elapsed_between(since, ctx.now.millis());
    if waited >= HEALTH_CHECK_PROPAGATION {
        StepEval::Done(format!(
            "the routing control of {owner} reads On since {} ago, past the health checkers' {} s",
            format_elapsed(waited),
            HEALTH_CHECK_PROPAGATION.as_secs()
        ))
    } else {
        StepEval::Wait(format!(
            "the routing control of {owner} reads On; allowing Route 53's health checkers {} s to agree ({} so far)",
            HEALTH_CHECK_PROPAGATION.as_secs(),
            format_elapsed(waited)
        ))
    }
}

/// Preflight's routing checks (cached control-plane reads, the data plane's states): None
/// when the routing is ready for the move, or not a routingControl group.
pub fn preflight(ctx: &StepContext<'_>) -> Option<StepEval> {
    crate::routing::routing_control(ctx.spec)?;
    let view = ctx.world.routing.as_ref()?;
    if let Some(problems) = setup_problems(ctx.world) {
        return Some(StepEval::Blocked(format!(
            "the failover records are not set up for routing controls: {problems}"
        )));
    }
    if view.setup_problems.is_none() {
        return Some(StepEval::Wait(
            "the failover records and their health checks have not been checked yet (Route 53's control plane has not answered)"
                .to_string(),
        ));
    }
    let from = ctx.op.from.as_str();
    match ctx.world.dns_reading(ctx.spec) {
        DnsReading::Unreachable(e) => Some(StepEval::Wait(format!("ARC data plane: {e}"))),
        DnsReading::Known(Some(_)) => None,
        DnsReading::Known(None) => Some(StepEval::Blocked(format!(
            "the routing controls are in no expected state: {from}'s should be On alone"
        ))),
    }
}

/// `routing: healthCheck`: MoveDns and WaitDnsInSync have nothing to do, Route 53 moves the
/// traffic itself when a record's health check fails. Skipped, saying where it answers now
/// (None: another mode).
pub fn health_check_skip(ctx: &StepContext<'_>) -> Option<StepEval> {
    if ctx.spec.dns.routing != drctl_schema::DnsRouting::HealthCheck {
        return None;
    }
    let answers = match ctx.world.dns_reading(ctx.spec) {
        DnsReading::Known(Some(region)) => format!("Route 53 answers with {region} now"),
        DnsReading::Known(None) => "Route 53 answers with none of the spec's targets".to_string(),
        DnsReading::Unreachable(e) => format!("which record is live is unknown: {e}"),
    };
    Some(StepEval::Skip(format!(
        "{}; {answers} (DnsReady follows it)",
        crate::observed::HEALTH_CHECK_ROUTES_ITSELF
    )))
}

/// `routing: healthCheck`: ScaleDownSource leaves the source at its capacity while Route 53
/// still answers with it (its health check healthy): scaling down the region that serves the
/// traffic would leave it on standby capacity, and drctl cannot move that traffic. None: scale
/// down as usual.
pub fn health_check_keeps_source(ctx: &StepContext<'_>) -> Option<StepEval> {
    if ctx.spec.dns.routing != drctl_schema::DnsRouting::HealthCheck {
        return None;
    }
    let from = ctx.op.from.as_str();
    match ctx.world.dns_reading(ctx.spec) {
        DnsReading::Known(Some(live)) if live == from => Some(StepEval::Skip(format!(
            "Route 53 still answers with {from} (its health check is healthy): its services keep their capacity; \
             routing healthCheck moves traffic only when that check fails"
        ))),
        DnsReading::Known(_) => None,
        DnsReading::Unreachable(e) => Some(StepEval::Wait(format!(
            "not scaling {from} down while it may still serve: {e}"
        ))),
    }
}
