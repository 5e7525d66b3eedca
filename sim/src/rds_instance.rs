//! RDS DB instances with a cross-region read replica (spec.database.kind: rdsReplica).
//!
//! An instance pair lives on the same machinery as an Aurora global database, so that the
//! application's writes, replication, region outages, faults, snapshots, deletions and the
//! invariant checker apply to it unchanged: each DB instance is a one-instance "cluster"
//! keyed (region, instance id), and the pair is a replication tree under a hidden global id
//! `rds-pair:<first primary>` (a `:` no RDS identifier has, so it never meets a real one,
//! and DescribeGlobalClusters leaves it out). The tree's writer is the primary; its members
//! other than the writer are read replicas.
//!
//! What differs from Aurora, after aws-facts.md and the RDS User Guide:
//! * PromoteReadReplica breaks the link at once and for good: the replica keeps what it has
//!   replayed (the rest is lost, the cut), is unavailable for writes while it reboots
//!   (`modifying`, [`crate::SimTimings::failover_promote`], "a few minutes"), then is a
//!   standalone primary. The old primary, reachable or not, is left standalone: nothing
//!   fences it, and what it accepts from then on is lost (`DetachedCluster`).
//! * CreateDBInstanceReadReplica across regions names its source by ARN, needs a KMS key of
//!   its own region when the source is encrypted, and syncs for `initial_sync` after
//!   `cluster_create`.
//! * DeleteDBInstance of a standalone instance (drctl passes SkipFinalSnapshot) removes it
//!   after `cluster_delete`; the deletion is recorded for invariant 2.
//! * ReplicaLag is 0 once the replica has replayed every write of its source, else how far
//!   behind it is; no datapoint while the source's region is dark (the stream is broken).

use drctl_cloud::{
    CloudError, CloudResult, CreateReadReplica, DbSnapshot, DbSnapshotStatus, ErrorCategory,
    RdsInstance, RdsInstanceStatus, ReplicationState, Service,
};
use drctl_schema::{ClusterTemplate, DatabaseKind, FailoverGroupSpec};

use crate::keys::{RegionalId, ServiceKey};
use crate::record::FactKind;
use crate::state::{Cluster, Ctx, Event, Instance, State, SyncState};

/// The prefix of an instance pair's hidden global id.
pub(crate) const PAIR_PREFIX: &str = "rds-pair:";

pub(crate) fn is_pair(global_id: &str) -> bool {
    global_id.starts_with(PAIR_PREFIX)
}

fn rds_err(cat: ErrorCategory, op: &'static str, code: &str, msg: impl Into<String>) -> CloudError {
    CloudError::new(cat, Service::Rds, op, code, msg)
}

pub(crate) fn instance_arn(region: &str, id: &str) -> String {
    format!("arn:aws:rds:{region}:111122223333:db:{id}")
}

/// The (region, id) an instance ARN names (`arn:aws:rds:REGION:ACCOUNT:db:ID`).
fn arn_key(arn: &str) -> Option<RegionalId> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "rds", region, _, "db", id] => Some(RegionalId::new(*region, *id)),
        _ => None,
    }
}

/// An rdsReplica spec in the shape the world provisions: one single-instance "cluster" per
/// DB instance, under the pair's hidden global id.
pub(crate) fn as_pair_spec(spec: &FailoverGroupSpec) -> FailoverGroupSpec {
    if spec.database.kind != DatabaseKind::RdsReplica {
        return spec.clone();
    }
    let mut pair = spec.clone();
    let primary = spec
        .database
        .instances
        .get(&spec.writer)
        .map(|i| i.identifier.clone())
        .unwrap_or_default();
    pair.database.kind = DatabaseKind::AuroraGlobal;
    pair.database.global_cluster_identifier = format!("{PAIR_PREFIX}{primary}");
    pair.database.clusters = spec
        .database
        .instances
        .iter()
        .map(|(region, i)| {
            let template = ClusterTemplate {
                identifier: i.identifier.clone(),
                engine: Some(i.engine.clone().unwrap_or_else(|| "postgres".to_string())),
                engine_version: i.engine_version.clone(),
                instance_class: i.instance_class.clone(),
                instance_count: Some(1),
                kms_key_id: i.kms_key_id.clone(),
                db_subnet_group: i.db_subnet_group.clone(),
                vpc_security_group_ids: i.vpc_security_group_ids.clone(),
            };
            (region.clone(), template)
        })
        .collect();
    pair.database.instances.clear();
    pair
}

