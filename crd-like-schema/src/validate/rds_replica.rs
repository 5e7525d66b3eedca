//! `spec.database.kind: rdsReplica` (docs/design-contract.md §7.5): a primary DB instance and
//! its cross-region read replica, listed under `spec.database.instances`, one per region.
//! The Aurora fields are refused: a group is one kind of database or the other.

use super::{check_cluster, covers_regions, ValidationErrors};
use crate::types::{ClusterTemplate, DatabaseSpec, InstanceTemplate};

/// RDS engines that have cross-region read replicas (PromoteReadReplica /
/// CreateDBInstanceReadReplica with SourceRegion).
pub const RDS_REPLICA_ENGINES: [&str; 8] = [
    "mariadb",
    "mysql",
    "oracle-ee",
    "oracle-ee-cdb",
    "oracle-se2",
    "oracle-se2-cdb",
    "postgres",
    "sqlserver-ee",
];

pub(super) fn check_database(errs: &mut ValidationErrors, db: &DatabaseSpec, regions: &[String]) {
    if !db.global_cluster_identifier.is_empty() {
        errs.push(
            "spec.database.globalClusterIdentifier",
            "is refused with spec.database.kind: rdsReplica (an Aurora Global Database field; list the DB instances in spec.database.instances)",
        );
    }
    if !db.clusters.is_empty() {
        errs.push(
            "spec.database.clusters",
            "is refused with spec.database.kind: rdsReplica (Aurora clusters; list the DB instances in spec.database.instances)",
        );
    }
    if db.instances.is_empty() {
        errs.push(
            "spec.database.instances",
            "is required with spec.database.kind: rdsReplica (the primary DB instance and its cross-region read replica, one per region)",
        );
        return;
    }
    covers_regions(errs, "spec.database.instances", &db.instances, regions);
    for (region, instance) in &db.instances {
        check_instance(
            errs,
            &format!("spec.database.instances.{region}"),
            region,
            instance,
        );
    }
    let engines: Vec<&str> = db
        .instances
        .values()
        .filter_map(|i| i.engine.as_deref())
        .collect();
    if engines.windows(2).any(|pair| pair[0] != pair[1]) {
        errs.push(
            "spec.database.instances",
            format!(
                "the engines differ ({}): a read replica runs its source's engine",
                engines.join(", ")
            ),
        );
    }
}

/// The identifier, version, class, KMS key, subnet group and security groups follow the same
/// rules as an Aurora cluster template's (the one checker serves both); the engine is an RDS
/// one, not Aurora's.
fn check_instance(errs: &mut ValidationErrors, path: &str, region: &str, i: &InstanceTemplate) {
    let common = ClusterTemplate {
        identifier: i.identifier.clone(),
        engine: None,
        engine_version: i.engine_version.clone(),
        instance_class: i.instance_class.clone(),
        instance_count: None,
        kms_key_id: i.kms_key_id.clone(),
        db_subnet_group: i.db_subnet_group.clone(),
        vpc_security_group_ids: i.vpc_security_group_ids.clone(),
    };
    check_cluster(errs, path, region, &common);
    if let Some(engine) = &i.engine {
        if !RDS_REPLICA_ENGINES.contains(&engine.as_str()) {
            errs.push(
                format!("{path}.engine"),
                format!(
                    "{engine:?} is not one of [{}] (RDS engines with cross-region read replicas)",
                    RDS_REPLICA_ENGINES.join(", ")
                ),
            );
        }
    }
}
