//! `SimWorld`: the public face of the simulation. Build one from a seed, provision groups in
//! a healthy steady state, hand out per-caller `Cloud` handles and stores, inject faults, run
//! the application, and read back ground truth, the call record and the invariant check.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use drctl_cloud::{CloudError, CloudResult, DnsRecord, ErrorCategory, Service};
use drctl_schema::{DnsRouting, FailoverGroup, FailoverGroupSpec, FailoverGroupStatus, Timestamp};
use drctl_state::Store;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::aurora::{cluster_arn, global_arn};
use crate::checker::{InvariantInput, RunRecord, Violation};
use crate::config::*;
use crate::keys::*;
use crate::record::*;
use crate::route53::normalize;
use crate::state::*;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The spec cannot be provisioned as written (names the field).
    #[error("cannot provision: {field}: {message}")]
    InvalidSpec { field: String, message: String },
    #[error("already provisioned: {what}")]
    AlreadyProvisioned { what: String },
    #[error("not found: {what}")]
    NotFound { what: String },
}

/// Options for `provision_with`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionOptions {
    /// Turn deletion protection on for every cluster (as production clusters usually are).
    pub deletion_protection: bool,
}

/// What the call pipeline decided before the request travels.
#[derive(Debug, Clone)]
pub(crate) struct CallPlan {
    delay_ms: u64,
    unreachable: bool,
    fault: Option<FaultKind>,
}

pub struct SimWorld {
    state: Mutex<State>,
    created: Instant,
    /// `SimConfig::epoch`, kept outside the lock: `now` is read on every call.
    epoch: Timestamp,
}

impl std::fmt::Debug for SimWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimWorld").finish_non_exhaustive()
    }
}

