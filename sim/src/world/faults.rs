//! `SimWorld`: faults and the other knobs a test or drill turns: outages (now, scheduled or
//! seeded), partitions, pauses, rate limits, injected faults, the world's settings.

use super::*;

impl SimWorld {
    /// Take a whole region down now (for us-east-1 that includes the Route 53 control plane).
    pub fn region_outage(&self, region: &str) {
        self.region_outage_with(region, OutageScope::Full);
    }

    pub fn region_outage_with(&self, region: &str, scope: OutageScope) {
        self.apply_now(ScheduledFault::RegionOutage {
            region: region.to_string(),
            scope,
        });
    }

    pub fn region_recover(&self, region: &str) {
        self.apply_now(ScheduledFault::RegionRecover {
            region: region.to_string(),
        });
    }

    /// Only `region`'s app tier goes down now: ECS and the load balancer stop answering and
    /// its tasks stop serving; its Aurora cluster stays healthy (scenario `app-tier-outage`).
    pub fn app_tier_outage(&self, region: &str) {
        self.apply_now(ScheduledFault::AppTierOutage {
            region: region.to_string(),
        });
    }

    pub fn app_tier_recover(&self, region: &str) {
        self.apply_now(ScheduledFault::AppTierRecover {
            region: region.to_string(),
        });
    }

    /// Only the Route 53 control plane is impaired (DNS answers keep working).
    pub fn route53_control_plane_outage(&self) {
        self.apply_now(ScheduledFault::Route53ControlPlaneOutage);
    }

    pub fn route53_control_plane_recover(&self) {
        self.apply_now(ScheduledFault::Route53ControlPlaneRecover);
    }

    pub fn set_rejoin_mode(&self, mode: RejoinMode) {
        self.apply_now(ScheduledFault::SetRejoinMode(mode));
    }

    /// Seeded random faults for one service from now on.
    pub fn set_service_faults(&self, service: Service, faults: ServiceFaults) {
        self.apply_now(ScheduledFault::SetServiceFaults {
            service: service.as_str().to_string(),
            faults,
        });
    }

    /// Override one region's replication lag (None: back to the model).
    pub fn set_replication_lag(&self, region: &str, lag: Option<Duration>) {
        self.apply_now(ScheduledFault::SetReplicationLag {
            region: region.to_string(),
            lag_ms: lag.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        });
    }

    /// Define (or redefine) CloudWatch alarm `name` in `region`.
    pub fn set_alarm(&self, region: &str, name: &str, model: crate::config::AlarmModel) {
        self.current()
            .alarms
            .insert(RegionalId::new(region, name), model);
    }

    /// Cut the link between `caller` and `region` only: its calls there time out as in an
    /// outage, while the region serves everyone else (the application, the witnesses).
    pub fn partition_caller(&self, caller: &str, region: &str) {
        self.current()
            .partitions
            .insert(CallerLink::new(caller, region));
    }

    pub fn heal_partition(&self, caller: &str, region: &str) {
        self.current()
            .partitions
            .remove(&CallerLink::new(caller, region));
    }

    /// A deterministic fault for the next matching call(s).
    pub fn inject(&self, rule: FaultRule) {
        self.current().fault_rules.push(rule);
    }

    /// Change a service's rate limit (None: never throttled by rate).
    pub fn set_rate_limit(&self, service: Service, limit: Option<RateLimit>) {
        let mut st = self.current();
        match service {
            Service::Rds => st.cfg.limits.rds = limit,
            Service::Route53 => st.cfg.limits.route53 = limit,
            Service::Ecs => st.cfg.limits.ecs = limit,
            Service::AutoScaling => st.cfg.limits.autoscaling = limit,
            Service::CloudWatch => st.cfg.limits.cloudwatch = limit,
            Service::RoutingControl => st.cfg.limits.routing_control = limit,
            Service::RecoveryControlConfig | Service::Http | Service::S3 | Service::DynamoDb => {}
        }
    }

    /// Long-running operations take `factor` times longer with this probability.
    pub fn set_slow_operations(&self, probability: f64, factor: u32) {
        let mut st = self.current();
        st.cfg.faults.slow_operation = probability;
        st.cfg.faults.slow_factor = factor;
    }

    /// Probability that fencing the old primary at a failover fails (split brain).
    pub fn set_fence_failure(&self, probability: f64) {
        self.current().cfg.faults.fence_failure = probability;
    }

    pub fn timings(&self) -> SimTimings {
        self.current().cfg.timings.clone()
    }

    pub fn set_app_target(&self, target: AppTarget) {
        self.current().cfg.app_target = target;
    }

    /// Freeze `caller` for `duration` (a stopped VM, a GC pause): every call it makes to the
    /// cloud or the store from now on waits until the pause ends before it is sent. Its
    /// timers keep running, as a paused process's clock does.
    pub fn pause_caller(&self, caller: &str, duration: Duration) {
        let mut st = self.current();
        let until = st.now + ms(duration);
        st.paused_until.insert(caller.to_string(), until);
    }

    /// Make the store refuse every call with `Unavailable` (true) or work again (false).
    pub fn set_store_unavailable(&self, unavailable: bool) {
        self.current().store.unavailable = unavailable;
    }

