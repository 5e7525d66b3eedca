//! The rebuild half of a stale failback: DeleteStale, RecreateSecondary, WaitReplicaSynced.
//!
//! RecreateSecondary succeeds only when the world shows its postcondition: the cluster is a
//! *member* of the global cluster, with its instances available. Existing is not enough: a
//! CreateDBCluster can half happen (the emulator refused it after making the cluster; on AWS
//! a create can fail part way, or someone can remove the member by hand), and a cluster that
//! is not a member never catches up, so WaitReplicaSynced would wait for ever.
//!
//! A cluster that is there but not a member is deleted and recreated only when this very
//! operation provably made it: RecreateSecondary issued CreateDBCluster for it (the call's
//! issue time is in the operation's notes, written before the call, and it was only issued
//! while the world showed no cluster of that name), it never joined the global cluster
//! (else it is a member someone removed, which may hold writes since), and it has no
//! instances drctl did not name. It is snapshotted first all the same: a standalone cluster
//! is writable and answers on the old cluster's endpoint name, and invariant 2 admits no
//! exception. Anything else is never deleted: the group is Blocked with the commands that
//! would let drctl go on.

use drctl_cloud::{DbCluster, DbInstance};

use super::*;

pub(super) fn delete_stale(ctx: &StepContext<'_>) -> StepEval {
    let to = ctx.op.to.as_str();
    if !ctx.reachable(to) {
        return StepEval::Wait(format!("{to} is unreachable"));
    }
    let view = ctx.world.region(to);
    let Some(cluster) = view.and_then(|r| r.cluster.as_ref()) else {
        return StepEval::Done(format!("stale cluster in {to} is gone"));
    };
    if let Err(wait) = global_cluster_read(ctx) {
        return wait;
    }
    if matches!(
        ctx.membership(to),
        Membership::Writer | Membership::Secondary { .. }
    ) {
        return StepEval::Blocked(format!(
            "{} rejoined the global cluster meanwhile: refusing to delete a member; edit the spec to re-plan",
            cluster.identifier
        ));
    }
    // Invariant 2: never delete without a manual snapshot taken after its last write.
    let snapshot_id = ctx.snapshot_id("stale", to);
    if !snapshot_available(ctx, to, &snapshot_id) {
        return StepEval::Blocked(format!(
            "manual snapshot {snapshot_id} of {} is not available: refusing to delete",
            cluster.identifier
        ));
    }
    delete_cluster_and_instances(ctx, cluster, "stale cluster")
}

/// The global cluster must have been read for "not a member" to mean anything: without it
/// every cluster that exists looks detached.
fn global_cluster_read<'a>(
    ctx: &'a StepContext<'_>,
) -> Result<&'a drctl_cloud::GlobalCluster, StepEval> {
    match &ctx.world.global {
        Seen::Known(Some(global)) => Ok(global),
        Seen::Known(None) => Err(StepEval::Blocked(format!(
            "global cluster {} not found",
            ctx.spec.database.global_cluster_identifier
        ))),
        Seen::Unreachable(e) => Err(StepEval::Wait(format!(
            "cannot read the members of the global cluster: {e}"
        ))),
    }
}

fn snapshot_available(ctx: &StepContext<'_>, region: &str, id: &str) -> bool {
    snapshots_in(ctx, region)
        .map(|s| matches!(snapshot_progress(&s, id), Some((true, _))))
        .unwrap_or(false)
}

