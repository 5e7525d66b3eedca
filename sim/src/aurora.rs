//! Aurora Global Database in the world: membership, IsWriter, FailoverState, sync status,
//! the replication-lag model, switchover and failover with exact data-loss accounting,
//! rejoin or stale old primaries, and the create/delete lifecycles with the real API's
//! refusals (aws-facts.md, "Aurora Global Database").

use drctl_cloud::{
    CloudError, CloudResult, ClusterSnapshot, CreateInstance, CreateSecondaryCluster, DbCluster,
    DbInstance, ErrorCategory, FailoverState, GlobalCluster, GlobalMember, Service, SnapshotQuery,
};
use std::collections::BTreeSet;

use crate::config::RejoinMode;
use crate::keys::*;
use crate::record::{DeletionRecord, FactKind, LossCause};
use crate::state::*;

const RDS: Service = Service::Rds;

fn rds_err(cat: ErrorCategory, op: &'static str, code: &str, msg: impl Into<String>) -> CloudError {
    cloud_err(cat, RDS, op, code, msg)
}

pub(crate) fn cluster_arn(region: &str, id: &str) -> String {
    format!("arn:aws:rds:{region}:{ACCOUNT}:cluster:{id}")
}

pub(crate) fn global_arn(id: &str) -> String {
    format!("arn:aws:rds::{ACCOUNT}:global-cluster:{id}")
}

/// A customer-managed key usable by a cluster in `region`: not an AWS-managed alias, and,
/// when given as an ARN, in that region (aws-facts: encrypted cross-region secondaries need
/// a customer-managed KMS key in their own region).
pub(crate) fn kms_usable_in(key: &str, region: &str) -> bool {
    if key.contains("alias/aws/") {
        return false;
    }
    match key.strip_prefix("arn:") {
        Some(_) => drctl_cloud::region_of_arn(key) == Some(region),
        None => true,
    }
}

impl State {
    /// A failover's cut (FailoverGlobalCluster with data loss, or PromoteReadReplica): the
    /// writes the new writer had not replayed by `cursor` are lost, and the loss is a fact.
    pub(crate) fn cut_history(&mut self, ctx: &Ctx, global: &str, cursor: i64, reason: &str) {
        let mut lost = 0u64;
        if let Some(app) = self.apps.get_mut(global) {
            let keep = app.history.partition_point(|(commit, _)| *commit <= cursor);
            for (_, idx) in app.history.drain(keep..) {
                if let Some(w) = app.writes.get_mut(idx) {
                    w.lost = Some(LossCause {
                        at_ms: ctx.now,
                        reason: reason.to_string(),
                        call_seq: Some(ctx.seq),
                        allow_data_loss: true,
                    });
                    lost += 1;
                }
            }
        }
        self.fact(
            ctx.now,
            FactKind::WritesLost {
                global: global.to_string(),
                count: lost,
                cause_call_seq: ctx.seq,
            },
        );
    }

    fn global_or_err(&self, op: &'static str, id: &str) -> CloudResult<&Global> {
        self.globals.get(id).ok_or_else(|| {
            rds_err(
                ErrorCategory::NeedsSpecChange,
                op,
                "GlobalClusterNotFoundFault",
                format!("Global cluster {id} not found"),
            )
        })
    }

    fn cluster_or_err(&self, op: &'static str, region: &str, id: &str) -> CloudResult<&Cluster> {
        self.clusters
            .get(&RegionalId::new(region, id))
            .ok_or_else(|| {
                rds_err(
                    ErrorCategory::NeedsSpecChange,
                    op,
                    "DBClusterNotFoundFault",
                    format!("DBCluster {id} not found in {region}"),
                )
            })
    }

    // -----------------------------------------------------------------------------------
    // Reads.
    // -----------------------------------------------------------------------------------

    pub(crate) fn describe_global_cluster(&self, id: &str) -> Option<GlobalCluster> {
        let g = self.globals.get(id)?;
        let members = g
            .members
            .iter()
            .filter_map(|k| {
                let c = self.clusters.get(k)?;
                let is_writer = g.writer.as_ref() == Some(k);
                let sync = if is_writer {
                    None
                } else if c.sync == SyncState::Connected
                    && c.status != "creating"
                    && !c.awaiting_recovery
                {
                    Some("connected".to_string())
                } else {
                    Some("pending-resync".to_string())
                };
                Some(GlobalMember {
                    cluster_arn: c.arn.clone(),
                    is_writer,
                    synchronization_status: sync,
                })
            })
            .collect();
        let arn_of = |k: &RegionalId| cluster_arn(&k.region, &k.id);
        let failover_state = g.in_flight.as_ref().map(|f| FailoverState {
            status: f.status.to_string(),
            from_cluster_arn: Some(arn_of(&f.from)),
            to_cluster_arn: Some(arn_of(&f.to)),
            is_data_loss_allowed: f.data_loss_allowed,
        });
        Some(GlobalCluster {
            identifier: g.id.clone(),
            arn: g.arn.clone(),
            engine: Some(g.engine.clone()),
            engine_version: Some(g.engine_version.clone()),
            status: Some(
                g.in_flight
                    .as_ref()
                    .map_or("available", |f| f.status)
                    .to_string(),
            ),
            members,
            failover_state,
            // The form AWS gives it: <name>.global-<id>.global.rds.amazonaws.com.
            writer_endpoint: Some(format!(
                "{}.global-sim{:08x}.global.rds.amazonaws.com",
                g.id,
                crate::rng::hash_str(0, &g.id) as u32
            )),
        })
    }