impl SimWorld {
    /// A world at virtual time `cfg.epoch` (2026-01-01T00:00:00Z by default). Run it on a paused tokio clock
    /// (`#[tokio::test(start_paused = true)]`) so that virtual time only moves when every
    /// task waits.
    pub fn new(cfg: SimConfig) -> Arc<SimWorld> {
        let epoch = cfg.epoch;
        Arc::new(SimWorld {
            state: Mutex::new(State::new(cfg)),
            created: Instant::now(),
            epoch,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock only happens in a test that already failed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The world, advanced to now.
    pub(crate) fn current(&self) -> MutexGuard<'_, State> {
        let now = self.elapsed_ms();
        let mut st = self.lock();
        st.advance(now);
        st
    }

    /// Virtual milliseconds since the world was created.
    pub fn elapsed_ms(&self) -> i64 {
        ms(Instant::now().saturating_duration_since(self.created))
    }

    /// Virtual now.
    pub fn now(&self) -> Timestamp {
        self.epoch.plus_millis(self.elapsed_ms())
    }

    /// The virtual timestamp `offset` after the world was created.
    pub fn at(&self, offset: Duration) -> Timestamp {
        self.epoch.plus_millis(ms(offset))
    }

    /// The timestamp virtual time 0 stands for (`SimConfig::epoch`).
    pub fn epoch(&self) -> Timestamp {
        self.epoch
    }

    // -----------------------------------------------------------------------------------
    // Provisioning.
    // -----------------------------------------------------------------------------------

    /// Create everything `spec` names, healthy and converged: the global cluster with its
    /// members (writer = spec.writer, secondaries synced), instances, the hosted zone with
    /// the record at spec.dnsOwner's target, ECS services at active/standby capacity with
    /// running == desired, and scalable targets. Makes no recorded calls.
    pub fn provision(&self, spec: &FailoverGroupSpec) -> Result<(), SimError> {
        self.provision_with(spec, &ProvisionOptions::default())
    }

    pub fn provision_with(
        &self,
        spec: &FailoverGroupSpec,
        opts: &ProvisionOptions,
    ) -> Result<(), SimError> {
        // rdsReplica: the instance pair on the global-database machinery (rds_instance.rs).
        let pair_spec = crate::rds_instance::as_pair_spec(spec);
        let spec = &pair_spec;
        let mut st = self.current();
        let t = st.now;
        let gid = spec.database.global_cluster_identifier.clone();
        if st.globals.contains_key(&gid) {
            return Err(SimError::AlreadyProvisioned {
                what: format!("global cluster {gid}"),
            });
        }
        let writer_tpl =
            spec.database
                .clusters
                .get(&spec.writer)
                .ok_or_else(|| SimError::InvalidSpec {
                    field: format!("spec.database.clusters.{}", spec.writer),
                    message: "the writer region has no cluster".to_string(),
                })?;
        let owner = spec.dns_owner().to_string();
        let target = spec
            .dns
            .targets
            .get(&owner)
            .ok_or_else(|| SimError::InvalidSpec {
                field: format!("spec.dns.targets.{owner}"),
                message: "the DNS owner region has no target".to_string(),
            })?;
        let engine = writer_tpl
            .engine
            .clone()
            .unwrap_or_else(|| "aurora-postgresql".to_string());
        let version = writer_tpl
            .engine_version
            .clone()
            .unwrap_or_else(|| "16.3".to_string());
        let encrypted = spec
            .database
            .clusters
            .values()
            .any(|c| c.kms_key_id.is_some());
        let mut members = std::collections::BTreeSet::new();
        let mut provisioned = Vec::new();

        for (region, tpl) in &spec.database.clusters {
            let k = RegionalId::new(region.clone(), tpl.identifier.clone());
            if st.clusters.contains_key(&k) {
                return Err(SimError::AlreadyProvisioned {
                    what: format!("cluster {}", k.to_string()),
                });
            }
            let cursor = t - st.lag_ms(region, t);
            st.clusters.insert(
                k.clone(),
                Cluster {
                    id: tpl.identifier.clone(),
                    region: region.clone(),
                    arn: cluster_arn(region, &tpl.identifier),
                    status: "available".to_string(),
                    engine: tpl.engine.clone().unwrap_or_else(|| engine.clone()),
                    engine_version: tpl
                        .engine_version
                        .clone()
                        .unwrap_or_else(|| version.clone()),
                    deletion_protection: opts.deletion_protection,
                    storage_encrypted: encrypted,
                    kms_key_id: tpl.kms_key_id.clone(),
                    global: Some(gid.clone()),
                    former_global: None,
                    sync: SyncState::Connected,
                    cursor,
                    read_only: false,
                    divergent: None,
                    awaiting_recovery: false,
                    snapshots_in_progress: 0,
                    last_write_at: None,
                },
            );
            provisioned.push((k.clone(), tpl.instance_count.unwrap_or(1) > 0));
            for n in 1..=tpl.instance_count.unwrap_or(1) {
                st.add_instance(
                    RegionalId::new(region.clone(), format!("{}-{n}", tpl.identifier)),
                    Instance {
                        cluster: tpl.identifier.clone(),
                        status: "available".to_string(),
                        instance_class: tpl
                            .instance_class
                            .clone()
                            .unwrap_or_else(|| "db.r6g.large".to_string()),
                    },
                );
            }
            members.insert(k);
        }
        st.globals.insert(
            gid.clone(),
            Global {
                id: gid.clone(),
                arn: global_arn(&gid),
                engine,
                engine_version: version,
                storage_encrypted: encrypted,
                members,
                writer: Some(RegionalId::new(
                    spec.writer.clone(),
                    writer_tpl.identifier.clone(),
                )),
                in_flight: None,
            },
        );
        let record = desired_record(spec, &owner, target).ok_or_else(|| SimError::InvalidSpec {
            field: format!("spec.dns.targets.{owner}"),
            message: "the target lacks aliasDnsName/aliasHostedZoneId (A) or value (CNAME)"
                .to_string(),
        })?;
        if spec.dns.routing == DnsRouting::RoutingControl {
            let group = st.groups.len();
            st.provision_routing_control(group, spec, t)?;
        } else if spec.dns.routing == DnsRouting::HealthCheck {
            let group = st.groups.len();
            st.provision_health_checked_records(group, spec, t)?;
        } else {
            let zone = st.zones.entry(spec.dns.hosted_zone_id.clone()).or_default();
            let e = zone
                .records
                .entry(RecordKey {
                    name: record.name.clone(),
                    record_type: record.record_type.clone(),
                })
                .or_default();
            e.current = Some(record.clone());
            e.history.push((t, Some(record)));
        }
        for svc in &spec.compute.services {
            for (region, r) in &svc.regions {
                let cap = if *region == owner {
                    svc.active
                } else {
                    svc.standby
                };
                st.services.insert(
                    ServiceKey::new(region.clone(), r.cluster.clone(), r.service.clone()),
                    EcsSvc {
                        desired: cap.desired,
                        running: cap.desired,
                        launching: Vec::new(),
                        stopping: Vec::new(),
                        reached_fact_for: Some(cap.desired),
                    },
                );
                st.targets.insert(
                    RegionalId::new(
                        region.clone(),
                        drctl_cloud::ecs_resource_id(&r.cluster, &r.service),
                    ),
                    Target {
                        min: cap.min,
                        max: cap.max,
                    },
                );
            }
        }
        st.deps.provision(spec);
        st.groups.push(Group { spec: spec.clone() });
        st.refresh_writable_of(t, &provisioned);
        Ok(())
    }

    // -----------------------------------------------------------------------------------
    // Handles.
    // -----------------------------------------------------------------------------------

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

    // -----------------------------------------------------------------------------------
    // Faults.
    // -----------------------------------------------------------------------------------

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

    // -----------------------------------------------------------------------------------
    // The application.
    // -----------------------------------------------------------------------------------

    /// Start the simulated application on the (first provisioned) global database: write n
    /// is attempted at start + n/rate at the then-writer.
    pub fn start_app_writes(&self, writes_per_second: u32) -> Result<(), SimError> {
        let gid = {
            let st = self.current();
            st.groups
                .first()
                .map(|g| g.spec.database.global_cluster_identifier.clone())
        };
        let gid = gid.ok_or_else(|| SimError::NotFound {
            what: "a provisioned group".to_string(),
        })?;
        self.start_app_writes_to(&gid, writes_per_second)
    }

    pub fn start_app_writes_to(
        &self,
        global: &str,
        writes_per_second: u32,
    ) -> Result<(), SimError> {
        let mut st = self.current();
        if !st.globals.contains_key(global) {
            return Err(SimError::NotFound {
                what: format!("global cluster {global}"),
            });
        }
        let t0 = st.now;
        let app = st.apps.entry(global.to_string()).or_insert(App {
            rate: writes_per_second,
            t0,
            running: false,
            next_n: 1,
            writes: Vec::new(),
            history: Vec::new(),
        });
        // Restarting keeps the numbering going.
        let next = app.next_n;
        app.rate = writes_per_second.max(1);
        app.t0 =
            t0 - i64::try_from((next - 1).saturating_mul(1000) / u64::from(app.rate)).unwrap_or(0);
        app.running = true;
        Ok(())
    }

    pub fn stop_app_writes(&self) {
        let mut st = self.current();
        for a in st.apps.values_mut() {
            a.running = false;
        }
    }

    /// What the application lost on the first provisioned global database.
    pub fn data_loss(&self) -> DataLossReport {
        let gid = {
            let st = self.current();
            st.groups
                .first()
                .map(|g| g.spec.database.global_cluster_identifier.clone())
        };
        gid.map(|g| self.data_loss_for(&g)).unwrap_or_default()
    }

    pub fn data_loss_for(&self, global: &str) -> DataLossReport {
        let st = self.current();
        st.apps
            .get(global)
            .map(|a| crate::checker::loss_report(global, &a.writes))
            .unwrap_or_else(|| DataLossReport {
                global: global.to_string(),
                ..DataLossReport::default()
            })
    }

    /// Every application write so far.
    pub fn writes(&self, global: &str) -> Vec<WriteRecord> {
        self.current()
            .apps
            .get(global)
            .map(|a| a.writes.clone())
            .unwrap_or_default()
    }

    // -----------------------------------------------------------------------------------
    // Records and ground truth.
    // -----------------------------------------------------------------------------------

    pub fn calls(&self) -> Vec<CallRecord> {
        self.current().calls.clone()
    }

    /// How many calls are recorded so far (cheap, for "calls made by this pass").
    pub fn call_count(&self) -> usize {
        self.current().calls.len()
    }

    /// The calls recorded from position `index` on (`calls()[index..]` without the copy of
    /// the whole record).
    pub fn calls_from(&self, index: usize) -> Vec<CallRecord> {
        self.current()
            .calls
            .get(index..)
            .map(<[CallRecord]>::to_vec)
            .unwrap_or_default()
    }

    /// The call record as JSON lines: identical, byte for byte, for identical runs.
    pub fn calls_json(&self) -> String {
        let st = self.current();
        let mut out = String::new();
        for c in &st.calls {
            out.push_str(&serde_json::to_string(c).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    /// "When did X become true", in time order.
    pub fn facts(&self) -> Vec<Fact> {
        let mut f = self.current().facts.clone();
        f.sort_by_key(|x| x.at_ms);
        f
    }

    /// The first fact at or after `since` that `pred` accepts.
    pub fn first_fact(&self, since: Timestamp, pred: impl Fn(&FactKind) -> bool) -> Option<Fact> {
        self.facts()
            .into_iter()
            .find(|f| f.at >= since && pred(&f.kind))
    }

    /// Everything the invariant checker reads, serialisable to keep with a failed run.
    pub fn run_record(&self) -> RunRecord {
        let st = self.current();
        let mut facts = st.facts.clone();
        facts.sort_by_key(|x| x.at_ms);
        RunRecord {
            epoch: st.epoch,
            end_ms: st.now,
            calls: st.calls.clone(),
            facts,
            writes: st
                .apps
                .iter()
                .map(|(g, a)| (g.clone(), a.writes.clone()))
                .collect(),
            writable_log: st.writable_log.clone(),
            deletions: st.deletions.clone(),
            dns_changes: st.dns_log.clone(),
            lease_log: st.lease_log.clone(),
            groups: st.groups.iter().map(|g| g.spec.clone()).collect(),
            statuses: st.store.statuses(),
        }
    }

    /// docs/design-contract.md §5 invariants 1-6 over this run so far.
    pub fn check_invariants(&self, input: &InvariantInput) -> Vec<Violation> {
        crate::checker::check(&self.run_record(), input)
    }

    /// Ground truth now.
    pub fn snapshot(&self) -> WorldSnapshot {
        let mut st = self.current();
        let t = st.now;
        st.replicate_all(t);
        let st = st;
        let globals = st
            .globals
            .values()
            .map(|g| GlobalTruth {
                id: g.id.clone(),
                writer_region: g.writer.as_ref().map(|w| w.region.clone()),
                writer_cluster: g.writer.as_ref().map(|w| w.id.clone()),
                operation: g.in_flight.as_ref().map(|f| f.status.to_string()),
                members: g.members.iter().map(RegionalId::to_string).collect(),
            })
            .collect();
        let clusters = st
            .clusters
            .iter()
            .map(|(k, c)| {
                let role = match c.global.as_ref().and_then(|g| st.globals.get(g)) {
                    Some(g) if g.writer.as_ref() == Some(k) => "writer",
                    Some(_) => "secondary",
                    None if c.former_global.is_some() => "detached",
                    None => "standalone",
                };
                let writer = c
                    .global
                    .as_ref()
                    .and_then(|g| st.globals.get(g))
                    .and_then(|g| g.writer.clone());
                let lag = writer
                    .filter(|w| w != k)
                    .and_then(|w| st.replicated_lag(&w.region, &w.id, &k.region))
                    .map(|s| (s * 1000.0) as i64);
                ClusterTruth {
                    region: k.region.clone(),
                    id: k.id.clone(),
                    status: c.status.clone(),
                    role: role.to_string(),
                    writable: st.accepts_writes(k),
                    synchronization_status: (role == "secondary").then(|| {
                        if c.sync == SyncState::Connected && c.status != "creating" {
                            "connected".to_string()
                        } else {
                            "pending-resync".to_string()
                        }
                    }),
                    lag_ms: lag,
                    instances: st.instances_of(k).count() as u32,
                    engine_version: c.engine_version.clone(),
                    deletion_protection: c.deletion_protection,
                    last_write_at_ms: c.last_write_at,
                }
            })
            .collect();
        let records = st
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let key = RecordKey {
                    name: crate::state::norm_name(&g.spec.dns.record_name),
                    record_type: g.spec.dns.record_type.as_str().to_string(),
                };
                let current = st
                    .zones
                    .get(&g.spec.dns.hosted_zone_id)
                    .and_then(|z| z.records.get(&key))
                    .and_then(|e| e.current.clone());
                let points_to = if st.is_health_check_group(i) {
                    st.failover_answer(i, t)
                } else if st.is_routing_control_group(i) {
                    st.routing_owner_now(i)
                } else {
                    current.as_ref().and_then(|r| st.record_region(i, r))
                };
                RecordTruth {
                    hosted_zone_id: g.spec.dns.hosted_zone_id.clone(),
                    name: key.name,
                    record_type: key.record_type,
                    points_to,
                    answers_with: st.data_plane_region(g, t),
                }
            })
            .collect();
        let services = st
            .services
            .iter()
            .map(|(k, s)| {
                let t = st.targets.get(&RegionalId::new(
                    k.region.clone(),
                    drctl_cloud::ecs_resource_id(&k.cluster, &k.service),
                ));
                ServiceTruth {
                    region: k.region.clone(),
                    cluster: k.cluster.clone(),
                    service: k.service.clone(),
                    desired: s.desired,
                    running: s.running,
                    pending: s.launching.iter().map(|(_, c)| c).sum(),
                    min: t.map(|t| t.min),
                    max: t.map(|t| t.max),
                }
            })
            .collect();
        WorldSnapshot {
            at: st.ts(t),
            at_ms: t,
            regions_down: st.down.keys().cloned().collect(),
            route53_control_plane_up: st.route53_up(),
            globals,
            clusters,
            records,
            services,
        }
    }

    // -----------------------------------------------------------------------------------
    // The call pipeline.
    // -----------------------------------------------------------------------------------

    /// One API call: decide latency and faults, let the request travel (virtual time),
    /// apply it at arrival, record it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn call<T, F>(
        &self,
        caller: &str,
        service: Service,
        op: &'static str,
        region: &str,
        mutating: bool,
        resource: String,
        f: F,
    ) -> CloudResult<T>
    where
        F: FnOnce(&mut State, &Ctx) -> CloudResult<T> + Send,
        T: Send,
    {
        let paused = self.current().pause_left(caller);
        if !paused.is_zero() {
            tokio::time::sleep(paused).await;
        }
        let plan = {
            let mut st = self.current();
            plan_call(&mut st, caller, service, op, region, &resource)
        };
        if plan.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(plan.delay_ms)).await;
        }
        let mut st = self.current();
        execute(
            &mut st, caller, service, op, region, mutating, resource, plan, f,
        )
    }
}

