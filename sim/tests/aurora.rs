#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use drctl_cloud::{CreateInstance, CreateSecondaryCluster, ErrorCategory, SnapshotQuery};
use drctl_sim::*;

#[tokio::test(start_paused = true)]
async fn provisioned_world_is_a_healthy_synced_global_database() {
    let world = world();
    let cloud = world.cloud("t");
    let g = cloud
        .aurora
        .describe_global_cluster(EAST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.writer().unwrap().cluster_arn, primary_arn());
    assert!(g.failover_state.is_none());
    let sec = g.member(&secondary_arn()).unwrap();
    assert!(!sec.is_writer);
    assert_eq!(sec.synchronization_status.as_deref(), Some("connected"));
    let lag = cloud
        .lag
        .replication_lag(EAST, PRIMARY, WEST)
        .await
        .unwrap();
    assert_eq!(lag, Some(0.5));
    let clusters = cloud
        .aurora
        .describe_clusters(WEST, &[SECONDARY.to_string()])
        .await
        .unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].status, "available");
    assert_eq!(clusters[0].instances, vec![format!("{SECONDARY}-1")]);
}

#[tokio::test(start_paused = true)]
async fn switchover_waits_for_sync_and_loses_no_write() {
    let world = world();
    world.start_app_writes(100).unwrap();
    let cloud = world.cloud("t");
    sleep_s(10).await;
    cloud
        .aurora
        .switchover_global_cluster(WEST, GLOBAL, &secondary_arn())
        .await
        .unwrap();
    let started = world.now();
    let g = cloud
        .aurora
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.failover_state.as_ref().unwrap().status, "switching-over");
    assert!(!g.failover_state.as_ref().unwrap().is_data_loss_allowed);
    wait_for(&world, 600, "west writer", |s| {
        writer_region(s).as_deref() == Some(WEST)
    })
    .await;
    sleep_s(10).await;
    let loss = world.data_loss();
    assert!(loss.lost_writes.is_empty(), "{loss:?}");
    assert!(loss.committed > 1000);
    // Writes continue at the new writer.
    let last = world.writes(GLOBAL).last().cloned().unwrap();
    assert_eq!(
        last.committed_at.as_deref(),
        Some("us-west-2/myapp-secondary")
    );
    // Duration: fence + lag + promotion (defaults 5 s + 0.5 s + 60 s).
    let promoted = world
        .first_fact(started, |k| matches!(k, FactKind::WriterPromoted { .. }))
        .unwrap();
    assert_eq!(promoted.at.millis() - started.millis(), 65_500);
    // The old primary is now a connected secondary.
    let g = cloud
        .aurora
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        g.member(&primary_arn())
            .unwrap()
            .synchronization_status
            .as_deref(),
        Some("connected")
    );
    assert!(world
        .check_invariants(&InvariantInput::default())
        .is_empty());
}

#[tokio::test(start_paused = true)]
async fn failover_with_allow_data_loss_loses_exactly_the_unreplicated_writes() {
    let world = world();
    world.start_app_writes(100).unwrap(); // write n at n * 10 ms
    let cloud = world.cloud("t");
    sleep_s(10).await;
    world.region_outage(EAST);
    // With a 500 ms lag, writes committed after 9.5 s never reached us-west-2.
    sleep_s(5).await;
    cloud
        .aurora
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), true)
        .await
        .unwrap();
    let g = cloud
        .aurora
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    let fs = g.failover_state.unwrap();
    assert_eq!(fs.status, "failing-over");
    assert!(fs.is_data_loss_allowed);
    wait_for(&world, 600, "west writer", |s| {
        writer_region(s).as_deref() == Some(WEST)
    })
    .await;
    sleep_s(5).await;
    let loss = world.data_loss();
    let expected: Vec<u64> = (951..=1000).collect();
    assert_eq!(loss.lost_writes, expected);
    assert_eq!(loss.losses.len(), 1);
    assert_eq!(loss.losses[0].reason, "FailoverCut");
    assert!(loss.losses[0].allow_data_loss);
    // Writes during the outage were refused, not lost; writes resumed in the west.
    assert!(loss.rejected > 0);
    let last = world.writes(GLOBAL).last().cloned().unwrap();
    assert_eq!(
        last.committed_at.as_deref(),
        Some("us-west-2/myapp-secondary")
    );
    assert!(last.lost.is_none());
    // The checker accepts the loss only when spec.allowDataLoss was true.
    let allowed = InvariantInput {
        allow_data_loss: true,
        ..InvariantInput::default()
    };
    assert!(world.check_invariants(&allowed).is_empty());
    let refused = world.check_invariants(&InvariantInput::default());
    assert!(refused.iter().any(|v| v.invariant == 3), "{refused:?}");
}