    pub(crate) fn describe_clusters(&self, region: &str, ids: &[String]) -> Vec<DbCluster> {
        // Asked by id: one lookup each (in id order, as a scan would give them), not a scan
        // of the fleet's clusters per call.
        let asked: Vec<(&RegionalId, &Cluster)> = if ids.is_empty() {
            self.clusters
                .iter()
                .filter(|(k, _)| k.region == region)
                .collect()
        } else {
            let ids: BTreeSet<&String> = ids.iter().collect();
            ids.into_iter()
                .filter_map(|id| {
                    self.clusters
                        .get_key_value(&RegionalId::new(region, id.clone()))
                })
                .collect()
        };
        asked
            .into_iter()
            .map(|(k, c)| DbCluster {
                identifier: c.id.clone(),
                arn: c.arn.clone(),
                region: c.region.clone(),
                status: c.status.clone(),
                engine: c.engine.clone(),
                engine_version: c.engine_version.clone(),
                deletion_protection: c.deletion_protection,
                storage_encrypted: c.storage_encrypted,
                kms_key_id: c.kms_key_id.clone(),
                instances: self.instances_of(k).map(|(id, _)| id.clone()).collect(),
            })
            .collect()
    }

    pub(crate) fn describe_instances(&self, region: &str, cluster: &str) -> Vec<DbInstance> {
        self.instances_of(&RegionalId::new(region, cluster))
            .map(|(id, i)| DbInstance {
                identifier: id.clone(),
                cluster_identifier: Some(i.cluster.clone()),
                status: i.status.clone(),
                instance_class: i.instance_class.clone(),
            })
            .collect()
    }

    pub(crate) fn describe_snapshots(
        &self,
        region: &str,
        q: &SnapshotQuery,
    ) -> Vec<ClusterSnapshot> {
        self.snapshots
            .iter()
            .filter(|(k, s)| {
                k.region == region
                    && q.cluster_identifier
                        .as_ref()
                        .is_none_or(|c| *c == s.cluster)
                    && q.snapshot_identifier.as_ref().is_none_or(|id| *id == k.id)
                    && q.snapshot_type
                        .as_ref()
                        .is_none_or(|t| *t == s.snapshot_type)
            })
            .map(|(k, s)| ClusterSnapshot {
                identifier: k.id.clone(),
                cluster_identifier: s.cluster.clone(),
                snapshot_type: s.snapshot_type.clone(),
                status: s.status.clone(),
                created_at: Some(self.ts(s.created_at)),
            })
            .collect()
    }

    /// `AuroraGlobalDBRPOLag` of the secondary in `secondary_region`, seen from the primary.
    pub(crate) fn replication_lag(
        &mut self,
        primary_region: &str,
        primary_cluster: &str,
        secondary_region: &str,
    ) -> Option<f64> {
        let pk = RegionalId::new(primary_region, primary_cluster);
        let global = self.clusters.get(&pk)?.global.clone()?;
        let now = self.now;
        self.replicate(&global, now);
        self.replicated_lag(primary_region, primary_cluster, secondary_region)
    }

    /// `replication_lag` of a world already replicated up to now.
    pub(crate) fn replicated_lag(
        &self,
        primary_region: &str,
        primary_cluster: &str,
        secondary_region: &str,
    ) -> Option<f64> {
        let pk = RegionalId::new(primary_region, primary_cluster);
        let c = self.clusters.get(&pk)?;
        let g = self.globals.get(c.global.as_ref()?)?;
        if g.writer.as_ref() != Some(&pk) {
            // Only the primary publishes the metric.
            return None;
        }
        let sk = g.members.iter().find(|k| k.region == secondary_region)?;
        let s = self.clusters.get(sk)?;
        if s.sync != SyncState::Connected || s.status == "creating" || s.cursor == i64::MIN {
            return None;
        }
        Some((self.now - s.cursor).max(0) as f64 / 1000.0)
    }

    // -----------------------------------------------------------------------------------
    // Switchover and failover.
    // -----------------------------------------------------------------------------------

