//! Aurora creation lifecycles (secondary clusters, instances), with the real API's
//! refusals.

use super::*;

impl State {
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