#[tokio::test(start_paused = true)]
async fn failover_without_allow_data_loss_towards_a_dead_primary_fails_and_explains() {
    let world = world();
    let cloud = world.cloud("t");
    world.region_outage(EAST);
    let err = cloud
        .aurora
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidGlobalClusterStateFault");
    assert_eq!(err.category, ErrorCategory::NeedsSpecChange);
    assert!(err.message.contains("AllowDataLoss"), "{}", err.message);
    assert_eq!(writer_region(&world.snapshot()).as_deref(), Some(EAST));
    let g = cloud
        .aurora
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    assert!(g.failover_state.is_none());
}

#[tokio::test(start_paused = true)]
async fn failover_without_allow_data_loss_on_a_healthy_primary_is_a_switchover() {
    let world = world();
    world.start_app_writes(50).unwrap();
    let cloud = world.cloud("t");
    sleep_s(3).await;
    cloud
        .aurora
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), false)
        .await
        .unwrap();
    let in_flight = cloud
        .aurora
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap()
        .failover_state
        .expect("an operation in flight");
    assert_eq!(in_flight.status, "switching-over");
    assert!(!in_flight.is_data_loss_allowed);
    wait_for(&world, 600, "west writer", |s| {
        writer_region(s).as_deref() == Some(WEST)
    })
    .await;
    assert!(world.data_loss().lost_writes.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_second_operation_is_refused_while_failover_state_is_set() {
    let world = world();
    let cloud = world.cloud("t");
    cloud
        .aurora
        .switchover_global_cluster(WEST, GLOBAL, &secondary_arn())
        .await
        .unwrap();
    for allow in [false, true] {
        let err = cloud
            .aurora
            .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), allow)
            .await
            .unwrap_err();
        assert_eq!(err.code, "InvalidGlobalClusterStateFault");
        assert!(err.is_retryable());
    }
    let err = cloud
        .aurora
        .switchover_global_cluster(WEST, GLOBAL, &secondary_arn())
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidGlobalClusterStateFault");
}

#[tokio::test(start_paused = true)]
async fn switchover_is_refused_while_a_region_is_down() {
    let world = world();
    let cloud = world.cloud("t");
    world.region_outage_with(EAST, OutageScope::RegionalServicesOnly);
    let err = cloud
        .aurora
        .switchover_global_cluster(WEST, GLOBAL, &secondary_arn())
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidGlobalClusterStateFault");
    // Not the "operation in flight" refusal, which has the same code.
    assert!(
        err.message
            .contains("switchover needs every region healthy"),
        "{err}"
    );
}

/// Fail over with the east region down, bring it back, return the old primary's fate.
async fn failover_then_recover(mode: RejoinMode) -> std::sync::Arc<SimWorld> {
    let world = world();
    world.set_rejoin_mode(mode);
    world.start_app_writes(10).unwrap();
    let cloud = world.cloud("t");
    sleep_s(5).await;
    world.region_outage(EAST);
    cloud
        .aurora
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), true)
        .await
        .unwrap();
    wait_for(&world, 600, "west writer", |s| {
        writer_region(s).as_deref() == Some(WEST)
    })
    .await;
    sleep_s(60).await;
    world.region_recover(EAST);
    world
}

