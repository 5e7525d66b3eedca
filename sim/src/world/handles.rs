//! `SimWorld`: the per-caller handles (`Cloud`, clock, stores).

use super::*;

impl SimWorld {
    /// The cloud as `caller` sees it. `caller` is recorded with every call; controller
    /// replicas should use the same string as their lease holder (invariant 6).
    pub fn cloud(self: &Arc<Self>, caller: &str) -> drctl_cloud::Cloud {
        let h = Arc::new(crate::ports::SimCloud {
            world: Arc::clone(self),
            caller: caller.to_string(),
        });
        drctl_cloud::Cloud {
            aurora: h.clone(),
            lag: h.clone(),
            alarms: h.clone(),
            dns: h.clone(),
            ecs: h.clone(),
            autoscaling: h.clone(),
            routing: h.clone(),
            recovery_config: h.clone(),
            health: h.clone(),
            rds_instances: h.clone(),
            replica_lag: h.clone(),
            s3: h.clone(),
            tables: h.clone(),
            dependency_metrics: h.clone(),
            offerings: Arc::new(drctl_cloud::offerings::MemoizedOfferings::new(h.clone())),
            clock: h,
        }
    }

    /// A clock reading virtual now.
    pub fn clock(self: &Arc<Self>) -> Arc<dyn drctl_cloud::Clock> {
        Arc::new(crate::ports::SimCloud {
            world: Arc::clone(self),
            caller: "clock".to_string(),
        })
    }

    /// The shared in-memory store (calls recorded with caller `store`).
    pub fn store(self: &Arc<Self>) -> Arc<dyn Store> {
        self.store_as("store")
    }

    /// The shared in-memory store, with `caller` in the call record.
    pub fn store_as(self: &Arc<Self>, caller: &str) -> Arc<dyn Store> {
        Arc::new(crate::store::SimStore {
            world: Arc::clone(self),
            caller: caller.to_string(),
        })
    }

    /// Ground truth of the store, for a harness waiting on a fleet: the stored groups, among
    /// `among` (all if None), for which `pred` does not hold yet. No call is made or recorded
    /// and nothing is cloned, so polling a fleet of thousands costs what a glance costs.
    pub fn stored_groups_where_not(
        &self,
        among: Option<&[String]>,
        pred: &dyn Fn(&FailoverGroup, Option<&FailoverGroupStatus>) -> bool,
    ) -> Vec<String> {
        self.current().store.names_where_not(among, pred)
    }
}
