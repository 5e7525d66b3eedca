//! The continuous pre-flight checks' RDS reads (aws-sdk-rds): whether an instance class is
//! orderable in a region (DescribeOrderableDBInstanceOptions) and the account's DB-instance
//! quota there (DescribeAccountAttributes). Read only; neither has resource-level
//! permissions (IAM grants them on `*`).

use async_trait::async_trait;

use super::errors::mapper as err;
use super::operations as ops;
use super::AwsCloud;
use crate::error::CloudResult;
use crate::model::DbInstanceQuota;
use crate::ports::RdsOfferings;

/// The `AccountQuotaName` of the DB-instance quota.
pub const DB_INSTANCES_QUOTA: &str = "DBInstances";

/// The DBInstances quota of an `AccountQuotas` list (negative counts read as 0).
pub(crate) fn db_instances_quota(
    quotas: &[aws_sdk_rds::types::AccountQuota],
) -> Option<DbInstanceQuota> {
    let quota = quotas
        .iter()
        .find(|q| q.account_quota_name() == Some(DB_INSTANCES_QUOTA))?;
    let count = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
    Some(DbInstanceQuota {
        used: count(quota.used()),
        max: count(quota.max()),
    })
}

#[async_trait]
impl RdsOfferings for AwsCloud {
    async fn instance_class_offered(
        &self,
        region: &str,
        engine: &str,
        engine_version: &str,
        instance_class: &str,
    ) -> CloudResult<bool> {
        // One page is enough: any option for the triple means the class is orderable (the
        // options differ only by storage and availability zones).
        let out = self
            .region(region)
            .rds
            .describe_orderable_db_instance_options()
            .engine(engine)
            .engine_version(engine_version)
            .db_instance_class(instance_class)
            .max_records(20)
            .send()
            .await
            .map_err(err(&ops::DESCRIBE_ORDERABLE_DB_INSTANCE_OPTIONS))?;
        Ok(!out.orderable_db_instance_options().is_empty())
    }

    async fn db_instance_quota(&self, region: &str) -> CloudResult<Option<DbInstanceQuota>> {
        let out = self
            .region(region)
            .rds
            .describe_account_attributes()
            .send()
            .await
            .map_err(err(&ops::DESCRIBE_ACCOUNT_ATTRIBUTES))?;
        Ok(db_instances_quota(out.account_quotas()))
    }
}
