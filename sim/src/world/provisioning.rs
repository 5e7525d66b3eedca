//! `SimWorld`: provisioning groups in a healthy steady state.

use super::*;

impl SimWorld {
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
                    what: format!("cluster {k}"),
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
}

/// The record a spec wants for `region`'s target, as the simulated Route 53 stores it.
pub fn desired_record(
    spec: &FailoverGroupSpec,
    _region: &str,
    target: &drctl_schema::DnsTarget,
) -> Option<DnsRecord> {
    drctl_cloud::dns_name::desired_record(spec, target).map(|rec| normalize(&rec))
}
