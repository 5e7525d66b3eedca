//! Aurora reads: global clusters, clusters, instances, snapshots, replication lag.

use super::*;

impl State {
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
                status: c.status.as_str().into(),
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
                status: i.status.as_str().into(),
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
                status: s.status.as_str().into(),
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
}