    /// Something happens at `at` (virtual time since the world was created).
    pub fn schedule(&self, at: Duration, fault: ScheduledFault) {
        let mut st = self.current();
        let t = ms(at).max(st.now);
        st.push_event(t, Event::Scheduled(fault));
    }

    /// Draw `count` region outages from the seed: each in one of `regions`, starting within
    /// `within` from now, lasting 1 s to `max_duration`. They are scheduled and returned
    /// (offsets from the world's creation), so a report can show them.
    pub fn schedule_random_outages(
        &self,
        regions: &[&str],
        count: u32,
        within: Duration,
        max_duration: Duration,
    ) -> Vec<(Duration, ScheduledFault)> {
        let mut st = self.current();
        let now = st.now;
        let mut out = Vec::new();
        if regions.is_empty() {
            return out;
        }
        for _ in 0..count {
            let pick = (st.rng.next_f64() * regions.len() as f64) as usize;
            let region = regions
                .get(pick.min(regions.len() - 1))
                .copied()
                .unwrap_or_default()
                .to_string();
            let start = now + (st.rng.next_f64() * ms(within) as f64) as i64;
            let length =
                1000 + (st.rng.next_f64() * (ms(max_duration) - 1000).max(0) as f64) as i64;
            let down = ScheduledFault::RegionOutage {
                region: region.clone(),
                scope: OutageScope::Full,
            };
            let up = ScheduledFault::RegionRecover { region };
            st.push_event(start, Event::Scheduled(down.clone()));
            st.push_event(start + length, Event::Scheduled(up.clone()));
            out.push((Duration::from_millis(start.max(0) as u64), down));
            out.push((Duration::from_millis((start + length).max(0) as u64), up));
        }
        out
    }

    fn apply_now(&self, f: ScheduledFault) {
        let mut st = self.current();
        let t = st.now;
        st.replicate_all(t);
        st.apply_scheduled(t, f);
        st.refresh_writable(t);
        st.note_endpoints(t);
    }

    /// Health-check settings of the healthCheck groups provisioned from now on.
    pub fn set_health_check_settings(&self, settings: crate::HealthCheckSettings) {
        self.current().recovery.health_check_settings = settings;
    }

    /// `routing: healthCheck` groups: seconds, up to now, in which Route 53 answered with a
    /// region whose app served while no database could take writes (Route 53 moved traffic
    /// before the writer did). None for a group of another routing mode, or not provisioned.
    pub fn dns_to_unwritable_seconds(&self, global_cluster_identifier: &str) -> Option<f64> {
        let st = self.current();
        let group = st
            .groups
            .iter()
            .position(|g| g.spec.database.global_cluster_identifier == global_cluster_identifier)?;
        st.is_health_check_group(group)
            .then(|| st.dns_to_unwritable_ms(group) as f64 / 1000.0)
    }

    /// `routing: healthCheck` groups: the first moment, from `since` on, at which Route 53
    /// answered with a region whose app served and which could reach a writable database
    /// (sampled each second). None for another routing mode, or not yet.
    pub fn health_check_served_writable_at(
        &self,
        global_cluster_identifier: &str,
        since: Timestamp,
    ) -> Option<Timestamp> {
        let st = self.current();
        let group = st
            .groups
            .iter()
            .position(|g| g.spec.database.global_cluster_identifier == global_cluster_identifier)?;
        if !st.is_health_check_group(group) {
            return None;
        }
        let since_ms = since.millis() - self.epoch.millis();
        st.first_served_writable_ms(group, since_ms)
            .map(|t| self.epoch.plus_millis(t))
    }

    /// Drift: someone upgraded one cluster's engine version by hand.
    pub fn set_engine_version(
        &self,
        region: &str,
        cluster: &str,
        version: &str,
    ) -> Result<(), SimError> {
        let mut st = self.current();
        let c = st
            .clusters
            .get_mut(&RegionalId::new(region, cluster))
            .ok_or_else(|| SimError::NotFound {
                what: format!("cluster {region}/{cluster}"),
            })?;
        c.engine_version = version.to_string();
        Ok(())
    }

    /// Drift: someone removed every instance of a cluster (a headless secondary).
    pub fn make_headless(&self, region: &str, cluster: &str) -> Result<(), SimError> {
        let mut st = self.current();
        let k = RegionalId::new(region, cluster);
        if !st.clusters.contains_key(&k) {
            return Err(SimError::NotFound {
                what: format!("cluster {region}/{cluster}"),
            });
        }
        let doomed: Vec<RegionalId> = st
            .instances_of(&k)
            .map(|(id, _)| RegionalId::new(region, id.clone()))
            .collect();
        for ik in doomed {
            st.remove_instance(&ik);
        }
        let t = st.now;
        st.refresh_writable(t);
        Ok(())
    }

    pub fn set_deletion_protection(
        &self,
        region: &str,
        cluster: &str,
        on: bool,
    ) -> Result<(), SimError> {
        let mut st = self.current();
        let c = st
            .clusters
            .get_mut(&RegionalId::new(region, cluster))
            .ok_or_else(|| SimError::NotFound {
                what: format!("cluster {region}/{cluster}"),
            })?;
        c.deletion_protection = on;
        Ok(())
    }
}