fn plan_call(
    st: &mut State,
    caller: &str,
    service: Service,
    op: &str,
    region: &str,
    resource: &str,
) -> CallPlan {
    let unreachable = match service {
        Service::Route53 => !st.route53_up(),
        Service::Http => false,
        Service::Ecs => !st.reachable_by(caller, region) || st.app_tier_down.contains(region),
        _ => !st.reachable_by(caller, region),
    };
    // Always four draws, so that one knob does not shift every later draw.
    let d_latency = st.rng.next_f64();
    let d_throttle = st.rng.next_f64();
    let d_error = st.rng.next_f64();
    let d_lost = st.rng.next_f64();
    let sf = st.cfg.faults.for_service(service);
    let mut delay = ms(st.cfg.timings.latency(SimService::Cloud(service)))
        + (d_latency * ms(sf.extra_latency) as f64) as i64;
    let mut fault = None;
    if let Some(rule) = st.fault_rules.iter_mut().find(|r| {
        r.times > 0
            && r.service.as_deref().is_none_or(|s| s == service.as_str())
            && r.operation.as_deref().is_none_or(|o| o == op)
            && r.region.as_deref().is_none_or(|x| x == region)
            && r.caller.as_deref().is_none_or(|c| c == caller)
            && r.resource.as_deref().is_none_or(|p| resource.contains(p))
    }) {
        rule.times -= 1;
        match rule.kind {
            FaultKind::LatencyMs(extra) => delay += i64::try_from(extra).unwrap_or(0),
            k => fault = Some(k),
        }
    }
    st.fault_rules.retain(|r| r.times > 0);
    if fault.is_none() {
        fault = if d_throttle < sf.throttle {
            Some(FaultKind::Throttle)
        } else if d_error < sf.server_error {
            Some(FaultKind::ServerError)
        } else if d_lost < sf.lost_response {
            Some(FaultKind::LostResponse)
        } else {
            None
        };
    }
    if unreachable {
        delay = ms(st.cfg.timings.unreachable_timeout);
    }
    CallPlan {
        delay_ms: u64::try_from(delay.max(0)).unwrap_or(0),
        unreachable,
        fault,
    }
}

