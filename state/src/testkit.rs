//! The conformance suite every `Store` implementation must pass, written once.
//!
//! Each case is a plain async function taking an initialised store (`Arc<dyn Store>`) and
//! panicking on failure. Cases use their own group and lease names, so they can share one
//! store ([`run_all`]) or get a fresh one each. The usual way in is the macro, which makes one
//! `#[tokio::test]` per case from a fixture:
//!
//! ```ignore
//! async fn fixture() -> (Arc<dyn Store>, tempfile::TempDir) {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store: Arc<dyn Store> = Arc::new(FileStore::new(dir.path()));
//!     store.init().await.unwrap();
//!     (store, dir) // the second value is kept alive until the case ends
//! }
//! drctl_state::store_conformance_tests!(fixture);
//! ```
//!
//! Behaviour pinned here that the `Store` docs leave open: `update` always bumps
//! resourceVersion (even when nothing changed); `create`/`update` return the spec record
//! without status; a second `approve` of one operation keeps the first record; a status or
//! approval for a missing group is `NotFound`; a released lease keeps holder and epoch with an
//! expiry in the past; names are checked by [`crate::rules::check_name`].
//!
//! The change marker: it moves on every successful create, update and delete, a no-op update
//! included (it bumps resourceVersion, so a lister sees a different document), and on an
//! approval that is recorded; a repeated approval (nothing recorded), a refused write, reads,
//! status writes, journal appends and lease operations leave it where it is. Cases only
//! compare markers for equality, and only within one case (other cases may share the store).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use drctl_schema::{
    ClusterTemplate, DatabaseSpec, DnsSpec, DnsTarget, FailoverGroup, FailoverGroupSpec,
    FailoverGroupStatus, ObjectMeta, Phase, RecordType, Timestamp, API_VERSION, KIND,
};
use tokio::task::JoinSet;

use crate::store::{
    Approval, ApprovalRecord, ChangeMarker, Event, Fence, InitOutcome, Lease, Store, StoreError,
};

/// A fixed instant (2026-01-01T00:00:00Z): lease tests pass time explicitly, never a clock.
pub const T0: Timestamp = Timestamp::from_millis(1_767_225_600_000);
/// The lease duration the cases use (Kubernetes' default, 15 s).
pub const LEASE_MS: i64 = 15_000;
/// Concurrent writers in the race cases.
pub const WRITERS: usize = 8;

/// A minimal valid group in us-east-1 / us-west-2.
pub fn group(name: &str) -> FailoverGroup {
    let regions = ["us-east-1", "us-west-2"];
    let clusters = regions
        .iter()
        .map(|region| {
            (
                region.to_string(),
                ClusterTemplate {
                    identifier: format!("{name}-{region}"),
                    ..ClusterTemplate::default()
                },
            )
        })
        .collect();
    let targets = regions
        .iter()
        .map(|region| {
            (
                region.to_string(),
                DnsTarget {
                    alias_dns_name: Some(format!("alb-{region}.elb.amazonaws.com")),
                    alias_hosted_zone_id: Some("Z35SXDOTRQ7X7K".to_string()),
                    value: None,
                },
            )
        })
        .collect();
    FailoverGroup {
        api_version: API_VERSION.to_string(),
        kind: KIND.to_string(),
        metadata: ObjectMeta {
            name: name.to_string(),
            ..ObjectMeta::default()
        },
        spec: FailoverGroupSpec {
            regions: regions.iter().map(|r| r.to_string()).collect(),
            writer: "us-east-1".to_string(),
            dns_owner: None,
            allow_data_loss: false,
            max_lag_seconds: 5,
            suspended: false,
            database: DatabaseSpec {
                global_cluster_identifier: format!("{name}-global"),
                clusters,
                kind: Default::default(),
                instances: Default::default(),
            },
            dns: DnsSpec {
                hosted_zone_id: "Z0123456789".to_string(),
                record_name: format!("{name}.example.com."),
                record_type: RecordType::A,
                ttl: None,
                targets,
                routing: Default::default(),
                routing_control: None,
            },
            compute: Default::default(),
            failback: Default::default(),
            verify: None,
            objectives: None,
            auto_failover: None,
            dependencies: None,
        },
        status: None,
    }
}

pub fn status(phase: Phase, observed_generation: u64) -> FailoverGroupStatus {
    FailoverGroupStatus {
        observed_generation,
        phase,
        ..FailoverGroupStatus::default()
    }
}

pub fn event(reason: &str) -> Event {
    Event {
        seq: 0,
        at: T0,
        actor: "conformance@test".to_string(),
        reason: reason.to_string(),
        message: format!("{reason} happened"),
        operation_id: None,
        step: None,
        data: None,
    }
}

pub fn approval(operation_id: &str, by: &str) -> ApprovalRecord {
    ApprovalRecord {
        operation_id: operation_id.to_string(),
        approved_by: by.to_string(),
        approved_at: T0,
    }
}

async fn create(store: &dyn Store, name: &str) -> FailoverGroup {
    store
        .create(&group(name))
        .await
        .unwrap_or_else(|err| panic!("create {name}: {err}"))
}

async fn get(store: &dyn Store, name: &str) -> FailoverGroup {
    store
        .get(name)
        .await
        .unwrap_or_else(|err| panic!("get {name}: {err}"))
        .unwrap_or_else(|| panic!("get {name}: not found"))
}

