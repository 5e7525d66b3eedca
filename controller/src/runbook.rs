//! The sequential runbook of shared/seeds/000 (promote-dr.sh), as a baseline: promote, wait
//! for the writer, scale up, wait for tasks, move DNS, wait for INSYNC, verify. Each step
//! starts when the previous one ends; it polls as often as drctl does, so that comparing the
//! two measures the ordering, not the polling.

use std::time::Duration;

use drctl_cloud::{ecs_resource_id, ChangeStatus, Cloud, CloudError, ErrorCategory, Service};
use drctl_schema::{FailoverGroupSpec, Timestamp};

use crate::observed::{desired_record, fqdn};

/// One step of the runbook as it ran.
#[derive(Debug, Clone)]
pub struct RunbookStep {
    pub name: String,
    pub started: Timestamp,
    pub finished: Timestamp,
}

impl RunbookStep {
    fn new(name: &str, started: Timestamp, finished: Timestamp) -> Self {
        RunbookStep {
            name: name.to_string(),
            started,
            finished,
        }
    }
}

/// The runbook's steps in the order they ran, and when the new region served traffic.
#[derive(Debug, Clone)]
pub struct RunbookTimings {
    pub steps: Vec<RunbookStep>,
    pub served: Option<Timestamp>,
}

fn give_up(what: &str) -> CloudError {
    CloudError::new(
        ErrorCategory::Terminal,
        Service::Http,
        "runbook",
        "RunbookTimeout",
        format!("{what} did not happen within an hour"),
    )
}

/// Poll `check` every `poll` until it returns true (errors count as "not yet").
async fn wait<F, Fut>(poll: Duration, what: &str, mut check: F) -> Result<(), CloudError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, CloudError>>,
{
    for _ in 0..(3600 / poll.as_secs().max(1)) {
        if let Ok(true) = check().await {
            return Ok(());
        }
        tokio::time::sleep(poll).await;
    }
    Err(give_up(what))
}

/// Retry a call until it succeeds (the runbook's operator re-runs a failed command).
async fn retry<F, Fut, T>(poll: Duration, what: &str, mut call: F) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CloudError>>,
{
    let mut last = None;
    for _ in 0..(3600 / poll.as_secs().max(1)) {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() => last = Some(e),
            Err(e) => return Err(e),
        }
        tokio::time::sleep(poll).await;
    }
    Err(last.unwrap_or_else(|| give_up(what)))
}

