//! DynamoDB DescribeTable (aws-sdk-dynamodb) for spec.dependencies.dynamodbGlobalTables,
//! read only. A table that does not exist in a region is an answer (no replica there), not
//! an error of the call.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{ReplicaStatus as SdkReplicaStatus, TableStatus as SdkTableStatus};

use super::errors::from_sdk;
use super::operations as ops;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::model::{ReplicaStatus, TableDescription, TableReplica, TableStatus};
use crate::ports::GlobalTables;

fn table_status(status: Option<&SdkTableStatus>) -> TableStatus {
    match status {
        Some(SdkTableStatus::Active) => TableStatus::Active,
        Some(SdkTableStatus::Creating) => TableStatus::Creating,
        Some(SdkTableStatus::Updating) => TableStatus::Updating,
        Some(SdkTableStatus::Deleting) => TableStatus::Deleting,
        Some(SdkTableStatus::Archiving) => TableStatus::Archiving,
        Some(SdkTableStatus::Archived) => TableStatus::Archived,
        Some(SdkTableStatus::InaccessibleEncryptionCredentials) => {
            TableStatus::InaccessibleEncryptionCredentials
        }
        Some(other) => TableStatus::Other(other.as_str().to_string()),
        None => TableStatus::Other("no TableStatus".to_string()),
    }
}

fn replica_status(status: Option<&SdkReplicaStatus>) -> ReplicaStatus {
    match status {
        Some(SdkReplicaStatus::Active) => ReplicaStatus::Active,
        Some(SdkReplicaStatus::Creating) => ReplicaStatus::Creating,
        Some(SdkReplicaStatus::CreationFailed) => ReplicaStatus::CreationFailed,
        Some(SdkReplicaStatus::Updating) => ReplicaStatus::Updating,
        Some(SdkReplicaStatus::Deleting) => ReplicaStatus::Deleting,
        Some(SdkReplicaStatus::RegionDisabled) => ReplicaStatus::RegionDisabled,
        Some(SdkReplicaStatus::InaccessibleEncryptionCredentials) => {
            ReplicaStatus::InaccessibleEncryptionCredentials
        }
        Some(SdkReplicaStatus::Archiving) => ReplicaStatus::Archiving,
        Some(SdkReplicaStatus::Archived) => ReplicaStatus::Archived,
        Some(other) => ReplicaStatus::Other(other.as_str().to_string()),
        None => ReplicaStatus::Other("no ReplicaStatus".to_string()),
    }
}

#[async_trait]
impl GlobalTables for AwsCloud {
    async fn describe_table(
        &self,
        region: &str,
        table: &str,
    ) -> CloudResult<Option<TableDescription>> {
        let answer = self
            .region(region)
            .dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeTableError::ResourceNotFoundException(_))
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(from_sdk(&ops::DESCRIBE_TABLE, e)),
        };
        let Some(description) = out.table() else {
            return Ok(None);
        };
        Ok(Some(TableDescription {
            name: description
                .table_name()
                .map_or_else(|| table.to_string(), str::to_string),
            status: table_status(description.table_status()),
            replicas: description
                .replicas()
                .iter()
                .filter_map(|r| {
                    Some(TableReplica {
                        region: r.region_name()?.to_string(),
                        status: replica_status(r.replica_status()),
                    })
                })
                .collect(),
        }))
    }
}
