//! Aurora (aws-sdk-rds): global clusters, member clusters, instances, snapshots.

use async_trait::async_trait;
use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::types::Filter;
use drctl_schema::Timestamp;

use super::errors::{from_sdk, mapper as err};
use super::operations as ops;
use super::retry::MutationRetryGuard;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::model::*;
use crate::ports::Aurora;

/// Per-request override for mutations: no blind retry after the request may have been sent.
fn mutation() -> aws_sdk_rds::config::Builder {
    aws_sdk_rds::config::Builder::default().retry_classifier(MutationRetryGuard)
}

/// `NotFound` faults on a describe call are an answer ("it does not exist"), not an error.
fn is_not_found<E: ProvideErrorMetadata>(
    err: &aws_sdk_rds::error::SdkError<E, aws_sdk_rds::config::http::HttpResponse>,
    code: &str,
) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some(code)
}

fn by_cluster_id(ids: &[String]) -> Filter {
    Filter::builder()
        .name("db-cluster-id")
        .set_values(Some(ids.to_vec()))
        .build()
}

pub(crate) fn to_timestamp(t: &aws_smithy_types::DateTime) -> Option<Timestamp> {
    t.to_millis().ok().map(Timestamp::from_millis)
}

pub(crate) fn to_global_cluster(g: &aws_sdk_rds::types::GlobalCluster) -> GlobalCluster {
    GlobalCluster {
        identifier: g
            .global_cluster_identifier()
            .unwrap_or_default()
            .to_string(),
        arn: g.global_cluster_arn().unwrap_or_default().to_string(),
        engine: g.engine().map(str::to_string),
        engine_version: g.engine_version().map(str::to_string),
        status: g.status().map(str::to_string),
        members: g
            .global_cluster_members()
            .iter()
            .map(|m| GlobalMember {
                cluster_arn: m.db_cluster_arn().unwrap_or_default().to_string(),
                is_writer: m.is_writer().unwrap_or(false),
                synchronization_status: m.synchronization_status().map(|s| s.as_str().to_string()),
            })
            .collect(),
        // AWS returns an empty FailoverState element (no status) when nothing is in flight on
        // some engines: only a state with a status is an operation.
        failover_state: g.failover_state().and_then(|f| {
            f.status().map(|status| FailoverState {
                status: status.as_str().to_string(),
                from_cluster_arn: f.from_db_cluster_arn().map(str::to_string),
                to_cluster_arn: f.to_db_cluster_arn().map(str::to_string),
                is_data_loss_allowed: f.is_data_loss_allowed().unwrap_or(false),
            })
        }),
        writer_endpoint: g.endpoint().map(str::to_string),
    }
}

pub(crate) fn to_db_cluster(region: &str, c: &aws_sdk_rds::types::DbCluster) -> DbCluster {
    DbCluster {
        identifier: c.db_cluster_identifier().unwrap_or_default().to_string(),
        arn: c.db_cluster_arn().unwrap_or_default().to_string(),
        region: region.to_string(),
        status: c.status().unwrap_or_default().into(),
        engine: c.engine().unwrap_or_default().to_string(),
        engine_version: c.engine_version().unwrap_or_default().to_string(),
        deletion_protection: c.deletion_protection().unwrap_or(false),
        storage_encrypted: c.storage_encrypted().unwrap_or(false),
        kms_key_id: c.kms_key_id().map(str::to_string),
        instances: c
            .db_cluster_members()
            .iter()
            .filter_map(|m| m.db_instance_identifier().map(str::to_string))
            .collect(),
    }
}

fn to_db_instance(i: &aws_sdk_rds::types::DbInstance) -> DbInstance {
    DbInstance {
        identifier: i.db_instance_identifier().unwrap_or_default().to_string(),
        cluster_identifier: i.db_cluster_identifier().map(str::to_string),
        status: i.db_instance_status().unwrap_or_default().into(),
        instance_class: i.db_instance_class().unwrap_or_default().to_string(),
    }
}