fn throttle_code(service: Service, op: &str) -> &'static str {
    match service {
        Service::Route53 if op == "ChangeResourceRecordSets" => "PriorRequestNotComplete",
        Service::Rds | Service::Route53 | Service::CloudWatch => "Throttling",
        Service::Ecs
        | Service::AutoScaling
        | Service::RoutingControl
        | Service::RecoveryControlConfig
        | Service::DynamoDb => "ThrottlingException",
        Service::S3 => "SlowDown",
        Service::Http => "TooManyRequests",
    }
}

fn server_error_code(service: Service) -> &'static str {
    match service {
        Service::Rds => "InternalFailure",
        Service::Route53 => "ServiceUnavailable",
        Service::Ecs => "ServerException",
        Service::AutoScaling => "InternalServiceException",
        Service::CloudWatch => "InternalServiceFault",
        Service::RoutingControl | Service::RecoveryControlConfig => "InternalServerException",
        Service::Http => "BadGateway",
        Service::S3 => "InternalError",
        Service::DynamoDb => "InternalServerError",
    }
}

#[allow(clippy::too_many_arguments)]
fn execute<T, F>(
    st: &mut State,
    caller: &str,
    service: Service,
    op: &'static str,
    region: &str,
    mutating: bool,
    resource: String,
    plan: CallPlan,
    f: F,
) -> CloudResult<T>
where
    F: FnOnce(&mut State, &Ctx) -> CloudResult<T>,
{
    let now = st.now;
    let seq = st.next_seq();
    let ctx = Ctx {
        seq,
        caller: caller.to_string(),
        now,
    };
    let mut applied = false;
    let result: CloudResult<T> = if plan.unreachable {
        let host = match service {
            Service::Route53 => "route53.amazonaws.com (control plane in us-east-1)".to_string(),
            Service::RoutingControl => {
                format!("the ARC cluster endpoint in {region} (route53-recovery-cluster)")
            }
            Service::RecoveryControlConfig => {
                format!("route53-recovery-control-config.{region}.amazonaws.com")
            }
            s => format!("{}.{region}.amazonaws.com", s.as_str()),
        };
        Err(CloudError::new(
            ErrorCategory::Retryable,
            service,
            op,
            "RequestTimeout",
            format!("could not connect to {host}: connection timed out (the request was not sent)"),
        ))
    } else if plan.fault == Some(FaultKind::Throttle)
        || !rate_ok(st, service, region, mutating, now)
    {
        Err(CloudError::new(
            ErrorCategory::Retryable,
            service,
            op,
            throttle_code(service, op),
            "Rate exceeded",
        ))
    } else if plan.fault == Some(FaultKind::ServerError) {
        Err(CloudError::new(
            ErrorCategory::Retryable,
            service,
            op,
            server_error_code(service),
            "The service encountered an internal error; try again",
        ))
    } else {
        if mutating && service == Service::Rds {
            st.replicate_all(now);
        }
        let r = f(st, &ctx);
        applied = mutating && r.is_ok();
        // Only an RDS mutation (even a refused one, to be safe) can change which cluster
        // accepts writes; the fleet's reads and its ECS and DNS calls cannot.
        if mutating && service == Service::Rds {
            st.refresh_writable(now);
        }
        if plan.fault == Some(FaultKind::LostResponse) {
            Err(CloudError::new(
                ErrorCategory::Retryable,
                service,
                op,
                "ResponseTimeout",
                "the request was sent but no response arrived",
            )
            .with_outcome_unknown())
        } else {
            r
        }
    };
    let outcome = match &result {
        Ok(_) => CallOutcome {
            ok: true,
            code: None,
            category: None,
            applied,
            outcome_unknown: false,
        },
        Err(e) => CallOutcome {
            ok: false,
            code: Some(e.code.clone()),
            category: Some(e.category.as_str().to_string()),
            applied,
            outcome_unknown: e.outcome_unknown,
        },
    };
    let at = st.ts(now);
    st.calls.push(CallRecord {
        seq,
        caller: caller.to_string(),
        at_ms: now,
        at,
        service: service.as_str().to_string(),
        operation: op.to_string(),
        region: region.to_string(),
        resource,
        mutating,
        outcome,
    });
    result
}

