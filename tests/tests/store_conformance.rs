//! The DynamoDB store against a real DynamoDB API (moto server on loopback): the shared
//! conformance suite, one emulator per test, plus what only DynamoDB has (table creation,
//! a missing table, an unreachable endpoint, the standard AWS configuration chain, the
//! requests each store call sends: Query pages followed, never a Scan, one GetItem for the
//! change marker, the marker bump in the write's own transaction).
//!
//! Needs `scripts/setup-venv.sh` once; without the venv every test fails saying so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamViewType,
};
use drctl_e2e::moto::MotoServer;
use drctl_e2e::sent::SentOperations;
use drctl_state::dynamodb::Timeouts;
use drctl_state::testkit::{self, dynamodb_emulator_store, emulator_client, emulator_config};
use drctl_state::{ChangeMarker, DynamoStore, InitOutcome, Store, StoreError};

const TABLE: &str = "drctl-conformance";

async fn start_moto() -> MotoServer {
    tokio::task::spawn_blocking(MotoServer::start)
        .await
        .unwrap()
        .unwrap_or_else(|err| panic!("{err}"))
}

/// A fresh emulator and an initialised store on it; the emulator lives as long as the test.
async fn fixture() -> (Arc<dyn Store>, MotoServer) {
    let moto = start_moto().await;
    eprintln!("moto answered after {:?}", moto.started_in());
    let store = dynamodb_emulator_store(&moto.endpoint(), TABLE);
    assert_eq!(store.init().await.unwrap(), InitOutcome::Created);
    (Arc::new(store), moto)
}

mod conformance {
    drctl_state::store_conformance_tests!(super::fixture);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_also_passes_on_one_shared_table() {
    let (store, _moto) = fixture().await;
    testkit::run_all(store).await;
}

#[tokio::test]
async fn init_creates_an_on_demand_table_with_streams_once() {
    let moto = start_moto().await;
    let store = dynamodb_emulator_store(&moto.endpoint(), "drctl-init");
    assert_eq!(store.init().await.unwrap(), InitOutcome::Created);
    assert_eq!(store.init().await.unwrap(), InitOutcome::AlreadyExisted);

    let described = emulator_client(&moto.endpoint())
        .describe_table()
        .table_name("drctl-init")
        .send()
        .await
        .unwrap();
    let table = described.table.unwrap();
    let keys: Vec<(String, KeyType)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_string(), k.key_type().clone()))
        .collect();
    assert_eq!(
        keys,
        [
            ("pk".to_string(), KeyType::Hash),
            ("sk".to_string(), KeyType::Range)
        ]
    );
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode().cloned()),
        Some(BillingMode::PayPerRequest)
    );
    let streams = table.stream_specification().unwrap();
    assert!(streams.stream_enabled());
    assert_eq!(
        streams.stream_view_type(),
        Some(&StreamViewType::NewAndOldImages)
    );
}