    /// The checks both operations share. Returns (global writer, target).
    fn check_promotable(
        &self,
        op: &'static str,
        global_id: &str,
        target_arn: &str,
    ) -> CloudResult<(RegionalId, RegionalId)> {
        let g = self.global_or_err(op, global_id)?;
        if let Some(f) = &g.in_flight {
            // aws-facts: never start a second operation while FailoverState is set; AWS
            // refuses it.
            return Err(rds_err(
                ErrorCategory::Retryable,
                op,
                "InvalidGlobalClusterStateFault",
                format!(
                    "Global cluster {global_id} is in the middle of an operation (FailoverState {})",
                    f.status
                ),
            ));
        }
        let target = g
            .members
            .iter()
            .find(|k| self.clusters.get(*k).is_some_and(|c| c.arn == target_arn))
            .cloned()
            .ok_or_else(|| {
                rds_err(
                    ErrorCategory::NeedsSpecChange,
                    op,
                    "DBClusterNotFoundFault",
                    format!("{target_arn} is not a member of global cluster {global_id}"),
                )
            })?;
        let writer = g.writer.clone().ok_or_else(|| {
            rds_err(
                ErrorCategory::NeedsOperator,
                op,
                "InvalidGlobalClusterStateFault",
                format!("Global cluster {global_id} has no primary cluster"),
            )
        })?;
        if writer == target {
            return Err(rds_err(
                ErrorCategory::Terminal,
                op,
                "InvalidParameterValue",
                format!("{target_arn} is already the primary cluster of {global_id}"),
            ));
        }
        let (Some(t), Some(w)) = (self.clusters.get(&target), self.clusters.get(&writer)) else {
            return Err(rds_err(
                ErrorCategory::Terminal,
                op,
                "InternalFailure",
                "member cluster vanished",
            ));
        };
        if !is_operational(&t.status) {
            return Err(rds_err(
                ErrorCategory::Retryable,
                op,
                "InvalidDBClusterStateFault",
                format!("DBCluster {} is in state {}", t.id, t.status),
            ));
        }
        if t.engine_version != w.engine_version {
            return Err(rds_err(
                ErrorCategory::NeedsSpecChange,
                op,
                "InvalidParameterCombination",
                format!(
                    "The target cluster's engine version {} does not match the primary's {}: \
                     switchover and failover need the same major and minor version",
                    t.engine_version, w.engine_version
                ),
            ));
        }
        if !self.has_available_instance(&target) {
            return Err(rds_err(
                ErrorCategory::NeedsOperator,
                op,
                "InvalidDBClusterStateFault",
                format!(
                    "DBCluster {} has no available DB instance (headless) and cannot be promoted",
                    t.id
                ),
            ));
        }
        Ok((writer, target))
    }

    pub(crate) fn switchover(
        &mut self,
        ctx: &Ctx,
        op: &'static str,
        global_id: &str,
        target_arn: &str,
    ) -> CloudResult<()> {
        let (writer, target) = self.check_promotable(op, global_id, target_arn)?;
        let g = self.global_or_err(op, global_id)?;
        // aws-facts: a switchover only runs when every region is healthy.
        if let Some(k) = g.members.iter().find(|k| !self.region_up(&k.region)) {
            return Err(rds_err(
                ErrorCategory::Retryable,
                op,
                "InvalidGlobalClusterStateFault",
                format!(
                    "Member {} is unavailable: switchover needs every region healthy",
                    k.id
                ),
            ));
        }
        if self.clusters.get(&target).map(|c| c.sync) != Some(SyncState::Connected) {
            return Err(rds_err(
                ErrorCategory::Retryable,
                op,
                "InvalidGlobalClusterStateFault",
                format!("{} is not synchronized (pending-resync)", target.id),
            ));
        }
        let delay = self.op_duration(self.cfg.timings.switchover_fence);
        if let Some(g) = self.globals.get_mut(global_id) {
            g.in_flight = Some(InFlight {
                status: "switching-over",
                from: writer,
                to: target,
                data_loss_allowed: false,
                read_only_at: None,
            });
        }
        self.push_event(
            ctx.now + delay,
            Event::SwitchoverReadOnly(global_id.to_string()),
        );
        Ok(())
    }

    pub(crate) fn switchover_read_only(&mut self, t: i64, global_id: &str) {
        let Some(f) = self
            .globals
            .get(global_id)
            .and_then(|g| g.in_flight.clone())
        else {
            return;
        };
        if !self.region_up(&f.from.region) || !self.region_up(&f.to.region) {
            self.push_event(
                t + RETRY_POLL_MS,
                Event::SwitchoverReadOnly(global_id.to_string()),
            );
            return;
        }
        if let Some(c) = self.clusters.get_mut(&f.from) {
            c.read_only = true;
        }
        if let Some(fl) = self
            .globals
            .get_mut(global_id)
            .and_then(|g| g.in_flight.as_mut())
        {
            fl.read_only_at = Some(t);
        }
        self.fact(
            t,
            FactKind::PrimaryReadOnly {
                cluster: f.from.id.clone(),
                region: f.from.region.clone(),
            },
        );
        // Promotion after the target has caught up (the lag) plus the promotion itself.
        let lag = self.lag_ms(&f.to.region, t);
        let promote = self.op_duration(self.cfg.timings.switchover_promote);
        self.push_event(
            t + lag + promote,
            Event::SwitchoverPromote(global_id.to_string()),
        );
    }