/// Deletion protection off, the instances, then the cluster (aws-facts: instances go
/// before the cluster). Callers have checked that a snapshot exists.
fn delete_cluster_and_instances(
    ctx: &StepContext<'_>,
    cluster: &DbCluster,
    what: &str,
) -> StepEval {
    let to = ctx.op.to.as_str();
    if cluster.status.is_deleting() {
        return StepEval::Wait(format!("{} is deleting", cluster.identifier));
    }
    if cluster.deletion_protection {
        return StepEval::Act(
            vec![Action::DisableDeletionProtection {
                region: to.to_string(),
                cluster_id: cluster.identifier.clone(),
            }],
            format!("turn off deletion protection of {}", cluster.identifier),
        );
    }
    let Some(instances) = ctx.world.region(to).and_then(|r| r.instances.as_ref()) else {
        return StepEval::Wait(format!("instances in {to} not read yet"));
    };
    let live: Vec<_> = instances
        .iter()
        .filter(|i| !i.status.is_deleting())
        .collect();
    if !live.is_empty() {
        return StepEval::Act(
            live.iter()
                .map(|i| Action::DeleteInstance {
                    region: to.to_string(),
                    instance_id: i.identifier.clone(),
                })
                .collect(),
            format!("delete the instances of {}", cluster.identifier),
        );
    }
    if !instances.is_empty() {
        return StepEval::Wait(format!("instances of {} are deleting", cluster.identifier));
    }
    StepEval::Act(
        vec![Action::DeleteCluster {
            region: to.to_string(),
            cluster_id: cluster.identifier.clone(),
        }],
        format!("delete {what} {}", cluster.identifier),
    )
}

pub(super) fn recreate_secondary(ctx: &StepContext<'_>) -> StepEval {
    let to = ctx.op.to.as_str();
    if !ctx.reachable(to) {
        return StepEval::Wait(format!("{to} is unreachable"));
    }
    let Some(template) = ctx.spec.database.clusters.get(to) else {
        return StepEval::Blocked(format!("spec.database.clusters.{to} is missing"));
    };
    let Some(instance_class) = template.instance_class.clone() else {
        return StepEval::Blocked(format!(
            "spec.database.clusters.{to}.instanceClass is required to recreate {}",
            template.identifier
        ));
    };
    let create = match create_secondary(ctx, template) {
        Ok(create) => create,
        Err(blocked) => return blocked,
    };
    let Some(cluster) = ctx.world.region(to).and_then(|r| r.cluster.as_ref()) else {
        return StepEval::Act(
            vec![create],
            format!("create {} in {to} as a secondary", template.identifier),
        );
    };
    let global = match global_cluster_read(ctx) {
        Ok(global) => global,
        Err(wait) => return wait,
    };
    match ctx.membership(to) {
        Membership::Writer | Membership::Secondary { .. } => {
            add_instances(ctx, cluster, template, &instance_class, &global.identifier)
        }
        Membership::Detached => not_a_member(ctx, cluster, &create),
        other => StepEval::Wait(format!(
            "{} in {to} is {}",
            cluster.identifier,
            other.as_str()
        )),
    }
}

/// The CreateDBCluster this step issues, from the spec template and the global cluster.
fn create_secondary(
    ctx: &StepContext<'_>,
    template: &drctl_schema::ClusterTemplate,
) -> Result<Action, StepEval> {
    let to = ctx.op.to.as_str();
    let global = ctx.world.global.known().cloned().flatten();
    let engine = template
        .engine
        .clone()
        .or_else(|| global.as_ref().and_then(|g| g.engine.clone()));
    let Some(engine) = engine else {
        return Err(StepEval::Blocked(format!(
            "spec.database.clusters.{to}.engine is required to recreate {}",
            template.identifier
        )));
    };
    Ok(Action::CreateSecondaryCluster(CreateSecondaryCluster {
        region: to.to_string(),
        identifier: template.identifier.clone(),
        global_cluster_identifier: ctx.spec.database.global_cluster_identifier.clone(),
        engine,
        engine_version: template
            .engine_version
            .clone()
            .or_else(|| global.as_ref().and_then(|g| g.engine_version.clone())),
        kms_key_id: template.kms_key_id.clone(),
        db_subnet_group: template.db_subnet_group.clone(),
        vpc_security_group_ids: template.vpc_security_group_ids.clone(),
    }))
}

