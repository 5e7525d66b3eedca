//! spec.database.kind rdsReplica on AWS: not built yet. Every call is refused with
//! `NeedsSpecChange` and a message saying so, before anything is sent, so that an rdsReplica
//! group under `--cloud aws` stops with that reason in its Ready condition instead of
//! acting on half an adapter. The simulated world (`--cloud sim`, `drctl sim`) implements
//! these ports in full.

use async_trait::async_trait;

use crate::error::{CloudError, CloudResult, ErrorCategory, Service};
use crate::model::{CreateReadReplica, DbSnapshot, RdsInstance};
use crate::ports::{InstanceReplicaLag, RdsInstances};

/// The refusal's code, for tests and messages.
pub const RDS_REPLICA_UNSUPPORTED: &str = "RdsReplicaNotSupportedYet";

/// The ports of rdsReplica groups on AWS, refusing every call (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct UnsupportedRdsInstances;

fn refuse<T>(service: Service, operation: &'static str) -> CloudResult<T> {
    Err(CloudError::new(
        ErrorCategory::NeedsSpecChange,
        service,
        operation,
        RDS_REPLICA_UNSUPPORTED,
        "spec.database.kind rdsReplica is not supported yet with --cloud aws (rehearse it with --cloud sim or drctl sim)",
    ))
}

#[async_trait]
impl RdsInstances for UnsupportedRdsInstances {
    async fn describe_db_instance(&self, _: &str, _: &str) -> CloudResult<Option<RdsInstance>> {
        refuse(Service::Rds, "DescribeDBInstances")
    }

    async fn promote_read_replica(&self, _: &str, _: &str) -> CloudResult<()> {
        refuse(Service::Rds, "PromoteReadReplica")
    }

    async fn create_read_replica(&self, _: &CreateReadReplica) -> CloudResult<()> {
        refuse(Service::Rds, "CreateDBInstanceReadReplica")
    }

    async fn delete_db_instance(&self, _: &str, _: &str) -> CloudResult<()> {
        refuse(Service::Rds, "DeleteDBInstance")
    }

    async fn create_db_snapshot(&self, _: &str, _: &str, _: &str) -> CloudResult<()> {
        refuse(Service::Rds, "CreateDBSnapshot")
    }

    async fn describe_db_snapshots(&self, _: &str, _: &str) -> CloudResult<Vec<DbSnapshot>> {
        refuse(Service::Rds, "DescribeDBSnapshots")
    }
}

#[async_trait]
impl InstanceReplicaLag for UnsupportedRdsInstances {
    async fn replica_lag(&self, _: &str, _: &str) -> CloudResult<Option<f64>> {
        refuse(Service::CloudWatch, "GetMetricData")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_rds_replica_call_is_refused_as_not_supported_yet() {
        let ports = UnsupportedRdsInstances;
        let err = ports
            .describe_db_instance("us-east-1", "db")
            .await
            .unwrap_err();
        assert_eq!(err.code, RDS_REPLICA_UNSUPPORTED);
        assert_eq!(err.category, ErrorCategory::NeedsSpecChange);
        assert!(ports.promote_read_replica("us-west-2", "db").await.is_err());
        assert!(ports.replica_lag("us-west-2", "db").await.is_err());
    }
}