    pub(crate) fn switchover_promote(&mut self, t: i64, global_id: &str) {
        let Some(f) = self
            .globals
            .get(global_id)
            .and_then(|g| g.in_flight.clone())
        else {
            return;
        };
        let ro_at = f.read_only_at.unwrap_or(t);
        let synced = self
            .clusters
            .get(&f.to)
            .is_some_and(|c| c.cursor >= ro_at && c.sync == SyncState::Connected);
        if !self.region_up(&f.from.region) || !self.region_up(&f.to.region) || !synced {
            // A switchover waits for full synchronisation: it never loses a write.
            self.push_event(
                t + RETRY_POLL_MS,
                Event::SwitchoverPromote(global_id.to_string()),
            );
            return;
        }
        if let Some(g) = self.globals.get_mut(global_id) {
            g.writer = Some(f.to.clone());
            g.in_flight = None;
            g.engine_version = self
                .clusters
                .get(&f.to)
                .map(|c| c.engine_version.clone())
                .unwrap_or_default();
        }
        if let Some(c) = self.clusters.get_mut(&f.to) {
            c.read_only = false;
            c.status = "available".to_string();
        }
        if let Some(c) = self.clusters.get_mut(&f.from) {
            // Demoted to a secondary that already holds everything.
            c.read_only = false;
            c.sync = SyncState::Connected;
            c.cursor = t;
        }
        self.fact(
            t,
            FactKind::WriterPromoted {
                global: global_id.to_string(),
                cluster: f.to.id.clone(),
                region: f.to.region.clone(),
                data_loss_allowed: false,
            },
        );
    }