fn rate_ok(st: &mut State, service: Service, region: &str, mutating: bool, now: i64) -> bool {
    let Some(limit) = st.cfg.limits.for_service(service) else {
        return true;
    };
    // ARC's data plane limits its updates per endpoint (`region` is the endpoint's).
    if service == Service::RoutingControl && !mutating {
        return true;
    }
    // Route 53 limits are per account; the others per account and region.
    let scope = if service == Service::Route53 {
        "global".to_string()
    } else {
        region.to_string()
    };
    st.api_buckets
        .entry(ApiBucketKey {
            service: service.as_str().to_string(),
            scope,
        })
        .or_default()
        .try_take(now, limit)
}

/// The record a spec wants for `region`'s target, as the simulated Route 53 stores it.
pub fn desired_record(
    spec: &FailoverGroupSpec,
    _region: &str,
    target: &drctl_schema::DnsTarget,
) -> Option<DnsRecord> {
    drctl_cloud::dns_name::desired_record(spec, target).map(|rec| normalize(&rec))
}

// ---------------------------------------------------------------------------------------
// Ground truth.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorldSnapshot {
    pub at: Timestamp,
    pub at_ms: i64,
    pub regions_down: Vec<String>,
    pub route53_control_plane_up: bool,
    pub globals: Vec<GlobalTruth>,
    pub clusters: Vec<ClusterTruth>,
    pub records: Vec<RecordTruth>,
    pub services: Vec<ServiceTruth>,
}

