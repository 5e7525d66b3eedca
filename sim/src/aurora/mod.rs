//! Aurora Global Database in the world: membership, IsWriter, FailoverState, sync status,
//! the replication-lag model, switchover and failover with exact data-loss accounting,
//! rejoin or stale old primaries, and the create/delete lifecycles with the real API's
//! refusals (aws-facts.md, "Aurora Global Database").

use drctl_cloud::{
    CloudError, CloudResult, ClusterSnapshot, CreateInstance, CreateSecondaryCluster, DbCluster,
    DbInstance, ErrorCategory, FailoverState, GlobalCluster, GlobalMember, Service, SnapshotQuery,
};
use std::collections::BTreeSet;

use crate::config::RejoinMode;
use crate::keys::*;
use crate::record::{DeletionRecord, FactKind, LossCause};
use crate::state::*;

mod creation;
mod deletion;
mod reads;
mod snapshots;
mod switchover;

const RDS: Service = Service::Rds;

fn rds_err(cat: ErrorCategory, op: &'static str, code: &str, msg: impl Into<String>) -> CloudError {
    cloud_err(cat, RDS, op, code, msg)
}

pub(crate) fn cluster_arn(region: &str, id: &str) -> String {
    format!("arn:aws:rds:{region}:{ACCOUNT}:cluster:{id}")
}

pub(crate) fn global_arn(id: &str) -> String {
    format!("arn:aws:rds::{ACCOUNT}:global-cluster:{id}")
}

/// A customer-managed key usable by a cluster in `region`: not an AWS-managed alias, and,
/// when given as an ARN, in that region (aws-facts: encrypted cross-region secondaries need
/// a customer-managed KMS key in their own region).
pub(crate) fn kms_usable_in(key: &str, region: &str) -> bool {
    if key.contains("alias/aws/") {
        return false;
    }
    match key.strip_prefix("arn:") {
        Some(_) => drctl_cloud::region_of_arn(key) == Some(region),
        None => true,
    }
}

impl State {
    /// A failover's cut (FailoverGlobalCluster with data loss, or PromoteReadReplica): the
    /// writes the new writer had not replayed by `cursor` are lost, and the loss is a fact.
    pub(crate) fn cut_history(&mut self, ctx: &Ctx, global: &str, cursor: i64, reason: &str) {
        let mut lost = 0u64;
        if let Some(app) = self.apps.get_mut(global) {
            let keep = app.history.partition_point(|(commit, _)| *commit <= cursor);
            for (_, idx) in app.history.drain(keep..) {
                if let Some(w) = app.writes.get_mut(idx) {
                    w.lost = Some(LossCause {
                        at_ms: ctx.now,
                        reason: reason.to_string(),
                        call_seq: Some(ctx.seq),
                        allow_data_loss: true,
                    });
                    lost += 1;
                }
            }
        }
        self.fact(
            ctx.now,
            FactKind::WritesLost {
                global: global.to_string(),
                count: lost,
                cause_call_seq: ctx.seq,
            },
        );
    }

    fn global_or_err(&self, op: &'static str, id: &str) -> CloudResult<&Global> {
        self.globals.get(id).ok_or_else(|| {
            rds_err(
                ErrorCategory::NeedsSpecChange,
                op,
                "GlobalClusterNotFoundFault",
                format!("Global cluster {id} not found"),
            )
        })
    }

    fn cluster_or_err(&self, op: &'static str, region: &str, id: &str) -> CloudResult<&Cluster> {
        self.clusters
            .get(&RegionalId::new(region, id))
            .ok_or_else(|| {
                rds_err(
                    ErrorCategory::NeedsSpecChange,
                    op,
                    "DBClusterNotFoundFault",
                    format!("DBCluster {id} not found in {region}"),
                )
            })
    }
}
