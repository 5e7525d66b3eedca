//! An outage of a region's app tier only (scenario `app-tier-outage`, docs/design-contract.md
//! §7.2): ECS and the load balancer stop answering and the region's tasks stop serving, while
//! its Aurora cluster (and every other service there) stays healthy. The global writer in
//! that region keeps taking writes from any region's app through the global writer endpoint.

use crate::keys::*;
use crate::record::FactKind;
use crate::state::*;

/// The `scope` of the RegionDown fact an app-tier outage records.
pub const APP_TIER_SCOPE: &str = "AppTier";

impl State {
    /// Can `region`'s compute run and serve? Not in a dark region, nor while its app tier is
    /// down.
    pub(crate) fn compute_up(&self, region: &str) -> bool {
        self.region_up(region) && !self.app_tier_down.contains(region)
    }

    pub(crate) fn app_tier_outage(&mut self, t: i64, region: &str) {
        if !self.app_tier_down.insert(region.to_string()) {
            return;
        }
        self.fact(
            t,
            FactKind::RegionDown {
                region: region.to_string(),
                scope: APP_TIER_SCOPE.to_string(),
            },
        );
        for (k, s) in self.services.iter_mut() {
            if k.region == region {
                s.running = 0;
                s.launching.clear();
                s.stopping.clear();
                s.reached_fact_for = None;
            }
        }
    }

    pub(crate) fn app_tier_recover(&mut self, t: i64, region: &str) {
        if !self.app_tier_down.remove(region) {
            return;
        }
        self.fact(
            t,
            FactKind::RegionUp {
                region: region.to_string(),
            },
        );
        // ECS relaunches every service's desired tasks.
        let keys: Vec<ServiceKey> = self
            .services
            .keys()
            .filter(|k| k.region == region)
            .cloned()
            .collect();
        for k in keys {
            self.reconcile_service(&k, t);
        }
    }
}
