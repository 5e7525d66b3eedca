//! RDS DB instances and cross-region read replicas (aws-sdk-rds) for spec.database.kind
//! rdsReplica, and their ReplicaLag (aws-sdk-cloudwatch).
//!
//! CreateDBInstanceReadReplica is called in the replica's region and names its source by
//! ARN. Other SDKs turn a client-side `SourceRegion` into a presigned URL; the Rust SDK has
//! no such parameter, and AWS ignores `PreSignedUrl` outside GovCloud and China (RDS API
//! reference), so the request carries the region's `KmsKeyId` and no presigned URL: GovCloud
//! and China partitions are not supported for an encrypted source.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_smithy_types::DateTime;

use super::errors::mapper as err;
use super::operations as ops;
use super::retry::MutationRetryGuard;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::model::{
    CreateReadReplica, DbSnapshot, DbSnapshotStatus, RdsInstance, RdsInstanceStatus,
    ReplicationState,
};
use crate::ports::{InstanceReplicaLag, RdsInstances};

/// Per-request override for mutations: no blind retry after the request may have been sent.
fn mutation() -> aws_sdk_rds::config::Builder {
    aws_sdk_rds::config::Builder::default().retry_classifier(MutationRetryGuard)
}

/// `StatusInfos` type of a read replica's replication state.
const READ_REPLICATION: &str = "read replication";
/// ReplicaLag is published every minute; five minutes back still counts as recent.
const LOOKBACK: Duration = Duration::from_secs(5 * 60);
const PERIOD_SECONDS: i32 = 60;

pub(crate) fn to_rds_instance(region: &str, i: &aws_sdk_rds::types::DbInstance) -> RdsInstance {
    RdsInstance {
        identifier: i.db_instance_identifier().unwrap_or_default().to_string(),
        arn: i.db_instance_arn().unwrap_or_default().to_string(),
        region: region.to_string(),
        status: RdsInstanceStatus::from_aws(i.db_instance_status().unwrap_or_default()),
        engine: i.engine().unwrap_or_default().to_string(),
        engine_version: i.engine_version().unwrap_or_default().to_string(),
        instance_class: i.db_instance_class().unwrap_or_default().to_string(),
        storage_encrypted: i.storage_encrypted().unwrap_or(false),
        kms_key_id: i.kms_key_id().map(str::to_string),
        read_replica_source: i
            .read_replica_source_db_instance_identifier()
            .map(str::to_string),
        read_replicas: i.read_replica_db_instance_identifiers().to_vec(),
        replication: i
            .status_infos()
            .iter()
            .find(|s| s.status_type() == Some(READ_REPLICATION))
            .and_then(|s| s.status())
            .map(ReplicationState::from_aws),
    }
}

fn to_db_snapshot(s: &aws_sdk_rds::types::DbSnapshot) -> DbSnapshot {
    DbSnapshot {
        identifier: s.db_snapshot_identifier().unwrap_or_default().to_string(),
        instance_identifier: s.db_instance_identifier().unwrap_or_default().to_string(),
        snapshot_type: s.snapshot_type().unwrap_or_default().to_string(),
        status: DbSnapshotStatus::from_aws(s.status().unwrap_or_default()),
        created_at: s.snapshot_create_time().and_then(super::rds::to_timestamp),
    }
}