/// The cluster is a member: give it its instances; done when they are all available.
fn add_instances(
    ctx: &StepContext<'_>,
    cluster: &DbCluster,
    template: &drctl_schema::ClusterTemplate,
    instance_class: &str,
    global: &str,
) -> StepEval {
    let to = ctx.op.to.as_str();
    if !cluster.status.is_available() {
        return StepEval::Wait(format!("{} is {}", cluster.identifier, cluster.status));
    }
    let Some(instances) = ctx.world.region(to).and_then(|r| r.instances.as_ref()) else {
        return StepEval::Wait(format!("instances in {to} not read yet"));
    };
    let wanted = template.instance_count.unwrap_or(1).max(1) as usize;
    let existing: Vec<&str> = instances.iter().map(|i| i.identifier.as_str()).collect();
    let missing: Vec<Action> = (1..=wanted)
        .map(|n| instance_id(&cluster.identifier, n))
        .filter(|id| !existing.contains(&id.as_str()))
        .take(wanted.saturating_sub(existing.len()))
        .map(|id| {
            Action::CreateInstance(CreateInstance {
                region: to.to_string(),
                identifier: id,
                cluster_identifier: cluster.identifier.clone(),
                instance_class: instance_class.to_string(),
                engine: cluster.engine.clone(),
            })
        })
        .collect();
    if !missing.is_empty() {
        return StepEval::Act(missing, format!("add instances to {}", cluster.identifier));
    }
    let pending: Vec<_> = instances
        .iter()
        .filter(|i| !i.status.is_available())
        .map(|i| format!("{} is {}", i.identifier, i.status))
        .collect();
    if !pending.is_empty() {
        return StepEval::Wait(pending.join("; "));
    }
    StepEval::Done(format!(
        "{} recreated with {} instance(s), a member of {global}",
        cluster.identifier,
        instances.len()
    ))
}

/// The name drctl gives the `n`th instance of a cluster it recreates.
fn instance_id(cluster: &str, n: usize) -> String {
    rds_identifier(&format!("{cluster}-instance-{n}"))
}

fn named_by_drctl(cluster: &str, instance: &DbInstance) -> bool {
    let prefix = format!("{}-", rds_identifier(&format!("{cluster}-instance")));
    instance.identifier.strip_prefix(&prefix).is_some_and(|n| {
        n.parse::<usize>()
            .is_ok_and(|n| instance_id(cluster, n) == instance.identifier)
    })
}

/// The cluster exists and is not a member of the global cluster.
fn not_a_member(ctx: &StepContext<'_>, cluster: &DbCluster, create: &Action) -> StepEval {
    let to = ctx.op.to.as_str();
    let global = &ctx.spec.database.global_cluster_identifier;
    let id = &cluster.identifier;
    let created_at = ctx
        .op
        .notes
        .get(&note::action_issued_at(StepName::RecreateSecondary, create))
        .and_then(|v| v.parse::<i64>().ok());
    let Some(created_at) = created_at else {
        return StepEval::Blocked(format!(
            "{id} in {to} exists but is not a member of global cluster {global}, and this operation did not create it, \
             so drctl will not delete it. If nothing in it is worth keeping, delete it and drctl recreates it as a secondary: {}",
            removal_commands(ctx, cluster)
        ));
    };
    let joined_at = ctx
        .op
        .notes
        .get(note::SECONDARY_JOINED_AT)
        .and_then(|v| v.parse::<i64>().ok());
    if joined_at.is_some_and(|joined| joined >= created_at) {
        return StepEval::Blocked(format!(
            "{id} in {to} was recreated by this operation and joined {global}, but is no longer a member: it was removed \
             (RemoveFromGlobalCluster leaves a standalone, writable cluster that may have taken writes since), so drctl \
             will not delete it. To rebuild it as a secondary, delete it and drctl recreates it: {}",
            removal_commands(ctx, cluster)
        ));
    }
    let Some(instances) = ctx.world.region(to).and_then(|r| r.instances.as_ref()) else {
        return StepEval::Wait(format!("instances in {to} not read yet"));
    };
    let foreign: Vec<&str> = instances
        .iter()
        .filter(|i| !named_by_drctl(id, i))
        .map(|i| i.identifier.as_str())
        .collect();
    if !foreign.is_empty() {
        return StepEval::Blocked(format!(
            "{id} in {to} is not a member of {global} and has instances drctl did not create ({}), so drctl will not \
             delete it. If nothing in it is worth keeping, delete it and drctl recreates it as a secondary: {}",
            foreign.join(", "),
            removal_commands(ctx, cluster)
        ));
    }
    recreate_unjoined(ctx, cluster, created_at)
}