impl State {
    fn pair_instance_or_err(&self, op: &'static str, k: &RegionalId) -> CloudResult<&Cluster> {
        self.clusters
            .get(k)
            .filter(|c| {
                c.global.as_deref().is_some_and(is_pair)
                    || c.former_global.as_deref().is_some_and(is_pair)
            })
            .ok_or_else(|| {
                rds_err(
                    ErrorCategory::NeedsSpecChange,
                    op,
                    "DBInstanceNotFound",
                    format!("DBInstance {} not found in {}", k.id, k.region),
                )
            })
    }

    pub(crate) fn describe_db_instance(&self, region: &str, id: &str) -> Option<RdsInstance> {
        let k = RegionalId::new(region, id);
        let c = self.pair_instance_or_err("DescribeDBInstances", &k).ok()?;
        let tree = c.global.as_ref().and_then(|g| self.globals.get(g));
        let writer = tree.and_then(|g| g.writer.clone());
        let is_writer = writer.as_ref() == Some(&k);
        let source = match (&writer, tree) {
            (Some(w), Some(_)) if !is_writer => Some(instance_arn(&w.region, &w.id)),
            _ => None,
        };
        let replicas = match tree {
            Some(g) if is_writer => g
                .members
                .iter()
                .filter(|m| **m != k)
                .map(|m| instance_arn(&m.region, &m.id))
                .collect(),
            _ => Vec::new(),
        };
        let replication = source.as_ref().map(|_| match c.sync {
            SyncState::Connected => ReplicationState::Replicating,
            SyncState::PendingResync => ReplicationState::Other("pending".to_string()),
        });
        let instance_class = self
            .instances_of(&k)
            .next()
            .map(|(_, i)| i.instance_class.clone())
            .unwrap_or_default();
        let status = match c.status.as_str() {
            "failing-over" => RdsInstanceStatus::Modifying,
            other => RdsInstanceStatus::from_aws(other),
        };
        Some(RdsInstance {
            identifier: id.to_string(),
            arn: instance_arn(region, id),
            region: region.to_string(),
            status,
            engine: c.engine.clone(),
            engine_version: c.engine_version.clone(),
            instance_class,
            storage_encrypted: c.storage_encrypted,
            kms_key_id: c.kms_key_id.clone(),
            read_replica_source: source,
            read_replicas: replicas,
            replication,
        })
    }

    /// ReplicaLag of the replica `id` in `region`, seconds (see the module docs).
    pub(crate) fn replica_lag_of(&mut self, region: &str, id: &str) -> Option<f64> {
        let k = RegionalId::new(region, id);
        let global = self.clusters.get(&k)?.global.clone()?;
        let now = self.now;
        self.replicate(&global, now);
        let writer = self.globals.get(&global)?.writer.clone()?;
        if writer == k || !self.region_up(&writer.region) {
            return None;
        }
        let c = self.clusters.get(&k)?;
        if c.sync != SyncState::Connected || c.status == "creating" || c.cursor == i64::MIN {
            return None;
        }
        let caught_up = self
            .clusters
            .get(&writer)
            .is_none_or(|w| w.last_write_at.is_none_or(|t| t <= c.cursor));
        if caught_up {
            return Some(0.0);
        }
        Some((now - c.cursor).max(0) as f64 / 1000.0)
    }