#[async_trait]
impl RdsInstances for AwsCloud {
    async fn describe_db_instance(
        &self,
        region: &str,
        instance_id: &str,
    ) -> CloudResult<Option<RdsInstance>> {
        match self
            .region(region)
            .rds
            .describe_db_instances()
            .db_instance_identifier(instance_id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .db_instances()
                .first()
                .map(|i| to_rds_instance(region, i))),
            // Absence is an answer, not an error.
            Err(e)
                if e.as_service_error().and_then(|s| s.code()) == Some("DBInstanceNotFound")
                    || e.as_service_error().and_then(|s| s.code())
                        == Some("DBInstanceNotFoundFault") =>
            {
                Ok(None)
            }
            Err(e) => Err(err(&ops::DESCRIBE_DB_INSTANCES)(e)),
        }
    }

    async fn promote_read_replica(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.region(region)
            .rds
            .promote_read_replica()
            .db_instance_identifier(instance_id)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::PROMOTE_READ_REPLICA))?;
        Ok(())
    }

    async fn create_read_replica(&self, request: &CreateReadReplica) -> CloudResult<()> {
        self.region(&request.region)
            .rds
            .create_db_instance_read_replica()
            .db_instance_identifier(&request.identifier)
            .source_db_instance_identifier(&request.source_instance_arn)
            .set_db_instance_class(request.instance_class.clone())
            .set_kms_key_id(request.kms_key_id.clone())
            .set_db_subnet_group_name(request.db_subnet_group.clone())
            .set_vpc_security_group_ids(
                (!request.vpc_security_group_ids.is_empty())
                    .then(|| request.vpc_security_group_ids.clone()),
            )
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::CREATE_DB_INSTANCE_READ_REPLICA))?;
        Ok(())
    }

    async fn delete_db_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.region(region)
            .rds
            .delete_db_instance()
            .db_instance_identifier(instance_id)
            // drctl's own manual snapshot was taken and checked first (invariant 2).
            .skip_final_snapshot(true)
            .delete_automated_backups(false)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::DELETE_DB_INSTANCE))?;
        Ok(())
    }

    async fn create_db_snapshot(
        &self,
        region: &str,
        instance_id: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        self.region(region)
            .rds
            .create_db_snapshot()
            .db_instance_identifier(instance_id)
            .db_snapshot_identifier(snapshot_id)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(&ops::CREATE_DB_SNAPSHOT))?;
        Ok(())
    }

    async fn describe_db_snapshots(
        &self,
        region: &str,
        instance_id: &str,
    ) -> CloudResult<Vec<DbSnapshot>> {
        let snapshots = self
            .region(region)
            .rds
            .describe_db_snapshots()
            .db_instance_identifier(instance_id)
            .snapshot_type("manual")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(err(&ops::DESCRIBE_DB_SNAPSHOTS))?;
        Ok(snapshots.iter().map(to_db_snapshot).collect())
    }
}

fn replica_lag_query(replica_id: &str) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id("replicalag")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/RDS")
                        .metric_name("ReplicaLag")
                        .dimensions(
                            Dimension::builder()
                                .name("DBInstanceIdentifier")
                                .value(replica_id)
                                .build(),
                        )
                        .build(),
                )
                .period(PERIOD_SECONDS)
                // The worst lag in the minute: the RPO gate must not be optimistic.
                .stat("Maximum")
                .build(),
        )
        .return_data(true)
        .build()
}

#[async_trait]
impl InstanceReplicaLag for AwsCloud {
    async fn replica_lag(&self, region: &str, replica_id: &str) -> CloudResult<Option<f64>> {
        let now = SystemTime::now();
        let pages: Vec<_> = self
            .region(region)
            .cloudwatch
            .get_metric_data()
            .metric_data_queries(replica_lag_query(replica_id))
            .start_time(DateTime::from(now - LOOKBACK))
            // A minute past now, as for Aurora's lag: the end is exclusive and truncated.
            .end_time(DateTime::from(
                now + Duration::from_secs(PERIOD_SECONDS as u64),
            ))
            .scan_by(ScanBy::TimestampDescending)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(err(&ops::GET_METRIC_DATA))?;
        // Newest first: the first value of the first result that has one. ReplicaLag is in
        // seconds already (Aurora's metrics are milliseconds); RDS reports -1 while
        // replication is not running, which is no datapoint for the planner.
        let newest = pages
            .iter()
            .flat_map(|p| p.metric_data_results())
            .find_map(|r| r.values().first().copied());
        Ok(newest.filter(|lag| *lag >= 0.0))
    }
}
