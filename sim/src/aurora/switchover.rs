//! Aurora switchover and failover, with exact data-loss accounting, and the old
//! primary's rejoin or stale detachment.

use super::*;

impl State {
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
}
