//! The world's state and its lazy clock: nothing runs in the background. Every call (and
//! every read of ground truth) first advances the world to "now", processing in time order
//! the operations that complete, the scheduled faults and the application's writes. That
//! keeps a run deterministic on any runtime and fast (no tasks, no timers).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use drctl_cloud::{CloudError, DnsRecord, ErrorCategory, Service};
use drctl_schema::{FailoverGroupSpec, Timestamp};

use crate::config::{AppTarget, OutageScope, RateLimit, ScheduledFault, SimConfig};
use crate::keys::{ApiBucketKey, CallerLink, EventKey, RecordKey, RegionalId, ServiceKey};
use crate::record::*;
use crate::rng::{hash_str, mix, SplitMix64};

pub(crate) const ACCOUNT: &str = "123456789012";

/// How often a blocked operation (a switchover waiting for a region) looks again. AWS gives
/// none; it only bounds how late after the unblocking event the operation resumes.
pub(crate) const RETRY_POLL_MS: i64 = 10_000;

pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Generic cell rate algorithm: a token bucket expressed as a "theoretical arrival time",
/// exact in integer microseconds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Gcra {
    tat_us: i64,
}

impl Gcra {
    fn params(limit: RateLimit) -> (i64, i64) {
        let interval = 1_000_000 / i64::from(limit.per_second.max(1));
        let tolerance = interval * i64::from(limit.burst.max(1) - 1);
        (interval, tolerance)
    }

    /// Admit a request at `t_ms` if the bucket has a token.
    pub(crate) fn try_take(&mut self, t_ms: i64, limit: RateLimit) -> bool {
        let (interval, tolerance) = Self::params(limit);
        let t = t_ms.saturating_mul(1000);
        let tat = self.tat_us.max(t);
        if tat - t > tolerance {
            return false;
        }
        self.tat_us = tat + interval;
        true
    }