    pub(crate) fn failover(
        &mut self,
        ctx: &Ctx,
        global_id: &str,
        target_arn: &str,
        allow_data_loss: bool,
    ) -> CloudResult<()> {
        const OP: &str = "FailoverGlobalCluster";
        let (writer, target) = self.check_promotable(OP, global_id, target_arn)?;
        if !allow_data_loss {
            // aws-facts: without AllowDataLoss it behaves as a switchover and fails when
            // the primary is down.
            if !self.region_up(&writer.region) || !self.accepts_writes(&writer) {
                return Err(rds_err(
                    ErrorCategory::NeedsSpecChange,
                    OP,
                    "InvalidGlobalClusterStateFault",
                    format!(
                        "The primary cluster {} in {} is unavailable: without AllowDataLoss a \
                         failover waits for it to synchronize the target and cannot proceed; \
                         retry with AllowDataLoss to promote {} and lose the writes not yet \
                         replicated",
                        writer.id, writer.region, target.id
                    ),
                ));
            }
            return self.switchover(ctx, OP, global_id, target_arn);
        }
        if !self.region_up(&target.region) {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidGlobalClusterStateFault",
                format!("Target {} in {} is unavailable", target.id, target.region),
            ));
        }
        // The cut: the target keeps what it has replicated by now, the rest is lost.
        let cursor = self.clusters.get(&target).map_or(i64::MIN, |c| c.cursor);
        self.cut_history(ctx, global_id, cursor, "FailoverCut");
        // Other secondaries cannot be ahead of the new history.
        let members: Vec<RegionalId> = self
            .globals
            .get(global_id)
            .map(|g| g.members.iter().cloned().collect())
            .unwrap_or_default();
        for m in members.iter().filter(|m| **m != writer && **m != target) {
            if let Some(c) = self.clusters.get_mut(m) {
                c.cursor = c.cursor.min(cursor);
            }
        }
        // aws-facts: fencing the old primary is best effort.
        let fence_fails = self.rng.next_f64() < self.cfg.faults.fence_failure;
        if let Some(c) = self.clusters.get_mut(&writer) {
            // Its volume is no longer the global truth: it shows pending-resync until Aurora
            // rebuilds it as a secondary (or it comes back detached).
            c.sync = SyncState::PendingResync;
            c.divergent = Some(ctx.seq);
            if !fence_fails {
                c.read_only = true;
            }
        }
        self.fact(
            ctx.now,
            FactKind::OldPrimaryFenced {
                cluster: writer.id.clone(),
                region: writer.region.clone(),
                fenced: !fence_fails,
            },
        );
        if let Some(c) = self.clusters.get_mut(&target) {
            c.status = "failing-over".to_string();
        }
        if let Some(g) = self.globals.get_mut(global_id) {
            g.in_flight = Some(InFlight {
                status: "failing-over",
                from: writer,
                to: target,
                data_loss_allowed: true,
                read_only_at: None,
            });
        }
        let d = self.op_duration(self.cfg.timings.failover_promote);
        self.push_event(ctx.now + d, Event::FailoverPromote(global_id.to_string()));
        Ok(())
    }

    pub(crate) fn failover_promote(&mut self, t: i64, global_id: &str) {
        let Some(f) = self
            .globals
            .get(global_id)
            .and_then(|g| g.in_flight.clone())
        else {
            return;
        };
        if !self.region_up(&f.to.region) {
            self.defer(
                &f.to.region.clone(),
                Event::FailoverPromote(global_id.to_string()),
            );
            return;
        }
        if let Some(g) = self.globals.get_mut(global_id) {
            g.writer = Some(f.to.clone());
            g.in_flight = None;
        }
        if let Some(c) = self.clusters.get_mut(&f.to) {
            c.read_only = false;
            c.status = "available".to_string();
            c.divergent = None;
        }
        self.fact(
            t,
            FactKind::WriterPromoted {
                global: global_id.to_string(),
                cluster: f.to.id.clone(),
                region: f.to.region.clone(),
                data_loss_allowed: true,
            },
        );
        if self.region_up(&f.from.region) {
            self.old_primary_back(t, &f.from);
        } else if let Some(c) = self.clusters.get_mut(&f.from) {
            c.awaiting_recovery = true;
        }
    }

    /// The old primary of a managed failover is reachable again: rejoin by itself, or come
    /// back stale and detached, depending on the mode.
    pub(crate) fn old_primary_back(&mut self, t: i64, k: &RegionalId) {
        match self.cfg.rejoin_mode {
            RejoinMode::Automatic => {
                let d = ms(self.cfg.timings.rejoin_delay);
                self.push_event(t + d, Event::Rejoin(k.clone()));
            }
            RejoinMode::Stale => {
                let global = self.clusters.get(k).and_then(|c| c.global.clone());
                if let Some(g) = global.as_ref().and_then(|g| self.globals.get_mut(g)) {
                    g.members.remove(k);
                }
                if let Some(c) = self.clusters.get_mut(k) {
                    c.former_global = global;
                    c.global = None;
                    c.divergent = None;
                    c.read_only = false;
                    c.sync = SyncState::Connected;
                }
                self.fact(
                    t,
                    FactKind::DetachedStale {
                        cluster: k.id.clone(),
                        region: k.region.clone(),
                    },
                );
            }
        }
    }

    pub(crate) fn rejoin(&mut self, t: i64, k: RegionalId) {
        if !self.region_up(&k.region) {
            self.defer(&k.region.clone(), Event::Rejoin(k));
            return;
        }
        let Some(c) = self.clusters.get(&k) else {
            return;
        };
        if c.global.is_none() {
            return;
        }
        // aws-facts: Aurora first tries to snapshot the old volume as a *system* snapshot.
        let stamp = self.ts(t).to_rfc3339();
        let stamp: String = stamp.get(..16).unwrap_or(&stamp).replace([':', 'T'], "-");
        let snap_id = format!("rds:unplanned-global-failover-{}-{}", k.id, stamp);
        let data_as_of = c.last_write_at.unwrap_or(t);
        let sk = RegionalId::new(k.region.clone(), snap_id);
        if !self.snapshots.contains_key(&sk) {
            self.snapshots.insert(
                sk.clone(),
                Snapshot {
                    cluster: k.id.clone(),
                    snapshot_type: "system".to_string(),
                    status: "creating".to_string(),
                    created_at: t,
                    data_as_of,
                },
            );
            let d = self.op_duration(self.cfg.timings.snapshot_create);
            self.push_event(t + d, Event::SnapshotDone(sk));
        }
        if let Some(c) = self.clusters.get_mut(&k) {
            c.divergent = None;
            c.read_only = false;
            c.sync = SyncState::PendingResync;
            c.cursor = i64::MIN;
        }
        self.fact(
            t,
            FactKind::RejoinedAsSecondary {
                cluster: k.id.clone(),
                region: k.region.clone(),
            },
        );
        let d = self.op_duration(self.cfg.timings.initial_sync);
        self.push_event(t + d, Event::ResyncDone(k));
    }

    pub(crate) fn resync_done(&mut self, t: i64, k: RegionalId) {
        let Some(c) = self.clusters.get(&k) else {
            return;
        };
        let Some(g) = c.global.as_ref().and_then(|g| self.globals.get(g)) else {
            return;
        };
        let writer_region = g.writer.as_ref().map(|w| w.region.clone());
        if !self.region_up(&k.region) {
            self.defer(&k.region.clone(), Event::ResyncDone(k));
            return;
        }
        if let Some(wr) = writer_region.filter(|r| !self.region_up(r)) {
            self.defer(&wr, Event::ResyncDone(k));
            return;
        }
        let lag = self.lag_ms(&k.region, t);
        if let Some(c) = self.clusters.get_mut(&k) {
            c.sync = SyncState::Connected;
            c.cursor = t - lag;
        }
        self.fact(
            t,
            FactKind::ReplicaSynced {
                cluster: k.id.clone(),
                region: k.region.clone(),
            },
        );
    }

    // -----------------------------------------------------------------------------------
    // Snapshots.
    // -----------------------------------------------------------------------------------

    pub(crate) fn create_snapshot(
        &mut self,
        ctx: &Ctx,
        region: &str,
        cluster_id: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        const OP: &str = "CreateDBClusterSnapshot";
        let c = self.cluster_or_err(OP, region, cluster_id)?;
        if !is_operational(&c.status) {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBClusterStateFault",
                format!("DBCluster {cluster_id} is in state {}", c.status),
            ));
        }
        let data_as_of = ctx.now;
        let sk = RegionalId::new(region, snapshot_id);
        if self.snapshots.contains_key(&sk) {
            return Err(rds_err(
                ErrorCategory::Terminal,
                OP,
                "DBClusterSnapshotAlreadyExistsFault",
                format!("Cannot create the snapshot because a snapshot with the identifier {snapshot_id} already exists."),
            ));
        }
        self.snapshots.insert(
            sk.clone(),
            Snapshot {
                cluster: cluster_id.to_string(),
                snapshot_type: "manual".to_string(),
                status: "creating".to_string(),
                created_at: ctx.now,
                data_as_of,
            },
        );
        if let Some(c) = self.clusters.get_mut(&RegionalId::new(region, cluster_id)) {
            c.snapshots_in_progress += 1;
            if c.status == "available" {
                c.status = "backing-up".to_string();
            }
        }
        let d = self.op_duration(self.cfg.timings.snapshot_create);
        self.push_event(ctx.now + d, Event::SnapshotDone(sk));
        Ok(())
    }

    pub(crate) fn copy_snapshot(
        &mut self,
        ctx: &Ctx,
        region: &str,
        source: &str,
        target: &str,
    ) -> CloudResult<()> {
        const OP: &str = "CopyDBClusterSnapshot";
        let src = self
            .snapshots
            .get(&RegionalId::new(region, source))
            .cloned()
            .ok_or_else(|| {
                rds_err(
                    ErrorCategory::NeedsSpecChange,
                    OP,
                    "DBClusterSnapshotNotFoundFault",
                    format!("DBClusterSnapshot {source} not found"),
                )
            })?;
        if src.status != "available" {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBClusterSnapshotStateFault",
                format!("DBClusterSnapshot {source} is {}", src.status),
            ));
        }
        let tk = RegionalId::new(region, target);
        if self.snapshots.contains_key(&tk) {
            return Err(rds_err(
                ErrorCategory::Terminal,
                OP,
                "DBClusterSnapshotAlreadyExistsFault",
                format!("DBClusterSnapshot {target} already exists"),
            ));
        }
        self.snapshots.insert(
            tk.clone(),
            Snapshot {
                cluster: src.cluster,
                snapshot_type: "manual".to_string(),
                status: "copying".to_string(),
                created_at: ctx.now,
                data_as_of: src.data_as_of,
            },
        );
        let d = self.op_duration(self.cfg.timings.snapshot_copy);
        self.push_event(ctx.now + d, Event::SnapshotDone(tk));
        Ok(())
    }

    pub(crate) fn snapshot_done(&mut self, t: i64, k: RegionalId) {
        if !self.region_up(&k.region) {
            self.defer(&k.region.clone(), Event::SnapshotDone(k));
            return;
        }
        let Some(s) = self.snapshots.get_mut(&k) else {
            return;
        };
        let was_creating_manual = s.status == "creating" && s.snapshot_type == "manual";
        s.status = "available".to_string();
        let ck = RegionalId::new(k.region.clone(), s.cluster.clone());
        if was_creating_manual {
            if let Some(c) = self.clusters.get_mut(&ck) {
                c.snapshots_in_progress = c.snapshots_in_progress.saturating_sub(1);
                if c.snapshots_in_progress == 0 && c.status == "backing-up" {
                    c.status = "available".to_string();
                }
            }
        }
        self.fact(
            t,
            FactKind::SnapshotAvailable {
                snapshot: k.id.clone(),
                region: k.region.clone(),
            },
        );
    }

    // -----------------------------------------------------------------------------------
    // Deletion.
    // -----------------------------------------------------------------------------------

    pub(crate) fn set_deletion_protection(
        &mut self,
        region: &str,
        cluster_id: &str,
        enabled: bool,
    ) -> CloudResult<()> {
        const OP: &str = "ModifyDBCluster";
        self.cluster_or_err(OP, region, cluster_id)?;
        if let Some(c) = self.clusters.get_mut(&RegionalId::new(region, cluster_id)) {
            c.deletion_protection = enabled;
        }
        Ok(())
    }

    pub(crate) fn delete_instance(&mut self, ctx: &Ctx, region: &str, id: &str) -> CloudResult<()> {
        const OP: &str = "DeleteDBInstance";
        let k = RegionalId::new(region, id);
        let inst = self.instances.get_mut(&k).ok_or_else(|| {
            rds_err(
                ErrorCategory::NeedsSpecChange,
                OP,
                "DBInstanceNotFound",
                format!("DBInstance {id} not found"),
            )
        })?;
        if inst.status == "deleting" {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBInstanceState",
                format!("DBInstance {id} is already being deleted"),
            ));
        }
        inst.status = "deleting".to_string();
        let d = self.op_duration(self.cfg.timings.instance_delete);
        self.push_event(ctx.now + d, Event::InstanceDeleted(k));
        Ok(())
    }

    pub(crate) fn delete_cluster(&mut self, ctx: &Ctx, region: &str, id: &str) -> CloudResult<()> {
        const OP: &str = "DeleteDBCluster";
        let k = RegionalId::new(region, id);
        let c = self.cluster_or_err(OP, region, id)?;
        if c.deletion_protection {
            return Err(rds_err(
                ErrorCategory::NeedsOperator,
                OP,
                "InvalidParameterCombination",
                "Cannot delete protected Cluster, please disable deletion protection and try again.",
            ));
        }
        if c.global.is_some() {
            return Err(rds_err(
                ErrorCategory::NeedsOperator,
                OP,
                "InvalidDBClusterStateFault",
                "This cluster is a part of a global cluster, please remove it from globalcluster first",
            ));
        }
        let live_instances = self
            .instances_of(&RegionalId::new(region, id))
            .any(|(_, i)| i.status != "deleting");
        if live_instances {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBClusterStateFault",
                "Cluster cannot be deleted, it still contains DB instances in non-deleting state.",
            ));
        }
        if !is_operational(&c.status) || c.status == "backing-up" {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBClusterStateFault",
                format!("DBCluster {id} is in state {}", c.status),
            ));
        }
        let last_write = c.last_write_at;
        let manual_snapshots = self
            .snapshots
            .iter()
            .filter(|(sk, s)| {
                sk.region == region
                    && s.cluster == id
                    && s.snapshot_type == "manual"
                    && s.status == "available"
            })
            .map(|(sk, s)| (sk.id.clone(), s.data_as_of))
            .collect();
        self.deletions.push(DeletionRecord {
            call_seq: ctx.seq,
            at_ms: ctx.now,
            cluster: id.to_string(),
            region: region.to_string(),
            last_write_at_ms: last_write,
            manual_snapshots,
        });
        if let Some(c) = self.clusters.get_mut(&k) {
            c.status = "deleting".to_string();
        }
        let d = self.op_duration(self.cfg.timings.cluster_delete);
        self.push_event(ctx.now + d, Event::ClusterDeleted(k));
        Ok(())
    }

    pub(crate) fn cluster_deleted(&mut self, t: i64, k: RegionalId) {
        if !self.region_up(&k.region) {
            self.defer(&k.region.clone(), Event::ClusterDeleted(k));
            return;
        }
        if self.clusters.remove(&k).is_some() {
            // Automated and system snapshots go with the cluster (aws-facts: the system
            // snapshot is deleted with the cluster's backup retention); manual ones stay.
            self.snapshots.retain(|sk, s| {
                !(sk.region == k.region && s.cluster == k.id && s.snapshot_type != "manual")
            });
            self.fact(
                t,
                FactKind::ClusterDeleted {
                    cluster: k.id.clone(),
                    region: k.region.clone(),
                },
            );
        }
    }

    pub(crate) fn instance_deleted(&mut self, t: i64, k: RegionalId) {
        if !self.region_up(&k.region) {
            self.defer(&k.region.clone(), Event::InstanceDeleted(k));
            return;
        }
        if self.remove_instance(&k).is_some() {
            self.fact(
                t,
                FactKind::InstanceDeleted {
                    instance: k.id.clone(),
                    region: k.region.clone(),
                },
            );
        }
    }

    // -----------------------------------------------------------------------------------
    // Creation.
    // -----------------------------------------------------------------------------------

    pub(crate) fn create_secondary(
        &mut self,
        ctx: &Ctx,
        req: &CreateSecondaryCluster,
    ) -> CloudResult<()> {
        const OP: &str = "CreateDBCluster";
        let g = self.global_or_err(OP, &req.global_cluster_identifier)?;
        let k = RegionalId::new(req.region.clone(), req.identifier.clone());
        if self.clusters.contains_key(&k) {
            return Err(rds_err(
                ErrorCategory::Terminal,
                OP,
                "DBClusterAlreadyExistsFault",
                format!("DB Cluster {} already exists", req.identifier),
            ));
        }
        if g.in_flight.is_some() {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidGlobalClusterStateFault",
                "The global cluster is in the middle of a switchover or failover",
            ));
        }
        if req.engine != g.engine {
            return Err(rds_err(
                ErrorCategory::NeedsSpecChange,
                OP,
                "InvalidParameterCombination",
                format!(
                    "The engine {} does not match the global cluster's {}",
                    req.engine, g.engine
                ),
            ));
        }
        let version = req
            .engine_version
            .clone()
            .unwrap_or_else(|| g.engine_version.clone());
        if version != g.engine_version {
            return Err(rds_err(
                ErrorCategory::NeedsSpecChange,
                OP,
                "InvalidParameterCombination",
                format!(
                    "The engine version {version} does not match the global cluster's {}",
                    g.engine_version
                ),
            ));
        }
        if g.storage_encrypted {
            match &req.kms_key_id {
                None => return Err(rds_err(
                    ErrorCategory::NeedsSpecChange,
                    OP,
                    "InvalidParameterCombination",
                    "For encrypted cross-region replica, kmsKeyId should be explicitly specified",
                )),
                Some(key) if !kms_usable_in(key, &req.region) => {
                    return Err(rds_err(
                        ErrorCategory::NeedsSpecChange,
                        OP,
                        "KMSKeyNotAccessibleFault",
                        format!(
                            "KMS key {key} cannot be used in {}: an encrypted cross-region \
                             secondary needs a customer-managed key in its own region",
                            req.region
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        let engine = g.engine.clone();
        let encrypted = g.storage_encrypted;
        self.clusters.insert(
            k.clone(),
            Cluster {
                id: req.identifier.clone(),
                region: req.region.clone(),
                arn: cluster_arn(&req.region, &req.identifier),
                status: "creating".to_string(),
                engine,
                engine_version: version,
                deletion_protection: false,
                storage_encrypted: encrypted,
                kms_key_id: req.kms_key_id.clone(),
                global: Some(req.global_cluster_identifier.clone()),
                former_global: None,
                sync: SyncState::PendingResync,
                cursor: i64::MIN,
                read_only: false,
                divergent: None,
                awaiting_recovery: false,
                snapshots_in_progress: 0,
                last_write_at: None,
            },
        );
        if let Some(g) = self.globals.get_mut(&req.global_cluster_identifier) {
            g.members.insert(k.clone());
        }
        let d = self.op_duration(self.cfg.timings.cluster_create);
        self.push_event(ctx.now + d, Event::ClusterCreated(k));
        Ok(())
    }

    pub(crate) fn cluster_created(&mut self, t: i64, k: RegionalId) {
        if !self.region_up(&k.region) {
            self.defer(&k.region.clone(), Event::ClusterCreated(k));
            return;
        }
        let Some(c) = self.clusters.get_mut(&k) else {
            return;
        };
        c.status = "available".to_string();
        let member = c.global.is_some();
        self.fact(
            t,
            FactKind::ClusterAvailable {
                cluster: k.id.clone(),
                region: k.region.clone(),
            },
        );
        if member {
            let d = self.op_duration(self.cfg.timings.initial_sync);
            self.push_event(t + d, Event::ResyncDone(k));
        }
    }

    pub(crate) fn create_instance(&mut self, ctx: &Ctx, req: &CreateInstance) -> CloudResult<()> {
        const OP: &str = "CreateDBInstance";
        let c = self.cluster_or_err(OP, &req.region, &req.cluster_identifier)?;
        if c.status == "deleting" {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBClusterStateFault",
                format!("DBCluster {} is being deleted", c.id),
            ));
        }
        if c.engine != req.engine {
            return Err(rds_err(
                ErrorCategory::NeedsSpecChange,
                OP,
                "InvalidParameterCombination",
                format!(
                    "The instance engine {} does not match the cluster's {}",
                    req.engine, c.engine
                ),
            ));
        }
        let k = RegionalId::new(req.region.clone(), req.identifier.clone());
        if self.instances.contains_key(&k) {
            return Err(rds_err(
                ErrorCategory::Terminal,
                OP,
                "DBInstanceAlreadyExists",
                format!("DB instance {} already exists", req.identifier),
            ));
        }
        self.add_instance(
            k.clone(),
            Instance {
                cluster: req.cluster_identifier.clone(),
                status: "creating".to_string(),
                instance_class: req.instance_class.clone(),
            },
        );
        let d = self.op_duration(self.cfg.timings.instance_create);
        self.push_event(ctx.now + d, Event::InstanceCreated(k));
        Ok(())
    }

    pub(crate) fn instance_created(&mut self, t: i64, k: RegionalId) {
        if !self.region_up(&k.region) {
            self.defer(&k.region.clone(), Event::InstanceCreated(k));
            return;
        }
        if let Some(i) = self.instances.get_mut(&k) {
            i.status = "available".to_string();
            self.fact(
                t,
                FactKind::InstanceAvailable {
                    instance: k.id.clone(),
                    region: k.region.clone(),
                },
            );
        }
    }
}