/// A cluster this operation created that never joined: snapshot, delete, and (once it is
/// gone) create again.
fn recreate_unjoined(ctx: &StepContext<'_>, cluster: &DbCluster, created_at: i64) -> StepEval {
    let to = ctx.op.to.as_str();
    let id = &cluster.identifier;
    let global = &ctx.spec.database.global_cluster_identifier;
    // One snapshot per incarnation: a second half-made create gets its own.
    let snapshot_id = rds_identifier(&format!("drctl-unjoined-{id}-{created_at}"));
    let why = format!(
        "{id} was created by this operation (CreateDBCluster at {}) but is not a member of {global}: a create that half happened",
        Timestamp::from_millis(created_at).to_rfc3339()
    );
    let Some(snapshots) = snapshots_in(ctx, to) else {
        return StepEval::Wait(format!("{why}; snapshots in {to} not read yet"));
    };
    match snapshot_progress(&snapshots, &snapshot_id) {
        Some((true, _)) => match delete_cluster_and_instances(ctx, cluster, "unjoined cluster") {
            StepEval::Act(actions, detail) => {
                StepEval::Act(actions, format!("{why}: {detail}, then recreate it"))
            }
            StepEval::Wait(detail) => StepEval::Wait(format!("{why}: {detail}")),
            other => other,
        },
        Some((false, status)) => {
            StepEval::Wait(format!("{why}: snapshot {snapshot_id} is {status}"))
        }
        None if !cluster.status.is_available() => StepEval::Wait(format!(
            "{why}: {id} is {}; a snapshot needs it available",
            cluster.status
        )),
        None => StepEval::Act(
            vec![Action::CreateClusterSnapshot {
                region: to.to_string(),
                cluster_id: id.clone(),
                snapshot_id: snapshot_id.clone(),
            }],
            format!("{why}: snapshot it as {snapshot_id}, then delete and recreate it"),
        ),
    }
}

/// The AWS CLI commands that remove a cluster, keeping a final snapshot.
fn removal_commands(ctx: &StepContext<'_>, cluster: &DbCluster) -> String {
    let to = ctx.op.to.as_str();
    let id = &cluster.identifier;
    let mut commands = Vec::new();
    if cluster.deletion_protection {
        commands.push(format!(
            "aws rds modify-db-cluster --region {to} --db-cluster-identifier {id} --no-deletion-protection"
        ));
    }
    let instances: Vec<String> = match ctx.world.region(to).and_then(|r| r.instances.as_ref()) {
        Some(instances) => instances.iter().map(|i| i.identifier.clone()).collect(),
        None => cluster.instances.clone(),
    };
    for instance in instances {
        commands.push(format!(
            "aws rds delete-db-instance --region {to} --db-instance-identifier {instance}"
        ));
    }
    commands.push(format!(
        "aws rds delete-db-cluster --region {to} --db-cluster-identifier {id} --final-db-snapshot-identifier {}",
        rds_identifier(&format!("{id}-final-{}", ctx.op.id))
    ));
    commands.join(" && ")
}

pub(super) fn wait_replica_synced(ctx: &StepContext<'_>) -> StepEval {
    let to = ctx.op.to.as_str();
    let max = f64::from(ctx.spec.max_lag_seconds);
    match ctx.membership(to) {
        Membership::Secondary { synced: true } => match ctx.world.lag_seconds {
            Some(lag) if lag <= max => StepEval::Done(format!("{to} synchronized, lag {lag:.1} s")),
            Some(lag) => StepEval::Wait(format!("lag {lag:.1} s > maxLagSeconds {max}")),
            None => without_lag_datapoint(ctx, to),
        },
        Membership::Secondary { synced: false } => {
            StepEval::Wait(format!("{to} is replicating (pending-resync)"))
        }
        // RecreateSecondary's postcondition no longer holds (an operation recorded before
        // it was checked, or a member removed since): it runs again and decides.
        other @ (Membership::Detached | Membership::Missing)
            if matches!(ctx.world.global, Seen::Known(Some(_))) =>
        {
            StepEval::Reopen(
                StepName::RecreateSecondary,
                format!(
                    "{to} cluster is {}, not a member of {}: it cannot catch up",
                    other.as_str(),
                    ctx.spec.database.global_cluster_identifier
                ),
            )
        }
        other => StepEval::Wait(format!("{to} cluster is {}", other.as_str())),
    }
}