    /// When may a request arriving at `t_ms` go (queueing instead of refusing)?
    pub(crate) fn schedule(&mut self, t_ms: i64, limit: RateLimit) -> i64 {
        let (interval, tolerance) = Self::params(limit);
        let t = t_ms.saturating_mul(1000);
        let tat = self.tat_us.max(t);
        let go = t.max(tat - tolerance);
        self.tat_us = tat.max(go) + interval;
        (go + 999) / 1000
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncState {
    Connected,
    PendingResync,
}

#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub id: String,
    pub region: String,
    pub arn: String,
    pub status: String,
    pub engine: String,
    pub engine_version: String,
    pub deletion_protection: bool,
    pub storage_encrypted: bool,
    pub kms_key_id: Option<String>,
    /// The global cluster it is a member of.
    pub global: Option<String>,
    /// The global cluster it was detached from (stale mode).
    pub former_global: Option<String>,
    pub sync: SyncState,
    /// Replicated every write the global history committed at or before this time (ms).
    pub cursor: i64,
    /// Refuses writes: made read-only by a switchover, or fenced after a failover cut.
    pub read_only: bool,
    /// Still the global writer but past a failover cut: what it accepts is lost. Holds the
    /// FailoverGlobalCluster call's seq.
    pub divergent: Option<u64>,
    /// Failed over away from while its region was down: handled when the region is back.
    pub awaiting_recovery: bool,
    pub snapshots_in_progress: u32,
    pub last_write_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub cluster: String,
    pub status: String,
    pub instance_class: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub cluster: String,
    pub snapshot_type: String,
    pub status: String,
    pub created_at: i64,
    /// The data it holds is the cluster's as of this time.
    pub data_as_of: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    pub status: &'static str,
    pub from: RegionalId,
    pub to: RegionalId,
    pub data_loss_allowed: bool,
    /// Switchover: when the primary became read-only.
    pub read_only_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Global {
    pub id: String,
    pub arn: String,
    pub engine: String,
    pub engine_version: String,
    pub storage_encrypted: bool,
    pub members: BTreeSet<RegionalId>,
    pub writer: Option<RegionalId>,
    pub in_flight: Option<InFlight>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RecordEntry {
    pub current: Option<DnsRecord>,
    /// (visible on the data plane from, value): the value answers DNS once INSYNC.
    pub history: Vec<(i64, Option<DnsRecord>)>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Zone {
    pub records: BTreeMap<RecordKey, RecordEntry>,
}

#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub insync_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct EcsSvc {
    pub desired: u32,
    pub running: u32,
    /// (RUNNING at, count), in launch order.
    pub launching: Vec<(i64, u32)>,
    /// (stopped at, count).
    pub stopping: Vec<(i64, u32)>,
    /// The desired count a TasksReachedDesired fact was emitted for.
    pub reached_fact_for: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub min: u32,
    pub max: u32,
}

/// A provisioned group: what the world needs from its spec to map DNS targets to regions
/// and services to groups.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub spec: FailoverGroupSpec,
}

#[derive(Debug, Clone)]
pub(crate) struct App {
    pub rate: u32,
    pub t0: i64,
    pub running: bool,
    pub next_n: u64,
    pub writes: Vec<WriteRecord>,
    /// Indices into `writes` of the global history, with their commit time (ascending).
    pub history: Vec<(i64, usize)>,
}

impl App {
    fn write_time(&self, n: u64) -> i64 {
        let rate = u64::from(self.rate.max(1));
        self.t0 + i64::try_from(n.saturating_mul(1000) / rate).unwrap_or(i64::MAX)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Scheduled(ScheduledFault),
    SwitchoverReadOnly(String),
    SwitchoverPromote(String),
    FailoverPromote(String),
    ClusterCreated(RegionalId),
    ClusterDeleted(RegionalId),
    InstanceCreated(RegionalId),
    InstanceDeleted(RegionalId),
    SnapshotDone(RegionalId),
    Rejoin(RegionalId),
    ResyncDone(RegionalId),
    AutoScalingClamp(ServiceKey),
    ChangeInSync(String),
    /// rdsReplica: PromoteReadReplica finished rebooting the replica as a primary.
    ReplicaPromoted(RegionalId),
}

/// Context of the call being applied.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub seq: u64,
    pub caller: String,
    pub now: i64,
}

pub(crate) struct State {
    pub cfg: SimConfig,
    /// Callers frozen until this virtual time (a stopped VM, a long GC pause): every call
    /// they make, to the cloud or the store, waits until then.
    pub paused_until: BTreeMap<String, i64>,
    /// `advance` has run at least once (at `now`).
    pub advanced_once: bool,
    pub epoch: Timestamp,
    pub now: i64,
    pub rng: SplitMix64,
    pub seq: u64,
    pub down: BTreeMap<String, OutageScope>,
    /// Regions whose app tier (ECS, the load balancer) is down, their database up.
    pub app_tier_down: BTreeSet<String>,
    pub route53_forced_down: bool,
    pub globals: BTreeMap<String, Global>,
    pub clusters: BTreeMap<RegionalId, Cluster>,
    /// Added and removed only through `add_instance` and `remove_instance`.
    pub instances: BTreeMap<RegionalId, Instance>,
    /// (region, cluster) -> its instances' ids.
    pub instance_index: BTreeMap<RegionalId, BTreeSet<String>>,
    pub snapshots: BTreeMap<RegionalId, Snapshot>,
    pub zones: BTreeMap<String, Zone>,
    /// ARC clusters and controls, and the failover records they flip.
    pub recovery: crate::recovery::Recovery,
    pub changes: BTreeMap<String, Change>,
    pub change_counter: u64,
    pub services: BTreeMap<ServiceKey, EcsSvc>,
    /// Services whose tasks may still change (launches or stops under way, or the settling
    /// not yet a fact): the only ones a tick looks at.
    pub unsettled: BTreeSet<ServiceKey>,
    pub targets: BTreeMap<RegionalId, Target>,
    pub launch_buckets: BTreeMap<String, Gcra>,
    pub api_buckets: BTreeMap<ApiBucketKey, Gcra>,
    pub groups: Vec<Group>,
    pub events: BTreeMap<EventKey, Event>,
    pub event_seq: u64,
    pub deferred: BTreeMap<String, Vec<Event>>,
    pub apps: BTreeMap<String, App>,
    pub lag_override: BTreeMap<String, i64>,
    /// CloudWatch alarms by region and name.
    pub alarms: BTreeMap<RegionalId, crate::config::AlarmModel>,
    /// Links cut between one caller and one region's endpoints (the region itself is up
    /// for everyone else).
    pub partitions: BTreeSet<CallerLink>,
    pub fault_rules: Vec<crate::config::FaultRule>,
    pub writable: BTreeMap<RegionalId, bool>,
    /// spec.dependencies: buckets and global tables.
    pub deps: crate::dependencies::Dependencies,
    /// What the continuous pre-flight checks read: orderable classes, DB-instance quotas.
    pub offerings: crate::offerings::Offerings,
    // Logs.
    pub calls: Vec<CallRecord>,
    pub facts: Vec<Fact>,
    pub writable_log: Vec<WritableChange>,
    pub deletions: Vec<DeletionRecord>,
    pub dns_log: Vec<DnsChangeRecord>,
    pub lease_log: Vec<LeaseLogEntry>,
    /// The store, kept here so that its operations share the world's sequence.
    pub store: crate::store::MemStoreData,
}

/// 2026-01-01T00:00:00Z: the virtual epoch unless `SimConfig::epoch` says otherwise.
pub const EPOCH: Timestamp = Timestamp::from_millis(1_767_225_600_000);

impl State {
    pub(crate) fn new(cfg: SimConfig) -> Self {
        let seed = cfg.seed;
        let epoch = cfg.epoch;
        State {
            cfg,
            paused_until: BTreeMap::new(),
            advanced_once: false,
            epoch,
            now: 0,
            rng: SplitMix64::new(seed),
            seq: 0,
            down: BTreeMap::new(),
            app_tier_down: BTreeSet::new(),
            route53_forced_down: false,
            alarms: BTreeMap::new(),
            partitions: BTreeSet::new(),
            globals: BTreeMap::new(),
            clusters: BTreeMap::new(),
            instances: BTreeMap::new(),
            instance_index: BTreeMap::new(),
            snapshots: BTreeMap::new(),
            zones: BTreeMap::new(),
            recovery: Default::default(),
            changes: BTreeMap::new(),
            change_counter: 0,
            services: BTreeMap::new(),
            unsettled: BTreeSet::new(),
            targets: BTreeMap::new(),
            launch_buckets: BTreeMap::new(),
            api_buckets: BTreeMap::new(),
            groups: Vec::new(),
            events: BTreeMap::new(),
            event_seq: 0,
            deferred: BTreeMap::new(),
            apps: BTreeMap::new(),
            lag_override: BTreeMap::new(),
            fault_rules: Vec::new(),
            writable: BTreeMap::new(),
            deps: Default::default(),
            offerings: Default::default(),
            calls: Vec::new(),
            facts: Vec::new(),
            writable_log: Vec::new(),
            deletions: Vec::new(),
            dns_log: Vec::new(),
            lease_log: Vec::new(),
            store: crate::store::MemStoreData::default(),
        }
    }

    pub(crate) fn ts(&self, at_ms: i64) -> Timestamp {
        self.epoch.plus_millis(at_ms)
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn fact(&mut self, at_ms: i64, kind: FactKind) {
        let at = self.ts(at_ms);
        self.facts.push(Fact { at_ms, at, kind });
    }

    pub(crate) fn push_event(&mut self, at: i64, ev: Event) {
        self.event_seq += 1;
        self.events.insert(
            EventKey {
                at,
                seq: self.event_seq,
            },
            ev,
        );
    }

    /// A long-running operation's duration, possibly slowed down by a seeded draw.
    pub(crate) fn op_duration(&mut self, d: Duration) -> i64 {
        let base = ms(d);
        let draw = self.rng.next_f64();
        if draw < self.cfg.faults.slow_operation {
            base.saturating_mul(i64::from(self.cfg.faults.slow_factor.max(1)))
        } else {
            base
        }
    }

    /// How long `caller` must still wait before its call proceeds (it is paused).
    pub(crate) fn pause_left(&self, caller: &str) -> Duration {
        let until = self.paused_until.get(caller).copied().unwrap_or(0);
        Duration::from_millis(u64::try_from(until - self.now).unwrap_or(0))
    }

    pub(crate) fn region_up(&self, region: &str) -> bool {
        !self.down.contains_key(region)
    }

    /// Can `caller` reach `region`'s endpoints? Not when the region is down, nor when the
    /// link between the two is cut.
    pub(crate) fn reachable_by(&self, caller: &str, region: &str) -> bool {
        self.region_up(region) && !self.partitions.contains(&CallerLink::new(caller, region))
    }

    /// The state of alarm `name` in `region` now (None: no such alarm).
    pub(crate) fn alarm_state(&self, region: &str, name: &str) -> Option<drctl_cloud::AlarmState> {
        use crate::config::AlarmModel;
        match self.alarms.get(&RegionalId::new(region, name))? {
            AlarmModel::WhileRegionDown { region: watched } => Some(if self.region_up(watched) {
                drctl_cloud::AlarmState::Ok
            } else {
                drctl_cloud::AlarmState::Alarm
            }),
            AlarmModel::Stuck(state) => Some(*state),
        }
    }

    /// The Route 53 control plane lives in us-east-1 (aws-facts).
    pub(crate) fn route53_up(&self) -> bool {
        !self.route53_forced_down && self.down.get("us-east-1") != Some(&OutageScope::Full)
    }

    /// Replication lag of the secondary in `region` at `t`, in ms.
    pub(crate) fn lag_ms(&self, region: &str, t: i64) -> i64 {
        if let Some(l) = self.lag_override.get(region) {
            return *l;
        }
        let base = ms(self.cfg.timings.replication_lag);
        let jitter = ms(self.cfg.timings.replication_lag_jitter);
        if jitter <= 0 {
            return base;
        }
        let second = u64::try_from(t.max(0) / 1000).unwrap_or(0);
        let h = mix(hash_str(self.cfg.seed, region) ^ second);
        base + i64::try_from(h % (u64::try_from(jitter).unwrap_or(0) + 1)).unwrap_or(0)
    }

    // -----------------------------------------------------------------------------------
    // The lazy clock.
    // -----------------------------------------------------------------------------------

    pub(crate) fn advance(&mut self, now: i64) {
        if now < self.now {
            return;
        }
        // Already advanced to this instant with nothing due since: every mutation refreshes
        // what it changed itself, so there is nothing to do (most calls of a busy fleet
        // arrive at instants the world has just been advanced to).
        let event_due = self.events.keys().next().is_some_and(|k| k.at <= now);
        if now == self.now && self.advanced_once && !event_due {
            return;
        }
        self.advanced_once = true;
        loop {
            let next_event = self.events.keys().next().copied().filter(|k| k.at <= now);
            // The world is constant between two events: the application's writes up to the
            // next event (events win ties) go in one batch.
            let horizon = next_event.map_or(now, |k| k.at - 1);
            self.app_writes_until(horizon);
            let Some(key) = next_event else { break };
            let Some(ev) = self.events.remove(&key) else {
                break;
            };
            self.tick(key.at);
            self.replicate_for(key.at, &ev);
            self.handle_event(key.at, ev);
            self.refresh_writable(key.at);
            self.note_endpoints(key.at);
        }
        // Between events only replication and task launches move, and neither changes which
        // cluster accepts writes: every event and every RDS mutation refreshes that itself.
        self.tick(now);
    }

    /// Continuous processes up to `t`: replication and task launches.
    fn tick(&mut self, t: i64) {
        if t < self.now {
            return;
        }
        self.now = t;
        // Only services with launches or stops under way, or whose settling is not yet a
        // fact, can change, and each of those was put in `unsettled` by whatever unsettled
        // it: a fleet's settled services cost nothing per tick, not even a look.
        if self.unsettled.is_empty() {
            return;
        }
        self.tick_services(t);
        self.note_endpoints(t);
    }

    fn tick_services(&mut self, t: i64) {
        let keys: Vec<ServiceKey> = self.unsettled.iter().cloned().collect();
        for k in keys {
            self.advance_service(&k, t);
            let settled = self.services.get(&k).is_none_or(|s| {
                s.launching.is_empty()
                    && s.stopping.is_empty()
                    && s.reached_fact_for == Some(s.desired)
            });
            // A dark region's services wait for its return, which reconciles them again.
            if settled || !self.compute_up(&k.region) {
                self.unsettled.remove(&k);
            }
        }
    }

    /// Replication into `global`'s secondaries up to `t`. Replication is continuous but
    /// only observable through a few doors (the lag metric, a switchover's sync check, a
    /// failover's cut), so it is brought up to date lazily: when one of those looks, and
    /// before anything that could stop or start it (an event of the group, an RDS mutation,
    /// a fault) changes the conditions. A fleet's call then costs its own group, not the
    /// fleet: the world stays linear in its size.
    pub(crate) fn replicate(&mut self, global: &str, t: i64) {
        let Some(g) = self.globals.get(global) else {
            return;
        };
        // Past a failover cut nothing more reaches the secondaries from the old primary.
        let cut = g.in_flight.as_ref().is_some_and(|f| f.data_loss_allowed);
        let Some(writer) = g
            .writer
            .clone()
            .filter(|w| !cut && self.region_up(&w.region))
        else {
            return;
        };
        let members: Vec<RegionalId> = g
            .members
            .iter()
            .filter(|m| **m != writer && self.region_up(&m.region))
            .cloned()
            .collect();
        for m in members {
            let lag = self.lag_ms(&m.region, t);
            if let Some(c) = self.clusters.get_mut(&m) {
                if c.sync == SyncState::Connected && c.status != "creating" {
                    c.cursor = c.cursor.max(t - lag);
                }
            }
        }
    }

    /// `replicate` for every global database: before a change that can touch any of them
    /// (a region's outage or return, a lag override, an RDS mutation).
    pub(crate) fn replicate_all(&mut self, t: i64) {
        let ids: Vec<String> = self.globals.keys().cloned().collect();
        for id in ids {
            self.replicate(&id, t);
        }
    }

    /// `replicate` for what an event is about to change.
    fn replicate_for(&mut self, t: i64, ev: &Event) {
        let cluster_global =
            |st: &State, k: &RegionalId| st.clusters.get(k).and_then(|c| c.global.clone());
        let global = match ev {
            Event::Scheduled(_) => return self.replicate_all(t),
            Event::SwitchoverReadOnly(g)
            | Event::SwitchoverPromote(g)
            | Event::FailoverPromote(g) => Some(g.clone()),
            Event::ClusterCreated(k)
            | Event::ClusterDeleted(k)
            | Event::SnapshotDone(k)
            | Event::Rejoin(k)
            | Event::ResyncDone(k)
            | Event::ReplicaPromoted(k) => cluster_global(self, k),
            // Instances, scaling and DNS do not touch replication.
            Event::InstanceCreated(_)
            | Event::InstanceDeleted(_)
            | Event::AutoScalingClamp(_)
            | Event::ChangeInSync(_) => None,
        };
        if let Some(g) = global {
            self.replicate(&g, t);
        }
    }

    /// Re-queue an event for when `region` is back.
    pub(crate) fn defer(&mut self, region: &str, ev: Event) {
        self.deferred
            .entry(region.to_string())
            .or_default()
            .push(ev);
    }

    fn handle_event(&mut self, t: i64, ev: Event) {
        match ev {
            Event::Scheduled(f) => self.apply_scheduled(t, f),
            Event::SwitchoverReadOnly(g) => self.switchover_read_only(t, &g),
            Event::SwitchoverPromote(g) => self.switchover_promote(t, &g),
            Event::FailoverPromote(g) => self.failover_promote(t, &g),
            Event::ClusterCreated(k) => self.cluster_created(t, k),
            Event::ClusterDeleted(k) => self.cluster_deleted(t, k),
            Event::InstanceCreated(k) => self.instance_created(t, k),
            Event::InstanceDeleted(k) => self.instance_deleted(t, k),
            Event::SnapshotDone(k) => self.snapshot_done(t, k),
            Event::Rejoin(k) => self.rejoin(t, k),
            Event::ResyncDone(k) => self.resync_done(t, k),
            Event::AutoScalingClamp(k) => self.autoscaling_clamp(t, k),
            Event::ChangeInSync(id) => self.change_insync(t, id),
            Event::ReplicaPromoted(k) => self.replica_promoted(t, k),
        }
    }

    pub(crate) fn apply_scheduled(&mut self, t: i64, f: ScheduledFault) {
        match f {
            ScheduledFault::RegionOutage { region, scope } => self.region_down(t, &region, scope),
            ScheduledFault::RegionRecover { region } => self.region_recover(t, &region),
            ScheduledFault::AppTierOutage { region } => self.app_tier_outage(t, &region),
            ScheduledFault::AppTierRecover { region } => self.app_tier_recover(t, &region),
            ScheduledFault::Route53ControlPlaneOutage => {
                if !self.route53_forced_down {
                    self.route53_forced_down = true;
                    self.fact(t, FactKind::Route53ControlPlaneDown);
                }
            }
            ScheduledFault::Route53ControlPlaneRecover => {
                if self.route53_forced_down {
                    self.route53_forced_down = false;
                    self.fact(t, FactKind::Route53ControlPlaneUp);
                }
            }
            ScheduledFault::SetRejoinMode(m) => self.cfg.rejoin_mode = m,
            ScheduledFault::SetServiceFaults { service, faults } => {
                if let Some(s) = service_from_str(&service) {
                    *self.cfg.faults.for_service_mut(s) = faults;
                }
            }
            ScheduledFault::SetReplicationLag { region, lag_ms } => match lag_ms {
                Some(l) => {
                    self.lag_override
                        .insert(region, i64::try_from(l).unwrap_or(i64::MAX));
                }
                None => {
                    self.lag_override.remove(&region);
                }
            },
        }
    }

    fn region_down(&mut self, t: i64, region: &str, scope: OutageScope) {
        if self.down.contains_key(region) {
            self.down.insert(region.to_string(), scope);
            return;
        }
        let r53_before = self.route53_up();
        self.down.insert(region.to_string(), scope);
        self.fact(
            t,
            FactKind::RegionDown {
                region: region.to_string(),
                scope: format!("{scope:?}"),
            },
        );
        if r53_before && !self.route53_up() {
            self.fact(t, FactKind::Route53ControlPlaneDown);
        }
        // A region outage stops its tasks.
        for (k, s) in self.services.iter_mut() {
            if k.region == region {
                s.running = 0;
                s.launching.clear();
                s.stopping.clear();
                s.reached_fact_for = None;
            }
        }
    }

    fn region_recover(&mut self, t: i64, region: &str) {
        if !self.down.contains_key(region) {
            return;
        }
        let r53_before = self.route53_up();
        self.down.remove(region);
        self.fact(
            t,
            FactKind::RegionUp {
                region: region.to_string(),
            },
        );
        if !r53_before && self.route53_up() {
            self.fact(t, FactKind::Route53ControlPlaneUp);
        }
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
        if let Some(evs) = self.deferred.remove(region) {
            for ev in evs {
                self.push_event(t, ev);
            }
        }
        let waiting: Vec<RegionalId> = self
            .clusters
            .iter()
            .filter(|(k, c)| k.region == region && c.awaiting_recovery)
            .map(|(k, _)| k.clone())
            .collect();
        for k in waiting {
            if let Some(c) = self.clusters.get_mut(&k) {
                c.awaiting_recovery = false;
            }
            self.old_primary_back(t, &k);
        }
    }

    // -----------------------------------------------------------------------------------
    // Writability (invariant 1) and the application.
    // -----------------------------------------------------------------------------------

    pub(crate) fn has_available_instance(&self, k: &RegionalId) -> bool {
        self.instances_of(k).any(|(_, i)| i.status == "available")
    }

    /// The instances of cluster `k` (region, cluster id), through the index: a cluster's
    /// look at its instances costs its instances, not the fleet's.
    pub(crate) fn instances_of<'a>(
        &'a self,
        k: &RegionalId,
    ) -> impl Iterator<Item = (&'a String, &'a Instance)> + 'a {
        let region = k.region.clone();
        self.instance_index
            .get(k)
            .into_iter()
            .flatten()
            .filter_map(move |id| {
                let ik = RegionalId::new(region.clone(), id.clone());
                self.instances.get_key_value(&ik).map(|(ik, i)| (&ik.id, i))
            })
    }

    /// Every instance is added through here, so that the index stays whole.
    pub(crate) fn add_instance(&mut self, k: RegionalId, instance: Instance) {
        self.instance_index
            .entry(RegionalId::new(k.region.clone(), instance.cluster.clone()))
            .or_default()
            .insert(k.id.clone());
        self.instances.insert(k, instance);
    }

    /// Every instance is removed through here, so that the index stays whole.
    pub(crate) fn remove_instance(&mut self, k: &RegionalId) -> Option<Instance> {
        let instance = self.instances.remove(k)?;
        let ck = RegionalId::new(k.region.clone(), instance.cluster.clone());
        if let Some(ids) = self.instance_index.get_mut(&ck) {
            ids.remove(&k.id);
            if ids.is_empty() {
                self.instance_index.remove(&ck);
            }
        }
        Some(instance)
    }

    /// Could this cluster accept an application write right now?
    pub(crate) fn accepts_writes(&self, k: &RegionalId) -> bool {
        self.accepts_writes_given(k, self.has_available_instance(k))
    }

    /// `accepts_writes`, with whether the cluster has an available instance known already.
    fn accepts_writes_given(&self, k: &RegionalId, has_available_instance: bool) -> bool {
        let Some(c) = self.clusters.get(k) else {
            return false;
        };
        if !self.region_up(&k.region) || c.read_only || !is_operational(&c.status) {
            return false;
        }
        // An old primary whose fencing failed keeps taking writes until Aurora rejoins or
        // detaches it (aws-facts: fencing is best effort).
        let role_ok = match &c.global {
            Some(g) => {
                c.divergent.is_some()
                    || self
                        .globals
                        .get(g)
                        .is_some_and(|g| g.writer.as_ref() == Some(k))
            }
            None => true,
        };
        role_ok && has_available_instance
    }

    pub(crate) fn refresh_writable(&mut self, t: i64) {
        // After every RDS mutation and event; each cluster's instances through the index.
        let mut changes = Vec::new();
        for k in self.clusters.keys() {
            if let Some(change) = self.writable_change(k, self.has_available_instance(k)) {
                changes.push(change);
            }
        }
        let gone: Vec<RegionalId> = self
            .writable
            .iter()
            .filter(|(k, w)| **w && !self.clusters.contains_key(*k))
            .map(|(k, _)| k.clone())
            .collect();
        changes.extend(gone.into_iter().map(|k| (k, false, false)));
        self.log_writable(t, changes);
    }

    /// `refresh_writable` for `clusters` only (with whether each has an available
    /// instance), when nothing else can have changed (a group just provisioned):
    /// provisioning a fleet stays linear in its size.
    pub(crate) fn refresh_writable_of(&mut self, t: i64, clusters: &[(RegionalId, bool)]) {
        let changes: Vec<_> = clusters
            .iter()
            .filter_map(|(k, available)| self.writable_change(k, *available))
            .collect();
        self.log_writable(t, changes);
    }

    /// Whether `k`'s writability differs from what was last logged: (key, now, standalone).
    fn writable_change(&self, k: &RegionalId, available: bool) -> Option<(RegionalId, bool, bool)> {
        let w = self.accepts_writes_given(k, available);
        if self.writable.get(k).copied().unwrap_or(false) == w {
            return None;
        }
        let standalone = self.clusters.get(k).is_some_and(|c| c.global.is_none());
        Some((k.clone(), w, standalone))
    }

    pub(crate) fn log_writable(&mut self, t: i64, changes: Vec<(RegionalId, bool, bool)>) {
        for (k, w, standalone) in changes {
            self.writable.insert(k.clone(), w);
            self.writable_log.push(WritableChange {
                at_ms: t,
                cluster: k.to_string(),
                writable: w,
                standalone,
            });
        }
    }

    fn app_writes_until(&mut self, horizon: i64) {
        let globals: Vec<String> = self
            .apps
            .iter()
            .filter(|(_, a)| a.running && a.write_time(a.next_n) <= horizon)
            .map(|(g, _)| g.clone())
            .collect();
        for g in globals {
            self.app_write_batch(&g, horizon);
        }
    }

    /// Every write of `global`'s application due by `horizon`, against one unchanging world.
    fn app_write_batch(&mut self, global: &str, horizon: i64) {
        let Some(first_t) = self.apps.get(global).map(|a| a.write_time(a.next_n)) else {
            return;
        };
        // What happens to a write in this stretch of time.
        enum Fate {
            Rejected(String),
            Committed {
                key: RegionalId,
                cluster: String,
                standalone: bool,
                lost: Option<(&'static str, Option<u64>, bool)>,
            },
        }
        let fate = match self.app_target_cluster(first_t, global) {
            Err(reason) => Fate::Rejected(reason),
            Ok(k) if !self.accepts_writes(&k) => {
                Fate::Rejected(format!("{k} does not accept writes"))
            }
            Ok(k) if self.pair_app_fenced(global, &k) => Fate::Rejected(format!(
                "the application in {} is scaled to zero (fenced)",
                k.region
            )),
            Ok(k) => match self.clusters.get(&k) {
                None => Fate::Rejected(format!("{k} does not exist")),
                Some(c) if c.global.is_none() => Fate::Committed {
                    key: k.clone(),
                    cluster: k.to_string(),
                    standalone: true,
                    lost: Some(("DetachedCluster", None, false)),
                },
                Some(c) => Fate::Committed {
                    key: k.clone(),
                    cluster: k.to_string(),
                    standalone: false,
                    lost: c
                        .divergent
                        .map(|seq| ("UnfencedOldPrimary", Some(seq), true)),
                },
            },
        };
        let Some(app) = self.apps.get_mut(global) else {
            return;
        };
        let mut last_commit = None;
        loop {
            let t = app.write_time(app.next_n);
            if t > horizon {
                break;
            }
            let mut rec = WriteRecord {
                n: app.next_n,
                at_ms: t,
                committed_at: None,
                standalone: false,
                rejected: None,
                lost: None,
            };
            match &fate {
                Fate::Rejected(reason) => rec.rejected = Some(reason.clone()),
                Fate::Committed {
                    cluster,
                    standalone,
                    lost,
                    ..
                } => {
                    rec.committed_at = Some(cluster.clone());
                    rec.standalone = *standalone;
                    rec.lost = lost.map(|(reason, call_seq, allow_data_loss)| LossCause {
                        at_ms: t,
                        reason: reason.to_string(),
                        call_seq,
                        allow_data_loss,
                    });
                    if rec.lost.is_none() {
                        app.history.push((t, app.writes.len()));
                    }
                    last_commit = Some(t);
                }
            }
            app.writes.push(rec);
            app.next_n += 1;
        }
        if let (Some(t), Fate::Committed { key, .. }) = (last_commit, &fate) {
            if let Some(c) = self.clusters.get_mut(key) {
                c.last_write_at = Some(t);
            }
        }
    }

    fn app_target_cluster(&self, t: i64, global: &str) -> Result<RegionalId, String> {
        let g = self
            .globals
            .get(global)
            .ok_or_else(|| format!("global cluster {global} does not exist"))?;
        match self.cfg.app_target {
            AppTarget::GlobalWriter => g
                .writer
                .clone()
                .ok_or_else(|| "the global cluster has no writer".to_string()),
            AppTarget::FollowDns => {
                let region = self
                    .groups
                    .iter()
                    .find(|gr| gr.spec.database.global_cluster_identifier == global)
                    .and_then(|gr| self.data_plane_region(gr, t))
                    .ok_or_else(|| "DNS does not resolve to a known region".to_string())?;
                self.clusters
                    .iter()
                    .find(|(k, c)| {
                        k.region == region
                            && (c.global.as_deref() == Some(global)
                                || c.former_global.as_deref() == Some(global))
                    })
                    .map(|(k, _)| k.clone())
                    .ok_or_else(|| format!("no cluster of {global} in {region}"))
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Helpers shared by the services.
    // -----------------------------------------------------------------------------------

    pub(crate) fn group_of_record(&self, zone: &str, name: &str) -> Option<usize> {
        self.groups.iter().position(|g| {
            g.spec.dns.hosted_zone_id == zone && norm_name(&g.spec.dns.record_name) == name
        })
    }

    /// The region whose spec target `record` points at.
    pub(crate) fn record_region(&self, group: usize, record: &DnsRecord) -> Option<String> {
        let g = self.groups.get(group)?;
        g.spec.dns.targets.iter().find_map(|(region, target)| {
            let hit = match (&record.alias, &target.alias_dns_name, &target.value) {
                (Some(a), Some(t), _) => norm_name(&a.dns_name) == norm_name(t),
                (None, _, Some(v)) => record
                    .values
                    .first()
                    .is_some_and(|x| norm_name(x) == norm_name(v)),
                _ => false,
            };
            hit.then(|| region.clone())
        })
    }

    /// The region DNS answers with at `t` (changes count once INSYNC).
    pub(crate) fn data_plane_region(&self, group: &Group, t: i64) -> Option<String> {
        let idx = self.groups.iter().position(|g| std::ptr::eq(g, group))?;
        if self.is_routing_control_group(idx) || self.is_health_check_group(idx) {
            return self.failover_answer(idx, t);
        }
        let zone = self.zones.get(&group.spec.dns.hosted_zone_id)?;
        let key = RecordKey {
            name: norm_name(&group.spec.dns.record_name),
            record_type: group.spec.dns.record_type.as_str().to_string(),
        };
        let entry = zone.records.get(&key)?;
        let visible = entry
            .history
            .iter()
            .rev()
            .find(|(from, _)| *from <= t)
            .and_then(|(_, r)| r.as_ref())?;
        self.record_region(idx, visible)
    }
}

pub(crate) fn is_operational(status: &str) -> bool {
    matches!(status, "available" | "backing-up" | "modifying")
}

/// Route 53 names: lower case, fully qualified with the trailing dot.
pub(crate) fn norm_name(s: &str) -> String {
    drctl_cloud::dns_name::fqdn(s)
}

pub(crate) fn service_from_str(s: &str) -> Option<Service> {
    [
        Service::Rds,
        Service::Route53,
        Service::Ecs,
        Service::AutoScaling,
        Service::CloudWatch,
        Service::RoutingControl,
        Service::RecoveryControlConfig,
        Service::Http,
    ]
    .into_iter()
    .find(|x| x.as_str() == s)
}

pub(crate) fn cloud_err(
    category: ErrorCategory,
    service: Service,
    operation: &'static str,
    code: &str,
    message: impl Into<String>,
) -> CloudError {
    CloudError::new(category, service, operation, code, message)
}
