//! `routing: healthCheck` steady state while the health-check reading is stale: the Route 53
//! control plane (us-east-1) is dark, its checkers and DNS are not, so Route 53 may be serving
//! a region other than spec.dnsOwner. Compute follows the last record seen live.

use super::*;

fn health_check_spec() -> FailoverGroupSpec {
    let mut spec = SpecBuilder::new().writer(EAST).build();
    spec.dns.routing = drctl_schema::DnsRouting::HealthCheck;
    spec
}

/// us-west-2 at active capacity (Route 53 failed over to it), us-east-1 too.
fn both_active() -> WorldBuilder {
    WorldBuilder::healthy().compute(WEST, 6, 6, 6, 24)
}

fn read(mut world: ObservedWorld, live: Option<&str>, stale: bool) -> ObservedWorld {
    world.record = Seen::Known(None);
    world.health_checks = Some(crate::world::HealthCheckView {
        live: live.map(str::to_string),
        healthy: [
            (EAST.to_string(), live == Some(EAST)),
            (WEST.to_string(), true),
        ]
        .into_iter()
        .collect(),
        checked_at: Timestamp::from_millis(900_000),
        stale: stale.then(|| "Route 53 control plane unavailable: RequestTimeout".to_string()),
        setup_problems: Vec::new(),
    });
    world
}

/// The compute calls planned for `region`.
fn resizes_of(plan: &Plan, region: &str) -> Vec<Action> {
    plan.actions
        .iter()
        .map(|a| a.action.clone())
        .filter(|a| match a {
            Action::RegisterScalableTarget { region: r, .. }
            | Action::SetDesiredCount { region: r, .. } => r == region,
            _ => false,
        })
        .collect()
}

#[test]
fn a_stale_reading_never_scales_down_the_region_route53_was_last_seen_serving() {
    let spec = health_check_spec();
    let world = read(both_active().build(), Some(WEST), true);
    let plan = Run::new(&spec, &world).plan();
    assert_eq!(resizes_of(&plan, WEST), Vec::<Action>::new());
    // And the last live record, typed, with when it was seen.
    assert_eq!(
        crate::routing::live_record(&world),
        Some(crate::routing::LiveRecord {
            region: WEST.to_string(),
            observed_at: Timestamp::from_millis(900_000),
            stale: true,
        })
    );
}

#[test]
fn a_stale_reading_resizes_no_other_region_either() {
    // Route 53 may have moved traffic unseen since: us-east-1 is not scaled down to standby.
    let spec = health_check_spec();
    let world = read(both_active().build(), Some(WEST), true);
    let plan = Run::new(&spec, &world).plan();
    assert_eq!(resizes_of(&plan, EAST), Vec::<Action>::new());
}

#[test]
fn with_no_reading_ever_made_a_stale_group_resizes_nothing() {
    let spec = health_check_spec();
    let world = read(both_active().build(), None, true);
    let plan = Run::new(&spec, &world).plan();
    assert_eq!(resizes_of(&plan, WEST), Vec::<Action>::new());
    assert_eq!(resizes_of(&plan, EAST), Vec::<Action>::new());
}

#[test]
fn a_fresh_reading_sizes_the_live_region_active_and_the_other_standby() {
    let spec = health_check_spec();
    let world = read(both_active().build(), Some(WEST), false);
    let plan = Run::new(&spec, &world).plan();
    assert_eq!(resizes_of(&plan, WEST), Vec::<Action>::new());
    assert!(
        resizes_of(&plan, EAST).iter().any(|a| matches!(
            a,
            Action::RegisterScalableTarget {
                min: 1,
                max: 24,
                ..
            }
        )),
        "{:?}",
        plan.actions
    );
}
