#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use drctl_schema::*;
use drctl_sim::*;
use drctl_state::{ApprovalRecord, Event, StoreError};

fn doc(name: &str) -> FailoverGroup {
    FailoverGroup {
        api_version: API_VERSION.to_string(),
        kind: KIND.to_string(),
        metadata: ObjectMeta {
            name: name.to_string(),
            ..ObjectMeta::default()
        },
        spec: spec(),
        status: None,
    }
}

fn event(reason: &str) -> Event {
    Event {
        seq: 0,
        at: EPOCH,
        actor: "controller/a".to_string(),
        reason: reason.to_string(),
        message: String::new(),
        operation_id: None,
        step: None,
        data: None,
    }
}

#[tokio::test(start_paused = true)]
async fn resource_version_is_a_compare_and_set_and_generation_counts_spec_changes() {
    let world = world();
    let store = world.store();
    let created = store.create(&doc("app")).await.unwrap();
    assert_eq!(created.metadata.resource_version.as_deref(), Some("1"));
    assert_eq!(created.metadata.generation, Some(1));
    assert!(matches!(
        store.create(&doc("app")).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    // A label-only change bumps resourceVersion, not generation.
    let mut d = created.clone();
    d.metadata
        .labels
        .insert("team".to_string(), "payments".to_string());
    let d2 = store.update(&d, "1").await.unwrap();
    assert_eq!(d2.metadata.resource_version.as_deref(), Some("2"));
    assert_eq!(d2.metadata.generation, Some(1));
    // A spec change bumps both; a stale resourceVersion loses.
    let mut d3 = d2.clone();
    d3.spec.writer = WEST.to_string();
    assert!(matches!(
        store.update(&d3, "1").await,
        Err(StoreError::Conflict { .. })
    ));
    let d3 = store.update(&d3, "2").await.unwrap();
    assert_eq!(d3.metadata.generation, Some(2));
    assert_eq!(store.list().await.unwrap().len(), 1);
    assert!(matches!(
        store.delete("app", Some("1")).await,
        Err(StoreError::Conflict { .. })
    ));
    store.delete("app", Some("3")).await.unwrap();
    assert!(store.get("app").await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn leases_have_epochs_and_fence_status_and_journal_writes() {
    let world = world();
    let a = world.store_as("a");
    let b = world.store_as("b");
    a.create(&doc("app")).await.unwrap();
    let now = world.now();
    let la = a
        .acquire_lease("ctl", "a", now, 15_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(la.epoch, 1);
    assert!(b
        .acquire_lease("ctl", "b", now, 15_000)
        .await
        .unwrap()
        .is_none());
    // Re-acquiring our own lease keeps the epoch.
    let la = a
        .acquire_lease("ctl", "a", now, 15_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(la.epoch, 1);
    let status = FailoverGroupStatus::default();
    a.write_status("app", &status, &la.fence()).await.unwrap();
    assert_eq!(
        a.append_event("app", &event("X"), Some(&la.fence()))
            .await
            .unwrap(),
        1
    );
    // After expiry b takes it with a new epoch; a is fenced.
    let later = now.plus_millis(16_000);
    let lb = b
        .acquire_lease("ctl", "b", later, 15_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lb.epoch, 2);
    assert!(matches!(
        a.write_status("app", &status, &la.fence()).await,
        Err(StoreError::Fenced { .. })
    ));
    assert!(matches!(
        a.append_event("app", &event("Y"), Some(&la.fence())).await,
        Err(StoreError::Fenced { .. })
    ));
    assert!(matches!(
        a.renew_lease(&la, later, 15_000).await,
        Err(StoreError::LeaseLost { .. })
    ));
    b.write_status("app", &status, &lb.fence()).await.unwrap();
    // CLI events need no fence.
    assert_eq!(a.append_event("app", &event("Z"), None).await.unwrap(), 2);
    let journal = a.events("app").await.unwrap();
    assert_eq!(
        journal
            .iter()
            .map(|e| e.reason.as_str())
            .collect::<Vec<_>>(),
        ["X", "Z"]
    );
    // Release expires it now; a can take it back with epoch 3.
    b.release_lease(&lb).await.unwrap();
    let la2 = a
        .acquire_lease("ctl", "a", world.now(), 15_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(la2.epoch, 3);
    // Status is separate from spec: a status write does not bump resourceVersion.
    let got = a.get("app").await.unwrap().unwrap();
    assert_eq!(got.metadata.resource_version.as_deref(), Some("1"));
    assert!(got.status.is_some());
}

#[tokio::test(start_paused = true)]
async fn approvals_are_idempotent_and_need_the_document() {
    let world = world();
    let s = world.store();
    let approval = ApprovalRecord {
        operation_id: "op-1".to_string(),
        approved_by: "alice".to_string(),
        approved_at: EPOCH,
    };
    assert!(matches!(
        s.approve("app", &approval).await,
        Err(StoreError::NotFound { .. })
    ));
    s.create(&doc("app")).await.unwrap();
    s.approve("app", &approval).await.unwrap();
    let again = ApprovalRecord {
        approved_by: "bob".to_string(),
        ..approval.clone()
    };
    s.approve("app", &again).await.unwrap();
    assert_eq!(s.approval("app", "op-1").await.unwrap(), Some(approval));
    assert_eq!(s.approval("app", "op-2").await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_store_says_so() {
    let world = world();
    world.set_store_unavailable(true);
    let s = world.store();
    assert!(matches!(
        s.list().await,
        Err(StoreError::Unavailable { .. })
    ));
    world.set_store_unavailable(false);
    assert!(s.list().await.unwrap().is_empty());
}
