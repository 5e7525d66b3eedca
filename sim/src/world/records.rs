//! `SimWorld`: the records (calls, facts, the run record), the invariant check and ground
//! truth.

use super::*;

impl SimWorld {
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
}