async fn take_lease(store: &dyn Store, lease: &str, holder: &str, now: Timestamp) -> Lease {
    store
        .acquire_lease(lease, holder, now, LEASE_MS)
        .await
        .unwrap_or_else(|err| panic!("acquire {lease} as {holder}: {err}"))
        .unwrap_or_else(|| panic!("acquire {lease} as {holder}: held by someone else"))
}

fn rv(doc: &FailoverGroup) -> &str {
    doc.metadata.resource_version.as_deref().unwrap_or("<none>")
}

async fn marker(store: &dyn Store) -> ChangeMarker {
    store
        .change_marker()
        .await
        .unwrap_or_else(|err| panic!("change_marker: {err}"))
}

/// Runs `write` and checks that the change marker moved (it differs from the one before).
async fn assert_marker_moves<F: std::future::Future>(store: &dyn Store, what: &str, write: F) {
    let before = marker(store).await;
    write.await;
    let after = marker(store).await;
    assert_ne!(before, after, "{what} did not move the change marker");
}

/// Runs `write` and checks that the change marker stayed.
async fn assert_marker_stays<F: std::future::Future>(store: &dyn Store, what: &str, write: F) {
    let before = marker(store).await;
    write.await;
    let after = marker(store).await;
    assert_eq!(before, after, "{what} moved the change marker");
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// The fixture hands over an initialised store; initialising again changes nothing.
pub async fn init_is_idempotent(store: Arc<dyn Store>) {
    create(&*store, "init-a").await;
    assert_eq!(store.init().await.unwrap(), InitOutcome::AlreadyExisted);
    assert_eq!(store.init().await.unwrap(), InitOutcome::AlreadyExisted);
    assert_eq!(rv(&get(&*store, "init-a").await), "1", "init touched data");
}

pub async fn create_sets_version_one_and_get_returns_the_document(store: Arc<dyn Store>) {
    let mut doc = group("crud-a");
    doc.metadata.labels.insert("team".into(), "payments".into());
    doc.metadata.resource_version = Some("42".into());
    doc.status = Some(status(Phase::Converged, 9));

    let created = store.create(&doc).await.unwrap();
    assert_eq!(rv(&created), "1");
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(
        created.status, None,
        "create must ignore a status in the document"
    );

    let got = get(&*store, "crud-a").await;
    assert_eq!(got.spec, doc.spec);
    assert_eq!(got.metadata.labels, doc.metadata.labels);
    assert_eq!(rv(&got), "1");
    assert_eq!(got.metadata.generation, Some(1));
    assert_eq!(got.status, None);
    assert_eq!(got.api_version, API_VERSION);
    assert_eq!(got.kind, KIND);

    assert_eq!(store.get("crud-never-created").await.unwrap(), None);
}

pub async fn create_of_a_taken_name_is_already_exists(store: Arc<dyn Store>) {
    create(&*store, "dup-a").await;
    let mut again = group("dup-a");
    again.spec.writer = "us-west-2".into();
    match store.create(&again).await {
        Err(StoreError::AlreadyExists { name }) => assert_eq!(name, "dup-a"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let stored = get(&*store, "dup-a").await;
    assert_eq!(
        stored.spec.writer, "us-east-1",
        "the losing create overwrote"
    );
    assert_eq!(rv(&stored), "1");
}

pub async fn list_returns_every_group_sorted_by_name(store: Arc<dyn Store>) {
    for name in ["list-c", "list-a", "list-b"] {
        create(&*store, name).await;
    }
    let names: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|doc| doc.metadata.name)
        .filter(|name| name.starts_with("list-"))
        .collect();
    assert_eq!(names, ["list-a", "list-b", "list-c"]);
}

pub async fn spec_update_bumps_resource_version_and_generation(store: Arc<dyn Store>) {
    let created = create(&*store, "upd-a").await;
    let mut edited = created.clone();
    edited.spec.writer = "us-west-2".into();
    let updated = store.update(&edited, "1").await.unwrap();
    assert_eq!(rv(&updated), "2");
    assert_eq!(updated.metadata.generation, Some(2));

    let got = get(&*store, "upd-a").await;
    assert_eq!(got.spec.writer, "us-west-2");
    assert_eq!(rv(&got), "2");
    assert_eq!(got.metadata.generation, Some(2));

    // Versions are decimal and keep counting.
    let mut again = got.clone();
    again.spec.max_lag_seconds = 9;
    let updated = store.update(&again, "2").await.unwrap();
    assert_eq!(rv(&updated), "3");
    assert_eq!(updated.metadata.generation, Some(3));
}

pub async fn labels_only_update_bumps_resource_version_but_not_generation(store: Arc<dyn Store>) {
    let created = create(&*store, "lbl-a").await;
    let mut relabelled = created.clone();
    relabelled
        .metadata
        .labels
        .insert("tier".into(), "gold".into());
    let updated = store.update(&relabelled, "1").await.unwrap();
    assert_eq!(rv(&updated), "2");
    assert_eq!(updated.metadata.generation, Some(1));

    let got = get(&*store, "lbl-a").await;
    assert_eq!(
        got.metadata.labels.get("tier").map(String::as_str),
        Some("gold")
    );
    assert_eq!(got.metadata.generation, Some(1));

    // Removing every label is a change too.
    let mut unlabelled = got.clone();
    unlabelled.metadata.labels = BTreeMap::new();
    let updated = store.update(&unlabelled, "2").await.unwrap();
    assert_eq!(rv(&updated), "3");
    assert!(get(&*store, "lbl-a").await.metadata.labels.is_empty());
}

pub async fn stale_update_conflicts_and_says_what_changed(store: Arc<dyn Store>) {
    let first_read = create(&*store, "stale-a").await;
    let mut theirs = first_read.clone();
    theirs.spec.writer = "us-west-2".into();
    store.update(&theirs, "1").await.unwrap();

    let mut mine = first_read.clone();
    mine.spec.max_lag_seconds = 30;
    match store.update(&mine, "1").await {
        Err(err @ StoreError::Conflict { .. }) => {
            let message = err.to_string();
            assert!(message.contains("stale-a"), "{message}");
            assert!(message.contains("resourceVersion 1"), "{message}");
            assert!(message.contains("has 2"), "{message}");
            assert!(message.contains("drctl get stale-a"), "{message}");
            assert_eq!(err.category(), "conflict");
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    let stored = get(&*store, "stale-a").await;
    assert_eq!(rv(&stored), "2");
    assert_eq!(
        stored.spec.max_lag_seconds, 5,
        "the stale update was applied"
    );
    assert_eq!(
        stored.spec.writer, "us-west-2",
        "the winning update was lost"
    );
}

pub async fn update_and_delete_of_a_missing_group_are_not_found(store: Arc<dyn Store>) {
    match store.update(&group("missing-a"), "1").await {
        Err(StoreError::NotFound { name }) => assert_eq!(name, "missing-a"),
        other => panic!("update: expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        store.delete("missing-a", None).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete("missing-a", Some("1")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.get("missing-a").await.unwrap(),
        None,
        "update created it"
    );
}

pub async fn delete_removes_spec_status_and_approvals_but_keeps_the_journal(store: Arc<dyn Store>) {
    let created = create(&*store, "del-a").await;
    let mut edited = created.clone();
    edited.spec.writer = "us-west-2".into();
    store.update(&edited, "1").await.unwrap();
    let lease = take_lease(&*store, "del-lease", "controller/a", T0).await;
    store
        .write_status("del-a", &status(Phase::Converged, 2), &lease.fence())
        .await
        .unwrap();
    store
        .approve("del-a", &approval("op-1", "alice"))
        .await
        .unwrap();
    assert_eq!(
        store
            .append_event("del-a", &event("SpecApplied"), None)
            .await
            .unwrap(),
        1
    );

    assert!(
        matches!(
            store.delete("del-a", Some("1")).await,
            Err(StoreError::Conflict { .. })
        ),
        "delete with a stale resourceVersion must conflict"
    );
    assert!(store.get("del-a").await.unwrap().is_some());

    store.delete("del-a", Some("2")).await.unwrap();
    assert_eq!(store.get("del-a").await.unwrap(), None);
    assert_eq!(store.approval("del-a", "op-1").await.unwrap(), None);
    assert!(!store
        .list()
        .await
        .unwrap()
        .iter()
        .any(|doc| doc.metadata.name == "del-a"));
    assert_eq!(
        store.events("del-a").await.unwrap().len(),
        1,
        "journal lost"
    );

    // A new group of the same name starts clean; its journal continues.
    let recreated = create(&*store, "del-a").await;
    assert_eq!(rv(&recreated), "1");
    let got = get(&*store, "del-a").await;
    assert_eq!(got.status, None, "the old status came back");
    assert_eq!(got.spec.writer, "us-east-1");
    assert_eq!(store.approval("del-a", "op-1").await.unwrap(), None);
    assert_eq!(
        store
            .append_event("del-a", &event("SpecApplied"), None)
            .await
            .unwrap(),
        2
    );

    // Deleting without a version works whatever the version is.
    store.delete("del-a", None).await.unwrap();
    assert_eq!(store.get("del-a").await.unwrap(), None);
}

pub async fn status_is_separate_from_spec(store: Arc<dyn Store>) {
    let user_read = create(&*store, "split-a").await;
    let lease = take_lease(&*store, "split-lease", "controller/a", T0).await;

    let written = status(Phase::Progressing, 1);
    store
        .write_status("split-a", &written, &lease.fence())
        .await
        .unwrap();
    let got = get(&*store, "split-a").await;
    assert_eq!(got.status.as_ref(), Some(&written));
    assert_eq!(rv(&got), "1", "a status write changed resourceVersion");
    assert_eq!(got.metadata.generation, Some(1));

    // The user edits from the version read before the status write: no conflict.
    let mut edited = user_read.clone();
    edited.spec.writer = "us-west-2".into();
    edited.status = Some(status(Phase::Blocked, 77));
    let updated = store.update(&edited, "1").await.unwrap();
    assert_eq!(rv(&updated), "2");

    let got = get(&*store, "split-a").await;
    assert_eq!(
        got.status.as_ref(),
        Some(&written),
        "a spec update changed the status"
    );
    assert_eq!(got.spec.writer, "us-west-2");

    // The controller overwrites status again; list shows it too.
    let newer = status(Phase::Converged, 2);
    store
        .write_status("split-a", &newer, &lease.fence())
        .await
        .unwrap();
    let listed = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|doc| doc.metadata.name == "split-a")
        .expect("split-a listed");
    assert_eq!(listed.status, Some(newer));
    assert_eq!(rv(&listed), "2");
}

pub async fn status_of_a_missing_group_is_not_found(store: Arc<dyn Store>) {
    let lease = take_lease(&*store, "orphan-lease", "controller/a", T0).await;
    match store
        .write_status("orphan-a", &status(Phase::Converged, 1), &lease.fence())
        .await
    {
        Err(StoreError::NotFound { name }) => assert_eq!(name, "orphan-a"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(store.get("orphan-a").await.unwrap(), None);
}

pub async fn journal_assigns_sequence_numbers_in_order(store: Arc<dyn Store>) {
    assert!(store.events("jrnl-a").await.unwrap().is_empty());
    let mut with_details = event("StepSucceeded");
    with_details.operation_id = Some("op-7".into());
    with_details.step = Some("MoveDns".into());
    with_details.data = Some(serde_json::json!({"changeId": "C123"}));
    with_details.seq = 999; // assigned by the store, whatever the caller says

    let reasons = ["SpecApplied", "OperationStarted"];
    for (i, reason) in reasons.iter().enumerate() {
        let seq = store
            .append_event("jrnl-a", &event(reason), None)
            .await
            .unwrap();
        assert_eq!(seq, i as u64 + 1);
    }
    assert_eq!(
        store
            .append_event("jrnl-a", &with_details, None)
            .await
            .unwrap(),
        3
    );
    // Journals are per group.
    assert_eq!(
        store
            .append_event("jrnl-b", &event("SpecApplied"), None)
            .await
            .unwrap(),
        1
    );

    let events = store.events("jrnl-a").await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(events[0].reason, "SpecApplied");
    assert_eq!(events[1].reason, "OperationStarted");
    assert_eq!(
        events[2],
        Event {
            seq: 3,
            ..with_details
        }
    );
}

pub async fn writes_with_a_stale_fence_are_rejected(store: Arc<dyn Store>) {
    create(&*store, "fence-a").await;
    let old = take_lease(&*store, "fence-lease", "controller/a", T0).await;
    store
        .write_status("fence-a", &status(Phase::Progressing, 1), &old.fence())
        .await
        .unwrap();
    assert_eq!(
        store
            .append_event("fence-a", &event("StepStarted"), Some(&old.fence()))
            .await
            .unwrap(),
        1
    );

    // a pauses; its lease expires; b takes over with the next epoch.
    let later = T0.plus_millis(LEASE_MS + 1);
    let new = take_lease(&*store, "fence-lease", "controller/b", later).await;
    assert_eq!(new.epoch, old.epoch + 1);

    // a wakes up and tries to write.
    let stale_status = status(Phase::Degraded, 1);
    match store
        .write_status("fence-a", &stale_status, &old.fence())
        .await
    {
        Err(err @ StoreError::Fenced { .. }) => assert_eq!(err.category(), "fenced"),
        other => panic!("status with a stale fence: expected Fenced, got {other:?}"),
    }
    assert!(matches!(
        store
            .append_event("fence-a", &event("StepSucceeded"), Some(&old.fence()))
            .await,
        Err(StoreError::Fenced { .. })
    ));
    let got = get(&*store, "fence-a").await;
    assert_eq!(got.status.map(|s| s.phase), Some(Phase::Progressing));
    assert_eq!(store.events("fence-a").await.unwrap().len(), 1);

    // Right epoch, wrong holder; and a lease that does not exist: fenced too.
    let impostor = Fence {
        holder: "controller/a".into(),
        ..new.fence()
    };
    assert!(matches!(
        store
            .write_status("fence-a", &stale_status, &impostor)
            .await,
        Err(StoreError::Fenced { .. })
    ));
    let nowhere = Fence {
        lease: "fence-no-such-lease".into(),
        ..new.fence()
    };
    assert!(matches!(
        store
            .append_event("fence-a", &event("StepSucceeded"), Some(&nowhere))
            .await,
        Err(StoreError::Fenced { .. })
    ));

    // The new holder writes; CLI events (no fence) still go through.
    store
        .write_status("fence-a", &status(Phase::Converged, 1), &new.fence())
        .await
        .unwrap();
    assert_eq!(
        store
            .append_event("fence-a", &event("StepSucceeded"), Some(&new.fence()))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .append_event("fence-a", &event("Approved"), None)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        get(&*store, "fence-a").await.status.map(|s| s.phase),
        Some(Phase::Converged)
    );
}

pub async fn leases_are_acquired_renewed_taken_over_and_released(store: Arc<dyn Store>) {
    let name = "life-lease";
    assert_eq!(store.get_lease(name).await.unwrap(), None);

    let a = take_lease(&*store, name, "controller/a", T0).await;
    assert_eq!(a.epoch, 1);
    assert_eq!(a.holder, "controller/a");
    assert_eq!(a.expires_at, T0.plus_millis(LEASE_MS));
    assert_eq!(store.get_lease(name).await.unwrap(), Some(a.clone()));

    // Live and someone else's: not taken.
    assert_eq!(
        store
            .acquire_lease(name, "controller/b", T0.plus_millis(1_000), LEASE_MS)
            .await
            .unwrap(),
        None
    );
    // Ours: re-acquiring keeps the epoch and extends.
    let again = take_lease(&*store, name, "controller/a", T0.plus_millis(2_000)).await;
    assert_eq!(again.epoch, 1);
    assert_eq!(again.expires_at, T0.plus_millis(2_000 + LEASE_MS));

    // Renewal extends without a new epoch.
    let renewed = store
        .renew_lease(&again, T0.plus_millis(5_000), LEASE_MS)
        .await
        .unwrap();
    assert_eq!(renewed.epoch, 1);
    assert_eq!(renewed.holder, "controller/a");
    assert_eq!(renewed.expires_at, T0.plus_millis(5_000 + LEASE_MS));
    assert_eq!(store.get_lease(name).await.unwrap(), Some(renewed.clone()));

    // Still live at the old expiry, because of the renewal.
    assert_eq!(
        store
            .acquire_lease(name, "controller/b", T0.plus_millis(LEASE_MS + 1), LEASE_MS)
            .await
            .unwrap(),
        None
    );

    // Expired: b takes over with the next epoch, and a can no longer renew.
    let after_expiry = renewed.expires_at.plus_millis(1);
    let b = take_lease(&*store, name, "controller/b", after_expiry).await;
    assert_eq!(b.epoch, 2);
    assert_eq!(b.acquired_at, after_expiry);
    match store.renew_lease(&renewed, after_expiry, LEASE_MS).await {
        Err(err @ StoreError::LeaseLost { .. }) => {
            assert_eq!(err.category(), "lease_lost");
            assert!(err.to_string().contains("controller/b"), "{err}");
        }
        other => panic!("renewing a lost lease: expected LeaseLost, got {other:?}"),
    }

    // Releasing a lease that is not ours is a no-op.
    store.release_lease(&renewed).await.unwrap();
    assert_eq!(store.get_lease(name).await.unwrap(), Some(b.clone()));

    // b releases: free at once for anyone, and the next holder gets the next epoch.
    store.release_lease(&b).await.unwrap();
    let released = store
        .get_lease(name)
        .await
        .unwrap()
        .expect("released lease kept");
    assert!(
        released.expires_at <= after_expiry,
        "release did not expire it"
    );
    assert_eq!(
        (released.holder.as_str(), released.epoch),
        ("controller/b", 2)
    );
    let a2 = take_lease(&*store, name, "controller/a", after_expiry).await;
    assert_eq!(a2.epoch, 3);
    assert!(matches!(
        store.renew_lease(&b, after_expiry, LEASE_MS).await,
        Err(StoreError::LeaseLost { .. })
    ));
}

pub async fn approvals_are_recorded_once_and_read_back(store: Arc<dyn Store>) {
    create(&*store, "appr-a").await;
    assert_eq!(store.approval("appr-a", "op-1").await.unwrap(), None);

    let first = approval("op-1", "alice");
    store.approve("appr-a", &first).await.unwrap();
    assert_eq!(
        store.approval("appr-a", "op-1").await.unwrap(),
        Some(first.clone())
    );
    // Idempotent: approving again succeeds and the first approval stands.
    store
        .approve("appr-a", &approval("op-1", "bob"))
        .await
        .unwrap();
    assert_eq!(store.approval("appr-a", "op-1").await.unwrap(), Some(first));
    // Per operation.
    assert_eq!(store.approval("appr-a", "op-2").await.unwrap(), None);

    assert!(matches!(
        store
            .approve("appr-missing", &approval("op-1", "alice"))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn an_approval_and_its_journal_event_are_one_write_and_a_repeat_writes_neither(
    store: Arc<dyn Store>,
) {
    create(&*store, "apprj-a").await;
    store
        .append_event("apprj-a", &event("SpecApplied"), None)
        .await
        .unwrap();
    let first = approval("op-1", "alice");
    assert_eq!(
        store
            .approve_with_event("apprj-a", &first, &event("Approved"))
            .await
            .unwrap(),
        Approval::Recorded
    );
    assert_eq!(
        store
            .approve_with_event("apprj-a", &approval("op-1", "bob"), &event("Approved"))
            .await
            .unwrap(),
        Approval::AlreadyApproved(first.clone())
    );
    assert_eq!(
        store.approval("apprj-a", "op-1").await.unwrap(),
        Some(first)
    );
    let journal: Vec<(u64, String)> = store
        .events("apprj-a")
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.reason))
        .collect();
    assert_eq!(
        journal,
        vec![(1, "SpecApplied".to_string()), (2, "Approved".to_string())]
    );
    assert!(matches!(
        store
            .approve_with_event(
                "apprj-missing",
                &approval("op-1", "alice"),
                &event("Approved")
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.events("apprj-missing").await.unwrap().is_empty());
}

pub async fn names_that_are_not_safe_keys_are_rejected(store: Arc<dyn Store>) {
    for bad in ["../escape", "a/b", "", ".hidden"] {
        assert!(
            matches!(store.get(bad).await, Err(StoreError::InvalidName { .. })),
            "get {bad:?}"
        );
        assert!(
            matches!(
                store.create(&group(bad)).await,
                Err(StoreError::InvalidName { .. })
            ),
            "create {bad:?}"
        );
    }
    assert!(matches!(
        store.acquire_lease("../lease", "a", T0, LEASE_MS).await,
        Err(StoreError::InvalidName { .. })
    ));
}

pub async fn change_marker_moves_on_every_spec_write_and_recorded_approval(store: Arc<dyn Store>) {
    let s = &*store;
    // Reading it twice without a write in between gives the same marker.
    assert_eq!(marker(s).await, marker(s).await);

    assert_marker_moves(s, "create", async {
        create(s, "mark-a").await;
    })
    .await;
    let stored = get(s, "mark-a").await;
    let mut edited = stored.clone();
    edited.spec.writer = "us-west-2".into();
    assert_marker_moves(s, "a spec update", async {
        s.update(&edited, "1").await.unwrap();
    })
    .await;
    let mut relabelled = get(s, "mark-a").await;
    relabelled
        .metadata
        .labels
        .insert("tier".into(), "gold".into());
    assert_marker_moves(s, "a labels-only update", async {
        s.update(&relabelled, "2").await.unwrap();
    })
    .await;
    // A no-op update still bumps resourceVersion: the listed document is not the same.
    let unchanged = get(s, "mark-a").await;
    assert_marker_moves(s, "a no-op update", async {
        let updated = s.update(&unchanged, "3").await.unwrap();
        assert_eq!(rv(&updated), "4");
    })
    .await;
    assert_marker_moves(s, "an approval", async {
        s.approve("mark-a", &approval("op-1", "alice"))
            .await
            .unwrap();
    })
    .await;
    assert_marker_moves(s, "a delete with a resourceVersion", async {
        s.delete("mark-a", Some("4")).await.unwrap();
    })
    .await;
    create(s, "mark-a").await;
    assert_marker_moves(s, "a delete without one", async {
        s.delete("mark-a", None).await.unwrap();
    })
    .await;
}

pub async fn change_marker_stays_on_status_journal_lease_reads_and_refused_writes(
    store: Arc<dyn Store>,
) {
    let s = &*store;
    create(s, "still-a").await;
    s.approve("still-a", &approval("op-1", "alice"))
        .await
        .unwrap();
    let lease = take_lease(s, "still-lease", "controller/a", T0).await;
    let fence = lease.fence();
    assert_marker_stays(s, "status, journal and lease writes", async {
        s.write_status("still-a", &status(Phase::Progressing, 1), &fence)
            .await
            .unwrap();
        s.append_event("still-a", &event("StepStarted"), Some(&fence))
            .await
            .unwrap();
        s.append_event("still-a", &event("SpecApplied"), None)
            .await
            .unwrap();
        take_lease(s, "still-lease", "controller/a", T0.plus_millis(1_000)).await;
        let renewed = s
            .renew_lease(&lease, T0.plus_millis(2_000), LEASE_MS)
            .await
            .unwrap();
        s.release_lease(&renewed).await.unwrap();
    })
    .await;
    assert_marker_stays(s, "reads", async {
        get(s, "still-a").await;
        s.list().await.unwrap();
        s.events("still-a").await.unwrap();
        s.approval("still-a", "op-1").await.unwrap();
        s.get_lease("still-lease").await.unwrap();
    })
    .await;
    assert_marker_stays(s, "a repeated approval (nothing recorded)", async {
        s.approve("still-a", &approval("op-1", "bob"))
            .await
            .unwrap();
    })
    .await;
    assert_marker_stays(s, "refused writes", async {
        assert!(s.create(&group("still-a")).await.is_err());
        assert!(s.update(&group("still-a"), "7").await.is_err());
        assert!(s.update(&group("still-missing"), "1").await.is_err());
        assert!(s.delete("still-a", Some("7")).await.is_err());
        assert!(s.delete("still-missing", None).await.is_err());
        assert!(s
            .approve("still-missing", &approval("op-1", "alice"))
            .await
            .is_err());
    })
    .await;
}

/// What `drctl apply` without a resourceVersion does, 8 times at once, each with its own
/// spec change: read, update from the version just read, and on a conflict read again. A
/// store may only answer Conflict when another writer's update got in since the read (the
/// stored version moved past the one expected): so no writer conflicts more often than
/// there are other writers, and every change lands.
pub async fn updates_from_the_version_just_read_conflict_only_when_another_writer_got_in(
    store: Arc<dyn Store>,
) {
    create(&*store, "lww-a").await;
    let mut writers = JoinSet::new();
    for i in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.spawn(async move {
            let mut conflicts = 0;
            loop {
                let mut doc = get(&*store, "lww-a").await;
                let expected = rv(&doc).to_string();
                doc.spec.max_lag_seconds = 10 + i as u32;
                match store.update(&doc, &expected).await {
                    Ok(_) => return conflicts,
                    Err(StoreError::Conflict { .. }) => {
                        let now = get(&*store, "lww-a").await;
                        let moved = now.metadata.resource_version.as_deref().unwrap_or("0");
                        assert!(
                            moved.parse::<u64>().unwrap() > expected.parse::<u64>().unwrap(),
                            "writer {i}: Conflict from version {expected}, but the store \
                             still has {moved}"
                        );
                        conflicts += 1;
                        assert!(
                            conflicts < WRITERS,
                            "writer {i} conflicted {conflicts} times with {} other writers",
                            WRITERS - 1
                        );
                    }
                    Err(err) => panic!("writer {i}: unexpected {err:?}"),
                }
            }
        });
    }
    let mut total_conflicts = 0;
    while let Some(joined) = writers.join_next().await {
        total_conflicts += joined.unwrap();
    }
    let stored = get(&*store, "lww-a").await;
    assert_eq!(rv(&stored), (1 + WRITERS).to_string(), "a change was lost");
    assert_eq!(stored.metadata.generation, Some(1 + WRITERS as u64));
    // Each conflict is one writer losing one version to another: at most 1 + 2 + ... + 7.
    assert!(
        total_conflicts <= WRITERS * (WRITERS - 1) / 2,
        "{total_conflicts} conflicts for {WRITERS} writers"
    );
}

/// 8 writers update one group from the same version at once: exactly one wins.
pub async fn concurrent_updates_from_one_version_have_exactly_one_winner(store: Arc<dyn Store>) {
    let base = create(&*store, "race-a").await;
    let mut writers = JoinSet::new();
    for i in 0..WRITERS {
        let store = Arc::clone(&store);
        let mut doc = base.clone();
        doc.metadata.labels.insert("writer".into(), i.to_string());
        writers.spawn(async move { (i, store.update(&doc, "1").await) });
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    while let Some(joined) = writers.join_next().await {
        match joined.unwrap() {
            (i, Ok(_)) => winners.push(i),
            (_, Err(StoreError::Conflict { .. })) => conflicts += 1,
            (i, Err(err)) => panic!("writer {i}: unexpected {err:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(conflicts, WRITERS - 1);
    let stored = get(&*store, "race-a").await;
    assert_eq!(rv(&stored), "2");
    assert_eq!(
        stored.metadata.labels.get("writer"),
        Some(&winners[0].to_string())
    );
}

/// 8 writers each add their own label with a read-modify-write retry loop: none is lost.
pub async fn retrying_writers_converge_without_lost_updates(store: Arc<dyn Store>) {
    create(&*store, "converge-a").await;
    let mut writers = JoinSet::new();
    for i in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.spawn(async move {
            for _ in 0..200 {
                let mut doc = store.get("converge-a").await.unwrap().unwrap();
                let expected = doc.metadata.resource_version.clone().unwrap();
                doc.metadata
                    .labels
                    .insert(format!("writer-{i}"), "yes".into());
                match store.update(&doc, &expected).await {
                    Ok(_) => return,
                    Err(StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                    Err(err) => panic!("writer {i}: unexpected {err:?}"),
                }
            }
            panic!("writer {i} did not get through in 200 attempts");
        });
    }
    // A writer that panicked (lost, or never got through) fails the test here.
    while let Some(joined) = writers.join_next().await {
        joined.unwrap();
    }
    let stored = get(&*store, "converge-a").await;
    for i in 0..WRITERS {
        assert_eq!(
            stored
                .metadata
                .labels
                .get(&format!("writer-{i}"))
                .map(String::as_str),
            Some("yes"),
            "writer {i}'s label was lost: {:?}",
            stored.metadata.labels
        );
    }
    assert_eq!(rv(&stored), (1 + WRITERS).to_string());
    assert_eq!(
        stored.metadata.generation,
        Some(1),
        "labels bumped generation"
    );
}

/// 8 concurrent appends to one journal get 1..=8, each exactly once.
pub async fn concurrent_appends_get_distinct_consecutive_sequence_numbers(store: Arc<dyn Store>) {
    let mut writers = JoinSet::new();
    for i in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.spawn(async move {
            let mut e = event("Concurrent");
            e.message = format!("from writer {i}");
            store.append_event("append-a", &e, None).await.unwrap()
        });
    }
    let mut seqs = Vec::new();
    while let Some(joined) = writers.join_next().await {
        seqs.push(joined.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=WRITERS as u64).collect::<Vec<_>>());
    let events = store.events("append-a").await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=WRITERS as u64).collect::<Vec<_>>()
    );
    let mut messages: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
    messages.sort_unstable();
    messages.dedup();
    assert_eq!(messages.len(), WRITERS, "an append overwrote another");
}

/// 8 replicas race for a free lease: exactly one gets it, at epoch 1.
pub async fn concurrent_acquirers_of_a_free_lease_have_exactly_one_winner(store: Arc<dyn Store>) {
    let mut racers = JoinSet::new();
    for i in 0..WRITERS {
        let store = Arc::clone(&store);
        racers.spawn(async move {
            let holder = format!("controller/{i}");
            store
                .acquire_lease("race-lease", &holder, T0, LEASE_MS)
                .await
                .unwrap()
        });
    }
    let mut winners = Vec::new();
    while let Some(joined) = racers.join_next().await {
        if let Some(lease) = joined.unwrap() {
            winners.push(lease);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(winners[0].epoch, 1);
    assert_eq!(
        store.get_lease("race-lease").await.unwrap(),
        Some(winners[0].clone())
    );
}

/// 8 writers each add their own label with `update_with_event`, retrying on conflicts: the
/// journal holds exactly one event per write, in write order (each event's resourceVersion
/// one above the previous), and a refused write journals nothing. Not in the shared list:
/// a store that keeps the default (write, then append) cannot promise the order; the file
/// and DynamoDB stores run it explicitly.
pub async fn spec_writes_with_events_are_journaled_in_write_order(store: Arc<dyn Store>) {
    let name = "journaled-a";
    let rv_event = |doc: &FailoverGroup, rv: u64| {
        let mut e = event("SpecApplied");
        e.message = format!("wrote {}", doc.metadata.labels.len());
        e.data = Some(serde_json::json!({ "resourceVersion": rv.to_string() }));
        e
    };
    let base = store
        .create_with_event(&group(name), &rv_event(&group(name), 1))
        .await
        .unwrap();
    assert_eq!(rv(&base), "1");
    let stale = store
        .update_with_event(&base, "7", &rv_event(&base, 8))
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    let mut writers = JoinSet::new();
    for i in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.spawn(async move {
            for _ in 0..200 {
                let mut doc = store.get(name).await.unwrap().unwrap();
                let expected = doc.metadata.resource_version.clone().unwrap();
                let next = expected.parse::<u64>().unwrap() + 1;
                doc.metadata
                    .labels
                    .insert(format!("writer-{i}"), "yes".into());
                let e = rv_event(&doc, next);
                match store.update_with_event(&doc, &expected, &e).await {
                    Ok(after) => return assert_eq!(rv(&after), next.to_string()),
                    Err(StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                    Err(err) => panic!("writer {i}: unexpected {err:?}"),
                }
            }
            panic!("writer {i} did not get through in 200 attempts");
        });
    }
    while let Some(joined) = writers.join_next().await {
        joined.unwrap();
    }
    let events = store.events(name).await.unwrap();
    let versions: Vec<String> = events
        .iter()
        .map(|e| {
            e.data.as_ref().unwrap()["resourceVersion"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = (1..=1 + WRITERS as u64).map(|v| v.to_string()).collect();
    assert_eq!(versions, expected, "journal order is not write order");
    store
        .delete_with_event(name, None, &event("Deleted"))
        .await
        .unwrap();
    assert!(store.get(name).await.unwrap().is_none());
    let last = store.events(name).await.unwrap().pop().unwrap();
    assert_eq!(last.reason, "Deleted");
    assert_eq!(last.seq, 2 + WRITERS as u64);
}

/// Every case, in order, on one store.
pub async fn run_all(store: Arc<dyn Store>) {
    macro_rules! run_cases {
        ({} $($case:ident),* $(,)?) => { $( $case(Arc::clone(&store)).await; )* };
    }
    crate::for_each_conformance_case!((run_cases) {});
}

/// Calls `CALLBACK!({ARGS} case, case, ...)` with every case name: the one list of cases,
/// used by [`run_all`] and by [`store_conformance_tests!`](crate::store_conformance_tests).
#[doc(hidden)]
#[macro_export]
macro_rules! for_each_conformance_case {
    (($($callback:tt)+) {$($args:tt)*}) => {
        $($callback)+! {
            {$($args)*}
            init_is_idempotent,
            create_sets_version_one_and_get_returns_the_document,
            create_of_a_taken_name_is_already_exists,
            list_returns_every_group_sorted_by_name,
            spec_update_bumps_resource_version_and_generation,
            labels_only_update_bumps_resource_version_but_not_generation,
            stale_update_conflicts_and_says_what_changed,
            update_and_delete_of_a_missing_group_are_not_found,
            delete_removes_spec_status_and_approvals_but_keeps_the_journal,
            status_is_separate_from_spec,
            status_of_a_missing_group_is_not_found,
            journal_assigns_sequence_numbers_in_order,
            writes_with_a_stale_fence_are_rejected,
            leases_are_acquired_renewed_taken_over_and_released,
            approvals_are_recorded_once_and_read_back,
            an_approval_and_its_journal_event_are_one_write_and_a_repeat_writes_neither,
            names_that_are_not_safe_keys_are_rejected,
            concurrent_updates_from_one_version_have_exactly_one_winner,
            retrying_writers_converge_without_lost_updates,
            concurrent_appends_get_distinct_consecutive_sequence_numbers,
            concurrent_acquirers_of_a_free_lease_have_exactly_one_winner,
            change_marker_moves_on_every_spec_write_and_recorded_approval,
            change_marker_stays_on_status_journal_lease_reads_and_refused_writes,
            updates_from_the_version_just_read_conflict_only_when_another_writer_got_in,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_case_tests {
    ({$fixture:path} $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _keep_alive) = $fixture().await;
                $crate::testkit::$case(store).await;
            }
        )*
    };
}

/// One `#[tokio::test]` per conformance case, named after the case. `$fixture` is an async fn
/// returning `(Arc<dyn Store>, G)`: an initialised store and whatever must live as long as it
/// (a temp dir, an emulator). The calling crate needs tokio with `macros` and
/// `rt-multi-thread`.
#[macro_export]
macro_rules! store_conformance_tests {
    ($fixture:path) => {
        $crate::for_each_conformance_case!(($crate::__store_conformance_case_tests) {$fixture});
    };
}

/// A DynamoDB store on a local emulator (moto, DynamoDB Local) at `endpoint`: fixed dummy
/// credentials and region, nothing read from the environment or from profiles, so a test can
/// never reach real AWS and parallel tests each keep their own emulator. The shipped
/// timeouts.
#[cfg(feature = "dynamodb")]
pub fn dynamodb_emulator_store(endpoint: &str, table: &str) -> crate::dynamodb::DynamoStore {
    crate::dynamodb::DynamoStore::with_config(
        emulator_config(endpoint),
        table,
        crate::dynamodb::Timeouts::SHIPPED,
    )
}

/// A DynamoDB client for a local emulator (see [`dynamodb_emulator_store`]).
#[cfg(feature = "dynamodb")]
pub fn emulator_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(emulator_config(endpoint).build())
}

/// The client configuration of [`emulator_client`], to add to (interceptors, retries) or to
/// give [`crate::dynamodb::DynamoStore::with_config`] with other timeouts.
#[cfg(feature = "dynamodb")]
pub fn emulator_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "drctl-testkit",
        ))
}
