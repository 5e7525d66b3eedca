//! Aurora deletion lifecycles (deletion protection, instances, clusters), with the real
//! API's refusals.

use super::*;

impl State {
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
}