pub async fn run_sequential(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    to: &str,
    failover: bool,
    poll: Duration,
) -> Result<RunbookTimings, CloudError> {
    let mut timings = Vec::new();
    if crate::planner::steps::rds_replica::is_rds(spec) {
        promote_rds(cloud, spec, to, failover, poll, &mut timings).await?;
    } else {
        promote_aurora(cloud, spec, to, failover, poll, &mut timings).await?;
    }

    // 2. Scale up ECS: min capacity and desired count to production levels.
    let started = cloud.clock.now();
    for svc in &spec.compute.services {
        let Some(r) = svc.regions.get(to) else {
            continue;
        };
        let id = ecs_resource_id(&r.cluster, &r.service);
        retry(poll, "register", || async {
            cloud
                .autoscaling
                .register_scalable_target(to, &id, svc.active.min, svc.active.max)
                .await
        })
        .await?;
        retry(poll, "scale", || async {
            cloud
                .ecs
                .update_desired_count(to, &r.cluster, &r.service, svc.active.desired)
                .await
        })
        .await?;
    }
    timings.push(RunbookStep::new(
        "ScaleUpTarget",
        started,
        cloud.clock.now(),
    ));
    let started = cloud.clock.now();
    wait(poll, "tasks", || async {
        for svc in &spec.compute.services {
            let Some(r) = svc.regions.get(to) else {
                continue;
            };
            let found = cloud
                .ecs
                .describe_services(to, &r.cluster, std::slice::from_ref(&r.service))
                .await?;
            if found.first().map(|s| s.running).unwrap_or(0) < svc.active.desired {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await?;
    timings.push(RunbookStep::new(
        "WaitComputeReady",
        started,
        cloud.clock.now(),
    ));

    // 4. Route 53 upsert.
    let started = cloud.clock.now();
    let desired = desired_record(spec, to).ok_or_else(|| give_up("a DNS target"))?;
    let name_fq = fqdn(&spec.dns.record_name);
    let change = retry(poll, "dns", || async {
        let current = cloud
            .dns
            .get_record(
                &spec.dns.hosted_zone_id,
                &name_fq,
                spec.dns.record_type.as_str(),
            )
            .await?;
        cloud
            .dns
            .change_record(
                &spec.dns.hosted_zone_id,
                current.as_ref(),
                &desired,
                "runbook",
            )
            .await
    })
    .await?;
    timings.push(RunbookStep::new("MoveDns", started, cloud.clock.now()));
    let started = cloud.clock.now();
    wait(poll, "INSYNC", || async {
        Ok(cloud.dns.get_change(&change.id).await? == ChangeStatus::InSync)
    })
    .await?;
    timings.push(RunbookStep::new(
        "WaitDnsInSync",
        started,
        cloud.clock.now(),
    ));
    let mut served = Some(cloud.clock.now());

    // 5. Verify.
    if let Some(verify) = &spec.verify {
        let started = cloud.clock.now();
        wait(poll, "verify", || async {
            Ok(cloud.health.probe(&verify.url).await? == verify.expect_status)
        })
        .await?;
        timings.push(RunbookStep::new("Verify", started, cloud.clock.now()));
        served = Some(cloud.clock.now());
    }
    Ok(RunbookTimings {
        steps: timings,
        served,
    })
}

/// Step 1 on Aurora: `aws rds failover-global-cluster` (or switchover), then wait for the
/// writer.
async fn promote_aurora(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    to: &str,
    failover: bool,
    poll: Duration,
    timings: &mut Vec<RunbookStep>,
) -> Result<(), CloudError> {
    let global = spec.database.global_cluster_identifier.clone();
    let target_id = spec
        .database
        .clusters
        .get(to)
        .map(|c| c.identifier.clone())
        .unwrap_or_default();

    let started = cloud.clock.now();
    let target = retry(poll, "describe target", || async {
        cloud
            .aurora
            .describe_clusters(to, std::slice::from_ref(&target_id))
            .await
    })
    .await?;
    let arn = target.first().map(|c| c.arn.clone()).unwrap_or_default();
    retry(poll, "promote", || async {
        if failover {
            cloud
                .aurora
                .failover_global_cluster(to, &global, &arn, true)
                .await
        } else {
            cloud
                .aurora
                .switchover_global_cluster(to, &global, &arn)
                .await
        }
    })
    .await?;
    let name = if failover { "Failover" } else { "Switchover" };
    timings.push(RunbookStep::new(name, started, cloud.clock.now()));

    let started = cloud.clock.now();
    wait(poll, "writer", || async {
        let g = cloud.aurora.describe_global_cluster(to, &global).await?;
        Ok(g.map(|g| {
            g.failover_state.is_none() && g.writer().map(|w| w.cluster_arn == arn).unwrap_or(false)
        })
        .unwrap_or(false))
    })
    .await?;
    timings.push(RunbookStep::new("WaitWriter", started, cloud.clock.now()));
    Ok(())
}

/// Step 1 on RDS (spec.database.kind rdsReplica): a planned move first scales the source's
/// compute to zero and waits for ReplicaLag 0 (there is no managed switchover across
/// regions); then `aws rds promote-read-replica`, and wait until the replica is a
/// standalone, available primary.
async fn promote_rds(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    to: &str,
    failover: bool,
    poll: Duration,
    timings: &mut Vec<RunbookStep>,
) -> Result<(), CloudError> {
    let target_id = spec
        .database
        .instances
        .get(to)
        .map(|i| i.identifier.clone())
        .unwrap_or_default();
    if !failover {
        let started = cloud.clock.now();
        let from = spec.other_region(to).unwrap_or_default().to_string();
        for svc in &spec.compute.services {
            let Some(r) = svc.regions.get(&from) else {
                continue;
            };
            retry(poll, "fence", || async {
                cloud
                    .ecs
                    .update_desired_count(&from, &r.cluster, &r.service, 0)
                    .await
            })
            .await?;
        }
        wait(poll, "ReplicaLag 0", || async {
            Ok(cloud.replica_lag.replica_lag(to, &target_id).await? == Some(0.0))
        })
        .await?;
        timings.push(RunbookStep::new("FenceSource", started, cloud.clock.now()));
    }
    let started = cloud.clock.now();
    retry(poll, "promote", || async {
        cloud
            .rds_instances
            .promote_read_replica(to, &target_id)
            .await
    })
    .await?;
    timings.push(RunbookStep::new(
        "PromoteReplica",
        started,
        cloud.clock.now(),
    ));
    let started = cloud.clock.now();
    wait(poll, "writer", || async {
        let found = cloud
            .rds_instances
            .describe_db_instance(to, &target_id)
            .await?;
        Ok(found.is_some_and(|i| {
            !i.is_replica() && i.status == drctl_cloud::RdsInstanceStatus::Available
        }))
    })
    .await?;
    timings.push(RunbookStep::new("WaitWriter", started, cloud.clock.now()));
    Ok(())
}