fn to_snapshot(s: &aws_sdk_rds::types::DbClusterSnapshot) -> ClusterSnapshot {
    ClusterSnapshot {
        identifier: s
            .db_cluster_snapshot_identifier()
            .unwrap_or_default()
            .to_string(),
        cluster_identifier: s.db_cluster_identifier().unwrap_or_default().to_string(),
        snapshot_type: s.snapshot_type().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().into(),
        created_at: s.snapshot_create_time().and_then(to_timestamp),
    }
}

#[async_trait]
impl Aurora for AwsCloud {
    async fn describe_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
    ) -> CloudResult<Option<GlobalCluster>> {
        let result = self
            .region(region)
            .rds
            .describe_global_clusters()
            .global_cluster_identifier(global_cluster_id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        match result {
            Ok(clusters) => Ok(clusters
                .iter()
                // RDS identifiers are case-insensitive (stored lower-case); also guards against
                // an endpoint that ignores the identifier and lists every global cluster.
                .find(|g| {
                    g.global_cluster_identifier()
                        .is_some_and(|id| id.eq_ignore_ascii_case(global_cluster_id))
                })
                .map(to_global_cluster)),
            Err(e) if is_not_found(&e, "GlobalClusterNotFoundFault") => Ok(None),
            Err(e) => Err(from_sdk(&ops::DESCRIBE_GLOBAL_CLUSTERS, e)),
        }
    }

    async fn describe_global_clusters(&self, region: &str) -> CloudResult<Vec<GlobalCluster>> {
        let clusters = self
            .region(region)
            .rds
            .describe_global_clusters()
            .max_records(RDS_GLOBAL_CLUSTERS_PER_PAGE as i32)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(err(&ops::DESCRIBE_GLOBAL_CLUSTERS))?;
        Ok(clusters.iter().map(to_global_cluster).collect())
    }

    async fn describe_clusters(&self, region: &str, ids: &[String]) -> CloudResult<Vec<DbCluster>> {
        let rds = self.region(region).rds.clone();
        let mut clusters = Vec::new();
        // One call (plus pages) per 100 identifiers: docs/design-contract.md §3 batches observation.
        for chunk in ids.chunks(RDS_FILTER_VALUES_MAX) {
            let page = rds
                .describe_db_clusters()
                .filters(by_cluster_id(chunk))
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(err(&ops::DESCRIBE_DB_CLUSTERS))?;
            clusters.extend(page.iter().map(|c| to_db_cluster(region, c)));
        }
        Ok(clusters)
    }

    async fn describe_instances(
        &self,
        region: &str,
        cluster_id: &str,
    ) -> CloudResult<Vec<DbInstance>> {
        let instances = self
            .region(region)
            .rds
            .describe_db_instances()
            .filters(by_cluster_id(&[cluster_id.to_string()]))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(err(&ops::DESCRIBE_DB_INSTANCES))?;
        Ok(instances.iter().map(to_db_instance).collect())
    }

    async fn switchover_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> CloudResult<()> {
        self.region(region)
            .rds
            .switchover_global_cluster()
            .global_cluster_identifier(global_cluster_id)
            .target_db_cluster_identifier(target_cluster_arn)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::SWITCHOVER_GLOBAL_CLUSTER))?;
        Ok(())
    }

    async fn failover_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
        allow_data_loss: bool,
    ) -> CloudResult<()> {
        self.region(region)
            .rds
            .failover_global_cluster()
            .global_cluster_identifier(global_cluster_id)
            .target_db_cluster_identifier(target_cluster_arn)
            .allow_data_loss(allow_data_loss)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::FAILOVER_GLOBAL_CLUSTER))?;
        Ok(())
    }

    async fn describe_cluster_snapshots(
        &self,
        region: &str,
        query: &SnapshotQuery,
    ) -> CloudResult<Vec<ClusterSnapshot>> {
        let result = self
            .region(region)
            .rds
            .describe_db_cluster_snapshots()
            .set_db_cluster_identifier(query.cluster_identifier.clone())
            .set_db_cluster_snapshot_identifier(query.snapshot_identifier.clone())
            .set_snapshot_type(query.snapshot_type.clone())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        match result {
            Ok(snapshots) => Ok(snapshots.iter().map(to_snapshot).collect()),
            // Asking for one snapshot by name answers "not there" with a fault.
            Err(e) if is_not_found(&e, "DBClusterSnapshotNotFoundFault") => Ok(Vec::new()),
            Err(e) => Err(from_sdk(&ops::DESCRIBE_DB_CLUSTER_SNAPSHOTS, e)),
        }
    }

    async fn create_cluster_snapshot(
        &self,
        region: &str,
        cluster_id: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        self.region(region)
            .rds
            .create_db_cluster_snapshot()
            .db_cluster_identifier(cluster_id)
            .db_cluster_snapshot_identifier(snapshot_id)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::CREATE_DB_CLUSTER_SNAPSHOT))?;
        Ok(())
    }

    async fn copy_cluster_snapshot(
        &self,
        region: &str,
        source_snapshot_id: &str,
        target_snapshot_id: &str,
    ) -> CloudResult<()> {
        self.region(region)
            .rds
            .copy_db_cluster_snapshot()
            .source_db_cluster_snapshot_identifier(source_snapshot_id)
            .target_db_cluster_snapshot_identifier(target_snapshot_id)
            .copy_tags(true)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::COPY_DB_CLUSTER_SNAPSHOT))?;
        Ok(())
    }

    async fn set_deletion_protection(
        &self,
        region: &str,
        cluster_id: &str,
        enabled: bool,
    ) -> CloudResult<()> {
        self.region(region)
            .rds
            .modify_db_cluster()
            .db_cluster_identifier(cluster_id)
            .deletion_protection(enabled)
            .apply_immediately(true)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::MODIFY_DB_CLUSTER))?;
        Ok(())
    }

    async fn delete_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.region(region)
            .rds
            .delete_db_instance()
            .db_instance_identifier(instance_id)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::DELETE_DB_INSTANCE))?;
        Ok(())
    }

    async fn delete_cluster(&self, region: &str, cluster_id: &str) -> CloudResult<()> {
        self.region(region)
            .rds
            .delete_db_cluster()
            .db_cluster_identifier(cluster_id)
            // drctl's own manual snapshot was taken (and checked) before this step.
            .skip_final_snapshot(true)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::DELETE_DB_CLUSTER))?;
        Ok(())
    }

    async fn create_secondary_cluster(&self, request: &CreateSecondaryCluster) -> CloudResult<()> {
        let security_groups = (!request.vpc_security_group_ids.is_empty())
            .then(|| request.vpc_security_group_ids.clone());
        // `SourceRegion`/`PreSignedUrl` are for cross-region *read replicas*
        // (ReplicationSourceIdentifier); a global-database secondary only needs a KMS key of
        // its own region, so no source region is sent.
        self.region(&request.region)
            .rds
            .create_db_cluster()
            .db_cluster_identifier(&request.identifier)
            .global_cluster_identifier(&request.global_cluster_identifier)
            .engine(&request.engine)
            .set_engine_version(request.engine_version.clone())
            .set_kms_key_id(request.kms_key_id.clone())
            .set_storage_encrypted(request.kms_key_id.as_ref().map(|_| true))
            .set_db_subnet_group_name(request.db_subnet_group.clone())
            .set_vpc_security_group_ids(security_groups)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::CREATE_DB_CLUSTER))?;
        Ok(())
    }

    async fn create_instance(&self, request: &CreateInstance) -> CloudResult<()> {
        self.region(&request.region)
            .rds
            .create_db_instance()
            .db_instance_identifier(&request.identifier)
            .db_cluster_identifier(&request.cluster_identifier)
            .db_instance_class(&request.instance_class)
            .engine(&request.engine)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::CREATE_DB_INSTANCE))?;
        Ok(())
    }
}
