//! The steady state of a group whose writer is where the spec wants it: what to correct
//! (compute sizes, the DNS owner) and what to report (a standby that is not protecting).
//! Pure: the planner's `steady_state` acts on what these return.

use drctl_schema::FailoverGroupSpec;

use super::action::Action;
use super::steps;
use crate::observed::{Membership, ObservedWorld, Seen};

/// Corrections to make, and what is wrong that no correction fixes.
#[derive(Default)]
pub(super) struct Corrections {
    pub actions: Vec<Action>,
    pub degraded: Vec<String>,
}

impl Corrections {
    pub fn extend(&mut self, other: Corrections) {
        self.actions.extend(other.actions);
        self.degraded.extend(other.degraded);
    }
}

/// Compute: min/max enforced on the scalable target; desired count only clamped into
/// [min, max], because Application Auto Scaling owns it within that range. With routing
/// healthCheck the active region is where Route 53 sends the traffic, as last seen: a stale
/// reading holds the capacity where it is (routing/health_check.rs).
pub(super) fn compute(spec: &FailoverGroupSpec, world: &ObservedWorld, owner: &str) -> Corrections {
    let mut found = Corrections::default();
    let (actions, degraded) = (&mut found.actions, &mut found.degraded);
    let serving = match spec.dns.routing {
        drctl_schema::DnsRouting::HealthCheck => crate::routing::serving_region(world, owner),
        _ => crate::routing::ServingRegion::Known(owner.to_string()),
    };
    for svc in &spec.compute.services {
        for (region, reference) in &svc.regions {
            // None: a region held as it is (a stale healthCheck reading).
            let want = serving
                .sizes(region)
                .map(|active| if active { svc.active } else { svc.standby });
            let Some(view) = world.service(&svc.name, region) else {
                continue;
            };
            if let (Some(want), Some(Seen::Known(scalable))) = (want, &view.scalable) {
                if *scalable != Some((want.min, want.max)) {
                    actions.push(Action::RegisterScalableTarget {
                        region: region.clone(),
                        resource_id: drctl_cloud::ecs_resource_id(
                            &reference.cluster,
                            &reference.service,
                        ),
                        min: want.min,
                        max: want.max,
                    });
                }
            }
            match &view.ecs {
                Seen::Known(Some(ecs)) => {
                    let clamped = want.map_or(ecs.desired, |w| ecs.desired.clamp(w.min, w.max));
                    if clamped != ecs.desired {
                        actions.push(Action::SetDesiredCount {
                            region: region.clone(),
                            cluster: reference.cluster.clone(),
                            service: reference.service.clone(),
                            desired: clamped,
                        });
                    }
                }
                Seen::Known(None) => degraded.push(format!(
                    "ECS service {}/{} not found in {region}",
                    reference.cluster, reference.service
                )),
                Seen::Unreachable(_) => degraded.push(format!("{region} ECS unreachable")),
            }
        }
    }

    found
}

/// DNS: point at the owner, only when its compute is ready and it can reach a writable
/// database (invariant 4, refined for the app-tier failover); routingControl's setup
/// problems are reported while there is time to fix them.
pub(super) fn dns(spec: &FailoverGroupSpec, world: &ObservedWorld, owner: &str) -> Corrections {
    let mut found = Corrections::default();
    let (actions, degraded) = (&mut found.actions, &mut found.degraded);
    match world.dns_owner(spec) {
        Some(current) if current == owner => {}
        current => {
            let short = steps::compute_shortfall(spec, world, owner);
            if spec.dns.routing == drctl_schema::DnsRouting::HealthCheck {
                let answers = match world.dns_reading(spec) {
                    crate::observed::DnsReading::Unreachable(e) => e,
                    crate::observed::DnsReading::Known(_) => format!(
                        "it answers with {}, spec.dnsOwner is {owner}",
                        current.as_deref().unwrap_or("none of the spec's targets")
                    ),
                };
                degraded.push(format!(
                    "{}: {answers}",
                    crate::observed::HEALTH_CHECK_ROUTES_ITSELF
                ));
            } else if let Err(why) = steps::app_tier::writable_database(world, owner) {
                degraded.push(format!(
                    "DNS points at {}; not moving it to {owner}: {why}",
                    current.as_deref().unwrap_or("nothing drctl knows")
                ));
            } else if !short.is_empty() {
                degraded.push(format!(
                    "DNS waits for compute in {owner}: {}",
                    short.join("; ")
                ));
            } else if let Some(rc) = crate::routing::routing_control(spec) {
                match (world.dns_reading(spec), world.routing.as_ref()) {
                    (crate::observed::DnsReading::Unreachable(e), _) => {
                        degraded.push(format!("routing controls unreadable: {e}"))
                    }
                    (_, Some(view)) => {
                        match steps::routing::routing_action(spec, rc, view, owner) {
                            Some(action) => actions.push(action),
                            None => degraded
                                .push("no endpoint of the ARC cluster known yet".to_string()),
                        }
                    }
                    (_, None) => degraded.push("routing controls not read".to_string()),
                }
            } else if let Seen::Known(existing) = &world.record {
                if let Some(desired) = crate::observed::desired_record(spec, owner) {
                    actions.push(Action::ChangeRecord {
                        hosted_zone_id: spec.dns.hosted_zone_id.clone(),
                        expected: existing.clone(),
                        desired,
                        region: owner.to_string(),
                    });
                }
            } else {
                degraded.push("Route 53 control plane unavailable".to_string());
            }
        }
    }

    // routingControl: a broken setup would make the next MoveDns flip controls that move
    // nothing; say so while there is time to fix it.
    if let Some(problems) = steps::routing::setup_problems(world) {
        degraded.push(format!("routing control setup: {problems}"));
    }

    found
}

/// The standby database: reported; Aurora repairs what it can by itself.
pub(super) fn standby(spec: &FailoverGroupSpec, world: &ObservedWorld) -> Corrections {
    let mut found = Corrections::default();
    let degraded = &mut found.degraded;
    let writer = world.writer_region();
    for region in &spec.regions {
        if Some(region.as_str()) == writer {
            continue;
        }
        match world.region(region).map(|r| r.membership) {
            Some(Membership::Secondary { synced: true }) => {}
            Some(Membership::Secondary { synced: false }) => {
                degraded.push(format!("{region} is resynchronizing"))
            }
            Some(other) => degraded.push(format!(
                "{region} cluster is {}: not protected until a failback rebuilds it",
                other.as_str()
            )),
            None => {}
        }
    }

    found
}