impl WorldSnapshot {
    pub fn global(&self, id: &str) -> Option<&GlobalTruth> {
        self.globals.iter().find(|g| g.id == id)
    }

    /// The (first) cluster in `region`.
    pub fn cluster_in(&self, region: &str) -> Option<&ClusterTruth> {
        self.clusters.iter().find(|c| c.region == region)
    }

    pub fn service(&self, region: &str, cluster: &str, service: &str) -> Option<&ServiceTruth> {
        self.services
            .iter()
            .find(|s| s.region == region && s.cluster == cluster && s.service == service)
    }

    /// Clusters accepting writes now.
    pub fn writable_clusters(&self) -> Vec<&ClusterTruth> {
        self.clusters.iter().filter(|c| c.writable).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalTruth {
    pub id: String,
    pub writer_region: Option<String>,
    pub writer_cluster: Option<String>,
    /// `switching-over` / `failing-over` while one runs.
    pub operation: Option<String>,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTruth {
    pub region: String,
    pub id: String,
    pub status: String,
    /// `writer`, `secondary`, `detached` (stale old primary), `standalone`.
    pub role: String,
    pub writable: bool,
    pub synchronization_status: Option<String>,
    pub lag_ms: Option<i64>,
    pub instances: u32,
    pub engine_version: String,
    pub deletion_protection: bool,
    pub last_write_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordTruth {
    pub hosted_zone_id: String,
    pub name: String,
    pub record_type: String,
    /// The region of the record's current value (control plane).
    pub points_to: Option<String>,
    /// The region DNS answers with (data plane: changes count once INSYNC).
    pub answers_with: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTruth {
    pub region: String,
    pub cluster: String,
    pub service: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub min: Option<u32>,
    pub max: Option<u32>,
}
