//! Aurora snapshots: create, copy, and their completion.

use super::*;

impl State {
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
}