    pub(crate) fn promote_read_replica(
        &mut self,
        ctx: &Ctx,
        region: &str,
        id: &str,
    ) -> CloudResult<()> {
        const OP: &str = "PromoteReadReplica";
        let k = RegionalId::new(region, id);
        let c = self.pair_instance_or_err(OP, &k)?;
        let global = c.global.clone();
        let status = c.status.clone();
        let writer = global
            .as_ref()
            .and_then(|g| self.globals.get(g))
            .and_then(|g| g.writer.clone());
        let (Some(global), Some(writer)) = (global, writer.filter(|w| *w != k)) else {
            return Err(rds_err(
                ErrorCategory::NeedsOperator,
                OP,
                "InvalidDBInstanceState",
                format!("DB instance {id} is not a read replica."),
            ));
        };
        if status != "available" {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBInstanceState",
                format!("DB instance {id} is in state {status}"),
            ));
        }
        self.replicate(&global, ctx.now);
        let cursor = self.clusters.get(&k).map_or(i64::MIN, |c| c.cursor);
        self.cut_history(ctx, &global, cursor, "PromoteReadReplicaCut");
        // The link breaks: the old primary is standalone from now on, reachable or not.
        if let Some(g) = self.globals.get_mut(&global) {
            g.members.remove(&writer);
            g.writer = Some(k.clone());
        }
        if let Some(old) = self.clusters.get_mut(&writer) {
            old.former_global = old.global.take();
        }
        // Still writable, but standalone now: invariant 1 counts it only if it is written
        // to from here on (its application was fenced for a planned promotion).
        if self.writable.get(&writer).copied().unwrap_or(false) {
            self.log_writable(ctx.now, vec![(writer.clone(), true, true)]);
        }
        if let Some(c) = self.clusters.get_mut(&k) {
            c.read_only = true;
            c.status = "modifying".to_string();
        }
        self.fact(
            ctx.now,
            FactKind::DetachedStale {
                cluster: writer.id.clone(),
                region: writer.region.clone(),
            },
        );
        let d = self.op_duration(self.cfg.timings.failover_promote);
        self.push_event(ctx.now + d, Event::ReplicaPromoted(k));
        Ok(())
    }

    pub(crate) fn replica_promoted(&mut self, t: i64, k: RegionalId) {
        if !self.region_up(&k.region) {
            self.defer(&k.region.clone(), Event::ReplicaPromoted(k));
            return;
        }
        let Some(c) = self.clusters.get_mut(&k) else {
            return;
        };
        c.read_only = false;
        c.status = "available".to_string();
        let global = c.global.clone().unwrap_or_default();
        self.fact(
            t,
            FactKind::WriterPromoted {
                global,
                cluster: k.id.clone(),
                region: k.region.clone(),
                data_loss_allowed: true,
            },
        );
    }

    pub(crate) fn create_read_replica(
        &mut self,
        ctx: &Ctx,
        req: &CreateReadReplica,
    ) -> CloudResult<()> {
        const OP: &str = "CreateDBInstanceReadReplica";
        let k = RegionalId::new(req.region.clone(), req.identifier.clone());
        if self.clusters.contains_key(&k) {
            return Err(rds_err(
                ErrorCategory::Terminal,
                OP,
                "DBInstanceAlreadyExists",
                format!("DB instance {} already exists", req.identifier),
            ));
        }
        let sk = arn_key(&req.source_instance_arn)
            .filter(|sk| sk.region == req.source_region)
            .ok_or_else(|| {
                rds_err(
                    ErrorCategory::NeedsSpecChange,
                    OP,
                    "InvalidParameterValue",
                    format!(
                        "a cross-region read replica names its source by ARN in SourceRegion {}: got {}",
                        req.source_region, req.source_instance_arn
                    ),
                )
            })?;
        if !self.region_up(&sk.region) {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBInstanceState",
                format!(
                    "source DB instance {} in {} is unavailable",
                    sk.id, sk.region
                ),
            ));
        }
        let source = self.pair_instance_or_err(OP, &sk)?.clone();
        let tree = source.global.clone().filter(|g| {
            self.globals
                .get(g)
                .is_some_and(|g| g.writer.as_ref() == Some(&sk))
        });
        let Some(tree) = tree.filter(|_| source.status == "available") else {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBInstanceState",
                format!(
                    "source DB instance {} is {} and not a primary",
                    sk.id, source.status
                ),
            ));
        };
        if source.storage_encrypted {
            self.check_replica_key(OP, req)?;
        }
        self.clusters.insert(
            k.clone(),
            Cluster {
                id: req.identifier.clone(),
                region: req.region.clone(),
                arn: instance_arn(&req.region, &req.identifier),
                status: "creating".to_string(),
                engine: source.engine.clone(),
                engine_version: source.engine_version.clone(),
                deletion_protection: false,
                storage_encrypted: source.storage_encrypted,
                kms_key_id: req.kms_key_id.clone(),
                global: Some(tree.clone()),
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
        let class = req
            .instance_class
            .clone()
            .or_else(|| {
                self.instances_of(&sk)
                    .next()
                    .map(|(_, i)| i.instance_class.clone())
            })
            .unwrap_or_else(|| "db.r6g.large".to_string());
        self.add_instance(
            k.clone(),
            Instance {
                cluster: req.identifier.clone(),
                status: "available".to_string(),
                instance_class: class,
            },
        );
        if let Some(g) = self.globals.get_mut(&tree) {
            g.members.insert(k.clone());
        }
        let d = self.op_duration(self.cfg.timings.cluster_create);
        self.push_event(ctx.now + d, Event::ClusterCreated(k));
        Ok(())
    }

    fn check_replica_key(&self, op: &'static str, req: &CreateReadReplica) -> CloudResult<()> {
        match &req.kms_key_id {
            None => Err(rds_err(
                ErrorCategory::NeedsSpecChange,
                op,
                "InvalidParameterCombination",
                format!(
                    "the source is encrypted: a cross-region read replica in {} needs KmsKeyId, a key of {}",
                    req.region, req.region
                ),
            )),
            Some(key) if !crate::aurora::kms_usable_in(key, &req.region) => Err(rds_err(
                ErrorCategory::NeedsSpecChange,
                op,
                "KMSKeyNotAccessibleFault",
                format!("KMS key {key} is not usable in {}", req.region),
            )),
            Some(_) => Ok(()),
        }
    }

    /// DeleteDBInstance with SkipFinalSnapshot: the deletion is recorded for invariant 2 with
    /// the manual snapshots available at the call.
    pub(crate) fn delete_db_instance(
        &mut self,
        ctx: &Ctx,
        region: &str,
        id: &str,
    ) -> CloudResult<()> {
        const OP: &str = "DeleteDBInstance";
        let k = RegionalId::new(region, id);
        let c = self.pair_instance_or_err(OP, &k)?;
        if c.status == "deleting" {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBInstanceState",
                format!("DB instance {id} is already being deleted"),
            ));
        }
        if c.status == "backing-up" || c.status == "creating" || c.status == "modifying" {
            return Err(rds_err(
                ErrorCategory::Retryable,
                OP,
                "InvalidDBInstanceState",
                format!("DB instance {id} is in state {}", c.status),
            ));
        }
        let last_write = c.last_write_at;
        let global = c.global.clone();
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
        self.deletions.push(crate::record::DeletionRecord {
            call_seq: ctx.seq,
            at_ms: ctx.now,
            cluster: id.to_string(),
            region: region.to_string(),
            last_write_at_ms: last_write,
            manual_snapshots,
        });
        if let Some(g) = global.as_ref().and_then(|g| self.globals.get_mut(g)) {
            g.members.remove(&k);
            if g.writer.as_ref() == Some(&k) {
                g.writer = None;
            }
        }
        if let Some(c) = self.clusters.get_mut(&k) {
            c.status = "deleting".to_string();
            c.former_global = c.global.take().or(c.former_global.take());
        }
        let d = self.op_duration(self.cfg.timings.cluster_delete);
        self.push_event(ctx.now + d, Event::ClusterDeleted(k.clone()));
        self.push_event(ctx.now + d, Event::InstanceDeleted(k));
        Ok(())
    }

    /// CreateDBSnapshot: the cluster snapshot machinery under RDS's instance codes.
    pub(crate) fn create_db_snapshot(
        &mut self,
        ctx: &Ctx,
        region: &str,
        id: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        const OP: &str = "CreateDBSnapshot";
        self.pair_instance_or_err(OP, &RegionalId::new(region, id))?;
        self.create_snapshot(ctx, region, id, snapshot_id)
            .map_err(|mut e| {
                e.operation = OP;
                e.code = match e.code.as_str() {
                    "DBClusterSnapshotAlreadyExistsFault" => "DBSnapshotAlreadyExists".to_string(),
                    "InvalidDBClusterStateFault" => "InvalidDBInstanceState".to_string(),
                    other => other.to_string(),
                };
                e
            })
    }

    pub(crate) fn describe_db_snapshots(&self, region: &str, id: &str) -> Vec<DbSnapshot> {
        self.snapshots
            .iter()
            .filter(|(sk, s)| sk.region == region && s.cluster == id && s.snapshot_type == "manual")
            .map(|(sk, s)| DbSnapshot {
                identifier: sk.id.clone(),
                instance_identifier: s.cluster.clone(),
                snapshot_type: s.snapshot_type.clone(),
                status: DbSnapshotStatus::from_aws(&s.status),
                created_at: Some(self.ts(s.created_at)),
            })
            .collect()
    }

    /// rdsReplica groups: does the application in `k`'s region run at all? Its writes stop
    /// when every service of the group there is at zero tasks (FenceSource): what lets a
    /// planned promotion reach ReplicaLag 0. Aurora groups are not modelled this way.
    pub(crate) fn pair_app_fenced(&self, global: &str, k: &RegionalId) -> bool {
        if !is_pair(global) {
            return false;
        }
        let Some(group) = self
            .groups
            .iter()
            .find(|g| g.spec.database.global_cluster_identifier == global)
        else {
            return false;
        };
        let services: Vec<u32> = group
            .spec
            .compute
            .services
            .iter()
            .filter_map(|s| s.regions.get(&k.region))
            .filter_map(|r| {
                self.services
                    .get(&ServiceKey::new(
                        k.region.clone(),
                        r.cluster.clone(),
                        r.service.clone(),
                    ))
                    .map(|s| s.running)
            })
            .collect();
        !services.is_empty() && services.iter().all(|running| *running == 0)
    }
}