#[tokio::test(start_paused = true)]
async fn old_primary_rejoins_as_secondary_with_the_system_snapshot_after_recovery() {
    let world = failover_then_recover(RejoinMode::Automatic).await;
    let cloud = world.cloud("t");
    // Not yet: Aurora takes the rejoin delay (300 s by default).
    let before = world.snapshot();
    let east = before.cluster_in(EAST).unwrap();
    assert!(!east.writable, "the fenced old primary takes no writes");
    wait_for(&world, 2000, "east connected again", |s| {
        s.cluster_in(EAST)
            .unwrap()
            .synchronization_status
            .as_deref()
            == Some("connected")
    })
    .await;
    let g = cloud
        .aurora
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    let m = g.member(&primary_arn()).unwrap();
    assert!(!m.is_writer);
    let snaps = cloud
        .aurora
        .describe_cluster_snapshots(
            EAST,
            &SnapshotQuery {
                cluster_identifier: Some(PRIMARY.to_string()),
                snapshot_identifier: None,
                snapshot_type: Some("system".to_string()),
            },
        )
        .await
        .unwrap();
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert!(snaps[0]
        .identifier
        .starts_with("rds:unplanned-global-failover-myapp-primary-"));
    assert_eq!(snaps[0].status, "available");
    // Copying it keeps it as a manual snapshot.
    cloud
        .aurora
        .copy_cluster_snapshot(EAST, &snaps[0].identifier, "keep-old-primary")
        .await
        .unwrap();
    let copy = cloud
        .aurora
        .describe_cluster_snapshots(
            EAST,
            &SnapshotQuery {
                snapshot_identifier: Some("keep-old-primary".to_string()),
                ..SnapshotQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(copy[0].status, "copying");
    assert_eq!(copy[0].snapshot_type, "manual");
    // Exactly one writer throughout.
    let v = world.check_invariants(&InvariantInput {
        allow_data_loss: true,
        ..InvariantInput::default()
    });
    assert!(v.is_empty(), "{v:?}");
}

#[tokio::test(start_paused = true)]
async fn stale_mode_leaves_the_old_primary_detached_standalone_and_writable() {
    let world = failover_then_recover(RejoinMode::Stale).await;
    let cloud = world.cloud("t");
    sleep_s(1000).await;
    let s = world.snapshot();
    let east = s.cluster_in(EAST).unwrap();
    assert_eq!(east.role, "detached");
    assert!(east.writable);
    let g = cloud
        .aurora
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    assert!(
        g.member(&primary_arn()).is_none(),
        "detached from the global cluster"
    );
    assert_eq!(g.members.len(), 1);
    let system = cloud
        .aurora
        .describe_cluster_snapshots(
            EAST,
            &SnapshotQuery {
                snapshot_type: Some("system".to_string()),
                ..SnapshotQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(system.is_empty(), "no automatic snapshot in the stale case");
    // Nobody writes to it (the app follows the global writer): no split brain.
    let v = world.check_invariants(&InvariantInput {
        allow_data_loss: true,
        ..InvariantInput::default()
    });
    assert!(v.is_empty(), "{v:?}");
}

#[tokio::test(start_paused = true)]
async fn failback_sequence_snapshot_delete_recreate_sync_switchover_works_end_to_end() {
    let world = failover_then_recover(RejoinMode::Stale).await;
    let cloud = world.cloud("t");
    sleep_s(1).await;
    // SnapshotStale.
    cloud
        .aurora
        .create_cluster_snapshot(EAST, PRIMARY, "drctl-stale-1")
        .await
        .unwrap();
    let c = cloud
        .aurora
        .describe_clusters(EAST, &[PRIMARY.to_string()])
        .await
        .unwrap();
    assert_eq!(c[0].status, "backing-up");
    // Deleting now is refused: instances first, and the snapshot is still running.
    let err = cloud
        .aurora
        .delete_cluster(EAST, PRIMARY)
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidDBClusterStateFault");
    sleep_s(301).await;
    let snap = cloud
        .aurora
        .describe_cluster_snapshots(
            EAST,
            &SnapshotQuery {
                snapshot_identifier: Some("drctl-stale-1".to_string()),
                ..SnapshotQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(snap[0].status, "available");
    // DeleteStale: instance, then cluster.
    cloud
        .aurora
        .delete_instance(EAST, &format!("{PRIMARY}-1"))
        .await
        .unwrap();
    let inst = cloud
        .aurora
        .describe_instances(EAST, PRIMARY)
        .await
        .unwrap();
    assert_eq!(inst[0].status, "deleting");
    cloud.aurora.delete_cluster(EAST, PRIMARY).await.unwrap();
    let c = cloud
        .aurora
        .describe_clusters(EAST, &[PRIMARY.to_string()])
        .await
        .unwrap();
    assert_eq!(c[0].status, "deleting");
    sleep_s(400).await;
    assert!(cloud
        .aurora
        .describe_clusters(EAST, &[PRIMARY.to_string()])
        .await
        .unwrap()
        .is_empty());
    // RecreateSecondary.
    cloud
        .aurora
        .create_secondary_cluster(&CreateSecondaryCluster {
            region: EAST.to_string(),
            identifier: PRIMARY.to_string(),
            global_cluster_identifier: GLOBAL.to_string(),
            engine: "aurora-postgresql".to_string(),
            engine_version: Some("16.3".to_string()),
            kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/k".to_string()),
            db_subnet_group: None,
            vpc_security_group_ids: vec![],
        })
        .await
        .unwrap();
    cloud
        .aurora
        .create_instance(&CreateInstance {
            region: EAST.to_string(),
            identifier: format!("{PRIMARY}-1"),
            cluster_identifier: PRIMARY.to_string(),
            instance_class: "db.r6g.large".to_string(),
            engine: "aurora-postgresql".to_string(),
        })
        .await
        .unwrap();
    let c = cloud
        .aurora
        .describe_clusters(EAST, &[PRIMARY.to_string()])
        .await
        .unwrap();
    assert_eq!(c[0].status, "creating");
    let g = cloud
        .aurora
        .describe_global_cluster(WEST, GLOBAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        g.member(&primary_arn())
            .unwrap()
            .synchronization_status
            .as_deref(),
        Some("pending-resync")
    );
    // WaitReplicaSynced: create (300 s) + initial sync (600 s).
    wait_for(&world, 2000, "east synced", |s| {
        s.cluster_in(EAST)
            .unwrap()
            .synchronization_status
            .as_deref()
            == Some("connected")
    })
    .await;
    cloud
        .aurora
        .switchover_global_cluster(EAST, GLOBAL, &primary_arn())
        .await
        .unwrap();
    wait_for(&world, 600, "east writer", |s| {
        writer_region(s).as_deref() == Some(EAST)
    })
    .await;
    let v = world.check_invariants(&InvariantInput {
        allow_data_loss: true,
        ..InvariantInput::default()
    });
    assert!(v.is_empty(), "{v:?}");
}

#[tokio::test(start_paused = true)]
async fn engine_version_mismatch_is_refused_as_a_spec_problem() {
    let world = world();
    world.set_engine_version(WEST, SECONDARY, "16.4").unwrap();
    let cloud = world.cloud("t");
    let err = cloud
        .aurora
        .switchover_global_cluster(WEST, GLOBAL, &secondary_arn())
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidParameterCombination");
    assert_eq!(err.category, ErrorCategory::NeedsSpecChange);
    assert!(err.message.contains("16.4"));
}

#[tokio::test(start_paused = true)]
async fn a_headless_secondary_cannot_be_promoted() {
    let world = world();
    world.make_headless(WEST, SECONDARY).unwrap();
    let cloud = world.cloud("t");
    let err = cloud
        .aurora
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), true)
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidDBClusterStateFault");
    assert!(err.message.contains("headless"));
    assert!(world.data_loss().lost_writes.is_empty());
}

#[tokio::test(start_paused = true)]
async fn deletion_protection_refuses_delete_until_turned_off() {
    let world = SimWorld::new(exact_config(1));
    world
        .provision_with(
            &spec(),
            &ProvisionOptions {
                deletion_protection: true,
            },
        )
        .unwrap();
    // Make the secondary deletable otherwise: detach it by a stale failover is long; use a
    // standalone check on the member instead: protection is checked first.
    let cloud = world.cloud("t");
    let err = cloud
        .aurora
        .delete_cluster(WEST, SECONDARY)
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidParameterCombination");
    assert_eq!(err.category, ErrorCategory::NeedsOperator);
    assert!(err.message.contains("deletion protection"));
    cloud
        .aurora
        .set_deletion_protection(WEST, SECONDARY, false)
        .await
        .unwrap();
    let err = cloud
        .aurora
        .delete_cluster(WEST, SECONDARY)
        .await
        .unwrap_err();
    assert!(
        err.message.contains("global cluster"),
        "next refusal: {}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn deleting_a_global_member_is_refused() {
    let world = world();
    let cloud = world.cloud("t");
    let err = cloud
        .aurora
        .delete_cluster(WEST, SECONDARY)
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidDBClusterStateFault");
    assert!(err.message.contains("part of a global cluster"));
}

#[tokio::test(start_paused = true)]
async fn deleting_a_cluster_that_still_has_instances_is_refused() {
    let world = failover_then_recover(RejoinMode::Stale).await;
    let cloud = world.cloud("t");
    sleep_s(1).await;
    let err = cloud
        .aurora
        .delete_cluster(EAST, PRIMARY)
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidDBClusterStateFault");
    assert!(err.message.contains("still contains DB instances"));
    assert_eq!(
        world.snapshot().cluster_in(EAST).unwrap().status,
        "available"
    );
}

fn secondary_request(kms: Option<&str>, version: &str) -> CreateSecondaryCluster {
    CreateSecondaryCluster {
        region: "eu-west-1".to_string(),
        identifier: "myapp-third".to_string(),
        global_cluster_identifier: GLOBAL.to_string(),
        engine: "aurora-postgresql".to_string(),
        engine_version: Some(version.to_string()),
        kms_key_id: kms.map(str::to_string),
        db_subnet_group: None,
        vpc_security_group_ids: vec![],
    }
}

#[tokio::test(start_paused = true)]
async fn an_encrypted_cross_region_secondary_needs_a_customer_key_in_its_own_region() {
    let world = world();
    let cloud = world.cloud("t");
    let err = cloud
        .aurora
        .create_secondary_cluster(&secondary_request(None, "16.3"))
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidParameterCombination");
    assert!(err.message.contains("kmsKeyId"));
    assert_eq!(err.category, ErrorCategory::NeedsSpecChange);
    let err = cloud
        .aurora
        .create_secondary_cluster(&secondary_request(Some("alias/aws/rds"), "16.3"))
        .await
        .unwrap_err();
    assert_eq!(err.code, "KMSKeyNotAccessibleFault");
    let err = cloud
        .aurora
        .create_secondary_cluster(&secondary_request(
            Some("arn:aws:kms:us-east-1:123456789012:key/k"),
            "16.3",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code, "KMSKeyNotAccessibleFault");
    let err = cloud
        .aurora
        .create_secondary_cluster(&secondary_request(
            Some("arn:aws:kms:eu-west-1:123456789012:key/k"),
            "15.4",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidParameterCombination");
    assert!(err.message.contains("engine version"));
    assert_eq!(world.snapshot().clusters.len(), 2, "nothing was created");
    cloud
        .aurora
        .create_secondary_cluster(&secondary_request(
            Some("arn:aws:kms:eu-west-1:123456789012:key/k"),
            "16.3",
        ))
        .await
        .unwrap();
    let c = cloud
        .aurora
        .describe_clusters("eu-west-1", &[])
        .await
        .unwrap();
    assert_eq!(c[0].status, "creating");
    tokio::time::sleep(Duration::from_secs(300)).await;
    let c = cloud
        .aurora
        .describe_clusters("eu-west-1", &[])
        .await
        .unwrap();
    assert_eq!(c[0].status, "available");
}

#[tokio::test(start_paused = true)]
async fn instances_pass_through_creating_and_deleting() {
    let world = world();
    let cloud = world.cloud("t");
    cloud
        .aurora
        .create_instance(&CreateInstance {
            region: WEST.to_string(),
            identifier: "reader-2".to_string(),
            cluster_identifier: SECONDARY.to_string(),
            instance_class: "db.r6g.large".to_string(),
            engine: "aurora-postgresql".to_string(),
        })
        .await
        .unwrap();
    let status = |v: Vec<drctl_cloud::DbInstance>| {
        v.into_iter()
            .find(|i| i.identifier == "reader-2")
            .map(|i| i.status.to_string())
    };
    assert_eq!(
        status(
            cloud
                .aurora
                .describe_instances(WEST, SECONDARY)
                .await
                .unwrap()
        )
        .as_deref(),
        Some("creating")
    );
    sleep_s(600).await;
    assert_eq!(
        status(
            cloud
                .aurora
                .describe_instances(WEST, SECONDARY)
                .await
                .unwrap()
        )
        .as_deref(),
        Some("available")
    );
    cloud
        .aurora
        .delete_instance(WEST, "reader-2")
        .await
        .unwrap();
    assert_eq!(
        status(
            cloud
                .aurora
                .describe_instances(WEST, SECONDARY)
                .await
                .unwrap()
        )
        .as_deref(),
        Some("deleting")
    );
    sleep_s(300).await;
    assert_eq!(
        status(
            cloud
                .aurora
                .describe_instances(WEST, SECONDARY)
                .await
                .unwrap()
        ),
        None
    );
}

#[tokio::test(start_paused = true)]
async fn unfenced_old_primary_is_split_brain_and_the_checker_says_so() {
    let world = world();
    world.set_fence_failure(1.0);
    world.set_app_target(AppTarget::FollowDns);
    world.start_app_writes(10).unwrap();
    let cloud = world.cloud("t");
    sleep_s(5).await;
    // Failover while the primary is healthy: fencing fails, DNS still points east.
    cloud
        .aurora
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), true)
        .await
        .unwrap();
    wait_for(&world, 600, "west writer", |s| {
        writer_region(s).as_deref() == Some(WEST)
    })
    .await;
    let s = world.snapshot();
    assert_eq!(s.writable_clusters().len(), 2, "{s:#?}");
    sleep_s(10).await;
    let loss = world.data_loss();
    assert!(
        loss.losses.iter().any(|l| l.reason == "UnfencedOldPrimary"),
        "{loss:?}"
    );
    let v = world.check_invariants(&InvariantInput {
        allow_data_loss: true,
        ..InvariantInput::default()
    });
    assert!(v.iter().any(|v| v.invariant == 1), "{v:?}");
}

#[tokio::test(start_paused = true)]
async fn replication_lag_follows_the_model_and_a_lag_spike_costs_that_many_seconds_of_writes() {
    // Default model: 500 ms base + up to 400 ms jitter ("typically under 1 s").
    let world = SimWorld::new(SimConfig::new(5).tap_instant());
    world.provision(&spec()).unwrap();
    let cloud = world.cloud("t");
    for _ in 0..20 {
        let lag = cloud
            .lag
            .replication_lag(EAST, PRIMARY, WEST)
            .await
            .unwrap()
            .unwrap();
        assert!((0.5..=0.9).contains(&lag), "{lag}");
        tokio::time::sleep(Duration::from_millis(1700)).await;
    }
    // The metric comes from the primary only.
    assert_eq!(
        cloud
            .lag
            .replication_lag(WEST, SECONDARY, EAST)
            .await
            .unwrap(),
        None
    );
    // A 30 s lag spike, then a failover: 30 s of writes are lost.
    world.set_replication_lag(WEST, Some(Duration::from_secs(30)));
    world.start_app_writes(10).unwrap();
    sleep_s(60).await;
    let lag = cloud
        .lag
        .replication_lag(EAST, PRIMARY, WEST)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lag, 30.0);
    cloud
        .aurora
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), true)
        .await
        .unwrap();
    assert_eq!(world.data_loss().lost_writes.len(), 300);
}

trait InstantCalls {
    fn tap_instant(self) -> Self;
}

impl InstantCalls for SimConfig {
    fn tap_instant(mut self) -> Self {
        self.timings = self.timings.instant_calls();
        self
    }
}

#[tokio::test(start_paused = true)]
async fn a_stale_primary_still_served_by_dns_splits_the_brain_and_the_checker_says_so() {
    let world = world();
    world.set_rejoin_mode(RejoinMode::Stale);
    world.set_app_target(AppTarget::FollowDns);
    world.start_app_writes(10).unwrap();
    let cloud = world.cloud("t");
    sleep_s(5).await;
    // Route 53 stays reachable but nobody moves the record.
    world.region_outage_with(EAST, OutageScope::RegionalServicesOnly);
    cloud
        .aurora
        .failover_global_cluster(WEST, GLOBAL, &secondary_arn(), true)
        .await
        .unwrap();
    sleep_s(200).await;
    world.region_recover(EAST);
    sleep_s(30).await;
    let s = world.snapshot();
    assert_eq!(s.cluster_in(EAST).unwrap().role, "detached");
    assert_eq!(s.writable_clusters().len(), 2);
    let loss = world.data_loss();
    assert!(
        loss.losses.iter().any(|l| l.reason == "DetachedCluster"),
        "{loss:?}"
    );
    let v = world.check_invariants(&InvariantInput {
        allow_data_loss: true,
        ..InvariantInput::default()
    });
    assert!(v.iter().any(|x| x.invariant == 1), "{v:?}");
    assert!(
        v.iter()
            .any(|x| x.invariant == 3 && x.message.contains("DetachedCluster")),
        "{v:?}"
    );
}