#[tokio::test]
async fn a_missing_table_is_not_initialized_and_says_run_drctl_init() {
    let moto = start_moto().await;
    let store = dynamodb_emulator_store(&moto.endpoint(), "drctl-never-created");
    for result in [
        store.create(&testkit::group("web")).await.map(|_| ()),
        store.get("web").await.map(|_| ()),
        store.list().await.map(|_| ()),
        store
            .append_event("web", &testkit::event("SpecApplied"), None)
            .await
            .map(|_| ()),
    ] {
        match result {
            Err(err @ StoreError::NotInitialized { .. }) => {
                let message = err.to_string();
                assert!(message.contains("drctl init"), "{message}");
                assert!(message.contains("ResourceNotFoundException"), "{message}");
                assert!(message.contains("drctl-never-created"), "{message}");
            }
            other => panic!("expected NotInitialized, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable_not_a_verdict() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let store = dynamodb_emulator_store("http://127.0.0.1:1", TABLE);
    match store.get("web").await {
        Err(err @ StoreError::Unavailable { .. }) => {
            assert_eq!(err.category(), "retryable");
            assert!(err.to_string().contains("GetItem"), "{err}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_foreign_table_of_the_same_name_is_refused_not_used() {
    let moto = start_moto().await;
    let client = emulator_client(&moto.endpoint());
    client
        .create_table()
        .table_name("someone-elses")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let store = dynamodb_emulator_store(&moto.endpoint(), "someone-elses");
    match store.init().await {
        Err(err @ StoreError::Corrupt { .. }) => {
            assert!(err.to_string().contains("not a drctl store"), "{err}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// Set in the child process of `open_uses_the_standard_aws_configuration_chain`.
const CHILD_MARKER: &str = "DRCTL_STORE_CONFORMANCE_CHILD";

/// `drctl_state::open("dynamodb://...")` must find the endpoint, region and credentials
/// where users put them: the environment. Environment variables are process-wide, so the
/// check runs in a child process (this same test binary, this same test) with moto's
/// environment; the parent then checks, on the emulator, that the child's writes arrived.
#[tokio::test]
async fn open_uses_the_standard_aws_configuration_chain() {
    if std::env::var_os(CHILD_MARKER).is_some() {
        let store = drctl_state::open("dynamodb://drctl-from-env")
            .await
            .unwrap();
        assert_eq!(store.url(), "dynamodb://drctl-from-env");
        assert_eq!(store.init().await.unwrap(), InitOutcome::Created);
        store.create(&testkit::group("from-env")).await.unwrap();
        return;
    }

    let moto = start_moto().await;
    let mut child = Command::new(std::env::current_exe().unwrap());
    moto.configure(&mut child).env(CHILD_MARKER, "1").args([
        "--exact",
        "open_uses_the_standard_aws_configuration_chain",
        "--nocapture",
        "--test-threads=1",
    ]);
    let output = tokio::task::spawn_blocking(move || child.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "the child did not run the test: {}",
        String::from_utf8_lossy(&output.stdout)
    );

    let store = dynamodb_emulator_store(&moto.endpoint(), "drctl-from-env");
    let created = store.get("from-env").await.unwrap().expect("child's group");
    assert_eq!(created.metadata.resource_version.as_deref(), Some("1"));
}

#[tokio::test]
async fn open_without_a_region_is_an_invalid_url_error_in_a_clean_environment() {
    if std::env::var_os(CHILD_MARKER).is_some() {
        match drctl_state::open("dynamodb://drctl").await {
            Err(err @ StoreError::InvalidUrl { .. }) => {
                assert!(err.to_string().contains("AWS_REGION"), "{err}")
            }
            other => panic!("expected InvalidUrl, got {:?}", other.map(|s| s.url())),
        }
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap());
    for var in drctl_e2e::moto::INHERITED_AWS_VARS_TO_REMOVE {
        child.env_remove(var);
    }
    child
        .env_remove("AWS_REGION")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(CHILD_MARKER, "1")
        .args([
            "--exact",
            "open_without_a_region_is_an_invalid_url_error_in_a_clean_environment",
            "--nocapture",
        ]);
    let output = tokio::task::spawn_blocking(move || child.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An initialised store on its own emulator whose requests are recorded.
async fn recorded_fixture(table: &str) -> (DynamoStore, SentOperations, MotoServer) {
    let moto = start_moto().await;
    let sent = SentOperations::default();
    let config = emulator_config(&moto.endpoint()).interceptor(sent.clone());
    let store = DynamoStore::with_config(config, table, Timeouts::SHIPPED);
    store.init().await.unwrap();
    sent.take();
    (store, sent, moto)
}

#[test]
fn the_store_waits_for_dynamodb_exactly_as_long_as_the_cloud_clients_wait_for_aws() {
    assert_eq!(Timeouts::SHIPPED.connect, drctl_cloud::aws::CONNECT_TIMEOUT);
    assert_eq!(Timeouts::SHIPPED.attempt, drctl_cloud::aws::ATTEMPT_TIMEOUT);
    assert_eq!(
        Timeouts::SHIPPED.operation,
        drctl_cloud::aws::OPERATION_TIMEOUT
    );
}

/// DynamoDB returns at most 1 MB per Query page: a fleet's specs span many pages, and a
/// listing that stopped at the first would silently drop groups from the controller.
#[tokio::test]
async fn list_follows_every_query_page_and_never_scans() {
    let (store, sent, _moto) = recorded_fixture("drctl-pages").await;
    const GROUPS: usize = 12;
    // 12 specs of ~100 kB each: more than one 1 MB page.
    for i in 0..GROUPS {
        let mut doc = testkit::group(&format!("big-{i:02}"));
        doc.metadata
            .labels
            .insert("padding".into(), "x".repeat(100_000));
        store.create(&doc).await.unwrap();
    }
    sent.take();

    let listed = store.list().await.unwrap();

    let names: Vec<String> = listed.into_iter().map(|d| d.metadata.name).collect();
    let expected: Vec<String> = (0..GROUPS).map(|i| format!("big-{i:02}")).collect();
    assert_eq!(names, expected);
    let operations = sent.take();
    assert!(
        operations.iter().all(|op| op == "Query"),
        "list sent {operations:?}"
    );
    assert!(
        operations.len() >= 3,
        "status plus at least two pages of specs, got {operations:?}"
    );
}

#[tokio::test]
async fn the_change_marker_is_one_get_item_and_rides_in_each_writes_own_transaction() {
    let (store, sent, _moto) = recorded_fixture("drctl-marker").await;
    assert_eq!(store.change_marker().await.unwrap(), ChangeMarker(0));
    assert_eq!(sent.take(), ["GetItem"]);

    let created = store.create(&testkit::group("web")).await.unwrap();
    let mut edited = created.clone();
    edited.spec.writer = "us-west-2".into();
    store.update(&edited, "1").await.unwrap();
    store
        .approve("web", &testkit::approval("op-1", "alice"))
        .await
        .unwrap();
    store.delete("web", Some("2")).await.unwrap();
    // One transaction per write (update reads the spec first; delete queries the approvals
    // it removes): nothing that could commit the write without its bump.
    assert_eq!(
        sent.take(),
        [
            "TransactWriteItems",
            "GetItem",
            "TransactWriteItems",
            "TransactWriteItems",
            "Query",
            "TransactWriteItems"
        ]
    );
    assert_eq!(store.change_marker().await.unwrap(), ChangeMarker(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_writes_with_events_are_journaled_in_write_order_on_dynamodb() {
    let (store, _moto) = fixture().await;
    drctl_state::testkit::spec_writes_with_events_are_journaled_in_write_order(store).await;
}

/// A lease item that no longer parses (here: its epoch written as a string by hand) must not
/// stop every replica for good: its holder is fenced, a new holder takes it over at a higher
/// epoch, and the damaged item is kept beside it.
#[tokio::test]
async fn a_damaged_lease_item_fences_its_holder_and_is_taken_over_at_a_higher_epoch() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let (store, moto) = fixture().await;
    store.create(&testkit::group("web")).await.unwrap();
    let old = store
        .acquire_lease("controller", "controller/a", testkit::T0, 15_000)
        .await
        .unwrap()
        .unwrap();
    let client = emulator_client(&moto.endpoint());
    client
        .update_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S("lease".into()))
        .key("sk", AttributeValue::S("controller".into()))
        .update_expression("SET epoch = :bad")
        .expression_attribute_values(":bad", AttributeValue::S("seven".into()))
        .send()
        .await
        .unwrap();

    let status = testkit::status(drctl_schema::Phase::Converged, 1);
    assert!(matches!(
        store.write_status("web", &status, &old.fence()).await,
        Err(StoreError::Fenced { .. })
    ));
    assert!(matches!(
        store.renew_lease(&old, testkit::T0, 15_000).await,
        Err(StoreError::LeaseLost { .. })
    ));
    let new = store
        .acquire_lease("controller", "controller/b", testkit::T0, 15_000)
        .await
        .unwrap()
        .expect("a damaged lease is free to take");
    assert!(new.epoch > old.epoch, "{new:?}");
    store
        .write_status("web", &status, &new.fence())
        .await
        .unwrap();
    assert!(matches!(
        store.write_status("web", &status, &old.fence()).await,
        Err(StoreError::Fenced { .. })
    ));
    let kept = client
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S("lease".into()))
        .key("sk", AttributeValue::S("controller.damaged".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the evidence was lost");
    assert_eq!(kept.get("epoch"), Some(&AttributeValue::S("seven".into())));
}
